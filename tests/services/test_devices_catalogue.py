"""Catalogue administration, receiving and the stock view (R5, R7), on both backends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ecmo_desktop.domain.devices import ExpiryStatus, NeedsProductError, ProductInput, UnknownProductError
from ecmo_desktop.domain.errors import CodeError, ConcurrencyConflict, PermissionDenied, ValidationError
from ecmo_desktop.exchange.catalogue_csv import read_catalogue, write_catalogue
from tests.kit.devices import (  # noqa: F401 - the *_fixture names are fixtures
    CANNULA_GTIN,
    LATER,
    OXY_GTIN,
    TODAY,
    UNKNOWN_GTIN,
    Ward,
    audit_head,
    audit_rows,
    gtin,
    label,
    receive,
    received_while_valid,
    ward_db_fixture,
    ward_fixture,
)


def test_products_are_validated_unique_and_audited(ward: Ward) -> None:
    ward.login("admin")
    with pytest.raises(ValidationError) as bad:
        ward.c.devices.add_product(ProductInput(category="膜肺", name="", gtin=OXY_GTIN[:-1] + "0"))
    fields = {e.field for e in bad.value.errors}
    assert {"类别", "产品名称", "GTIN"} <= fields
    with pytest.raises(ValidationError, match="Quadrox-iD"):
        ward.c.devices.add_product(
            ProductInput(category="oxygenator", name="别名", gtin=OXY_GTIN[1:])
        )  # EAN-13 form
    since = audit_head(ward.c)
    g = gtin(f"06903{ward.tag[1:]:0>8}")
    created = ward.c.devices.add_product(ProductInput(category="tubing_pack", name="管路套包", gtin=g[1:]))
    assert created.gtin == g and not created.has_nmpa
    updated = ward.c.devices.update_product(
        created.id,
        ProductInput(category="tubing_pack", name="管路套包", gtin=g, nmpa_number="国械注准20153100789"),
        expected_version=created.version,
    )
    assert updated.has_nmpa and updated.version == created.version + 1
    with pytest.raises(ConcurrencyConflict):
        ward.c.devices.update_product(created.id, created.as_input(), expected_version=created.version)
    events = audit_rows(ward.c, since=since)
    assert [(e.action, e.entity) for e in events] == [
        ("create", "device_product"),
        ("update", "device_product"),
    ]
    assert events[1].before is not None and events[1].after is not None
    assert (events[1].before["nmpa_number"], events[1].after["nmpa_number"]) == ("", "国械注准20153100789")
    assert "name" not in events[1].after  # only what changed
    ward.login("chenjing")
    with pytest.raises(PermissionDenied):
        ward.c.devices.add_product(ProductInput(category="other", name="x"))


def test_a_scanned_label_prefills_a_new_product(ward: Ward) -> None:
    ward.login("admin")
    prefill = ward.c.devices.product_input_from_code(label(UNKNOWN_GTIN, serial="S", lot="L"))
    assert prefill.gtin == UNKNOWN_GTIN and prefill.udi_di is None
    hibc = ward.c.devices.product_input_from_code("+A999123413")  # HIBC primary, mod-43 check "3"
    assert hibc.gtin is None and hibc.udi_di == "A99912341"
    with pytest.raises(CodeError):
        ward.c.devices.product_input_from_code("SN-12345")  # a plain serial names no product


def test_catalogue_csv_import_creates_updates_and_is_all_or_nothing(ward: Ward) -> None:
    ward.login("admin")
    g1, g2 = gtin(f"06902{ward.tag[1:]:0>6}01"), gtin(f"06902{ward.tag[1:]:0>6}02")
    text = (
        f"类别,产品名称,生产企业,型号,GTIN,注册证编号,一次性\n"
        f"氧合器,Hilite 7000LT,Medos,7000LT,{g1},国械注进20163450456,是\n"
        f"引流插管,股静脉插管,赛腾医疗,ST-21,{g2},,是\n"
    )
    parsed = read_catalogue(text.encode("gbk"))
    assert parsed.ok
    since = audit_head(ward.c)
    result = ward.c.devices.import_catalogue(parsed.rows)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    changed = text.replace("ST-21,", "ST-21B,")
    again = ward.c.devices.import_catalogue(read_catalogue(changed.encode()).rows)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    actions = [(e.action, e.entity) for e in audit_rows(ward.c, since=since)]
    assert (
        actions.count(("create", "device_product")) == 2 and actions.count(("update", "device_product")) == 1
    )
    assert actions.count(("import", "device_catalogue")) == 2
    # export → import of everything is a no-op
    exported = read_catalogue(write_catalogue(ward.c.devices.export_catalogue()))
    assert exported.ok
    round_trip = ward.c.devices.import_catalogue(exported.rows)
    assert round_trip.created == round_trip.updated == 0
    # a bad row refuses the whole import before anything is written
    head = audit_head(ward.c)
    with pytest.raises(ValidationError, match="第 2 行"):
        ward.c.devices.import_catalogue(
            [
                ProductInput(category="oxygenator", name="好"),
                ProductInput(category="oxygenator", name="", gtin="123"),
            ]
        )
    assert audit_head(ward.c) == head


def test_receiving_records_the_source_and_refuses_a_second_receipt(ward: Ward) -> None:
    code = label(OXY_GTIN, serial=ward.t("RC1"), lot=ward.t("L1"), expiry=LATER)
    result = receive(ward, code)
    item = result.items[0]
    assert (item.serial, item.lot, item.expiry, item.symbology) == (ward.t("RC1"), ward.t("L1"), LATER, "gs1")
    assert (
        result.receiving.supplier == "国药控股内蒙古有限公司" and result.receiving.received_by_name == "陈静"
    )
    with pytest.raises(ValidationError) as dup:
        receive(ward, code)
    text = dup.value.user_message()
    assert "已于" in text and "国药控股内蒙古有限公司" in text
    # the label lacks lot/expiry: typed values fill in; a typed value that contradicts the label is refused
    bare = label(OXY_GTIN, serial=ward.t("RC2"))
    filled = receive(ward, bare, lot=ward.t("L2"), expiry=LATER).items[0]
    assert (filled.lot, filled.expiry) == (ward.t("L2"), LATER)
    with pytest.raises(ValidationError, match="不一致"):
        receive(ward, label(OXY_GTIN, serial=ward.t("RC3"), lot="A"), lot="B")
    with pytest.raises(UnknownProductError):
        receive(ward, label(UNKNOWN_GTIN, serial=ward.t("U1")))
    with pytest.raises(NeedsProductError):
        receive(ward, ward.t("PLAIN-1"))
    with pytest.raises(ValidationError, match="数量"):
        receive(ward, label(OXY_GTIN, serial=ward.t("RC4")), quantity=2)
    ward.login("sunli")
    with pytest.raises(PermissionDenied):
        receive(ward, label(OXY_GTIN, serial=ward.t("RC5")))


def test_stock_lists_unbound_items_with_expiry_warnings(ward: Ward) -> None:
    soon, past = TODAY + timedelta(days=30), TODAY - timedelta(days=1)
    receive(ward, label(OXY_GTIN, serial=ward.t("ST-OK"), lot="S", expiry=LATER))
    receive(ward, label(OXY_GTIN, serial=ward.t("ST-SOON"), lot="S", expiry=soon))
    with pytest.raises(ValidationError, match="已过期（有效期至 2026-03-01），不能入库"):
        receive(ward, label(OXY_GTIN, serial=ward.t("ST-OLD"), lot="S", expiry=past))  # never into stock
    received_while_valid(
        ward.c, ward.receiving.id, label(OXY_GTIN, serial=ward.t("ST-OLD"), lot="S", expiry=past)
    )
    receive(ward, label(OXY_GTIN, serial=ward.t("ST-USED"), lot="S", expiry=LATER))
    lot_only = receive(ward, label(CANNULA_GTIN, lot=ward.t("SC"), expiry=date(2026, 3, 31)), quantity=3)
    assert len(lot_only.items) == 3
    assert ward.c.devices.bind_scan(
        ward.run1.id, label(OXY_GTIN, serial=ward.t("ST-USED"), lot="S", expiry=LATER)
    ).bound
    mine = {
        r.item.serial or r.item.lot: r
        for r in ward.c.devices.stock()
        if r.item.receiving_id == ward.receiving.id
    }
    assert set(mine) == {ward.t("ST-OK"), ward.t("ST-SOON"), ward.t("ST-OLD"), ward.t("SC")}
    assert mine[ward.t("ST-OK")].expiry_status is ExpiryStatus.OK
    assert (mine[ward.t("ST-SOON")].expiry_status, mine[ward.t("ST-SOON")].days_left) == (
        ExpiryStatus.EXPIRING,
        30,
    )
    assert mine[ward.t("ST-OLD")].expiry_status is ExpiryStatus.EXPIRED
    units = [r for r in ward.c.devices.stock(category="drainage_cannula") if r.item.lot == ward.t("SC")]
    assert len(units) == 3 and all(r.expiry_status is ExpiryStatus.EXPIRING for r in units)
    warned = ward.c.devices.stock(statuses=["expired", "expiring"])
    assert ward.t("ST-OK") not in {r.item.serial for r in warned}
    assert {ward.t("ST-SOON"), ward.t("ST-OLD")} <= {r.item.serial for r in warned}
