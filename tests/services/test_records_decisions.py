"""Decisions to start and wean (R1, R2): recording, signing under the rules, the 12-hour supplement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecmo_desktop.domain.errors import PermissionDenied, RuleViolation, ValidationError
from ecmo_desktop.domain.records import DecisionInput, PhysicianInput
from tests.conftest import PASSWORD
from tests.kit.records import (  # noqa: F401 - the *_fixture names are fixtures
    RecWard,
    rec_db_fixture,
    rw_fixture,
)


def test_r1_signing_a_compliant_decision(rw: RecWard) -> None:
    run = rw.new_run()
    d = rw.decide(run.id)
    assert d.status == "draft" and not d.locked
    assert [p.expert_at_decision for p in d.physicians] == [False, True, True]
    assert d.pre_ecmo["ph"] == 7.21 and d.pre_ecmo["vent_mode"] == "pc"
    assert "ph" in d.abnormal and "lactate" in d.abnormal
    signed = rw.c.records.sign("decision", d.id, PASSWORD)
    assert signed.record.locked and signed.signature.meaning == "author"
    assert signed.signature.signer_name == "张伟"
    after = rw.c.runs.run_detail(run.id).run
    assert after.decided_at == d.decided_at and after.emergency is False


@pytest.mark.parametrize(
    ("team", "missing"),
    [
        (("attending", "expert2"), "至少 3 名医师"),
        (("doctor", "expert2", "expert3"), "经治医师"),
        (("attending", "expert2", "attending2"), "2 名专家组成员"),
    ],
)
def test_r1_signing_a_non_compliant_decision_is_refused(
    rw: RecWard, team: tuple[str, ...], missing: str
) -> None:
    roles = {
        "attending": "attending",
        "doctor": "other",
        "expert2": "expert",
        "expert3": "expert",
        "attending2": "expert",
    }
    ids = dict(rw.ids)
    if "attending2" in team:  # a physician who claims to be an expert but is not a member
        rw.login("admin")
        ids["attending2"] = rw.c.staff.create_staff(
            username=f"att{rw.clock.monotonic():.0f}",
            full_name="周医生",
            title="attending",
            years_in_practice=6,
            roles=["doctor"],
            initial_password=PASSWORD,
        ).id
    run = rw.new_run()
    d = rw.decide(run.id, physicians=tuple(PhysicianInput(ids[k], roles[k]) for k in team))
    with pytest.raises(RuleViolation) as exc:
        rw.c.records.sign("decision", d.id, PASSWORD)
    assert exc.value.rule == "R1"
    assert missing in exc.value.user_message()
    assert not rw.c.records.get_record("decision", d.id).locked
    assert rw.c.compliance.run_checklist(run.id).status_of("R1") == "fail"


def test_r1_expert_membership_is_judged_at_the_time_of_the_decision(rw: RecWard) -> None:
    run = rw.new_run()
    # the experts joined the group at START; a decision taken the evening before did not have them
    d = rw.decide(run.id, at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert [p.expert_at_decision for p in d.physicians] == [False, False, False]
    with pytest.raises(RuleViolation):
        rw.c.records.sign("decision", d.id, PASSWORD)


def test_weaning_decision_follows_r1_when_not_emergency(rw: RecWard) -> None:
    run = rw.on_ecmo()
    rw.clock.advance(timedelta(days=3))
    bad = rw.decide(
        run.id, kind="wean", at=rw.at(days=3), physicians=(PhysicianInput(rw.ids["doctor"], "expert"),)
    )
    with pytest.raises(RuleViolation):
        rw.c.records.sign("decision", bad.id, PASSWORD)
    wean = rw.c.records.amend_decision(
        bad.id,
        DecisionInput(kind="wean", decided_at=rw.at(days=3), physicians=rw.team()),
        reason="补全决策医师",
    )
    assert rw.c.records.sign("decision", wean.id, PASSWORD).record.locked


def test_wean_decision_before_start_is_refused(rw: RecWard) -> None:
    run = rw.new_run()
    with pytest.raises(ValidationError) as exc:
        rw.decide(run.id, kind="wean")
    assert "尚未上机" in exc.value.user_message()


def test_non_physicians_cannot_be_deciders(rw: RecWard) -> None:
    run = rw.new_run()
    with pytest.raises(ValidationError) as exc:
        rw.decide(run.id, physicians=(*rw.team(), PhysicianInput(rw.ids["nurse"], "other")))
    assert "不是医师" in exc.value.user_message()


def test_a_second_start_decision_is_refused(rw: RecWard) -> None:
    run = rw.new_run()
    rw.decide(run.id)
    with pytest.raises(ValidationError):
        rw.decide(run.id)


def test_pre_ecmo_values_are_validated_by_name(rw: RecWard) -> None:
    run = rw.new_run()
    rw.login("zhangwei")
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_decision(
            run.id,
            DecisionInput(
                kind="start", decided_at=rw.at(hours=-1), physicians=rw.team(), pre_ecmo={"ph": "8.3"}
            ),
        )
    assert "pH" in exc.value.user_message()
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_decision(
            run.id,
            DecisionInput(
                kind="start",
                decided_at=rw.at(hours=-1),
                physicians=rw.team(),
                pre_ecmo={"cpr_minutes": "abc"},
            ),
        )
    assert "心肺复苏持续时间" in exc.value.user_message()


def test_nurse_cannot_record_a_decision(rw: RecWard) -> None:
    run = rw.new_run()
    rw.login("chenjing")
    with pytest.raises(PermissionDenied):
        rw.c.records.record_decision(
            run.id, DecisionInput(kind="start", decided_at=rw.at(hours=-1), physicians=rw.team())
        )


# ---- R2 ---------------------------------------------------------------------------------------------------
def test_r2_emergency_start_by_one_qualified_expert(rw: RecWard) -> None:
    run = rw.new_run(emergency=True)
    d = rw.decide(run.id, emergency=True)
    assert rw.c.records.sign("decision", d.id, PASSWORD).record.locked


def test_r2_emergency_start_by_an_attending_is_refused(rw: RecWard) -> None:
    run = rw.new_run(emergency=True)
    d = rw.decide(run.id, emergency=True, physicians=(PhysicianInput(rw.ids["attending"], "attending"),))
    with pytest.raises(RuleViolation) as exc:
        rw.c.records.sign("decision", d.id, PASSWORD)
    assert exc.value.rule == "R2"
    assert rw.c.compliance.run_checklist(run.id).status_of("R2") == "fail"


def test_r2_twelve_hour_deadline_pending_then_overdue_across_midnight(rw: RecWard) -> None:
    # first flow at 20:30 Beijing time: the supplement is due at 08:30 the next morning
    flow = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
    rw.clock.set(flow + timedelta(minutes=10))
    run = rw.new_run(emergency=True)
    d = rw.decide(run.id, emergency=True, at=flow - timedelta(minutes=30))
    rw.cannulate(run.id, at=flow - timedelta(minutes=25))
    status = rw.c.records.supplement_status(run.id)
    assert status.deadline == datetime(2026, 3, 3, 0, 30, tzinfo=UTC)
    assert status.state == "pending" and status.remaining == timedelta(hours=11, minutes=50)
    items = [i for i in rw.c.worklist.items() if i.run_id == run.id and i.kind.startswith("supplement")]
    assert [i.kind for i in items] == ["supplement_due"]
    assert rw.c.compliance.run_checklist(run.id).status_of("R2") == "pending"

    rw.clock.set(datetime(2026, 3, 2, 16, 5, tzinfo=UTC))  # 00:05 Beijing, the next calendar day
    assert rw.c.records.supplement_status(run.id).state == "pending"
    rw.clock.set(datetime(2026, 3, 3, 0, 31, tzinfo=UTC))  # 08:31 Beijing
    status = rw.c.records.supplement_status(run.id)
    assert status.state == "overdue" and status.remaining == timedelta(minutes=-1)
    assert rw.c.compliance.run_checklist(run.id).status_of("R2") == "fail"
    items = [i for i in rw.c.worklist.items() if i.run_id == run.id and i.kind.startswith("supplement")]
    assert [i.kind for i in items] == ["supplement_overdue"] and items[0].urgency == 0

    # a supplement decided late stays a violation, but clears the to-do once signed
    late = rw.decide(run.id, at=rw.clock.now(), supplement_of_id=d.id)
    rw.c.records.sign("decision", late.id, PASSWORD)
    assert rw.c.records.supplement_status(run.id).state == "overdue"
    assert not [i for i in rw.c.worklist.items() if i.run_id == run.id and i.kind.startswith("supplement")]


def test_r2_supplement_within_twelve_hours_passes(rw: RecWard) -> None:
    run = rw.new_run(emergency=True)
    d = rw.decide(run.id, emergency=True, at=rw.at(hours=-2))
    rw.c.records.sign("decision", d.id, PASSWORD)
    rw.cannulate(run.id, at=rw.at(hours=-1, minutes=-30))
    rw.clock.advance(timedelta(hours=6))
    supplement = rw.decide(run.id, at=rw.at(hours=5), supplement_of_id=d.id)
    assert rw.c.records.supplement_status(run.id).state == "met"
    assert rw.c.compliance.run_checklist(run.id).status_of("R2") == "pending"  # not signed yet
    rw.c.records.sign("decision", supplement.id, PASSWORD)
    rw.clock.advance(timedelta(days=2))
    checklist = rw.c.compliance.run_checklist(run.id)
    assert checklist.status_of("R2") == "pass"
    assert checklist.status_of("R1") == "pending"  # the weaning decision is still to come


def test_r2_supplement_must_meet_r1_and_belong_to_the_emergency(rw: RecWard) -> None:
    run = rw.new_run(emergency=True)
    d = rw.decide(run.id, emergency=True, at=rw.at(hours=-2))
    rw.cannulate(run.id, at=rw.at(hours=-1, minutes=-30))
    thin = rw.decide(
        run.id,
        at=rw.at(hours=-1),
        supplement_of_id=d.id,
        physicians=(PhysicianInput(rw.ids["doctor"], "expert"),),
    )
    with pytest.raises(RuleViolation) as exc:
        rw.c.records.sign("decision", thin.id, PASSWORD)
    assert exc.value.rule == "R1"
    assert rw.c.records.supplement_status(run.id).state == "pending"
    other = rw.new_run()
    plain = rw.decide(other.id)
    with pytest.raises(ValidationError):
        rw.decide(run.id, supplement_of_id=plain.id)
