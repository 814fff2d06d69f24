"""One ECMO run: the patient banner and a tab per part of the record.

Later features (decisions, consent, procedures and devices, daily records, weaning, follow-up)
each plug in one tab through ``add_tab``; this module only provides the frame and the history
tab, which lists the run's audit trail to the roles allowed to read it (admin, records).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QFormLayout, QFrame, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from ecmo_desktop.domain.enums import Indication, Mode, RunStatus, Sex
from ecmo_desktop.domain.model import Staff
from ecmo_desktop.domain.records import ecmo_day as domain_ecmo_day
from ecmo_desktop.domain.time import format_local, to_local
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.services.runs import RunDetail
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices import RUN_DEVICES_TAB_TITLE, RunDevicesTab
from ecmo_desktop.ui.documents import DocumentsTab
from ecmo_desktop.ui.models.audit_model import CHANGE, RUN_HISTORY_COLUMNS, AuditEventModel
from ecmo_desktop.ui.models.staff_model import title_label
from ecmo_desktop.ui.records import CaseRecords, show_record_tab
from ecmo_desktop.ui.records.base import RecordTab
from ecmo_desktop.ui.records.cannulation_tab import CannulationTab
from ecmo_desktop.ui.records.complications_tab import ComplicationsTab
from ecmo_desktop.ui.records.daily_tab import DailyTab
from ecmo_desktop.ui.records.decision_tab import DecisionTab
from ecmo_desktop.ui.records.followup_tab import FollowUpTab
from ecmo_desktop.ui.records.overview_tab import OverviewTab
from ecmo_desktop.ui.records.weaning_tab import WeaningTab
from ecmo_desktop.ui.widgets.fit import ScreenFit
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

HISTORY_TAB_TITLE = N_("历史（审计）")
SUMMARY_TAB_TITLE = N_("概况")


def ecmo_day(started_at: datetime | None, ended_at: datetime | None, now: datetime) -> int | None:
    """ECMO day N in Beijing calendar days; the day of first flow is day 0 (DOMAIN.md, ECLS-CDM),
    the same count the daily entries use."""
    if started_at is None:
        return None
    return domain_ecmo_day(started_at, ended_at or now)


def banner_parts(detail: RunDetail, now: datetime) -> list[str]:
    run, patient = detail.run, detail.patient
    parts = [
        _("住院号 {mrn}").format(mrn=patient.mrn),
        Sex(patient.sex).label if patient.sex in Sex._value2member_map_ else patient.sex,
    ]
    age = patient.age_on(to_local(run.started_at or now).date())
    if age is not None:
        parts.append(_("{n}岁").format(n=age))
    if patient.weight_kg:
        parts.append(f"{patient.weight_kg:g} kg")
    mode = Mode(run.mode).label if run.mode in Mode._value2member_map_ else run.mode
    parts.append(f"{mode}-ECMO" if run.mode not in (Mode.OTHER.value, Mode.ECCO2R.value) else mode)
    day = ecmo_day(run.started_at, run.ended_at, now)
    if day is not None:
        parts.append(_("ECMO 第 {n} 天（上机当日为第 0 天）").format(n=day))
    where = " ".join(p for p in (run.ward, run.bed) if p)
    if where:
        parts.append(where)
    return parts


class SummaryTab(QWidget):
    """The run's own facts as recorded when it was opened, started and ended."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._values: dict[str, QLabel] = {}
        for key, label in (
            ("number", N_("第几次 ECMO")),
            ("mode", N_("模式")),
            ("indication", N_("适应证")),
            ("flags", N_("特殊情况")),
            ("diagnosis", N_("诊断")),
            ("attending", N_("经治医师")),
            ("created", N_("建档时间")),
            ("decided", N_("上机决策时间")),
            ("started", N_("上机时间")),
            ("ended", N_("撤机时间")),
            ("hospital", N_("医院")),
        ):
            value = QLabel("—")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._values[key] = value
            self.form.addRow(_(label), value)

    def value(self, key: str) -> str:
        return self._values[key].text()

    def show_detail(self, detail: RunDetail, attending: Staff | None = None) -> None:
        run = detail.run
        indication = (
            Indication(run.indication).label
            if run.indication in Indication._value2member_map_
            else run.indication
        )
        if run.indication == Indication.OTHER.value and run.indication_other:
            indication = f"{indication}：{run.indication_other}"
        flags = [text for on, text in ((run.ecpr, "ECPR"), (run.emergency, _("紧急上机"))) if on]
        mode = Mode(run.mode).label if run.mode in Mode._value2member_map_ else run.mode
        values = {
            "number": str(run.run_number),
            "mode": mode,
            "indication": indication,
            "flags": join_names(flags) or _("无"),
            "diagnosis": run.diagnosis or "—",
            "attending": f"{attending.full_name}（{title_label(attending.title)}）" if attending else "—",
            "created": format_local(run.created_at),
            "decided": format_local(run.decided_at) or "—",
            "started": format_local(run.started_at) or _("尚未上机"),
            "ended": format_local(run.ended_at) or "—",
            "hospital": detail.hospital.name,
        }
        for key, text in values.items():
            self._values[key].setText(text)


