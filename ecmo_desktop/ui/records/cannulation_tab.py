"""置管/操作: cannulation (the start of ECMO), circuit change, mode change and decannulation.

R3 is visible where it matters: each person picked for a procedure shows whether they hold an
ECMO privilege now, and a refusal by the service (operator without a privilege valid when the
procedure started) appears next to the staff list, with everything typed left in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.enums import (
    CannulaRole,
    Guidance,
    Location,
    Mode,
    ProcedureKind,
    Role,
    RunStatus,
    Side,
    StaffRoleInProcedure,
    Technique,
    Vessel,
)
from ecmo_desktop.domain.fields import CANNULA_NORMAL_FR, FIELDS, IMMEDIATE_COMPLICATIONS, PROC, fields_for
from ecmo_desktop.domain.model import Staff
from ecmo_desktop.domain.records import AnyRecord, CannulaInput, Procedure, ProcedureInput, StaffInput
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.services.records import mode_timeline
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.base import RecordTab, tool_button
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.decision_tab import rule_html
from ecmo_desktop.ui.records.display import (
    GREEN,
    GREY,
    RED,
    Line,
    esc,
    grouped_values_html,
    label_of,
    lines_html,
    local_time,
    number_text,
    record_key,
    status_column,
    title_text,
)
from ecmo_desktop.ui.records.forms import (
    CatalogueFields,
    ChoiceCombo,
    DateTimeField,
    NumberField,
    OptionalDateTime,
    PeopleEditor,
    PersonRow,
    RecordDialog,
    text_edit,
)

OPERATOR_FIELD = N_("术者")
CANNULAE_FIELD = N_("插管")
CANNULA_FIELDS = (
    N_("插管用途"),
    N_("血管"),
    N_("侧别"),
    N_("插管型号"),
    N_("插管长度"),
    N_("置入深度"),
    N_("尖端位置"),
)
TITLES = {
    ProcedureKind.CANNULATION.value: N_("置管上机"),
    ProcedureKind.CIRCUIT_CHANGE.value: N_("更换管路/氧合器"),
    ProcedureKind.MODE_CHANGE.value: N_("模式转换"),
    ProcedureKind.DECANNULATION.value: N_("撤机拔管"),
}
# a sensible start for the cannulae of a new run, by mode (sizes are always typed)
DEFAULT_CANNULAE = {
    Mode.VA.value: [
        (CannulaRole.DRAINAGE.value, Vessel.FEMORAL_VEIN.value),
        (CannulaRole.RETURN.value, Vessel.FEMORAL_ARTERY.value),
    ],
    Mode.VV.value: [
        (CannulaRole.DRAINAGE.value, Vessel.FEMORAL_VEIN.value),
        (CannulaRole.RETURN.value, Vessel.INTERNAL_JUGULAR.value),
    ],
}


def privilege_text(staff: Staff | None, role: str | None) -> tuple[str, str]:
    """(text, colour) of a person's R3 standing for the role they are picked in."""
    if staff is None:
        return "", GREY
    if role == StaffRoleInProcedure.OPERATOR.value:
        if staff.has_privilege:
            return _("持有有效的 ECMO 技术授权"), GREEN
        return _("无有效的 ECMO 技术授权：不能作为术者（R3）"), RED
    return (_("有 ECMO 技术授权") if staff.has_privilege else ""), GREY


# ---- people of the procedure -----------------------------------------------------------------------------
class StaffEditor(PeopleEditor):
    """Operators, assistants, perfusionist, nurse: each with their privilege standing (R3)."""

    headings = (N_("人员"), N_("角色"), N_("ECMO 技术授权"))
    add_text = N_("添加人员")
    add_name = "add_staff"
    prefix = "staff"
    status_prefix = "staff_privilege"
    role_enum = StaffRoleInProcedure

    def add_new(self) -> None:
        self.add_row(None, StaffRoleInProcedure.ASSISTANT.value)

    def refresh_row(self, entry: PersonRow, *, suggest: bool) -> None:
        person, capacity, standing, _remove = entry
        text, colour = privilege_text(person.person(), capacity.value())
        standing.setText(text)
        standing.setStyleSheet(f"color: {colour};")
        self.changed.emit()

    def value(self) -> tuple[StaffInput, ...]:
        return tuple(StaffInput(p.value() or 0, c.value() or "") for p, c, _s, _r in self.rows if p.value())


