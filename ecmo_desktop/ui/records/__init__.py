"""The clinical record of a run in the GUI: the case view's record tabs, the worklist home page and
the staffing panel of the administration page.

``install_record_tabs(view)`` is the one call the case view makes: it adds, in the ward's order,
概览 · 决策与知情同意 · 置管/操作 · 日常管理 · 并发症 · 撤机 · 随访 (other features' tabs follow,
the audit history stays last), all sharing one ``CaseRecords`` that loads the run once per change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QTabWidget, QWidget

from ecmo_desktop.i18n import _
from ecmo_desktop.ui.records.base import RecordTab
from ecmo_desktop.ui.records.cannulation_tab import CannulationTab
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.complications_tab import ComplicationsTab
from ecmo_desktop.ui.records.daily_tab import DailyTab
from ecmo_desktop.ui.records.decision_tab import DecisionTab
from ecmo_desktop.ui.records.followup_tab import FollowUpTab
from ecmo_desktop.ui.records.overview_tab import OverviewTab
from ecmo_desktop.ui.records.weaning_tab import WeaningTab

if TYPE_CHECKING:
    from ecmo_desktop.ui.case_view.view import CaseView

RECORD_TABS: tuple[type[RecordTab], ...] = (DecisionTab, CannulationTab, DailyTab, ComplicationsTab, WeaningTab,
                                            FollowUpTab)
CASE_VIEW_SIZE = (1320, 820)  # the record tabs need room for a list beside the selected record


def install_record_tabs(view: CaseView) -> CaseRecords:
    """Add the record tabs to a case view; the shell's run summary moves into the overview."""
    case = CaseRecords(view.ui, view.run_id, view)
    summary = view.summary
    index = view.tabs.indexOf(summary)
    if index >= 0:
        view.tabs.removeTab(index)
    overview = OverviewTab(case, summary=summary, open_tab=lambda key: show_record_tab(view, key))
    view.add_tab(overview, _(OverviewTab.title))
    for tab in RECORD_TABS:
        view.add_tab(tab(case), _(tab.title))
    view.tabs.setCurrentWidget(overview)
    view.resize(max(view.width(), CASE_VIEW_SIZE[0]), max(view.height(), CASE_VIEW_SIZE[1]))
    case.reload()
    return case


def record_tab(view: QWidget, key: str) -> QWidget | None:
    """The record tab ``key`` (overview, decision, cannulation, daily, complications, weaning, followup)."""
    return view.findChild(QWidget, f"records_tab_{key}")


def show_record_tab(view: QWidget, key: str, entity: str | None = None, entity_id: int | None = None) -> QWidget | None:
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


__all__ = ["RECORD_TABS", "CaseRecords", "case_records", "install_record_tabs", "record_tab", "show_record_tab"]
