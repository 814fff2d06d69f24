"""The 器械 page: catalogue, receiving by scans, stock expiry colours, trace and recall, equipment."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from ecmo_desktop.exchange.catalogue_csv import read_catalogue
from ecmo_desktop.ui.devices.common import EXPIRED_BACKGROUND, EXPIRING_BACKGROUND
from ecmo_desktop.ui.devices.receiving_tab import MissingFieldsDialog, StartReceivingDialog
from ecmo_desktop.ui.scan_bar import Level
from tests.kit.devices import CANNULA_GTIN, OXY_GTIN, UNKNOWN_GTIN, gtin, label, received_while_valid
from tests.kit.ui_devices import (
    click,
    finish_dialog,
    log_in,
    make_ward,
    open_page,
    open_tab,
    oxy_label,
    receive,
    wait_banner,
)
from tests.kit.ui_scan import scan_keys
from tests.ui.conftest import wait_tasks


def column(model: Any, n: int) -> list[str]:
    return [model.text(r, n) for r in range(model.rowCount())]


def test_admin_adds_products_by_form_and_from_a_scanned_label_and_round_trips_csv(
    qtbot: Any, ui: Any, seeded: Any, tmp_path: Path
) -> None:
    make_ward(seeded)
    log_in(ui, qtbot, "admin")
    _page, tab = open_page(qtbot, ui, "catalogue")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 3)
    assert "3 个产品；1 个没有注册证编号" in tab.count_label.text()
    no_nmpa_row = column(tab.model, 1).index("Y 型连接管")
    assert tab.model.index(no_nmpa_row, 0).data(Qt.ItemDataRole.BackgroundRole).color() == EXPIRING_BACKGROUND

    click(qtbot, tab.add_button)
    dialog = tab.dialog
    dialog.category.setCurrentIndex(dialog.category.findData("pump_head"))
    dialog.name.setText("RotaFlow 离心泵头")
    dialog.gtin.setText("6901234000105")  # a GTIN-13, with a wrong check digit …
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: dialog.errors.label_for("GTIN").isVisible(), timeout=10_000)
    assert dialog.errors.label_for("GTIN").text() == "GTIN 校验位错误"
    dialog.gtin.setText(gtin("0690123400099")[1:])  # … fixed: padded to GTIN-14 by the service
    finish_dialog(qtbot, ui, dialog)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4)
    assert gtin("0690123400099") in column(tab.model, 4)

    scan_keys(tab.scan_bar.field, label(UNKNOWN_GTIN, serial="Z1", lot="LZ"))
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    click(qtbot, tab.scan_bar.banner.action("action_add_product"))
    qtbot.waitUntil(lambda: tab.dialog is not dialog and tab.dialog.isVisible())
    scanned = tab.dialog
    assert scanned.gtin.text() == UNKNOWN_GTIN and "产品标识已从扫描的标签中读出" in scanned.intro.text()
    scanned.name.setText("ECMO 管路套包")
    scanned.category.setCurrentIndex(scanned.category.findData("tubing_pack"))
    scanned.nmpa.setText("国械注准20203100001")
    finish_dialog(qtbot, ui, scanned)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 5)

    scan_keys(tab.scan_bar.field, oxy_label("ANY"), start=9_000_000.0)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert tab.scan_bar.banner.title_text() == "✔ 目录中已有此产品"
    assert tab.selected() is not None and tab.selected().gtin == OXY_GTIN

    target = tmp_path / "目录.csv"
    tab.export_csv(str(target))
    qtbot.waitUntil(target.exists, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    exported = read_catalogue(target.read_bytes())
    assert exported.ok and len(exported.rows) == 5
    bad = tmp_path / "坏.csv"
    bad.write_text("类别,产品名称,GTIN\n氧合器,某氧合器,6.90123E+12\n", encoding="utf-8")
    tab.import_csv(str(bad))
    assert (
        tab.dialog.objectName() == "catalogue_message"
        and "文件有误，未导入任何产品" in tab.dialog.windowTitle()
    )
    assert tab.dialog.text().startswith("第 2 行“GTIN”：“6.90123E+12”是被 Excel 改成科学计数法的数字")
    wait_tasks(qtbot, ui.tasks)
    assert tab.model.rowCount() == 5  # nothing imported


def test_a_delivery_is_received_by_scanning(qtbot: Any, ui: Any, seeded: Any) -> None:
    make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    _page, tab = open_page(qtbot, ui, "receiving")
    assert not tab.scan_bar.field.isEnabled()  # no delivery chosen yet
    click(qtbot, tab.new_button)
    qtbot.waitUntil(lambda: isinstance(tab.dialog, StartReceivingDialog) and tab.dialog.isVisible())
    start = tab.dialog
    assert start.supplier.findText("国药控股内蒙古有限公司") >= 0  # suppliers of earlier deliveries offered
    start.supplier.setCurrentText("华润医药商业集团")
    start.note.setText("HR-2026-031")
    finish_dialog(qtbot, ui, start)
    assert tab.current is not None and tab.current.supplier == "华润医药商业集团"
    assert "华润医药商业集团" in tab.current_label.text() and tab.scan_bar.field.isEnabled()

    scan_keys(tab.scan_bar.field, oxy_label("SN61", "L61"))
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert tab.scan_bar.banner.message.text() == "Quadrox-iD 氧合器：批号 L61，序列号 SN61，1 件"

    tab.quantity.setValue(3)
    scan_keys(tab.scan_bar.field, label(CANNULA_GTIN, lot="C61"), start=9_000_000.0)  # lot-only, no expiry
    qtbot.waitUntil(lambda: isinstance(tab.dialog, MissingFieldsDialog) and tab.dialog.isVisible())
    missing = tab.dialog
    assert missing.lot is None and missing.expiry is not None and missing.quantity.value() == 3
    assert "条码中没有有效期" in missing.intro.text()
    missing.expiry.set_value(date(2027, 5, 31))
    click(qtbot, missing.ok_button)
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert tab.scan_bar.banner.message.text() == "股静脉引流插管 25Fr：批号 C61，序列号 -，3 件"
    assert "标签无序列号" in tab.scan_bar.banner.detail.text()
    assert tab.items.rowCount() == 4 and column(tab.items, 3).count("2027-05-31") == 3

    scan_keys(tab.scan_bar.field, oxy_label("SN61", "L61"), start=19_000_000.0)  # the same box again
    wait_banner(qtbot, ui, tab.scan_bar, Level.BLOCKED)
    assert "不能重复入库" in tab.scan_bar.banner.message.text()
    assert ui.services.devices.stock(category="drainage_cannula")[0].item.receiving_id == tab.current.id


def test_stock_colours_expired_red_and_expiring_amber(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    received_while_valid(ward.c, ward.receiving.id, oxy_label("OLD", "L1", expiry=date(2026, 2, 1)))
    receive(ward, oxy_label("SOON", "L2", expiry=date(2026, 3, 20)))
    receive(ward, oxy_label("FAR", "L3", expiry=date(2027, 12, 31)))
    log_in(ui, qtbot, "chenjing")
    _page, tab = open_page(qtbot, ui, "stock")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 3)
    assert column(tab.model, 3) == ["OLD", "SOON", "FAR"]  # soonest expiry first
    assert column(tab.model, 6) == ["已过期", "30 天内过期", "正常"]
    assert column(tab.model, 5) == ["已过期 29 天", "18 天", "669 天"]
    backgrounds = [tab.model.index(r, 0).data(Qt.ItemDataRole.BackgroundRole) for r in range(3)]
    assert backgrounds[0].color() == EXPIRED_BACKGROUND and backgrounds[1].color() == EXPIRING_BACKGROUND
    assert backgrounds[2] is None
    assert tab.summary.text() == "共 3 件；已过期 1 件，30 天内过期 1 件"
    tab.status_combo.setCurrentIndex(tab.status_combo.findData("expired"))
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    assert column(tab.model, 3) == ["OLD"]


def test_trace_by_lot_shows_the_patients_then_a_recall_makes_the_scan_warn(
    qtbot: Any, ui: Any, seeded: Any, tmp_path: Path
) -> None:
    ward = make_ward(seeded)
    for serial in ("R1", "R2", "R3"):
        receive(ward, oxy_label(serial, "LR1"))
    assert ward.c.devices.bind_scan(ward.run1, oxy_label("R1", "LR1")).bound
    assert ward.c.devices.bind_scan(ward.run2, oxy_label("R2", "LR1")).bound
    log_in(ui, qtbot, "chenjing")
    _page, tab = open_page(qtbot, ui, "trace")
    tab.query.setText("LR1")
    click(qtbot, tab.search_button)
    qtbot.waitUntil(lambda: tab.searches == 1, timeout=10_000)
    assert sorted(column(tab.trace_model, 0)) == ["李秀英", "王建国"]
    assert sorted(column(tab.trace_model, 1)) == ["ZY100001", "ZY100002"]
    assert tab.result_label.text() == "批号 LR1：已用于 2 名患者（2 次绑定）；库存中尚有 1 件未使用"

    csv_path = tmp_path / "召回.csv"
    tab.export_csv(str(csv_path))
    qtbot.waitUntil(csv_path.exists, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    text = csv_path.read_bytes().decode("utf-8-sig")
    assert "王建国" in text and "李秀英" in text and "LR1" in text
    assert tab.documents is not None and tab.pdf_button.isEnabled()  # documents.recall is installed
    pdf_path = tmp_path / "召回.pdf"
    tab.export_pdf(str(pdf_path))
    qtbot.waitUntil(pdf_path.exists, timeout=20_000)
    wait_tasks(qtbot, ui.tasks)
    assert pdf_path.read_bytes().startswith(b"%PDF") and "已生成追溯清单" in tab.result_label.text()

    click(qtbot, tab.recall_button)
    dialog = tab.dialog
    assert dialog.lot.text() == "LR1"
    dialog.gtin.setText(OXY_GTIN)
    dialog.reason.setPlainText("厂家通知：氧合膜渗漏风险")
    finish_dialog(qtbot, ui, dialog)
    qtbot.waitUntil(lambda: tab.recall_model.rowCount() == 1)
    assert column(tab.recall_model, 1) == ["Quadrox-iD 氧合器"] and column(tab.recall_model, 4) == ["召回中"]
    qtbot.waitUntil(lambda: tab.result_label.text().endswith("（该批号召回中）"), timeout=10_000)

    searches = tab.searches  # the recall above refreshed the lot's line: one search more
    tab.set_mode("serial")
    tab.query.setText("R1")
    click(qtbot, tab.search_button)
    qtbot.waitUntil(lambda: tab.searches == searches + 1, timeout=10_000)
    assert column(tab.history_model, 2) == ["入库", "绑定"] and column(tab.history_model, 4) == ["", "王建国"]
    assert not tab.csv_button.isEnabled()

    bedside = open_tab(qtbot, ui, ward.run1)
    scan_keys(bedside.scan_bar.field, oxy_label("R3", "LR1"), start=30_000_000.0)
    wait_banner(qtbot, ui, bedside.scan_bar, Level.WARN)
    assert bedside.scan_bar.banner.title_text() == "⚠ 该批号已召回"
    assert bedside.scan_bar.banner.message.text() == (
        "批号 LR1 已被召回（厂家通知：氧合膜渗漏风险）；如确需使用，请填写理由"
    )
    assert bedside.scan_bar.banner.action("action_override") is not None


def test_equipment_is_registered_linked_to_a_run_and_unlinked(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded, admin_also_nurse=True)
    log_in(ui, qtbot, "admin")
    _page, tab = open_page(qtbot, ui, "equipment")
    click(qtbot, tab.add_button)
    dialog = tab.dialog
    dialog.kind.setCurrentIndex(dialog.kind.findData("heater_cooler"))
    dialog.model.setText("HCU 40")
    dialog.serial.setText("HCU-0042")
    finish_dialog(qtbot, ui, dialog)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    assert column(tab.model, 0) == ["变温水箱"] and column(tab.model, 3) == ["HCU-0042"]
    tab.table.selectRow(0)
    click(qtbot, tab.link_button)
    link = tab.dialog
    qtbot.waitUntil(lambda: link.runs.count() == 2)
    assert link.runs.itemText(link.runs.findData(ward.run2)).startswith("李秀英（ZY100002）第 1 次 ECMO，")
    link.runs.setCurrentIndex(link.runs.findData(ward.run2))
    finish_dialog(qtbot, ui, link)
    qtbot.waitUntil(lambda: tab.history.rowCount() == 1)
    assert column(tab.history, 0) == ["李秀英"] and column(tab.history, 4) == ["使用中"]
    assert "当前用于 李秀英（ZY100002）" in tab.history_label.text()
    # the list itself says where each console is now, without opening its history
    assert column(tab.model, 6) == ["李秀英（ZY100002）第 1 次 ECMO，自 2026-03-02 09:00"]
    tab.history_table.selectRow(0)
    click(qtbot, tab.unlink_button)
    finish_dialog(qtbot, ui, tab.dialog)
    qtbot.waitUntil(lambda: column(tab.history, 4) != ["使用中"])
    assert column(tab.history, 4)[0].startswith("2026-03-02")
    assert column(tab.model, 6) == [""]


def test_picking_an_earlier_delivery_lists_its_items_and_where_each_is_now(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    for serial in ("E1", "E2", "E3", "E4"):
        receive(ward, oxy_label(serial, "LE"))
    on_run = ward.c.devices.bind_scan(ward.run1, oxy_label("E2", "LE"))
    wrong = ward.c.devices.bind_scan(ward.run2, oxy_label("E3", "LE"))
    used = ward.c.devices.bind_scan(ward.run2, oxy_label("E4", "LE"))
    assert on_run.usage and wrong.usage and used.usage
    ward.c.devices.void_usage(wrong.usage.id, "扫错患者")
    ward.c.devices.retire_usage(used.usage.id, "更换氧合器")
    ward.c.devices.start_receiving(supplier="华润医药商业集团", delivery_note="HR-1")  # a later, empty one
    log_in(ui, qtbot, "chenjing")
    _page, tab = open_page(qtbot, ui, "receiving")
    qtbot.waitUntil(lambda: tab.receivings.rowCount() == 2)
    assert tab.items.rowCount() == 0 and tab.items_label.text() == "选择入库单后显示其中的器械"

    earlier = column(tab.receivings, 2).index("DN-1")
    loads = tab.item_loads
    tab.receivings_table.selectRow(earlier)
    qtbot.waitUntil(lambda: tab.item_loads == loads + 1, timeout=10_000)
    assert tab.current is not None and tab.current.id == ward.receiving.id
    assert column(tab.items, 2) == ["E4", "E3", "E2", "E1"]
    assert column(tab.items, 4) == [
        "已用毕撤除（李秀英，ZY100002，第 1 次 ECMO）",
        "绑定已作废（李秀英，ZY100002），已退回库存",
        "已用于 王建国（ZY100001）第 1 次 ECMO",
        "在库",
    ]
    assert tab.items_label.text() == "该入库单共 4 件：在库 2 件，使用中 1 件，已撤除 1 件"

    later = column(tab.receivings, 2).index("HR-1")
    tab.receivings_table.selectRow(later)
    qtbot.waitUntil(lambda: tab.item_loads == loads + 2, timeout=10_000)
    assert tab.items.rowCount() == 0 and tab.items_label.text().startswith("该入库单共 0 件")

    tab.receivings_table.selectRow(column(tab.receivings, 2).index("DN-1"))
    qtbot.waitUntil(lambda: tab.item_loads == loads + 3, timeout=10_000)
    scan_keys(
        tab.scan_bar.field, oxy_label("E5", "LE")
    )  # scanning into the earlier delivery adds to its list
    wait_banner(qtbot, ui, tab.scan_bar, Level.OK)
    assert column(tab.items, 2)[:2] == ["E5", "E4"] and column(tab.items, 4)[0] == "在库"


def test_a_catalogue_export_that_fails_on_a_full_disk_leaves_the_previous_file_whole(
    qtbot: Any, ui: Any, seeded: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    make_ward(seeded)
    log_in(ui, qtbot, "admin")
    _page, tab = open_page(qtbot, ui, "catalogue")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 3)
    target = tmp_path / "exports" / "目录.csv"
    target.parent.mkdir()
    target.write_bytes(b"the previous export")

    def full_disk(fd: int) -> None:  # the data never reaches the disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", full_disk)
    tab.export_csv(str(target))
    qtbot.waitUntil(
        lambda: tab.dialog is not None and tab.dialog.objectName() == "catalogue_message", timeout=10_000
    )
    assert tab.dialog.windowTitle() == "导出失败" and "No space left on device" in tab.dialog.text()
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in target.parent.iterdir()] == ["目录.csv"]
