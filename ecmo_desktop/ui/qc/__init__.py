"""The QC page (质控: report tables, charts, export) and the import wizard.

The main window registers ``QcPage`` for ``QC_ROLES``, the roles that may view QC figures (the
service refuses everyone else anyway), like its other pages.
"""

from ecmo_desktop.ui.qc.page import QC_ROLES, QcPage

__all__ = ["QC_ROLES", "QcPage"]
