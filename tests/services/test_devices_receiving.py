"""入库单明细: an earlier delivery lists its items with where each is now, read in one query."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ecmo_desktop.domain.devices import ItemState, ProductInput
from ecmo_desktop.domain.errors import NotAuthenticated, NotFound
from tests.kit.devices import (  # noqa: F401 - the *_fixture names are fixtures
    LATER,
    OXY_GTIN,
    Ward,
    gtin,
    label,
    receive,
    ward_db_fixture,
    ward_fixture,
)


def oxy(w: Ward, serial: str) -> str:
    return label(OXY_GTIN, serial=w.t(serial), lot=w.t("L"), expiry=LATER)


def states(w: Ward) -> dict[str | None, tuple[ItemState, int | None, str, str]]:
    """Serial → (state, run id, patient, MRN) of the test's delivery, as the service reports it."""
    return {
        r.item.serial: (
            r.state,
            r.use.run_id if r.use else None,
            r.use.patient_name if r.use else "",
            r.use.mrn if r.use else "",
        )
        for r in w.c.devices.receiving_items(w.receiving.id)
    }


def test_a_delivery_lists_its_items_with_where_each_is_now(ward: Ward) -> None:
    for serial in ("S", "B", "V", "R"):
        receive(ward, oxy(ward, serial))
    bound = ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "B"))
    voided = ward.c.devices.bind_scan(ward.run2.id, oxy(ward, "V"))
    retired = ward.c.devices.bind_scan(ward.run2.id, oxy(ward, "R"))
    assert bound.usage and voided.usage and retired.usage
    ward.c.devices.void_usage(voided.usage.id, "扫错患者")
    ward.db.clock.advance(timedelta(days=2))
    ward.c.devices.retire_usage(retired.usage.id, "更换氧合器")

    rows = ward.c.devices.receiving_items(ward.receiving.id)
    assert [r.item.serial for r in rows] == [ward.t(s) for s in ("R", "V", "B", "S")]  # newest first
    assert {r.product.id for r in rows} == {ward.oxy.id}
    assert all(r.item.receiving_id == ward.receiving.id for r in rows)
    p1, p2 = (ward.patient1, ward.patient2)
    assert states(ward) == {
        ward.t("S"): (ItemState.IN_STOCK, None, "", ""),
        ward.t("B"): (ItemState.BOUND, ward.run1.id, p1.name, p1.mrn),
        ward.t("V"): (ItemState.VOIDED, ward.run2.id, p2.name, p2.mrn),
        ward.t("R"): (ItemState.RETIRED, ward.run2.id, p2.name, p2.mrn),
    }
    held = next(r for r in rows if r.item.serial == ward.t("B"))
    assert held.use is not None and held.use.run_number == 1 and held.use.usage_id == bound.usage.id

    # the voided item went back on the shelf: bound again, the live binding (not the voided one) speaks
    ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "V"))
    assert states(ward)[ward.t("V")] == (ItemState.BOUND, ward.run1.id, p1.name, p1.mrn)


def test_lot_only_units_and_a_reusable_item_back_from_a_run(ward: Ward) -> None:
    receive(ward, label(ward.db.cannula.gtin, lot=ward.t("C"), expiry=LATER), quantity=2)
    ward.login("admin")
    reusable = ward.c.devices.add_product(
        ProductInput(
            category="other",
            name="超声流量探头",
            gtin=gtin(f"069012370{int(ward.tag[1:]):04d}"),
            nmpa_number="国械注进20200000001",
            single_use=False,
        )
    )
    ward.login("chenjing")
    probe = label(reusable.gtin or "", serial=ward.t("P"), lot=ward.t("PL"), expiry=LATER)
    receive(ward, probe)
    use = ward.c.devices.bind_scan(ward.run1.id, probe)
    assert use.usage is not None
    ward.db.clock.advance(timedelta(hours=1))
    ward.c.devices.retire_usage(use.usage.id, "撤机后清洗消毒")

    rows = ward.c.devices.receiving_items(ward.receiving.id)
    assert [(r.item.lot, r.state) for r in rows if r.item.serial is None] == [
        (ward.t("C"), ItemState.IN_STOCK),
        (ward.t("C"), ItemState.IN_STOCK),
    ]
    back = next(r for r in rows if r.item.serial == ward.t("P"))
    # a reusable device taken off the circuit is in stock again; its last run is still named
    assert back.state is ItemState.IN_STOCK and back.use is not None and back.use.run_id == ward.run1.id


def test_an_empty_delivery_is_empty_an_unknown_one_is_not_found_and_login_is_required(ward: Ward) -> None:
    assert ward.c.devices.receiving_items(ward.receiving.id) == []
    with pytest.raises(NotFound):
        ward.c.devices.receiving_items(ward.receiving.id + 100_000)
    ward.login("sunli")  # records staff may look (like the list of deliveries), not receive
    assert ward.c.devices.receiving_items(ward.receiving.id) == []
    ward.c.ctx.user = None
    try:
        with pytest.raises(NotAuthenticated):
            ward.c.devices.receiving_items(ward.receiving.id)
    finally:
        ward.login("chenjing")
