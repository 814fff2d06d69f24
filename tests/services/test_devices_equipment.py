"""Capital equipment: consoles and heater-coolers, registered with audit and linked to runs over time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ecmo_desktop.domain.devices import EquipmentInput
from ecmo_desktop.domain.errors import ConcurrencyConflict, PermissionDenied, ValidationError
from ecmo_desktop.services.runs import RunInput
from tests.kit.devices import (  # noqa: F401 - the *_fixture names are fixtures
    Ward,
    audit_head,
    audit_rows,
    set_status,
    ward_db_fixture,
    ward_fixture,
)


def console(w: Ward, serial: str = "CON") -> EquipmentInput:
    return EquipmentInput(
        kind="console",
        model="Cardiohelp",
        manufacturer="Maquet",
        serial=w.t(serial),
        purchase_date=date(2021, 6, 1),
    )


def test_equipment_register_is_validated_unique_and_audited(ward: Ward) -> None:
    ward.login("admin")
    since = audit_head(ward.c)
    eq = ward.c.equipment.add_equipment(console(ward))
    assert eq.active and eq.serial == ward.t("CON")
    with pytest.raises(ValidationError, match="已登记"):
        ward.c.equipment.add_equipment(console(ward))
    with pytest.raises(ValidationError) as bad:
        ward.c.equipment.add_equipment(
            EquipmentInput(kind="pump", model="", serial="", purchase_date=date(2099, 1, 1))
        )
    assert {e.field for e in bad.value.errors} == {"设备类型", "型号", "序列号", "购置日期"}
    moved = ward.c.equipment.update_equipment(
        eq.id,
        EquipmentInput(
            kind="console",
            model="Cardiohelp-i",
            manufacturer="Maquet",
            serial=eq.serial,
            purchase_date=eq.purchase_date,
        ),
        expected_version=eq.version,
    )
    assert moved.model == "Cardiohelp-i"
    with pytest.raises(ConcurrencyConflict):
        ward.c.equipment.update_equipment(eq.id, console(ward), expected_version=eq.version)
    events = audit_rows(ward.c, since=since, entity="equipment")
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].after is not None and events[1].after["model"] == "Cardiohelp-i"
    ward.login("chenjing")
    with pytest.raises(PermissionDenied):
        ward.c.equipment.add_equipment(console(ward, "N"))


def test_a_console_serves_one_run_at_a_time_and_keeps_its_history(ward: Ward) -> None:
    ward.login("admin")
    eq = ward.c.equipment.add_equipment(console(ward))
    heater = ward.c.equipment.add_equipment(
        EquipmentInput(kind="heater_cooler", model="HCU 40", serial=ward.t("HCU"))
    )
    ward.login("zhaolei")
    link = ward.c.equipment.link_equipment(ward.run1.id, eq.id)
    ward.c.equipment.link_equipment(ward.run1.id, heater.id)
    with pytest.raises(ValidationError, match="王建国"):
        ward.c.equipment.link_equipment(ward.run2.id, eq.id)
    with pytest.raises(ValidationError, match="本病例"):
        ward.c.equipment.link_equipment(ward.run1.id, eq.id)
    ward.login("admin")
    with pytest.raises(ValidationError, match="解除关联"):
        ward.c.equipment.set_equipment_active(eq.id, False, reason="报废")
    ward.login("zhaolei")
    ward.db.clock.advance(timedelta(hours=6))
    with pytest.raises(ValidationError):
        ward.c.equipment.unlink_equipment(link.id, at=link.from_at - timedelta(minutes=1))
    ended = ward.c.equipment.unlink_equipment(link.id, reason="转床，换用备用主机")
    assert ended.to_at == ward.db.clock.now() and not ended.current
    with pytest.raises(ValidationError):
        ward.c.equipment.unlink_equipment(link.id)
    second = ward.c.equipment.link_equipment(ward.run2.id, eq.id)
    history = ward.c.equipment.equipment_history(eq.id)
    assert [(h.run_id, h.patient_name, h.current) for h in history] == [
        (ward.run1.id, "王建国", False),
        (ward.run2.id, "李秀英", True),
    ]
    assert {lk.equipment.kind for lk in ward.c.equipment.run_equipment(ward.run1.id) if lk.equipment} == {
        "console",
        "heater_cooler",
    }
    assert [
        (e.action, e.run_id) for e in audit_rows(ward.c, entity="run_equipment", run_id=ward.run2.id)
    ] == [("link", ward.run2.id)]
    ward.c.equipment.unlink_equipment(second.id)
    ward.login("admin")
    retired = ward.c.equipment.set_equipment_active(eq.id, False, reason="报废")
    assert not retired.active and retired not in ward.c.equipment.list_equipment()
    ward.login("zhaolei")
    with pytest.raises(ValidationError, match="已停用"):
        ward.c.equipment.link_equipment(ward.run2.id, eq.id)
    set_status(ward.c, ward.run2.id, "ended")
    with pytest.raises(ValidationError, match="已结束"):
        ward.c.equipment.link_equipment(ward.run2.id, heater.id)
    ward.login("sunli")
    with pytest.raises(PermissionDenied):
        ward.c.equipment.link_equipment(ward.run1.id, heater.id)


def test_the_equipment_list_names_the_run_each_device_serves_now(ward: Ward) -> None:
    ward.login("admin")
    eq = ward.c.equipment.add_equipment(console(ward))
    spare = ward.c.equipment.add_equipment(console(ward, "SPARE"))
    create = audit_rows(ward.c, entity="equipment", action="create")[-1]
    assert create.after is not None and "current_run" not in create.after  # a list-time view, not a record
    ward.login("zhaolei")
    first = ward.c.equipment.link_equipment(ward.run1.id, eq.id)
    ward.db.clock.advance(timedelta(hours=2))
    ward.c.equipment.unlink_equipment(first.id)
    ward.db.clock.advance(timedelta(hours=1))
    now = ward.c.equipment.link_equipment(ward.run2.id, eq.id)

    listed = {e.id: e for e in ward.c.equipment.list_equipment()}
    current = listed[eq.id].current_run
    assert current is not None and listed[spare.id].current_run is None
    assert (
        current.link_id,
        current.run_id,
        current.run_number,
        current.patient_name,
        current.mrn,
        current.since,
    ) == (now.id, ward.run2.id, 1, "李秀英", ward.patient2.mrn, ward.db.clock.now())
    assert len([e for e in ward.c.equipment.list_equipment() if e.id == eq.id]) == 1  # one row per device

    ward.c.equipment.unlink_equipment(now.id)
    ward.login("admin")
    ward.c.equipment.set_equipment_active(eq.id, False, reason="报废")
    retired = next(e for e in ward.c.equipment.list_equipment(include_inactive=True) if e.id == eq.id)
    assert not retired.active and retired.current_run is None


def test_the_run_search_carries_the_patients_ecmo_number(ward: Ward) -> None:
    ward.login("zhangwei")
    found = {r.run_id: r for r in ward.c.runs.search_runs(text=ward.patient1.mrn)}
    assert found[ward.run1.id].run_number == ward.run1.run_number == 1
    set_status(ward.c, ward.run1.id, "ended")
    again = ward.c.runs.open_run(ward.patient1.id, RunInput(mode="VA", indication="ami"))
    numbers = {
        r.run_id: r.run_number
        for r in ward.c.runs.search_runs(text=ward.patient1.mrn)
        if r.patient_id == ward.patient1.id
    }
    assert numbers == {ward.run1.id: 1, again.id: 2}
