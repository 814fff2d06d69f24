"""Recall and trace (R7): lot → every patient and run, serial → its history, run/patient → devices."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ecmo_desktop.domain.devices import ProductInput, VerdictKind
from ecmo_desktop.domain.errors import PermissionDenied, ValidationError
from ecmo_desktop.services.runs import RunInput
from tests.kit.devices import (  # noqa: F401 - the *_fixture names are fixtures
    LATER,
    OXY_GTIN,
    PUMP_GTIN,
    Ward,
    audit_head,
    audit_rows,
    gtin,
    label,
    receive,
    set_status,
    ward_db_fixture,
    ward_fixture,
)


def oxy(w: Ward, serial: str, lot: str = "LOT") -> str:
    return label(OXY_GTIN, serial=w.t(serial), lot=w.t(lot), expiry=LATER)


def test_lot_trace_finds_every_patient_and_run_and_leaves_out_wrong_scans(ward: Ward) -> None:
    for s in ("A", "B", "C", "D"):
        receive(ward, oxy(ward, s))
    receive(
        ward, label(PUMP_GTIN, serial=ward.t("P"), lot=ward.t("LOT"), expiry=LATER)
    )  # same lot text, other product
    assert ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "A")).bound
    wrong = ward.c.devices.bind_scan(ward.run2.id, oxy(ward, "B"))
    assert wrong.usage is not None
    ward.c.devices.void_usage(wrong.usage.id, "扫错：应为另一床")
    assert ward.c.devices.bind_scan(ward.run2.id, oxy(ward, "C")).bound
    assert ward.c.devices.bind_scan(
        ward.run2.id, label(PUMP_GTIN, serial=ward.t("P"), lot=ward.t("LOT"), expiry=LATER)
    ).bound
    rows = ward.c.devices.trace_lot(ward.t("LOT"), gtin=OXY_GTIN)
    assert [(r.patient_name, r.mrn, r.run_id, r.serial) for r in rows] == [
        ("王建国", ward.patient1.mrn, ward.run1.id, ward.t("A")),
        ("李秀英", ward.patient2.mrn, ward.run2.id, ward.t("C")),
    ]
    assert all(r.nmpa_number == "国械注进20173450123" and r.bound_by_name == "陈静" for r in rows)
    everything = ward.c.devices.trace_lot(ward.t("LOT"), include_voided=True)
    assert (
        len(everything) == 4 and sum(r.voided for r in everything) == 1
    )  # both products, the wrong scan too
    assert {s.item.serial for s in ward.c.devices.lot_stock(ward.t("LOT"), gtin=OXY_GTIN)} == {
        ward.t("B"),
        ward.t("D"),
    }
    with pytest.raises(ValidationError):
        ward.c.devices.trace_lot("  ")
    # the recall screen's one call gives what the three separate ones give
    view_rows, view_stock, recalled = ward.c.devices.lot_view(ward.t("LOT"), gtin=OXY_GTIN)
    assert view_rows == rows and not recalled
    assert view_stock == ward.c.devices.lot_stock(ward.t("LOT"), gtin=OXY_GTIN)


def test_serial_history_shows_received_bound_voided_and_retired_in_order(ward: Ward) -> None:
    receive(ward, oxy(ward, "H1"))
    first = ward.c.devices.bind_scan(ward.run2.id, oxy(ward, "H1"))
    assert first.usage is not None
    ward.db.clock.advance(timedelta(minutes=5))
    ward.c.devices.void_usage(first.usage.id, "扫错患者")
    ward.db.clock.advance(timedelta(minutes=5))
    second = ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "H1"))
    assert second.usage is not None
    ward.db.clock.advance(timedelta(days=4))
    ward.login("zhaolei")
    ward.c.devices.retire_usage(second.usage.id, "更换膜肺：血浆渗漏")
    histories = ward.c.devices.trace_serial(ward.t("H1"))
    assert len(histories) == 1
    h = histories[0]
    assert h.product.name.startswith("Quadrox") and h.receiving is not None
    assert [(e.kind, e.patient_name, e.by_name) for e in h.events] == [
        ("received", None, "陈静"),
        ("bound", "李秀英", "陈静"),
        ("voided", "李秀英", "陈静"),
        ("bound", "王建国", "陈静"),
        ("retired", "王建国", "赵磊"),
    ]
    assert h.events[2].detail == "扫错患者" and h.events[4].detail == "更换膜肺：血浆渗漏"
    assert [hh.item.id for hh in ward.c.devices.trace_code(oxy(ward, "H1"))] == [h.item.id]
    assert ward.c.devices.trace_serial(ward.t("NONE")) == []


def test_run_and_patient_traces_list_every_device_with_its_state(ward: Ward) -> None:
    for s in ("R1", "R2"):
        receive(ward, oxy(ward, s))
    receive(ward, label(PUMP_GTIN, serial=ward.t("RP"), lot="PL", expiry=LATER))
    a = ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "R1"))
    b = ward.c.devices.bind_scan(ward.run1.id, label(PUMP_GTIN, serial=ward.t("RP"), lot="PL", expiry=LATER))
    assert a.usage is not None and b.usage is not None
    ward.c.devices.retire_usage(a.usage.id, "更换")
    assert ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "R2")).bound
    rows = ward.c.devices.trace_run(ward.run1.id)
    assert [(r.serial, r.category, r.removed_at is not None) for r in rows] == [
        (ward.t("R1"), "oxygenator", True),
        (ward.t("RP"), "pump_head", False),
        (ward.t("R2"), "oxygenator", False),
    ]
    assert rows[0].raw_code == oxy(ward, "R1")  # what the operation note renders as a barcode (R8)
    # a second run of the same patient: the patient trace spans both
    set_status(ward.c, ward.run1.id, "ended")
    ward.login("zhangwei")
    run3 = ward.c.runs.open_run(ward.patient1.id, RunInput(mode="VA", indication="ami"))
    set_status(ward.c, run3.id, "on_ecmo")
    ward.login("chenjing")
    receive(ward, oxy(ward, "R3"))
    assert ward.c.devices.bind_scan(run3.id, oxy(ward, "R3")).bound
    by_patient = ward.c.devices.trace_patient(ward.patient1.id)
    assert [(r.run_number, r.serial) for r in by_patient] == [
        (1, ward.t("R1")),
        (1, ward.t("RP")),
        (1, ward.t("R2")),
        (2, ward.t("R3")),
    ]
    ward.login("sunli")  # records staff may trace
    assert len(ward.c.devices.trace_run(ward.run1.id)) == 3


def test_recall_marks_a_lot_and_lifting_it_is_audited(ward: Ward) -> None:
    receive(ward, oxy(ward, "X1", lot="RC"))
    receive(ward, label(PUMP_GTIN, serial=ward.t("X2"), lot=ward.t("RC"), expiry=LATER))
    since = audit_head(ward.c)
    recall = ward.c.devices.recall_lot(
        ward.t("RC"), reason="NMPA 召回公告"
    )  # no GTIN: any product with this lot
    assert recall.active and recall.product_id is None
    with pytest.raises(ValidationError, match="已处于召回状态"):
        ward.c.devices.recall_lot(ward.t("RC"), reason="重复")
    assert (
        ward.c.devices.bind_scan(
            ward.run1.id, label(PUMP_GTIN, serial=ward.t("X2"), lot=ward.t("RC"), expiry=LATER)
        ).kind
        is VerdictKind.WARN_RECALLED
    )
    assert recall in ward.c.devices.list_recalls(active_only=True)
    assert ward.c.devices.lot_view(ward.t("RC"))[2] and not ward.c.devices.lot_view(ward.t("RC9"))[2]
    lifted = ward.c.devices.lift_recall(recall.id, reason="厂家确认不涉及本批")
    assert not lifted.active and lifted not in ward.c.devices.list_recalls(active_only=True)
    assert not ward.c.devices.lot_view(ward.t("RC"))[2]
    with pytest.raises(ValidationError):
        ward.c.devices.lift_recall(recall.id, reason="再次")
    assert ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "X1", lot="RC")).bound
    assert [(e.action, e.reason) for e in audit_rows(ward.c, since=since) if e.entity == "lot_recall"] == [
        ("recall", "NMPA 召回公告"),
        ("lift_recall", "厂家确认不涉及本批"),
    ]
    with pytest.raises(ValidationError, match="GTIN"):
        ward.c.devices.recall_lot("L", reason="r", gtin="123")
    ward.login("zhangwei")
    with pytest.raises(PermissionDenied):
        ward.c.devices.recall_lot(ward.t("RC2"), reason="医生不能登记召回")


def test_a_reusable_product_binds_again_after_removal(ward: Ward) -> None:
    ward.login("admin")
    probe_gtin = gtin(f"06904{ward.tag[1:]:0>8}")
    probe = ward.c.devices.add_product(
        ProductInput(
            category="other",
            name="温度探头（可复用）",
            gtin=probe_gtin,
            nmpa_number="国械注准20202070001",
            single_use=False,
        )
    )
    assert not probe.single_use
    ward.login("chenjing")
    code = label(probe_gtin, serial=ward.t("T1"))
    receive(ward, code)
    first = ward.c.devices.bind_scan(ward.run1.id, code)
    assert first.bound and first.usage is not None and not first.usage.single_use
    ward.c.devices.retire_usage(first.usage.id, "患者撤机，探头消毒")
    assert ward.c.devices.bind_scan(ward.run2.id, code).bound
