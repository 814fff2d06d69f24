"""撤机: the weaning decision (R1), weaning trials, decannulation, and the end of ECMO with its outcome.

Ending ECMO cannot be taken back (it closes the run and creates the follow-up schedule), so it is
confirmed in words before it is saved; a wrong end is corrected by an administrator, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

from ecmo_desktop.domain.enums import DecisionKind, EndReason, Mode, ProcedureKind, RunStatus
from ecmo_desktop.domain.fields import FIELDS, WEAN, choices_for, fields_for
from ecmo_desktop.domain.records import (
    AnyRecord,
    Decision,
    EndInput,
    Procedure,
    WeaningTrial,
    WeaningTrialInput,
)
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.base import RecordTab, tool_button
from ecmo_desktop.ui.records.cannulation_tab import ProcedureDialog, describe_procedure, operators_text
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.decision_tab import DecisionDialog, describe_decision, rule_html
from ecmo_desktop.ui.records.display import (
    GREEN,
    ORANGE,
    RED,
    Line,
    grouped_values_html,
    label_of,
    lines_html,
    local_time,
    record_key,
    status_column,
    with_unit,
)
from ecmo_desktop.ui.records.forms import (
    CatalogueFields,
    ChoiceCombo,
    DateTimeField,
    NumberField,
    OptionalDateTime,
    RecordDialog,
    confirm,
    text_edit,
)

TRIAL_TARGETS = ("blood_flow", "sweep", "fdo2")  # the "reduced to" settings of a trial, not values
PASSED_OPTIONS = (("yes", N_("通过")), ("no", N_("未通过")))


class WeaningTrialDialog(RecordDialog):
    entity = "weaning_trial"

    def __init__(
        self,
        case: CaseRecords,
        parent: QWidget | None = None,
        *,
        record: WeaningTrial | None = None,
        amend: bool = False,
    ) -> None:
        super().__init__(case, _("撤机试验"), parent, record=record, amend=amend)
        self.setObjectName("weaning_trial_dialog")
        va = case.run_mode in (Mode.VA.value, Mode.VAV.value, Mode.VVA.value, Mode.VV_VA.value)
        self.set_intro(
            _(
                "VA：血流量降至 1–1.5 L/min 观察，评估 LVEF、LVOT VTI（≥10 cm）、MAP、乳酸；"
                "VV：关闭气流或 FdO2 降至 0.21 观察氧合与通气。"
            )
            if va
            else _("VV：关闭气流或 FdO2 降至 0.21，观察氧合、通气及呼吸机参数。")
        )
        form = self.section(_("试验"))
        now = case.services.ctx.now()
        self.started_at = DateTimeField(now)
        self.started_at.setObjectName("trial_started_at")
        self.add_row(form, N_("试验开始时间"), self.started_at)
        self.ended_at = OptionalDateTime(_("已结束"), now)
        self.ended_at.setObjectName("trial_ended_at")
        self.add_row(form, N_("试验结束时间"), self.ended_at, focus=self.ended_at.check)
        self.targets: dict[str, NumberField] = {}
        for key, label in zip(
            TRIAL_TARGETS, (N_("血流量降至"), N_("气流量降至"), N_("FdO2 降至")), strict=True
        ):
            field = NumberField.of(FIELDS[key])
            field.edit.setObjectName(f"trial_{key}")
            self.targets[key] = field
            self.add_row(form, label, field, field=FIELDS[key].label)
        self.passed = ChoiceCombo.of_msgids(PASSED_OPTIONS, blank=_("未定"))
        self.passed.setObjectName("trial_passed")
        self.add_row(form, N_("试验结果"), self.passed)
        self.body.addWidget(QLabel(_("试验中的评估")))
        self.values = CatalogueFields(self)
        specs = [s for s in fields_for(WEAN) if s.key not in TRIAL_TARGETS and (va or not s.va_only)]
        self.values.add_sections(self.body, [*specs, *choices_for(WEAN)], columns=2)
        notes = self.section(None)
        self.notes = text_edit(2)
        self.add_row(notes, N_("备注"), self.notes)
        self.body.addStretch(1)
        if record is not None:
            self.fill(record)
        self.resize(900, 720)
        self.started_at.setFocus()

    def fill(self, record: AnyRecord) -> None:
        assert isinstance(record, WeaningTrial)
        self.started_at.set_value(record.started_at)
        self.ended_at.set_value(record.ended_at)
        for key, value in zip(TRIAL_TARGETS, (record.flow_to, record.sweep_to, record.fdo2_to), strict=True):
            self.targets[key].set_value(value)
        self.passed.set_value(None if record.passed is None else "yes" if record.passed else "no")
        self.values.fill(record.values)
        self.notes.setPlainText(record.notes)

    def build(self) -> Callable[[], Any]:
        passed = self.passed.value()
        data = WeaningTrialInput(
            started_at=self.started_at.value(),
            ended_at=self.ended_at.value(),
            flow_to=self.targets["blood_flow"].text() or None,
            sweep_to=self.targets["sweep"].text() or None,
            fdo2_to=self.targets["fdo2"].text() or None,
            values=self.values.raw(),
            passed=None if passed is None else passed == "yes",
            notes=self.notes.toPlainText(),
        )
        records, run_id = self.case.services.records, self.case.run_id
        if self.record is None:
            return lambda: records.record_weaning_trial(run_id, data)
        record_id, version, reason = self.record.id, self.expected_version, self.reason_text
        if self.amend:
            return lambda: records.amend_weaning_trial(
                record_id, data, reason=reason, expected_version=version
            )
        assert version is not None
        return lambda: records.update_weaning_trial(record_id, data, expected_version=version)


class EndDialog(RecordDialog):
    """结束 ECMO (撤机结局): asks once more in words before the run is closed.

    With ``amend=True`` the same form corrects a wrongly recorded end: the reason is required and the
    old outcome stays in the audit trail (allowed until a follow-up has been recorded).
    """

    entity = "end"

    def __init__(self, case: CaseRecords, parent: QWidget | None = None, *, amend: bool = False) -> None:
        title = _("更正撤机结局") if amend else _("结束 ECMO")
        super().__init__(case, title, parent, ok_text=_("保存更正") if amend else _("结束 ECMO"))
        self.amend = amend
        self.setObjectName("amend_end_dialog" if amend else "end_dialog")
        if amend:
            self.set_intro(
                _(
                    "更正撤机时间或结局：须填写更正原因，原结局保留在历史（审计）中，随访计划按更正后的时间重新排定。"
                    "已记录随访后不能再更正。"
                ),
                warn=True,
            )
        else:
            self.set_intro(
                _(
                    "结束后病例状态变为“已撤机”，并按首次转流时间建立 28 天、出院、90 天、180 天和 1 "
                    "年随访计划。"
                    "如有错误，可在随访开始前以“更正撤机结局”修改。"
                ),
                warn=True,
            )
        form = self.section()
        chart = case.chart
        decannulations = (
            [p for p in chart.procedures if p.kind == ProcedureKind.DECANNULATION.value] if chart else []
        )
        default = case.services.ctx.now()
        if decannulations and decannulations[-1].ended_at is not None:
            default = decannulations[-1].ended_at
        self.ended_at = DateTimeField(default)
        self.ended_at.setObjectName("end_ended_at")
        self.add_row(form, N_("撤机时间"), self.ended_at)
        self.reason_combo = ChoiceCombo.of_enum(EndReason)
        self.reason_combo.setObjectName("end_reason")
        if decannulations:
            self.reason_combo.set_value(EndReason.WEANED.value)
        self.add_row(form, N_("撤机结局"), self.reason_combo)
        run = case.detail.run if case.detail else None
        if amend and run is not None and run.ended_at is not None:
            self.ended_at.set_value(run.ended_at)
            self.reason_combo.set_value(run.end_reason or "")
        self.notes = text_edit(3)
        self.notes.setObjectName("amend_reason" if amend else "end_notes")
        self.add_row(form, N_("修改原因") if amend else N_("备注"), self.notes)
        self.confirm_box: Any = None
        self._confirmed = False
        self.resize(620, 360)
        self.reason_combo.setFocus()

    def fill(self, record: AnyRecord) -> None:  # an end is not a record: nothing to reload
        return

    def on_submit(self) -> None:
        if self.busy:
            return
        if not self._confirmed and not self.amend:
            text = _("确认结束 ECMO？\n\n撤机结局：{reason}\n撤机时间：{at}").format(
                reason=label_of(EndReason, self.reason_combo.value()), at=local_time(self.ended_at.value())
            )
            self.confirm_box = confirm(self, _("确认结束 ECMO"), text, _("确认结束"), self._confirmed_submit)
            return
        super().on_submit()

    def _confirmed_submit(self) -> None:
        self._confirmed = True
        try:
            super().on_submit()
        finally:
            self._confirmed = False

    def build(self) -> Callable[[], Any]:
        data = EndInput(
            ended_at=self.ended_at.value(),
            reason=self.reason_combo.value() or "",
            notes=self.notes.toPlainText(),
        )
        records, run_id = self.case.services.records, self.case.run_id
        if self.amend:
            reason = self.notes.toPlainText()
            return lambda: records.amend_end(
                run_id, EndInput(ended_at=data.ended_at, reason=data.reason), reason=reason
            )
        return lambda: records.end_ecmo(run_id, data)


def describe_trial(record: WeaningTrial) -> str:
    lines = [
        Line(_("开始时间"), local_time(record.started_at)),
        Line(_("结束时间"), local_time(record.ended_at)),
        Line(_("血流量降至"), with_unit(record.flow_to, "L/min")),
        Line(_("气流量降至"), with_unit(record.sweep_to, "L/min")),
        Line(_("FdO2 降至"), with_unit(record.fdo2_to, "")),
        Line(
            _("试验结果"), _("未定") if record.passed is None else _("通过") if record.passed else _("未通过")
        ),
    ]
    body = lines_html(lines)
    if record.values:
        body += grouped_values_html(record.values, record.abnormal)
    if record.notes:
        body += lines_html([Line(_("备注"), record.notes)])
    return body


class WeaningTab(RecordTab):
    key = "weaning"
    title = N_("撤机")

    def __init__(self, case: CaseRecords, parent: QWidget | None = None) -> None:
        super().__init__(case, parent)
        doctor = case.can(Action.CHART_DOCTOR)
        self.decision_button = tool_button(_("撤机决策…"), self.new_decision, name="new_wean_decision_button")
        self.trial_button = tool_button(_("撤机试验…"), self.new_trial, name="new_trial_button")
        self.decannulation_button = tool_button(
            _("撤机拔管…"), self.new_decannulation, name="decannulation_button"
        )
        self.end_button = tool_button(_("结束 ECMO…"), self.end_ecmo, name="end_button")
        self.amend_end_button = tool_button(_("更正撤机结局…"), self.amend_end, name="amend_end_button")
        for b in (
            self.decision_button,
            self.trial_button,
            self.decannulation_button,
            self.end_button,
            self.amend_end_button,
        ):
            b.setVisible(doctor)
            self.toolbar.addWidget(b)
        self.toolbar.addStretch(1)
        self.end_label = QLabel()
        self.end_label.setObjectName("end_status")
        self.end_label.setWordWrap(True)
        self.status_area.addWidget(self.end_label)
        self.r1_label = QLabel()
        self.r1_label.setObjectName("wean_rules")
        self.r1_label.setWordWrap(True)
        self.status_area.addWidget(self.r1_label)
        self.decisions: ListTableModel[Decision] = ListTableModel(
            [
                Column(N_("决策时间"), lambda d: local_time(d.decided_at)),
                Column(N_("决策医师"), lambda d: join_names(p.full_name for p in d.physicians)),
                status_column(),
            ],
            key=record_key,
            parent=self,
        )
        self.add_list(_("撤机决策"), self.decisions, [16, 26], name="wean_decision_table")
        self.trials: ListTableModel[WeaningTrial] = ListTableModel(
            [
                Column(N_("开始时间"), lambda t: local_time(t.started_at)),
                Column(N_("血流量降至"), lambda t: with_unit(t.flow_to, "L/min")),
                Column(
                    N_("结果"),
                    lambda t: _("未定") if t.passed is None else _("通过") if t.passed else _("未通过"),
                    foreground=lambda t: None if t.passed is None else GREEN if t.passed else RED,
                ),
                status_column(),
            ],
            key=record_key,
            parent=self,
        )
        self.add_list(_("撤机试验"), self.trials, [16, 12, 8], name="trial_table")
        self.decannulations: ListTableModel[Procedure] = ListTableModel(
            [
                Column(N_("拔管时间"), lambda p: local_time(p.started_at)),
                Column(N_("术者"), operators_text),
                status_column(),
            ],
            key=record_key,
            parent=self,
        )
        self.add_list(_("撤机拔管"), self.decannulations, [16, 14], name="decannulation_table")

    def refresh(self) -> None:
        chart, detail = self.case.chart, self.case.detail
        if chart is None or detail is None:
            return
        run = detail.run
        self.decisions.set_rows([d for d in chart.decisions if d.kind == DecisionKind.WEAN.value])
        self.trials.set_rows(chart.weaning_trials)
        decannulations = [p for p in chart.procedures if p.kind == ProcedureKind.DECANNULATION.value]
        self.decannulations.set_rows(decannulations)
        on = run.status == RunStatus.ON_ECMO.value
        for b in (self.decision_button, self.trial_button, self.decannulation_button, self.end_button):
            b.setEnabled(on)
        self.amend_end_button.setEnabled(run.status == RunStatus.ENDED.value)
        if run.status == RunStatus.ENDED.value:
            self.end_label.setText(
                _("ECMO 已于 {at} 结束：{reason}").format(
                    at=local_time(run.ended_at), reason=label_of(EndReason, run.end_reason)
                )
            )
            self.end_label.setStyleSheet(f"font-weight: bold; color: {GREEN};")
        elif on:
            self.end_label.setText(_("ECMO 运行中（{at} 开始）").format(at=local_time(run.started_at)))
            self.end_label.setStyleSheet(f"color: {ORANGE};")
        else:
            self.end_label.setText(_("尚未上机"))
            self.end_label.setStyleSheet("")
        snapshot = self.case.snapshot
        if snapshot is not None:
            self.r1_label.setText(rule_html(snapshot.compliance.results, ("R1",), skip=1))

    def describe(self, record: AnyRecord) -> str:
        if isinstance(record, Decision):
            return describe_decision(record, self.case)
        if isinstance(record, WeaningTrial):
            return describe_trial(record)
        if isinstance(record, Procedure):
            return describe_procedure(record)
        return ""

    def editor(self, record: AnyRecord, *, amend: bool) -> RecordDialog | None:
        if isinstance(record, Decision):
            return DecisionDialog(self.case, record.kind, self, record=record, amend=amend)
        if isinstance(record, WeaningTrial):
            return WeaningTrialDialog(self.case, self, record=record, amend=amend)
        if isinstance(record, Procedure):
            return ProcedureDialog(self.case, record.kind, self, record=record, amend=amend)
        return None

    def _allowed(self, button: Any) -> bool:
        return not button.isHidden() and button.isEnabled()

    def new_decision(self) -> DecisionDialog | None:
        if not self._allowed(self.decision_button):
            return None
        dialog = DecisionDialog(self.case, DecisionKind.WEAN.value, self)
        self.show_dialog(dialog)
        return dialog

    def new_trial(self) -> WeaningTrialDialog | None:
        if not self._allowed(self.trial_button):
            return None
        dialog = WeaningTrialDialog(self.case, self)
        self.show_dialog(dialog)
        return dialog

    def new_decannulation(self) -> ProcedureDialog | None:
        if not self._allowed(self.decannulation_button):
            return None
        dialog = ProcedureDialog(self.case, ProcedureKind.DECANNULATION.value, self)
        self.show_dialog(dialog)
        return dialog

    def end_ecmo(self) -> EndDialog | None:
        if not self._allowed(self.end_button):
            return None
        dialog = EndDialog(self.case, self)
        self.show_dialog(dialog)
        return dialog

    def amend_end(self) -> EndDialog | None:
        if not self._allowed(self.amend_end_button):
            return None
        dialog = EndDialog(self.case, self, amend=True)
        self.show_dialog(dialog)
        return dialog
