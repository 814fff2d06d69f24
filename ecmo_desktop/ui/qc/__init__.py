"""The QC page (质控: report tables, charts, export) and the import wizard.

``install_qc_page(window)`` registers the page in the main window for the roles that may view QC
figures (the service refuses everyone else anyway).
"""

from __future__ import annotations

from typing import Any

from ecmo_desktop.services.permissions import ALLOWED, Action

QC_ROLES = frozenset(role.value for role in ALLOWED[Action.VIEW_QC])


def install_qc_page(window: Any) -> bool:
    """Add the QC page to ``window`` (a ``MainWindow``), built the first time it is shown."""
    from ecmo_desktop.i18n import _
    from ecmo_desktop.ui.main_window import NAV_QC, NAV_TITLES, LazyPage
    from ecmo_desktop.ui.qc.page import QcPage

    return bool(window.add_page(NAV_QC, _(NAV_TITLES[NAV_QC]), LazyPage(lambda: QcPage(window.ui)), QC_ROLES,
                                icon_name="qc"))
