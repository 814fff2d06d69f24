"""The QC report's outcome and indicator definitions on hand-made cases (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from ecmo_desktop.domain.case import EquipmentFact
from ecmo_desktop.exchange.report import (
    COMPLICATION_GROUPS,
    DEFINITIONS,
    Period,
    compute_report,
    consent_met,
    discharged_alive,
    r1_items,
    r2_met,
    survived_28d,
    weaning_success,
)
from tests.unit.exchange.builders import (
    ATTENDING,
    EXPERT_A,
    EXPERT_B,
    case,
    complication,
    consent,
    decision,
    device,
    follow_up,
    mdt,
    procedure,
)

ALL = Period(date(2000, 1, 1), date(2030, 12, 31))


def report(*cases, equipment=(), period=ALL, as_of=date(2030, 1, 1), window=24):
    return compute_report(cases, equipment, period=period, as_of=as_of, window_hours=window)


# ---- 28-day survival ------------------------------------------------------------------------------
def test_death_on_day_28_is_a_28_day_death_and_day_29_is_survival():
    # ECMO day 0 is the day of first flow (2024-01-01); day 28 is 2024-01-29
    assert survived_28d(case(death="2024-01-29 23:00")) is False
    assert survived_28d(case(death="2024-01-30 00:30")) is True
    # a death date from a follow-up counts the same way
    assert (
        survived_28d(
            case(
                follow_ups=(
                    follow_up("d90", "2024-03-31", done="2024-04-01 10:00", vital="dead", death="2024-01-29"),
                )
            )
        )
        is False
    )
    assert (
        survived_28d(
            case(
                follow_ups=(
                    follow_up("d90", "2024-03-31", done="2024-04-01 10:00", vital="dead", death="2024-01-30"),
                )
            )
        )
        is True
    )


def test_day_counting_uses_beijing_dates_not_24_hour_periods():
    # flow at 23:30 on 1 Jan: a death at 00:10 on 30 Jan is day 29 although < 28×24 h + 1 day elapsed
    assert survived_28d(case(start="2024-01-01 23:30", death="2024-01-30 00:10")) is True
    assert survived_28d(case(start="2024-01-01 00:10", death="2024-01-29 23:50")) is False


def test_unknown_28_day_status_stays_unknown_and_is_excluded_from_the_rate():
    unknown = case(end="2024-01-05 10:00", end_reason="weaned")  # decannulated on day 4, never followed up
    alive = case(follow_ups=(follow_up("d28", "2024-01-29", done="2024-01-29 10:00", vital="alive"),))
    dead = case(end="2024-01-03 10:00", end_reason="died")
    assert survived_28d(unknown) is None
    assert survived_28d(alive) is True
    assert survived_28d(dead) is False
    r = report(unknown, alive, dead)
    assert r.survival_28d == 1 / 2
    assert r.indicators["survival_28d"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert r.outcome_unknown["survival_28d"] == 1


def test_recorded_28_day_status_wins_and_other_evidence_fills_gaps():
    assert (
        survived_28d(
            case(
                survived_28d=False,
                follow_ups=(follow_up("d90", "2024-03-31", done="2024-04-01 10:00", vital="alive"),),
            )
        )
        is False
    )
    # alive at a later follow-up, or still on ECMO past day 28: alive on day 28
    assert (
        survived_28d(
            case(follow_ups=(follow_up("d90", "2024-03-31", done="2024-04-01 10:00", vital="alive"),))
        )
        is True
    )
    assert survived_28d(case(end="2024-02-05 10:00", end_reason="weaned")) is True
    # a d28 follow-up that found the patient dead
    assert (
        survived_28d(
            case(
                follow_ups=(
                    follow_up("d28", "2024-01-29", done="2024-01-29 10:00", vital="dead", death="2024-01-20"),
                )
            )
        )
        is False
    )
    # a run never started has no 28-day status
    assert survived_28d(case(start=None)) is None


# ---- discharge and 自动出院 ------------------------------------------------------------------------
def test_discharge_against_advice_is_unknown_until_a_follow_up_resolves_it():
    unresolved = case(discharged_at="2024-01-10 10:00", disposition="against_advice")
    found_alive = case(
        discharged_at="2024-01-10 10:00",
        disposition="against_advice",
        follow_ups=(follow_up("d90", "2024-03-31", done="2024-04-01 10:00", vital="alive"),),
    )
    found_dead = case(
        discharged_at="2024-01-10 10:00",
        disposition="against_advice",
        follow_ups=(
            follow_up("d28", "2024-01-29", done="2024-01-29 10:00", vital="dead", death="2024-01-12"),
        ),
    )
    home = case(discharged_at="2024-01-10 10:00", disposition="home")
    died = case(end="2024-01-03 10:00", end_reason="died")
    assert [discharged_alive(c) for c in (unresolved, found_alive, found_dead, home, died)] == [
        None,
        True,
        False,
        True,
        False,
    ]
    r = report(unresolved, found_alive, found_dead, home, died)
    assert r.survival_to_discharge == 2 / 4
    assert r.outcome_unknown["against_advice"] == {"runs": 3, "unknown_discharge": 1, "unknown_28d": 1}
    assert r.outcome_unknown["discharge"] == 1


def test_a_follow_up_done_before_the_discharge_does_not_resolve_it():
    c = case(
        discharged_at="2024-01-20 10:00",
        disposition="against_advice",
        follow_ups=(follow_up("d28", "2024-01-29", done="2024-01-15 10:00", vital="alive"),),
    )
    assert discharged_alive(c) is None


def test_discharge_follow_up_disposition_is_used_when_the_patient_record_has_none():
    c = case(
        follow_ups=(
            follow_up("discharge", "2024-01-10", done="2024-01-10 10:00", vital="alive", disposition="rehab"),
        )
    )
    assert discharged_alive(c) is True


# ---- successful weaning ---------------------------------------------------------------------------
def test_weaning_window_24_or_48_hours():
    # decannulated on 1 Jan 12:00 (run started 28 Dec); died on 3 Jan: outside 24 h, inside 48 h
    c = case(start="2023-12-28 10:00", end="2024-01-01 12:00", end_reason="weaned", death="2024-01-03 08:00")
    assert weaning_success(c, 24) is True
    assert weaning_success(c, 48) is False
    assert report(c, window=48).weaning_success_rate == 0.0
    assert report(c, window=48).weaning_window_hours == 48


def test_re_institution_within_the_window_is_not_a_successful_weaning():
    first = case(
        start="2024-01-01 10:00",
        end="2024-01-03 10:00",
        end_reason="weaned",
        other_starts=("2024-01-03 22:00",),
    )
    later = case(
        start="2024-01-01 10:00",
        end="2024-01-03 10:00",
        end_reason="weaned",
        other_starts=("2024-01-05 10:00",),
    )
    assert weaning_success(first, 24) is False
    assert weaning_success(later, 24) is True


def test_only_ended_runs_count_and_other_endings_are_failures():
    on_ecmo = case()
    assert weaning_success(on_ecmo, 24) is None
    for reason in ("died", "withdrawn", "bridged", "transferred", "complication"):
        assert weaning_success(case(end="2024-01-02 10:00", end_reason=reason), 24) is False
    r = report(
        on_ecmo,
        case(end="2024-01-02 10:00", end_reason="weaned"),
        case(end="2024-01-02 10:00", end_reason="died"),
    )
    assert r.indicators["weaning_success_rate"] == {
        "value": 0.5,
        "numerator": 1,
        "denominator": 2,
        "window_hours": 24,
    }


# ---- R1 / R2 / R4 ---------------------------------------------------------------------------------
def test_r1_needs_three_physicians_an_attending_and_two_experts_at_the_time_before_flow():
    ok = case(decisions=(mdt("start", "2024-01-01 09:00"),))
    assert r1_items(ok) == [True]
    listed_not_member = case(
        decisions=(
            decision(
                "start",
                "2024-01-01 09:00",
                [(ATTENDING, "attending", False), (EXPERT_A, "expert", True), (EXPERT_B, "expert", False)],
            ),
        )
    )
    assert r1_items(listed_not_member) == [False]
    after_flow = case(decisions=(mdt("start", "2024-01-01 11:00"),))
    assert r1_items(after_flow) == [False]
    unsigned = case(decisions=(mdt("start", "2024-01-01 09:00", signed=False),))
    assert r1_items(unsigned) == [False]
    weaned = case(
        end="2024-01-05 10:00",
        end_reason="weaned",
        decisions=(mdt("start", "2024-01-01 09:00"), mdt("wean", "2024-01-05 08:00")),
    )
    assert r1_items(weaned) == [True, True]
    no_wean_decision = case(
        end="2024-01-05 10:00", end_reason="weaned", decisions=(mdt("start", "2024-01-01 09:00"),)
    )
    assert r1_items(no_wean_decision) == [True, False]
    assert r1_items(case(emergency=True)) == []  # an emergency start is R2's business


def test_r2_needs_a_qualified_decider_and_the_full_plan_within_12_hours():
    em = decision("start", "2024-01-01 09:30", [(EXPERT_A, "expert", True)], emergency=True, rid=9001)
    good = case(emergency=True, decisions=(em, mdt("start", "2024-01-01 21:00", supplement_of=9001)))
    late = case(emergency=True, decisions=(em, mdt("start", "2024-01-01 22:30", supplement_of=9001)))
    missing = case(emergency=True, decisions=(em,))
    unqualified = case(
        emergency=True,
        decisions=(
            decision(
                "start", "2024-01-01 09:30", [(ATTENDING, "attending", False)], emergency=True, rid=9002
            ),
            mdt("start", "2024-01-01 12:00", supplement_of=9002),
        ),
    )
    assert [r2_met(c) for c in (good, late, missing, unqualified)] == [True, False, False, False]
    assert r2_met(case()) is None
    r = report(good, late, missing, unqualified, case(decisions=(mdt("start", "2024-01-01 09:00"),)))
    assert r.indicators["r2_compliance_rate"] == {"value": 0.25, "numerator": 1, "denominator": 4}
    assert r.indicators["r1_compliance_rate"] == {"value": 1.0, "numerator": 1, "denominator": 1}


def test_consent_before_flow_or_later_for_an_emergency():
    assert consent_met(case(consents=(consent("2024-01-01 09:00"),))) is True
    assert consent_met(case(consents=(consent("2024-01-01 12:00"),))) is False
    assert consent_met(case(emergency=True, consents=(consent("2024-01-01 12:00"),))) is True
    assert consent_met(case(consents=(consent("2024-01-01 09:00", refused=True),))) is False
    assert consent_met(case(consents=(consent("2024-01-01 09:00", signed=False),))) is False
    assert consent_met(case()) is False


# ---- safety figures -------------------------------------------------------------------------------
def test_complication_rates_per_run_and_per_1000_hours():
    a = case(
        end="2024-01-03 10:00",
        end_reason="weaned",  # 48 h
        complications=(
            complication("B-GI", "2024-01-02 10:00"),
            complication("B-GI", "2024-01-02 20:00"),
            complication("I-BSI", "2024-01-02 12:00"),
        ),
    )
    b = case(
        end="2024-01-04 10:00",
        end_reason="died",  # 72 h
        complications=(complication("N-ICH", "2024-01-02 10:00"),),
    )
    c = case()  # on ECMO: no duration yet, still a run in the per-run denominator
    legacy = case(source="import", end="2024-01-02 10:00", end_reason="weaned")  # no records: not charted
    r = report(a, b, c, legacy)
    assert r.runs_charted == 3
    assert r.complication_base == {"runs": 3, "runs_with_duration": 2, "ecmo_hours": 120.0}
    assert r.complications["B-GI"] == {
        "runs": 1,
        "events": 2,
        "rate": 1 / 3,
        "per_1000_hours": 2 * 1000 / 120,
    }
    assert r.complications["N-ICH"] == {"runs": 1, "events": 1, "rate": 1 / 3, "per_1000_hours": 1000 / 120}
    assert list(r.complications) == ["B-GI", "I-BSI", "N-ICH"]
    assert r.indicators["bleeding_rate"] == {
        "value": 1 / 3,
        "numerator": 1,
        "denominator": 3,
        "per_1000_hours": 2000 / 120,
        "per_1000_days": 2000 / 5,
    }
    assert r.indicators["infection_rate"]["per_1000_days"] == 1000 / 5
    assert r.indicators["stroke_ich_rate"]["numerator"] == 1
    assert r.indicators["thrombosis_rate"] == {
        "value": 0.0,
        "numerator": 0,
        "denominator": 3,
        "per_1000_hours": 0.0,
        "per_1000_days": 0.0,
    }


def test_cannulation_complications_from_the_procedure_or_the_code():
    by_code = case(
        procedures=(procedure("cannulation", "2024-01-01 09:00"),),
        complications=(complication("B-CANN", "2024-01-01 12:00"),),
    )
    immediate = case(procedures=(procedure("cannulation", "2024-01-01 09:00", immediate=("malposition",)),))
    clean = case(
        procedures=(
            procedure("cannulation", "2024-01-01 09:00"),
            procedure("circuit_change", "2024-01-02 09:00"),
            procedure("circuit_change", "2024-01-03 09:00"),
        )
    )
    no_note = case()  # charted, but without a cannulation record: not in this denominator
    r = report(by_code, immediate, clean, no_note)
    assert r.indicators["cannulation_complication_rate"] == {"value": 2 / 3, "numerator": 2, "denominator": 3}
    assert r.indicators["circuit_changes_per_run"] == {"value": 0.5, "numerator": 2, "denominator": 4}
    assert {"B-CANN", "L-DISS", "M-CANN"} == COMPLICATION_GROUPS["cannulation"]


def test_device_traceability_needs_a_device_and_every_one_scanned_with_lot_or_serial():
    complete = case(devices=(device(), device(serial=None, lot="L1")))
    typed_nothing = case(devices=(device(), device(scanned_text="  ")))
    no_identity = case(devices=(device(serial=None, lot=None),))
    none = case()
    r = report(complete, typed_nothing, no_identity, none)
    assert r.indicators["device_traceability_rate"] == {"value": 0.25, "numerator": 1, "denominator": 4}


def test_follow_up_completeness_counts_what_fell_due_by_the_as_of_day():
    c = case(
        follow_ups=(
            follow_up("d28", "2024-01-29", done="2024-01-29 10:00", vital="alive"),
            follow_up("discharge", "2024-01-10", status="lost"),
            follow_up("d90", "2024-03-31"),
            follow_up("d180", "2024-06-29", done="2024-06-29 10:00", vital="alive"),
        )
    )
    r = report(c, as_of=date(2024, 4, 1))
    assert r.indicators["follow_up_completeness"] == {
        "value": 1 / 3,
        "numerator": 1,
        "denominator": 3,
        "by_kind": {
            "d28": {"due": 1, "done": 1},
            "discharge": {"due": 1, "done": 0},
            "d90": {"due": 1, "done": 0},
        },
    }


def test_medians_of_decision_to_flow_low_flow_and_duration():
    from tests.unit.exchange.builders import decision as dec

    a = case(
        end="2024-01-02 10:00", end_reason="weaned", decisions=(mdt("start", "2024-01-01 09:00"),)
    )  # 60 min, 24 h
    b = case(
        ecpr=True,
        end="2024-01-04 10:00",
        end_reason="died",
        decisions=(
            dec(
                "start",
                "2024-01-01 09:40",
                [(EXPERT_A, "expert", True)],
                emergency=True,
                pre_ecmo={"cpr_minutes": 55},
            ),
        ),
    )  # 20 min, 72 h
    c = case(
        ecpr=True,
        end="2024-01-03 10:00",
        end_reason="died",
        decisions=(
            dec(
                "start",
                "2024-01-01 09:50",
                [(EXPERT_A, "expert", True)],
                emergency=True,
                pre_ecmo={"cpr_minutes": 35},
            ),
        ),
    )  # 10 min, 48 h
    r = report(a, b, c)
    assert r.indicators["decision_to_flow_minutes"] == {"value": 20.0, "n": 3, "unit": "minutes"}
    assert r.indicators["ecpr_low_flow_minutes"] == {"value": 45.0, "n": 2, "unit": "minutes"}
    assert r.indicators["duration_hours"] == {"value": 48.0, "n": 3, "unit": "hours", "q1": 36.0, "q3": 60.0}


# ---- volume, mix, equipment, grouping ------------------------------------------------------------
def test_volume_mix_and_r15_per_hospital_year():
    cases = [
        case(hospital="甲", mode="VA", indication="ami", end="2024-01-05 10:00", end_reason="weaned")
        for _ in range(20)
    ]
    cases += [
        case(
            hospital="乙",
            city="包头",
            mode="VV",
            indication="ards",
            start="2023-06-01 10:00",
            end="2023-06-05 10:00",
            end_reason="died",
        )
    ]
    r = report(*cases)
    assert r.by_year == {"2023": 1, "2024": 20}
    assert r.by_hospital_year == {"乙": {"2023": 1}, "甲": {"2024": 20}}
    assert r.by_city == {"包头": 1, "呼和浩特": 20}
    assert r.by_mode["VA"]["share"] == 20 / 21
    assert r.by_mode["VV"]["indications"] == {"ards": {"runs": 1, "share": 1.0}}
    assert r.r15["甲"]["2024"] == {
        "runs": 20,
        "runs_ended": 20,
        "weaned_successfully": 20,
        "weaning_success_rate": 1.0,
        "meets_volume": True,
        "meets_weaning": True,
        "meets_r15": True,
    }
    assert r.r15["乙"]["2023"]["meets_r15"] is False
    assert r.by_hospital["乙"]["runs"] == 1
    assert r.by_hospital["甲"]["weaning_success_rate"] == 1.0


def test_period_and_hospital_filter():
    inside = case(start="2024-12-31 23:59")
    outside = case(start="2025-01-01 00:00")  # Beijing midnight starts the next day
    never = case(start=None)
    r = report(inside, outside, never, period=Period(date(2024, 1, 1), date(2024, 12, 31)))
    assert r.runs == 1
    other = case(hospital="乙")
    r = compute_report([inside, other], [], period=ALL, as_of=date(2030, 1, 1), hospital="乙")
    assert r.runs == 1 and list(r.by_hospital) == ["乙"]


def test_equipment_in_service_and_purchases():
    def eq(hospital, city, serial, bought, kind="console", active=True):
        return EquipmentFact(hospital, hospital, city, kind, "m", "", serial, bought, active)

    kit = [
        eq("甲", "呼和浩特", "1", date(2019, 1, 1)),
        eq("甲", "呼和浩特", "2", date(2024, 5, 1)),
        eq("甲", "呼和浩特", "3", date(2025, 1, 1)),
        eq("乙", "", "4", None),
        eq("乙", "", "5", date(2024, 1, 1), active=False),
        eq("乙", "", "6", date(2024, 1, 1), kind="heater_cooler"),
    ]
    r = report(equipment=kit, period=Period(date(2020, 1, 1), date(2024, 12, 31)))
    assert r.equipment_by_city == {"-": 1, "呼和浩特": 2}
    assert r.equipment_by_hospital == {"乙": 1, "甲": 2}
    assert r.equipment_by_hospital_year == {"乙": {"2024": 1}, "甲": {"2024": 1}}


def test_every_figure_and_indicator_has_a_definition():
    r = report(case())
    keys = {
        k
        for k in r.as_dict()
        if k not in ("schema", "version", "date_from", "date_to", "hospital", "as_of", "weaning_window_hours")
    }
    assert keys <= set(DEFINITIONS)
    assert set(r.indicators) <= set(DEFINITIONS)
    for d in DEFINITIONS.values():
        assert d.label and d.text


@pytest.mark.parametrize("code", ["B-GI", "T-DVT", "L-ISCH", "N-STROKE", "I-VAP", "B-HEMOLYSIS"])
def test_indicator_groups_come_from_the_complication_catalogue(code):
    from ecmo_desktop.domain.complications import COMPLICATIONS

    assert code in COMPLICATIONS
    assert any(code in codes for codes in COMPLICATION_GROUPS.values())


def test_the_report_judges_r1_and_the_emergency_decider_by_the_wards_rules() -> None:
    """One rule, one place: every mix of titles, roles and expert membership gets the verdict the ward's
    checklist (domain.rules) gives, so the QC report can never count a decision the ward refused."""
    from itertools import combinations, product

    from ecmo_desktop.domain.case import StaffRef
    from ecmo_desktop.domain.records import DecisionPhysician
    from ecmo_desktop.domain.rules import emergency_decider, joint_decision
    from ecmo_desktop.exchange.report import emergency_decider_met, joint_decision_met

    titles = ("resident", "attending", "associate_chief", "chief", "nurse_chief")
    seats = [
        (StaffRef(200 + i, f"医师{i}", title), role, expert)
        for i, (title, role, expert) in enumerate(
            product(titles, ("attending", "expert", "other"), (True, False))
        )
    ]
    verdicts = set()
    for size in (1, 2, 3, 4):
        for people in combinations(seats[::3], size):
            d = decision("start", "2026-03-01T08:00", list(people))
            ward = [DecisionPhysician(s.id, s.name, s.title, role, expert) for s, role, expert in people]
            assert joint_decision_met(d) is joint_decision(ward).passed, people
            assert emergency_decider_met(d) is emergency_decider(ward).passed, people
            verdicts.add((joint_decision_met(d), emergency_decider_met(d)))
    assert len(verdicts) == 4  # the mixes reach every combination of the two verdicts
