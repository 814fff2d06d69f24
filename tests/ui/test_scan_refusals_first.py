"""Expired and recalled items are refused before any other prompt (issue 9, point 8).

At the bedside an expired label used to be offered "现在入库？" and was refused only after it had
been received; at the receiving desk it went into stock. Now the refusal, with the expiry date,
comes first everywhere: no "receive now", no "add to catalogue", no missing-fields form.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ecmo_desktop.domain.errors import ValidationError
from ecmo_desktop.ui.devices.receiving_tab import MissingFieldsDialog
from ecmo_desktop.ui.scan_bar import Level
from tests.kit.devices import CANNULA_GTIN, UNKNOWN_GTIN, label
from tests.kit.ui_devices import (
    click,
    log_in,
    make_ward,
    open_page,
    open_tab,
    oxy_label,
    receive,
    run_rows,
    wait_banner,
)
from tests.kit.ui_scan import scan_keys
from tests.ui.conftest import wait_tasks

PAST = date(2026, 2, 28)  # the tests' today is 2026-03-02


def _stock_serials(ward: Any) -> list[str | None]:
    return [r.item.serial for r in ward.c.devices.stock()]


def test_an_expired_never_received_label_is_refused_at_the_bedside_without_receive_now(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    scan_keys(tab.scan_bar.field, oxy_label("EXP1", "LE1", expiry=PAST))
    wait_banner(qtbot, ui, tab.scan_bar, Level.BLOCKED)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "✖ 器械已过期，禁止使用"
    assert banner.message.text() == "器械已过期（有效期至 2026-02-28），不得使用"
    assert banner.action("action_receive_now") is None and banner.action_buttons == []
    assert "有效期 2026-02-28" in banner.detail.text()
    # an unknown product with an expired label: refused too, not "add to catalogue?"
    scan_keys(tab.scan_bar.field, label(UNKNOWN_GTIN, serial="U1", lot="LU", expiry=PAST), start=7_000_000.0)
    wait_tasks(qtbot, ui.tasks)
    assert banner.title_text() == "✖ 器械已过期，禁止使用" and banner.action_buttons == []
    wait_tasks(qtbot, ui.tasks)
    assert run_rows(ui, ward.run1) == [] and "EXP1" not in _stock_serials(ward)


def test_a_recalled_lot_never_received_is_refused_at_the_bedside_and_at_receiving(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    receive(ward, oxy_label("R0", "LRC"))
    ward.c.devices.recall_lot("LRC", reason="厂家召回：氧合膜渗漏")
    with pytest.raises(ValidationError, match="批号 LRC 已被召回"):
        receive(ward, oxy_label("R1", "LRC"))  # the service refuses a recalled lot, whoever calls it
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    scan_keys(tab.scan_bar.field, oxy_label("R2", "LRC"))
    wait_banner(qtbot, ui, tab.scan_bar, Level.BLOCKED)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "✖ 该批号已召回，禁止使用"
    assert banner.message.text().startswith("批号 LRC 已被召回（厂家召回：氧合膜渗漏），不能入库")
    assert "有效期至 2027-12-31" in banner.message.text()
    assert banner.action_buttons == []  # never "receive now?"

    _page, desk = open_page(qtbot, ui, "receiving")
    desk.use_receiving(ward.receiving)
    scan_keys(desk.scan_bar.field, oxy_label("R3", "LRC"), start=8_000_000.0)
    wait_banner(qtbot, ui, desk.scan_bar, Level.BLOCKED)
    assert desk.scan_bar.banner.title_text() == "✖ 该批号已召回，禁止使用"
    wait_tasks(qtbot, ui.tasks)
    assert {"R2", "R3"}.isdisjoint(_stock_serials(ward))


def test_an_expired_label_is_refused_at_receiving_before_the_missing_fields_form(
    qtbot: Any, ui: Any, seeded: Any
) -> None:
    ward = make_ward(seeded)
    log_in(ui, qtbot, "chenjing")
    _page, desk = open_page(qtbot, ui, "receiving")
    desk.use_receiving(ward.receiving)
    wait_tasks(qtbot, ui.tasks)
    # a lot-only label (no serial) would first ask for the quantity and serial: the expiry comes first
    scan_keys(desk.scan_bar.field, label(CANNULA_GTIN, lot="CX", expiry=PAST))
    wait_banner(qtbot, ui, desk.scan_bar, Level.BLOCKED)
    banner = desk.scan_bar.banner
    assert banner.title_text() == "✖ 器械已过期，禁止使用"
    assert banner.message.text() == "器械已过期（有效期至 2026-02-28），不得使用"
    assert not isinstance(desk.dialog, MissingFieldsDialog) and banner.action_buttons == []
    # an unknown product's expired label: no "add to catalogue?" either
    scan_keys(
        desk.scan_bar.field, label(UNKNOWN_GTIN, serial="U9", lot="LU9", expiry=PAST), start=8_000_000.0
    )
    wait_tasks(qtbot, ui.tasks)
    assert "LU9" in banner.detail.text()
    assert banner.title_text() == "✖ 器械已过期，禁止使用" and banner.action("action_add_product") is None
    # a typed expiry in the past (label without one) is refused by the receipt itself, naming the field
    scan_keys(desk.scan_bar.field, label(CANNULA_GTIN, lot="CY"), start=9_000_000.0)
    qtbot.waitUntil(lambda: isinstance(desk.dialog, MissingFieldsDialog) and desk.dialog.isVisible())
    form = desk.dialog
    assert form.expiry is not None
    form.expiry.set_value(PAST)
    click(qtbot, form.ok_button)
    wait_banner(qtbot, ui, desk.scan_bar, Level.BLOCKED)
    assert "有效期：该器械已过期（有效期至 2026-02-28），不能入库" in banner.message.text()
    wait_tasks(qtbot, ui.tasks)
    assert ward.c.devices.stock() == []
