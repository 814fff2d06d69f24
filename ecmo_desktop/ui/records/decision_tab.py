"""决策与知情同意: the start (and weaning) decision with its physicians (R1/R2), and consent (R4).

The decision form shows the rule's verdict while the physicians are picked — who is the patient's
attending, who is in the expert group *now* — so a team sees what is missing before signing is
refused. An emergency start shows R2's 12-hour clock counting down (on the injected clock) until
the full team's plan is supplemented; then the tab says when it was met, or how late it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.enums import DeciderRole, DecisionKind, Indication, Mode, RunStatus
from ecmo_desktop.domain.fields import (
    CONTRAINDICATIONS,
    PRE,
    choices_for,
    contraindications_assessed,
    fields_for,
)
from ecmo_desktop.domain.records import (
    AnyRecord,
    Consent,
    ConsentInput,
    ConsentRelationship,
    Decision,
    DecisionInput,
    DecisionPhysician,
    PhysicianInput,
)
from ecmo_desktop.domain.rules import emergency_decider, joint_decision
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.base import RecordTab, tool_button
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.display import (
    GREEN,
    GREY,
    ORANGE,
    RED,
    STATUS_COLOR,
    Line,
    duration_text,
    esc,
    grouped_values_html,
    label_of,
    lines_html,
    local_time,
    record_key,
    rule_label,
    status_column,
    title_text,
)
from ecmo_desktop.ui.records.forms import (
    CatalogueFields,
    ChoiceCombo,
    DateTimeField,
    PeopleEditor,
    PersonRow,
    RecordDialog,
    StaffCombo,
    text_edit,
    wide_label,
)
from ecmo_desktop.ui.records.signing import decision_verdict

PHYSICIANS_FIELD = N_("决策医师")
COUNTDOWN_MS = 30_000  # the 12-hour clock on screen moves every half minute


# ---- physicians with roles (R1/R2) -------------------------------------------------------------------
class PhysiciansEditor(PeopleEditor):
    """Who decided, in which capacity, and whether each is in the expert group now."""

    headings = (N_("医师"), N_("决策角色"), N_("专家组"))
    add_text = N_("添加医师")
    add_name = "add_physician"
    prefix = "physician"
    role_enum = DeciderRole

    def default_role(self) -> str | None:
        return DeciderRole.OTHER.value

    def refresh_row(self, entry: PersonRow, *, suggest: bool) -> None:
        person, capacity, expert, _remove = entry
        staff = person.person()
        if staff is None:
            expert.setText("")
        elif staff.is_expert:
            expert.setText(_("现为专家组成员"))
            expert.setStyleSheet(f"color: {GREEN};")
        else:
            expert.setText(_("非专家组成员"))
            expert.setStyleSheet(f"color: {GREY};")
        if suggest and staff is not None and staff.is_expert and capacity.value() == DeciderRole.OTHER.value:
            capacity.set_value(DeciderRole.EXPERT.value)  # re-enters with suggest=False via the signal
        self.changed.emit()

    def value(self) -> tuple[PhysicianInput, ...]:
        out = []
        for person, capacity, _e, _r in self.rows:
            staff_id = person.value()
            if staff_id is not None:
                out.append(PhysicianInput(staff_id, capacity.value() or DeciderRole.OTHER.value))
        return tuple(out)

    def as_decided(self) -> list[DecisionPhysician]:
        """The rows as the rules see them, with expert membership as of now (for the live verdict)."""
        out = []
        for p in self.value():
            staff = next((s for s in self.people if s.id == p.staff_id), None)
            if staff is not None:
                out.append(DecisionPhysician(staff.id, staff.full_name, staff.title, p.role, staff.is_expert))
        return out


def default_physicians(case: CaseRecords) -> list[tuple[int, str]]:
    """The logged-in doctor and the run's attending, each in the capacity they most likely decide in."""
    out: list[tuple[int, str]] = []
    detail = case.detail
    attending = detail.run.attending_id if detail else None
    user = case.user
    me = case.staff_by_id(user.id) if user else None
    if me is not None and me in case.physicians():
        role = (
            DeciderRole.ATTENDING
            if me.id == attending
            else DeciderRole.EXPERT
            if me.is_expert
            else DeciderRole.OTHER
        )
        out.append((me.id, role.value))
    if attending is not None and all(sid != attending for sid, _r in out):
        person = case.staff_by_id(attending)
        if person is not None and person in case.physicians():
            out.append((attending, DeciderRole.ATTENDING.value))
    return out


