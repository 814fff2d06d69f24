"""The worklist over a seeded database, with the clock fixed (FakeClock)."""

from __future__ import annotations

from datetime import timedelta

from ecmo_desktop.domain.records import DailyEntryInput, EndInput
from tests.conftest import PASSWORD, Seeded
from tests.kit.records import START, RecDB, RecWard


def _ward(seeded: Seeded) -> RecWard:
    c = seeded.container
    return RecWard(RecDB(c, c.ctx.clock, "", seeded.ids))  # type: ignore[attr-defined]


def test_worklist_contents_and_order(seeded: Seeded) -> None:
    rw = _ward(seeded)
    clock = rw.clock
    now = START + timedelta(days=60)  # 2026-05-01 09:00 in Beijing

    # D: weaned long ago; its 28-day follow-up is overdue, the discharge one due; every record signed
    clock.set(START + timedelta(days=10, hours=2))
    d = rw.on_ecmo(at=START + timedelta(days=10))
    clock.set(START + timedelta(days=15, hours=1))
    rw.c.records.record_decannulation(
        d.id, rw.procedure_input(started=START + timedelta(days=15), cannulae=(), reason="撤机")
    )
    rw.c.records.end_ecmo(d.id, EndInput(ended_at=START + timedelta(days=15, minutes=30), reason="weaned"))
    for record in rw.c.records.chart(d.id).all_records():
        if record.entity != "follow_up":
            rw.c.records.sign(record.entity, record.id, PASSWORD)

    # A: on ECMO since yesterday afternoon, last daily entry yesterday
    clock.set(now - timedelta(hours=18))
    a = rw.on_ecmo(at=now - timedelta(hours=20))
    rw.login("chenjing")
    entry = rw.c.records.record_daily_entry(
        a.id, DailyEntryInput(recorded_at=now - timedelta(hours=18), values={"hr": 88})
    )
    # B: emergency start two hours ago, no consent yet
    clock.set(now)
    b = rw.on_ecmo(emergency=True, at=now - timedelta(hours=2, minutes=25))
    # C: decided, waiting for consent
    c_run = rw.new_run()
    rw.decide(c_run.id, at=now - timedelta(minutes=30))

    items = rw.c.worklist.items()
    assert [i.urgency for i in items] == sorted(i.urgency for i in items)
    kinds = {(i.run_id, i.kind) for i in items if i.kind != "unsigned_record"}
    assert kinds == {
        (b.id, "supplement_due"),
        (b.id, "missing_consent"),
        (c_run.id, "missing_consent"),
        (a.id, "no_daily_today"),
        (b.id, "no_daily_today"),
        (d.id, "follow_up_overdue"),
        (d.id, "follow_up_due"),
    }
    first = items[0]
    assert (first.kind, first.run_id, first.remaining) == ("supplement_due", b.id, timedelta(hours=10))
    assert first.text() == "紧急上机：须在 10 小时 0 分钟内补充多学科决策"
    assert [i.kind for i in items if i.run_id == d.id and i.kind.startswith("follow")] == [
        "follow_up_overdue",
        "follow_up_due",
    ]
    overdue = next(i for i in items if i.kind == "follow_up_overdue")
    assert overdue.text() == "28天随访逾期（应于 2026-04-09）"
    unsigned = {(i.run_id, i.entity) for i in items if i.kind == "unsigned_record"}
    assert unsigned == {
        (a.id, "decision"),
        (a.id, "consent"),
        (a.id, "procedure"),
        (a.id, "daily_entry"),
        (b.id, "decision"),
        (b.id, "procedure"),
        (c_run.id, "decision"),
    }
    assert [i.owner_id for i in items if i.entity == "daily_entry"] == [seeded.nurse_id]

    # the nurse sees her own unsigned entry only; the ward's other items stay
    rw.login("chenjing")
    mine = [i for i in rw.c.worklist.items(mine_only=True) if i.kind == "unsigned_record"]
    assert [(i.entity, i.entity_id) for i in mine] == [("daily_entry", entry.id)]

    # charting today clears A's daily item; the day after, B needs one again
    rw.c.records.record_daily_entry(
        a.id, DailyEntryInput(recorded_at=now - timedelta(minutes=5), values={"hr": 85})
    )
    assert (a.id, "no_daily_today") not in {(i.run_id, i.kind) for i in rw.c.worklist.items()}
    clock.set(now + timedelta(hours=15))  # 00:00 Beijing the next day
    assert (a.id, "no_daily_today") in {(i.run_id, i.kind) for i in rw.c.worklist.items()}


def test_a_planned_emergency_run_is_on_the_worklist(seeded: Seeded) -> None:
    """Issue 11 §4: a new planned emergency run produced no worklist item, so no other PC saw it coming."""
    rw = _ward(seeded)
    run = rw.new_run(emergency=True)
    items = [i for i in rw.c.worklist.items() if i.run_id == run.id]
    assert [i.kind for i in items] == ["missing_consent"]
    assert items[0].text().startswith("紧急上机准备中")
