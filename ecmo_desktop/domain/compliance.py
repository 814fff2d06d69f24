"""The per-run compliance checklist (R1–R4, R6, R8, R9) and the follow-up schedule, as pure functions.

The same results drive the case view's checklist, the CLI (``ecmo-desktop compliance``) and the QC
report. Device facts (R6/R8) arrive as plain values so the device and document features can feed
them without this module knowing their tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ecmo_desktop.domain.enums import (
    DecisionKind,
    EndReason,
    FollowUpKind,
    FollowUpStatus,
    ProcedureKind,
    RunStatus,
)
from ecmo_desktop.domain.model import Run
from ecmo_desktop.domain.records import Decision, FollowUp, RunChart
from ecmo_desktop.domain.rules import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    PENDING,
    RuleResult,
    consent_result,
    emergency_decider,
    joint_decision,
    privileged_operators,
    supplement_deadline,
    supplement_result,
)
from ecmo_desktop.domain.time import local_date
from ecmo_desktop.i18n import N_, _, join_names

RUN_RULES = ("R1", "R2", "R3", "R4", "R6", "R8", "R9")

# ---- follow-up schedule (R9) ------------------------------------------------------------------------
FOLLOW_UP_OFFSETS_DAYS = {
    FollowUpKind.D28.value: 28,
    FollowUpKind.D90.value: 90,
    FollowUpKind.D180.value: 180,
}
# a follow-up shows as due this many days before its date, and overdue this many days after it
DUE_SOON_DAYS = 7
GRACE_DAYS = {FollowUpKind.DISCHARGE.value: 60}
DEFAULT_GRACE_DAYS = 14


def _add_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def follow_up_schedule(started_at: datetime, ended_at: datetime) -> list[tuple[str, date]]:
    """Due dates, counted from ECMO start (first flow, Beijing calendar days), discharge from the end."""
    start = local_date(started_at)
    plan = [
        (FollowUpKind.D28.value, start + timedelta(days=28)),
        (FollowUpKind.DISCHARGE.value, local_date(ended_at)),
        (FollowUpKind.D90.value, start + timedelta(days=90)),
        (FollowUpKind.D180.value, start + timedelta(days=180)),
        (FollowUpKind.Y1.value, _add_year(start)),
    ]
    return plan


def follow_up_state(fu: FollowUp, today: date) -> str:
    """closed (done/lost) | future | due (from a week before) | overdue (past the grace period)."""
    if fu.fu_status != FollowUpStatus.DUE.value:
        return "closed"
    if today > fu.due_date + timedelta(days=GRACE_DAYS.get(fu.kind, DEFAULT_GRACE_DAYS)):
        return "overdue"
    if today >= fu.due_date - timedelta(days=DUE_SOON_DAYS):
        return "due"
    return "future"


# ---- per-run checklist -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceFacts:
    """What the device and document features know about a run (R6, R8)."""

    bound: int  # active (not voided) device bindings of the run
    reused: int  # single-use items of this run actively bound to another run as well
    operation_notes: int  # operation-note documents generated for the run
    operation_notes_complete: bool | None = None  # every bound device printed (documents feature)


@dataclass(frozen=True)
class RunCompliance:
    run_id: int
    results: tuple[RuleResult, ...]  # possibly several per rule (R1 start and weaning, R3 per procedure)

    def status_of(self, rule: str) -> str:
        """The worst status among the results for ``rule``: fail > pending > pass > n/a."""
        order = {FAIL: 0, PENDING: 1, PASS: 2, NOT_APPLICABLE: 3}
        statuses = [r.status for r in self.results if r.rule == rule]
        return min(statuses, key=lambda s: order.get(s, 9)) if statuses else NOT_APPLICABLE


@dataclass(frozen=True)
class TrainingStatus:
    """R14 for one physician."""

    staff_id: int
    full_name: str
    title: str
    months_trained: float
    whole_process_cases: int
    result: RuleResult


@dataclass(frozen=True)
class HospitalCompliance:
    staffing: RuleResult  # R11
    lead: RuleResult  # R12
    expert_group: RuleResult  # R13
    training: tuple[TrainingStatus, ...]  # R14, one per active physician


def primary_start(decisions: Sequence[Decision]) -> Decision | None:
    """The run's start decision (not a supplement): the one R1/R2 are judged on."""
    starts = [d for d in decisions if d.kind == DecisionKind.START.value and d.supplement_of_id is None]
    return min(starts, key=lambda d: (d.decided_at, d.id)) if starts else None


def supplement_of(decisions: Sequence[Decision], emergency: Decision) -> Decision | None:
    """The earliest-decided supplement of an emergency start that meets R1."""
    candidates = [
        d for d in decisions if d.supplement_of_id == emergency.id and joint_decision(d.physicians).passed
    ]
    return min(candidates, key=lambda d: d.decided_at) if candidates else None


def _signed(result: RuleResult, signed: bool, what: str) -> RuleResult:
    if result.status == PASS and not signed:
        return RuleResult(result.rule, PENDING, N_("{what}符合要求，待签名"), {"what": _(what)})
    return result


