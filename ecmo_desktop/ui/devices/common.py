"""What the device pages and the case view's 器械 tab share: services, labels, models, small dialogs.

Every table is a ``ListTableModel`` over the service's frozen dataclasses (never a session); every
mutation goes through the task runner and broadcasts ``devices`` so every open device view (the
pages, each case's 器械 tab, the documents tab's R8 status) refreshes itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QDate, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from ecmo_desktop.domain.devices import (
    ExpiryStatus,
    ProcedureRef,
    Product,
    ProductInput,
    TraceRow,
)
from ecmo_desktop.domain.enums import DeviceCategory, EquipmentKind, ProcedureKind, RunStatus
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.models.list_model import ListTableModel
from ecmo_desktop.ui.widgets.dates import TypedDateEdit
from ecmo_desktop.ui.widgets.form import FormDialog
from ecmo_desktop.ui.widgets.lazy_tab import LazyTab

T = TypeVar("T")
DEVICE_CHANGES = (Change.devices(),)  # what the device features' operations change
_Index = QModelIndex | QPersistentModelIndex

EXPIRED_BACKGROUND = QColor("#ffcdd2")
EXPIRED_TEXT = QColor("#b71c1c")
EXPIRING_BACKGROUND = QColor("#ffe0b2")
EXPIRING_TEXT = QColor("#e65100")
MUTED_TEXT = QColor("#8a8a8a")


# ---- labels ---------------------------------------------------------------------------------------------
def category_text(value: str) -> str:
    return DeviceCategory(value).label if value in DeviceCategory._value2member_map_ else value


def equipment_kind_text(value: str) -> str:
    return EquipmentKind(value).label if value in EquipmentKind._value2member_map_ else value


def run_status_text(value: str) -> str:
    return RunStatus(value).label if value in RunStatus._value2member_map_ else value


def procedure_text(ref: ProcedureRef) -> str:
    kind = ProcedureKind(ref.kind).label if ref.kind in ProcedureKind._value2member_map_ else ref.kind
    return f"{kind} {format_local(ref.started_at)}"


def date_text(value: date | None) -> str:
    return value.isoformat() if value else "—"


def time_text(value: datetime | None) -> str:
    return format_local(value) if value else "—"


USAGE_IN_USE, USAGE_RETIRED, USAGE_VOIDED = N_("在用"), N_("已撤除"), N_("已作废")


def usage_status(row: TraceRow) -> str:
    if row.voided_at is not None:
        return _(USAGE_VOIDED)
    if row.removed_at is not None:
        return _(USAGE_RETIRED)
    return _(USAGE_IN_USE)


EXPIRY_LABELS = {
    ExpiryStatus.OK: N_("正常"),
    ExpiryStatus.EXPIRING: N_("30 天内过期"),
    ExpiryStatus.EXPIRED: N_("已过期"),
    ExpiryStatus.UNKNOWN: N_("无有效期"),
}


def expiry_colours(status: ExpiryStatus) -> tuple[QColor | None, QColor | None]:
    """(background, text) of a row by its expiry: expired red, within 30 days amber."""
    if status is ExpiryStatus.EXPIRED:
        return EXPIRED_BACKGROUND, EXPIRED_TEXT
    if status is ExpiryStatus.EXPIRING:
        return EXPIRING_BACKGROUND, EXPIRING_TEXT
    return None, None


# ---- the base of the device page's tabs -------------------------------------------------------------------
class DevicesTab(LazyTab):
    """A tab of the device page: loads when first shown, reloads on every ``devices`` broadcast."""

    def wants_reload(self, changes: frozenset[Change]) -> bool:
        return Change.devices() in changes


# ---- a table model with colours ---------------------------------------------------------------------------
class DeviceTableModel(ListTableModel[T]):
    """``ListTableModel`` plus per-row colours and tooltips (expiry warnings, voided bindings)."""

    def __init__(
        self,
        columns: Sequence[tuple[str, Callable[[T], str]]],
        *,
        background: Callable[[T], QColor | None] | None = None,
        foreground: Callable[[T], QColor | None] | None = None,
        tooltip: Callable[[T], str] | None = None,
        parent: Any = None,
    ) -> None:
        super().__init__(columns, parent)
        self._background = background
        self._foreground = foreground
        self._tooltip = tooltip

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row(index.row())
        if row is None:
            return None
        if role == Qt.ItemDataRole.BackgroundRole and self._background is not None:
            colour = self._background(row)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.ForegroundRole and self._foreground is not None:
            colour = self._foreground(row)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and self._tooltip is not None:
            return self._tooltip(row) or None
        return super().data(index, role)

    def text(self, row: int, column: int) -> str:
        """The cell as shown (tests and the CSV of what is on screen read it)."""
        return str(self.index(row, column).data() or "")


# ---- small widgets
# ------------------------------------------------------------------------------------------
def date_edit(value: date | None = None) -> QDateEdit:
    return TypedDateEdit(value)


def to_date(edit: QDateEdit) -> date:
    d = edit.date()
    return date(d.year(), d.month(), d.day())


class OptionalDate(QWidget):
    """A date that may be absent (a label without expiry): a checkbox switches the date on."""

    def __init__(self, label: str, value: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox(label)
        self.edit = date_edit(value or date.today())
        self.check.toggled.connect(self.edit.setEnabled)
        self.check.setChecked(value is not None)
        self.edit.setEnabled(value is not None)
        row.addWidget(self.check)
        row.addWidget(self.edit, 1)

    def value(self) -> date | None:
        return to_date(self.edit) if self.check.isChecked() else None

    def set_value(self, value: date | None) -> None:
        self.check.setChecked(value is not None)
        if value is not None:
            self.edit.setDate(QDate(value.year, value.month, value.day))


def reason_edit(lines: int = 3) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setTabChangesFocus(True)
    edit.setFixedHeight(edit.fontMetrics().lineSpacing() * lines + 14)
    return edit


# ---- dialogs ----------------------------------------------------------------------------------------------
class ReasonDialog(FormDialog):
    """A required reason (void, retire, override, recall …), then ``action(reason)`` on the runner.

    The reason is checked here before the call, because some services answer a blank reason with a
    verdict rather than an error; the service still checks it again.
    """

    def __init__(
        self,
        ui: UiContext,
        title: str,
        intro: str,
        field: str,
        action: Callable[[str], Any],
        on_done: Callable[[Any], None],
        parent: QWidget | None = None,
        *,
        ok_text: str | None = None,
        required: bool = True,
        initial: str = "",
    ) -> None:
        super().__init__(ui, title, parent, ok_text=ok_text)
        self.setObjectName("reason_dialog")
        self.set_intro(intro)
        self.field_name = field
        self.required = required
        self.reason = self.add_field(field, reason_edit())
        self.reason.setPlainText(initial)
        self._action = action
        self._on_done = on_done
        self.result_value: Any = None
        self.setMinimumWidth(520)

    def on_submit(self) -> None:
        text = self.reason.toPlainText().strip()
        if self.required and not text:
            self.show_failure(ValidationError(FieldError(self.field_name, N_("请填写"))))
            return
        action = self._action

        def done(result: Any) -> None:
            self.result_value = result
            self.accept()
            self._on_done(result)

        self.submit(lambda: action(text), done, changes=DEVICE_CHANGES)


class ProductDialog(FormDialog):
    """Add or edit one catalogue product; field errors land beside their field (service msgids)."""

    def __init__(
        self,
        ui: UiContext,
        *,
        product: Product | None = None,
        initial: ProductInput | None = None,
        parent: QWidget | None = None,
        on_saved: Callable[[Product], None] | None = None,
    ) -> None:
        super().__init__(ui, _("编辑产品") if product else _("添加产品到器械目录"), parent, ok_text=_("保存"))
        self.setObjectName("product_dialog")
        self.product = product
        self.saved: Product | None = None
        self._on_saved = on_saved
        data = (
            product.as_input()
            if product
            else initial or ProductInput(category=DeviceCategory.OTHER.value, name="")
        )
        self.category = QComboBox()
        for value, label in DeviceCategory.choices():
            self.category.addItem(label, value)
        self.category.setCurrentIndex(max(0, self.category.findData(data.category)))
        self.add_field(N_("类别"), self.category)
        self.name = self.add_field(N_("产品名称"), QLineEdit(data.name))
        self.manufacturer = self.add_field(N_("生产企业"), QLineEdit(data.manufacturer))
        self.model = self.add_field(N_("型号"), QLineEdit(data.model))
        self.gtin = self.add_field("GTIN", QLineEdit(data.gtin or ""))
        self.udi_di = self.add_field("UDI-DI", QLineEdit(data.udi_di or ""))
        self.nmpa = self.add_field(N_("注册证编号"), QLineEdit(data.nmpa_number))
        self.nmpa.setPlaceholderText(_("国械注进/国械注准……；空着则每次扫码都需填写理由（R5）"))
        self.single_use = QCheckBox(_("一次性使用（R6：不得重复使用）"))
        self.single_use.setChecked(data.single_use)
        self.add_field(N_("一次性"), self.single_use)
        self.errors.alias("GTIN/UDI-DI", "GTIN")
        if initial is not None and product is None and (initial.gtin or initial.udi_di):
            self.set_intro(
                _(
                    "产品标识已从扫描的标签中读出；类别、名称和注册证编号不在 UDI "
                    "标签上，请按包装和注册证填写。"
                )
            )
        self.setMinimumWidth(560)
        (self.name if not data.name else self.nmpa).setFocus()

    def data(self) -> ProductInput:
        return ProductInput(
            category=str(self.category.currentData()),
            name=self.name.text(),
            manufacturer=self.manufacturer.text(),
            model=self.model.text(),
            gtin=self.gtin.text() or None,
            udi_di=self.udi_di.text() or None,
            nmpa_number=self.nmpa.text(),
            single_use=self.single_use.isChecked(),
        )

    def on_submit(self) -> None:
        devices = self.ui.services.devices
        data, product = self.data(), self.product
        if product is None:
            self.submit(lambda: devices.add_product(data), self._done, changes=DEVICE_CHANGES)
        else:
            self.submit(
                lambda: devices.update_product(product.id, data, expected_version=product.version),
                self._done,
                changes=DEVICE_CHANGES,
            )

    def _done(self, product: Product) -> None:
        self.saved = product
        self.accept()
        if self._on_saved is not None:
            self._on_saved(product)


class ProductChooserDialog(FormDialog):
    """Pick the product a hand-typed serial (no DI on it) belongs to."""

    def __init__(
        self,
        ui: UiContext,
        products: Sequence[Product],
        on_chosen: Callable[[Product], None],
        parent: QWidget | None = None,
        *,
        intro: str = "",
    ) -> None:
        super().__init__(ui, _("选择产品"), parent, ok_text=_("确定"))
        self.setObjectName("product_chooser")
        if intro:
            self.set_intro(intro)
        self.products = list(products)
        self.combo = QComboBox()
        for p in self.products:
            self.combo.addItem(product_text(p), p.id)
        self.add_field(N_("产品"), self.combo)
        self._on_chosen = on_chosen
        self.setMinimumWidth(520)

    def on_submit(self) -> None:
        row = self.combo.currentIndex()
        if row < 0:
            self.show_failure(ValidationError(FieldError(N_("产品"), N_("请选择"))))
            return
        self.accept()
        self._on_chosen(self.products[row])


def product_text(p: Product) -> str:
    parts = [p.name]
    if p.model:
        parts.append(p.model)
    if p.manufacturer:
        parts.append(p.manufacturer)
    return " · ".join(parts)


# ---- files
# --------------------------------------------------------------------------------------------------
FileChooser = Callable[[QWidget, str, str, str], str]


def choose_save_path(parent: QWidget, title: str, name: str, filters: str) -> str:
    path, _filter = QFileDialog.getSaveFileName(parent, title, str(Path.home() / name), filters)
    return path


def choose_open_path(parent: QWidget, title: str, name: str, filters: str) -> str:
    path, _filter = QFileDialog.getOpenFileName(parent, title, str(Path.home()), filters)
    return path


def action_button(text: str, name: str, slot: Any) -> QPushButton:
    """A toolbar button that never swallows Enter (auto-default off) and calls ``slot()`` on click."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAutoDefault(False)
    button.clicked.connect(lambda _checked=False: slot())
    return button
