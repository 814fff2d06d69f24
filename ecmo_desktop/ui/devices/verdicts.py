"""How a bedside scan's ``ScanVerdict`` is shown: colour, title, the words, and what it offers next.

The service decides (``DeviceService.bind_scan``); this module only presents. Green: bound. Red:
refused for good (reused single-use item naming who holds it (R6), expired, closed run, unreadable
code). Amber: something must be done first (a reason for a warning, add the product, receive it,
pick the product of a hand-typed serial).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from ecmo_desktop.domain.devices import ScanVerdict, VerdictKind
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.common import (
    DEVICE_CHANGES,
    OptionalDate,
    date_text,
    run_status_text,
)
from ecmo_desktop.ui.scan_bar import Level
from ecmo_desktop.ui.widgets.form import FormDialog

PRESENTATION: dict[VerdictKind, tuple[Level, str]] = {
    VerdictKind.BOUND: (Level.OK, N_("已绑定")),
    VerdictKind.BLOCKED_REUSED: (Level.BLOCKED, N_("禁止重复使用")),
    VerdictKind.BLOCKED_EXPIRED: (Level.BLOCKED, N_("器械已过期，禁止使用")),
    VerdictKind.BLOCKED_RECALLED: (Level.BLOCKED, N_("该批号已召回，禁止使用")),
    VerdictKind.RUN_CLOSED: (Level.BLOCKED, N_("病例已结束，不能绑定")),
    VerdictKind.WARN_NO_NMPA: (Level.WARN, N_("无注册证编号")),
    VerdictKind.WARN_RECALLED: (Level.WARN, N_("该批号已召回")),
    VerdictKind.WARN_NO_SERIAL: (Level.WARN, N_("标签无序列号")),
    VerdictKind.WRONG_CATEGORY: (Level.WARN, N_("器械类别不符")),
    VerdictKind.UNKNOWN_PRODUCT: (Level.WARN, N_("器械目录中没有此产品")),
    VerdictKind.NOT_RECEIVED: (Level.WARN, N_("尚未入库")),
    VerdictKind.NEEDS_PRODUCT: (Level.WARN, N_("请选择产品")),
    VerdictKind.CONFIRM_MANUAL: (Level.WARN, N_("请确认：这是手工输入的编号吗？")),
    VerdictKind.INVALID_CODE: (Level.BLOCKED, N_("无法识别的条码")),
}
WARNING_NAMES: dict[VerdictKind, str] = {
    VerdictKind.WARN_RECALLED: N_("批号已召回"),
    VerdictKind.WARN_NO_NMPA: N_("无注册证编号（R5）"),
    VerdictKind.WARN_NO_SERIAL: N_("无序列号（R6 无法核查）"),
    VerdictKind.WRONG_CATEGORY: N_("类别不符"),
}


def verdict_level(verdict: ScanVerdict) -> Level:
    return PRESENTATION[verdict.kind][0]


def verdict_title(verdict: ScanVerdict) -> str:
    return _(PRESENTATION[verdict.kind][1])


def verdict_detail(verdict: ScanVerdict) -> str:
    """The facts under the message: what was bound, who holds a reused item, what is pending."""
    lines: list[str] = []
    item, product = verdict.item, verdict.product
    if verdict.kind is VerdictKind.BLOCKED_REUSED and verdict.holder is not None:
        h = verdict.holder
        lines.append(
            _(
                "占用它的病例：{patient}（住院号 {mrn}）第 {n} 次 "
                "ECMO，{status}；一次性器械撤除后也不得再次使用"
            ).format(patient=h.patient_name, mrn=h.mrn, n=h.run_number, status=run_status_text(h.run_status))
        )
    if verdict.bound and item is not None:
        lines.append(_("有效期 {expiry}").format(expiry=date_text(item.expiry)))
    elif product is not None and item is not None:
        lines.append(
            _("{product}：批号 {lot}，序列号 {serial}，有效期 {expiry}").format(
                product=product.name,
                lot=item.lot or "-",
                serial=item.serial or "-",
                expiry=date_text(item.expiry),
            )
        )
    elif verdict.code is not None and verdict.kind is not VerdictKind.INVALID_CODE:
        code = verdict.code
        lines.append(
            _("条码内容：产品标识 {di}，批号 {lot}，序列号 {serial}，有效期 {expiry}").format(
                di=code.device_identifier or "-",
                lot=code.lot or "-",
                serial=code.serial or "-",
                expiry=date_text(code.expiry),
            )
        )
    if len(verdict.pending) > 1:
        lines.append(
            _("需说明的情况：{items}").format(items=join_names(_(WARNING_NAMES[k]) for k in verdict.pending))
        )
    if verdict.bound and verdict.overridden:
        lines.append(
            _("已填写理由放行：{items}").format(
                items=join_names(_(WARNING_NAMES[k]) for k in verdict.overridden)
            )
        )
    return "\n".join(lines)


class ReceiveNowDialog(FormDialog):
    """ "现在入库？": record the receipt of the scanned item (supplier, missing label data) and bind it."""

    def __init__(
        self,
        ui: UiContext,
        run_id: int,
        text: str,
        verdict: ScanVerdict,
        *,
        procedure_id: int | None,
        product_id: int | None,
        suppliers: list[str],
        on_verdict: Callable[[ScanVerdict], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ui, _("床旁入库并绑定"), parent, ok_text=_("入库并绑定"))
        self.setObjectName("receive_now_dialog")
        self.run_id, self.text, self.procedure_id, self.product_id = run_id, text, procedure_id, product_id
        self._on_verdict = on_verdict
        code = verdict.code
        what = verdict.product.name if verdict.product else (code.device_identifier if code else "")
        self.set_intro(
            _(
                "“{what}”尚无入库记录（R7：来源可追溯）。填写供应商后，系统先登记入库，再按全部规则核对并绑定。"
            ).format(what=what)
        )
        self.supplier = QComboBox()
        self.supplier.setEditable(True)
        self.supplier.addItems(suppliers)
        self.supplier.setCurrentText(suppliers[0] if suppliers else "")
        self.add_field(N_("供应商"), self.supplier)
        self.note = self.add_field(N_("随货单号"), QLineEdit())
        self.lot: QLineEdit | None = None
        self.serial: QLineEdit | None = None
        self.expiry: OptionalDate | None = None
        if code is not None and not code.lot:
            self.lot = self.add_field(N_("批号"), QLineEdit())
            self.lot.setPlaceholderText(_("标签条码中没有批号，请按包装上的文字填写"))
        if code is not None and not code.serial:
            self.serial = self.add_field(N_("序列号"), QLineEdit())
            self.serial.setPlaceholderText(_("包装上有序列号时填写；没有则留空"))
        if code is not None and code.expiry is None:
            self.expiry = self.add_field(N_("有效期"), OptionalDate(_("有有效期")))
        self.setMinimumWidth(560)

    def on_submit(self) -> None:
        supplier = self.supplier.currentText().strip()
        if not supplier:
            self.show_failure(ValidationError(FieldError(N_("供应商"), N_("请填写"))))
            return
        devices = self.ui.services.devices
        run_id, text, procedure_id, product_id = self.run_id, self.text, self.procedure_id, self.product_id
        note = self.note.text()
        lot = (self.lot.text().strip() or None) if self.lot is not None else None
        serial = (self.serial.text().strip() or None) if self.serial is not None else None
        expiry: date | None = self.expiry.value() if self.expiry is not None else None

        def done(verdict: ScanVerdict) -> None:
            self.accept()
            self._on_verdict(verdict)

        self.submit(
            lambda: devices.receive_and_bind(
                run_id,
                text,
                supplier=supplier,
                procedure_id=procedure_id,
                product_id=product_id,
                lot=lot,
                serial=serial,
                expiry=expiry,
                delivery_note=note,
            ),
            done,
            changes=DEVICE_CHANGES,
        )
