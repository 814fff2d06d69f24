"""What an entry in the scan field may become (issue 9, points 11 and 18).

* Garbage (``QWERTY12345ZZ``) is never offered for binding: scanned, it is refused as no UDI label;
  typed, it becomes a hand-copied number only after the person confirms it is one.
* The burst gap is this workstation's setting (系统 → 本机设置), and the messages tell an incomplete
  scan, a scan mixed with typing and slow typing apart, each saying what to do.
"""

from __future__ import annotations

from typing import Any

from ecmo_desktop.settings import DEFAULT_BURST_GAP_MS, SettingsStore
from ecmo_desktop.ui.devices.common import ProductChooserDialog
from ecmo_desktop.ui.dialogs.workstation import WorkstationSettingsDialog
from ecmo_desktop.ui.main_window import MainWindow
from ecmo_desktop.ui.scan_bar import EntryKind, Level, ScanBar, ScanSource, classify
from tests.kit.ui_devices import (
    click,
    finish_dialog,
    log_in,
    make_ward,
    open_page,
    open_tab,
    oxy_label,
    receive,
    run_rows,
    wait_banner,
)
from tests.kit.ui_scan import HUMAN_GAP, LABEL, SCANNER_GAP, Recorder, scan_keys, send_enter, type_keys
from tests.ui.conftest import login_as, wait_tasks

GARBAGE = "QWERTY12345ZZ"