def earlier_team(case: CaseRecords) -> list[tuple[int, str]]:
    """The team that decided the start, offered again for the weaning decision: the full
    multidisciplinary plan when an emergency start was supplemented, else the start decision itself.
    People no longer among the hospital's physicians are left out."""
    start = case.primary_start()
    chart = case.chart
    if start is None or chart is None:
        return []
    supplements = [d for d in chart.decisions if d.supplement_of_id == start.id]
    source = max(supplements, key=lambda d: (d.decided_at, d.id)) if supplements else start
    physicians = {s.id for s in case.physicians()}
    return [(p.staff_id, p.role) for p in source.physicians if p.staff_id in physicians]


# ---- the decision form ---------------------------------------------------------------------------------
class DecisionDialog(RecordDialog):
    """上机决策 / 撤机决策 / 补充多学科决策 (new, edit a draft, or amend)."""

    entity = "decision"

    def __init__(
        self,
        case: CaseRecords,
        kind: str,
        parent: QWidget | None = None,
        *,
        record: Decision | None = None,
        amend: bool = False,
        supplement_of: Decision | None = None,
    ) -> None:
        self.kind = record.kind if record is not None else kind
        self.supplement_of_id = (
            record.supplement_of_id if record is not None else (supplement_of.id if supplement_of else None)
        )
        start = self.kind == DecisionKind.START.value
        if self.supplement_of_id is not None:
            title = _("补充多学科决策")
        else:
            title = _("上机决策") if start else _("撤机决策")
        super().__init__(case, title, parent, record=record, amend=amend)
        self.setObjectName("decision_dialog")
        if self.supplement_of_id is not None and supplement_of is not None:
            deadline = supplement_of.supplement_deadline
            self.set_intro(
                _(
                    "为 {at} 的紧急上机补充完整的多学科决策（R1）：须 ≥3 名医师，含经治医师和 ≥2 "
                    "名专家组成员；"
                    "期限：首次转流后 12 小时{deadline}。"
                ).format(
                    at=local_time(supplement_of.decided_at),
                    deadline=_("（{t} 前）").format(t=local_time(deadline)) if deadline else "",
                )
            )
        pages = QTabWidget()
        pages.setObjectName("decision_pages")
        self.body.addWidget(pages)
        main = QWidget()
        pages.addTab(main, _("决策"))
        mcol = QVBoxLayout(main)
        form = self.section(None, mcol)
        self.emergency = QCheckBox(
            _("紧急上机（由 1 名副主任医师及以上的专家组成员决定，12 小时内补充多学科决策）")
        )
        self.emergency.setObjectName("emergency")
        if start and self.supplement_of_id is None:
            form.addRow("", self.emergency)
        else:
            self.emergency.hide()
        self.decided_at = DateTimeField(case.services.ctx.now())
        self.decided_at.setObjectName("decided_at")
        self.add_row(form, N_("决策时间"), self.decided_at)
        self.indication = ChoiceCombo.of_enum(Indication)
        self.indication.setObjectName("indication")
        self.indication_other = QLineEdit()
        self.indication_other.setObjectName("indication_other")
        self.indication_other.setPlaceholderText(_("选择“其他”时填写"))
        self.mode = ChoiceCombo.of_enum(Mode)
        self.mode.setObjectName("mode_planned")
        if start:
            self.add_row(form, N_("适应证"), self.indication)
            self.add_row(form, N_("其他适应证"), self.indication_other)
            self.add_row(form, N_("计划模式"), self.mode)
            detail = case.detail
            if detail is not None:
                self.indication.set_value(detail.run.indication)
                self.indication_other.setText(detail.run.indication_other)
                self.mode.set_value(detail.run.mode)
            if supplement_of is not None:
                self.indication.set_value(supplement_of.indication)
                self.indication_other.setText(supplement_of.indication_other)
                self.mode.set_value(supplement_of.mode_planned)
        self.indication.currentIndexChanged.connect(self._indication_changed)
        self.physicians = PhysiciansEditor(case.physicians())
        self.physicians.setObjectName("physicians")
        message = self.add_row(form, PHYSICIANS_FIELD, self.physicians, focus=self.physicians.add_button)
        self.alias(N_("决策医师角色"), PHYSICIANS_FIELD)
        self.physicians.changed.connect(message.hide)
        self.verdict = wide_label(name="decision_verdict")
        form.addRow("", self.verdict)
        self.rationale = text_edit(3)
        self.rationale.setObjectName("rationale")
        self.add_row(form, N_("决策依据"), self.rationale)
        self.pre = CatalogueFields(self)
        self.contraindications: dict[str, QCheckBox] = {}
        self.contra_assessed: QCheckBox | None = None
        if start:
            pre_page = QWidget()
            pcol = QVBoxLayout(pre_page)
            hint = QLabel(_("上机前 6 小时内的最近一次数值；留空表示未测。超出正常范围的数值以黄色标出。"))
            hint.setWordWrap(True)
            hint.setStyleSheet("color: #555;")
            pcol.addWidget(hint)
            self.pre.add_sections(pcol, [*fields_for(PRE), *choices_for(PRE)], columns=3)
            pages.addTab(pre_page, _("上机前状态"))
            contra_page = QWidget()
            ccol = QVBoxLayout(contra_page)
            chint = QLabel(
                _(
                    "逐项评估后勾选“已完成禁忌证评估”，再勾选存在的禁忌证（未勾选的条目表示不存在）。"
                    "未完成评估时记录为“未评估”。"
                )
            )
            chint.setWordWrap(True)
            ccol.addWidget(chint)
            self.contra_assessed = QCheckBox(_("已完成禁忌证评估"))
            self.contra_assessed.setObjectName("contra_assessed")
            ccol.addWidget(self.contra_assessed)
            cform = self.section(None, ccol)
            box = QWidget()
            grid = QGridLayout(box)
            grid.setContentsMargins(0, 0, 0, 0)
            for i, (key, label) in enumerate(CONTRAINDICATIONS):
                check = QCheckBox(_(label))
                check.setObjectName(f"contra_{key}")
                self.contraindications[key] = check
                check.toggled.connect(self._contraindication_ticked)
                grid.addWidget(check, i // 2, i % 2)
            self.add_row(cform, N_("禁忌证"), box, focus=next(iter(self.contraindications.values())))
            ccol.addStretch(1)
            pages.addTab(contra_page, _("禁忌证"))
            self.contra_assessed.toggled.connect(self._assessed_toggled)
        mcol.addStretch(1)
        self.emergency.toggled.connect(lambda _on: self._update_verdict())
        self.physicians.changed.connect(self._update_verdict)
        self.resize(1000, 720)
        if record is not None:
            self.fill(record)
        else:
            team = earlier_team(case) if self.kind == DecisionKind.WEAN.value else []
            for staff_id, role in team or default_physicians(case):
                self.physicians.add_row(staff_id, role)
            if not self.physicians.rows:
                self.physicians.add_row()
            if supplement_of is None and start and case.detail is not None:
                self.emergency.setChecked(case.detail.run.emergency)
        self._indication_changed()
        self._update_verdict()
        self.decided_at.setFocus()

    def _contraindication_ticked(self, on: bool) -> None:
        """Ticking a present contraindication is an assessment: the checklist counts as assessed."""
        if on and self.contra_assessed is not None:
            self.contra_assessed.setChecked(True)

    def _assessed_toggled(self, on: bool) -> None:
        """Taking back "assessed" clears the ticks: an unassessed list cannot name what is present."""
        if not on:
            for check in self.contraindications.values():
                check.setChecked(False)

    def contraindication_values(self) -> dict[str, bool]:
        """Every item answered when the checklist was assessed; ``{}`` (not assessed) otherwise."""
        if self.contra_assessed is None or not self.contra_assessed.isChecked():
            return {}
        return {k: c.isChecked() for k, c in self.contraindications.items()}

    def _indication_changed(self) -> None:
        self.indication_other.setEnabled(self.indication.value() == Indication.OTHER.value)

    def _update_verdict(self) -> None:
        physicians = self.physicians.as_decided()
        if self.emergency.isChecked() and self.kind == DecisionKind.START.value:
            result = emergency_decider(physicians)
        else:
            result = joint_decision(physicians)
        colour = GREEN if result.passed else RED
        self.verdict.setText(
            f"[{result.rule}] {result.text()}"
            if result.passed
            else _("[{rule}] {text}（签名时将被拒绝）").format(rule=result.rule, text=result.text())
        )
        self.verdict.setStyleSheet(f"color: {colour};")

    def fill(self, record: AnyRecord) -> None:
        assert isinstance(record, Decision)
        self.emergency.setChecked(record.emergency)
        self.decided_at.set_value(record.decided_at)
        self.indication.set_value(record.indication)
        self.indication_other.setText(record.indication_other)
        self.mode.set_value(record.mode_planned)
        self.rationale.setPlainText(record.rationale)
        self.physicians.clear()
        for p in record.physicians:
            self.physicians.add_row(p.staff_id, p.role)
        self.pre.fill(record.pre_ecmo)
        if self.contra_assessed is not None:
            self.contra_assessed.setChecked(contraindications_assessed(record.contraindications))
        for key, check in self.contraindications.items():
            check.setChecked(bool(record.contraindications.get(key)))
        self._update_verdict()

    def data(self) -> DecisionInput:
        start = self.kind == DecisionKind.START.value
        return DecisionInput(
            kind=self.kind,
            decided_at=self.decided_at.value(),
            physicians=self.physicians.value(),
            emergency=self.emergency.isChecked() and start and self.supplement_of_id is None,
            indication=self.indication.value() if start else None,
            indication_other=self.indication_other.text() if start else "",
            mode_planned=self.mode.value() if start else None,
            rationale=self.rationale.toPlainText(),
            pre_ecmo=self.pre.raw(),
            contraindications=self.contraindication_values(),
            supplement_of_id=self.supplement_of_id,
        )

    def build(self) -> Callable[[], Any]:
        records, data, run_id = self.case.services.records, self.data(), self.case.run_id
        if self.record is None:
            return lambda: records.record_decision(run_id, data)
        record_id, version, reason = self.record.id, self.expected_version, self.reason_text
        if self.amend:
            return lambda: records.amend_decision(record_id, data, reason=reason, expected_version=version)
        assert version is not None
        return lambda: records.update_decision(record_id, data, expected_version=version)


# ---- consent (R4) --------------------------------------------------------------------------------------
class ConsentDialog(RecordDialog):
    """知情同意书: who explained, who signed the paper form, their relationship, when — or a refusal."""

    entity = "consent"

    def __init__(
        self,
        case: CaseRecords,
        parent: QWidget | None = None,
        *,
        record: Consent | None = None,
        amend: bool = False,
    ) -> None:
        super().__init__(case, _("知情同意"), parent, record=record, amend=amend)
        self.setObjectName("consent_dialog")
        self.set_intro(_("记录纸质知情同意书的签署情况（R4）：非紧急上机须在置管前签署。"))
        form = self.section()
        self.explained_by = StaffCombo(case.physicians())
        self.explained_by.setObjectName("explained_by")
        user = case.user
        if user is not None:
            self.explained_by.set_value(user.id)
        self.add_row(form, N_("谈话医师"), self.explained_by)
        self.signer = QLineEdit()
        self.signer.setObjectName("signer_name")
        self.signer.setPlaceholderText(_("签字人姓名"))
        self.add_row(form, N_("签字人"), self.signer)
        self.relationship = ChoiceCombo.of_enum(ConsentRelationship)
        self.relationship.setObjectName("relationship")
        self.add_row(form, N_("与患者关系"), self.relationship)
        self.signed_at = DateTimeField(case.services.ctx.now())
        self.signed_at.setObjectName("consent_signed_at")
        self.add_row(form, N_("签署时间"), self.signed_at)
        self.refused = QCheckBox(_("患者或家属拒绝 ECMO 治疗（记录拒绝）"))
        self.refused.setObjectName("refused")
        form.addRow("", self.refused)
        self.notes = text_edit(3)
        self.add_row(form, N_("备注"), self.notes)
        if record is not None:
            self.fill(record)
        self.resize(620, 460)
        self.signer.setFocus()

    def fill(self, record: AnyRecord) -> None:
        assert isinstance(record, Consent)
        self.explained_by.set_value(record.explained_by_id)
        self.signer.setText(record.signer_name)
        self.relationship.set_value(record.relationship)
        self.signed_at.set_value(record.signed_on_paper_at)
        self.refused.setChecked(record.refused)
        self.notes.setPlainText(record.notes)

    def build(self) -> Callable[[], Any]:
        data = ConsentInput(
            explained_by_id=self.explained_by.value() or 0,
            signer_name=self.signer.text(),
            relationship=self.relationship.value() or "",
            signed_at=self.signed_at.value(),
            refused=self.refused.isChecked(),
            notes=self.notes.toPlainText(),
        )
        records, run_id = self.case.services.records, self.case.run_id
        if self.record is None:
            return lambda: records.record_consent(run_id, data)
        record_id, version, reason = self.record.id, self.expected_version, self.reason_text
        if self.amend:
            return lambda: records.amend_consent(record_id, data, reason=reason, expected_version=version)
        assert version is not None
        return lambda: records.update_consent(record_id, data, expected_version=version)


# ---- describing ----------------------------------------------------------------------------------------
def describe_decision(record: Decision, case: CaseRecords) -> str:
    indication = label_of(Indication, record.indication)
    if record.indication_other:
        indication = f"{indication}：{record.indication_other}"
    lines = [
        Line(_("类型"), label_of(DecisionKind, record.kind)),
        Line(_("紧急"), _("是") if record.emergency else _("否")),
        Line(_("决策时间"), local_time(record.decided_at)),
    ]
    if record.kind == DecisionKind.START.value:
        lines += [Line(_("适应证"), indication), Line(_("计划模式"), label_of(Mode, record.mode_planned))]
    if record.supplement_deadline is not None:
        lines.append(Line(_("补充决策期限（R2）"), local_time(record.supplement_deadline)))
    if record.supplement_of_id is not None:
        target = case.find("decision", record.supplement_of_id)
        lines.append(
            Line(_("补充的决策"), local_time(target.decided_at) if isinstance(target, Decision) else "—")
        )
    people = "\n".join(
        f"{p.full_name}（{title_text(p.title)}）— {label_of(DeciderRole, p.role)}"
        + (_("，决策时为专家组成员") if p.expert_at_decision else "")
        for p in record.physicians
    )
    lines.append(Line(_("决策医师"), people or "—"))
    verdict = decision_verdict(record)
    body = lines_html(lines)
    if verdict is not None:
        passed, text = verdict
        body += f"<p style='color:{GREEN if passed else RED}'>{esc(text)}</p>"
    if record.rationale:
        body += lines_html([Line(_("决策依据"), record.rationale)])
    if record.pre_ecmo:
        body += f"<h4>{esc(_('上机前状态'))}</h4>" + grouped_values_html(record.pre_ecmo, record.abnormal)
    present = [_(label) for key, label in CONTRAINDICATIONS if record.contraindications.get(key)]
    if contraindications_assessed(record.contraindications):
        body += lines_html([Line(_("禁忌证"), join_names(present) or _("已评估，无"))])
    elif record.kind == DecisionKind.START.value and record.supplement_of_id is None:
        body += lines_html([Line(_("禁忌证"), _("未评估"))])
    return body


def describe_consent(record: Consent) -> str:
    return lines_html(
        [
            Line(_("结果"), _("拒绝 ECMO 治疗") if record.refused else _("同意")),
            Line(_("谈话医师"), record.explained_by_name),
            Line(_("签字人"), record.signer_name),
            Line(_("与患者关系"), label_of(ConsentRelationship, record.relationship)),
            Line(_("签署时间"), local_time(record.signed_on_paper_at)),
            Line(_("备注"), record.notes or "—"),
        ]
    )


def rule_html(results: Sequence[Any], rules: Sequence[str], *, skip: int = 0) -> str:
    """Rule results as coloured lines ("R1 上机 …", "R4 …"), from the compliance checklist;
    ``skip`` leaves out the first results of those rules (the weaning tab shows R1's second)."""
    parts = []
    seen = 0
    for i, r in enumerate(results):
        if r.rule in rules:
            seen += 1
            if seen <= skip:
                continue
            colour = STATUS_COLOR.get(r.status, GREY)
            parts.append(
                f"<span style='color:{colour}'><b>{esc(rule_label(results, i))}</b> {esc(r.text())}</span>"
            )
    return "<br>".join(parts)


# ---- the tab -------------------------------------------------------------------------------------------
class DecisionTab(RecordTab):
    key = "decision"
    title = N_("决策与知情同意")

    def __init__(self, case: CaseRecords, parent: QWidget | None = None) -> None:
        super().__init__(case, parent)
        doctor = case.can(Action.CHART_DOCTOR)
        self.new_button = tool_button(
            _("新建上机决策…"), self.new_decision, name="new_decision_button", tip=_("Ctrl+N")
        )
        self.supplement_button = tool_button(
            _("补充多学科决策…"), self.new_supplement, name="supplement_button"
        )
        self.consent_button = tool_button(_("记录知情同意…"), self.new_consent, name="consent_button")
        for b in (self.new_button, self.supplement_button, self.consent_button):
            b.setVisible(doctor)
            self.toolbar.addWidget(b)
        self.toolbar.addStretch(1)
        self.rules_label = QLabel()
        self.rules_label.setObjectName("decision_rules")
        self.rules_label.setWordWrap(True)
        self.status_area.addWidget(self.rules_label)
        self.countdown = QLabel()
        self.countdown.setObjectName("supplement_countdown")
        self.countdown.setWordWrap(True)
        self.countdown.hide()
        self.status_area.addWidget(self.countdown)
        self.decisions: ListTableModel[Decision] = ListTableModel(
            [
                Column(
                    N_("类型"),
                    lambda d: _("补充多学科决策") if d.supplement_of_id else label_of(DecisionKind, d.kind),
                ),
                Column(
                    N_("紧急"),
                    lambda d: _("紧急") if d.emergency else "",
                    foreground=lambda d: RED if d.emergency else None,
                ),
                Column(N_("决策时间"), lambda d: local_time(d.decided_at)),
                Column(N_("决策医师"), lambda d: join_names(p.full_name for p in d.physicians)),
                status_column(),
            ],
            key=record_key,
            parent=self,
        )
        self.decision_table = self.add_list(
            _("决策记录"), self.decisions, [12, 5, 16, 22], name="decision_table"
        )
        self.consents: ListTableModel[Consent] = ListTableModel(
            [
                Column(
                    N_("结果"),
                    lambda c: _("拒绝") if c.refused else _("同意"),
                    foreground=lambda c: RED if c.refused else None,
                ),
                Column(N_("签署时间"), lambda c: local_time(c.signed_on_paper_at)),
                Column(
                    N_("签字人"),
                    lambda c: f"{c.signer_name}（{label_of(ConsentRelationship, c.relationship)}）",
                ),
                Column(N_("谈话医师"), lambda c: c.explained_by_name),
                status_column(),
            ],
            key=record_key,
            parent=self,
        )
        self.consent_table = self.add_list(_("知情同意"), self.consents, [6, 16, 16, 8], name="consent_table")
        self.timer = QTimer(self)
        self.timer.setInterval(COUNTDOWN_MS)
        self.timer.timeout.connect(self._update_countdown)
        self.timer.start()
        shortcut = QShortcut(QKeySequence("Ctrl+N"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.new_decision)

    def refresh(self) -> None:
        chart = self.case.chart
        if chart is None:
            return
        self.decisions.set_rows(chart.decisions)
        self.consents.set_rows(chart.consents)
        start = self.case.primary_start()
        status = self.case.run_status
        open_run = status in (RunStatus.PLANNED.value, RunStatus.ON_ECMO.value)
        self.new_button.setEnabled(start is None and open_run)
        supplemented = start is not None and any(d.supplement_of_id == start.id for d in chart.decisions)
        self.supplement_button.setEnabled(
            start is not None and start.emergency and not supplemented and open_run
        )
        self.consent_button.setEnabled(status != RunStatus.CANCELLED.value)
        snapshot = self.case.snapshot
        if snapshot is not None:
            self.rules_label.setText(
                rule_html(snapshot.compliance.results, ("R1", "R2", "R4"))
                if start is not None or chart.consents
                else f"<span style='color:{ORANGE}'>{esc(_('尚未记录上机决策'))}</span>"
            )
        self._update_countdown()

    def _update_countdown(self) -> None:
        snapshot = self.case.snapshot
        status = snapshot.supplement if snapshot else None
        if status is None:
            self.countdown.hide()
            return
        self.countdown.show()
        now = self.case.services.ctx.now()
        if status.state == "met":
            text, colour = _("R2：已在期限内补充多学科决策"), GREEN
            supplement = self.case.find("decision", status.supplement_id) if status.supplement_id else None
            if supplement is not None and not supplement.locked:
                text, colour = _("R2：已在期限内补充多学科决策，待签名"), ORANGE
        elif status.deadline is None:
            text, colour = _("R2：紧急上机，首次转流后 12 小时内须补充多学科决策（尚未上机）"), ORANGE
        else:
            remaining = status.deadline - now
            if remaining.total_seconds() > 0:
                text = _("R2：须在 {left} 内（{deadline} 前）补充多学科决策").format(
                    left=duration_text(remaining.total_seconds()), deadline=local_time(status.deadline)
                )
                colour = ORANGE
            else:
                text = _("R2：补充多学科决策已超时 {late}（期限 {deadline}）").format(
                    late=duration_text(-remaining.total_seconds()), deadline=local_time(status.deadline)
                )
                colour = RED
        self.countdown.setText(text)
        self.countdown.setStyleSheet(f"font-size: 14px; font-weight: bold; color: {colour};")

    def describe(self, record: AnyRecord) -> str:
        if isinstance(record, Decision):
            return describe_decision(record, self.case)
        if isinstance(record, Consent):
            return describe_consent(record)
        return ""

    def editor(self, record: AnyRecord, *, amend: bool) -> RecordDialog | None:
        if isinstance(record, Decision):
            return DecisionDialog(self.case, record.kind, self, record=record, amend=amend)
        if isinstance(record, Consent):
            return ConsentDialog(self.case, self, record=record, amend=amend)
        return None

    def new_decision(self) -> DecisionDialog | None:
        if self.new_button.isHidden() or not self.new_button.isEnabled():
            return None
        dialog = DecisionDialog(self.case, DecisionKind.START.value, self)
        self.show_dialog(dialog)
        return dialog

    def new_supplement(self) -> DecisionDialog | None:
        start = self.case.primary_start()
        if start is None or not self.supplement_button.isEnabled():
            return None
        dialog = DecisionDialog(self.case, DecisionKind.START.value, self, supplement_of=start)
        self.show_dialog(dialog)
        return dialog

    def new_consent(self) -> ConsentDialog | None:
        if not self.consent_button.isEnabled():
            return None
        dialog = ConsentDialog(self.case, self)
        self.show_dialog(dialog)
        return dialog
