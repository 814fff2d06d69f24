"""The case view's 器械 tab: the always-ready scan bar at the bedside and the run's bound devices.

A scan (wedge, camera, image or typed) goes to ``DeviceService.bind_scan`` for this run, at the
procedure chosen above the bar (the latest by default, so devices bound during a circuit change
print on that operation note, R8). The verdict shows at once, large and coloured, with a sound and
the one next step it allows (a reason for a warning, add the product, receive it now, pick the
product). Below: every device bound to the run — in use, retired at a circuit change, or voided as
a wrong scan (never deleted) — and the consoles / heater-coolers linked to it.

The bar keeps the keyboard while the tab is shown: after each verdict and after each dialog closes
the focus goes back to it, so the next scan never lands in another field.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QItemSelection, Qt, QTimer
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.devices import (
    CodeEntry,
    ProcedureRef,
    ProductRequest,
    ScanVerdict,
    TraceRow,
    VerdictKind,
    expiry_status,
)
from ecmo_desktop.domain.devices import EquipmentLink as Link
from ecmo_desktop.domain.time import format_local, to_local
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.common import (
    DEVICE_CHANGES,
    MUTED_TEXT,
    DeviceTableModel,
    ProductChooserDialog,
    ProductDialog,
    ReasonDialog,
    category_text,
    date_text,
    equipment_kind_text,
    expiry_colours,
    procedure_text,
    time_text,
    usage_status,
)
from ecmo_desktop.ui.devices.verdicts import (
    WARNING_NAMES,
    ReceiveNowDialog,
    verdict_detail,
    verdict_level,
    verdict_title,
)
from ecmo_desktop.ui.errors import error_text
from ecmo_desktop.ui.scan_bar import Level, ScanBar, ScanInput, ScanSource
from ecmo_desktop.ui.widgets.form import FormDialog
from ecmo_desktop.ui.widgets.lazy_tab import LazyTab
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

RUN_DEVICES_TAB_TITLE = N_("器械")
NO_PROCEDURE = N_("不关联具体操作")


class _Attempt:
    """One code being bound: what was scanned and at which procedure (and product, for plain codes);
    ``entry`` is how it came (scanned, typed, or confirmed as a hand-copied number)."""

    def __init__(
        self,
        scan: ScanInput,
        procedure_id: int | None,
        product_id: int | None = None,
        entry: CodeEntry | None = None,
    ) -> None:
        self.scan = scan
        self.procedure_id = procedure_id
        self.product_id = product_id
        self.entry = entry or (CodeEntry.TYPED if scan.source is ScanSource.TYPED else CodeEntry.SCANNED)


class LinkEquipmentDialog(FormDialog):
    """Link a console or heater-cooler to the run (from now)."""

    def __init__(self, ui: UiContext, run_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("关联设备"), parent, ok_text=_("关联"))
        self.setObjectName("link_equipment_dialog")
        self.run_id = run_id
        self.combo = QComboBox()
        self.add_field(N_("设备"), self.combo)
        self.set_intro(_("选择本病例正在使用的 ECMO 主机或变温水箱（从现在起关联）。"))
        self.ok_button.setEnabled(False)
        equipment = ui.services.equipment
        ui.tasks.run_op(equipment.list_equipment, self._loaded, parent=self)
        self.setMinimumWidth(480)

    def _loaded(self, items: list[Any]) -> None:
        for eq in items:
            self.combo.addItem(
                f"{equipment_kind_text(eq.kind)} {eq.model}（{_('序列号')} {eq.serial}）", eq.id
            )
        self.ok_button.setEnabled(self.combo.count() > 0)
        if not self.combo.count():
            self.errors.show_general(_("尚未登记任何设备：请管理员在“器械 → 设备”中登记。"))
        self.mark_clean()  # the list arrived after opening: filling it is no input of the person's

    def on_submit(self) -> None:
        equipment_id = self.combo.currentData()
        if equipment_id is None:
            return
        equipment, run_id = self.ui.services.equipment, self.run_id
        self.submit(
            lambda: equipment.link_equipment(run_id, int(equipment_id)),
            lambda _r: self.accept(),
            changes=DEVICE_CHANGES,
        )


class RunDevicesTab(LazyTab):
    """The 器械 tab of one run (see the module docstring)."""

    def __init__(self, ui: UiContext, run_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ui, parent)
        self.run_id = run_id
        self.setObjectName("run_devices_tab")
        self.services = ui.services
        self.can_bind = ui.can(Action.BIND_DEVICE)
        self.procedures: list[ProcedureRef] = []
        self._procedure_chosen: int | None = None  # what the person picked (else: follow the latest)
        self._verdicts: dict[str, ScanVerdict] = {}  # last answer per code (shown again on a repeat)
        self._in_flight: set[str] = set()
        self._show_usage: int | None = None  # select this binding when the table next reloads
        self.loads = 0
        self.dialog: QDialog | None = None  # the last dialog opened here (tests reach it)

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel(_("绑定到操作：")))
        self.procedure_combo = QComboBox()
        self.procedure_combo.setObjectName("procedure_combo")
        self.procedure_combo.setMinimumWidth(280)
        self.procedure_combo.activated.connect(self._procedure_picked)
        top.addWidget(self.procedure_combo)
        hint = QLabel(_("置管或更换管路时选择对应的操作，器械将打印在该操作记录中（R8）"))
        hint.setStyleSheet("color: #607d8b;")
        top.addWidget(hint, 1)
        layout.addLayout(top)

        self.scan_bar = ScanBar(
            ui.settings, placeholder=_("扫描器械条码（扫码枪或摄像头），或手工输入后按回车")
        )
        self.scan_bar.submitted.connect(self.bind)
        self.scan_bar.repeated.connect(self._repeated)
        if not self.can_bind:
            self.scan_bar.set_scanning_enabled(False, _("您的角色只能查看器械，不能绑定"))
        layout.addWidget(self.scan_bar)

        splitter = QSplitter(Qt.Orientation.Vertical)
        devices_box = QWidget()
        column = QVBoxLayout(devices_box)
        column.setContentsMargins(0, 0, 0, 0)
        actions = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("devices_summary")
        actions.addWidget(self.summary, 1)
        self.void_button = self._button(
            _("作废（扫错）…"),
            "void_button",
            self.void_selected,
            _("误扫的绑定标记为作废（保留记录），器械可重新使用"),
        )
        self.retire_button = self._button(
            _("撤除…"),
            "retire_button",
            self.retire_selected,
            _("更换管路或撤机时撤除；一次性器械撤除后不能再绑定"),
        )
        actions.addWidget(self.void_button)
        actions.addWidget(self.retire_button)
        column.addLayout(actions)
        self.model: DeviceTableModel[TraceRow] = DeviceTableModel(
            [
                (N_("产品"), lambda r: r.product_name),
                (N_("类别"), lambda r: category_text(r.category)),
                (N_("批号"), lambda r: r.lot or "—"),
                (N_("序列号"), lambda r: r.serial or "—"),
                (N_("有效期"), lambda r: date_text(r.expiry)),
                (N_("绑定时间"), lambda r: time_text(r.bound_at)),
                (N_("绑定人"), lambda r: r.bound_by_name),
                (N_("操作"), self._procedure_label),
                (N_("状态"), usage_status),
            ],
            foreground=lambda r: MUTED_TEXT if not (r.voided_at is None and r.removed_at is None) else None,
            background=self._expiry_background,
            tooltip=_usage_tooltip,
            parent=self,
        )
        self.table = make_table(self.model, stretch_column=0)
        self.table.setObjectName("devices_table")
        set_column_widths(self.table, [26, 9, 12, 14, 11, 16, 8, 22, 7])
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        column.addWidget(self.table, 1)
        splitter.addWidget(devices_box)

        equipment_box = QWidget()
        eq_column = QVBoxLayout(equipment_box)
        eq_column.setContentsMargins(0, 0, 0, 0)
        eq_actions = QHBoxLayout()
        eq_actions.addWidget(QLabel(_("ECMO 主机 / 变温水箱")), 1)
        self.link_button = self._button(
            _("关联设备…"), "link_button", self.link_equipment, _("记录本病例使用的 ECMO 主机或变温水箱")
        )
        self.unlink_button = self._button(_("解除关联…"), "unlink_button", self.unlink_selected, "")
        eq_actions.addWidget(self.link_button)
        eq_actions.addWidget(self.unlink_button)
        eq_column.addLayout(eq_actions)
        self.equipment_model: DeviceTableModel[Link] = DeviceTableModel(
            [
                (N_("设备"), lambda k: equipment_kind_text(k.equipment.kind) if k.equipment else "—"),
                (N_("型号"), lambda k: k.equipment.model if k.equipment else "—"),
                (N_("序列号"), lambda k: k.equipment.serial if k.equipment else "—"),
                (N_("开始"), lambda k: time_text(k.from_at)),
                (N_("结束"), lambda k: time_text(k.to_at) if k.to_at else _("使用中")),
            ],
            parent=self,
        )
        self.equipment_table = make_table(self.equipment_model)
        self.equipment_table.setObjectName("equipment_table")
        set_column_widths(self.equipment_table, [10, 20, 18, 16, 16])
        self.equipment_table.selectionModel().selectionChanged.connect(self._selection_changed)
        eq_column.addWidget(self.equipment_table, 1)
        splitter.addWidget(equipment_box)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self.link_button.setEnabled(self.can_bind)
        self._selection_changed()

    @staticmethod
    def _button(text: str, name: str, slot: Any, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAutoDefault(False)
        if tip:
            button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # ---- loading --------------------------------------------------------------------------------
    def reload(self) -> None:
        devices, equipment, run_id = self.services.devices, self.services.equipment, self.run_id

        def work() -> tuple[list[ProcedureRef], list[TraceRow], list[Link]]:
            return (
                devices.binding_procedures(run_id),
                devices.trace_run(run_id, include_voided=True),
                equipment.run_equipment(run_id),
            )

        self.ui.tasks.run_op(work, lambda result: self._loaded(*result), parent=self)

    def _loaded(self, procedures: list[ProcedureRef], rows: list[TraceRow], links: list[Link]) -> None:
        self.loads += 1
        self.procedures = procedures
        self._fill_procedures()
        selected = self.selected_usage()
        wanted = (
            self._show_usage if self._show_usage is not None else (selected.usage_id if selected else None)
        )
        self._show_usage = None
        self.model.set_rows(rows)
        for n, row in enumerate(rows):
            if row.usage_id == wanted:  # the item just bound (or the one selected before the reload)
                self.table.selectRow(n)
                self.table.scrollTo(self.model.index(n, 0))
        self.equipment_model.set_rows(links)
        in_use = sum(1 for r in rows if r.voided_at is None and r.removed_at is None)
        self.summary.setText(
            _("在用 {n} 件；共绑定 {total} 次（含已撤除、已作废）").format(n=in_use, total=len(rows))
        )
        self._selection_changed()

    def _fill_procedures(self) -> None:
        combo = self.procedure_combo
        combo.clear()
        for ref in self.procedures:
            combo.addItem(procedure_text(ref), ref.id)
        combo.addItem(_(NO_PROCEDURE), None)
        wanted = self._procedure_chosen
        row = combo.findData(wanted) if wanted is not None else -1
        if row < 0:
            row = len(self.procedures) - 1 if self.procedures else combo.count() - 1
        combo.setCurrentIndex(row)

    def _procedure_picked(self, row: int) -> None:
        data = self.procedure_combo.itemData(row)
        self._procedure_chosen = int(data) if data is not None else None
        if data is None and self.procedures:
            self._procedure_chosen = -1  # "no procedure" chosen on purpose: keep it across reloads
        self.scan_bar.focus_field()

    def current_procedure_id(self) -> int | None:
        data = self.procedure_combo.currentData()
        return int(data) if data is not None else None

    def _expiry_background(self, row: TraceRow) -> QColor | None:
        """An item still in the circuit that has expired (red) or expires within 30 days (amber)."""
        if row.voided_at is not None or row.removed_at is not None:
            return None
        today = to_local(self.ui.services.ctx.now()).date()
        return expiry_colours(expiry_status(row.expiry, today))[0]

    def _procedure_label(self, row: TraceRow) -> str:
        ref = next((p for p in self.procedures if p.id == row.procedure_id), None)
        return procedure_text(ref) if ref else "—"

    def wants_reload(self, changes: frozenset[Change]) -> bool:
        return bool(changes & {Change.devices(), Change.records(), Change.run(self.run_id)})

    def showEvent(self, event: QShowEvent) -> None:
        """Load on first show (a case view opens on its overview) and take the keyboard."""
        super().showEvent(event)
        QTimer.singleShot(0, self.scan_bar, self.scan_bar.focus_field)

    def changeEvent(self, event: QEvent) -> None:
        """Back in this window (after a dialog, the lock screen, another case): the bar is ready again."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow() and self.isVisible():
            QTimer.singleShot(0, self.scan_bar, self.scan_bar.focus_field)

    # ---- scanning -------------------------------------------------------------------------------
    def bind(self, scan: ScanInput, *, product_id: int | None = None, reason: str | None = None) -> None:
        """Bind the code to this run at the chosen procedure; the verdict shows when it returns."""
        attempt = _Attempt(scan, self.current_procedure_id(), product_id)
        self._bind(attempt, reason)

    def _bind(self, attempt: _Attempt, reason: str | None = None) -> None:
        devices, run_id = self.services.devices, self.run_id
        text, procedure_id, product_id = attempt.scan.text, attempt.procedure_id, attempt.product_id
        entry = attempt.entry
        self._in_flight.add(text)
        self.scan_bar.show_result(Level.INFO, _("正在核对…"), "", scan=attempt.scan)
        self.ui.tasks.run_op(
            lambda: devices.bind_scan(
                run_id,
                text,
                procedure_id=procedure_id,
                override_reason=reason,
                product_id=product_id,
                entry=entry,
            ),
            lambda verdict: self.show_verdict(attempt, verdict),
            lambda exc: self._failed(attempt, exc),
            parent=self,
            changes=DEVICE_CHANGES,
        )

    def _failed(self, attempt: _Attempt, exc: BaseException) -> None:
        self._in_flight.discard(attempt.scan.text)
        self.scan_bar.show_result(Level.BLOCKED, _("未能绑定"), error_text(exc), scan=attempt.scan)
        self.scan_bar.focus_field()

    def show_verdict(self, attempt: _Attempt, verdict: ScanVerdict, *, repeated: bool = False) -> None:
        self._in_flight.discard(attempt.scan.text)
        self._verdicts[attempt.scan.text] = verdict
        if verdict.usage is not None and not repeated:
            self._show_usage = verdict.usage.id
        title = verdict_title(verdict)
        detail = verdict_detail(verdict)
        if repeated:
            note = _("同一条码 1 秒内重复扫描，未重复绑定") if verdict.bound else _("同一条码 1 秒内重复扫描")
            detail = f"{note}\n{detail}" if detail else note
        if verdict.kind is VerdictKind.UNKNOWN_PRODUCT and not self.ui.can(Action.MANAGE_CATALOGUE):
            hint = _("器械目录由管理员维护：点“请管理员添加”记入管理员的待办事项，并电话联系管理员")
            detail = f"{detail}\n{hint}" if detail else hint
        if verdict.kind is VerdictKind.CONFIRM_MANUAL:  # typed slowly — or a scanner slower than the setting
            hint = _(
                "如果刚才是用扫码枪扫的：按键间隔超过了本机设置的 {gap} 毫秒，被当成了手工输入。"
                "请按 Esc 清空，在“系统 → 本机设置”中调大“扫码枪按键间隔上限”后重新扫码"
            ).format(gap=f"{self.scan_bar.burst_gap_ms():g}")
            detail = f"{detail}\n{hint}" if detail else hint
        self.scan_bar.show_result(
            verdict_level(verdict),
            title,
            verdict.user_message(),
            scan=attempt.scan,
            detail=detail,
            actions=self._actions(attempt, verdict),
        )
        self.scan_bar.focus_field()

    def _repeated(self, scan: ScanInput) -> None:
        """The same code again within a second: say the last answer again, bind nothing new."""
        verdict = self._verdicts.get(scan.text)
        if verdict is None:
            return  # the first one is still being checked; its answer is on its way
        self.show_verdict(_Attempt(scan, self.current_procedure_id()), verdict, repeated=True)

    def _actions(self, attempt: _Attempt, verdict: ScanVerdict) -> list[tuple[str, str, Any]]:
        kind = verdict.kind
        if kind.needs_override:
            return [("action_override", _("需填写原因后继续…"), lambda: self.override(attempt, verdict))]
        if kind is VerdictKind.UNKNOWN_PRODUCT and self.ui.can(Action.MANAGE_CATALOGUE):
            return [("action_add_product", _("添加到器械目录…"), lambda: self.add_to_catalogue(attempt))]
        if kind is VerdictKind.UNKNOWN_PRODUCT:
            return [("action_request_product", _("请管理员添加"), lambda: self.request_product(attempt))]
        if kind is VerdictKind.NOT_RECEIVED and self.ui.can(Action.RECEIVE_DEVICE):
            return [("action_receive_now", _("现在入库？"), lambda: self.receive_now(attempt, verdict))]
        if kind is VerdictKind.NEEDS_PRODUCT:
            return [("action_choose_product", _("选择产品…"), lambda: self.choose_product(attempt))]
        if kind is VerdictKind.CONFIRM_MANUAL:
            confirmed = _Attempt(attempt.scan, attempt.procedure_id, attempt.product_id, CodeEntry.MANUAL)
            return [
                ("action_confirm_manual", _("是手工编号，继续"), lambda: self._bind(confirmed)),
                ("action_not_manual", _("不是，清空"), self._dismiss),
            ]
        return []

    def _dismiss(self) -> None:
        self.scan_bar.banner.clear()
        self.scan_bar.focus_field()

    def show_dialog(self, dialog: QDialog) -> QDialog:
        """Open a dialog over the case; when it closes the scan bar takes the keyboard again."""
        self.dialog = dialog
        dialog.finished.connect(
            lambda _result: QTimer.singleShot(0, self.scan_bar, self.scan_bar.focus_field)
        )
        dialog.open()
        return dialog

    def override(self, attempt: _Attempt, verdict: ScanVerdict) -> QDialog:
        names = join_names(_(n) for n in _warning_names(verdict))
        devices, run_id = self.services.devices, self.run_id
        text, procedure_id, product_id = attempt.scan.text, attempt.procedure_id, attempt.product_id
        dialog = ReasonDialog(
            self.ui,
            _("填写理由后继续绑定"),
            _("{message}\n\n需说明：{names}。理由将与绑定一起记入病历和审计记录。").format(
                message=verdict.user_message(), names=names
            ),
            N_("理由"),
            lambda reason: devices.bind_scan(
                run_id,
                text,
                procedure_id=procedure_id,
                override_reason=reason,
                product_id=product_id,
                entry=attempt.entry,
            ),
            lambda result: self.show_verdict(attempt, result),
            self,
            ok_text=_("绑定"),
        )
        dialog.setObjectName("override_dialog")
        return self.show_dialog(dialog)

    def add_to_catalogue(self, attempt: _Attempt) -> None:
        """Admin: a product form pre-filled from the label; once saved, the same code is checked again."""
        devices, text = self.services.devices, attempt.scan.text

        def opened(initial: Any) -> None:
            dialog = ProductDialog(
                self.ui, initial=initial, parent=self, on_saved=lambda _product: self._bind(attempt)
            )
            self.show_dialog(dialog)

        self.ui.tasks.run_op(lambda: devices.product_input_from_code(text), opened, parent=self)

    def request_product(self, attempt: _Attempt) -> None:
        """Not allowed to edit the catalogue: record the request for the administrator and say to call."""
        devices, run_id, scan = self.services.devices, self.run_id, attempt.scan

        def done(request: ProductRequest) -> None:
            self.scan_bar.show_result(
                Level.WARN,
                _("已通知管理员，请电话联系"),
                _(
                    "已把产品 {di} 记入管理员的待办事项（{when} {who} "
                    "提出）。请电话联系管理员把它加入器械目录，"
                    "加入后重新扫码即可入库和绑定。在此之前，此器械不能绑定。"
                ).format(
                    di=request.device_identifier,
                    when=format_local(request.requested_at),
                    who=request.requested_by_name,
                ),
                scan=scan,
            )
            self.scan_bar.focus_field()

        self.ui.tasks.run_op(
            lambda: devices.request_product(run_id, scan.text),
            done,
            lambda exc: self._failed(attempt, exc),
            parent=self,
            changes=DEVICE_CHANGES,
        )

    def receive_now(self, attempt: _Attempt, verdict: ScanVerdict) -> None:
        devices = self.services.devices

        def suppliers() -> list[str]:
            return list(dict.fromkeys(r.supplier for r in devices.list_receivings(limit=100)))

        def opened(names: list[str]) -> None:
            dialog = ReceiveNowDialog(
                self.ui,
                self.run_id,
                attempt.scan.text,
                verdict,
                procedure_id=attempt.procedure_id,
                product_id=attempt.product_id,
                suppliers=names,
                on_verdict=lambda v: self.show_verdict(attempt, v),
                parent=self,
            )
            self.show_dialog(dialog)

        self.ui.tasks.run_op(suppliers, opened, parent=self)

    def choose_product(self, attempt: _Attempt) -> None:
        devices = self.services.devices

        def opened(products: list[Any]) -> None:
            def chosen(product: Any) -> None:
                self._bind(_Attempt(attempt.scan, attempt.procedure_id, product.id, attempt.entry))

            dialog = ProductChooserDialog(
                self.ui, products, chosen, self, intro=_("手工输入的编号不含产品信息，请选择它属于哪个产品。")
            )
            self.show_dialog(dialog)

        self.ui.tasks.run_op(devices.list_products, opened, parent=self)

    # ---- the devices bound ----------------------------------------------------------------------
    def selected_usage(self) -> TraceRow | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.row(rows[0].row()) if rows else None

    def selected_link(self) -> Link | None:
        rows = self.equipment_table.selectionModel().selectedRows()
        return self.equipment_model.row(rows[0].row()) if rows else None

    def _selection_changed(self, *_args: QItemSelection) -> None:
        row = self.selected_usage()
        self.void_button.setEnabled(self.can_bind and row is not None and row.voided_at is None)
        self.retire_button.setEnabled(
            self.can_bind and row is not None and row.voided_at is None and row.removed_at is None
        )
        link = self.selected_link()
        self.unlink_button.setEnabled(self.can_bind and link is not None and link.to_at is None)

    def void_selected(self) -> QDialog | None:
        row = self.selected_usage()
        if row is None or not self.void_button.isEnabled():
            return None
        devices = self.services.devices
        dialog = ReasonDialog(
            self.ui,
            _("作废绑定（扫错）"),
            _("作废“{product}”（序列号 {serial}）的这次绑定：记录保留并标记为作废，器械可重新绑定。").format(
                product=row.product_name, serial=row.serial or "-"
            ),
            N_("作废原因"),
            lambda reason: devices.void_usage(row.usage_id, reason),
            lambda _r: None,
            self,
            ok_text=_("作废"),
            initial=_("扫错"),
        )
        return self.show_dialog(dialog)

    def retire_selected(self) -> QDialog | None:
        row = self.selected_usage()
        if row is None or not self.retire_button.isEnabled():
            return None
        devices = self.services.devices
        dialog = ReasonDialog(
            self.ui,
            _("撤除器械"),
            _("从管路中撤除“{product}”（序列号 {serial}）。一次性器械撤除后不能再绑定（R6）。").format(
                product=row.product_name, serial=row.serial or "-"
            ),
            N_("撤除原因"),
            lambda reason: devices.retire_usage(row.usage_id, reason),
            lambda _r: None,
            self,
            ok_text=_("撤除"),
            initial=_("更换管路"),
        )
        return self.show_dialog(dialog)

    def link_equipment(self) -> QDialog | None:
        if not self.can_bind:
            return None
        return self.show_dialog(LinkEquipmentDialog(self.ui, self.run_id, self))

    def unlink_selected(self) -> QDialog | None:
        link = self.selected_link()
        if link is None or not self.unlink_button.isEnabled():
            return None
        equipment = self.services.equipment
        dialog = ReasonDialog(
            self.ui,
            _("解除设备关联"),
            _("该设备从现在起不再用于本病例。"),
            N_("原因"),
            lambda reason: equipment.unlink_equipment(link.id, reason=reason),
            lambda _r: None,
            self,
            ok_text=_("解除关联"),
            required=False,
        )
        return self.show_dialog(dialog)


def _warning_names(verdict: ScanVerdict) -> list[str]:
    return [WARNING_NAMES[k] for k in (verdict.pending or (verdict.kind,)) if k in WARNING_NAMES]


def _usage_tooltip(row: TraceRow) -> str:
    lines = []
    if row.override_reason:
        lines.append(_("放行理由：{reason}").format(reason=row.override_reason))
    if row.removal_reason:
        lines.append(_("撤除原因：{reason}").format(reason=row.removal_reason))
    if row.void_reason:
        lines.append(_("作废原因：{reason}").format(reason=row.void_reason))
    return "\n".join(lines)