# ---- cannulae ----------------------------------------------------------------------------------------
class CannulaeEditor(QWidget):
    """A small table of cannulae: role, vessel, side, size (Fr), length, depth, tip position."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.grid = QGridLayout()
        heads = (
            _("用途"),
            _("血管"),
            _("侧别"),
            _("型号（Fr）"),
            _("长度（cm）"),
            _("置入深度（cm）"),
            _("尖端位置"),
        )
        for col, text in enumerate(heads):
            head = QLabel(text)
            head.setStyleSheet("color: #555;")
            self.grid.addWidget(head, 0, col)
        column.addLayout(self.grid)
        bar = QHBoxLayout()
        self.add_button = QPushButton(_("添加插管"))
        self.add_button.setObjectName("add_cannula")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(lambda: self.add_row())
        bar.addWidget(self.add_button)
        hint = QLabel(_("型号超出常用范围时以黄色标出"))
        hint.setStyleSheet("color: #555;")
        bar.addWidget(hint)
        bar.addStretch(1)
        column.addLayout(bar)

    def add_row(
        self,
        role: str | None = None,
        vessel: str | None = None,
        side: str | None = None,
        size: Any = None,
        length: Any = None,
        depth: Any = None,
        tip: str = "",
    ) -> dict[str, Any]:
        index = len(self.rows)
        row: dict[str, Any] = {
            "role": ChoiceCombo.of_enum(CannulaRole),
            "vessel": ChoiceCombo.of_enum(Vessel),
            "side": ChoiceCombo.of_enum(Side),
            "size": NumberField("size_fr", FIELDS["size_fr"].range),
            "length": NumberField("length_cm", FIELDS["length_cm"].range),
            "depth": NumberField("depth_cm", FIELDS["depth_cm"].range),
            "tip": QLineEdit(tip),
        }
        for name, widget in row.items():
            widget.setObjectName(f"cannula_{index}_{name}")
            if isinstance(widget, NumberField):
                widget.unit.hide()
        row["role"].set_value(role)
        row["vessel"].set_value(vessel)
        row["side"].set_value(side)
        row["size"].set_value(size)
        row["length"].set_value(length)
        row["depth"].set_value(depth)
        remove = QPushButton(_("移除"))
        remove.setAutoDefault(False)
        row["remove"] = remove
        for col, key in enumerate(("role", "vessel", "side", "size", "length", "depth", "tip", "remove")):
            self.grid.addWidget(row[key], index + 1, col)
        self.rows.append(row)
        row["role"].currentIndexChanged.connect(lambda _i, r=row: self._role_changed(r))
        remove.clicked.connect(lambda _c=False, r=row: self.remove_row(r))
        self._role_changed(row)
        return row

    def _role_changed(self, row: dict[str, Any]) -> None:
        normal = CANNULA_NORMAL_FR.get(row["role"].value() or "")
        row["size"].set_normal(normal)
        self.changed.emit()

    def remove_row(self, row: dict[str, Any]) -> None:
        if row in self.rows:
            self.rows.remove(row)
            for widget in row.values():
                self.grid.removeWidget(widget)
                widget.deleteLater()
            self.changed.emit()

    def clear(self) -> None:
        for row in list(self.rows):
            self.remove_row(row)

    def value(self) -> tuple[CannulaInput, ...]:
        out = []
        for r in self.rows:
            if not (r["role"].value() or r["vessel"].value() or r["size"].text()):
                continue  # an untouched spare row
            out.append(
                CannulaInput(
                    role=r["role"].value() or "",
                    vessel=r["vessel"].value() or "",
                    side=r["side"].value() or "",
                    size_fr=r["size"].text() or None,
                    length_cm=r["length"].text() or None,
                    depth_cm=r["depth"].text() or None,
                    tip_position=r["tip"].text(),
                )
            )
        return tuple(out)


# ---- the form ------------------------------------------------------------------------------------------
class ProcedureDialog(RecordDialog):
    """One procedure; the fields shown depend on its kind."""

    entity = "procedure"

    def __init__(
        self,
        case: CaseRecords,
        kind: str,
        parent: QWidget | None = None,
        *,
        record: Procedure | None = None,
        amend: bool = False,
    ) -> None:
        self.kind = record.kind if record is not None else kind
        super().__init__(case, _(TITLES.get(self.kind, N_("操作"))), parent, record=record, amend=amend)
        self.setObjectName("procedure_dialog")
        k = self.kind
        cannulation = k == ProcedureKind.CANNULATION.value
        now = case.services.ctx.now()
        if cannulation:
            self.set_intro(
                _(
                    "首次转流时间即 ECMO 开始时间（第 0 天，紧急上机的 12 小时补充期限由此起算）。"
                    "术者须在操作开始时持有有效的 ECMO 技术授权（R3）。"
                )
            )
        elif k in (ProcedureKind.CIRCUIT_CHANGE.value, ProcedureKind.DECANNULATION.value):
            self.set_intro(_("术者须在操作开始时持有有效的 ECMO 技术授权（R3）。"))
        times = self.section(_("时间与地点"))
        self.started_at = DateTimeField(now)
        self.started_at.setObjectName("started_at")
        self.add_row(times, N_("开始时间"), self.started_at)
        self.flow_at = DateTimeField(now)
        self.flow_at.setObjectName("flow_at")
        if cannulation:
            self.add_row(times, N_("首次转流时间"), self.flow_at)
        self.ended_at = OptionalDateTime(_("已结束"), now)
        self.ended_at.setObjectName("ended_at")
        self.add_row(times, N_("结束时间"), self.ended_at, focus=self.ended_at.check)
        self.location = ChoiceCombo.of_enum(Location)
        self.location.setObjectName("location")
        self.location.set_value(self._default_location())
        self.add_row(times, N_("操作地点"), self.location)
        self.technique = ChoiceCombo.of_enum(Technique)
        self.technique.setObjectName("technique")
        self.guidance = ChoiceCombo.of_enum(Guidance)
        self.guidance.setObjectName("guidance")
        if k in (ProcedureKind.CANNULATION.value, ProcedureKind.DECANNULATION.value):
            self.add_row(
                times, N_("置管方式") if cannulation else N_("拔管方式"), self.technique, field=N_("置管方式")
            )
        if cannulation:
            self.add_row(times, N_("引导方式"), self.guidance)
        self.mode_after = ChoiceCombo.of_enum(Mode)
        self.mode_after.setObjectName("mode_after")
        if cannulation:
            self.mode_after.set_value(case.run_mode)
            self.add_row(times, N_("模式"), self.mode_after)
        elif k == ProcedureKind.MODE_CHANGE.value:
            self.add_row(times, N_("转换后模式"), self.mode_after)
            current = QLabel(_("当前模式：{mode}").format(mode=label_of(Mode, case.run_mode)))
            times.addRow("", current)
        self.procedure_reason = text_edit(2)
        self.procedure_reason.setObjectName("procedure_reason")
        if k != ProcedureKind.CANNULATION.value:
            self.add_row(times, N_("原因"), self.procedure_reason)
        people = self.section(_("人员"))
        self.staff = StaffEditor(case.clinical_staff())
        self.staff.setObjectName("procedure_staff")
        message = self.add_row(people, "", self.staff, field=OPERATOR_FIELD, focus=self.staff.add_button)
        self.staff.changed.connect(message.hide)
        self.alias(N_("操作人员"), OPERATOR_FIELD)
        self.alias(N_("人员角色"), OPERATOR_FIELD)
        self.rule_targets["R3"] = OPERATOR_FIELD
        self.cannulae = CannulaeEditor()
        self.cannulae.setObjectName("cannulae")
        if k in (ProcedureKind.CANNULATION.value, ProcedureKind.MODE_CHANGE.value):
            box = self.section(_("插管") if cannulation else _("新增/调整的插管（如有）"))
            message = self.add_row(
                box, "", self.cannulae, field=CANNULAE_FIELD, focus=self.cannulae.add_button
            )
            for name in CANNULA_FIELDS:
                self.alias(name, CANNULAE_FIELD)
            self.cannulae.changed.connect(message.hide)
        self.settings = CatalogueFields(self)
        if k in (ProcedureKind.CANNULATION.value, ProcedureKind.CIRCUIT_CHANGE.value):
            if not cannulation:
                self.body.addWidget(QLabel(_("更换后参数")))
            self.settings.add_sections(self.body, fields_for(PROC), columns=2)
        self.immediate: dict[str, QCheckBox] = {}
        if k in (ProcedureKind.CANNULATION.value, ProcedureKind.DECANNULATION.value):
            box = self.section(_("即刻并发症"))
            holder = QWidget()
            grid = QGridLayout(holder)
            grid.setContentsMargins(0, 0, 0, 0)
            for i, (key, label) in enumerate(IMMEDIATE_COMPLICATIONS):
                check = QCheckBox(_(label))
                check.setObjectName(f"immediate_{key}")
                self.immediate[key] = check
                grid.addWidget(check, i // 3, i % 3)
            self.add_row(box, N_("即刻并发症"), holder, focus=next(iter(self.immediate.values())))
        notes = self.section(None)
        self.notes = text_edit(3)
        self.notes.setObjectName("procedure_notes")
        self.add_row(notes, N_("备注"), self.notes)
        self.body.addStretch(1)
        if record is not None:
            self.fill(record)
        else:
            self._defaults()
        self.resize(1040, 780)
        self.started_at.setFocus()

    def _default_location(self) -> str:
        chart = self.case.chart
        if chart is not None and chart.procedures:
            return chart.procedures[-1].location
        return Location.ICU.value

    def _defaults(self) -> None:
        user = self.case.user
        me = self.case.staff_by_id(user.id) if user else None
        if me is not None and me.has_role(Role.DOCTOR):
            self.staff.add_row(me.id, StaffRoleInProcedure.OPERATOR.value)
        else:
            self.staff.add_row(None, StaffRoleInProcedure.OPERATOR.value)
        if self.kind == ProcedureKind.CANNULATION.value:
            for role, vessel in DEFAULT_CANNULAE.get(self.case.run_mode, [(None, None)]):
                self.cannulae.add_row(role, vessel)

    def fill(self, record: AnyRecord) -> None:
        assert isinstance(record, Procedure)
        self.started_at.set_value(record.started_at)
        if record.flow_at is not None:
            self.flow_at.set_value(record.flow_at)
        self.ended_at.set_value(record.ended_at)
        self.location.set_value(record.location)
        self.technique.set_value(record.technique)
        self.guidance.set_value(record.guidance)
        self.mode_after.set_value(record.mode_after)
        self.procedure_reason.setPlainText(record.reason)
        self.staff.clear()
        for s in record.staff:
            self.staff.add_row(s.staff_id, s.role)
        self.cannulae.clear()
        for c in record.cannulae:
            self.cannulae.add_row(
                c.role, c.vessel, c.side, c.size_fr, c.length_cm, c.depth_cm, c.tip_position
            )
        self.settings.fill(record.settings)
        for key, check in self.immediate.items():
            check.setChecked(key in record.immediate_complications)
        self.notes.setPlainText(record.notes)

    def data(self) -> ProcedureInput:
        k = self.kind
        return ProcedureInput(
            started_at=self.started_at.value(),
            flow_at=self.flow_at.value() if k == ProcedureKind.CANNULATION.value else None,
            ended_at=self.ended_at.value(),
            location=self.location.value() or "",
            staff=self.staff.value(),
            technique=self.technique.value(),
            guidance=self.guidance.value(),
            mode_after=self.mode_after.value()
            if k in (ProcedureKind.CANNULATION.value, ProcedureKind.MODE_CHANGE.value)
            else None,
            reason=self.procedure_reason.toPlainText(),
            cannulae=self.cannulae.value(),
            settings=self.settings.raw_numbers(),
            immediate_complications=tuple(key for key, c in self.immediate.items() if c.isChecked()),
            notes=self.notes.toPlainText(),
        )

    def build(self) -> Callable[[], Any]:
        records, data, run_id = self.case.services.records, self.data(), self.case.run_id
        if self.record is None:
            method = {
                ProcedureKind.CANNULATION.value: records.record_cannulation,
                ProcedureKind.CIRCUIT_CHANGE.value: records.record_circuit_change,
                ProcedureKind.MODE_CHANGE.value: records.record_mode_change,
                ProcedureKind.DECANNULATION.value: records.record_decannulation,
            }[self.kind]
            return lambda: method(run_id, data)
        record_id, version, reason = self.record.id, self.expected_version, self.reason_text
        if self.amend:
            return lambda: records.amend_procedure(record_id, data, reason=reason, expected_version=version)
        assert version is not None
        return lambda: records.update_procedure(record_id, data, expected_version=version)


# ---- describing ----------------------------------------------------------------------------------------
def describe_procedure(record: Procedure) -> str:
    lines = [Line(_("开始时间"), local_time(record.started_at))]
    if record.flow_at is not None:
        lines.append(Line(_("首次转流时间"), local_time(record.flow_at)))
    lines += [
        Line(_("结束时间"), local_time(record.ended_at)),
        Line(_("操作地点"), label_of(Location, record.location)),
    ]
    if record.technique:
        lines.append(Line(_("方式"), label_of(Technique, record.technique)))
    if record.guidance:
        lines.append(Line(_("引导方式"), label_of(Guidance, record.guidance)))
    if record.mode_after:
        change = label_of(Mode, record.mode_after)
        if record.mode_before:
            change = f"{label_of(Mode, record.mode_before)} → {change}"
        lines.append(Line(_("模式"), change))
    if record.reason:
        lines.append(Line(_("原因"), record.reason))
    body = lines_html(lines)
    people = []
    for s in record.staff:
        flag = ""
        if s.role == StaffRoleInProcedure.OPERATOR.value:
            ok = s.privileged_at_start
            note = _("操作时持有 ECMO 技术授权") if ok else _("操作时无有效 ECMO 技术授权（R3）")
            flag = f" <span style='color:{GREEN if ok else RED}'>{esc(note)}</span>"
        people.append(
            f"{esc(s.full_name)}（{esc(title_text(s.title))}）— "
            f"{esc(label_of(StaffRoleInProcedure, s.role))}{flag}"
        )
    if people:
        body += f"<h4>{esc(_('人员'))}</h4>" + "<br>".join(people)
    if record.cannulae:
        heads = (_("用途"), _("血管"), _("侧别"), _("型号"), _("长度"), _("深度"), _("尖端"), _("状态"))
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td style='padding:1px 6px'>{esc(v)}</td>"
                for v in (
                    label_of(CannulaRole, c.role),
                    label_of(Vessel, c.vessel),
                    label_of(Side, c.side),
                    f"{number_text(c.size_fr)} Fr",
                    "" if c.length_cm is None else f"{number_text(c.length_cm)} cm",
                    "" if c.depth_cm is None else f"{number_text(c.depth_cm)} cm",
                    c.tip_position,
                    _("已拔除 {at}").format(at=local_time(c.removed_at)) if c.removed_at else _("在位"),
                )
            )
            + "</tr>"
            for c in record.cannulae
        )
        head = "".join(f"<th style='padding:1px 6px;text-align:left'>{esc(h)}</th>" for h in heads)
        body += f"<h4>{esc(_('插管'))}</h4><table border='1' cellspacing='0'><tr>{head}</tr>{rows}</table>"
    if record.settings:
        body += f"<h4>{esc(_('参数'))}</h4>" + grouped_values_html(record.settings, record.abnormal)
    if record.immediate_complications:
        names = dict(IMMEDIATE_COMPLICATIONS)
        body += lines_html(
            [Line(_("即刻并发症"), join_names(_(names.get(k, k)) for k in record.immediate_complications))]
        )
    if record.notes:
        body += lines_html([Line(_("备注"), record.notes)])
    return body


def operators_text(record: Procedure) -> str:
    return join_names(o.full_name for o in record.operators) or "—"


# ---- the tab -------------------------------------------------------------------------------------------
class CannulationTab(RecordTab):
    key = "cannulation"
    title = N_("置管/操作")

    def __init__(self, case: CaseRecords, parent: QWidget | None = None) -> None:
        super().__init__(case, parent)
        doctor = case.can(Action.CHART_DOCTOR)
        self.kind_buttons: dict[str, Any] = {}
        for kind in (
            ProcedureKind.CANNULATION.value,
            ProcedureKind.CIRCUIT_CHANGE.value,
            ProcedureKind.MODE_CHANGE.value,
            ProcedureKind.DECANNULATION.value,
        ):
            button = tool_button(
                _(TITLES[kind]) + "…", lambda k=kind: self.new_procedure(k), name=f"new_{kind}_button"
            )
            button.setVisible(doctor)
            self.kind_buttons[kind] = button
            self.toolbar.addWidget(button)
        self.toolbar.addStretch(1)
        self.mode_label = QLabel()
        self.mode_label.setObjectName("mode_timeline")
        self.mode_label.setWordWrap(True)
        self.status_area.addWidget(self.mode_label)
        self.r3_label = QLabel()
        self.r3_label.setObjectName("r3_status")
        self.r3_label.setWordWrap(True)
        self.status_area.addWidget(self.r3_label)
        self.procedures: ListTableModel[Procedure] = ListTableModel(
            [
                Column(N_("操作"), lambda p: label_of(ProcedureKind, p.kind)),
                Column(N_("开始时间"), lambda p: local_time(p.started_at)),
                Column(N_("首次转流"), lambda p: local_time(p.flow_at) if p.flow_at else ""),
                Column(
                    N_("术者"),
                    operators_text,
                    foreground=lambda p: RED if any(not o.privileged_at_start for o in p.operators) else None,
                ),
                Column(N_("模式"), lambda p: label_of(Mode, p.mode_after) if p.mode_after else ""),
                status_column(),
            ],
            key=record_key,
            parent=self,
        )
        self.table = self.add_list(None, self.procedures, [12, 16, 16, 12, 6], name="procedure_table")
        shortcut = QShortcut(QKeySequence("Ctrl+N"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(lambda: self.new_procedure(ProcedureKind.CANNULATION.value))

    def refresh(self) -> None:
        chart = self.case.chart
        if chart is None:
            return
        self.procedures.set_rows(chart.procedures)
        status = self.case.run_status
        self.kind_buttons[ProcedureKind.CANNULATION.value].setEnabled(status == RunStatus.PLANNED.value)
        for kind in (
            ProcedureKind.CIRCUIT_CHANGE.value,
            ProcedureKind.MODE_CHANGE.value,
            ProcedureKind.DECANNULATION.value,
        ):
            self.kind_buttons[kind].setEnabled(status == RunStatus.ON_ECMO.value)
        spans = mode_timeline(chart.procedures)
        if spans:
            text = " → ".join(
                _("{mode}（{at} 起）").format(mode=label_of(Mode, s.mode), at=local_time(s.from_at))
                for s in spans
            )
            self.mode_label.setText(_("模式：{timeline}").format(timeline=text))
        else:
            self.mode_label.setText(_("尚未置管上机"))
        snapshot = self.case.snapshot
        if snapshot is not None:
            self.r3_label.setText(rule_html(snapshot.compliance.results, ("R3",)))

    def describe(self, record: AnyRecord) -> str:
        return describe_procedure(record) if isinstance(record, Procedure) else ""

    def editor(self, record: AnyRecord, *, amend: bool) -> RecordDialog | None:
        if isinstance(record, Procedure):
            return ProcedureDialog(self.case, record.kind, self, record=record, amend=amend)
        return None

    def new_procedure(self, kind: str) -> ProcedureDialog | None:
        button = self.kind_buttons[kind]
        if button.isHidden() or not button.isEnabled():
            return None
        dialog = ProcedureDialog(self.case, kind, self)
        self.show_dialog(dialog)
        return dialog
