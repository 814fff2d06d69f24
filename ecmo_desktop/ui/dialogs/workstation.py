"""本机设置: what belongs to this ward PC rather than to the hospital's data — the wedge scanner's timing.

Stored in the per-user settings file (``ecmo_desktop.settings``), never in the database: the value
describes this PC's scanner, and another PC's scanner may be slower. Nothing clinical changes, so
no audit row is written.
"""

from __future__ import annotations

from PySide6.QtWidgets import QSpinBox, QWidget

from ecmo_desktop.i18n import N_, _
from ecmo_desktop.settings import BURST_GAP_RANGE_MS, DEFAULT_BURST_GAP_MS
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.widgets.form import FormDialog

BURST_GAP_FIELD = N_("扫码枪按键间隔上限")


class WorkstationSettingsDialog(FormDialog):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("本机设置"), parent, ok_text=_("保存"))
        self.setObjectName("workstation_settings_dialog")
        self.set_intro(
            _(
                "扫码枪像键盘一样逐个“输入”条码字符。按键间隔不超过此值的一串字符被认作一次扫码，更慢的被认作手工输入。"
                "默认 {default} "
                "毫秒适合绝大多数有线扫码枪；如果本机的扫码枪（如蓝牙扫码枪）经常被提示“扫码不完整”"
                "或被当成手工输入，可适当调大。调得过大时，打字快的人手工输入也可能被当成扫码。"
            ).format(default=DEFAULT_BURST_GAP_MS)
        )
        low, high = BURST_GAP_RANGE_MS
        self.burst_gap = QSpinBox()
        self.burst_gap.setObjectName("burst_gap")
        self.burst_gap.setRange(low, high)
        self.burst_gap.setValue(ui.settings.load().scanner_burst_gap_ms)
        self.add_field(BURST_GAP_FIELD, self.burst_gap, unit=_("毫秒"))
        self.setMinimumWidth(520)

    def on_submit(self) -> None:
        self.ui.settings.update(scanner_burst_gap_ms=self.burst_gap.value())
        self.accept()