def test_scanned_garbage_is_refused_and_never_offered_for_binding(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    scan_keys(tab.scan_bar.field, GARBAGE)
    wait_banner(qtbot, ui, tab.scan_bar, Level.BLOCKED)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "✖ 无法识别的条码"
    assert banner.message.text().startswith(f"扫到的条码（{GARBAGE}）不是医疗器械 UDI 条码，未绑定任何器械")
    assert banner.action_buttons == []  # no "选择产品…", no "手工编号"
    assert run_rows(ui, ward.run1) == []


def test_typed_garbage_asks_first_and_no_clears_it(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    at = type_keys(tab.scan_bar.field, GARBAGE, start=100_000.0, gap=HUMAN_GAP)
    send_enter(tab.scan_bar.field, at)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "⚠ 请确认：这是手工输入的编号吗？"
    assert banner.message.text().startswith(f"“{GARBAGE}”不是器械 UDI 条码")
    assert banner.action("action_choose_product") is None  # nothing offered for binding yet
    # slow typing is told apart from a slow scanner: the hint names the setting and its value
    assert f"本机设置的 {DEFAULT_BURST_GAP_MS} 毫秒" in banner.detail.text()
    click(qtbot, banner.action("action_not_manual"))
    assert not banner.isVisible()
    wait_tasks(qtbot, ui.tasks)
    assert run_rows(ui, ward.run1) == []


def test_a_typed_serial_binds_once_confirmed_as_a_hand_copied_number(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    receive(ward, oxy_label("HANDSN77", "L5"))
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    at = type_keys(tab.scan_bar.field, "HANDSN77", start=100_000.0, gap=HUMAN_GAP)
    send_enter(tab.scan_bar.field, at)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    assert run_rows(ui, ward.run1) == []  # not before the confirmation
    click(qtbot, tab.scan_bar.banner.action("action_confirm_manual"))
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert [(r.serial, r.lot) for r in run_rows(ui, ward.run1)] == [("HANDSN77", "L5")]


def test_typed_garbage_confirmed_then_needs_its_product(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    at = type_keys(tab.scan_bar.field, GARBAGE, start=100_000.0, gap=HUMAN_GAP)
    send_enter(tab.scan_bar.field, at)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    click(qtbot, tab.scan_bar.banner.action("action_confirm_manual"))
    qtbot.waitUntil(lambda: tab.scan_bar.banner.action("action_choose_product") is not None, timeout=10_000)
    assert tab.scan_bar.banner.title_text() == "⚠ 请选择产品"


def test_the_receiving_desk_applies_the_same_rule(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    _page, desk = open_page(qtbot, ui, "receiving")
    desk.use_receiving(ward.receiving)
    wait_tasks(qtbot, ui.tasks)
    scan_keys(desk.scan_bar.field, GARBAGE)
    wait_banner(qtbot, ui, desk.scan_bar, Level.BLOCKED)
    assert (
        "不是医疗器械 UDI 条码" in desk.scan_bar.banner.message.text()
        and desk.scan_bar.banner.action_buttons == []
    )
    assert desk.dialog is None
    at = type_keys(desk.scan_bar.field, "ASDF98765", start=200_000.0, gap=HUMAN_GAP)
    send_enter(desk.scan_bar.field, at)
    wait_banner(qtbot, ui, desk.scan_bar, Level.WARN)
    assert desk.dialog is None  # the product chooser only after "是手工编号"
    click(qtbot, desk.scan_bar.banner.action("action_confirm_manual"))
    qtbot.waitUntil(lambda: isinstance(desk.dialog, ProductChooserDialog) and desk.dialog.isVisible())


# ---- point 18: the burst gap is a setting; incomplete scan vs mixed vs slow typing ------------------------
def test_the_burst_gap_is_set_in_workstation_settings_and_used_by_the_bar(
    qtbot: Any, ui: Any, settings_store: SettingsStore
) -> None:
    login_as(ui, qtbot, "chenjing")
    window = MainWindow(ui, ui.user)
    qtbot.addWidget(window)
    window.show()
    wait_tasks(qtbot, ui.tasks)
    window.workstation_action.trigger()  # 系统 → 本机设置…
    dialog = window.findChild(WorkstationSettingsDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.burst_gap.value() == DEFAULT_BURST_GAP_MS
    dialog.burst_gap.lineEdit().selectAll()
    qtbot.keyClicks(dialog.burst_gap, "90")
    finish_dialog(qtbot, ui, dialog)
    assert settings_store.load().scanner_burst_gap_ms == 90

    bar = ScanBar(settings_store)
    qtbot.addWidget(bar)
    bar.show()
    record = Recorder(bar)
    scan_keys(bar.field, LABEL, start=1_000.0, gap=70.0)  # a slow Bluetooth scanner, 70 ms per key
    assert [(s.text, s.source) for s in record.submitted] == [(LABEL, ScanSource.SCANNER)]
    settings_store.update(scanner_burst_gap_ms=DEFAULT_BURST_GAP_MS)
    scan_keys(bar.field, LABEL + "X", start=50_000.0, gap=70.0)  # the same keys under the default: typing
    assert record.submitted[-1].source is ScanSource.TYPED
    settings_store.update(scanner_burst_gap_ms=5_000)  # out of bounds in the file: the default is used
    assert settings_store.load().scanner_burst_gap_ms == DEFAULT_BURST_GAP_MS


def test_incomplete_scan_mixed_typing_and_slow_typing_say_different_things(
    qtbot: Any, settings_store: SettingsStore
) -> None:
    bar = ScanBar(settings_store)
    qtbot.addWidget(bar)
    bar.show()
    record = Recorder(bar)
    # a scanner that paused mid-code: two fast pieces
    at = type_keys(bar.field, LABEL[:16], start=1_000.0, gap=SCANNER_GAP)
    at = type_keys(bar.field, LABEL[16:], start=at + 120, gap=SCANNER_GAP)
    send_enter(bar.field, at)
    assert bar.banner.title_text() == "✖ 扫码不完整"
    assert "分 2 段到达（中间停顿超过 40 毫秒）" in record.refused[-1] and "本机设置" in record.refused[-1]
    # a person pressed keys during a scan
    at = type_keys(bar.field, "ab", start=at + 3_000, gap=HUMAN_GAP)
    at = type_keys(bar.field, LABEL, start=at + 300, gap=SCANNER_GAP)
    send_enter(bar.field, at)
    assert bar.banner.title_text() == "✖ 扫码混入了键盘输入"
    assert "扫码时不要触碰键盘" in record.refused[-1] and "本机设置" not in record.refused[-1]
    # slow typing is neither: it is submitted as typed (the owner then asks to confirm a plain number)
    at = type_keys(bar.field, "SN-123", start=at + 3_000, gap=HUMAN_GAP)
    send_enter(bar.field, at)
    assert [(s.text, s.source) for s in record.submitted] == [("SN-123", ScanSource.TYPED)]
    assert len(record.refused) == 2
    assert classify([0, 60, 120, 180, 240, 300], burst_gap_ms=70) is EntryKind.SCAN
    assert classify([0, 60, 120, 180, 240, 300], burst_gap_ms=40) is EntryKind.TYPED
