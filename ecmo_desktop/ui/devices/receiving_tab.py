"""入库: record a delivery (R7: supplier, date, who received) and scan its items in.

Start (or pick) a delivery, then scan each package. Picking an earlier delivery lists what it
contained and where each item is now (in stock, on which patient's run, voided, retired). The label says
the product, lot, serial and
expiry; what it lacks (a plain code, a lot-only label without expiry) is asked for before the
receipt is written, because an item received without a lot or an expiry can be neither recalled
nor warned about later. Lot-only labels (no serial) are received as a number of units.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QDateTime, QItemSelection, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.devices import (
    NOT_UDI_SCANNED,
    VERDICT_MESSAGES,
    ExpiryStatus,
    ItemState,
    Product,
    ReceivedItemRow,
    ReceiveResult,
    Receiving,
    ScannedCode,
    ScanVerdict,
    UnknownProductError,
    VerdictKind,
    expiry_status,
)
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.domain.time import to_local
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.common import (
    DEVICE_CHANGES,
    MUTED_TEXT,
    DevicesTab,
    DeviceTableModel,
    OptionalDate,
    ProductChooserDialog,
    ProductDialog,
    date_text,
    expiry_colours,
    product_text,
    time_text,
)
from ecmo_desktop.ui.devices.verdicts import verdict_detail, verdict_title
from ecmo_desktop.ui.errors import error_text
from ecmo_desktop.ui.scan_bar import Level, ScanBar, ScanInput, ScanSource
from ecmo_desktop.ui.widgets.form import FormDialog
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths


def item_state_text(row: ReceivedItemRow) -> str:
    """Where the item is now, naming the patient and run so a delivery can be checked against the wards."""
    use, state = row.use, row.state
    if state is ItemState.BOUND and use is not None:
        return _("已用于 {patient}（{mrn}）第 {n} 次 ECMO").format(
            patient=use.patient_name, mrn=use.mrn, n=use.run_number
        )
    if state is ItemState.VOIDED and use is not None:
        return _("绑定已作废（{patient}，{mrn}），已退回库存").format(patient=use.patient_name, mrn=use.mrn)
    if state is ItemState.RETIRED and use is not None:
        return _("已用毕撤除（{patient}，{mrn}，第 {n} 次 ECMO）").format(
            patient=use.patient_name, mrn=use.mrn, n=use.run_number
        )
    if use is not None:  # a reusable item back from a run
        return _("在库（上次用于 {patient}，{mrn}）").format(patient=use.patient_name, mrn=use.mrn)
    return _("在库")


class StartReceivingDialog(FormDialog):
    """A new delivery (入库单): supplier, when it arrived, the delivery note number."""

    def __init__(
        self, ui: UiContext, suppliers: list[str], on_started: Any, parent: QWidget | None = None
    ) -> None:
        super().__init__(ui, _("新建入库单"), parent, ok_text=_("开始入库"))
        self.setObjectName("start_receiving_dialog")
        self._on_started = on_started
        self.supplier = QComboBox()
        self.supplier.setEditable(True)
        self.supplier.addItems(suppliers)
        self.supplier.setCurrentText("")
        self.add_field(N_("供应商"), self.supplier)
        now = to_local(ui.services.ctx.now())
        self.received_at = QDateTimeEdit(QDateTime(now.year, now.month, now.day, now.hour, now.minute, 0))
        self.received_at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.received_at.setCalendarPopup(True)
        self.add_field(N_("入库时间"), self.received_at)
        self.note = self.add_field(N_("随货单号"), QLineEdit())
        self.setMinimumWidth(480)

    def on_submit(self) -> None:
        supplier = self.supplier.currentText()
        if not supplier.strip():
            self.show_failure(ValidationError(FieldError(N_("供应商"), N_("请填写"))))
            return
        moment = self.received_at.dateTime()
        d, t = moment.date(), moment.time()
        local_now = to_local(self.ui.services.ctx.now())
        when = datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), tzinfo=local_now.tzinfo)
        if when > local_now:  # "now" to the minute on the form: never refuse the current minute
            when = local_now
        devices, note = self.ui.services.devices, self.note.text()
        self.submit(
            lambda: devices.start_receiving(supplier=supplier, received_at=when, delivery_note=note),
            self._done,
            changes=DEVICE_CHANGES,
        )

    def _done(self, receiving: Receiving) -> None:
        self.accept()
        self._on_started(receiving)


class MissingFieldsDialog(FormDialog):
    """The label lacks a lot or an expiry (or is a plain code): fill them in from the package text."""

    def __init__(
        self,
        ui: UiContext,
        code: ScannedCode,
        product: Product,
        quantity: int,
        on_ok: Any,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ui, _("补充标签缺少的信息"), parent, ok_text=_("入库"))
        self.setObjectName("missing_fields_dialog")
        self._on_ok = on_ok
        missing = [label for label, value in ((_("批号"), code.lot), (_("有效期"), code.expiry)) if not value]
        self.set_intro(
            _(
                "{product}：条码中没有{missing}，请按包装上的文字填写（批号用于召回，有效期用于过期提醒）。"
            ).format(product=product_text(product), missing=join_names(missing) or _("序列号"))
        )
        self.lot: QLineEdit | None = None
        self.serial: QLineEdit | None = None
        self.expiry: OptionalDate | None = None
        self.quantity: QSpinBox | None = None
        if not code.lot:
            self.lot = self.add_field(N_("批号"), QLineEdit())
        if not code.serial:
            self.serial = self.add_field(N_("序列号"), QLineEdit())
            self.serial.setPlaceholderText(_("包装上有序列号时填写；没有则留空，按数量入库"))
            self.quantity = QSpinBox()
            self.quantity.setRange(1, 500)
            self.quantity.setValue(quantity)
            self.add_field(N_("数量"), self.quantity)
        if code.expiry is None:
            self.expiry = self.add_field(N_("有效期"), OptionalDate(_("有有效期"), date.today()))
        self.setMinimumWidth(520)

    def on_submit(self) -> None:
        lot = self.lot.text().strip() if self.lot is not None else None
        if self.lot is not None and not lot:
            self.show_failure(ValidationError(FieldError(N_("批号"), N_("请填写（召回按批号查找）"))))
            return
        serial = (self.serial.text().strip() or None) if self.serial is not None else None
        expiry = self.expiry.value() if self.expiry is not None else None
        quantity = self.quantity.value() if self.quantity is not None and not serial else 1
        self.accept()
        self._on_ok(lot or None, serial, expiry, quantity)


class ReceivingTab(DevicesTab):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, parent)
        self.setObjectName("receiving_tab")
        self.devices = ui.services.devices
        self.can_receive = ui.can(Action.RECEIVE_DEVICE)
        self.current: Receiving | None = None
        self.dialog: Any = None
        self.received: list[ReceivedItemRow] = []
        self.notes: dict[int, tuple[str, ...]] = {}  # item id → notices of this session's scans
        self.loads = 0
        self.item_loads = 0
        self._items_request = 0

        layout = QHBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        self.new_button = QPushButton(_("新建入库单…"))
        self.new_button.setObjectName("new_receiving_button")
        self.new_button.setAutoDefault(False)
        self.new_button.setEnabled(self.can_receive)
        self.new_button.clicked.connect(lambda _checked=False: self.start_receiving())
        left_column.addWidget(self.new_button)
        self.receivings: DeviceTableModel[Receiving] = DeviceTableModel(
            [
                (N_("入库时间"), lambda r: time_text(r.received_at)),
                (N_("供应商"), lambda r: r.supplier),
                (N_("随货单号"), lambda r: r.delivery_note),
                (N_("收货人"), lambda r: r.received_by_name),
            ],
            parent=self,
        )
        self.receivings_table = make_table(self.receivings)
        self.receivings_table.setObjectName("receivings_table")
        set_column_widths(self.receivings_table, [16, 22, 12, 8])
        self.receivings_table.selectionModel().selectionChanged.connect(self._receiving_picked)
        left_column.addWidget(self.receivings_table, 1)
        splitter.addWidget(left)

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        self.current_label = QLabel()
        self.current_label.setObjectName("current_receiving")
        self.current_label.setStyleSheet("font-weight: bold;")
        column.addWidget(self.current_label)
        row = QHBoxLayout()
        row.addWidget(QLabel(_("无序列号的标签按数量入库：")))
        self.quantity = QSpinBox()
        self.quantity.setObjectName("quantity")
        self.quantity.setRange(1, 500)
        row.addWidget(self.quantity)
        row.addStretch(1)
        column.addLayout(row)
        self.scan_bar = ScanBar(ui.settings, placeholder=_("逐件扫描到货器械的条码"))
        self.scan_bar.submitted.connect(self.scanned)
        column.addWidget(self.scan_bar)
        self.items: DeviceTableModel[ReceivedItemRow] = DeviceTableModel(
            [
                (N_("产品"), lambda r: r.product.name),
                (N_("批号"), lambda r: r.item.lot or "—"),
                (N_("序列号"), lambda r: r.item.serial or "—"),
                (N_("有效期"), lambda r: date_text(r.item.expiry)),
                (N_("当前状态"), item_state_text),
                (N_("提示"), lambda r: "；".join(_(n) for n in self.notes.get(r.item.id, ()))),
            ],
            background=self._expiry_background,
            foreground=lambda r: MUTED_TEXT if r.state is ItemState.RETIRED else None,
            parent=self,
        )
        self.items_table = make_table(self.items)
        self.items_table.setObjectName("received_items_table")
        set_column_widths(self.items_table, [26, 14, 16, 11, 30, 30])
        self.items_label = QLabel()
        self.items_label.setObjectName("received_items_label")
        column.addWidget(self.items_label)
        column.addWidget(self.items_table, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout.addWidget(splitter)
        self._show_current()
        self._show_items([])

    def _expiry_background(self, row: ReceivedItemRow) -> Any:
        """Only what is still on the shelf is coloured: an item already used cannot expire on a patient."""
        if row.state not in (ItemState.IN_STOCK, ItemState.VOIDED):
            return None
        return expiry_colours(expiry_status(row.item.expiry, to_local(self.ui.services.ctx.now()).date()))[0]

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.scan_bar.focus_field()

    def reload(self) -> None:
        self.ui.tasks.run_op(self.devices.list_receivings, self._loaded, parent=self)
        self.reload_items()

    def reload_items(self) -> None:
        """Read the chosen delivery's items again (bindings elsewhere change their state)."""
        self._items_request += 1
        receiving = self.current
        if receiving is None:
            self._show_items([])
            return
        request, devices = self._items_request, self.devices
        self.ui.tasks.run_op(
            lambda: devices.receiving_items(receiving.id),
            lambda rows: self._items_loaded(request, rows),
            parent=self,
        )

    def _items_loaded(self, request: int, rows: list[ReceivedItemRow]) -> None:
        if request != self._items_request:  # the user picked another delivery meanwhile
            return
        self.item_loads += 1
        self._show_items(rows)

    def _show_items(self, rows: list[ReceivedItemRow]) -> None:
        self.received = rows
        self.items.set_rows(rows)
        if self.current is None:
            self.items_label.setText(_("选择入库单后显示其中的器械"))
            return
        counts = {state: sum(1 for r in rows if r.state is state) for state in ItemState}
        self.items_label.setText(
            _("该入库单共 {n} 件：在库 {stock} 件，使用中 {bound} 件，已撤除 {retired} 件").format(
                n=len(rows),
                stock=counts[ItemState.IN_STOCK] + counts[ItemState.VOIDED],
                bound=counts[ItemState.BOUND],
                retired=counts[ItemState.RETIRED],
            )
        )

    def _loaded(self, receivings: list[Receiving]) -> None:
        self.loads += 1
        self.receivings.set_rows(receivings)
        if self.current is not None:
            for n, r in enumerate(receivings):
                if r.id == self.current.id:
                    self.receivings_table.selectRow(n)

    def _receiving_picked(self, *_args: QItemSelection) -> None:
        rows = self.receivings_table.selectionModel().selectedRows()
        picked = self.receivings.row(rows[0].row()) if rows else None
        if picked is not None and (self.current is None or picked.id != self.current.id):
            self.use_receiving(picked)

    def use_receiving(self, receiving: Receiving) -> None:
        self.current = receiving
        self._show_current()
        self._show_items([])
        self.items_label.setText(_("正在读取该入库单的器械…"))
        self.reload_items()
        self.scan_bar.focus_field()

    def _show_current(self) -> None:
        rec = self.current
        if rec is None:
            self.current_label.setText(_("请先新建入库单，或在左侧选择一个入库单"))
        else:
            self.current_label.setText(
                _("当前入库单：{supplier}，{when}，收货人 {who}{note}").format(
                    supplier=rec.supplier,
                    when=time_text(rec.received_at),
                    who=rec.received_by_name,
                    note=_("，随货单号 {n}").format(n=rec.delivery_note) if rec.delivery_note else "",
                )
            )
        self.scan_bar.set_scanning_enabled(
            self.can_receive and rec is not None,
            _("请先新建或选择入库单") if self.can_receive else _("您的角色不能入库"),
        )
        if self.can_receive and rec is not None:
            self.scan_bar.field.setPlaceholderText(_("逐件扫描到货器械的条码"))

    def start_receiving(self) -> None:
        if not self.can_receive:
            return
        devices = self.devices

        def opened(suppliers: list[str]) -> None:
            self.dialog = StartReceivingDialog(self.ui, suppliers, self.use_receiving, self)
            self.dialog.open()

        self.ui.tasks.run_op(
            lambda: list(dict.fromkeys(r.supplier for r in devices.list_receivings(limit=100))),
            opened,
            parent=self,
        )

    # ---- scanning items in ----------------------------------------------------------------------
    def scanned(self, scan: ScanInput) -> None:
        if self.current is None:
            self.scan_bar.show_result(
                Level.WARN, _("没有入库单"), _("请先新建入库单，或在左侧选择一个入库单"), scan=scan
            )
            return
        devices, text = self.devices, scan.text

        def found(result: tuple[ScannedCode, Product | None, ScanVerdict | None]) -> None:
            code, product, refusal = result
            if refusal is not None:  # expired or recalled: refused before any other prompt
                self.scan_bar.show_result(
                    Level.BLOCKED,
                    verdict_title(refusal),
                    refusal.user_message(),
                    scan=scan,
                    detail=verdict_detail(refusal),
                )
                self.scan_bar.focus_field()
            elif product is not None:
                self._complete(scan, code, product, plain=False)
            elif code.device_identifier is not None:
                self._unknown(scan, code)
            elif code.scheme == "plain":
                self._plain(scan, code)
            else:
                self._choose_product(scan, code)

        def failed(exc: BaseException) -> None:
            self.scan_bar.show_result(Level.BLOCKED, _("无法识别的条码"), error_text(exc), scan=scan)

        self.ui.tasks.run_op(lambda: devices.screen_for_receiving(text), found, failed, parent=self)

    def _unknown(self, scan: ScanInput, code: ScannedCode) -> None:
        can_add = self.ui.can(Action.MANAGE_CATALOGUE)
        actions = (
            [("action_add_product", _("添加到目录？"), lambda: self._add_product(scan))] if can_add else []
        )
        self.scan_bar.show_result(
            Level.WARN,
            _("器械目录中没有此产品"),
            UnknownProductError(code.device_identifier, code).user_message(),
            scan=scan,
            actions=actions,
            detail="" if can_add else _("请联系管理员将此产品加入器械目录后再入库"),
        )

    def _plain(self, scan: ScanInput, code: ScannedCode) -> None:
        """Not a UDI label: refused when scanned; when typed, a hand-copied number only once confirmed."""
        if scan.source is not ScanSource.TYPED:
            self.scan_bar.show_result(
                Level.BLOCKED, _("无法识别的条码"), _(NOT_UDI_SCANNED).format(code=code.raw), scan=scan
            )
            return
        self.scan_bar.show_result(
            Level.WARN,
            _("请确认：这是手工输入的编号吗？"),
            _(VERDICT_MESSAGES[VerdictKind.CONFIRM_MANUAL]).format(code=code.raw),
            scan=scan,
            actions=[
                ("action_confirm_manual", _("是手工编号，继续"), lambda: self._choose_product(scan, code)),
                ("action_not_manual", _("不是，清空"), self.scan_bar.banner.clear),
            ],
        )

    def _add_product(self, scan: ScanInput) -> None:
        devices, text = self.devices, scan.text

        def opened(initial: Any) -> None:
            self.dialog = ProductDialog(
                self.ui, initial=initial, parent=self, on_saved=lambda _p: self.scanned(scan)
            )
            self.dialog.open()

        self.ui.tasks.run_op(lambda: devices.product_input_from_code(text), opened, parent=self)

    def _choose_product(self, scan: ScanInput, code: ScannedCode) -> None:
        def opened(products: list[Product]) -> None:
            self.dialog = ProductChooserDialog(
                self.ui,
                products,
                lambda p: self._complete(scan, code, p, plain=True),
                self,
                intro=_("手工输入的编号 {serial} 不含产品信息，请选择产品。").format(
                    serial=code.serial or code.raw
                ),
            )
            self.dialog.open()

        self.ui.tasks.run_op(self.devices.list_products, opened, parent=self)

    def _complete(self, scan: ScanInput, code: ScannedCode, product: Product, *, plain: bool) -> None:
        """Ask for what the label lacks, then write the receipt."""
        product_id = product.id if plain else None
        if not code.lot or code.expiry is None:
            self.dialog = MissingFieldsDialog(
                self.ui,
                code,
                product,
                self.quantity.value(),
                lambda lot, serial, expiry, quantity: self._receive(
                    scan, product_id, lot, serial, expiry, quantity
                ),
                self,
            )
            self.dialog.open()
            return
        self._receive(scan, product_id, None, None, None, self.quantity.value() if not code.serial else 1)

    def _receive(
        self,
        scan: ScanInput,
        product_id: int | None,
        lot: str | None,
        serial: str | None,
        expiry: date | None,
        quantity: int,
    ) -> None:
        receiving = self.current
        if receiving is None:
            return
        devices, text = self.devices, scan.text

        def done(result: ReceiveResult) -> None:
            first = result.items[0]
            self.notes.update((item.id, result.notes) for item in result.items)
            if self.current is not None and self.current.id == receiving.id:
                # shown at once; the reload that the change triggers brings the authoritative rows
                self._show_items(
                    [ReceivedItemRow(item, result.product) for item in result.items] + self.received
                )
            self.quantity.setValue(1)
            today = to_local(self.ui.services.ctx.now()).date()
            level = Level.WARN if expiry_status(first.expiry, today) is ExpiryStatus.EXPIRED else Level.OK
            self.scan_bar.show_result(
                level,
                _("已入库"),
                _("{product}：批号 {lot}，序列号 {serial}，{n} 件").format(
                    product=result.product.name,
                    lot=first.lot or "-",
                    serial=first.serial or "-",
                    n=len(result.items),
                ),
                scan=scan,
                detail="\n".join(_(n) for n in result.notes),
            )
            self.scan_bar.focus_field()

        def failed(exc: BaseException) -> None:
            self.scan_bar.show_result(Level.BLOCKED, _("未能入库"), error_text(exc), scan=scan)
            self.scan_bar.focus_field()

        self.ui.tasks.run_op(
            lambda: devices.receive_scan(
                receiving.id,
                text,
                product_id=product_id,
                lot=lot,
                serial=serial,
                expiry=expiry,
                quantity=quantity,
            ),
            done,
            failed,
            parent=self,
            changes=DEVICE_CHANGES,
        )
