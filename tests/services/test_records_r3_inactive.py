"""R3: the privilege of a deactivated account is not valid — such a doctor is refused as operator.

An operator already on a record stays when the record is corrected later (the person was active
when the procedure was done); only naming a deactivated doctor as operator is refused.
"""

from __future__ import annotations

import pytest

from ecmo_desktop.domain.errors import RuleViolation
from tests.conftest import PASSWORD
from tests.kit.records import (  # noqa: F401 - the *_fixture names are fixtures
    RecWard,
    rec_db_fixture,
    rw_fixture,
)


def _privileged_doctor(rw: RecWard, key: str) -> int:
    rw.login("admin")
    doc = rw.c.staff.create_staff(
        username=f"{key}{rw.clock.monotonic():.0f}",
        full_name=f"医师{key}",
        title="attending",
        years_in_practice=8,
        roles=["doctor"],
        initial_password=PASSWORD,
        ecmo_trained=True,
    )
    rw.c.staff.grant_privilege(doc.id, granted_at=rw.at(days=-30))
    rw.ids[key] = doc.id
    return doc.id


def test_a_deactivated_doctor_with_a_valid_privilege_is_refused_as_operator(rw: RecWard) -> None:
    doc = _privileged_doctor(rw, "gone")
    rw.c.staff.set_active(doc, False, reason="离职")
    assert any(p.valid_at(rw.at(hours=-1)) for p in rw.c.staff.privileges(doc))  # the grant itself is open
    run = rw.new_run()
    rw.decide(run.id)
    rw.consent(run.id)
    with pytest.raises(RuleViolation) as exc:
        rw.cannulate(run.id, operator="gone")
    assert (
        exc.value.rule == "R3"
        and "医师gone" in exc.value.user_message()
        and "停用" in exc.value.user_message()
    )
    assert rw.c.runs.run_detail(run.id).run.status == "planned"


def test_an_operator_deactivated_later_stays_on_a_corrected_record(rw: RecWard) -> None:
    doc = _privileged_doctor(rw, "left")
    run = rw.new_run()
    rw.decide(run.id)
    rw.consent(run.id)
    proc = rw.cannulate(run.id, operator="left")
    rw.login("admin")
    rw.c.staff.set_active(doc, False, reason="离职")
    rw.login("zhangwei")
    started = proc.started_at
    data = rw.procedure_input(started=started, flow=proc.flow_at, operator="left", notes="补充：穿刺顺利")
    amended = rw.c.records.amend_procedure(proc.id, data, reason="补充备注")
    assert amended.notes == "补充：穿刺顺利" and amended.operators[0].staff_id == doc
