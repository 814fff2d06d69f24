"""Daily management entries, complications and weaning trials at the service layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecmo_desktop.domain.errors import PermissionDenied, ValidationError
from ecmo_desktop.domain.fields import fields_for
from ecmo_desktop.domain.records import ComplicationInput, DailyEntryInput, WeaningTrialInput
from tests.kit.records import (  # noqa: F401 - the *_fixture names are fixtures
    RecWard,
    rec_db_fixture,
    rw_fixture,
)

GOOD = {
    "rpm": "3100",
    "blood_flow": 3.6,
    "sweep": 3.0,
    "fdo2": 0.8,
    "p_drainage": -45,
    "p_pre_oxy": 240,
    "p_post_oxy": 215,
    "hr": 92,
    "map": 72,
    "cvp": 9,
    "spo2": 97,
    "spo2_lower": 93,
    "temperature": 36.8,
    "vent_fio2": 0.4,
    "peep": 10,
    "pplat": 24,
    "tidal_volume": 320,
    "resp_rate": 10,
    "ph": 7.41,
    "pao2": 88,
    "paco2": 39,
    "lactate": 1.6,
    "svo2": 72,
    "post_oxy_pao2": 420,
    "hb": 96,
    "plt": 88,
    "fibrinogen": 2.3,
    "act": 180,
    "aptt": 55,
    "anti_xa": 0.4,
    "pfhb": 120,
    "ldh": 240,
    "tbil": 18,
    "creatinine": 98,
    "heparin_dose": 12,
    "urine_output": 1800,
    "lvef": 55,
    "norepinephrine": 0.05,
}
CHECKS = {
    "anticoagulant": "ufh",
    "vent_mode": "pc",
    "crrt": "none",
    "av_opening": "yes",
    "lv_distension": "no",
    "limb_perfusion": "normal",
    "cannula_site": "normal",
    "differential_hypoxaemia": "no",
    "circuit_check": "ok",
    "oxygenator_check": "ok",
}


def test_nurse_records_a_daily_entry_with_derived_and_abnormal_values(rw: RecWard) -> None:
    run = rw.on_ecmo()
    rw.login("chenjing")
    entry = rw.c.records.record_daily_entry(
        run.id,
        DailyEntryInput(
            recorded_at=rw.at(minutes=-5),
            values={**GOOD, "lactate": 4.2, "pfhb": 650},
            checks=CHECKS,
            notes="夜班平稳",
        ),
    )
    assert entry.author_role == "nurse" and entry.mode == "VA" and entry.ecmo_day == 0
    assert entry.values["rpm"] == 3100 and entry.values["lactate"] == 4.2
    assert entry.derived == {"delta_p": 25, "pf_ratio": 220.0, "driving_pressure": 14, "vis": 5.0}
    assert set(entry.abnormal) == {"lactate", "pfhb", "pf_ratio"}
    assert entry.checks["anticoagulant"] == "ufh"


def test_every_daily_field_refuses_an_implausible_value_by_name(rw: RecWard) -> None:
    """The service applies the catalogue to each daily field (the catalogue itself:
    tests/unit/test_fields.py).
    """
    run = rw.on_ecmo()
    rw.login("chenjing")
    too_high = {
        f.key: f.range.high + (1 if f.range.integer else f.range.high * 0.1 + 0.01)
        for f in fields_for("daily")
    }
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_daily_entry(run.id, DailyEntryInput(recorded_at=rw.at(), values=too_high))
    named = {e.field for e in exc.value.errors}
    assert named == {f.label for f in fields_for("daily")}
    assert rw.c.records.chart(run.id).daily_entries == ()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"blood_flow": "3,5"}, "血流量"),
        ({"hr": "abc"}, "心率"),
        ({"sweep": "nan"}, "气流量"),
        ({"fdo2": 0.1}, "FdO2"),
        ({"p_pre_oxy": 150, "p_post_oxy": 200}, "跨膜压差"),
    ],
)
def test_bad_daily_values_are_refused(rw: RecWard, values: dict[str, object], field: str) -> None:
    run = rw.on_ecmo()
    rw.login("zhaolei")
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_daily_entry(run.id, DailyEntryInput(recorded_at=rw.at(), values=values))
    assert field in exc.value.user_message()


def test_ecmo_day_counts_beijing_days_across_midnight(rw: RecWard) -> None:
    flow_local_2330 = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    rw.clock.set(flow_local_2330 + timedelta(hours=2))
    run = rw.new_run()
    rw.decide(run.id, at=flow_local_2330 - timedelta(hours=1))
    rw.consent(run.id, at=flow_local_2330 - timedelta(minutes=50))
    rw.cannulate(run.id, at=flow_local_2330 - timedelta(minutes=25))
    rw.login("chenjing")
    first = rw.c.records.record_daily_entry(
        run.id, DailyEntryInput(recorded_at=flow_local_2330 + timedelta(minutes=20), values={"hr": 100})
    )
    second = rw.c.records.record_daily_entry(
        run.id, DailyEntryInput(recorded_at=flow_local_2330 + timedelta(minutes=40), values={"hr": 98})
    )
    assert (first.ecmo_day, second.ecmo_day) == (0, 1)


def test_daily_entry_outside_the_run_is_refused(rw: RecWard) -> None:
    planned = rw.new_run()
    rw.login("chenjing")
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_daily_entry(planned.id, DailyEntryInput(recorded_at=rw.at(), values={"hr": 80}))
    assert "尚未上机" in exc.value.user_message()
    run = rw.on_ecmo()
    rw.login("chenjing")
    with pytest.raises(ValidationError):
        rw.c.records.record_daily_entry(
            run.id, DailyEntryInput(recorded_at=rw.at(hours=-3), values={"hr": 80})
        )
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_daily_entry(
            run.id, DailyEntryInput(recorded_at=rw.at(hours=2), values={"hr": 80})
        )
    assert "不能晚于当前时间" in exc.value.user_message()


def test_records_staff_cannot_chart(rw: RecWard) -> None:
    run = rw.on_ecmo()
    rw.login("sunli")
    with pytest.raises(PermissionDenied):
        rw.c.records.record_daily_entry(run.id, DailyEntryInput(recorded_at=rw.at(), values={"hr": 80}))
    with pytest.raises(PermissionDenied):
        rw.c.records.record_complication(run.id, ComplicationInput("B-CANN", rw.at(), "mild"))


def test_complications_are_coded_and_adverse_events_flagged(rw: RecWard) -> None:
    run = rw.on_ecmo()
    rw.login("zhangwei")
    bleed = rw.c.records.record_complication(
        run.id, ComplicationInput("B-CANN", rw.at(minutes=-10), "moderate", treatment="局部压迫")
    )
    dislodged = rw.c.records.record_complication(
        run.id, ComplicationInput("A-DECANN", rw.at(), "life_threatening")
    )
    assert (bleed.adverse_event, dislodged.adverse_event) == (False, True)
    with pytest.raises(ValidationError):
        rw.c.records.record_complication(run.id, ComplicationInput("X-NOPE", rw.at(), "mild"))
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_complication(run.id, ComplicationInput("O-OTHER", rw.at(), "mild"))
    assert "并发症描述" in exc.value.user_message()
    with pytest.raises(ValidationError):
        rw.c.records.record_complication(
            run.id, ComplicationInput("B-GI", rw.at(), "mild", resolved_at=rw.at(hours=-1))
        )
    checklist = rw.c.compliance.run_checklist(run.id)
    r9 = next(r for r in checklist.results if r.rule == "R9")
    assert r9.status == "pending" and r9.params == {"n": 2, "a": 1}


def test_weaning_trial(rw: RecWard) -> None:
    run = rw.on_ecmo()
    rw.clock.advance(timedelta(days=4))
    rw.login("zhangwei")
    trial = rw.c.records.record_weaning_trial(
        run.id,
        WeaningTrialInput(
            started_at=rw.at(days=4, hours=-2),
            ended_at=rw.at(days=4),
            flow_to="1.5",
            sweep_to=1,
            fdo2_to=0.5,
            values={"map": 74, "lactate": 1.4, "lvef": 38, "lvot_vti": 12.5, "av_opening": "yes"},
            passed=True,
        ),
    )
    assert trial.flow_to == 1.5 and trial.passed is True and trial.values["av_opening"] == "yes"
    assert trial.abnormal == ("lvef",)
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_weaning_trial(run.id, WeaningTrialInput(started_at=rw.at(days=4), flow_to=12))
    assert "血流量" in exc.value.user_message()
