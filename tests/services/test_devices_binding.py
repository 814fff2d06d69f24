"""Bedside binding: every verdict of ``DeviceService.bind_scan``, on SQLite and PostgreSQL.

Each verdict is checked for what it says (kind, rule, the words the nurse reads) and for what it
wrote: only ``bound`` adds a usage, with exactly one audit row in the same transaction; blocked
scans add a failed-attempt audit row; warnings and look-up misses write nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ecmo_desktop.domain.devices import ScanVerdict, VerdictKind
from ecmo_desktop.domain.errors import PermissionDenied, TransientConflict, ValidationError
from ecmo_desktop.services.devices import DeviceService
from ecmo_desktop.storage.orm.devices import UsageRow
from ecmo_desktop.storage.orm.records import ProcedureRow
from ecmo_desktop.storage.repositories.audit import SqlAuditRepository
from tests.kit.devices import (  # noqa: F401 - the *_fixture names are fixtures
    CANNULA_GTIN,
    LATER,
    NO_NMPA_GTIN,
    OXY_GTIN,
    PUMP_GTIN,
    TODAY,
    UNKNOWN_GTIN,
    Ward,
    audit_head,
    audit_rows,
    label,
    receive,
    received_while_valid,
    run_usages,
    set_status,
    ward_db_fixture,
    ward_fixture,
)


def item_usages(c: Any, item_id: int) -> int:
    """Non-voided bindings of one item, on any run."""
    with c.uow(write=False) as uow:
        return int(
            uow.session.scalar(
                select(func.count())
                .select_from(UsageRow)
                .where(UsageRow.item_id == item_id, UsageRow.voided_at.is_(None))
            )
            or 0
        )


def oxy(w: Ward, serial: str = "SN1", lot: str = "L2401", expiry: date = LATER) -> str:
    return label(OXY_GTIN, serial=w.t(serial), lot=w.t(lot), expiry=expiry)


def test_bound_writes_the_usage_and_one_audit_row(ward: Ward) -> None:
    item = receive(ward, oxy(ward)).items[0]
    since = audit_head(ward.c)
    verdict = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert verdict.kind is VerdictKind.BOUND and verdict.bound
    assert verdict.usage is not None and verdict.usage.run_id == ward.run1.id
    assert verdict.usage.single_use and verdict.usage.override_reason is None and verdict.usage.warnings == ()
    assert "Quadrox-iD" in verdict.user_message() and ward.t("SN1") in verdict.user_message()
    new = audit_rows(ward.c, since=since)
    assert [(e.action, e.entity, e.entity_id, e.run_id, e.patient_id, e.success) for e in new] == [
        ("bind", "device_usage", verdict.usage.id, ward.run1.id, ward.patient1.id, True)
    ]
    assert new[0].after is not None and new[0].after["serial"] == ward.t("SN1")
    assert item_usages(ward.c, item.id) == 1


def test_reuse_on_another_patient_is_blocked_naming_who_holds_it(ward: Ward) -> None:
    item = receive(ward, oxy(ward)).items[0]
    assert ward.c.devices.bind_scan(ward.run1.id, oxy(ward)).bound
    since = audit_head(ward.c)
    verdict = ward.c.devices.bind_scan(ward.run2.id, oxy(ward))
    assert verdict.kind is VerdictKind.BLOCKED_REUSED and verdict.rule == "R6"
    assert verdict.kind.blocked and not verdict.needs_override
    assert verdict.holder is not None
    assert (verdict.holder.patient_name, verdict.holder.mrn, verdict.holder.run_id) == (
        "王建国",
        ward.patient1.mrn,
        ward.run1.id,
    )
    text = verdict.user_message()
    assert (
        text.startswith("[R6]")
        and "王建国" in text
        and ward.patient1.mrn in text
        and "2026-03-02 09:00" in text
    )
    refused = audit_rows(ward.c, since=since)
    assert [(e.action, e.success, e.run_id) for e in refused] == [("bind_refused", False, ward.run2.id)]
    # an override reason cannot lift R6
    again = ward.c.devices.bind_scan(ward.run2.id, oxy(ward), override_reason="急用")
    assert again.kind is VerdictKind.BLOCKED_REUSED
    assert item_usages(ward.c, item.id) == 1 and run_usages(ward.c, ward.run2.id) == 0


def test_scanning_twice_on_the_same_run_is_blocked_as_a_repeat(ward: Ward) -> None:
    receive(ward, oxy(ward))
    assert ward.c.devices.bind_scan(ward.run1.id, oxy(ward)).bound
    verdict = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert verdict.kind is VerdictKind.BLOCKED_REUSED
    assert "本病例" in verdict.user_message() and "王建国" in verdict.user_message()
    assert run_usages(ward.c, ward.run1.id) == 1


def test_the_database_index_decides_when_the_precheck_is_skipped(
    ward: Ward, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control for REL-4: with the friendly look-up gone, R6 still holds (the index)."""
    item = receive(ward, oxy(ward)).items[0]
    assert ward.c.devices.bind_scan(ward.run1.id, oxy(ward)).bound
    monkeypatch.setattr(DeviceService, "_precheck_reuse", lambda self, holder: None)
    since = audit_head(ward.c)
    verdict = ward.c.devices.bind_scan(ward.run2.id, oxy(ward))
    assert verdict.kind is VerdictKind.BLOCKED_REUSED
    assert verdict.holder is not None and verdict.holder.patient_name == "王建国"
    assert item_usages(ward.c, item.id) == 1
    assert [e.action for e in audit_rows(ward.c, since=since)] == ["bind_refused"]


