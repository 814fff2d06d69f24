"""Follow-up (R9): results, death recorded consistently, discharge categories, dates before start refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ecmo_desktop.domain.errors import ValidationError
from ecmo_desktop.domain.records import EndInput, FollowUpInput
from tests.conftest import PASSWORD
from tests.kit.records import (  # noqa: F401 - the *_fixture names are fixtures
    RecWard,
    rec_db_fixture,
    rw_fixture,
)


def _ended(rw: RecWard, days: int = 5) -> tuple[object, dict[str, object]]:
    """A run weaned after ``days`` days (started 2026-03-02 11:00 Beijing); its follow-ups by kind."""
    run = rw.on_ecmo(at=rw.at(hours=-1))
    rw.clock.advance(timedelta(days=days))
    rw.c.records.record_decannulation(
        run.id, rw.procedure_input(started=rw.at(days=days, hours=-1), cannulae=(), reason="撤机试验通过")
    )
    rw.c.records.end_ecmo(run.id, EndInput(ended_at=rw.at(days=days), reason="weaned"))
    return run, {f.kind: f for f in rw.c.records.chart(run.id).follow_ups}


def test_twenty_eight_day_follow_up_alive(rw: RecWard) -> None:
    run, fu = _ended(rw)
    rw.clock.advance(timedelta(days=25))
    with pytest.raises(ValidationError) as exc:
        rw.c.records.sign("follow_up", fu["d28"].id, PASSWORD)  # type: ignore[attr-defined]
    assert "尚未完成" in exc.value.user_message()
    done = rw.c.records.record_follow_up(
        fu["d28"].id,
        FollowUpInput(  # type: ignore[attr-defined]
            status="done",
            done_at=rw.at(days=29),
            contact_method="phone",
            vital_status="alive",
            cpc=1,
            mrs="2",
            eq5d_index="0.81",
        ),
    )
    assert (done.fu_status, done.cpc, done.mrs, done.eq5d_index) == ("done", 1, 2, 0.81)
    assert rw.c.runs.run_detail(run.id).run.survived_28d is True  # type: ignore[attr-defined]
    assert rw.c.records.sign("follow_up", done.id, PASSWORD).record.locked


def test_follow_up_cannot_be_dated_before_ecmo_start(rw: RecWard) -> None:
    _run, fu = _ended(rw)
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_follow_up(
            fu["discharge"].id,
            FollowUpInput(  # type: ignore[attr-defined]
                status="done", done_at=rw.at(days=-2), vital_status="alive", discharge_disposition="home"
            ),
        )
    assert "不能早于 ECMO 开始时间" in exc.value.user_message()
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_follow_up(
            fu["d90"].id,
            FollowUpInput(  # type: ignore[attr-defined]
                status="done", done_at=rw.at(days=5), vital_status="dead", date_of_death=date(2026, 2, 20)
            ),
        )
    assert "死亡日期" in exc.value.user_message()
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_follow_up(
            fu["d90"].id,
            FollowUpInput(
                status="done",
                done_at=rw.at(days=30),  # type: ignore[attr-defined]
                vital_status="alive",
            ),
        )
    assert "不能晚于当前时间" in exc.value.user_message()
    with pytest.raises(ValidationError):  # scores out of their scales
        rw.c.records.record_follow_up(
            fu["discharge"].id,
            FollowUpInput(  # type: ignore[attr-defined]
                status="done",
                done_at=rw.at(days=5),
                vital_status="alive",
                discharge_disposition="home",
                cpc=6,
            ),
        )


def test_death_recorded_at_a_follow_up_closes_the_later_ones(rw: RecWard) -> None:
    run, fu = _ended(rw)
    rw.clock.advance(timedelta(days=100))
    rw.c.records.record_follow_up(
        fu["d28"].id,
        FollowUpInput(
            status="done",
            done_at=rw.at(days=31),  # type: ignore[attr-defined]
            vital_status="alive",
        ),
    )
    dead = rw.c.records.record_follow_up(
        fu["d90"].id,
        FollowUpInput(  # type: ignore[attr-defined]
            status="done",
            done_at=rw.at(days=95),
            contact_method="phone",
            vital_status="dead",
            date_of_death=date(2026, 5, 20),
            cause_of_death="cardiac",
        ),
    )
    assert dead.date_of_death == date(2026, 5, 20)
    later = {f.kind: f for f in rw.c.records.chart(run.id).follow_ups}  # type: ignore[attr-defined]
    for kind in ("d180", "y1"):
        assert (later[kind].fu_status, later[kind].vital_status, later[kind].date_of_death) == (
            "done",
            "dead",
            date(2026, 5, 20),
        )
    assert later["d28"].vital_status == "alive"
    assert later["discharge"].fu_status == "due"  # discharged before death: still to be recorded
    after = rw.c.runs.run_detail(run.id).run  # type: ignore[attr-defined]
    assert after.survived_28d is True and after.date_of_death is not None
    # a later contact cannot say "alive" after the recorded death
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_follow_up(
            later["d180"].id, FollowUpInput(status="done", done_at=rw.at(days=99), vital_status="alive")
        )
    assert "死亡" in exc.value.user_message()


def test_death_contradicting_a_later_alive_contact_is_refused(rw: RecWard) -> None:
    run, fu = _ended(rw)
    rw.clock.advance(timedelta(days=100))
    rw.c.records.record_follow_up(
        fu["d90"].id,
        FollowUpInput(
            status="done",
            done_at=rw.at(days=92),  # type: ignore[attr-defined]
            vital_status="alive",
        ),
    )
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_follow_up(
            fu["d28"].id,
            FollowUpInput(  # type: ignore[attr-defined]
                status="done", done_at=rw.at(days=30), vital_status="dead", date_of_death=date(2026, 3, 25)
            ),
        )
    assert "矛盾" in exc.value.user_message()
    assert {f.kind: f for f in rw.c.records.chart(run.id).follow_ups}["d28"].fu_status == "due"  # type: ignore[attr-defined]


def test_discharge_against_advice_is_its_own_category(rw: RecWard) -> None:
    run, fu = _ended(rw)
    rw.clock.advance(timedelta(days=10))
    with pytest.raises(ValidationError) as exc:
        rw.c.records.record_follow_up(
            fu["discharge"].id,
            FollowUpInput(  # type: ignore[attr-defined]
                status="done", done_at=rw.at(days=12), vital_status="alive"
            ),
        )
    assert "出院去向" in exc.value.user_message()
    rw.c.records.record_follow_up(
        fu["discharge"].id,
        FollowUpInput(  # type: ignore[attr-defined]
            status="done",
            done_at=rw.at(days=12),
            vital_status="unknown",
            discharge_disposition="against_advice",
        ),
    )
    detail = rw.c.runs.run_detail(run.id)  # type: ignore[attr-defined]
    assert detail.run.discharged_alive is None
    assert detail.patient.discharge_disposition == "against_advice" and detail.patient.discharged_at == rw.at(
        days=12
    )


def test_lost_to_follow_up(rw: RecWard) -> None:
    _run, fu = _ended(rw)
    rw.clock.advance(timedelta(days=200))
    lost = rw.c.records.record_follow_up(fu["d180"].id, FollowUpInput(status="lost", notes="电话停机"))  # type: ignore[attr-defined]
    assert lost.fu_status == "lost" and lost.done_at == rw.clock.now()
    with pytest.raises(ValidationError):
        rw.c.records.record_follow_up(fu["y1"].id, FollowUpInput(status="due"))  # type: ignore[attr-defined]


def test_wrong_end_is_corrected_by_amendment_until_follow_up_starts(rw: RecWard) -> None:
    """A death recorded by mistake as 'weaned' (or the wrong time) is amended with a reason; the
    schedule follows; once a follow-up is recorded the end can no longer be changed."""
    run, fu = _ended(rw, days=5)
    with pytest.raises(ValidationError) as exc:
        rw.c.records.amend_end(run.id, EndInput(ended_at=rw.at(days=4), reason="died"), reason="")
    assert "必填" in exc.value.user_message()
    after = rw.c.records.amend_end(
        run.id, EndInput(ended_at=rw.at(days=4), reason="died"), reason="录入错误：患者死亡"
    )
    assert (after.end_reason, after.date_of_death) == ("died", rw.at(days=4))
    chart = {f.kind: f for f in rw.c.records.chart(run.id).follow_ups}
    assert {f.fu_status for f in chart.values()} == {"done"} and chart["d90"].vital_status == "dead"
    back = rw.c.records.amend_end(
        run.id, EndInput(ended_at=rw.at(days=5), reason="weaned"), reason="再次核对：已撤机"
    )
    assert back.date_of_death is None and back.end_reason == "weaned"
    chart = {f.kind: f for f in rw.c.records.chart(run.id).follow_ups}
    assert {f.fu_status for f in chart.values()} == {"due"}
    assert chart["d28"].due_date == fu["d28"].due_date  # type: ignore[attr-defined]
    rw.clock.advance(timedelta(days=30))
    rw.c.records.record_follow_up(
        chart["d28"].id,
        FollowUpInput(status="done", done_at=rw.at(days=29), contact_method="phone", vital_status="alive"),
    )
    with pytest.raises(ValidationError) as exc:
        rw.c.records.amend_end(run.id, EndInput(ended_at=rw.at(days=5), reason="died"), reason="又错了")
    assert "已有随访记录" in exc.value.user_message()
