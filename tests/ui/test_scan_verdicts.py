"""Every bedside verdict through the real 器械 tab: the banner's words, colour, sound and next step.

Scans are key events into the real scan field (GS included), so these tests also prove the wedge
path end to end: the bound item's lot and serial come out separate in the record.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ecmo_desktop.domain.devices import VerdictKind
from ecmo_desktop.ui.devices.common import ProductDialog
from ecmo_desktop.ui.devices.verdicts import ReceiveNowDialog
from ecmo_desktop.ui.scan_bar import Level
from ecmo_desktop.ui.scan_text import GS
from tests.kit.devices import NO_NMPA_GTIN, UNKNOWN_GTIN, label, received_while_valid
from tests.kit.ui_devices import (
    Sounds,
    click,
    finish_dialog,
    last_verdict,
    log_in,
    make_ward,
    open_tab,
    oxy_label,
    receive,
    run_rows,
    wait_banner,
)
from tests.kit.ui_scan import HUMAN_GAP, scan_keys, send_enter, type_keys
from tests.ui.conftest import wait_tasks


def test_a_wedge_scan_with_gs_binds_with_lot_and_serial_apart(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    code = oxy_label("SN1", "L2401")
    assert GS in code
    receive(ward, code)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    sounds = Sounds(tab.scan_bar)
    scan_keys(tab.scan_bar.field, code)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "✔ 已绑定"
    assert banner.message.text() == "已绑定：Quadrox-iD 氧合器（批号 L2401，序列号 SN1）"
    assert (
        banner.detail.text() == f"有效期 2027-12-31\n扫码：{code.replace(GS, '<GS>')}"
    )  # a scan, GS readable
    assert sounds.levels == [Level.OK]
    rows = run_rows(ui, ward.run1)
    assert [(r.lot, r.serial, r.product_name) for r in rows] == [("L2401", "SN1", "Quadrox-iD 氧合器")]
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    assert [tab.model.text(0, c) for c in (0, 2, 3, 8)] == ["Quadrox-iD 氧合器", "L2401", "SN1", "在用"]
    assert tab.selected_usage() is not None and tab.selected_usage().serial == "SN1"  # the new row is shown
    qtbot.waitUntil(tab.scan_bar.field.hasFocus)  # ready for the next scan


def test_reuse_is_blocked_naming_the_patient_and_a_repeat_within_a_second_binds_once(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    code = oxy_label("SN7", "L2401")
    receive(ward, code)
    assert ward.c.devices.bind_scan(ward.run1, code).bound  # on 王建国's run
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run2)
    sounds = Sounds(tab.scan_bar)
    clock_ms = [10_000.0]
    tab.scan_bar.clock = lambda: clock_ms[0]
    at = scan_keys(tab.scan_bar.field, code)
    wait_banner(qtbot, ui, tab.scan_bar, Level.BLOCKED)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "✖ 禁止重复使用"
    message = banner.message.text()
    assert message.startswith("[R6]") and "王建国" in message and "ZY100001" in message
    assert "第 1 次 ECMO" in message and "2026-03-02 09:00" in message
    assert "占用它的病例：王建国（住院号 ZY100001）第 1 次 ECMO，待上机" in banner.detail.text()
    assert sounds.levels == [Level.BLOCKED]
    assert banner.action_buttons == []  # R6 is never overridable

    # the same label again half a second later: the answer again, no second service call
    clock_ms[0] += 500
    scan_keys(tab.scan_bar.field, code, start=at + 500)
    assert ui.tasks.pending == 0
    assert "同一条码 1 秒内重复扫描" in banner.detail.text() and banner.title_text() == "✖ 禁止重复使用"
    assert [r.run_id for r in run_rows(ui, ward.run1)] == [ward.run1] and run_rows(ui, ward.run2) == []


def test_a_bound_code_scanned_twice_within_a_second_says_bound_and_binds_once(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    code = oxy_label("SN8", "L2401")
    receive(ward, code)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    clock_ms = [10_000.0]
    tab.scan_bar.clock = lambda: clock_ms[0]
    at = scan_keys(tab.scan_bar.field, code)
    clock_ms[0] += 300  # the second scan arrives before the first answer could even be read
    scan_keys(tab.scan_bar.field, code, start=at + 300)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert len(run_rows(ui, ward.run1)) == 1
    clock_ms[0] += 300
    scan_keys(tab.scan_bar.field, code, start=at + 600)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "✔ 已绑定" and "未重复绑定" in banner.detail.text()
    wait_tasks(qtbot, ui.tasks)
    assert len(run_rows(ui, ward.run1)) == 1


def test_expired_item_is_blocked_with_its_expiry_date(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    code = oxy_label("SN9", "L2301", expiry=date(2026, 1, 31))
    received_while_valid(ward.c, ward.receiving.id, code)  # it expired on the shelf
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    scan_keys(tab.scan_bar.field, code)
    wait_banner(qtbot, ui, tab.scan_bar, Level.BLOCKED)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "✖ 器械已过期，禁止使用"
    assert banner.message.text() == "器械已过期（有效期至 2026-01-31），不得使用"
    assert banner.action_buttons == [] and run_rows(ui, ward.run1) == []


def test_no_nmpa_needs_a_reason_then_binds_with_it(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    code = label(NO_NMPA_GTIN, serial="Y1", lot="LY1", expiry=date(2027, 6, 30))
    receive(ward, code)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    scan_keys(tab.scan_bar.field, code)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "⚠ 无注册证编号"
    assert banner.message.text().startswith("[R5] 产品“Y 型连接管”在器械目录中没有国家药监局注册证编号")
    override = banner.action("action_override")
    assert override is not None and override.text() == "需填写原因后继续…"
    click(qtbot, override)
    dialog = tab.dialog
    assert dialog is not None and dialog.objectName() == "override_dialog"
    click(qtbot, dialog.ok_button)  # no reason: refused in the dialog, nothing bound
    assert dialog.isVisible()
    assert "请填写" in dialog.errors.label_for("理由").text()
    dialog.reason.setPlainText("科室应急备用，注册证复印件待补")
    finish_dialog(qtbot, ui, dialog)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert "已填写理由放行：无注册证编号（R5）" in banner.detail.text()
    rows = run_rows(ui, ward.run1)
    assert [(r.serial, r.override_reason, r.warnings) for r in rows] == [
        ("Y1", "科室应急备用，注册证复印件待补", ("warn_no_nmpa",))
    ]


def test_unknown_product_admin_adds_it_then_receives_now_and_it_binds(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded, admin_also_nurse=True)
    code = label(UNKNOWN_GTIN, serial="NEW1", lot="LN1", expiry=date(2027, 3, 31))
    log_in(ui, qtbot, "admin")  # admin and nurse: may manage the catalogue and bind
    tab = open_tab(qtbot, ui, ward.run1)
    scan_keys(tab.scan_bar.field, code)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "⚠ 器械目录中没有此产品"
    assert (
        banner.message.text() == f"器械目录中没有此产品（{UNKNOWN_GTIN}），需先添加到器械目录才能入库和绑定"
    )
    assert banner.action("action_add_product").text() == "添加到器械目录…"
    click(qtbot, banner.action("action_add_product"))
    qtbot.waitUntil(lambda: isinstance(tab.dialog, ProductDialog) and tab.dialog.isVisible())
    dialog = tab.dialog
    assert dialog.gtin.text() == UNKNOWN_GTIN  # pre-filled from the label
    dialog.category.setCurrentIndex(dialog.category.findData("tubing_pack"))
    dialog.name.setText("ECMO 管路套包")
    dialog.nmpa.setText("国械注准20203100001")
    finish_dialog(qtbot, ui, dialog)
    # saved, then the same code is checked again: known now, but never received (R7)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    assert last_verdict(tab, code).kind is VerdictKind.NOT_RECEIVED
    assert banner.title_text() == "⚠ 尚未入库" and "是否现在入库" in banner.message.text()
    click(qtbot, banner.action("action_receive_now"))
    qtbot.waitUntil(lambda: isinstance(tab.dialog, ReceiveNowDialog) and tab.dialog.isVisible())
    receive_dialog = tab.dialog
    assert receive_dialog.supplier.currentText() == "国药控股内蒙古有限公司"  # the last delivery's supplier
    assert receive_dialog.lot is None and receive_dialog.expiry is None  # the label carries them
    finish_dialog(qtbot, ui, receive_dialog)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert [(r.product_name, r.lot, r.serial) for r in run_rows(ui, ward.run1)] == [
        ("ECMO 管路套包", "LN1", "NEW1")
    ]


def test_unknown_product_for_a_nurse_and_an_unreadable_code(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    banner = tab.scan_bar.banner
    scan_keys(tab.scan_bar.field, label(UNKNOWN_GTIN, serial="X1", lot="LX"))
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    assert banner.action("action_add_product") is None  # only an administrator edits the catalogue
    assert banner.title_text() == "⚠ 器械目录中没有此产品"

    at = type_keys(tab.scan_bar.field, "01069012345678", start=50_000.0, gap=HUMAN_GAP)  # typed, cut short
    send_enter(tab.scan_bar.field, at)
    wait_banner(qtbot, ui, tab.scan_bar, Level.BLOCKED)
    assert banner.title_text() == "✖ 无法识别的条码"
    assert banner.message.text() == "GTIN-14 校验位错误：应为 6，实为 8"  # the parser names the problem
    assert "手工输入：01069012345678" in banner.detail.text()
    assert run_rows(ui, ward.run1) == []


def test_procedure_default_void_retire_and_console_link(qtbot: Any, ui: Any, seeded: Any, clock: Any) -> None:
    from ecmo_desktop.domain.devices import EquipmentInput
    from tests.kit.ui_records import start_run

    ward = make_ward(seeded)
    seeded.login("admin")
    console = ward.c.equipment.add_equipment(
        EquipmentInput(kind="console", model="Rotaflow II", serial="RF-0001")
    )
    seeded.login("zhangwei")
    start_run(seeded, ward.run1)  # decision, consent and a cannulation procedure
    seeded.login("chenjing")
    first, second = oxy_label("SN21", "L1"), oxy_label("SN22", "L1")
    receive(ward, first)
    receive(ward, second)
    clock.advance(timedelta(minutes=5))
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    assert tab.procedure_combo.currentText().startswith("置管上机 2026-03-02")  # the latest procedure
    scan_keys(tab.scan_bar.field, first)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    assert tab.model.text(0, 7).startswith("置管上机")
    tab.scan_bar.clock = lambda: 99_000_000.0
    scan_keys(tab.scan_bar.field, second, start=8_000_000.0)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)

    tab.table.selectRow(0)
    click(qtbot, tab.void_button)
    void = tab.dialog
    assert void.reason.toPlainText() == "扫错"
    finish_dialog(qtbot, ui, void)
    qtbot.waitUntil(lambda: tab.model.text(0, 8) == "已作废")
    tab.table.selectRow(1)
    click(qtbot, tab.retire_button)
    retire = tab.dialog
    retire.reason.setPlainText("更换氧合器")
    finish_dialog(qtbot, ui, retire)
    qtbot.waitUntil(lambda: tab.model.text(1, 8) == "已撤除")
    assert not tab.retire_button.isEnabled()  # a retired single-use item stays used (R6)

    click(qtbot, tab.link_button)
    link = tab.dialog
    qtbot.waitUntil(lambda: link.combo.count() == 1)
    assert "RF-0001" in link.combo.currentText()
    finish_dialog(qtbot, ui, link)
    qtbot.waitUntil(lambda: tab.equipment_model.rowCount() == 1)
    assert tab.equipment_model.text(0, 2) == "RF-0001" and tab.equipment_model.text(0, 4) == "使用中"
    rows = run_rows(ui, ward.run1)
    assert [(r.serial, r.void_reason, r.removal_reason) for r in rows] == [
        ("SN21", "扫错", None),
        ("SN22", None, "更换氧合器"),
    ]
    assert {r.procedure_id for r in rows} == {tab.procedures[-1].id}
    assert console.id == ward.c.equipment.run_equipment(ward.run1)[0].equipment_id


def test_records_staff_see_the_devices_but_cannot_scan(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    receive(ward, oxy_label("SN31"))
    ward.c.devices.bind_scan(ward.run1, oxy_label("SN31"))
    log_in(ui, qtbot, "sunli")
    tab = open_tab(qtbot, ui, ward.run1)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    assert not tab.scan_bar.field.isEnabled() and not tab.scan_bar.camera_button.isEnabled()
    assert tab.scan_bar.field.placeholderText() == "您的角色只能查看器械，不能绑定"
    tab.table.selectRow(0)
    assert not tab.void_button.isEnabled() and not tab.link_button.isEnabled()