def test_expired_item_is_blocked_and_the_expiry_day_itself_is_still_usable(ward: Ward) -> None:
    yesterday = date.fromordinal(TODAY.toordinal() - 1)
    received_while_valid(
        ward.c, ward.receiving.id, oxy(ward, "OLD", expiry=yesterday)
    )  # expired on the shelf
    receive(ward, oxy(ward, "NOW", expiry=TODAY))
    since = audit_head(ward.c)
    verdict = ward.c.devices.bind_scan(
        ward.run1.id, oxy(ward, "OLD", expiry=yesterday), override_reason="无其他库存"
    )
    assert verdict.kind is VerdictKind.BLOCKED_EXPIRED and verdict.kind.blocked
    assert "2026-03-01" in verdict.user_message()
    assert [(e.action, e.success) for e in audit_rows(ward.c, since=since)] == [("bind_refused", False)]
    assert ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "NOW", expiry=TODAY)).bound
    assert run_usages(ward.c, ward.run1.id) == 1


def test_product_without_nmpa_number_warns_then_binds_with_a_reason(ward: Ward) -> None:
    code = label(NO_NMPA_GTIN, serial=ward.t("Y1"), lot=ward.t("YL"), expiry=LATER)
    receive(ward, code)
    since = audit_head(ward.c)
    verdict = ward.c.devices.bind_scan(ward.run1.id, code)
    assert verdict.kind is VerdictKind.WARN_NO_NMPA and verdict.rule == "R5" and verdict.needs_override
    assert verdict.user_message().startswith("[R5]") and "Y 型连接管" in verdict.user_message()
    assert verdict.pending == (VerdictKind.WARN_NO_NMPA,)
    assert run_usages(ward.c, ward.run1.id) == 0 and audit_head(ward.c) == since  # a question writes nothing
    blank = ward.c.devices.bind_scan(ward.run1.id, code, override_reason="   ")
    assert blank.kind is VerdictKind.WARN_NO_NMPA
    bound = ward.c.devices.bind_scan(ward.run1.id, code, override_reason="注册证在办理中，科主任同意")
    assert bound.bound and bound.overridden == (VerdictKind.WARN_NO_NMPA,)
    assert bound.usage is not None and bound.usage.override_reason == "注册证在办理中，科主任同意"
    assert bound.usage.warnings == ("warn_no_nmpa",)
    assert [(e.action, e.reason) for e in audit_rows(ward.c, since=since)] == [
        ("bind", "注册证在办理中，科主任同意")
    ]


