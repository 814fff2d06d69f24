"""Consent (R4), cannulation and the other procedures (R3), mode timeline and the end of ECMO."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ecmo_desktop.domain.errors import PermissionDenied, RuleViolation, ValidationError
from ecmo_desktop.domain.records import CannulaInput, EndInput, StaffInput
from tests.conftest import PASSWORD
from tests.kit.records import (  # noqa: F401 - the *_fixture names are fixtures
    RecWard,
    rec_db_fixture,
    rw_fixture,
)


# ---- R4 ---------------------------------------------------------------------------------------------------
def test_r4_non_emergency_cannulation_without_consent_is_refused(rw: RecWard) -> None:
    run = rw.new_run()
    rw.decide(run.id)
    with pytest.raises(RuleViolation) as exc:
        rw.cannulate(run.id)
    assert exc.value.rule == "R4"
    assert rw.c.runs.run_detail(run.id).run.status == "planned"
    assert rw.c.compliance.run_checklist(run.id).status_of("R4") == "pending"
    rw.consent(run.id)
    proc = rw.cannulate(run.id)
    assert proc.kind == "cannulation"
    assert rw.c.compliance.run_checklist(run.id).status_of("R4") == "pass"


def test_r4_consent_signed_after_the_start_does_not_count(rw: RecWard) -> None:
    run = rw.new_run()
    rw.decide(run.id)
    rw.consent(run.id, at=rw.at(minutes=-10))
    with pytest.raises(RuleViolation) as exc:
        rw.cannulate(run.id, at=rw.at(hours=-1))
    assert exc.value.rule == "R4"


def test_r4_refusal_blocks_even_an_emergency_start(rw: RecWard) -> None:
    run = rw.new_run(emergency=True)
    rw.decide(run.id, emergency=True)
    rw.consent(run.id, refused=True)
    with pytest.raises(RuleViolation) as exc:
        rw.cannulate(run.id)
    assert "拒绝" in exc.value.user_message()


def test_r4_emergency_start_without_consent_is_allowed_but_flagged(rw: RecWard) -> None:
    run = rw.on_ecmo(emergency=True)
    assert run.status == "on_ecmo"
    checklist = rw.c.compliance.run_checklist(run.id)
    assert checklist.status_of("R4") == "pending"
    flagged = [i for i in rw.c.worklist.items() if i.run_id == run.id and i.kind == "missing_consent"]
    assert len(flagged) == 1
    rw.consent(run.id, at=rw.at(minutes=-5))
    assert rw.c.compliance.run_checklist(run.id).status_of("R4") == "pass"
    assert not [i for i in rw.c.worklist.items() if i.run_id == run.id and i.kind == "missing_consent"]


def test_cannulation_needs_a_start_decision(rw: RecWard) -> None:
    run = rw.new_run()
    rw.consent(run.id)
    with pytest.raises(RuleViolation) as exc:
        rw.cannulate(run.id)
    assert exc.value.rule == "R1"


# ---- cannulation and R3 -----------------------------------------------------------------------------------
def test_cannulation_starts_ecmo(rw: RecWard) -> None:
    run = rw.new_run(mode="VA")
    rw.decide(run.id)
    rw.consent(run.id)
    proc = rw.cannulate(run.id, at=rw.at(hours=-1))
    after = rw.c.runs.run_detail(run.id).run
    assert after.status == "on_ecmo"
    assert after.started_at == proc.flow_at == rw.at(minutes=-35)
    assert [c.size_fr for c in proc.cannulae] == [23, 17, 8]
    assert proc.settings == {"rpm": 3200, "blood_flow": 3.8, "sweep": 3.5, "fdo2": 1.0, "heparin_bolus": 80}
    assert next(s.role for s in proc.staff) == "operator" and proc.operators[0].privileged_at_start
    assert rw.c.compliance.run_checklist(run.id).status_of("R3") == "pass"
    with pytest.raises(ValidationError):  # only one cannulation per run
        rw.cannulate(run.id)


def test_r3_operator_without_privilege_is_refused(rw: RecWard) -> None:
    rw.login("admin")
    resident = rw.c.staff.create_staff(
        username=f"res{rw.clock.monotonic():.0f}",
        full_name="住院医师甲",
        title="resident",
        years_in_practice=2,
        roles=["doctor"],
        initial_password=PASSWORD,
    )
    rw.ids["resident"] = resident.id
    run = rw.new_run()
    rw.decide(run.id)
    rw.consent(run.id)
    with pytest.raises(RuleViolation) as exc:
        rw.cannulate(run.id, operator="resident")
    assert exc.value.rule == "R3" and "住院医师甲" in exc.value.user_message()
    assert rw.c.runs.run_detail(run.id).run.status == "planned"


def test_r3_privilege_revoked_before_the_procedure(rw: RecWard) -> None:
    rw.login("admin")
    privilege = rw.c.staff.privileges(rw.ids["attending"])[0]
    rw.clock.set(rw.at(hours=-2))
    rw.c.staff.revoke_privilege(privilege.id, reason="暂停授权")
    rw.clock.set(rw.at())
    try:
        run = rw.new_run()
        rw.decide(run.id)
        rw.consent(run.id, at=rw.at(hours=-2, minutes=-50))
        with pytest.raises(RuleViolation) as exc:
            rw.cannulate(run.id, operator="attending", at=rw.at(hours=-1))
        assert exc.value.rule == "R3"
        # a procedure before the revocation was legitimate
        proc = rw.cannulate(run.id, operator="attending", at=rw.at(hours=-2, minutes=-30))
        assert proc.operators[0].privileged_at_start
    finally:
        rw.login("admin")
        rw.c.staff.grant_privilege(rw.ids["attending"], granted_at=rw.at(hours=-1))


def test_cannula_and_settings_validation_names_the_field(rw: RecWard) -> None:
    run = rw.new_run()
    rw.decide(run.id)
    rw.consent(run.id)
    with pytest.raises(ValidationError) as exc:
        rw.cannulate(run.id, cannulae=(CannulaInput("drainage", "femoral_vein", "R", 40),))
    assert "插管型号" in exc.value.user_message()
    with pytest.raises(ValidationError) as exc:
        rw.cannulate(run.id, settings={"rpm": "abc", "sweep": 20})
    message = exc.value.user_message()
    assert "泵转速" in message and "气流量" in message
    with pytest.raises(ValidationError) as exc:
        rw.cannulate(run.id, staff=(StaffInput(rw.ids["attending"], "assistant"),))
    assert "术者" in exc.value.user_message()
    proc = rw.cannulate(
        run.id,
        cannulae=(
            CannulaInput("drainage", "femoral_vein", "R", 17),
            CannulaInput("return", "femoral_artery", "L", 17),
        ),
    )
    assert proc.abnormal == ("cannula1.size_fr",)


def test_mode_change_keeps_the_timeline(rw: RecWard) -> None:
    run = rw.on_ecmo(mode="VV", at=rw.at(hours=-2))
    rw.clock.advance(timedelta(days=2))
    proc = rw.c.records.record_mode_change(
        run.id,
        rw.procedure_input(
            started=rw.at(days=2),
            mode_after="VVA",
            reason="循环衰竭，加做动脉回输",
            cannulae=(CannulaInput("return", "femoral_artery", "L", 17),),
            settings={},
        ),
    )
    assert proc.mode_before == "VV" and proc.mode_after == "VVA"
    assert rw.c.runs.run_detail(run.id).run.mode == "VVA"
    timeline = rw.c.records.mode_timeline(run.id)
    assert [(s.mode, s.to_at is None) for s in timeline] == [("VV", False), ("VVA", True)]
    assert timeline[0].to_at == timeline[1].from_at == rw.at(days=2)
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_mode_change(
            run.id,
            rw.procedure_input(started=rw.at(days=2, hours=1), mode_after="VVA", reason="x", settings={}),
        )
    assert "相同" in exc.value.user_message()


def test_circuit_change_needs_a_reason_and_a_privileged_operator(rw: RecWard) -> None:
    run = rw.on_ecmo()
    rw.clock.advance(timedelta(days=1))
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_circuit_change(run.id, rw.procedure_input(started=rw.at(days=1), cannulae=()))
    assert "原因" in exc.value.user_message()
    proc = rw.c.records.record_circuit_change(
        run.id, rw.procedure_input(started=rw.at(days=1), cannulae=(), reason="氧合器血栓，跨膜压升高")
    )
    assert proc.kind == "circuit_change"
    assert rw.c.compliance.run_checklist(run.id).status_of("R3") == "pass"


# ---- end of ECMO and follow-up schedule -------------------------------------------------------------------
def test_weaned_run_ends_after_decannulation_and_gets_its_follow_up_schedule(rw: RecWard) -> None:
    run = rw.on_ecmo(at=rw.at(hours=-1))
    rw.clock.advance(timedelta(days=6))
    with pytest.raises(ValidationError) as exc:
        rw.c.records.end_ecmo(run.id, EndInput(ended_at=rw.at(days=6), reason="weaned"))
    assert "拔管" in exc.value.user_message()
    rw.c.records.record_decannulation(
        run.id,
        rw.procedure_input(
            started=rw.at(days=6, hours=-1),
            cannulae=(),
            reason="心功能恢复，撤机试验通过",
            technique="cutdown",
        ),
    )
    ended = rw.c.records.end_ecmo(run.id, EndInput(ended_at=rw.at(days=6), reason="weaned"))
    assert (ended.status, ended.end_reason, ended.ended_at) == ("ended", "weaned", rw.at(days=6))
    chart = rw.c.records.chart(run.id)
    # ECMO start 2026-03-02 11:00 Beijing; end 2026-03-08; listed by due date
    assert [(f.kind, f.due_date, f.fu_status) for f in chart.follow_ups] == [
        ("discharge", date(2026, 3, 8), "due"),
        ("d28", date(2026, 3, 30), "due"),
        ("d90", date(2026, 5, 31), "due"),
        ("d180", date(2026, 8, 29), "due"),
        ("y1", date(2027, 3, 2), "due"),
    ]
    with pytest.raises(ValidationError):
        rw.c.records.record_circuit_change(run.id, rw.procedure_input(started=rw.at(days=6), reason="x"))


def test_death_on_ecmo_closes_every_follow_up(rw: RecWard) -> None:
    run = rw.on_ecmo()
    rw.clock.advance(timedelta(days=2))
    ended = rw.c.records.end_ecmo(run.id, EndInput(ended_at=rw.at(days=2), reason="died"))
    assert (
        ended.date_of_death == rw.at(days=2)
        and ended.discharged_alive is False
        and ended.survived_28d is False
    )
    follow_ups = rw.c.records.chart(run.id).follow_ups
    assert {(f.fu_status, f.vital_status) for f in follow_ups} == {("done", "dead")}
    assert [f.discharge_disposition for f in follow_ups if f.kind == "discharge"] == ["died"]
    assert not [i for i in rw.c.worklist.items() if i.run_id == run.id and i.kind.startswith("follow_up")]


def test_records_staff_cannot_chart_and_nurse_cannot_cannulate(rw: RecWard) -> None:
    run = rw.new_run()
    rw.decide(run.id)
    rw.login("sunli")
    with pytest.raises(PermissionDenied):
        rw.c.records.record_cannulation(run.id, rw.procedure_input(started=rw.at(hours=-1), flow=rw.at()))
    rw.login("chenjing")
    with pytest.raises(PermissionDenied):
        rw.c.records.record_cannulation(run.id, rw.procedure_input(started=rw.at(hours=-1), flow=rw.at()))


def test_correcting_the_first_flow_time_moves_the_run_and_its_derived_values(rw: RecWard) -> None:
    """An amended cannulation re-derives ECMO start, ECMO day and the R2 deadline; signatures on the
    daily entries stay valid (derived values are not signed content)."""
    from ecmo_desktop.domain.records import DailyEntryInput

    flow = datetime(2026, 3, 2, 15, 50, tzinfo=UTC)  # 23:50 Beijing
    rw.clock.set(flow + timedelta(hours=3))
    run = rw.new_run(emergency=True)
    rw.decide(run.id, emergency=True, at=flow - timedelta(minutes=40))
    proc = rw.cannulate(run.id, at=flow - timedelta(minutes=25))
    rw.login("chenjing")
    entry = rw.c.records.record_daily_entry(
        run.id, DailyEntryInput(recorded_at=flow + timedelta(minutes=30), values={"hr": 100})
    )
    assert entry.ecmo_day == 1  # 00:20 the next Beijing day
    rw.c.records.sign("daily_entry", entry.id, PASSWORD)
    rw.login("zhangwei")
    rw.c.records.sign("procedure", proc.id, PASSWORD)
    earlier = flow - timedelta(minutes=20)  # 23:30 Beijing
    data = rw.procedure_input(started=flow - timedelta(minutes=45), flow=earlier)
    rw.c.records.amend_procedure(proc.id, data, reason="首次转流时间记录有误")
    after = rw.c.runs.run_detail(run.id).run
    assert after.started_at == earlier
    assert rw.c.records.get_record("daily_entry", entry.id).ecmo_day == 1
    assert rw.c.records.supplement_status(run.id).deadline == earlier + timedelta(hours=12)
    later = flow + timedelta(minutes=15)  # 00:05 Beijing: the entry is now on day 0
    rw.c.records.amend_procedure(
        proc.id,
        rw.procedure_input(started=flow - timedelta(minutes=45), flow=later),
        reason="再次核对监护记录",
    )
    assert rw.c.records.get_record("daily_entry", entry.id).ecmo_day == 0
    rw.login("admin")
    check = rw.c.records.verify_signatures(run_id=run.id)
    assert check.ok, check.problems
