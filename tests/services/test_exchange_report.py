"""The QC report on a hand-made regional dataset, exact to the last figure, on both backends.

The database holds the 20 legacy runs of ``tests/fixtures/legacy/regional_cases.csv`` (4 hospitals,
2020–2024, loaded through the import) and its console register, plus two runs charted in this app
in March 2026 through the clinical-record and device services. Each figure below was worked out by
hand from those rows; the comments say how.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.domain.devices import ProductInput
from ecmo_desktop.domain.errors import NotFound, PermissionDenied, ValidationError
from ecmo_desktop.domain.records import (
    CannulaInput,
    ConsentInput,
    DecisionInput,
    EndInput,
    FollowUpInput,
    PhysicianInput,
    ProcedureInput,
    StaffInput,
)
from ecmo_desktop.domain.records import ComplicationInput as Complication
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.conftest import PASSWORD
from tests.kit.devices import gtin, label

pytestmark = pytest.mark.pg

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
A, B, C, D = "内蒙古自治区人民医院", "包头市中心医院", "赤峰市医院", "呼和浩特市第一医院"
LOCAL = "示范医院"
LEGACY = (date(2020, 1, 1), date(2024, 12, 31))
APP = (date(2026, 1, 1), date(2026, 12, 31))
OXY = gtin("0690555500001")
CANNULAE = (
    CannulaInput(role="drainage", vessel="femoral_vein", side="R", size_fr=25),
    CannulaInput(role="return", vessel="femoral_artery", side="L", size_fr=17),
)


def load_legacy(seeded) -> None:
    seeded.login("sunli")
    c = seeded.container
    assert c.exchange.import_cases(FIXTURES / "regional_cases.csv").imported == 20
    assert c.exchange.import_equipment(FIXTURES / "regional_equipment.csv").imported == 9


def chart_app_runs(seeded, clock) -> tuple[int, int]:
    """Two runs charted through the services (clock starts 2026-03-02 09:00 Beijing).

    P1: non-emergency VA for AMI, full MDT, consent before flow, one oxygenator scanned, bleeding (B-GI) and
        bloodstream infection, one circuit change, MDT weaning, weaned after 120 h; discharged home,
        alive at d28.
    P2: emergency ECPR (low-flow 45 min) decided by one associate-chief expert, cardiac arrest during
        cannulation, MDT supplement after 6.5 h, consent afterwards, haemolysis and ICH, died after 72 h.
    """
    c = seeded.container
    t0 = clock.now()
    doctor, chief, attending = seeded.doctor_id, seeded.experts[1], seeded.attending_id
    mdt = (
        PhysicianInput(attending, "attending"),
        PhysicianInput(doctor, "expert"),
        PhysicianInput(chief, "expert"),
    )
    operator = (StaffInput(doctor, "operator"),)

    seeded.login("admin")
    product = c.devices.add_product(
        ProductInput(
            category="oxygenator",
            name="氧合器",
            manufacturer="Maquet",
            model="HLS 7.0",
            gtin=OXY,
            nmpa_number="国械注进20173450123",
        )
    )
    assert product.gtin == OXY
    seeded.login("chenjing")
    delivery = c.devices.start_receiving(supplier="国药控股")
    scan = label(OXY, serial="SN-P1", lot="L2026", expiry=date(2027, 12, 31))
    c.devices.receive_scan(delivery.id, scan)

    seeded.login("zhangwei")
    clock.set(t0 + timedelta(hours=4))
    p1 = c.runs.register_patient(PatientInput(mrn="APP001", name="测试甲", sex="M"))
    r1 = c.runs.open_run(p1.id, RunInput(mode="VA", indication="ami", attending_id=attending))
    d = c.records.record_decision(
        r1.id,
        DecisionInput(
            kind="start",
            decided_at=t0 + timedelta(hours=1),
            physicians=mdt,
            indication="ami",
            mode_planned="VA",
        ),
    )
    c.records.sign("decision", d.id, PASSWORD)
    k = c.records.record_consent(
        r1.id,
        ConsentInput(
            explained_by_id=doctor,
            signer_name="测试甲之妻",
            relationship="spouse",
            signed_at=t0 + timedelta(minutes=70),
        ),
    )
    c.records.sign("consent", k.id, PASSWORD)
    c.records.record_cannulation(
        r1.id,
        ProcedureInput(
            started_at=t0 + timedelta(minutes=90),
            location="icu",
            staff=operator,
            flow_at=t0 + timedelta(hours=2),
            cannulae=CANNULAE,
        ),
    )
    verdict = c.devices.bind_scan(r1.id, scan)
    assert verdict.kind == "bound"

    p2 = c.runs.register_patient(PatientInput(mrn="APP002", name="测试乙", sex="F"))
    r2 = c.runs.open_run(
        p2.id,
        RunInput(mode="VA", indication="cardiac_arrest", ecpr=True, emergency=True, attending_id=attending),
    )
    em = c.records.record_decision(
        r2.id,
        DecisionInput(
            kind="start",
            emergency=True,
            decided_at=t0 + timedelta(hours=3),
            physicians=(PhysicianInput(doctor, "expert"),),
            indication="cardiac_arrest",
            mode_planned="VA",
            pre_ecmo={"cpr_minutes": 45},
        ),
    )
    c.records.sign("decision", em.id, PASSWORD)
    c.records.record_cannulation(
        r2.id,
        ProcedureInput(
            started_at=t0 + timedelta(minutes=190),
            location="ed",
            staff=(StaffInput(chief, "operator"),),
            flow_at=t0 + timedelta(minutes=210),
            immediate_complications=("arrest",),
            cannulae=CANNULAE,
        ),
    )
    clock.set(t0 + timedelta(hours=11))
    sup = c.records.record_decision(
        r2.id,
        DecisionInput(
            kind="start", decided_at=t0 + timedelta(hours=10), physicians=mdt, supplement_of_id=em.id
        ),
    )
    c.records.sign("decision", sup.id, PASSWORD)
    k2 = c.records.record_consent(
        r2.id,
        ConsentInput(
            explained_by_id=doctor,
            signer_name="测试乙之子",
            relationship="child",
            signed_at=t0 + timedelta(hours=6),
        ),
    )
    c.records.sign("consent", k2.id, PASSWORD)

    clock.set(t0 + timedelta(days=3, hours=4))
    c.records.record_complication(
        r1.id, Complication(code="B-GI", onset_at=t0 + timedelta(days=1), severity="moderate")
    )
    c.records.record_complication(
        r1.id, Complication(code="I-BSI", onset_at=t0 + timedelta(days=2), severity="severe")
    )
    c.records.record_circuit_change(
        r1.id,
        ProcedureInput(
            started_at=t0 + timedelta(days=2), location="icu", staff=operator, reason="氧合器血栓"
        ),
    )
    c.records.record_complication(
        r2.id, Complication(code="B-HEMOLYSIS", onset_at=t0 + timedelta(days=1), severity="moderate")
    )
    c.records.record_complication(
        r2.id, Complication(code="N-ICH", onset_at=t0 + timedelta(days=2), severity="life_threatening")
    )
    c.records.end_ecmo(r2.id, EndInput(ended_at=t0 + timedelta(days=3, minutes=210), reason="died"))

    clock.set(t0 + timedelta(days=5, hours=3))
    w = c.records.record_decision(
        r1.id, DecisionInput(kind="wean", decided_at=t0 + timedelta(days=5), physicians=mdt)
    )
    c.records.sign("decision", w.id, PASSWORD)
    c.records.record_decannulation(
        r1.id,
        ProcedureInput(
            started_at=t0 + timedelta(days=5, hours=1), location="icu", staff=operator, reason="心功能恢复"
        ),
    )
    c.records.end_ecmo(r1.id, EndInput(ended_at=t0 + timedelta(days=5, hours=2), reason="weaned"))

    clock.set(t0 + timedelta(days=100))  # 2026-06-10: d28, discharge and d90 have fallen due
    follow = {f.kind: f for f in c.records.chart(r1.id).follow_ups}
    c.records.record_follow_up(
        follow["discharge"].id,
        FollowUpInput(
            status="done", done_at=t0 + timedelta(days=20), vital_status="alive", discharge_disposition="home"
        ),
    )
    c.records.record_follow_up(
        follow["d28"].id,
        FollowUpInput(
            status="done", done_at=t0 + timedelta(days=29), vital_status="alive", contact_method="phone"
        ),
    )
    seeded.login("sunli")
    return r1.id, r2.id


@pytest.fixture
def regional(seeded, clock):
    load_legacy(seeded)
    chart_app_runs(seeded, clock)
    seeded.login("sunli")
    return seeded.container


def rate(n: int, d: int, **extra):
    return {"value": n / d if d else None, "numerator": n, "denominator": d, **extra}


NONE_RATE = {"value": None, "numerator": 0, "denominator": 0}
NONE_GROUP = {**NONE_RATE, "per_1000_hours": None, "per_1000_days": None}


def test_legacy_years_exact(regional):
    r = regional.exchange.report(*LEGACY)
    assert (r.date_from, r.date_to, r.hospital, r.as_of, r.weaning_window_hours) == (
        *LEGACY,
        None,
        LEGACY[1],
        24,
    )
    assert (r.runs, r.runs_charted, r.ecpr_runs) == (20, 0, 3)
    assert r.by_year == {"2020": 3, "2021": 3, "2022": 4, "2023": 4, "2024": 6}
    assert r.by_hospital_year == {
        A: {"2020": 2, "2021": 2, "2022": 1, "2023": 1, "2024": 2},
        B: {"2020": 1, "2021": 1, "2022": 1, "2023": 1, "2024": 1},
        C: {"2022": 2, "2023": 1, "2024": 1},
        D: {"2023": 1, "2024": 2},
    }
    assert r.by_city == {"呼和浩特": 11, "包头": 5, "赤峰": 4}
    # 28-day status: A005, C004 and D003 unknown; B005 died on day 28 (dead), C001 on day 29 (alive)
    # discharge: A005, B005, C004, D003 unknown; weaning: 19 ended (D003 still on ECMO), 11 successful —
    # D001 died the day after decannulation, A007's first run was followed by a second run 12 h later
    assert (r.survival_28d, r.survival_to_discharge, r.weaning_success_rate) == (10 / 17, 9 / 16, 11 / 19)
    assert r.by_mode == {
        "VA": {
            "runs": 13,
            "share": 13 / 20,
            "survived_28d": 6,
            "known_28d": 12,
            "survival_28d": 0.5,
            "discharged_alive": 6,
            "known_discharge": 11,
            "survival_to_discharge": 6 / 11,
            "runs_ended": 12,
            "weaned_successfully": 6,
            "weaning_success_rate": 0.5,
            "indications": {
                "ami": {"runs": 5, "share": 5 / 13},
                "cardiac_arrest": {"runs": 3, "share": 3 / 13},
                "cardiogenic_other": {"runs": 1, "share": 1 / 13},
                "myocarditis": {"runs": 1, "share": 1 / 13},
                "pe": {"runs": 1, "share": 1 / 13},
                "postcardiotomy": {"runs": 1, "share": 1 / 13},
                "sepsis": {"runs": 1, "share": 1 / 13},
            },
        },
        "VV": {
            "runs": 4,
            "share": 0.2,
            "survived_28d": 2,
            "known_28d": 3,
            "survival_28d": 2 / 3,
            "discharged_alive": 2,
            "known_discharge": 3,
            "survival_to_discharge": 2 / 3,
            "runs_ended": 4,
            "weaned_successfully": 3,
            "weaning_success_rate": 0.75,
            "indications": {"ards": {"runs": 2, "share": 0.5}, "covid19": {"runs": 2, "share": 0.5}},
        },
        "VAV": {
            "runs": 1,
            "share": 0.05,
            "survived_28d": 1,
            "known_28d": 1,
            "survival_28d": 1.0,
            "discharged_alive": 0,
            "known_discharge": 1,
            "survival_to_discharge": 0.0,
            "runs_ended": 1,
            "weaned_successfully": 1,
            "weaning_success_rate": 1.0,
            "indications": {"ards": {"runs": 1, "share": 1.0}},
        },
        "VVA": {
            "runs": 1,
            "share": 0.05,
            "survived_28d": 0,
            "known_28d": 0,
            "survival_28d": None,
            "discharged_alive": 0,
            "known_discharge": 0,
            "survival_to_discharge": None,
            "runs_ended": 1,
            "weaned_successfully": 0,
            "weaning_success_rate": 0.0,
            "indications": {"ards": {"runs": 1, "share": 1.0}},
        },
        "other": {
            "runs": 1,
            "share": 0.05,
            "survived_28d": 1,
            "known_28d": 1,
            "survival_28d": 1.0,
            "discharged_alive": 1,
            "known_discharge": 1,
            "survival_to_discharge": 1.0,
            "runs_ended": 1,
            "weaned_successfully": 1,
            "weaning_success_rate": 1.0,
            "indications": {"other": {"runs": 1, "share": 1.0}},
        },
    }
    assert r.indications == {
        "ami": {"runs": 5, "share": 0.25},
        "ards": {"runs": 4, "share": 0.2},
        "cardiac_arrest": {"runs": 3, "share": 0.15},
        "covid19": {"runs": 2, "share": 0.1},
        **{
            k: {"runs": 1, "share": 0.05}
            for k in ("cardiogenic_other", "myocarditis", "other", "pe", "postcardiotomy", "sepsis")
        },
    }
    # consoles in service on 2024-12-31 (not the heater-cooler, not RF-302 bought in 2025), and purchases
    assert r.equipment_by_city == {"呼和浩特": 4, "包头": 2, "赤峰": 1}
    assert r.equipment_by_hospital == {A: 3, B: 2, C: 1, D: 1}
    assert r.equipment_by_hospital_year == {
        A: {"2021": 1, "2023": 1},
        B: {"2020": 1, "2022": 1},
        C: {"2022": 1},
        D: {"2024": 1},
    }
    # legacy rows carry no clinical records: process and safety figures have nothing to count
    assert r.complications == {}
    assert r.complication_base == {"runs": 0, "runs_with_duration": 0, "ecmo_hours": 0}
    assert r.outcome_unknown == {
        "survival_28d": 3,
        "discharge": 4,
        "against_advice": {"runs": 0, "unknown_discharge": 0, "unknown_28d": 0},
    }
    assert r.indicators == {
        "decision_to_flow_minutes": {"value": None, "n": 0, "unit": "minutes"},
        "ecpr_low_flow_minutes": {"value": None, "n": 0, "unit": "minutes"},
        # 19 durations: 12 24 24 48 48 48 48 72 96 [96] 108 120 168 234.5 240 240 240 480 552
        "duration_hours": {"value": 96.0, "n": 19, "unit": "hours", "q1": 48.0, "q3": 237.25},
        "cannulation_complication_rate": NONE_RATE,
        **{
            f"{g}_rate": NONE_GROUP
            for g in ("bleeding", "thrombosis", "limb_ischaemia", "stroke_ich", "infection", "haemolysis")
        },
        "circuit_changes_per_run": NONE_RATE,
        "weaning_success_rate": rate(11, 19, window_hours=24),
        "survival_28d": rate(10, 17),
        "survival_to_discharge": rate(9, 16),
        "consent_rate": NONE_RATE,
        "r1_compliance_rate": NONE_RATE,
        "r2_compliance_rate": NONE_RATE,
        "device_traceability_rate": NONE_RATE,
        "follow_up_completeness": {**NONE_RATE, "by_kind": {}},
    }

    def year(runs, ended, ok):
        value = ok / ended if ended else None
        return {
            "runs": runs,
            "runs_ended": ended,
            "weaned_successfully": ok,
            "weaning_success_rate": value,
            "meets_volume": False,
            "meets_weaning": value is not None and value >= 0.4,
            "meets_r15": False,
        }

    assert r.r15 == {
        A: {
            "2020": year(2, 2, 2),
            "2021": year(2, 2, 1),
            "2022": year(1, 1, 1),
            "2023": year(1, 1, 0),
            "2024": year(2, 2, 1),
        },
        B: {
            "2020": year(1, 1, 0),
            "2021": year(1, 1, 1),
            "2022": year(1, 1, 1),
            "2023": year(1, 1, 0),
            "2024": year(1, 1, 1),
        },
        C: {"2022": year(2, 2, 1), "2023": year(1, 1, 1), "2024": year(1, 1, 0)},
        D: {"2023": year(1, 1, 0), "2024": year(2, 1, 1)},
    }
    assert list(r.by_hospital) == sorted([A, B, C, D])
    baotou = r.by_hospital[B]
    assert (
        baotou["runs"],
        baotou["weaning_success_rate"],
        baotou["survival_28d"],
        baotou["survival_to_discharge"],
    ) == (5, 3 / 5, 2 / 5, 1 / 4)
    assert baotou["by_year"] == r.by_hospital_year[B]


def test_app_charted_runs_exact(regional):
    r = regional.exchange.report(*APP)
    assert r.as_of == date(2026, 6, 10)  # follow-ups count when due by today (the report runs to year end)
    assert (r.runs, r.runs_charted, r.ecpr_runs) == (2, 2, 1)
    assert (r.by_year, r.by_hospital_year, r.by_city) == ({"2026": 2}, {LOCAL: {"2026": 2}}, {"呼和浩特": 2})
    assert r.by_mode == {
        "VA": {
            "runs": 2,
            "share": 1.0,
            "survived_28d": 1,
            "known_28d": 2,
            "survival_28d": 0.5,
            "discharged_alive": 1,
            "known_discharge": 2,
            "survival_to_discharge": 0.5,
            "runs_ended": 2,
            "weaned_successfully": 1,
            "weaning_success_rate": 0.5,
            "indications": {"ami": {"runs": 1, "share": 0.5}, "cardiac_arrest": {"runs": 1, "share": 0.5}},
        }
    }
    hours = 120.0 + 72.0
    one = {"runs": 1, "events": 1, "rate": 0.5, "per_1000_hours": 1000 / hours}
    assert r.complications == {"B-GI": one, "B-HEMOLYSIS": one, "I-BSI": one, "N-ICH": one}
    assert r.complication_base == {"runs": 2, "runs_with_duration": 2, "ecmo_hours": hours}
    group = rate(1, 2, per_1000_hours=1000 / hours, per_1000_days=1000 / 8)
    assert r.indicators == {
        "decision_to_flow_minutes": {"value": 45.0, "n": 2, "unit": "minutes"},  # 60 and 30 minutes
        "ecpr_low_flow_minutes": {"value": 45.0, "n": 1, "unit": "minutes"},
        "duration_hours": {"value": 96.0, "n": 2, "unit": "hours", "q1": 84.0, "q3": 108.0},
        "cannulation_complication_rate": rate(1, 2),  # P2's arrest during cannulation
        "bleeding_rate": group,
        "infection_rate": group,
        "haemolysis_rate": group,
        "stroke_ich_rate": group,
        "thrombosis_rate": rate(0, 2, per_1000_hours=0.0, per_1000_days=0.0),
        "limb_ischaemia_rate": rate(0, 2, per_1000_hours=0.0, per_1000_days=0.0),
        "circuit_changes_per_run": rate(1, 2),
        "weaning_success_rate": rate(1, 2, window_hours=24),
        "survival_28d": rate(1, 2),
        "survival_to_discharge": rate(1, 2),
        "consent_rate": rate(2, 2),
        "r1_compliance_rate": rate(2, 2),  # P1's start and weaning; P2 is an emergency start
        "r2_compliance_rate": rate(1, 1),
        "device_traceability_rate": rate(1, 2),  # P1 scanned its oxygenator, P2 has no device
        # due by 2026-06-10: d28, discharge, d90 of both; P1's d90 is still open
        "follow_up_completeness": rate(
            5,
            6,
            by_kind={
                "d28": {"due": 2, "done": 2},
                "discharge": {"due": 2, "done": 2},
                "d90": {"due": 2, "done": 1},
            },
        ),
    }
    assert r.outcome_unknown == {
        "survival_28d": 0,
        "discharge": 0,
        "against_advice": {"runs": 0, "unknown_discharge": 0, "unknown_28d": 0},
    }
    assert r.r15 == {
        LOCAL: {
            "2026": {
                "runs": 2,
                "runs_ended": 2,
                "weaned_successfully": 1,
                "weaning_success_rate": 0.5,
                "meets_volume": False,
                "meets_weaning": True,
                "meets_r15": False,
            }
        }
    }
    assert r.equipment_by_city == {"呼和浩特": 5, "包头": 2, "赤峰": 1}  # RF-302 (2025) is in service by 2026
    assert r.equipment_by_hospital_year == {}


def test_whole_period_groups_by_hospital(regional):
    r = regional.exchange.report(LEGACY[0], APP[1])
    assert r.runs == 22 and r.by_year["2026"] == 2 and r.by_hospital_year[LOCAL] == {"2026": 2}
    assert r.weaning_success_rate == 12 / 21
    assert r.by_mode["VA"]["runs"] == 15 and r.by_mode["VA"]["share"] == 15 / 22
    assert set(r.by_hospital) == {A, B, C, D, LOCAL}
    assert r.by_hospital[LOCAL]["indicators"]["r2_compliance_rate"] == rate(1, 1)
    assert r.by_hospital[A]["runs"] == 8
    assert r.equipment_by_hospital_year[D] == {"2024": 1, "2025": 1}


def test_one_hospital(regional):
    r = regional.exchange.report(*LEGACY, hospital=B)
    assert (r.hospital, r.runs, list(r.by_hospital), r.weaning_success_rate) == (B, 5, [B], 3 / 5)
    assert r.equipment_by_hospital == {B: 2}
    with pytest.raises(NotFound):
        regional.exchange.report(*LEGACY, hospital="不存在的医院")
    with pytest.raises(ValidationError):
        regional.exchange.report(LEGACY[1], LEGACY[0])


def test_48_hour_window_from_the_hospital_policy(regional):
    with regional.uow() as uow:
        local = uow.hospitals.local()
        uow.hospitals.update(
            local.id, settings={**local.settings, "policy": {"weaning_success_window_hours": 48}}
        )
        uow.commit()
    r = regional.exchange.report(*LEGACY)
    # B005 died 23 days after decannulation; no legacy death falls between 24 and 48 h after weaning
    assert (r.weaning_window_hours, r.weaning_success_rate) == (48, 11 / 19)


def test_who_may_see_the_report(seeded):
    c = seeded.container
    seeded.login("chenjing")
    with pytest.raises(PermissionDenied):
        c.exchange.report(*LEGACY)
    for user in ("zhangwei", "sunli", "admin"):
        seeded.login(user)
        assert c.exchange.report(*LEGACY).runs == 0


def test_cli_report_prints_the_same_figures(regional, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    db_url = regional.url
    expected = regional.exchange.report(*LEGACY).as_dict()
    out = tmp_path / "qc.xlsx"
    code = cli_main(
        [
            "report",
            "--from",
            "2020-01-01",
            "--to",
            "2024-12-31",
            "--db",
            db_url,
            "--json",
            "--user",
            "sunli",
            "--out",
            str(out),
        ]
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed == json.loads(json.dumps(expected))
    assert out.stat().st_size > 0
    code = cli_main(
        [
            "report",
            "--from",
            "2020-01-01",
            "--to",
            "2024-12-31",
            "--hospital",
            C,
            "--db",
            db_url,
            "--json",
            "--user",
            "sunli",
        ]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["runs"] == 4
