"""The compliance checklist of a run (R1–R4, R6, R8, R9) and the
hospital's standing (R11–R14), plus the CLI.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from ecmo_desktop.domain.errors import PermissionDenied, RuleViolation
from ecmo_desktop.domain.records import DailyEntryInput, EndInput, FollowUpInput, PhysicianInput
from tests.conftest import PASSWORD, Seeded
from tests.kit.records import START, WARD_TIME, RecDB, RecWard


def _ward(seeded: Seeded) -> RecWard:
    c = seeded.container
    c.ctx.clock.set(WARD_TIME)  # type: ignore[attr-defined]
    return RecWard(RecDB(c, c.ctx.clock, "", seeded.ids))  # type: ignore[attr-defined]


def _whole_process_case(rw: RecWard, day: int) -> int:
    """A run in which the attending (刘洋) took part in every phase R14 counts."""
    base = WARD_TIME + timedelta(days=day * 10)
    rw.clock.set(base)
    run = rw.on_ecmo(at=base - timedelta(hours=1))
    rw.login("liuyang")
    rw.c.records.record_daily_entry(run.id, DailyEntryInput(recorded_at=base, values={"hr": 90}))
    rw.clock.set(base + timedelta(days=3))
    rw.decide(run.id, kind="wean", at=base + timedelta(days=3, hours=-2))
    rw.c.records.record_decannulation(
        run.id, rw.procedure_input(started=base + timedelta(days=3, hours=-1), cannulae=(), reason="撤机")
    )
    rw.c.records.end_ecmo(run.id, EndInput(ended_at=base + timedelta(days=3), reason="weaned"))
    rw.clock.set(base + timedelta(days=4))
    discharge = next(f for f in rw.c.records.chart(run.id).follow_ups if f.kind == "discharge")
    rw.login("liuyang")
    rw.c.records.record_follow_up(
        discharge.id,
        FollowUpInput(
            status="done",
            done_at=base + timedelta(days=4),
            vital_status="alive",
            discharge_disposition="home",
        ),
    )
    return run.id


def test_hospital_status_r11_to_r14(seeded: Seeded) -> None:
    rw = _ward(seeded)
    c = rw.c
    rw.login("zhangwei")
    status = c.compliance.hospital_status()
    assert (status.staffing.status, status.lead.status, status.expert_group.status) == (
        "pass",
        "fail",
        "pass",
    )
    assert "尚未指定" in status.lead.text()
    attending = next(t for t in status.training if t.staff_id == seeded.attending_id)
    assert (attending.months_trained, attending.whole_process_cases, attending.result.status) == (
        0,
        0,
        "fail",
    )

    rw.login("admin")
    with pytest.raises(RuleViolation) as exc:  # R12: the lead needs associate-chief title or higher
        c.staff.set_ecmo_lead(seeded.attending_id)
    assert exc.value.rule == "R12"
    c.staff.set_ecmo_lead(seeded.doctor_id)
    c.staff.add_training(
        seeded.attending_id,
        institution="北京安贞医院",
        start_date=date(2025, 9, 1),
        end_date=date(2025, 12, 15),
        assessed=True,
    )
    membership = next(m for m, s in c.staff.expert_group() if s.id == seeded.experts[2])
    c.staff.remove_expert(membership.id, reason="退休")
    for sid in (seeded.doctor_id, seeded.experts[1], seeded.experts[2]):
        staff = c.staff.get_staff(sid)
        c.staff.update_staff(
            sid,
            expected_version=staff.version,
            full_name=staff.full_name,
            title=staff.title,
            department=staff.department,
            years_in_practice=staff.years_in_practice,
            roles=sorted(staff.roles),
            ecmo_trained=False,
        )
    status = c.compliance.hospital_status()
    assert (status.staffing.status, status.lead.status, status.expert_group.status) == (
        "fail",
        "pass",
        "fail",
    )
    attending = next(t for t in status.training if t.staff_id == seeded.attending_id)
    assert attending.months_trained == pytest.approx(3.5, abs=0.1) and attending.result.status == "fail"

    # R14: five cases through the whole process
    for i in range(4):
        _whole_process_case(rw, i)
    rw.login("zhangwei")
    attending = next(t for t in c.compliance.hospital_status().training if t.staff_id == seeded.attending_id)
    assert attending.whole_process_cases == 4 and "全程参与 4 例" in attending.result.text()
    _whole_process_case(rw, 4)
    rw.login("zhangwei")
    attending = next(t for t in c.compliance.hospital_status().training if t.staff_id == seeded.attending_id)
    assert (attending.whole_process_cases, attending.result.status) == (5, "pass")
    experts = [t for t in c.compliance.hospital_status().training if t.staff_id == seeded.experts[1]]
    assert experts[0].whole_process_cases == 0  # decided and weaned, but never charted a day or a follow-up

    rw.login("chenjing")
    with pytest.raises(PermissionDenied):
        c.compliance.hospital_status()


def test_run_checklist_through_a_whole_course(seeded: Seeded) -> None:
    rw = _ward(seeded)
    run = rw.new_run()
    rules = {r.rule for r in rw.c.compliance.run_checklist(run.id).results}
    assert rules == {"R1", "R2", "R3", "R4", "R6", "R8", "R9"}
    start = rw.c.compliance.run_checklist(run.id)
    assert [start.status_of(r) for r in ("R1", "R2", "R3", "R4", "R6", "R8", "R9")] == [
        "pending",
        "n/a",
        "pending",
        "pending",
        "pending",
        "pending",
        "pending",
    ]
    d = rw.decide(run.id, at=WARD_TIME - timedelta(hours=2))
    rw.consent(run.id)
    proc = rw.cannulate(run.id)
    for entity, rid in (("decision", d.id), ("procedure", proc.id)):
        rw.c.records.sign(entity, rid, PASSWORD)
    rw.clock.set(WARD_TIME + timedelta(days=2))
    wean = rw.decide(
        run.id,
        kind="wean",
        at=WARD_TIME + timedelta(days=2, hours=-3),
        physicians=(PhysicianInput(seeded.doctor_id, "expert"),),
    )
    rw.c.records.record_decannulation(
        run.id,
        rw.procedure_input(
            started=WARD_TIME + timedelta(days=2, hours=-1), cannulae=(), reason="撤机", operator="attending"
        ),
    )
    rw.c.records.end_ecmo(run.id, EndInput(ended_at=WARD_TIME + timedelta(days=2), reason="weaned"))
    checklist = rw.c.compliance.run_checklist(run.id)
    r1 = [r for r in checklist.results if r.rule == "R1"]
    assert [r.status for r in r1] == ["pass", "fail"]  # the start met R1; the weaning decision does not
    assert checklist.status_of("R3") == "pass" and checklist.status_of("R9") == "pass"
    assert wean.status == "draft"
    # two months later without any follow-up done: R9 fails, naming the overdue ones (the discharge
    # follow-up has a longer grace period)
    rw.clock.set(START + timedelta(days=60))
    r9 = next(r for r in rw.c.compliance.run_checklist(run.id).results if r.rule == "R9")
    assert r9.status == "fail" and "28天" in r9.text() and "出院" not in r9.text()


def test_cli_compliance_json(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecmo_desktop.cli import main
    from tests.conftest import PASSWORD

    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    rw = _ward(seeded)
    run = rw.on_ecmo(emergency=True)
    code = main(
        ["compliance", "--run", str(run.id), "--json", "--db", seeded.container.url, "--user", "chenjing"]
    )  # type: ignore[attr-defined]
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["run"] == run.id
    assert {r["rule"] for r in out["rules"]} == {"R1", "R2", "R3", "R4", "R6", "R8", "R9"}
    assert all(set(r) == {"rule", "status", "message"} for r in out["rules"])
    assert all(r["status"] in ("pass", "fail", "pending", "n/a") for r in out["rules"])
    r4 = next(r for r in out["rules"] if r["rule"] == "R4")
    assert r4 == {"rule": "R4", "status": "pending", "message": "紧急上机，知情同意尚未记录"}
    code = main(["worklist", "--json", "--db", seeded.container.url, "--user", "chenjing"])  # type: ignore[attr-defined]
    items = json.loads(capsys.readouterr().out)["items"]
    assert code == 0 and {"missing_consent", "unsigned_record"} <= {i["kind"] for i in items}
    code = main(
        ["compliance", "--run", "999999", "--json", "--db", seeded.container.url, "--user", "chenjing"]
    )  # type: ignore[attr-defined]
    assert code == 1 and "error" in json.loads(capsys.readouterr().out)