def test_recalled_lot_warns_and_binds_only_with_a_reason(ward: Ward) -> None:
    receive(ward, oxy(ward, "R1", lot="BAD"))
    receive(ward, oxy(ward, "R2", lot="BAD"))
    recall = ward.c.devices.recall_lot(ward.t("BAD"), reason="厂家通知：膜肺渗漏", gtin=OXY_GTIN)
    verdict = ward.c.devices.bind_scan(ward.run1.id, oxy(ward, "R1", lot="BAD"))
    assert verdict.kind is VerdictKind.WARN_RECALLED and verdict.recall == recall
    assert ward.t("BAD") in verdict.user_message() and "膜肺渗漏" in verdict.user_message()
    assert run_usages(ward.c, ward.run1.id) == 0
    bound = ward.c.devices.bind_scan(
        ward.run1.id, oxy(ward, "R1", lot="BAD"), override_reason="无替代品，已告知家属"
    )
    assert bound.bound and bound.usage is not None and bound.usage.warnings == ("warn_recalled",)
    ward.c.devices.lift_recall(recall.id, reason="厂家撤回通知")
    assert ward.c.devices.bind_scan(ward.run2.id, oxy(ward, "R2", lot="BAD")).bound


def test_several_warnings_are_listed_together_and_one_reason_covers_them(ward: Ward) -> None:
    code = label(NO_NMPA_GTIN, serial=ward.t("Y9"), lot=ward.t("YBAD"), expiry=LATER)
    receive(ward, code)
    ward.c.devices.recall_lot(ward.t("YBAD"), reason="召回")
    verdict = ward.c.devices.bind_scan(ward.run1.id, code)
    assert verdict.kind is VerdictKind.WARN_RECALLED
    assert verdict.pending == (VerdictKind.WARN_RECALLED, VerdictKind.WARN_NO_NMPA)
    bound = ward.c.devices.bind_scan(ward.run1.id, code, override_reason="科主任批准")
    assert bound.bound and bound.overridden == (VerdictKind.WARN_RECALLED, VerdictKind.WARN_NO_NMPA)


def test_unknown_product_offers_the_catalogue_and_writes_nothing(ward: Ward) -> None:
    since = audit_head(ward.c)
    verdict = ward.c.devices.bind_scan(ward.run1.id, label(UNKNOWN_GTIN, serial=ward.t("X1"), lot="L"))
    assert verdict.kind is VerdictKind.UNKNOWN_PRODUCT
    assert verdict.params["di"] == UNKNOWN_GTIN and "目录" in verdict.user_message()
    assert verdict.code is not None and verdict.code.gtin == UNKNOWN_GTIN
    assert run_usages(ward.c, ward.run1.id) == 0 and audit_head(ward.c) == since


def test_not_received_offers_receiving_and_receive_and_bind_records_both(ward: Ward) -> None:
    code = oxy(ward, "NEW1", lot="L9")
    verdict = ward.c.devices.bind_scan(ward.run1.id, code)
    assert verdict.kind is VerdictKind.NOT_RECEIVED and "入库" in verdict.user_message()
    assert verdict.product is not None and verdict.product.id == ward.oxy.id
    assert run_usages(ward.c, ward.run1.id) == 0
    bound = ward.c.devices.receive_and_bind(ward.run1.id, code, supplier="床旁：厂家跟台")
    assert bound.bound and bound.item is not None and bound.item.serial == ward.t("NEW1")
    history = ward.c.devices.trace_serial(ward.t("NEW1"))
    assert [e.kind for e in history[0].events] == ["received", "bound"]
    assert history[0].receiving is not None and history[0].receiving.supplier == "床旁：厂家跟台"
    # a doctor may bind but not receive
    ward.login("zhangwei")
    with pytest.raises(PermissionDenied):
        ward.c.devices.receive_and_bind(ward.run1.id, oxy(ward, "NEW2"), supplier="x")


INVALID = [
    ("", "empty", "条码内容为空"),
    ("0106901234000017", "invalid_check_digit", "校验位错误"),
    ("氧合器", None, "英文输入法"),
    ("01069012340000161799133110L1", "invalid_date", "日期无效"),
]