class CaseView(ScreenFit, QWidget):
    """A top-level window for one run; ``loaded`` fires when the banner has its data."""

    loaded = Signal(object)  # RunDetail

    def __init__(self, ui: UiContext, run_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.ui = ui
        self.run_id = run_id
        self.detail: RunDetail | None = None
        self.setObjectName("case_view")
        self.setWindowTitle(_("ECMO 病例"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        banner = QFrame()
        banner.setObjectName("case_banner")
        banner.setStyleSheet(
            "#case_banner { background: #e3f2fd; border: 1px solid #90caf9; border-radius: 4px; }"
        )
        row = QHBoxLayout(banner)
        self.name_label = QLabel()
        font = QFont(self.name_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.name_label.setFont(font)
        row.addWidget(self.name_label)
        self.facts_label = QLabel(_("正在读取…"))
        self.facts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.facts_label, 1)
        self.status_label = QLabel()
        self.status_label.setStyleSheet(
            "font-weight: bold; padding: 2px 8px; border-radius: 3px; background: #1565c0; color: white;"
        )
        row.addWidget(self.status_label)
        layout.addWidget(banner)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        layout.addWidget(self.tabs, 1)
        self.summary = SummaryTab()
        self.tabs.addTab(self.summary, _(SUMMARY_TAB_TITLE))
        self.history: AuditEventModel | None = None
        if ui.can(Action.VIEW_AUDIT):
            audit = ui.services.audit
            self.history = AuditEventModel(
                ui.tasks,
                lambda offset, limit: audit.events_for_run(run_id, offset=offset, limit=limit),
                columns=RUN_HISTORY_COLUMNS,
                parent=self,
            )
            self.history_table = make_table(self.history, stretch_column=RUN_HISTORY_COLUMNS.index(CHANGE))
            set_column_widths(self.history_table, [19, 9, 11, 14, 50, 16])
            self.add_tab(self.history_table, _(HISTORY_TAB_TITLE))
        ui.tasks.changed.connect(self._changed)
        close = QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self)
        close.activated.connect(self.close)
        self.resize(1000, 640)
        install_record_tabs(self)  # 概览 · 决策与知情同意 · 置管/操作 · 日常管理 · 并发症 · 撤机 · 随访
        self.add_tab(RunDevicesTab(ui, run_id), _(RUN_DEVICES_TAB_TITLE))  # 器械: bedside scan, bound devices
        self.add_tab(DocumentsTab(ui, run_id, self), _("文书"))
        self.reload()

    def add_tab(self, widget: QWidget, title: str) -> int:
        """The extension point: later features add their part of the record as a tab.

        The history tab stays last, so the record's own parts come first.
        """
        if self.history is not None and widget is not self.history_table:
            return self.tabs.insertTab(self.tabs.count() - 1, widget, title)
        return self.tabs.addTab(widget, title)

    def reload(self) -> None:
        runs, staff = self.ui.services.runs, self.ui.services.staff
        run_id = self.run_id

        def work() -> tuple[RunDetail, Staff | None]:
            detail = runs.run_detail(run_id)
            attending_id = detail.run.attending_id
            return detail, staff.get_staff(attending_id) if attending_id else None

        self.ui.tasks.run_op(work, lambda result: self._show(*result), parent=self)
        if self.history is not None:
            self.history.refresh()

    def _changed(self, changes: frozenset[Change]) -> None:
        if changes & {Change.runs(), Change.patients(), Change.run(self.run_id)}:
            self.reload()

    def _show(self, detail: RunDetail, attending: Staff | None = None) -> None:
        self.detail = detail
        now = self.ui.services.ctx.now()
        patient, run = detail.patient, detail.run
        self.name_label.setText(patient.name)
        self.facts_label.setText("    ".join(banner_parts(detail, now)))
        status = RunStatus(run.status).label if run.status in RunStatus._value2member_map_ else run.status
        self.status_label.setText(status)
        self.summary.show_detail(detail, attending)
        self.setWindowTitle(
            _("{name}（{mrn}）第 {n} 次 ECMO").format(name=patient.name, mrn=patient.mrn, n=run.run_number)
        )
        self.loaded.emit(detail)


RECORD_TABS: tuple[type[RecordTab], ...] = (
    DecisionTab,
    CannulationTab,
    DailyTab,
    ComplicationsTab,
    WeaningTab,
    FollowUpTab,
)
CASE_VIEW_SIZE = (1320, 820)  # the record tabs need room for a list beside the selected record


def install_record_tabs(view: CaseView) -> CaseRecords:
    """Add the record tabs to a case view, in the ward's order 概览 · 决策与知情同意 · 置管/操作 · 日常管理 ·
    并发症 · 撤机 · 随访 (other features' tabs follow, the audit history stays last); the shell's run
    summary moves into the overview."""
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
