"""Record-form validation as plain functions (domain/record_inputs.py): no database, the people and the
run's other records handed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ecmo_desktop.domain.errors import NotFound, RuleViolation, ValidationError
from ecmo_desktop.domain.model import Privilege, Run, Staff
from ecmo_desktop.domain.record_inputs import (
    EndValues,
    check_end,
    daily_values,
    decision_values,
    follow_up_values,
    procedure_values,
)
from ecmo_desktop.domain.records import (
    DailyEntryInput,
    DecisionInput,
    FollowUp,
    FollowUpInput,
    PhysicianInput,
    Procedure,
    ProcedureInput,
    StaffInput,
)

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 Beijing
NOW = START + timedelta(days=3)


RUN = Run(
    id=1,
    hospital_id=1,
    patient_id=1,
    run_number=1,
    mode="VA",
    ecpr=False,
    indication="cardiogenic_shock",
    indication_other="",
    diagnosis="",
    status="on_ecmo",
    emergency=False,
    attending_id=None,
    ward="ICU",
    bed="1",
    created_at=START - timedelta(hours=2),
    decided_at=START - timedelta(hours=1),
    started_at=START,
    ended_at=None,
    end_reason=None,
    version=1,
)


def run(**changes: Any) -> Run:
    return replace(RUN, **changes)


class People:
    """The staff repository as the validators see it."""

    def __init__(self, *staff: Staff, privileges: dict[int, list[Privilege]] | None = None) -> None:
        self.staff = {s.id: s for s in staff}
        self.granted = privileges or {}

    def get(self, staff_id: int) -> Staff:
        if staff_id not in self.staff:
            raise NotFound()
        return self.staff[staff_id]

    def privileges(self, staff_id: int) -> list[Privilege]:
        return self.granted.get(staff_id, [])


def person(
    staff_id: int,
    *,
    title: str = "attending",
    roles: frozenset[str] = frozenset({"doctor"}),
    active: bool = True,
) -> Staff:
    return Staff(
        staff_id, f"u{staff_id}", f"人员{staff_id}", title, "ICU", 10, roles, active, False, False, True, 1
    )


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in exc.value.errors]


def test_a_decision_form_shows_every_problem_at_once() -> None:
    nurse = person(7, title="nurse", roles=frozenset({"nurse"}))
    data = DecisionInput(
        kind="",
        decided_at=START - timedelta(hours=1),
        physicians=(PhysicianInput(7, "attending"), PhysicianInput(99, "expert")),
    )
    with pytest.raises(ValidationError) as exc:
        decision_values(
            data,
            run=run(),
            now=NOW,
            staff=People(nurse),
            decisions=(),
            supplement_target=None,
            record_id=None,
        )
    assert fields_of(exc) == [
        ("决策类型", "请选择"),
        ("决策医师", "{name} 不是医师，不能参与上机/撤机决策"),
        ("决策医师", "找不到人员（编号 {id}）"),
    ]


def test_a_valid_decision_comes_back_typed() -> None:
    data = DecisionInput(
        kind="start",
        decided_at=START - timedelta(hours=1),
        physicians=(PhysicianInput(1, "attending"), PhysicianInput(2, "expert")),
        pre_ecmo={"lactate": "4.2"},
    )
    values = decision_values(
        data,
        run=run(status="planned", started_at=None),
        now=NOW,
        staff=People(person(1), person(2, title="chief")),
        decisions=(),
        supplement_target=None,
        record_id=None,
    )
    assert values.kind == "start" and values.decided_at == START - timedelta(hours=1)
    assert values.pre_ecmo == {"lactate": 4.2} and values.physicians == ((1, "attending"), (2, "expert"))


def test_an_operator_without_a_privilege_at_the_start_is_refused_r3() -> None:
    started = START + timedelta(days=1)
    granted = Privilege(1, 1, started + timedelta(hours=1), None, None, None, None, "")  # an hour too late
    data = ProcedureInput(
        started_at=started, location="icu", staff=(StaffInput(1, "operator"),), reason="堵塞"
    )
    with pytest.raises(RuleViolation) as exc:
        procedure_values(
            data,
            "circuit_change",
            run=run(),
            now=NOW,
            staff=People(person(1), privileges={1: [granted]}),
            record=None,
        )
    assert exc.value.rule == "R3"
    ok = Privilege(1, 1, started - timedelta(days=30), None, None, None, None, "")
    values = procedure_values(
        data, "circuit_change", run=run(), now=NOW, staff=People(person(1), privileges={1: [ok]}), record=None
    )
    assert values.staff == ((1, "operator"),) and values.mode_before is None and values.reason == "堵塞"


def test_the_daily_entry_knows_its_ecmo_day() -> None:
    values = daily_values(
        DailyEntryInput(recorded_at=START + timedelta(days=2), values={"blood_flow": "3.5"}),
        run=run(),
        now=NOW,
    )
    assert values.ecmo_day == 2 and values.mode == "VA" and values.values == {"blood_flow": 3.5}
    with pytest.raises(ValidationError) as exc:
        daily_values(DailyEntryInput(recorded_at=START - timedelta(hours=1)), run=run(), now=NOW)
    assert fields_of(exc) == [("记录时间", "不能早于上机（首次转流）时间")]


BASE: dict[str, Any] = dict(
    run_id=1,
    status="draft",
    version=1,
    created_at=START,
    created_by_id=1,
    created_by_name="",
    updated_at=START,
    signed_at=None,
)


def test_alive_at_follow_up_after_a_recorded_death_is_refused() -> None:
    def follow_up(fid: int, kind: str, **result: Any) -> FollowUp:
        due = FollowUp(
            **BASE,
            id=fid,
            kind=kind,
            due_date=date(2026, 3, 30),
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
        return replace(due, **result)

    dead = follow_up(1, "discharge", fu_status="done", vital_status="dead", date_of_death=date(2026, 3, 10))
    d28 = follow_up(2, "d28")
    data = FollowUpInput(
        status="done", done_at=NOW + timedelta(days=20), vital_status="alive", contact_method="phone"
    )
    with pytest.raises(ValidationError) as exc:
        follow_up_values(
            data, run=run(status="ended"), rec=d28, now=NOW + timedelta(days=25), follow_ups=(dead, d28)
        )
    assert fields_of(exc) == [("生存状态", "已记录患者于 {date} 死亡，随访时不能为存活")]


def test_a_correction_of_the_end_does_not_recheck_the_decannulation_time() -> None:
    decannulation = Procedure(
        **BASE,
        id=5,
        kind="decannulation",
        started_at=START + timedelta(days=2),
        flow_at=None,
        ended_at=None,
        location="icu",
        technique=None,
        guidance=None,
        mode_before=None,
        mode_after=None,
        reason="好转",
        settings={},
        immediate_complications=(),
        notes="",
        staff=(),
        cannulae=(),
    )
    early = EndValues(ended_at=START + timedelta(days=1), reason="weaned", notes="")
    with pytest.raises(ValidationError) as exc:
        check_end(early, started_at=START, decannulations=[decannulation])
    assert fields_of(exc) == [("撤机时间", "不能早于拔管开始时间")]
    check_end(early, started_at=START, decannulations=[decannulation], correcting=True)
    with pytest.raises(ValidationError) as exc:
        check_end(early, started_at=START, decannulations=[], correcting=True)
    assert fields_of(exc) == [("撤机结局", "成功撤机须先记录撤机拔管")]
