"""R6 after a void: voiding corrects a wrong record, it never makes a used single-use item usable.

A retired binding (the item was in the circuit) and a binding on a closed run (the run is over, its
items were used) stay *used* when voided; the R6 index, not only the service, keeps them out of any
other run. A wrong scan voided on an open run still frees the item (that is what voiding is for).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert

from ecmo_desktop.domain.devices import VerdictKind
from ecmo_desktop.domain.errors import IntegrityConflict
from ecmo_desktop.services.devices import R6_CONSTRAINTS, DeviceService
from ecmo_desktop.storage.orm.devices import UsageRow
from tests.kit.devices import (  # noqa: F401 - the *_fixture names are fixtures
    LATER,
    OXY_GTIN,
    Ward,
    audit_head,
    audit_rows,
    label,
    receive,
    set_status,
    ward_db_fixture,
    ward_fixture,
)


def oxy(w: Ward, serial: str = "SN1", expiry: date = LATER) -> str:
    return label(OXY_GTIN, serial=w.t(serial), lot=w.t("L1"), expiry=expiry)


def test_voiding_a_retired_binding_keeps_the_item_used(ward: Ward) -> None:
    receive(ward, oxy(ward))
    bound = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert bound.usage is not None
    ward.db.clock.advance(timedelta(days=2))
    ward.c.devices.retire_usage(bound.usage.id, "更换氧合器")
    since = audit_head(ward.c)
    voided = ward.c.devices.void_usage(bound.usage.id, "记录有误")
    assert voided.voided
    again = ward.c.devices.bind_scan(ward.run2.id, oxy(ward))
    assert again.kind is VerdictKind.BLOCKED_REUSED and again.rule == "R6"
    assert again.holder is not None and again.holder.run_id == ward.run1.id
    void_row = audit_rows(ward.c, since=since, action="void")[0]
    assert void_row.after is not None and void_row.after["item_spent"] is True


def test_voiding_a_binding_of_a_closed_run_keeps_the_item_used(ward: Ward) -> None:
    receive(ward, oxy(ward))
    bound = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert bound.usage is not None
    set_status(ward.c, ward.run1.id, "ended")
    ward.c.devices.void_usage(bound.usage.id, "记录有误")
    assert ward.c.devices.bind_scan(ward.run2.id, oxy(ward)).kind is VerdictKind.BLOCKED_REUSED


def test_the_index_alone_refuses_a_spent_item(ward: Ward, monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control of the service look-up: with it blinded, the index still refuses."""
    item = receive(ward, oxy(ward)).items[0]
    bound = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert bound.usage is not None
    ward.db.clock.advance(timedelta(hours=5))
    ward.c.devices.retire_usage(bound.usage.id, "更换氧合器")
    ward.c.devices.void_usage(bound.usage.id, "记录有误")
    with pytest.raises(IntegrityConflict) as caught, ward.c.uow() as uow:
        uow.session.execute(
            insert(UsageRow).values(
                item_id=item.id,
                run_id=ward.run2.id,
                single_use=True,
                bound_at=ward.db.clock.now(),
                bound_by_id=bound.usage.bound_by_id,
                scanned_text="raw",
                warnings="",
            )
        )
        uow.flush()
    assert caught.value.constraint in R6_CONSTRAINTS
    monkeypatch.setattr(DeviceService, "_precheck_reuse", lambda self, holder: None)
    assert ward.c.devices.bind_scan(ward.run2.id, oxy(ward)).kind is VerdictKind.BLOCKED_REUSED


def test_a_wrong_scan_voided_on_an_open_run_frees_the_item(ward: Ward) -> None:
    receive(ward, oxy(ward))
    bound = ward.c.devices.bind_scan(ward.run1.id, oxy(ward))
    assert bound.usage is not None
    voided = ward.c.devices.void_usage(bound.usage.id, "扫错患者")
    assert voided.voided
    assert ward.c.devices.bind_scan(ward.run2.id, oxy(ward)).bound
