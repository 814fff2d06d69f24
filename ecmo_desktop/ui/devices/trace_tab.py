"""召回/追溯 (R7): lot → every patient and run; serial or label → the item's history; patient → devices.

A recall starts here: search the lot, see who received it and how many units are still on the
shelf, mark the lot recalled (bedside scans of it then warn and need a reason), export the list
for the manufacturer or the medical-affairs office as CSV, or as a stored PDF when the documents
feature is installed. Voided wrong scans are left out of a lot trace (they never reached a patient).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.devices import ItemEvent, ItemHistory, Product, Recall, StockRow, TraceRow
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.exchange.catalogue_csv import write_trace
from ecmo_desktop.fileio import atomic_write_bytes
from ecmo_desktop.i18n import N_, _, ngettext
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.common import (
    DEVICE_CHANGES,
    MUTED_TEXT,
    DevicesTab,
    DeviceTableModel,
    FileChooser,
    ReasonDialog,
    action_button,
    choose_save_path,
    date_text,
    reason_edit,
    run_status_text,
    time_text,
    usage_status,
)
from ecmo_desktop.ui.errors import error_text
from ecmo_desktop.ui.scan_bar import Level, ScanBar, ScanInput
from ecmo_desktop.ui.widgets.form import FormDialog
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

MODE_LOT, MODE_SERIAL, MODE_PATIENT = "lot", "serial", "patient"
MODES = (
    (MODE_LOT, N_("按批号（召回）")),
    (MODE_SERIAL, N_("按序列号")),
    (MODE_PATIENT, N_("按住院号（患者）")),
)
EVENT_KINDS = {"received": N_("入库"), "bound": N_("绑定"), "voided": N_("作废"), "retired": N_("撤除")}
PDF_COLUMNS = (
    N_("患者姓名"),
    N_("住院号"),
    N_("ECMO次序"),
    N_("产品名称"),
    N_("型号"),
    N_("注册证编号"),
    N_("批号"),
    N_("序列号"),
    N_("有效期"),
    N_("绑定时间"),
    N_("绑定人"),
    N_("状态"),
)


@dataclass(frozen=True)
class HistoryLine:
    """One event of one item's history, with the item it belongs to (serial trace table)."""

    history: ItemHistory
    event: ItemEvent


def pdf_row(r: TraceRow) -> list[object]:
    return [
        r.patient_name,
        r.mrn,
        r.run_number,
        r.product_name,
        r.model,
        r.nmpa_number,
        r.lot,
        r.serial,
        r.expiry,
        r.bound_at,
        r.bound_by_name,
        usage_status(r),
    ]


class RecallDialog(FormDialog):
    """Mark a lot recalled (of one product when a GTIN is given)."""

    def __init__(self, ui: UiContext, lot: str, gtin: str, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("标记批号召回"), parent, ok_text=_("标记召回"))
        self.setObjectName("recall_dialog")
        self.set_intro(_("召回后，床旁扫描该批号的器械会发出警示，须填写理由才能继续绑定。"))
        self.lot = self.add_field(N_("批号"), QLineEdit(lot))
        self.gtin = self.add_field("GTIN", QLineEdit(gtin))
        self.gtin.setPlaceholderText(_("可选：只召回该产品的此批号"))
        self.reason = reason_edit()
        self.add_field(N_("召回原因"), self.reason)
        self.recall: Recall | None = None
        self.setMinimumWidth(520)

    def on_submit(self) -> None:
        if not self.reason.toPlainText().strip():
            self.show_failure(ValidationError(FieldError(N_("召回原因"), N_("请填写"))))
            return
        devices = self.ui.services.devices
        lot, gtin, reason = self.lot.text(), self.gtin.text().strip() or None, self.reason.toPlainText()

        def done(recall: Recall) -> None:
            self.recall = recall
            self.accept()

        self.submit(lambda: devices.recall_lot(lot, reason=reason, gtin=gtin), done, changes=DEVICE_CHANGES)