def _r1(run: Run, chart: RunChart) -> list[RuleResult]:
    out: list[RuleResult] = []
    start = primary_start(chart.decisions)
    if start is None:
        status = PENDING if run.status == RunStatus.PLANNED.value else FAIL
        out.append(RuleResult("R1", status, N_("尚未记录上机决策")))
    elif start.emergency:
        out.append(
            RuleResult("R1", NOT_APPLICABLE, N_("紧急上机：上机决策适用 R2，12 小时内补充的决策须符合 R1"))
        )
    else:
        out.append(_signed(joint_decision(start.physicians), start.locked, N_("上机决策")))
    weans = [d for d in chart.decisions if d.kind == DecisionKind.WEAN.value]
    if weans:
        wean = max(weans, key=lambda d: (d.decided_at, d.id))
        if wean.emergency:
            out.append(RuleResult("R1", NOT_APPLICABLE, N_("紧急撤机：撤机决策不适用多学科要求")))
        else:
            out.append(_signed(joint_decision(wean.physicians), wean.locked, N_("撤机决策")))
    elif run.status == RunStatus.ENDED.value and run.end_reason == EndReason.WEANED.value:
        out.append(RuleResult("R1", FAIL, N_("撤机前未记录撤机决策")))
    elif run.status in (RunStatus.ON_ECMO.value, RunStatus.PLANNED.value):
        out.append(RuleResult("R1", PENDING, N_("撤机决策：尚未撤机")))
    return out


def _r2(chart: RunChart, started_at: datetime | None, now: datetime) -> list[RuleResult]:
    start = primary_start(chart.decisions)
    if start is None or not start.emergency:
        return [RuleResult("R2", NOT_APPLICABLE, N_("非紧急上机"))]
    out = [_signed(emergency_decider(start.physicians), start.locked, N_("紧急上机决策"))]
    supplement = supplement_of(chart.decisions, start)
    deadline = start.supplement_deadline or supplement_deadline(started_at)
    out.append(
        supplement_result(
            deadline,
            supplement.decided_at if supplement else None,
            bool(supplement and supplement.locked),
            now,
        )
    )
    return out


_R3_KINDS = (
    ProcedureKind.CANNULATION.value,
    ProcedureKind.CIRCUIT_CHANGE.value,
    ProcedureKind.DECANNULATION.value,
)


def _r3(chart: RunChart) -> list[RuleResult]:
    out: list[RuleResult] = []
    for p in chart.procedures:
        if p.kind in _R3_KINDS or p.operators:
            what = ProcedureKind(p.kind).label if p.kind in ProcedureKind._value2member_map_ else p.kind
            out.append(privileged_operators(p.operators, what + "："))
    if not out:
        out.append(RuleResult("R3", PENDING, N_("尚无置管/更换管路/拔管记录")))
    return out


def _r6_r8(devices: DeviceFacts | None) -> list[RuleResult]:
    if devices is None or devices.bound == 0:
        r6 = RuleResult("R6", PENDING, N_("本病例尚未绑定器械"))
    elif devices.reused:
        r6 = RuleResult("R6", FAIL, N_("{n} 件一次性器械同时绑定在其他病例"), {"n": devices.reused})
    else:
        r6 = RuleResult("R6", PASS, N_("已绑定 {n} 件器械，无一次性器械重复使用"), {"n": devices.bound})
    if devices is None or devices.operation_notes == 0:
        r8 = RuleResult("R8", PENDING, N_("尚未生成含器械条码的手术记录"))
    elif devices.operation_notes_complete is False:
        r8 = RuleResult("R8", FAIL, N_("手术记录未包含全部已绑定器械的条码"))
    else:
        r8 = RuleResult("R8", PASS, N_("已生成 {n} 份含器械条码的手术记录"), {"n": devices.operation_notes})
    return [r6, r8]


def _r9(run: Run, chart: RunChart, today: date) -> RuleResult:
    n = len(chart.complications)
    adverse = sum(1 for c in chart.complications if c.adverse_event)
    if run.status != RunStatus.ENDED.value:
        return RuleResult(
            "R9",
            PENDING,
            N_("ECMO 进行中：已编码并发症 {n} 项（不良事件 {a} 项）；撤机后建立随访计划"),
            {"n": n, "a": adverse},
        )
    if not chart.follow_ups:
        return RuleResult("R9", FAIL, N_("撤机后未建立随访计划"))
    overdue = [f for f in chart.follow_ups if follow_up_state(f, today) == "overdue"]
    if overdue:
        names = join_names(FollowUpKind(f.kind).label for f in overdue)
        return RuleResult("R9", FAIL, N_("随访逾期未完成：{kinds}"), {"kinds": names})
    done = sum(1 for f in chart.follow_ups if f.fu_status != FollowUpStatus.DUE.value)
    return RuleResult(
        "R9",
        PASS,
        N_("随访 {done}/{total} 已完成或已结案；并发症 {n} 项（不良事件 {a} 项）"),
        {"done": done, "total": len(chart.follow_ups), "n": n, "a": adverse},
    )


def check_run(
    run: Run, chart: RunChart, *, now: datetime, devices: DeviceFacts | None = None
) -> RunCompliance:
    """Every run-level rule, in rule order."""
    start = primary_start(chart.decisions)
    emergency = start.emergency if start is not None else run.emergency
    results: list[RuleResult] = [
        *_r1(run, chart),
        *_r2(chart, run.started_at, now),
        *_r3(chart),
        consent_result(emergency=emergency, consents=chart.consents, started_at=run.started_at),
        *_r6_r8(devices),
        _r9(run, chart, local_date(now)),
    ]
    return RunCompliance(run.id, tuple(results))
