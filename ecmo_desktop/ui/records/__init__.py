"""The clinical record of a run in the GUI: the case view's record tabs, all sharing one ``CaseRecords``
that loads the run once per change.

The case view installs them (``case_view.view.install_record_tabs``); this package never imports the
case view, so the record tabs can be built and tested without the window around them. Others reach a
tab of an open case view through ``record_tab`` / ``show_record_tab``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget

from ecmo_desktop.ui.records.base import RecordTab
from ecmo_desktop.ui.records.case_data import CaseRecords


def record_tab(view: QWidget, key: str) -> QWidget | None:
    """The record tab ``key`` (overview, decision, cannulation, daily, complications, weaning, followup)."""
    return view.findChild(QWidget, f"records_tab_{key}")


def show_record_tab(
    view: QWidget, key: str, entity: str | None = None, entity_id: int | None = None
) -> QWidget | None:
    """Bring a case view's tab to the front, with a record selected when one is named."""
    tab = record_tab(view, key)
    if tab is None:
        return None
    tabs = view.findChild(QTabWidget)
    if tabs is not None and tabs.indexOf(tab) >= 0:
        tabs.setCurrentWidget(tab)
    if entity and entity_id is not None and isinstance(tab, RecordTab):
        tab.focus_record(entity, entity_id)
    return tab


def case_records(view: QWidget) -> CaseRecords | None:
    return view.findChild(CaseRecords)


__all__ = ["CaseRecords", "case_records", "record_tab", "show_record_tab"]
