"""随访: the follow-up schedule created at the end of ECMO (28 d,
discharge, 90 d, 180 d, 1 y) and its results.

Each row shows its due date and where it stands today (Beijing calendar, injected clock): not yet
due, due, overdue, done, lost. Discharge against advice (自动出院/放弃治疗) is its own disposition,
as the QC report counts it apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QLabel, QWidget

from ecmo_desktop.domain.compliance import follow_up_state
from ecmo_desktop.domain.enums import DischargeDisposition, FollowUpKind, FollowUpStatus, VitalStatus
from ecmo_desktop.domain.fields import FIELDS
from ecmo_desktop.domain.records import (
    AnyRecord,
    CauseOfDeath,
    ContactMethod,
    FollowUp,
    FollowUpInput,
)
from ecmo_desktop.domain.time import local_date
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.base import RecordTab, tool_button
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.decision_tab import rule_html
from ecmo_desktop.ui.records.display import (
    GREEN,
    GREY,
    ORANGE,
    RED,
    Line,
    label_of,
    lines_html,
    local_time,
    number_text,
    record_key,
    status_column,
)
from ecmo_desktop.ui.records.forms import (
    ChoiceCombo,
    DateTimeField,
    NumberField,
    RecordDialog,
    text_edit,
    wide_label,
)
from ecmo_desktop.ui.widgets.dates import TypedDateEdit

STATE_TEXT = {"future": N_("未到期"), "due": N_("待随访"), "overdue": N_("已逾期"), "closed": ""}
STATE_COLOR = {"future": GREY, "due": ORANGE, "overdue": RED}


def state_text(fu: FollowUp, today: date) -> str:
    state = follow_up_state(fu, today)
    if state == "closed":
        return label_of(FollowUpStatus, fu.fu_status)
    return _(STATE_TEXT[state])


def state_colour(fu: FollowUp, today: date) -> str | None:
    state = follow_up_state(fu, today)
    if state == "closed":
        return GREEN if fu.fu_status == FollowUpStatus.DONE.value else GREY
    return STATE_COLOR.get(state)


def outcome_text(fu: FollowUp) -> str:
    parts = []
    if fu.vital_status:
        parts.append(label_of(VitalStatus, fu.vital_status))
    if fu.date_of_death:
        parts.append(_("死于 {d}").format(d=fu.date_of_death.isoformat()))
    if fu.discharge_disposition:
        parts.append(label_of(DischargeDisposition, fu.discharge_disposition))
    for name, value in (("CPC", fu.cpc), ("mRS", fu.mrs), ("EQ-5D", fu.eq5d_index)):
        if value is not None:
            parts.append(f"{name} {number_text(value)}")
    return "，".join(parts)


class FollowUpDialog(RecordDialog):
    """The result of one scheduled follow-up (or its correction)."""

    entity = "follow_up"

    def __init__(
        self, case: CaseRecords, record: FollowUp, parent: QWidget | None = None, *, amend: bool = False
    ) -> None:
        kind = label_of(FollowUpKind, record.kind)
        super().__init__(case, _("{kind}随访").format(kind=kind), parent, record=record, amend=amend)
        self.setObjectName("follow_up_dialog")
        self.discharge = record.kind == FollowUpKind.DISCHARGE.value
        self.set_intro(_("{kind}随访，应于 {due}。").format(kind=kind, due=record.due_date.isoformat()))
        form = self.section()
        self.status = ChoiceCombo.of_enum(
            FollowUpStatus, blank=None, only=(FollowUpStatus.DONE.value, FollowUpStatus.LOST.value)
        )
        self.status.setObjectName("fu_status")
        self.add_row(form, N_("随访状态"), self.status)
        self.done_at = DateTimeField(case.services.ctx.now())
        self.done_at.setObjectName("fu_done_at")
        self.add_row(
            form, N_("出院时间") if self.discharge else N_("随访时间"), self.done_at, field=N_("随访时间")
        )
        self.method = ChoiceCombo.of_enum(ContactMethod)
        self.method.setObjectName("contact_method")
        self.method.set_value(ContactMethod.RECORDS.value if self.discharge else ContactMethod.PHONE.value)
        self.add_row(form, N_("随访方式"), self.method)
        self.vital = ChoiceCombo.of_enum(VitalStatus)
        self.vital.setObjectName("vital_status")
        self.add_row(form, N_("生存状态"), self.vital)
        self.death = TypedDateEdit(local_date(case.services.ctx.now()))
        self.death.setObjectName("date_of_death")
        self.add_row(form, N_("死亡日期"), self.death)
        self.cause = ChoiceCombo.of_enum(CauseOfDeath)
        self.cause.setObjectName("cause_of_death")
        self.add_row(form, N_("死亡原因"), self.cause)
        self.disposition = ChoiceCombo.of_enum(DischargeDisposition)
        self.disposition.setObjectName("discharge_disposition")
        if self.discharge:
            self.add_row(form, N_("出院去向"), self.disposition)
            hint = wide_label(_("“自动出院/放弃治疗”单独统计，其生存状态须经后续随访确认。"))
            hint.setStyleSheet("color: #555;")
            form.addRow("", hint)
        self.scores: dict[str, NumberField] = {}
        outcome = self.section(_("神经功能与生活质量"))
        for key in ("cpc", "mrs", "eq5d_index"):
            field = NumberField.of(FIELDS[key])
            field.edit.setObjectName(f"fu_{key}")
            self.scores[key] = field
            self.add_row(outcome, FIELDS[key].label, field)
        notes = self.section(None)
        self.notes = text_edit(3)
        self.add_row(notes, N_("备注"), self.notes)
        self.status.currentIndexChanged.connect(lambda _i: self._update())
        self.vital.currentIndexChanged.connect(lambda _i: self._update())
        if record.fu_status != FollowUpStatus.DUE.value:
            self.fill(record)
        self._update()
        self.resize(620, 640)
        self.status.setFocus()

    def _update(self) -> None:
        done = self.status.value() == FollowUpStatus.DONE.value
        dead = self.vital.value() == VitalStatus.DEAD.value
        for widget in (self.done_at, self.method, self.vital, *self.scores.values(), self.disposition):
            widget.setEnabled(done)
        self.death.setEnabled(done and dead)
        self.cause.setEnabled(done and dead)
        for field in self.scores.values():
            field.setEnabled(done and not dead)

    def fill(self, record: AnyRecord) -> None:
        assert isinstance(record, FollowUp)
        if record.fu_status != FollowUpStatus.DUE.value:
            self.status.set_value(record.fu_status)
        if record.done_at is not None:
            self.done_at.set_value(record.done_at)
        self.method.set_value(record.contact_method)
        self.vital.set_value(record.vital_status)
        if record.date_of_death is not None:
            d = record.date_of_death
            self.death.setDate(QDate(d.year, d.month, d.day))
        self.cause.set_value(record.cause_of_death)
        self.disposition.set_value(record.discharge_disposition)
        for key, value in (("cpc", record.cpc), ("mrs", record.mrs), ("eq5d_index", record.eq5d_index)):
            self.scores[key].set_value(value)
        self.notes.setPlainText(record.notes)

    def data(self) -> FollowUpInput:
        done = self.status.value() == FollowUpStatus.DONE.value
        dead = done and self.vital.value() == VitalStatus.DEAD.value
        d = self.death.date()
        return FollowUpInput(
            status=self.status.value() or "",
            done_at=self.done_at.value() if done else None,
            contact_method=self.method.value() if done else None,
            vital_status=self.vital.value() if done else None,
            date_of_death=date(d.year(), d.month(), d.day()) if dead else None,
            cause_of_death=self.cause.value() if dead else None,
            discharge_disposition=self.disposition.value() if done and self.discharge else None,
            cpc=self.scores["cpc"].text() or None if done and not dead else None,
            mrs=self.scores["mrs"].text() or None if done and not dead else None,
            eq5d_index=self.scores["eq5d_index"].text() or None if done and not dead else None,
            notes=self.notes.toPlainText(),
        )

    def build(self) -> Callable[[], Any]:
        assert self.record is not None
        records, data = self.case.services.records, self.data()
        record_id, version, reason = self.record.id, self.expected_version, self.reason_text
        if self.amend:
            return lambda: records.amend_follow_up(record_id, data, reason=reason, expected_version=version)
        return lambda: records.record_follow_up(record_id, data, expected_version=version)


def describe_follow_up(fu: FollowUp, today: date) -> str:
    lines = [
        Line(_("随访"), label_of(FollowUpKind, fu.kind)),
        Line(_("应随访日期"), fu.due_date.isoformat()),
        Line(_("状态"), state_text(fu, today)),
    ]
    if fu.fu_status != FollowUpStatus.DUE.value:
        lines += [
            Line(_("随访时间"), local_time(fu.done_at)),
            Line(_("随访方式"), label_of(ContactMethod, fu.contact_method)),
            Line(_("生存状态"), label_of(VitalStatus, fu.vital_status)),
        ]
        if fu.date_of_death:
            lines += [
                Line(_("死亡日期"), fu.date_of_death.isoformat()),
                Line(_("死亡原因"), label_of(CauseOfDeath, fu.cause_of_death)),
            ]
        if fu.discharge_disposition:
            lines.append(Line(_("出院去向"), label_of(DischargeDisposition, fu.discharge_disposition)))
        for key, value in (("cpc", fu.cpc), ("mrs", fu.mrs), ("eq5d_index", fu.eq5d_index)):
            if value is not None:
                lines.append(Line(_(FIELDS[key].label), number_text(value), key in fu.abnormal))
        if fu.notes:
            lines.append(Line(_("备注"), fu.notes))
    return lines_html(lines)


class FollowUpTab(RecordTab):
    key = "followup"
    title = N_("随访")

    def __init__(self, case: CaseRecords, parent: QWidget | None = None) -> None:
        super().__init__(case, parent)
        self.record_button = tool_button(
            _("记录随访结果…"),
            self.edit_selected,
            name="record_follow_up_button",
            tip=_("为选中的随访记录结果（F2）"),
        )
        self.record_button.setVisible(case.can(Action.CHART_DOCTOR))
        self.toolbar.addWidget(self.record_button)
        self.toolbar.addStretch(1)
        self.edit_button.hide()  # "记录随访结果" is the edit of a follow-up
        self.r9_label = QLabel()
        self.r9_label.setObjectName("r9_status")
        self.r9_label.setWordWrap(True)
        self.status_area.addWidget(self.r9_label)
        today = self._today
        self.schedule: ListTableModel[FollowUp] = ListTableModel(
            [
                Column(N_("随访"), lambda f: label_of(FollowUpKind, f.kind)),
                Column(N_("应随访日期"), lambda f: f.due_date.isoformat()),
                Column(
                    N_("状态"),
                    lambda f: state_text(f, today()),
                    foreground=lambda f: state_colour(f, today()),
                ),
                Column(N_("随访时间"), lambda f: local_time(f.done_at) if f.done_at else ""),
                Column(N_("结局"), outcome_text),
                status_column(applies=lambda f: f.fu_status != FollowUpStatus.DUE.value),
            ],
            key=record_key,
            parent=self,
        )
        self.table = self.add_list(None, self.schedule, [8, 11, 8, 16, 26], name="follow_up_table")

    def _today(self) -> date:
        return local_date(self.case.services.ctx.now())

    def refresh(self) -> None:
        chart = self.case.chart
        if chart is None:
            return
        self.schedule.set_rows(chart.follow_ups)
        snapshot = self.case.snapshot
        if not chart.follow_ups:
            self.r9_label.setText(_("ECMO 结束后自动建立随访计划"))
        elif snapshot is not None:
            self.r9_label.setText(rule_html(snapshot.compliance.results, ("R9",)))

    def _update_actions(self) -> None:
        super()._update_actions()
        if hasattr(self, "record_button"):
            self.record_button.setEnabled(self.edit_button.isEnabled())

    def describe(self, record: AnyRecord) -> str:
        return describe_follow_up(record, self._today()) if isinstance(record, FollowUp) else ""

    def editor(self, record: AnyRecord, *, amend: bool) -> RecordDialog | None:
        if isinstance(record, FollowUp):
            return FollowUpDialog(self.case, record, self, amend=amend)
        return None
