"""目录: the device catalogue (R5) — products with their NMPA registration numbers.

Administrators add and edit products (from a form, from a scanned label, or from a supplier's CSV)
and withdraw them (never delete: items and uses stay traceable). Everyone else reads it. A product
without an NMPA number is shown amber: every bedside scan of it will ask for a reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QMessageBox, QVBoxLayout, QWidget

from ecmo_desktop.domain.devices import CatalogueImportResult, Product, ProductInput, ScannedCode
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.exchange.catalogue_csv import CatalogueFile, read_catalogue, write_catalogue
from ecmo_desktop.fileio import atomic_write_bytes
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.common import (
    DEVICE_CHANGES,
    EXPIRING_BACKGROUND,
    MUTED_TEXT,
    DevicesTab,
    DeviceTableModel,
    FileChooser,
    ProductDialog,
    ReasonDialog,
    action_button,
    category_text,
    choose_open_path,
    choose_save_path,
)
from ecmo_desktop.ui.errors import error_text
from ecmo_desktop.ui.scan_bar import Level, ScanBar, ScanInput
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

CSV_FILTER = N_("CSV 文件 (*.csv *.txt)")
MAX_PROBLEMS_SHOWN = 20


class CatalogueTab(DevicesTab):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, parent)
        self.setObjectName("catalogue_tab")
        self.devices = ui.services.devices
        self.can_manage = ui.can(Action.MANAGE_CATALOGUE)
        self.choose_open: FileChooser = choose_open_path
        self.choose_save: FileChooser = choose_save_path
        self.dialog: Any = None
        self.loads = 0
        layout = QVBoxLayout(self)
        tools = QHBoxLayout()
        self.add_button = action_button(_("添加产品…"), "add_product_button", lambda: self.add_product())
        self.edit_button = action_button(_("编辑…"), "edit_product_button", self.edit_selected)
        self.active_button = action_button(_("停用…"), "active_product_button", self.toggle_selected)
        self.import_button = action_button(_("导入 CSV…"), "import_button", self.import_csv)
        self.export_button = action_button(_("导出 CSV…"), "export_button", self.export_csv)
        for b in (self.add_button, self.edit_button, self.active_button, self.import_button):
            b.setVisible(self.can_manage)
            tools.addWidget(b)
        tools.addWidget(self.export_button)
        tools.addStretch(1)
        self.show_inactive = QCheckBox(_("显示已停用"))
        self.show_inactive.toggled.connect(lambda _on: self.reload())
        tools.addWidget(self.show_inactive)
        layout.addLayout(tools)
        if self.can_manage:
            layout.addWidget(
                QLabel(_("扫描标签添加产品：产品标识（GTIN/UDI-DI）自动填入，其余按包装和注册证填写"))
            )
        self.scan_bar = ScanBar(ui.settings, placeholder=_("扫描器械标签，查找或添加目录中的产品"))
        self.scan_bar.submitted.connect(self.scanned)
        self.scan_bar.repeated.connect(self.scanned)
        layout.addWidget(self.scan_bar)
        self.count_label = QLabel()
        layout.addWidget(self.count_label)
        self.model: DeviceTableModel[Product] = DeviceTableModel(
            [
                (N_("类别"), lambda p: category_text(p.category)),
                (N_("产品名称"), lambda p: p.name),
                (N_("生产企业"), lambda p: p.manufacturer),
                (N_("型号"), lambda p: p.model),
                ("GTIN", lambda p: p.gtin or ""),
                ("UDI-DI", lambda p: p.udi_di or ""),
                (N_("注册证编号"), lambda p: p.nmpa_number or _("无（扫码需填写理由）")),
                (N_("一次性"), lambda p: _("是") if p.single_use else _("否")),
                (N_("状态"), lambda p: _("在用") if p.active else _("已停用")),
            ],
            background=lambda p: EXPIRING_BACKGROUND if not p.has_nmpa else None,
            foreground=lambda p: MUTED_TEXT if not p.active else None,
            parent=self,
        )
        self.table = make_table(self.model, stretch_column=1)
        self.table.setObjectName("catalogue_table")
        set_column_widths(self.table, [10, 28, 16, 14, 16, 14, 22, 6, 6])
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.activated.connect(lambda _index: self.edit_selected())
        layout.addWidget(self.table, 1)
        self._selection_changed()

    def reload(self) -> None:
        devices, inactive = self.devices, self.show_inactive.isChecked()
        self.ui.tasks.run_op(
            lambda: devices.list_products(include_inactive=inactive), self._loaded, parent=self
        )

    def _loaded(self, products: list[Product]) -> None:
        self.loads += 1
        selected = self.selected()
        self.model.set_rows(products)
        if selected is not None:
            self.select_product(selected.id)
        missing = sum(1 for p in products if not p.has_nmpa)
        self.count_label.setText(
            _("共 {n} 个产品；{m} 个没有注册证编号（黄色，R5）").format(n=len(products), m=missing)
        )
        self._selection_changed()

    def selected(self) -> Product | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def select_product(self, product_id: int) -> bool:
        for n, p in enumerate(self.model.rows()):
            if p.id == product_id:
                self.table.selectRow(n)
                return True
        return False

    def _selection_changed(self, *_args: QItemSelection) -> None:
        product = self.selected()
        self.edit_button.setEnabled(product is not None)
        self.active_button.setEnabled(product is not None)
        self.active_button.setText(_("启用…") if product is not None and not product.active else _("停用…"))

    # ---- editing --------------------------------------------------------------------------------
    def _open(self, dialog: Any) -> Any:
        self.dialog = dialog
        dialog.open()
        return dialog

    def add_product(self, initial: ProductInput | None = None) -> ProductDialog | None:
        if not self.can_manage:
            return None
        return self._open(
            ProductDialog(self.ui, initial=initial, parent=self, on_saved=lambda p: self._saved(p))
        )

    def _saved(self, product: Product) -> None:
        self.scan_bar.show_result(Level.OK, _("已保存到器械目录"), product.name)

    def edit_selected(self) -> ProductDialog | None:
        product = self.selected()
        if product is None or not self.can_manage:
            return None
        return self._open(ProductDialog(self.ui, product=product, parent=self, on_saved=self._saved))

    def toggle_selected(self) -> ReasonDialog | None:
        product = self.selected()
        if product is None or not self.can_manage:
            return None
        devices, active = self.devices, not product.active
        title = _("启用产品") if active else _("停用产品")
        intro = _("“{name}”将{what}。产品不会被删除，已入库和已使用的器械仍可追溯。").format(
            name=product.name, what=_("重新启用") if active else _("从目录中停用")
        )
        return self._open(
            ReasonDialog(
                self.ui,
                title,
                intro,
                N_("原因"),
                lambda reason: devices.set_product_active(product.id, active, reason=reason),
                lambda _r: None,
                self,
            )
        )

    # ---- a scanned label ------------------------------------------------------------------------
    def scanned(self, scan: ScanInput) -> None:
        devices, text = self.devices, scan.text

        def found(result: tuple[ScannedCode, Product | None]) -> None:
            code, product = result
            if product is not None:
                self.show_inactive.setChecked(self.show_inactive.isChecked() or not product.active)
                self.select_product(product.id)
                self.scan_bar.show_result(
                    Level.OK,
                    _("目录中已有此产品"),
                    product.name,
                    scan=scan,
                    detail=_("注册证编号：{n}").format(n=product.nmpa_number or _("无")),
                )
                return
            if code.device_identifier is None:
                self.scan_bar.show_result(
                    Level.WARN,
                    _("条码不含产品标识"),
                    _("此条码不含产品标识（GTIN/UDI-DI），不能用来建立目录条目"),
                    scan=scan,
                )
                return
            actions = (
                [("action_add_product", _("添加到目录？"), lambda: self.add_from_code(text))]
                if self.can_manage
                else []
            )
            self.scan_bar.show_result(
                Level.WARN,
                _("器械目录中没有此产品"),
                _("产品标识 {di} 不在目录中").format(di=code.device_identifier),
                scan=scan,
                actions=actions,
                detail="" if self.can_manage else _("请联系管理员将此产品加入器械目录"),
            )

        def failed(exc: BaseException) -> None:
            self.scan_bar.show_result(Level.BLOCKED, _("无法识别的条码"), error_text(exc), scan=scan)

        self.ui.tasks.run_op(lambda: devices.find_product_for_code(text), found, failed, parent=self)

    def add_from_code(self, text: str) -> None:
        devices = self.devices
        self.ui.tasks.run_op(lambda: devices.product_input_from_code(text), self.add_product, parent=self)

    # ---- CSV ------------------------------------------------------------------------------------
    def import_csv(self, path: str | None = None) -> None:
        if not self.can_manage:
            return
        path = path or self.choose_open(self, _("导入器械目录"), "", _(CSV_FILTER))
        if not path:
            return
        try:
            data = Path(path).read_bytes()
            parsed = read_catalogue(data)
        except (OSError, ValueError) as exc:
            self._message(QMessageBox.Icon.Warning, _("无法读取文件"), str(exc))
            return
        if not parsed.ok:
            problems = [p.user_message() for p in parsed.problems[:MAX_PROBLEMS_SHOWN]]
            more = len(parsed.problems) - len(problems)
            text = "\n".join(problems) + (_("\n……另有 {n} 处问题").format(n=more) if more > 0 else "")
            self._message(QMessageBox.Icon.Warning, _("文件有误，未导入任何产品"), text)
            return
        self._import(parsed)

    def _import(self, parsed: CatalogueFile) -> None:
        devices, rows = self.devices, parsed.rows
        notices = "\n".join(n.user_message() for n in parsed.notices[:MAX_PROBLEMS_SHOWN])

        def done(result: CatalogueImportResult) -> None:
            text = _("新增 {c} 个，更新 {u} 个，未变 {n} 个").format(
                c=result.created, u=result.updated, n=result.unchanged
            )
            self.scan_bar.show_result(Level.OK, _("目录已导入"), text, detail=notices, sound=False)

        def failed(exc: BaseException) -> None:
            self._message(QMessageBox.Icon.Warning, _("未导入"), error_text(exc))

        self.ui.tasks.run_op(
            lambda: devices.import_catalogue(rows), done, failed, parent=self, changes=DEVICE_CHANGES
        )

    def export_csv(self, path: str | None = None) -> None:
        path = path or self.choose_save(self, _("导出器械目录"), "器械目录.csv", _(CSV_FILTER))
        if not path:
            return
        devices, target = self.devices, Path(path)

        def work() -> int:
            products = devices.export_catalogue()
            atomic_write_bytes(target, write_catalogue(products))
            return len(products)

        def done(n: int) -> None:
            self.scan_bar.show_result(
                Level.OK, _("已导出"), _("{n} 个产品已写入 {file}").format(n=n, file=target), sound=False
            )

        def failed(exc: BaseException) -> None:
            self._message(
                QMessageBox.Icon.Warning,
                _("导出失败"),
                error_text(exc)
                if isinstance(exc, EcmoError)
                else _("无法写入文件：{error}").format(error=exc),
            )

        self.ui.tasks.run_op(work, done, failed, parent=self)

    def _message(self, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("catalogue_message")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.dialog = box
        return box
