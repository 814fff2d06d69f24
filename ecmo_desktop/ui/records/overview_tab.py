"""概览: the run at a glance — its facts, the timeline of its record, and the compliance checklist.

The checklist (R1–R4, R6, R8, R9) comes from ``ComplianceService``, each rule with pass / fail /
pending / not applicable and the reason in words, so a ward sees what is still missing before
the QC centre does. Double-clicking a timeline row opens the tab that holds that part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from itertools import groupby

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from ecmo_desktop.domain.enums import (
    DecisionKind,
    EndReason,
    FollowUpKind,
    FollowUpStatus,
    ProcedureKind,
    Severity,
    VitalStatus,
)
from ecmo_desktop.domain.rules import RuleResult
from ecmo_desktop.domain.time import BEIJING
from ecmo_desktop.i18n import N_, _, join_names, ngettext
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.display import (
    GREEN,
    GREY,
    ORANGE,
    RED,
    STATUS_COLOR,
    STATUS_TEXT,
    complication_text,
    decision_kind_text,
    label_of,
    local_time,
    rule_phase,
)
from ecmo_desktop.ui.widgets.headings import heading
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

RULE_NAMES = {
    "R1": N_("多学科决策"),
    "R2": N_("紧急上机"),
    "R3": N_("ECMO 技术授权"),
    "R4": N_("知情同意"),
    "R6": N_("一次性器械不重复使用"),
    "R8": N_("器械条码入病历"),
    "R9": N_("监测评估与随访"),
}


@dataclass(frozen=True)
class Event:
    """One line of the run's timeline; ``tab`` is where its record lives."""

    at: datetime | None
    what: str
    detail: str
    state: str  # shown in the last column
    colour: str | None
    tab: str
    date_only: bool = False  # a due date, not a moment

    def when(self) -> str:
        return local_time(self.at)[:10] if self.date_only else local_time(self.at)


def _signed(locked: bool) -> tuple[str, str | None]:
    return (_("已签名"), GREEN) if locked else (_("未签名"), ORANGE)


def timeline(case: CaseRecords) -> list[Event]:
    chart, detail = case.chart, case.detail
    if chart is None or detail is None:
        return []
    events: list[Event] = []
    for d in chart.decisions:
        names = join_names(p.full_name for p in d.physicians)
        tab = "weaning" if d.kind == DecisionKind.WEAN.value else "decision"
        events.append(Event(d.decided_at, decision_kind_text(d), names, *_signed(d.locked), tab))
    for c in chart.consents:
        what = _("拒绝 ECMO 治疗") if c.refused else _("签署知情同意")
        events.append(Event(c.signed_on_paper_at, what, c.signer_name, *_signed(c.locked), "decision"))
    for p in chart.procedures:
        at = p.flow_at or p.started_at
        what = label_of(ProcedureKind, p.kind)
        if p.kind == ProcedureKind.CANNULATION.value:
            what = _("置管上机（首次转流）")
        operators = join_names(o.full_name for o in p.operators)
        events.append(
            Event(
                at,
                what,
                _("术者：{names}").format(names=operators) if operators else "",
                *_signed(p.locked),
                "cannulation",
            )
        )
    entries = sorted(chart.daily_entries, key=lambda e: (e.ecmo_day, e.recorded_at))
    for day, group in groupby(entries, key=lambda e: e.ecmo_day):
        items = list(group)
        unsigned = sum(1 for e in items if not e.locked)
        day_state = (_("未签名 {n} 条").format(n=unsigned), ORANGE) if unsigned else (_("已签名"), GREEN)
        events.append(
            Event(
                items[0].recorded_at,
                _("日常管理 ECMO 第 {n} 天").format(n=day),
                ngettext("{n} 条记录", "{n} 条记录", len(items)).format(n=len(items)),
                *day_state,
                "daily",
            )
        )
    for x in chart.complications:
        events.append(
            Event(
                x.onset_at,
                _("并发症：{what}").format(what=complication_text(x.code, x.other_text)),
                label_of(Severity, x.severity) + (_("，不良事件") if x.adverse_event else ""),
                *_signed(x.locked),
                "complications",
            )
        )
    for t in chart.weaning_trials:
        result = _("未定") if t.passed is None else _("通过") if t.passed else _("未通过")
        events.append(Event(t.started_at, _("撤机试验"), result, *_signed(t.locked), "weaning"))
    run = detail.run
    if run.ended_at is not None:
        events.append(
            Event(
                run.ended_at,
                _("ECMO 结束"),
                label_of(EndReason, run.end_reason),
                _("已撤机"),
                GREEN if run.end_reason == EndReason.WEANED.value else GREY,
                "weaning",
            )
        )
    colour: str | None
    for f in chart.follow_ups:
        when = f.done_at or datetime.combine(f.due_date, time(0), BEIJING)
        if f.fu_status == FollowUpStatus.DUE.value:
            state, colour = _("应于 {d}").format(d=f.due_date.isoformat()), GREY
            detail_text = ""
        else:
            state, colour = _signed(f.locked)
            detail_text = (
                label_of(VitalStatus, f.vital_status)
                if f.vital_status
                else label_of(FollowUpStatus, f.fu_status)
            )
        events.append(
            Event(
                when,
                _("{kind}随访").format(kind=label_of(FollowUpKind, f.kind)),
                detail_text,
                state,
                colour,
                "followup",
                date_only=f.done_at is None,
            )
        )
    far = datetime.max.replace(tzinfo=BEIJING)
    return sorted(events, key=lambda e: e.at or far)


