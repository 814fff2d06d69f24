"""The regulation's rules as pure functions (R1–R4, R11–R14), the follow-up schedule and content hashing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from ecmo_desktop.domain.case import PhysicianInfo, SignatureInfo, StaffRef
from ecmo_desktop.domain.compliance import follow_up_schedule, follow_up_state
from ecmo_desktop.domain.model import Staff, TrainingRecord
from ecmo_desktop.domain.records import (
    Consent,
    DecisionPhysician,
    FollowUp,
    ProcedureStaff,
    canonical_content,
    content_hash,
    ecmo_day,
)
from ecmo_desktop.domain.rules import (
    FAIL,
    PASS,
    PENDING,
    consent_result,
    emergency_decider,
    expert_group_complete,
    joint_decision,
    lead_eligibility,
    privileged_operators,
    staffing,
    supplement_deadline,
    supplement_result,
    supplement_state,
    training_complete,
    training_months,
)

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def doc(
    staff_id: int, role: str, *, title: str = "associate_chief", expert: bool = False
) -> DecisionPhysician:
    return DecisionPhysician(staff_id, f"医师{staff_id}", title, role, expert)


def staff(
    staff_id: int = 1, *, title: str = "attending", years: int = 10, trained: bool = True, active: bool = True
) -> Staff:
    return Staff(
        staff_id,
        f"u{staff_id}",
        f"人员{staff_id}",
        title,
        "ICU",
        years,
        frozenset({"doctor"}),
        active,
        False,
        False,
        trained,
        1,
    )


# ---- R1 ---------------------------------------------------------------------------------------------------
def test_r1_passes_with_attending_and_two_experts() -> None:
    result = joint_decision(
        [doc(1, "attending", title="attending"), doc(2, "expert", expert=True), doc(3, "expert", expert=True)]
    )
    assert result.status == PASS
    assert result.params == {"n": 3, "a": 1, "e": 2}


@pytest.mark.parametrize(
    ("physicians", "missing"),
    [
        ([doc(1, "attending", title="attending"), doc(2, "expert", expert=True)], "至少 3 名医师"),
        ([doc(1, "other"), doc(2, "expert", expert=True), doc(3, "expert", expert=True)], "经治医师"),
        (
            [doc(1, "attending", title="attending"), doc(2, "expert", expert=True), doc(3, "other")],
            "2 名专家组成员",
        ),
        # listed as expert, but not a member when the decision was taken
        (
            [doc(1, "attending", title="attending"), doc(2, "expert", expert=True), doc(3, "expert")],
            "不是专家组成员",
        ),
        # the same physician listed twice counts once
        (
            [
                doc(1, "attending", title="attending"),
                doc(2, "expert", expert=True),
                doc(2, "expert", expert=True),
            ],
            "至少 3 名医师",
        ),
        # a nurse is not a physician
        (
            [
                doc(1, "attending", title="attending"),
                doc(2, "expert", expert=True),
                doc(3, "expert", expert=True, title="nurse_chief"),
            ],
            "至少 3 名医师",
        ),
    ],
)
def test_r1_fails_naming_what_is_missing(physicians: list[DecisionPhysician], missing: str) -> None:
    result = joint_decision(physicians)
    assert result.status == FAIL
    assert missing in result.text()


def test_r1_attending_who_is_also_an_expert_counts_for_both() -> None:
    result = joint_decision(
        [doc(1, "attending", expert=True), doc(2, "expert", expert=True), doc(3, "other")]
    )
    assert result.status == PASS


# ---- R2 ---------------------------------------------------------------------------------------------------
def test_r2_one_expert_associate_chief_may_decide_an_emergency() -> None:
    assert emergency_decider([doc(1, "expert", expert=True)]).status == PASS
    assert emergency_decider([doc(1, "expert", title="chief", expert=True)]).status == PASS


@pytest.mark.parametrize(
    "physician",
    [
        doc(1, "attending", title="attending", expert=True),  # title too low
        doc(1, "expert", expert=False),  # not a member
        doc(1, "expert", title="nurse_chief", expert=True),  # not a physician
    ],
)
def test_r2_emergency_decider_refused(physician: DecisionPhysician) -> None:
    assert emergency_decider([physician]).status == FAIL


def test_r2_deadline_counts_from_first_flow_and_crosses_midnight() -> None:
    start = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)  # 20:30 in Beijing
    deadline = supplement_deadline(start)
    assert deadline == datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # 08:30 the next Beijing day
    state, remaining = supplement_state(deadline, None, start + timedelta(hours=11, minutes=59))
    assert (state, remaining) == (PENDING, timedelta(minutes=1))
    state, remaining = supplement_state(deadline, None, start + timedelta(hours=12))
    assert state == "overdue" and remaining == timedelta(0)
    assert supplement_state(deadline, start + timedelta(hours=12), start + timedelta(days=3))[0] == "met"
    assert supplement_state(deadline, start + timedelta(hours=13), start + timedelta(days=3))[0] == "overdue"
    assert supplement_state(None, None, start)[0] == PENDING


def test_r2_result_texts() -> None:
    deadline = T0 + timedelta(hours=12)
    pending = supplement_result(deadline, None, False, T0 + timedelta(hours=9, minutes=15))
    assert pending.status == PENDING and pending.params == {"hours": 2, "minutes": 45}
    late = supplement_result(deadline, None, False, T0 + timedelta(hours=13, minutes=5))
    assert late.status == FAIL and late.params == {"hours": 1, "minutes": 5}
    assert (
        supplement_result(deadline, T0 + timedelta(hours=2), False, T0 + timedelta(hours=20)).status
        == PENDING
    )
    assert supplement_result(deadline, T0 + timedelta(hours=2), True, T0 + timedelta(hours=20)).status == PASS


# ---- R3 ---------------------------------------------------------------------------------------------------
def test_r3_operators_must_be_privileged() -> None:
    ok = ProcedureStaff(StaffRef(1, "张伟", "associate_chief"), "operator", True)
    no = ProcedureStaff(StaffRef(2, "刘洋", "attending"), "operator", False)
    assert privileged_operators([ok]).status == PASS
    result = privileged_operators([ok, no])
    assert result.status == FAIL and "刘洋" in result.text()
    assert privileged_operators([]).status == FAIL


# ---- R4 ---------------------------------------------------------------------------------------------------
def _consent(at: datetime, *, refused: bool = False) -> Consent:
    return Consent(
        id=1,
        run_id=1,
        status="draft",
        version=1,
        created_at=at,
        created_by_id=1,
        created_by_name="",
        updated_at=at,
        signed_at=None,
        explained_by=StaffRef(1, "", "attending"),
        signer_name="李某",
        relationship="spouse",
        signed_on_paper_at=at,
        refused=refused,
        notes="",
    )


def test_r4_consent() -> None:
    start = T0 + timedelta(hours=2)
    assert consent_result(emergency=False, consents=[_consent(T0)], started_at=start).status == PASS
    assert consent_result(emergency=False, consents=[], started_at=None).status == PENDING
    assert consent_result(emergency=False, consents=[], started_at=start).status == FAIL
    assert (
        consent_result(
            emergency=False, consents=[_consent(start + timedelta(hours=1))], started_at=start
        ).status
        == FAIL
    )
    assert consent_result(emergency=True, consents=[], started_at=start).status == PENDING
    assert (
        consent_result(
            emergency=True, consents=[_consent(start + timedelta(hours=1))], started_at=start
        ).status
        == PASS
    )
    assert (
        consent_result(emergency=False, consents=[_consent(T0, refused=True)], started_at=None).status == FAIL
    )


# ---- R11–R14 ----------------------------------------------------------------------------------------------
def test_r11_staffing() -> None:
    team = [staff(1), staff(2, title="chief"), replace(staff(3, title="nurse"), roles=frozenset({"nurse"}))]
    assert staffing(team).status == PASS
    assert staffing(team[:2]).status == FAIL
    assert (
        staffing([staff(1), staff(2, title="nurse"), staff(3, title="nurse")]).status == FAIL
    )  # one physician
    assert staffing([*team[:2], staff(3, title="nurse", trained=False)]).status == FAIL


def test_r12_lead_title() -> None:
    assert lead_eligibility(staff(title="associate_chief")).status == PASS
    assert lead_eligibility(staff(title="attending")).status == FAIL
    assert lead_eligibility(staff(title="nurse_chief")).status == FAIL


def test_r13_expert_group() -> None:
    good = [staff(i, title="associate_chief", years=8) for i in range(3)]
    assert expert_group_complete(good).status == PASS
    assert expert_group_complete([*good[:2], staff(9, title="associate_chief", years=7)]).status == FAIL
    assert expert_group_complete([*good[:2], staff(9, title="attending", years=20)]).status == FAIL


def _training(start: date, end: date) -> TrainingRecord:
    return TrainingRecord(1, 1, "安贞", start, end, True, "")


def test_r14_training_months_merge_overlaps() -> None:
    assert training_months([_training(date(2025, 1, 1), date(2025, 3, 31))]) == pytest.approx(3.0, abs=0.1)
    overlapping = [
        _training(date(2025, 1, 1), date(2025, 2, 28)),
        _training(date(2025, 2, 1), date(2025, 3, 31)),
    ]
    assert training_months(overlapping) == training_months([_training(date(2025, 1, 1), date(2025, 3, 31))])
    assert training_months([]) == 0


def test_r14_training_complete() -> None:
    assert training_complete(staff(title="attending"), 3.0, 5).status == PASS
    assert "3 个月" in training_complete(staff(title="attending"), 2.9, 5).text()
    assert "5 例" in training_complete(staff(title="attending"), 6, 4).text()
    assert "主治医师" in training_complete(staff(title="resident"), 6, 9).text()


# ---- schedule, ECMO day, hashing ----------------------------------------------------------------------
def test_follow_up_schedule_counts_from_first_flow_in_beijing_days() -> None:
    start = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)  # 2026-03-01 01:00 in Beijing
    end = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    assert follow_up_schedule(start, end) == [
        ("d28", date(2026, 3, 29)),
        ("discharge", date(2026, 3, 10)),
        ("d90", date(2026, 5, 30)),
        ("d180", date(2026, 8, 28)),
        ("y1", date(2027, 3, 1)),
    ]
    leap = datetime(2028, 2, 29, 2, 0, tzinfo=UTC)
    assert follow_up_schedule(leap, leap)[-1] == ("y1", date(2029, 2, 28))


def test_follow_up_state() -> None:
    fu = FollowUp(
        id=1,
        run_id=1,
        status="draft",
        version=1,
        created_at=T0,
        created_by_id=1,
        created_by_name="",
        updated_at=T0,
        signed_at=None,
        kind="d28",
        due_date=date(2026, 4, 1),
        fu_status="due",
        done_at=None,
        contact_method=None,
        vital_status=None,
        date_of_death=None,
        cause_of_death=None,
        discharge_disposition=None,
        cpc=None,
        mrs=None,
        eq5d_index=None,
        notes="",
    )
    assert follow_up_state(fu, date(2026, 3, 20)) == "future"
    assert follow_up_state(fu, date(2026, 3, 25)) == "due"
    assert follow_up_state(fu, date(2026, 4, 15)) == "due"
    assert follow_up_state(fu, date(2026, 4, 16)) == "overdue"
    assert follow_up_state(replace(fu, fu_status="done"), date(2027, 1, 1)) == "closed"


def test_ecmo_day_uses_beijing_calendar_days() -> None:
    start = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 Beijing, day 0
    assert ecmo_day(start, start + timedelta(minutes=20)) == 0  # 23:50
    assert ecmo_day(start, start + timedelta(minutes=40)) == 1  # 00:10 the next day
    assert ecmo_day(start, start + timedelta(days=3)) == 3


PINNED_DECISION_HASH = "8f96e8ba3f7a0b4c83451ec8c8ad6e8e8cece05bee0c496f957e808d4badb5ee"


def physician(staff_id: int, role: str, *, name: str = "", expert: bool = False) -> PhysicianInfo:
    return PhysicianInfo(StaffRef(staff_id, name or f"医师{staff_id}", "associate_chief"), role, expert)


def test_content_hash_ignores_bookkeeping_and_names() -> None:
    from ecmo_desktop.domain.records import Decision

    d = Decision(
        id=5,
        run_id=1,
        status="draft",
        version=1,
        created_at=T0,
        created_by_id=1,
        created_by_name="甲",
        updated_at=T0,
        signed_at=None,
        kind="start",
        emergency=False,
        decided_at=T0,
        mode_planned="VA",
        indication="ami",
        indication_other="",
        rationale="",
        physicians=(physician(1, "attending"), physician(2, "expert", expert=True)),
        pre_ecmo={"ph": 7.2, "hr": 120.0},
        contraindications={},
        supplement_deadline=None,
        supplement_of_id=None,
    )
    same = replace(
        d,
        status="signed",
        version=3,
        signed_by=StaffRef(1, "甲", "attending"),
        created_by_name="乙",
        physicians=(physician(2, "expert", name="改名"), d.physicians[0]),
        pre_ecmo={"hr": 120, "ph": 7.2},
        decided_at=T0.astimezone().astimezone(UTC),
        signatures=(SignatureInfo("甲", "attending", "author", T0, "valid", 1),),
    )
    assert content_hash(same) == content_hash(d)
    assert content_hash(replace(d, pre_ecmo={"ph": 7.21, "hr": 120})) != content_hash(d)
    assert content_hash(replace(d, physicians=(physician(1, "other"), d.physicians[1]))) != content_hash(d)
    assert canonical_content(d)["entity"] == "decision"
    # what a signature binds is the listed content, never the read model's other fields: the hash of
    # this decision as the services' own dataclass computed it before the read models were merged
    assert content_hash(d) == PINNED_DECISION_HASH


def test_28_day_survival_counts_beijing_days_from_first_flow() -> None:
    from ecmo_desktop.domain.rules import survived_day_28

    flow = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 Beijing time on 1 March: day 0
    assert not survived_day_28(flow, datetime(2026, 3, 29, 15, 59, tzinfo=UTC))  # 29 March, day 28
    assert survived_day_28(flow, datetime(2026, 3, 29, 16, 0, tzinfo=UTC))  # 30 March, day 29