def test_invalid_codes_carry_the_parsers_precise_message(ward: Ward) -> None:
    since = audit_head(ward.c)
    for text, reason, words in INVALID:
        verdict = ward.c.devices.bind_scan(ward.run1.id, text)
        assert verdict.kind is VerdictKind.INVALID_CODE, text
        if reason is not None:
            assert verdict.reason == reason
        assert words in verdict.user_message(), (text, verdict.user_message())
    assert run_usages(ward.c, ward.run1.id) == 0 and audit_head(ward.c) == since


def test_a_closed_run_accepts_no_device(ward: Ward) -> None:
    receive(ward, oxy(ward))
    for run, status, words in ((ward.run1, "ended", "已撤机"), (ward.run2, "cancelled", "已取消")):
        set_status(ward.c, run.id, status)
        since = audit_head(ward.c)
        verdict = ward.c.devices.bind_scan(run.id, oxy(ward))
        assert verdict.kind is VerdictKind.RUN_CLOSED and verdict.kind.blocked
        assert words in verdict.user_message()
        assert run_usages(ward.c, run.id) == 0
        assert [(e.action, e.run_id) for e in audit_rows(ward.c, since=since)] == [("bind_refused", run.id)]


def test_void_then_rebind_elsewhere_and_void_needs_a_reason(ward: Ward) -> None:
    receive(ward, oxy(ward))
    bound = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert bound.usage is not None
    with pytest.raises(ValidationError):
        ward.c.devices.void_usage(bound.usage.id, "  ")
    since = audit_head(ward.c)
    voided = ward.c.devices.void_usage(bound.usage.id, "扫错患者")
    assert voided.voided and voided.void_reason == "扫错患者"
    with pytest.raises(ValidationError):
        ward.c.devices.void_usage(bound.usage.id, "再次作废")
    assert ward.c.devices.bind_scan(ward.run2.id, oxy(ward)).bound
    assert [(e.action, e.reason) for e in audit_rows(ward.c, since=since)] == [
        ("void", "扫错患者"),
        ("bind", None),
    ]
    rows = ward.c.devices.trace_run(ward.run1.id)
    assert len(rows) == 1 and rows[0].voided  # amended, never deleted


def test_a_retired_item_still_counts_as_used(ward: Ward) -> None:
    receive(ward, oxy(ward))
    bound = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert bound.usage is not None
    ward.db.clock.advance(timedelta(days=3))
    retired = ward.c.devices.retire_usage(bound.usage.id, "更换氧合器：跨膜压差升高")
    assert retired.removed_at == ward.db.clock.now() and not retired.in_circuit and not retired.voided
    with pytest.raises(ValidationError):
        ward.c.devices.retire_usage(bound.usage.id, "再次撤除")
    assert ward.c.devices.bind_scan(ward.run2.id, oxy(ward)).kind is VerdictKind.BLOCKED_REUSED


def test_lot_only_labels_take_received_units_one_by_one_with_an_attestation(ward: Ward) -> None:
    code = label(CANNULA_GTIN, lot=ward.t("C2401"), expiry=LATER)
    received = receive(ward, code, quantity=2)
    assert len(received.items) == 2 and all(i.item_key is None for i in received.items)
    assert any("无序列号" in n for n in received.notes)
    verdict = ward.c.devices.bind_scan(ward.run1.id, code)
    assert verdict.kind is VerdictKind.WARN_NO_SERIAL and verdict.rule == "R6"
    attest = "包装完好，未曾使用"
    first = ward.c.devices.bind_scan(ward.run1.id, code, override_reason=attest)
    second = ward.c.devices.bind_scan(ward.run2.id, code, override_reason=attest)
    assert first.bound and second.bound and first.item is not None and second.item is not None
    assert first.item.id != second.item.id
    third = ward.c.devices.bind_scan(ward.run2.id, code, override_reason=attest)
    assert third.kind is VerdictKind.NOT_RECEIVED and "无可用库存" in third.user_message()
    assert {r.patient_name for r in ward.c.devices.trace_lot(ward.t("C2401"))} == {"王建国", "李秀英"}


