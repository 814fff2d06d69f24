"""并发症: coded complications and adverse events (R9), with onset, severity, treatment and outcome.

The code is picked in two steps (group, then complication) from the catalogue in
``domain/complications.py``; whether it counts as an adverse event for QC starts as the code's
default and may be changed by the recorder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QWidget

from ecmo_desktop.domain.complications import COMPLICATIONS, by_group
from ecmo_desktop.domain.enums import ProcedureKind, Severity
from ecmo_desktop.domain.records import AnyRecord, Complication, ComplicationInput
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.base import RecordTab, tool_button
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.display import (
    RED,
    Line,
    complication_text,
    label_of,
    lines_html,
    local_time,
    record_key,
    status_column,
)
from ecmo_desktop.ui.records.forms import (
    ChoiceCombo,
    DateTimeField,
    OptionalDateTime,
    RecordDialog,
    text_edit,
)

CODE_FIELD = N_("并发症")


class ComplicationDialog(RecordDialog):
    entity = "complication"

    def __init__(
        self,
        case: CaseRecords,
        parent: QWidget | None = None,
        *,
        record: Complication | None = None,
        amend: bool = False,
    ) -> None:
        super().__init__(case, _("并发症"), parent, record=record, amend=amend)
        self.setObjectName("complication_dialog")
        form = self.section()
        self.group = QComboBox()
        self.group.setObjectName("complication_group")
        self._groups = by_group()
        for title, _codes in self._groups:
            self.group.addItem(_(title), title)
        self.add_row(form, N_("类别"), self.group)
        self.code = QComboBox()
        self.code.setObjectName("complication_code")
        self.add_row(form, CODE_FIELD, self.code)
        self.other = QLineEdit()
        self.other.setObjectName("complication_other")
        self.add_row(form, N_("并发症描述"), self.other)
        now = case.services.ctx.now()
        self.onset = DateTimeField(now)
        self.onset.setObjectName("onset_at")
        self.add_row(form, N_("发生时间"), self.onset)
        self.severity = ChoiceCombo.of_enum(Severity)
        self.severity.setObjectName("severity")
        self.add_row(form, N_("严重程度"), self.severity)
        self.adverse = QCheckBox(_("属于医疗不良事件（上报质控，R9）"))
        self.adverse.setObjectName("adverse_event")
        form.addRow("", self.adverse)
        self.procedure = QComboBox()
        self.procedure.setObjectName("related_procedure")
        self.procedure.addItem("—", 0)
        chart = case.chart
        for p in chart.procedures if chart else ():
            self.procedure.addItem(f"{label_of(ProcedureKind, p.kind)} {local_time(p.started_at)}", p.id)
        self.add_row(form, N_("相关操作"), self.procedure)
        self.treatment = text_edit(3)
        self.treatment.setObjectName("treatment")
        self.add_row(form, N_("处理"), self.treatment)
        self.resolved = OptionalDateTime(_("已缓解"), now)
        self.resolved.setObjectName("resolved_at")
        self.add_row(form, N_("缓解时间"), self.resolved, focus=self.resolved.check)
        self.resolution = text_edit(2)
        self.add_row(form, N_("转归"), self.resolution)
        self._adverse_touched = False
        self.adverse.clicked.connect(self._touch_adverse)
        self.group.currentIndexChanged.connect(lambda _i: self._fill_codes())
        self.code.currentIndexChanged.connect(lambda _i: self._code_changed())
        self._fill_codes()
        if record is not None:
            self.fill(record)
        self.resize(640, 600)
        self.group.setFocus()

    def _touch_adverse(self) -> None:
        self._adverse_touched = True

    def _fill_codes(self, select: str | None = None) -> None:
        title = self.group.currentData()
        codes = next((c for t, c in self._groups if t == title), [])
        self.code.blockSignals(True)
        self.code.clear()
        self.code.addItem(_("请选择"), "")
        for c in codes:
            self.code.addItem(f"{_(c.label)}（{c.code}）", c.code)
        self.code.setCurrentIndex(max(self.code.findData(select or ""), 0))
        self.code.blockSignals(False)
        self._code_changed()

    def _code_changed(self) -> None:
        spec = COMPLICATIONS.get(self.code.currentData() or "")
        self.other.setEnabled(bool(spec and spec.needs_text))
        if spec is not None and not self._adverse_touched:
            self.adverse.setChecked(spec.adverse_event)

    def fill(self, record: AnyRecord) -> None:
        assert isinstance(record, Complication)
        spec = COMPLICATIONS.get(record.code)
        if spec is not None:
            self.group.blockSignals(True)
            self.group.setCurrentIndex(max(self.group.findData(spec.group), 0))
            self.group.blockSignals(False)
            self._fill_codes(record.code)
        self.other.setText(record.other_text)
        self.onset.set_value(record.onset_at)
        self.severity.set_value(record.severity)
        self.adverse.setChecked(record.adverse_event)
        self._adverse_touched = True
        self.procedure.setCurrentIndex(max(self.procedure.findData(record.procedure_id or 0), 0))
        self.treatment.setPlainText(record.treatment)
        self.resolved.set_value(record.resolved_at)
        self.resolution.setPlainText(record.resolution)

    def build(self) -> Callable[[], Any]:
        data = ComplicationInput(
            code=self.code.currentData() or "",
            onset_at=self.onset.value(),
            severity=self.severity.value() or "",
            other_text=self.other.text(),
            treatment=self.treatment.toPlainText(),
            resolved_at=self.resolved.value(),
            resolution=self.resolution.toPlainText(),
            adverse_event=self.adverse.isChecked(),
            procedure_id=self.procedure.currentData() or None,
            device_item_id=getattr(self.record, "device_item_id", None),
        )
        records, run_id = self.case.services.records, self.case.run_id
        if self.record is None:
            return lambda: records.record_complication(run_id, data)
        record_id, version, reason = self.record.id, self.expected_version, self.reason_text
        if self.amend:
            return lambda: records.amend_complication(
                record_id, data, reason=reason, expected_version=version
            )
        assert version is not None
        return lambda: records.update_complication(record_id, data, expected_version=version)


def describe_complication(record: Complication) -> str:
    spec = COMPLICATIONS.get(record.code)
    return lines_html(
        [
            Line(_("并发症"), complication_text(record.code, record.other_text)),
            Line(_("类别"), _(spec.group) if spec else "—"),
            Line(_("编码"), record.code),
            Line(_("发生时间"), local_time(record.onset_at)),
            Line(_("严重程度"), label_of(Severity, record.severity)),
            Line(_("不良事件"), _("是") if record.adverse_event else _("否")),
            Line(_("处理"), record.treatment or "—"),
            Line(_("缓解时间"), local_time(record.resolved_at)),
            Line(_("转归"), record.resolution or "—"),
        ]
    )


class ComplicationsTab(RecordTab):
    key = "complications"
    title = N_("并发症")

    def __init__(self, case: CaseRecords, parent: QWidget | None = None) -> None:
        super().__init__(case, parent)
        self.new_button = tool_button(
            _("记录并发症…"), self.new_complication, name="new_complication_button", tip=_("Ctrl+N")
        )
        self.new_button.setVisible(case.can(Action.CHART_DOCTOR))
        self.toolbar.addWidget(self.new_button)
        self.toolbar.addStretch(1)
        self.summary = QLabel()
        self.summary.setObjectName("complication_summary")
        self.status_area.addWidget(self.summary)
        self.items: ListTableModel[Complication] = ListTableModel(
            [
                Column(N_("发生时间"), lambda c: local_time(c.onset_at)),
                Column(N_("并发症"), lambda c: complication_text(c.code, c.other_text)),
                Column(N_("严重程度"), lambda c: label_of(Severity, c.severity)),
                Column(
                    N_("不良事件"),
                    lambda c: _("是") if c.adverse_event else "",
                    foreground=lambda c: RED if c.adverse_event else None,
                ),
                Column(N_("缓解"), lambda c: local_time(c.resolved_at) if c.resolved_at else _("未缓解")),
                status_column(),
            ],
            key=record_key,
            parent=self,
        )
        self.table = self.add_list(None, self.items, [16, 22, 8, 8, 16], name="complication_table")
        shortcut = QShortcut(QKeySequence("Ctrl+N"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.new_complication)

    def refresh(self) -> None:
        chart = self.case.chart
        if chart is None:
            return
        self.items.set_rows(chart.complications)
        self.new_button.setEnabled(
            self.case.detail is not None and self.case.detail.run.started_at is not None
        )
        adverse = sum(1 for c in chart.complications if c.adverse_event)
        self.summary.setText(
            _("共 {n} 项并发症，其中不良事件 {a} 项").format(n=len(chart.complications), a=adverse)
        )

    def describe(self, record: AnyRecord) -> str:
        return describe_complication(record) if isinstance(record, Complication) else ""

    def editor(self, record: AnyRecord, *, amend: bool) -> RecordDialog | None:
        if isinstance(record, Complication):
            return ComplicationDialog(self.case, self, record=record, amend=amend)
        return None

    def new_complication(self) -> ComplicationDialog | None:
        if self.new_button.isHidden() or not self.new_button.isEnabled():
            return None
        dialog = ComplicationDialog(self.case, self)
        self.show_dialog(dialog)
        return dialog
