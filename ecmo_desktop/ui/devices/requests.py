"""The administrator's answer to a bedside request to add a product (from the worklist).

A nurse scanned a product the catalogue lacks and may not add it, so ``DeviceService.request_product``
put it on the administrator's worklist. Here the administrator adds it (the product form, pre-filled
from the scanned label; saving closes the request) or declines with a reason. Both are audited by the
service; the request row keeps who answered, when and how.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from ecmo_desktop.domain.devices import ProductInput, ProductRequest
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.common import ProductDialog, ReasonDialog
from ecmo_desktop.ui.widgets.form import FormDialog


class ProductRequestDialog(FormDialog):
    """One open request: who scanned what, when, for which run; add the product or decline."""

    def __init__(
        self,
        ui: UiContext,
        request: ProductRequest,
        *,
        patient: str = "",
        on_done: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ui, _("床旁请求添加产品"), parent, ok_text=_("添加到器械目录…"))
        self.setObjectName("product_request_dialog")
        self.request = request
        self._on_done = on_done
        self.child: Any = None  # the product form or the reason dialog opened from here (tests reach it)
        self.set_intro(
            _(
                "{who} 于 {when} 在床旁扫描了器械目录中没有的产品（{patient}）。只有器械目录中的产品才能入库"
                "和绑定：请按包装和注册证把它加入目录，或说明不予添加的原因（记入审计记录）。"
            ).format(
                who=request.requested_by_name, when=format_local(request.requested_at), patient=patient or "-"
            )
        )
        self.add_field(N_("产品标识"), QLabel(request.device_identifier))
        code = QLabel(request.raw_code.replace("\x1d", "<GS>"))
        code.setWordWrap(True)
        self.add_field(N_("扫描内容"), code)
        self.dismiss_button = QPushButton(_("不予添加…"))
        self.dismiss_button.setObjectName("dismiss_request_button")
        self.dismiss_button.setAutoDefault(False)
        self.dismiss_button.clicked.connect(lambda _checked=False: self.dismiss())
        self.buttons.addButton(self.dismiss_button, self.buttons.ButtonRole.ActionRole)
        self.setMinimumWidth(560)

    def on_submit(self) -> None:
        """Open the product form pre-filled from the label; saving it also closes the request."""
        di = self.request.device_identifier
        initial = ProductInput(
            category="other",
            name="",
            gtin=di if di.isdigit() and len(di) == 14 else None,
            udi_di=None if di.isdigit() and len(di) == 14 else di,
        )
        self.child = ProductDialog(
            self.ui, initial=initial, parent=self, on_saved=lambda _p: self._finished()
        )
        self.child.open()

    def dismiss(self) -> None:
        devices, request_id = self.ui.services.devices, self.request.id
        self.child = ReasonDialog(
            self.ui,
            _("不予添加"),
            _("说明为何不把 {di} 加入器械目录（如：非 ECMO 耗材、标签错误）。").format(
                di=self.request.device_identifier
            ),
            N_("原因"),
            lambda reason: devices.dismiss_product_request(request_id, reason),
            lambda _r: self._finished(),
            self,
            ok_text=_("不予添加"),
        )
        self.child.open()

    def _finished(self) -> None:
        """The product form or the reason was saved (their calls broadcast the device change)."""
        self.accept()
        if self._on_done is not None:
            self._on_done()
