"""设备: capital equipment (ECMO consoles, heater-coolers) — reusable, tracked by serial, linked to runs.

Administrators register and edit devices and take them out of service (never delete: the runs a
console served stay traceable, e.g. for a heater-cooler contamination alert). Clinical staff link
a device to a run here or from the case's 器械 tab; the history below lists every run it served.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.devices import Equipment, EquipmentInput, EquipmentLink
from ecmo_desktop.domain.enums import EquipmentKind, RunStatus
from ecmo_desktop.domain.model import RunListItem
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.common import (
    DEVICE_CHANGES,
    MUTED_TEXT,
    DevicesTab,
    DeviceTableModel,
    OptionalDate,
    ReasonDialog,
    action_button,
    date_text,
    equipment_kind_text,
    reason_edit,
    run_status_text,
    time_text,
)
from ecmo_desktop.ui.widgets.form import FormDialog
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths


def current_run_text(equipment: Equipment) -> str:
    """Which patient's run the device serves now, so a console can be found without opening its history."""
    use = equipment.current_run
    if use is None:
        return ""
    return _("{patient}（{mrn}）第 {n} 次 ECMO，自 {since}").format(
        patient=use.patient_name, mrn=use.mrn, n=use.run_number, since=time_text(use.since)
    )


class EquipmentDialog(FormDialog):
    """Register or edit one console / heater-cooler (optimistic version check on edit)."""

    def __init__(
        self, ui: UiContext, equipment: Equipment | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(ui, _("编辑设备") if equipment else _("登记设备"), parent, ok_text=_("保存"))
        self.setObjectName("equipment_dialog")
        self.equipment = equipment
        self.saved: Equipment | None = None
        self.kind = QComboBox()
        for value, label in EquipmentKind.choices():
            self.kind.addItem(label, value)
        if equipment is not None:
            self.kind.setCurrentIndex(max(0, self.kind.findData(equipment.kind)))
        self.add_field(N_("设备类型"), self.kind)
        self.model = self.add_field(N_("型号"), QLineEdit(equipment.model if equipment else ""))
        self.manufacturer = self.add_field(
            N_("生产企业"), QLineEdit(equipment.manufacturer if equipment else "")
        )
        self.serial = self.add_field(N_("序列号"), QLineEdit(equipment.serial if equipment else ""))
        self.purchase = self.add_field(
            N_("购置日期"), OptionalDate(_("已知"), equipment.purchase_date if equipment else None)
        )
        self.notes = reason_edit(2)
        self.notes.setPlainText(equipment.notes if equipment else "")
        self.add_field(N_("备注"), self.notes)
        self.setMinimumWidth(480)

    def data(self) -> EquipmentInput:
        return EquipmentInput(
            kind=str(self.kind.currentData()),
            model=self.model.text(),
            serial=self.serial.text(),
            manufacturer=self.manufacturer.text(),
            purchase_date=self.purchase.value(),
            notes=self.notes.toPlainText(),
        )

    def on_submit(self) -> None:
        service, data, eq = self.ui.services.equipment, self.data(), self.equipment
        if eq is None:
            self.submit(lambda: service.add_equipment(data), self._done, changes=DEVICE_CHANGES)
        else:
            self.submit(
                lambda: service.update_equipment(eq.id, data, expected_version=eq.version),
                self._done,
                changes=DEVICE_CHANGES,
            )

    def _done(self, equipment: Equipment) -> None:
        self.saved = equipment
        self.accept()


class LinkToRunDialog(FormDialog):
    """Choose the run (planned or on ECMO) a device starts serving now."""

    def __init__(self, ui: UiContext, equipment: Equipment, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("关联到病例"), parent, ok_text=_("关联"))
        self.setObjectName("link_run_dialog")
        self.equipment = equipment
        self.set_intro(
            _("{kind} {model}（序列号 {serial}）从现在起用于所选病例。").format(
                kind=equipment_kind_text(equipment.kind), model=equipment.model, serial=equipment.serial
            )
        )
        self.runs = QComboBox()
        self.add_field(N_("ECMO 病例"), self.runs)
        self.ok_button.setEnabled(False)
        runs = ui.services.runs
        ui.tasks.run_op(
            lambda: runs.search_runs(statuses=(RunStatus.ON_ECMO.value, RunStatus.PLANNED.value)),
            self._loaded,
            parent=self,
        )
        self.setMinimumWidth(480)

    def _loaded(self, items: list[RunListItem]) -> None:
        for r in items:
            self.runs.addItem(
                _("{patient}（{mrn}）第 {n} 次 ECMO，{status} {ward} {bed}")
                .format(
                    patient=r.patient_name,
                    mrn=r.mrn,
                    n=r.run_number,
                    status=run_status_text(r.status),
                    ward=r.ward,
                    bed=r.bed,
                )
                .strip(),
                r.run_id,
            )
        self.ok_button.setEnabled(self.runs.count() > 0)
        if not self.runs.count():
            self.errors.show_general(_("目前没有待上机或运行中的 ECMO 病例"))

    def on_submit(self) -> None:
        run_id = self.runs.currentData()
        if run_id is None:
            return
        service, eq_id = self.ui.services.equipment, self.equipment.id
        self.submit(
            lambda: service.link_equipment(int(run_id), eq_id),
            lambda _r: self.accept(),
            changes=DEVICE_CHANGES,
        )


class EquipmentTab(DevicesTab):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, parent)
        self.setObjectName("equipment_tab")
        self.service = ui.services.equipment
        self.can_manage = ui.can(Action.MANAGE_CATALOGUE)
        self.can_link = ui.can(Action.BIND_DEVICE)
        self.dialog: Any = None
        self.loads = 0
        self._history_request = 0
        layout = QVBoxLayout(self)
        tools = QHBoxLayout()
        self.add_button = action_button(_("登记设备…"), "add_equipment_button", lambda: self.add_equipment())
        self.edit_button = action_button(_("编辑…"), "edit_equipment_button", self.edit_selected)
        self.active_button = action_button(_("停用…"), "active_equipment_button", self.toggle_selected)
        for b in (self.add_button, self.edit_button, self.active_button):
            b.setVisible(self.can_manage)
            tools.addWidget(b)
        self.link_button = action_button(_("关联到病例…"), "link_run_button", self.link_selected)
        self.unlink_button = action_button(_("解除关联…"), "unlink_run_button", self.unlink_selected)
        for b in (self.link_button, self.unlink_button):
            b.setVisible(self.can_link)
            tools.addWidget(b)
        tools.addStretch(1)
        self.show_inactive = QCheckBox(_("显示已停用"))
        self.show_inactive.toggled.connect(lambda _on: self.reload())
        tools.addWidget(self.show_inactive)
        layout.addLayout(tools)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.model: DeviceTableModel[Equipment] = DeviceTableModel(
            [
                (N_("设备类型"), lambda e: equipment_kind_text(e.kind)),
                (N_("型号"), lambda e: e.model),
                (N_("生产企业"), lambda e: e.manufacturer),
                (N_("序列号"), lambda e: e.serial),
                (N_("购置日期"), lambda e: date_text(e.purchase_date)),
                (N_("状态"), lambda e: _("在用") if e.active else _("已停用")),
                (N_("当前用于"), current_run_text),
                (N_("备注"), lambda e: e.notes),
            ],
            foreground=lambda e: MUTED_TEXT if not e.active else None,
            parent=self,
        )
        self.table = make_table(self.model)
        self.table.setObjectName("equipment_list")
        set_column_widths(self.table, [10, 20, 18, 18, 11, 7, 34, 30])
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        splitter.addWidget(self.table)
        history = QWidget()
        column = QVBoxLayout(history)
        column.setContentsMargins(0, 0, 0, 0)
        self.history_label = QLabel(_("选择一台设备查看它服务过的病例"))
        column.addWidget(self.history_label)
        self.history: DeviceTableModel[EquipmentLink] = DeviceTableModel(
            [
                (N_("患者"), lambda k: k.patient_name),
                (N_("住院号"), lambda k: k.mrn),
                (N_("ECMO次序"), lambda k: str(k.run_number)),
                (N_("开始"), lambda k: time_text(k.from_at)),
                (N_("结束"), lambda k: time_text(k.to_at) if k.to_at else _("使用中")),
            ],
            parent=self,
        )
        self.history_table = make_table(self.history)
        self.history_table.setObjectName("equipment_history")
        set_column_widths(self.history_table, [10, 12, 8, 16, 16])
        self.history_table.selectionModel().selectionChanged.connect(lambda *_a: self._update_buttons())
        column.addWidget(self.history_table, 1)
        splitter.addWidget(history)
        layout.addWidget(splitter, 1)
        self._update_buttons()

    def reload(self) -> None:
        service, inactive = self.service, self.show_inactive.isChecked()
        self.ui.tasks.run_op(
            lambda: service.list_equipment(include_inactive=inactive), self._loaded, parent=self
        )

    def _loaded(self, items: list[Equipment]) -> None:
        self.loads += 1
        selected = self.selected()
        self.model.set_rows(items)
        if selected is not None:
            for n, e in enumerate(items):
                if e.id == selected.id:
                    self.table.selectRow(n)
        self._selection_changed()

    def selected(self) -> Equipment | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def selected_link(self) -> EquipmentLink | None:
        rows = self.history_table.selectionModel().selectedRows()
        return self.history.row(rows[0].row()) if rows else None

    def _selection_changed(self, *_args: QItemSelection) -> None:
        eq = self.selected()
        self._update_buttons()
        if eq is None:
            self.history.set_rows([])
            return
        self._history_request += 1
        request, service = self._history_request, self.service
        self.ui.tasks.run_op(
            lambda: service.equipment_history(eq.id),
            lambda links: self._history_loaded(request, eq, links),
            parent=self,
        )

    def _history_loaded(self, request: int, eq: Equipment, links: list[EquipmentLink]) -> None:
        if request != self._history_request:
            return
        self.history.set_rows(links)
        current = next((k for k in links if k.current), None)
        self.history_label.setText(
            _("{model}（序列号 {serial}）服务过 {n} 个病例{now}").format(
                model=eq.model,
                serial=eq.serial,
                n=len(links),
                now=_("，当前用于 {patient}（{mrn}）").format(patient=current.patient_name, mrn=current.mrn)
                if current
                else "",
            )
        )
        self._update_buttons()

    def _update_buttons(self) -> None:
        eq = self.selected()
        self.edit_button.setEnabled(eq is not None)
        self.active_button.setEnabled(eq is not None)
        self.active_button.setText(_("启用…") if eq is not None and not eq.active else _("停用…"))
        self.link_button.setEnabled(eq is not None and eq.active)
        link = self.selected_link()
        self.unlink_button.setEnabled(link is not None and link.current)

    def _open(self, dialog: Any) -> Any:
        self.dialog = dialog
        dialog.open()
        return dialog

    def add_equipment(self) -> EquipmentDialog | None:
        return self._open(EquipmentDialog(self.ui, parent=self)) if self.can_manage else None

    def edit_selected(self) -> EquipmentDialog | None:
        eq = self.selected()
        return self._open(EquipmentDialog(self.ui, eq, self)) if eq is not None and self.can_manage else None

    def toggle_selected(self) -> ReasonDialog | None:
        eq = self.selected()
        if eq is None or not self.can_manage:
            return None
        service, active = self.service, not eq.active
        return self._open(
            ReasonDialog(
                self.ui,
                _("启用设备") if active else _("停用设备"),
                _("{model}（序列号 {serial}）将{what}；设备记录和使用历史保留。").format(
                    model=eq.model, serial=eq.serial, what=_("重新启用") if active else _("停用")
                ),
                N_("原因"),
                lambda reason: service.set_equipment_active(eq.id, active, reason=reason),
                lambda _r: None,
                self,
            )
        )

    def link_selected(self) -> LinkToRunDialog | None:
        eq = self.selected()
        return self._open(LinkToRunDialog(self.ui, eq, self)) if eq is not None and self.can_link else None

    def unlink_selected(self) -> ReasonDialog | None:
        link = self.selected_link()
        if link is None or not link.current or not self.can_link:
            return None
        service = self.service
        return self._open(
            ReasonDialog(
                self.ui,
                _("解除设备关联"),
                _("该设备从现在起不再用于 {patient}（{mrn}）。").format(
                    patient=link.patient_name, mrn=link.mrn
                ),
                N_("原因"),
                lambda reason: service.unlink_equipment(link.id, reason=reason),
                lambda _r: None,
                self,
                ok_text=_("解除关联"),
                required=False,
            )
        )