def test_hand_typed_serials_bind_to_the_unique_received_item_or_ask_for_the_product(ward: Ward) -> None:
    serial = ward.t("PX-0042")
    ward.c.devices.receive_scan(
        ward.receiving.id, serial, product_id=ward.pump.id, lot=ward.t("PL1"), expiry=LATER
    )
    verdict = ward.c.devices.bind_scan(ward.run1.id, serial.lower())  # typed without CapsLock: upper-cased
    assert verdict.bound and verdict.product is not None and verdict.product.id == ward.pump.id
    # the same label scanned as GS1 later is the same item (one R6 identity)
    again = ward.c.devices.bind_scan(
        ward.run2.id, label(PUMP_GTIN, serial=serial, lot=ward.t("PL1"), expiry=LATER)
    )
    assert again.kind is VerdictKind.BLOCKED_REUSED
    twin = ward.t("AMB-77")
    ward.c.devices.receive_scan(ward.receiving.id, twin, product_id=ward.pump.id)
    ward.c.devices.receive_scan(ward.receiving.id, twin, product_id=ward.oxy.id)
    ambiguous = ward.c.devices.bind_scan(ward.run1.id, twin)
    assert ambiguous.kind is VerdictKind.NEEDS_PRODUCT
    assert ward.c.devices.bind_scan(ward.run1.id, twin, product_id=ward.oxy.id).bound


def test_a_scan_into_the_wrong_slot_asks_for_confirmation(ward: Ward) -> None:
    code = label(PUMP_GTIN, serial=ward.t("P1"), lot="PL", expiry=LATER)
    receive(ward, code)
    verdict = ward.c.devices.bind_scan(ward.run1.id, code, expected_category="oxygenator")
    assert verdict.kind is VerdictKind.WRONG_CATEGORY and "氧合器" in verdict.user_message()
    assert "离心泵头" in verdict.user_message()
    assert ward.c.devices.bind_scan(ward.run1.id, code, expected_category="pump_head").bound


def test_binding_at_a_procedure_must_be_a_procedure_of_that_run(ward: Ward) -> None:
    receive(ward, oxy(ward))
    now = ward.c.ctx.now()
    with ward.c.uow() as uow:
        row = ProcedureRow(
            run_id=ward.run1.id,
            kind="cannulation",
            started_at=now,
            location="icu",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        uow.session.flush()
        procedure_id = row.id
        uow.commit()
    assert [(p.id, p.kind) for p in ward.c.devices.binding_procedures(ward.run1.id)] == [
        (procedure_id, "cannulation")
    ]
    assert ward.c.devices.binding_procedures(ward.run2.id) == []
    with pytest.raises(ValidationError):
        ward.c.devices.bind_scan(ward.run2.id, oxy(ward), procedure_id=procedure_id)
    bound = ward.c.devices.bind_scan(ward.run1.id, oxy(ward), procedure_id=procedure_id)
    assert bound.usage is not None and bound.usage.procedure_id == procedure_id
    assert [r.serial for r in ward.c.devices.procedure_devices(ward.run1.id, procedure_id)] == [ward.t("SN1")]


def test_records_staff_cannot_bind(ward: Ward) -> None:
    receive(ward, oxy(ward))
    ward.login("sunli")
    with pytest.raises(PermissionDenied):
        ward.c.devices.bind_scan(ward.run1.id, oxy(ward))


def test_a_transient_conflict_is_retried_without_binding_twice(
    ward: Ward, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REL-5: the usage and its audit row roll back together, so the whole retried attempt is safe."""
    item = receive(ward, oxy(ward)).items[0]
    original = SqlAuditRepository.append
    failures = {"left": 1}

    def flaky(self: SqlAuditRepository, **kwargs: Any) -> Any:
        if kwargs["action"] == "bind" and failures["left"]:
            failures["left"] -= 1
            self.session.flush()  # the usage row is in the transaction by now
            raise TransientConflict()
        return original(self, **kwargs)

    monkeypatch.setattr(SqlAuditRepository, "append", flaky)
    since = audit_head(ward.c)
    verdict: ScanVerdict = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert failures["left"] == 0 and verdict.bound
    assert item_usages(ward.c, item.id) == 1
    assert [e.action for e in audit_rows(ward.c, since=since)] == ["bind"]
    ward.login("admin")
    assert ward.c.audit.verify_chain().ok