class TraceTab(DevicesTab):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, parent)
        self.setObjectName("trace_tab")
        services = ui.services
        self.devices, self.runs = services.devices, services.runs
        self.documents = ui.services.documents
        self.can_recall = ui.can(Action.RECALL)
        self.choose_save: FileChooser = choose_save_path
        self.rows: list[TraceRow] = []
        self.histories: list[ItemHistory] = []
        self.products: dict[int, Product] = {}
        self.last_query = ""
        self.dialog: Any = None
        self.searches = 0

        layout = QVBoxLayout(self)
        search = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.setObjectName("trace_mode")
        for key, label in MODES:
            self.mode.addItem(_(label), key)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        search.addWidget(self.mode)
        self.query = QLineEdit()
        self.query.setObjectName("trace_query")
        self.query.returnPressed.connect(self.search)
        search.addWidget(self.query, 2)
        self.gtin = QLineEdit()
        self.gtin.setObjectName("trace_gtin")
        self.gtin.setPlaceholderText(_("GTIN（可选，限定产品）"))
        self.gtin.returnPressed.connect(self.search)
        search.addWidget(self.gtin, 1)
        self.search_button = QPushButton(_("查询"))
        self.search_button.setObjectName("trace_search_button")
        self.search_button.setAutoDefault(False)
        self.search_button.clicked.connect(lambda _checked=False: self.search())
        search.addWidget(self.search_button)
        layout.addLayout(search)
        self.scan_bar = ScanBar(ui.settings, placeholder=_("或扫描器械标签，查看这件器械的全部记录"))
        self.scan_bar.submitted.connect(self.trace_scan)
        self.scan_bar.repeated.connect(self.trace_scan)
        layout.addWidget(self.scan_bar)

        splitter = QSplitter(Qt.Orientation.Vertical)
        results = QWidget()
        column = QVBoxLayout(results)
        column.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.result_label = QLabel(_("输入批号、序列号或住院号后查询"))
        self.result_label.setObjectName("trace_result_label")
        self.result_label.setWordWrap(True)
        head.addWidget(self.result_label, 1)
        self.recall_button = action_button(_("标记召回…"), "recall_button", self.recall_lot)
        self.recall_button.setVisible(self.can_recall)
        self.csv_button = action_button(_("导出 CSV…"), "export_csv_button", self.export_csv)
        self.pdf_button = action_button(_("导出 PDF…"), "export_pdf_button", self.export_pdf)
        for b in (self.recall_button, self.csv_button, self.pdf_button):
            head.addWidget(b)
        column.addLayout(head)
        self.stack = QStackedWidget()
        self.trace_model: DeviceTableModel[TraceRow] = DeviceTableModel(
            [
                (N_("患者"), lambda r: r.patient_name),
                (N_("住院号"), lambda r: r.mrn),
                (N_("ECMO次序"), lambda r: str(r.run_number)),
                (N_("病例状态"), lambda r: run_status_text(r.run_status)),
                (N_("产品"), lambda r: r.product_name),
                (N_("批号"), lambda r: r.lot or "—"),
                (N_("序列号"), lambda r: r.serial or "—"),
                (N_("有效期"), lambda r: date_text(r.expiry)),
                (N_("绑定时间"), lambda r: time_text(r.bound_at)),
                (N_("绑定人"), lambda r: r.bound_by_name),
                (N_("状态"), usage_status),
            ],
            foreground=lambda r: MUTED_TEXT if r.voided else None,
            parent=self,
        )
        self.trace_table = make_table(self.trace_model, stretch_column=4)
        self.trace_table.setObjectName("trace_table")
        set_column_widths(self.trace_table, [8, 10, 7, 9, 24, 12, 14, 11, 16, 8, 7])
        self.stack.addWidget(self.trace_table)
        self.history_model: DeviceTableModel[HistoryLine] = DeviceTableModel(
            [
                (
                    N_("器械"),
                    lambda h: (
                        f"{h.history.product.name} · {h.history.item.serial or h.history.item.lot or '-'}"
                    ),
                ),
                (N_("时间"), lambda h: time_text(h.event.at)),
                (N_("事件"), lambda h: _(EVENT_KINDS.get(h.event.kind, h.event.kind))),
                (N_("操作人"), lambda h: h.event.by_name),
                (N_("患者"), lambda h: h.event.patient_name or ""),
                (N_("住院号"), lambda h: h.event.mrn or ""),
                (N_("ECMO次序"), lambda h: str(h.event.run_number) if h.event.run_number else ""),
                (N_("说明"), lambda h: h.event.detail),
            ],
            parent=self,
        )
        self.history_table = make_table(self.history_model, stretch_column=7)
        self.history_table.setObjectName("history_table")
        set_column_widths(self.history_table, [28, 16, 6, 8, 8, 10, 7, 30])
        self.stack.addWidget(self.history_table)
        column.addWidget(self.stack, 1)
        splitter.addWidget(results)

        recalls = QWidget()
        recall_column = QVBoxLayout(recalls)
        recall_column.setContentsMargins(0, 0, 0, 0)
        recall_head = QHBoxLayout()
        recall_head.addWidget(QLabel(_("召回记录")), 1)
        self.lift_button = action_button(_("解除召回…"), "lift_button", self.lift_selected)
        self.lift_button.setVisible(self.can_recall)
        recall_head.addWidget(self.lift_button)
        recall_column.addLayout(recall_head)
        self.recall_model: DeviceTableModel[Recall] = DeviceTableModel(
            [
                (N_("批号"), lambda r: r.lot),
                (N_("产品"), self._recall_product),
                (N_("召回原因"), lambda r: r.reason),
                (N_("召回时间"), lambda r: time_text(r.recalled_at)),
                (
                    N_("状态"),
                    lambda r: (
                        _("召回中") if r.active else _("已解除 {when}").format(when=time_text(r.lifted_at))
                    ),
                ),
            ],
            foreground=lambda r: MUTED_TEXT if not r.active else None,
            parent=self,
        )
        self.recall_table = make_table(self.recall_model, stretch_column=2)
        self.recall_table.setObjectName("recall_table")
        set_column_widths(self.recall_table, [14, 24, 40, 16, 20])
        self.recall_table.selectionModel().selectionChanged.connect(self._recall_selected)
        recall_column.addWidget(self.recall_table, 1)
        splitter.addWidget(recalls)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self._mode_changed()
        self._update_buttons()

    def reload(self) -> None:
        """What the tab shows before any search: the lots under recall."""
        self.reload_recalls()

    def _mode_changed(self, *_args: Any) -> None:
        mode = self.mode.currentData()
        self.gtin.setVisible(mode == MODE_LOT)
        self.query.setPlaceholderText(
            {MODE_LOT: _("批号"), MODE_SERIAL: _("序列号"), MODE_PATIENT: _("住院号")}.get(mode, "")
        )

    def set_mode(self, mode: str) -> None:
        self.mode.setCurrentIndex(max(0, self.mode.findData(mode)))

    # ---- recalls --------------------------------------------------------------------------------
    def reload_recalls(self) -> None:
        devices = self.devices

        def work() -> tuple[list[Recall], list[Product]]:
            return devices.list_recalls(), devices.list_products(include_inactive=True)

        def loaded(result: tuple[list[Recall], list[Product]]) -> None:
            recalls, products = result
            self.products = {p.id: p for p in products}
            self.recall_model.set_rows(sorted(recalls, key=lambda r: (not r.active, -r.id)))
            self._update_buttons()

        self.ui.tasks.run_op(work, loaded, parent=self)

    def _recall_product(self, recall: Recall) -> str:
        if recall.product_id is None:
            return _("（所有产品）")
        product = self.products.get(recall.product_id)
        return product.name if product else str(recall.product_id)

    def selected_recall(self) -> Recall | None:
        rows = self.recall_table.selectionModel().selectedRows()
        return self.recall_model.row(rows[0].row()) if rows else None

    def _recall_selected(self, *_args: QItemSelection) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        recall = self.selected_recall()
        self.lift_button.setEnabled(self.can_recall and recall is not None and recall.active)
        has_rows = bool(self.rows) and self.stack.currentWidget() is self.trace_table
        self.csv_button.setEnabled(has_rows)
        self.pdf_button.setEnabled(has_rows)

    def recall_lot(self) -> RecallDialog | None:
        if not self.can_recall:
            return None
        lot = self.query.text().strip() if self.mode.currentData() == MODE_LOT else ""
        self.dialog = RecallDialog(self.ui, lot, self.gtin.text().strip(), self)
        if lot and self.rows:  # the lot on screen: its summary line then says it is recalled
            self.dialog.accepted.connect(self.search)
        self.dialog.open()
        return self.dialog

    def lift_selected(self) -> ReasonDialog | None:
        recall = self.selected_recall()
        if recall is None or not self.lift_button.isEnabled():
            return None
        devices = self.devices
        self.dialog = ReasonDialog(
            self.ui,
            _("解除召回"),
            _("解除批号 {lot} 的召回：此后扫描该批号不再警示。").format(lot=recall.lot),
            N_("解除原因"),
            lambda reason: devices.lift_recall(recall.id, reason=reason),
            lambda _r: None,
            self,
            ok_text=_("解除召回"),
        )
        self.dialog.open()
        return self.dialog

    # ---- searching ------------------------------------------------------------------------------
    def search(self) -> None:
        mode, text = self.mode.currentData(), self.query.text().strip()
        if not text:
            self.result_label.setText(_("请输入要查询的内容"))
            return
        devices, runs = self.devices, self.runs
        gtin = self.gtin.text().strip() or None
        if mode == MODE_LOT:
            # one service call, one read transaction: uses, shelf stock and the recall flag
            self._run(lambda: devices.lot_view(text, gtin=gtin), lambda result: self._show_lot(text, *result))
        elif mode == MODE_SERIAL:
            self._run(
                lambda: devices.trace_serial(text),
                lambda h: self._show_histories(_("序列号 {s}").format(s=text), h),
            )
        else:

            def patient_work() -> tuple[Any, list[TraceRow]]:
                patient = runs.find_patient(text)
                return patient, devices.trace_patient(patient.id) if patient is not None else []

            self._run(patient_work, lambda result: self._show_patient(text, *result))

    def trace_scan(self, scan: ScanInput) -> None:
        devices, text = self.devices, scan.text

        def done(histories: list[ItemHistory]) -> None:
            self._show_histories(scan.shown, histories)
            if histories:
                self.scan_bar.show_result(
                    Level.OK,
                    _("已找到"),
                    ngettext("{n} 件器械", "{n} 件器械", len(histories)).format(n=len(histories)),
                    scan=scan,
                    sound=False,
                )
            else:
                self.scan_bar.show_result(Level.WARN, _("没有记录"), _("该器械从未入库或绑定"), scan=scan)

        self._run(
            lambda: devices.trace_code(text),
            done,
            lambda exc: self.scan_bar.show_result(
                Level.BLOCKED, _("无法识别的条码"), error_text(exc), scan=scan
            ),
        )

    def _run(self, work: Any, done: Any, failed: Any = None) -> None:
        def on_failed(exc: BaseException) -> None:
            self.result_label.setText(error_text(exc))
            if failed is not None:
                failed(exc)

        def on_done(result: Any) -> None:
            self.searches += 1
            done(result)

        self.ui.tasks.run_op(work, on_done, on_failed, parent=self)

    def _show_rows(self, rows: list[TraceRow], text: str, query: str) -> None:
        self.rows = rows
        self.histories = []
        self.last_query = query
        self.trace_model.set_rows(rows)
        self.stack.setCurrentWidget(self.trace_table)
        self.result_label.setText(text)
        self._update_buttons()

    def _show_lot(self, lot: str, rows: list[TraceRow], stock: list[StockRow], recalled: bool) -> None:
        patients = len({r.patient_id for r in rows})
        text = _("批号 {lot}：已用于 {p} 名患者（{n} 次绑定）；库存中尚有 {s} 件未使用").format(
            lot=lot, p=patients, n=len(rows), s=len(stock)
        )
        if recalled:
            text += _("（该批号召回中）")
        self._show_rows(rows, text, _("批号 {lot}").format(lot=lot))

    def _show_patient(self, mrn: str, patient: Any, rows: list[TraceRow]) -> None:
        if patient is None:
            self._show_rows([], _("没有住院号为 {mrn} 的患者").format(mrn=mrn), mrn)
            return
        self._show_rows(
            rows,
            _("患者 {name}（住院号 {mrn}）：共绑定器械 {n} 次").format(
                name=patient.name, mrn=patient.mrn, n=len(rows)
            ),
            _("患者 {name}").format(name=patient.name),
        )

    def _show_histories(self, what: str, histories: list[ItemHistory]) -> None:
        self.rows = []
        self.histories = histories
        lines = [HistoryLine(h, e) for h in histories for e in h.events]
        self.history_model.set_rows(lines)
        self.stack.setCurrentWidget(self.history_table)
        if not histories:
            self.result_label.setText(_("{what}：没有找到器械").format(what=what))
        else:
            parts = []
            for h in histories:
                source = (
                    _("{supplier} {when} 入库").format(
                        supplier=h.receiving.supplier, when=time_text(h.receiving.received_at)
                    )
                    if h.receiving
                    else _("无入库记录")
                )
                parts.append(
                    _("{product}（批号 {lot}，序列号 {serial}，有效期 {expiry}）：{source}").format(
                        product=h.product.name,
                        lot=h.item.lot or "-",
                        serial=h.item.serial or "-",
                        expiry=date_text(h.item.expiry),
                        source=source,
                    )
                )
            self.result_label.setText("\n".join(parts))
        self._update_buttons()

    # ---- export ---------------------------------------------------------------------------------
    def export_csv(self, path: str | None = None) -> None:
        rows = list(self.rows)
        if not rows:
            return
        path = path or self.choose_save(self, _("导出追溯结果"), _("器械追溯.csv"), _("CSV 文件 (*.csv)"))
        if not path:
            return
        target = Path(path)
        self.ui.tasks.run_op(
            lambda: atomic_write_bytes(target, write_trace(rows)),
            lambda _n: self.result_label.setText(
                _("已导出 {n} 行到 {file}").format(n=len(rows), file=target)
            ),
            lambda exc: self._message(_("导出失败"), error_text(exc)),
            parent=self,
        )

    def export_pdf(self, path: str | None = None) -> None:
        rows, documents = list(self.rows), self.documents
        if not rows:
            return
        path = path or self.choose_save(self, _("导出追溯清单 PDF"), _("器械追溯.pdf"), _("PDF 文件 (*.pdf)"))
        if not path:
            return
        target = Path(path)
        title = _("器械追溯清单：{what}").format(what=self.last_query)
        columns = [_(c) for c in PDF_COLUMNS]
        table = [pdf_row(r) for r in rows]
        description = self.result_label.text()  # read here: no widget is touched from the worker

        def work() -> str:
            printed = documents.export_trace(title, columns, table, description=description)
            atomic_write_bytes(target, printed.pdf)
            return str(printed.document.document_number)

        self.ui.tasks.run_op(
            work,
            lambda number: self.result_label.setText(
                _("已生成追溯清单 {number}（已存档）：{file}").format(number=number, file=target)
            ),
            lambda exc: self._message(_("导出失败"), error_text(exc)),
            parent=self,
        )

    def _message(self, title: str, text: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.dialog = box
        return box
