"""Dialogs opened from a scan: Enter presses their default button, and a scanner burst that arrives
while one has the keyboard is recognised as a scan — never typed into its fields (issue 9, point 10).

Bursts are real key events with controlled timestamps sent to the dialog's focused field, exactly as
a wedge scanner delivers them; typing is the same events at a person's pace.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from ecmo_desktop.ui.devices.common import ProductChooserDialog
from ecmo_desktop.ui.devices.receiving_tab import MissingFieldsDialog
from ecmo_desktop.ui.devices.verdicts import ReceiveNowDialog
from ecmo_desktop.ui.scan_bar import Level
from tests.kit.devices import CANNULA_GTIN, NO_NMPA_GTIN, label
from tests.kit.ui_devices import (
    click,
    closed,
    log_in,
    make_ward,
    open_page,
    open_tab,
    oxy_label,
    receive,
    run_rows,
    wait_banner,
)
from tests.kit.ui_scan import HUMAN_GAP, scan_keys, send_enter, type_keys
from tests.ui.conftest import wait_tasks


def _receive_now_dialog(qtbot: Any, ui: Any, tab: Any, code: str) -> ReceiveNowDialog:
    scan_keys(tab.scan_bar.field, code)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    click(qtbot, tab.scan_bar.banner.action("action_receive_now"))
    qtbot.waitUntil(lambda: isinstance(tab.dialog, ReceiveNowDialog) and tab.dialog.isVisible())
    return tab.dialog


def test_enter_in_the_delivery_note_field_receives_and_binds(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    dialog = _receive_now_dialog(qtbot, ui, tab, oxy_label("RN1", "L9"))
    qtbot.mouseClick(dialog.note, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.note, "DN-77")
    qtbot.keyClick(dialog.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert [r.serial for r in run_rows(ui, ward.run1)] == ["RN1"]


def test_a_scan_into_the_open_receive_now_dialog_is_not_typed_and_does_not_submit(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    dialog = _receive_now_dialog(qtbot, ui, tab, oxy_label("RN2", "L9"))
    qtbot.mouseClick(dialog.note, Qt.MouseButton.LeftButton)
    # the nurse types the delivery note by hand: it arrives in the field as typed
    at = type_keys(dialog.note, "DN-8", start=20_000.0, gap=HUMAN_GAP)
    qtbot.waitUntil(lambda: dialog.note.text() == "DN-8")
    # … then scans the next package while the dialog is still open: a burst with its Enter
    scan_keys(dialog.note, oxy_label("NEXT", "L9"), start=at + 2_000)
    assert dialog.note.text() == "DN-8"  # not one character of the scan typed into the field
    assert dialog.isVisible()  # and its Enter did not press "入库并绑定"
    assert "对话框打开时扫到了条码" in dialog.general_error.text()
    banner = tab.scan_bar.banner
    assert banner.level is Level.WARN and banner.title_text() == "⚠ 扫码未处理：请先关闭对话框"
    wait_tasks(qtbot, ui.tasks)
    assert run_rows(ui, ward.run1) == []
    # a burst without Enter (a scanner set to send none) is refused the same way
    type_keys(dialog.note, oxy_label("NEXT2", "L9"), start=at + 5_000, gap=4.0)
    qtbot.waitUntil(lambda: "NEXT2" in banner.detail.text())
    assert dialog.note.text() == "DN-8"
    # Enter typed by the person still submits, and the note is what they typed
    send_enter(dialog.note, at + 9_000)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert [r.serial for r in run_rows(ui, ward.run1)] == ["RN2"]
    receiving = ward.c.devices.list_receivings(limit=1)[0]
    assert receiving.delivery_note == "DN-8"


def test_enter_and_a_stray_scan_in_the_missing_fields_form_at_receiving(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    _page, desk = open_page(qtbot, ui, "receiving")
    desk.use_receiving(ward.receiving)
    wait_tasks(qtbot, ui.tasks)
    scan_keys(desk.scan_bar.field, label(CANNULA_GTIN, lot="CM1"))  # no expiry on the label: the form asks
    qtbot.waitUntil(lambda: isinstance(desk.dialog, MissingFieldsDialog) and desk.dialog.isVisible())
    form = desk.dialog
    assert form.serial is not None
    qtbot.mouseClick(form.serial, Qt.MouseButton.LeftButton)
    scan_keys(form.serial, oxy_label("STRAY", "L1"), start=30_000.0)
    assert form.serial.text() == "" and form.isVisible()
    qtbot.keyClicks(form.serial, "S-1")
    qtbot.waitUntil(lambda: form.serial.text() == "S-1")
    qtbot.keyClick(form.serial, Qt.Key.Key_Return)
    wait_banner(qtbot, ui, desk.scan_bar, Level.OK)
    assert closed(form)
    assert [r.item.serial for r in ward.c.devices.stock(category="drainage_cannula")] == ["S-1"]


def test_enter_in_the_product_chooser_and_the_reason_dialog_press_their_default_button(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    receive(ward, oxy_label("TYPED9", "L3"))
    receive(ward, label(NO_NMPA_GTIN, serial="Y9", lot="LY9"))
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    # a hand-copied serial matching no received item uniquely: confirm it, pick its product, Enter
    at = type_keys(tab.scan_bar.field, "TYPED9X", start=100_000.0, gap=HUMAN_GAP)
    send_enter(tab.scan_bar.field, at)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    click(qtbot, tab.scan_bar.banner.action("action_confirm_manual"))
    qtbot.waitUntil(lambda: tab.scan_bar.banner.action("action_choose_product") is not None, timeout=10_000)
    click(qtbot, tab.scan_bar.banner.action("action_choose_product"))
    qtbot.waitUntil(lambda: isinstance(tab.dialog, ProductChooserDialog) and tab.dialog.isVisible())
    chooser = tab.dialog
    chooser.combo.setFocus()
    qtbot.keyClick(chooser.combo, Qt.Key.Key_Tab)  # focus wanders (to the buttons and back) …
    chooser.combo.setFocus()
    qtbot.keyClick(chooser.combo, Qt.Key.Key_Return)  # … and Enter still presses 确定
    qtbot.waitUntil(lambda: closed(chooser), timeout=10_000)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    assert tab.scan_bar.banner.title_text() == "⚠ 尚未入库"  # that product has no item with this serial
    # the reason dialog (a warning to override): its one-line fields are none, the OK stays default
    scan_keys(tab.scan_bar.field, label(NO_NMPA_GTIN, serial="Y9", lot="LY9"), start=300_000.0)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    click(qtbot, tab.scan_bar.banner.action("action_override"))
    qtbot.waitUntil(lambda: tab.dialog is not chooser and tab.dialog.isVisible())
    reason = tab.dialog
    reason.reason.setPlainText("科室应急备用")
    qtbot.keyClick(reason.reason, Qt.Key.Key_Tab)
    assert reason.ok_button.isDefault()
    qtbot.keyClick(reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: closed(reason), timeout=10_000)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert [r.serial for r in run_rows(ui, ward.run1)] == ["Y9"]