class OverviewTab(QWidget):
    key = "overview"
    title = N_("概览")

    def __init__(
        self,
        case: CaseRecords,
        *,
        summary: QWidget | None = None,
        open_tab: Callable[[str], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.case = case
        self._open_tab = open_tab
        self.setObjectName("records_tab_overview")
        outer = QVBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        if summary is not None:
            lcol.addWidget(heading(_("病例信息")))
            lcol.addWidget(summary)
            summary.show()  # it was a tab page: taking it out of the tab widget left it hidden
        lcol.addWidget(heading(_("合规检查（国家 ECMO 技术临床应用管理规范）")))
        self.rules: ListTableModel[RuleResult] = ListTableModel(
            [
                Column(N_("规则"), self._rule_text),
                Column(
                    N_("结果"),
                    lambda r: _(STATUS_TEXT.get(r.status, r.status)),
                    foreground=lambda r: STATUS_COLOR.get(r.status),
                ),
                Column(N_("说明"), lambda r: r.text(), tooltip=lambda r: r.text()),
            ],
            parent=self,
        )
        self.rule_table = make_table(self.rules)
        self.rule_table.setObjectName("compliance_table")
        self.rule_table.setWordWrap(True)
        set_column_widths(self.rule_table, [19, 6])
        lcol.addWidget(self.rule_table, 1)
        self.verdict = QLabel()
        self.verdict.setObjectName("compliance_verdict")
        self.verdict.setWordWrap(True)
        lcol.addWidget(self.verdict)
        splitter.addWidget(left)
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        rcol.addWidget(heading(_("病程时间线（双击打开相应页面）")))
        self.events: ListTableModel[Event] = ListTableModel(
            [
                Column(N_("时间"), lambda e: e.when()),
                Column(N_("事件"), lambda e: e.what, tooltip=lambda e: e.what),
                Column(N_("详情"), lambda e: e.detail, tooltip=lambda e: e.detail),
                Column(N_("状态"), lambda e: e.state, foreground=lambda e: e.colour),
            ],
            parent=self,
        )
        self.timeline_table = make_table(self.events)
        self.timeline_table.setObjectName("timeline_table")
        set_column_widths(self.timeline_table, [16, 30, 18])
        self.timeline_table.activated.connect(self._activated)
        rcol.addWidget(self.timeline_table, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        outer.addWidget(splitter, 1)
        case.updated.connect(self.refresh)

    def _rule_text(self, result: RuleResult) -> str:
        results = self.rules.rows()
        index = next(i for i, r in enumerate(results) if r is result)
        return f"{result.rule} {_(RULE_NAMES.get(result.rule, ''))}{rule_phase(results, index)}"

    def refresh(self) -> None:
        snapshot = self.case.snapshot
        if snapshot is None:
            return
        self.rules.set_rows(snapshot.compliance.results)
        self.rule_table.resizeRowsToContents()
        self.events.set_rows(timeline(self.case))
        failed = sorted({r.rule for r in snapshot.compliance.results if r.status == "fail"})
        pending = sorted({r.rule for r in snapshot.compliance.results if r.status == "pending"})
        if failed:
            self.verdict.setText(_("不符合：{rules}").format(rules=join_names(failed)))
            self.verdict.setStyleSheet(f"color: {RED}; font-weight: bold;")
        elif pending:
            self.verdict.setText(_("待完成：{rules}").format(rules=join_names(pending)))
            self.verdict.setStyleSheet(f"color: {ORANGE};")
        else:
            self.verdict.setText(_("各项均符合要求"))
            self.verdict.setStyleSheet(f"color: {GREEN}; font-weight: bold;")

    def status_of(self, rule: str) -> str:
        snapshot = self.case.snapshot
        return snapshot.compliance.status_of(rule) if snapshot else "pending"

    def _activated(self, index: QModelIndex) -> None:
        event = self.events.row(index.row())
        if event is not None and self._open_tab is not None:
            self._open_tab(event.tab)
