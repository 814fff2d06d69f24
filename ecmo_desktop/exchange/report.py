"""The QC report (R9, R10, R15): every figure computed from case facts by a pure function.

Why pure: the same numbers appear in the CLI's JSON, the QC page's tables and charts, the .xlsx
and the PDF, and a regional centre's merged database must give the figures each hospital gets on
its own. Each figure has a one-line definition in :data:`DEFINITIONS` (shown in the UI next to the
figure and in ``docs/qc-indicators.md``); the decisions of ``DOMAIN.md`` are applied here:

* **28-day survival** counts from first blood flow, over runs whose 28-day status is known. ECMO
  day 0 is the (Beijing) date of first flow; a death on day 28 or earlier is a 28-day death, a death
  on day 29 or later is 28-day survival.
* **Successful weaning** (R15): ended as "weaned" (decannulated) with no death and no new ECMO run of
  the same patient within the window (24 h, or 48 h when the hospital set it) after the end.
* **自动出院** (discharge against advice) is "survival unknown" unless a follow-up after discharge
  found the patient alive or dead; the report counts the runs it affects.

Rates are plain fractions (``numerator / denominator``), ``None`` when the denominator is 0.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ecmo_desktop.domain.case import CaseFacts, DecisionInfo, EquipmentFact
from ecmo_desktop.domain.enums import (
    DecisionKind,
    DischargeDisposition,
    EndReason,
    EquipmentKind,
    FollowUpKind,
    ProcedureKind,
    RunStatus,
    VitalStatus,
)
from ecmo_desktop.domain.records import DecisionPhysician
from ecmo_desktop.domain.rules import (
    DAY_28,
    R15_MIN_RUNS,
    R15_MIN_WEANING,
    emergency_decider,
    joint_decision,
    supplement_deadline,
)
from ecmo_desktop.domain.time import BEIJING, local_date
from ecmo_desktop.i18n import N_

REPORT_SCHEMA = "ecmo-ward-qc-report"
REPORT_VERSION = 1

UNKNOWN_CITY = "-"

ALIVE_DISPOSITIONS = frozenset(
    {
        DischargeDisposition.HOME.value,
        DischargeDisposition.OTHER_HOSPITAL.value,
        DischargeDisposition.REHAB.value,
        DischargeDisposition.HOSPICE.value,
    }
)


# ---- complication buckets ------------------------------------------------------------------------
def _complication_groups() -> dict[str, frozenset[str]]:
    """QC indicator → complication codes, from the complication catalogue (domain/complications.py).

    The catalogue's own ``qc_group`` gives bleeding, thrombosis, haemolysis and infection; the report
    narrows "limb" to ischaemia (and its consequences) and "neurological" to stroke and intracranial
    haemorrhage, as the regional surveys table them; cannulation complications are the catalogue's
    cannulation-site bleeding, vessel injury and cannula malposition.
    """
    from ecmo_desktop.domain.complications import COMPLICATION_LIST

    by_qc: dict[str, set[str]] = defaultdict(set)
    for c in COMPLICATION_LIST:
        by_qc[c.qc_group].add(c.code)
    return {
        "cannulation": frozenset({"B-CANN", "L-DISS", "M-CANN"}),
        "bleeding": frozenset(by_qc["bleeding"]),
        "thrombosis": frozenset(by_qc["thrombosis"]),
        "limb_ischaemia": frozenset({"L-ISCH", "L-COMP", "L-AMP"}),
        "stroke_ich": frozenset({"N-STROKE", "N-ICH"}),
        "infection": frozenset(by_qc["infection"]),
        "haemolysis": frozenset(by_qc["haemolysis"]),
    }


COMPLICATION_GROUPS: Mapping[str, frozenset[str]] = _complication_groups()


# ---- outcomes of one run -------------------------------------------------------------------------
def day_28(case: CaseFacts) -> date | None:
    return None if case.run.started_at is None else local_date(case.run.started_at) + timedelta(days=DAY_28)


def death_date(case: CaseFacts) -> date | None:
    """The earliest recorded death: the run's date of death, a follow-up's, or death on ECMO (= run end)."""
    dates: list[date] = []
    if case.run.date_of_death is not None:
        dates.append(local_date(case.run.date_of_death))
    dates.extend(
        f.date_of_death
        for f in case.follow_ups
        if f.date_of_death is not None and f.vital_status == VitalStatus.DEAD.value
    )
    if case.run.end_reason == EndReason.DIED.value and case.run.ended_at is not None:
        dates.append(local_date(case.run.ended_at))
    return min(dates) if dates else None


def survived_28d(case: CaseFacts) -> bool | None:
    """Alive 28 days after first flow: True, False, or None when not known.

    Evidence in order: the run's recorded 28-day status (legacy imports); a recorded death (alive on
    day 28 iff it came on day 29 or later); a done 28-day follow-up; anything else showing the patient
    alive on or after day 28 (a later follow-up, the end of a run that lasted past day 28, a discharge
    alive on or after day 28).
    """
    if case.run.started_at is None:
        return None
    if case.run.survived_28d is not None:
        return case.run.survived_28d
    horizon = day_28(case)
    assert horizon is not None
    death = death_date(case)
    if death is not None:
        return death > horizon
    for f in case.follow_ups:
        if (
            f.done
            and f.kind == FollowUpKind.D28.value
            and f.vital_status in (VitalStatus.ALIVE, VitalStatus.DEAD)
        ):
            return f.vital_status == VitalStatus.ALIVE.value
    for f in case.follow_ups:
        seen = local_date(f.done_at) if f.done_at else f.due_date
        if f.done and f.vital_status == VitalStatus.ALIVE.value and seen >= horizon:
            return True
    if case.run.ended_at is not None and local_date(case.run.ended_at) >= horizon:
        return True  # still on support (so alive) on day 28, and not a death on ECMO (death came first)
    discharged = discharge_date(case)
    return True if discharged is not None and discharged >= horizon and discharged_alive(case) else None


def discharge_date(case: CaseFacts) -> date | None:
    return local_date(case.patient.discharged_at) if case.patient.discharged_at else None


def discharge_disposition(case: CaseFacts) -> str | None:
    """Where the patient went at discharge: the discharge follow-up's answer, else the patient record's."""
    for f in case.follow_ups:
        if f.kind == FollowUpKind.DISCHARGE.value and f.done and f.discharge_disposition:
            return f.discharge_disposition
    return case.patient.discharge_disposition


def _resolved_after_discharge(case: CaseFacts) -> bool | None:
    """A follow-up after a discharge against advice that found the patient alive (True) or dead (False)."""
    discharged = case.patient.discharged_at
    verdict: bool | None = None
    for f in sorted(
        case.follow_ups, key=lambda f: f.done_at or datetime.combine(f.due_date, time(0), BEIJING)
    ):
        if not f.done or f.kind == FollowUpKind.DISCHARGE.value:
            continue
        if discharged is not None and f.done_at is not None and f.done_at < discharged:
            continue
        if f.vital_status == VitalStatus.DEAD.value:
            return False
        if f.vital_status == VitalStatus.ALIVE.value:
            verdict = True
    return verdict


def discharged_alive(case: CaseFacts) -> bool | None:
    """Survival to hospital discharge (or transfer out alive); None when unknown.

    Discharge against advice (自动出院) is unknown unless a later follow-up resolved it.
    """
    if case.run.discharged_alive is not None:
        return case.run.discharged_alive
    if case.run.end_reason == EndReason.DIED.value:
        return False
    disposition = discharge_disposition(case)
    if disposition == DischargeDisposition.DIED.value:
        return False
    if disposition in ALIVE_DISPOSITIONS:
        return True
    if disposition == DischargeDisposition.AGAINST_ADVICE.value:
        return _resolved_after_discharge(case)
    for f in case.follow_ups:
        if (
            f.kind == FollowUpKind.DISCHARGE.value
            and f.done
            and f.vital_status in (VitalStatus.ALIVE, VitalStatus.DEAD)
        ):
            return f.vital_status == VitalStatus.ALIVE.value
    return None


def against_advice(case: CaseFacts) -> bool:
    return discharge_disposition(case) == DischargeDisposition.AGAINST_ADVICE.value


def ended(case: CaseFacts) -> bool:
    return case.run.ended_at is not None or case.run.status == RunStatus.ENDED.value


def weaning_success(case: CaseFacts, window_hours: int) -> bool | None:
    """Successful weaning (DOMAIN.md decision): None for runs not ended.

    Weaned (decannulated) and, within ``window_hours`` after the end, neither a recorded death
    (a death dated on or before the day the window closes counts: dates carry no hour) nor a new
    ECMO run of the same patient.
    """
    if not ended(case):
        return None
    if case.run.end_reason != EndReason.WEANED.value:
        return False
    death = death_date(case)
    end = case.run.ended_at
    if end is None:  # end time unknown (legacy row with an outcome only): any recorded death fails it
        return death is None
    limit = end + timedelta(hours=window_hours)
    if death is not None and death <= local_date(limit):
        return False
    return not any(end < start <= limit for start in case.other_run_starts)


# ---- process figures of one run ------------------------------------------------------------------
def _deciders(decision: DecisionInfo) -> list[DecisionPhysician]:
    return [p.decider() for p in decision.physicians]


def joint_decision_met(decision: DecisionInfo) -> bool:
    """R1 (``domain.rules.joint_decision``, the rule the wards are checked against) for one decision."""
    return joint_decision(_deciders(decision)).passed


def emergency_decider_met(decision: DecisionInfo) -> bool:
    """R2's emergency decider (``domain.rules.emergency_decider``) for one decision."""
    return emergency_decider(_deciders(decision)).passed


def r1_items(case: CaseFacts) -> list[bool]:
    """The R1 checks a charted run owes: its non-emergency start, and its weaning if it was weaned."""
    items: list[bool] = []
    signed = [d for d in case.decisions if d.locked and not d.emergency]
    if not case.run.emergency:
        start = case.run.started_at
        items.append(
            any(
                d.kind == DecisionKind.START.value
                and joint_decision_met(d)
                and (start is None or d.decided_at <= start)
                for d in signed
            )
        )
    if case.run.end_reason == EndReason.WEANED.value:
        end = case.run.ended_at
        items.append(
            any(
                d.kind == DecisionKind.WEAN.value
                and joint_decision_met(d)
                and (end is None or d.decided_at <= end)
                for d in signed
            )
        )
    return items


def r2_met(case: CaseFacts) -> bool | None:
    """R2 for an emergency start: a qualified emergency decider, and the full plan within 12 h of flow."""
    if not case.run.emergency:
        return None
    emergencies = [
        d for d in case.decisions if d.locked and d.emergency and d.kind == DecisionKind.START.value
    ]
    for em in emergencies:
        if not emergency_decider_met(em):
            continue
        deadline = em.supplement_deadline or supplement_deadline(case.run.started_at or em.decided_at)
        assert deadline is not None  # the anchor is never None
        for d in case.decisions:
            if (
                d.locked
                and d.kind == DecisionKind.START.value
                and not d.emergency
                and d.supplement_of_id == em.id
                and joint_decision_met(d)
                and d.decided_at <= deadline
            ):
                return True
    return False


def consent_met(case: CaseFacts) -> bool:
    """R4: a signed, not refused consent — before first flow, or at any time after an emergency start."""
    start = case.run.started_at
    return any(
        c.locked and not c.refused and (case.run.emergency or start is None or c.signed_on_paper_at <= start)
        for c in case.consents
    )


def decision_to_flow_minutes(case: CaseFacts) -> float | None:
    """Minutes from the (first) start decision to first blood flow."""
    if case.run.started_at is None:
        return None
    starts = [d.decided_at for d in case.decisions if d.kind == DecisionKind.START.value]
    decided = min(starts) if starts else case.run.decided_at
    if decided is None:
        return None
    minutes = (case.run.started_at - decided).total_seconds() / 60
    return minutes if minutes >= 0 else None


def low_flow_minutes(case: CaseFacts) -> float | None:
    """ECPR low-flow time: the pre-ECMO "cpr_minutes" (CPR start to ECMO flow) of the start decision."""
    if not case.run.ecpr:
        return None
    for d in sorted(case.decisions, key=lambda d: d.decided_at):
        value = d.pre_ecmo.get("cpr_minutes")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                continue
    return None


def cannulation_complication(case: CaseFacts) -> bool:
    """An immediate complication at cannulation, or a cannulation-type complication code."""
    if any(p.immediate_complications for p in case.procedures_of(ProcedureKind.CANNULATION.value)):
        return True
    return bool(case.complication_codes & COMPLICATION_GROUPS["cannulation"])


# ---- the report ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Report period: first-flow (Beijing) dates from ``date_from`` to ``date_to``, both included."""

    date_from: date
    date_to: date

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as aware UTC moments, for the database query."""
        start = datetime.combine(self.date_from, time(0), BEIJING).astimezone(UTC)
        end = datetime.combine(self.date_to + timedelta(days=1), time(0), BEIJING).astimezone(UTC)
        return start, end

    def contains(self, day: date) -> bool:
        return self.date_from <= day <= self.date_to


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _quartiles(values: Sequence[float]) -> tuple[float | None, float | None]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (None, None)
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def _rate_indicator(numerator: int, denominator: int, **extra: Any) -> dict[str, Any]:
    return {
        "value": _rate(numerator, denominator),
        "numerator": numerator,
        "denominator": denominator,
        **extra,
    }


def _median_indicator(values: Sequence[float], unit: str) -> dict[str, Any]:
    return {"value": _median(values), "n": len(values), "unit": unit}


def _sorted_counts(counter: Counter[str]) -> list[str]:
    return sorted(counter, key=lambda k: (-counter[k], k))


def _equipment(equipment: Sequence[EquipmentFact], period: Period) -> dict[str, Any]:
    """Consoles in service at the end of the period, by city and hospital; purchases per year."""
    consoles = [e for e in equipment if e.kind == EquipmentKind.CONSOLE.value]
    in_service = [
        e for e in consoles if e.active and (e.purchase_date is None or e.purchase_date <= period.date_to)
    ]
    cities = Counter(e.city or UNKNOWN_CITY for e in in_service)
    hospitals = Counter(e.hospital_name for e in in_service)
    purchases: dict[str, Counter[str]] = defaultdict(Counter)
    for e in consoles:
        if e.purchase_date is not None and period.contains(e.purchase_date):
            purchases[e.hospital_name][str(e.purchase_date.year)] += 1
    return {
        "equipment_by_city": {k: cities[k] for k in sorted(cities)},
        "equipment_by_hospital": {k: hospitals[k] for k in sorted(hospitals)},
        "equipment_by_hospital_year": {
            h: {y: purchases[h][y] for y in sorted(purchases[h])} for h in sorted(purchases)
        },
    }


@dataclass(frozen=True)
class QcReport:
    """The QC report for one period (and optionally one hospital); ``as_dict()`` is the JSON form."""

    date_from: date
    date_to: date
    hospital: str | None
    as_of: date
    weaning_window_hours: int
    runs: int
    runs_charted: int
    by_year: dict[str, int]
    by_hospital_year: dict[str, dict[str, int]]
    by_city: dict[str, int]
    by_mode: dict[str, dict[str, Any]]
    indications: dict[str, dict[str, Any]]
    equipment_by_city: dict[str, int]
    equipment_by_hospital: dict[str, int]
    equipment_by_hospital_year: dict[str, dict[str, int]]
    ecpr_runs: int
    weaning_success_rate: float | None
    survival_28d: float | None
    survival_to_discharge: float | None
    complications: dict[str, dict[str, Any]]
    complication_base: dict[str, Any]
    indicators: dict[str, dict[str, Any]]
    outcome_unknown: dict[str, Any]
    r15: dict[str, dict[str, dict[str, Any]]]
    by_hospital: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["date_from"] = self.date_from.isoformat()
        data["date_to"] = self.date_to.isoformat()
        data["as_of"] = self.as_of.isoformat()
        return {"schema": REPORT_SCHEMA, "version": REPORT_VERSION, **data}


def compute_report(
    cases: Iterable[CaseFacts],
    equipment: Iterable[EquipmentFact],
    *,
    period: Period,
    as_of: date,
    window_hours: int = 24,
    hospital: str | None = None,
) -> QcReport:
    """All figures for the runs whose first flow falls in ``period`` (and at ``hospital`` if named).

    ``as_of`` is the day follow-ups must have fallen due by to count in follow-up completeness.
    ``cases`` may be a stream in any order: each run is looked at once and only tallies are kept
    (:class:`_Tally`), so 50,000 runs cost what they cost to read, in memory that does not grow with them.
    """
    whole = _Tally(window_hours, as_of)
    hospitals: dict[str, _Tally] = {}
    cities: Counter[str] = Counter()
    for seq, c in enumerate(cases):
        if c.run.started_at is None or not period.contains(local_date(c.run.started_at)):
            continue
        if hospital is not None and c.hospital_name != hospital:
            continue
        run = _RunFigures(c, window_hours, as_of, seq)
        whole.add(run)
        per = hospitals.get(c.hospital_name)
        if per is None:
            per = hospitals[c.hospital_name] = _Tally(window_hours, as_of)
        per.add(run)
        cities[c.hospital_city or UNKNOWN_CITY] += 1
    kit = [e for e in equipment if hospital is None or e.hospital_name == hospital]
    figures = whole.figures()
    names = sorted(hospitals)
    r15 = {name: hospitals[name].r15() for name in names}
    by_hospital = {name: hospitals[name].figures() for name in names}
    return QcReport(
        date_from=period.date_from,
        date_to=period.date_to,
        hospital=hospital,
        as_of=as_of,
        weaning_window_hours=window_hours,
        by_hospital_year={name: hospitals[name].years() for name in names},
        by_city={k: cities[k] for k in sorted(cities)},
        r15=r15,
        by_hospital=by_hospital,
        **_equipment(kit, period),
        **figures,
    )


class _RunFigures:
    """What the report counts of one run, each rule evaluated once (a run
    feeds its hospital and the whole).
    """

    __slots__ = (
        "against_advice",
        "cannulated",
        "cannulation_complication",
        "charted",
        "circuit_changes",
        "codes",
        "consent",
        "decision_to_flow",
        "dis",
        "duration",
        "ecpr",
        "events",
        "follow_ups",
        "indication",
        "key",
        "low_flow",
        "mode",
        "r1",
        "r2",
        "s28",
        "traceable",
        "wean",
        "year",
    )

    def __init__(self, c: CaseFacts, window_hours: int, as_of: date, seq: int) -> None:
        # the order the figures were always summed in: first flow, hospital, MRN, then as read
        self.key = (c.run.started_at, c.hospital_name, c.patient.mrn, seq)
        self.year = c.year
        self.mode = c.run.mode
        self.indication = c.run.indication
        self.ecpr = c.run.ecpr
        self.charted = c.charted
        self.duration = c.duration_hours
        self.s28 = survived_28d(c)
        self.dis = discharged_alive(c)
        self.wean = weaning_success(c, window_hours)
        self.against_advice = against_advice(c)
        self.decision_to_flow = decision_to_flow_minutes(c)
        self.low_flow = low_flow_minutes(c)
        self.codes = c.complication_codes if self.charted else frozenset()
        self.events = [x.code for x in c.complications] if self.charted else []
        self.r1 = r1_items(c) if self.charted else []
        self.r2 = r2_met(c) if self.charted else None
        self.cannulated = self.charted and bool(c.procedures_of(ProcedureKind.CANNULATION.value))
        self.cannulation_complication = self.cannulated and cannulation_complication(c)
        self.circuit_changes = len(c.procedures_of(ProcedureKind.CIRCUIT_CHANGE.value)) if self.charted else 0
        self.consent = self.charted and consent_met(c)
        self.traceable = self.charted and c.all_devices_scanned
        self.follow_ups = (
            [(f.kind, f.done) for f in c.follow_ups if f.due_date <= as_of] if self.charted else []
        )


class _Outcomes:
    """Running 28-day survival, survival to discharge and weaning counts (``_outcomes`` of a stream)."""

    __slots__ = ("alive", "ended", "known28", "known_dis", "survived", "weaned")

    def __init__(self) -> None:
        self.survived = self.known28 = self.alive = self.known_dis = self.ended = self.weaned = 0

    def add(self, run: _RunFigures) -> None:
        if run.s28 is not None:
            self.known28 += 1
            self.survived += run.s28
        if run.dis is not None:
            self.known_dis += 1
            self.alive += run.dis
        if run.wean is not None:
            self.ended += 1
            self.weaned += run.wean

    def as_dict(self) -> dict[str, Any]:
        return {
            "survived_28d": self.survived,
            "known_28d": self.known28,
            "survival_28d": _rate(self.survived, self.known28),
            "discharged_alive": self.alive,
            "known_discharge": self.known_dis,
            "survival_to_discharge": _rate(self.alive, self.known_dis),
            "runs_ended": self.ended,
            "weaned_successfully": self.weaned,
            "weaning_success_rate": _rate(self.weaned, self.ended),
        }


_GROUPS = ("bleeding", "thrombosis", "limb_ischaemia", "stroke_ich", "infection", "haemolysis")


class _Tally:
    """The figures of one scope (the whole report, or one hospital) as running counts.

    Only the values a median needs and the charted runs' hours (summed at the end in the report's
    run order, so the total is the same float whatever order the runs came in) grow with the runs.
    """

    def __init__(self, window_hours: int, as_of: date) -> None:
        self.window_hours = window_hours
        self.as_of = as_of
        self.runs = self.charted = self.ecpr = 0
        self.year_counts: Counter[str] = Counter()
        self.modes: Counter[str] = Counter()
        self.mode_outcomes: dict[str, _Outcomes] = defaultdict(_Outcomes)
        self.mode_indications: dict[str, Counter[str]] = defaultdict(Counter)
        self.indications: Counter[str] = Counter()
        self.outcomes = _Outcomes()
        self.runs_with: Counter[str] = Counter()
        self.events_all: Counter[str] = Counter()
        self.events_timed: Counter[str] = Counter()
        self.timed_hours: list[tuple[Any, float]] = []  # (run order, hours) of charted runs with a duration
        self.durations: list[float] = []
        self.decision_to_flow: list[float] = []
        self.low_flow: list[float] = []
        self.r1_met = self.r1_all = self.r2_met = self.r2_all = 0
        self.cannulated = self.cannulation_complications = self.circuit_changes = 0
        self.consents = self.traceable = 0
        self.group_runs: Counter[str] = Counter()
        self.group_events: Counter[str] = Counter()
        self.fu_due: Counter[str] = Counter()
        self.fu_done: Counter[str] = Counter()
        self.unknown28 = self.unknown_dis = self.aa = self.aa_unknown_dis = self.aa_unknown28 = 0
        self.r15_runs: Counter[str] = Counter()
        self.r15_ended: Counter[str] = Counter()
        self.r15_weaned: Counter[str] = Counter()

    def add(self, run: _RunFigures) -> None:
        self.runs += 1
        if run.year is not None:
            year = str(run.year)
            self.year_counts[year] += 1
            self.r15_runs[year] += 1
            if run.wean is not None:
                self.r15_ended[year] += 1
                self.r15_weaned[year] += run.wean
        self.modes[run.mode] += 1
        self.mode_outcomes[run.mode].add(run)
        self.mode_indications[run.mode][run.indication] += 1
        self.indications[run.indication] += 1
        self.ecpr += bool(run.ecpr)
        self.outcomes.add(run)
        if run.duration is not None:
            self.durations.append(run.duration)
        if run.decision_to_flow is not None:
            self.decision_to_flow.append(run.decision_to_flow)
        if run.low_flow is not None:
            self.low_flow.append(run.low_flow)
        if run.s28 is None:
            self.unknown28 += 1
        if run.dis is None:
            self.unknown_dis += 1
        if run.against_advice:
            self.aa += 1
            self.aa_unknown_dis += run.dis is None
            self.aa_unknown28 += run.s28 is None
        if run.charted:
            self._add_charted(run)

    def _add_charted(self, run: _RunFigures) -> None:
        self.charted += 1
        self.runs_with.update(run.codes)
        self.events_all.update(run.events)
        timed = run.duration is not None
        if timed:
            assert run.duration is not None
            self.events_timed.update(run.events)
            self.timed_hours.append((run.key, run.duration))
        for group in _GROUPS:
            codes = COMPLICATION_GROUPS[group]
            if run.codes & codes:
                self.group_runs[group] += 1
            if timed:
                self.group_events[group] += sum(1 for code in run.events if code in codes)
        self.r1_all += len(run.r1)
        self.r1_met += sum(run.r1)
        if run.r2 is not None:
            self.r2_all += 1
            self.r2_met += run.r2
        if run.cannulated:
            self.cannulated += 1
            self.cannulation_complications += run.cannulation_complication
        self.circuit_changes += run.circuit_changes
        self.consents += run.consent
        self.traceable += run.traceable
        for kind, done in run.follow_ups:
            self.fu_due[kind] += 1
            self.fu_done[kind] += done

    def years(self) -> dict[str, int]:
        return {y: self.year_counts[y] for y in sorted(self.year_counts)}

    def figures(self) -> dict[str, Any]:
        """The figures reported for the whole scope and again for each hospital (the keys in their order)."""
        outcomes = self.outcomes.as_dict()
        hours = sum(h for _, h in sorted(self.timed_hours, key=lambda item: item[0]))
        complications = {
            code: {
                "runs": self.runs_with[code],
                "events": self.events_all[code],
                "rate": _rate(self.runs_with[code], self.charted),
                "per_1000_hours": self.events_timed[code] * 1000 / hours if hours else None,
            }
            for code in _sorted_counts(self.runs_with)
        }
        return {
            "runs": self.runs,
            "runs_charted": self.charted,
            "by_year": self.years(),
            "by_mode": self._by_mode(),
            "indications": {
                i: {"runs": self.indications[i], "share": _rate(self.indications[i], self.runs)}
                for i in _sorted_counts(self.indications)
            },
            "ecpr_runs": self.ecpr,
            "weaning_success_rate": outcomes["weaning_success_rate"],
            "survival_28d": outcomes["survival_28d"],
            "survival_to_discharge": outcomes["survival_to_discharge"],
            "complications": complications,
            "complication_base": {
                "runs": self.charted,
                "runs_with_duration": len(self.timed_hours),
                "ecmo_hours": hours,
            },
            "indicators": self._indicators(outcomes, hours),
            "outcome_unknown": {
                "survival_28d": self.unknown28,
                "discharge": self.unknown_dis,
                "against_advice": {
                    "runs": self.aa,
                    "unknown_discharge": self.aa_unknown_dis,
                    "unknown_28d": self.aa_unknown28,
                },
            },
        }

    def _by_mode(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for mode in _sorted_counts(self.modes):
            runs, indications = self.modes[mode], self.mode_indications[mode]
            result[mode] = {
                "runs": runs,
                "share": _rate(runs, self.runs),
                **self.mode_outcomes[mode].as_dict(),
                "indications": {
                    i: {"runs": indications[i], "share": _rate(indications[i], runs)}
                    for i in _sorted_counts(indications)
                },
            }
        return result

    def _indicators(self, outcomes: dict[str, Any], hours: float) -> dict[str, dict[str, Any]]:
        durations = sorted(self.durations)
        q1, q3 = _quartiles(durations)
        indicators: dict[str, dict[str, Any]] = {
            "decision_to_flow_minutes": _median_indicator(sorted(self.decision_to_flow), "minutes"),
            "ecpr_low_flow_minutes": _median_indicator(sorted(self.low_flow), "minutes"),
            "duration_hours": {**_median_indicator(durations, "hours"), "q1": q1, "q3": q3},
            "cannulation_complication_rate": _rate_indicator(self.cannulation_complications, self.cannulated),
        }
        for group in _GROUPS:
            events = self.group_events[group]
            indicators[f"{group}_rate"] = _rate_indicator(
                self.group_runs[group],
                self.charted,
                per_1000_hours=events * 1000 / hours if hours else None,
                per_1000_days=events * 1000 / (hours / 24) if hours else None,
            )
        indicators["circuit_changes_per_run"] = {
            "value": _rate(self.circuit_changes, self.charted),
            "numerator": self.circuit_changes,
            "denominator": self.charted,
        }
        indicators["weaning_success_rate"] = _rate_indicator(
            outcomes["weaned_successfully"], outcomes["runs_ended"], window_hours=self.window_hours
        )
        indicators["survival_28d"] = _rate_indicator(outcomes["survived_28d"], outcomes["known_28d"])
        indicators["survival_to_discharge"] = _rate_indicator(
            outcomes["discharged_alive"], outcomes["known_discharge"]
        )
        indicators["consent_rate"] = _rate_indicator(self.consents, self.charted)
        indicators["r1_compliance_rate"] = _rate_indicator(self.r1_met, self.r1_all)
        indicators["r2_compliance_rate"] = _rate_indicator(self.r2_met, self.r2_all)
        indicators["device_traceability_rate"] = _rate_indicator(self.traceable, self.charted)
        kinds = {k.value: {"due": self.fu_due[k.value], "done": self.fu_done[k.value]} for k in FollowUpKind}
        indicators["follow_up_completeness"] = _rate_indicator(
            sum(self.fu_done.values()),
            sum(self.fu_due.values()),
            by_kind={k: v for k, v in kinds.items() if v["due"]},
        )
        return indicators

    def r15(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for year in sorted(self.r15_runs):
            runs, ended, weaned = self.r15_runs[year], self.r15_ended[year], self.r15_weaned[year]
            rate = _rate(weaned, ended)
            meets_volume = runs >= R15_MIN_RUNS
            meets_weaning = rate is not None and rate >= R15_MIN_WEANING
            result[year] = {
                "runs": runs,
                "runs_ended": ended,
                "weaned_successfully": weaned,
                "weaning_success_rate": rate,
                "meets_volume": meets_volume,
                "meets_weaning": meets_weaning,
                "meets_r15": meets_volume and meets_weaning,
            }
        return result


# ---- definitions (shown in the UI and the documents; docs/qc-indicators.md says the same) -------
@dataclass(frozen=True)
class Definition:
    label: str  # msgid
    text: str  # msgid: how the figure is computed


DEFINITIONS: dict[str, Definition] = {
    "runs": Definition(
        N_("ECMO 例数"), N_("首次转流（上机）日期在统计期内的 ECMO 例次；未上机或已取消的不计")
    ),
    "runs_charted": Definition(
        N_("有临床记录的例数"),
        N_("在本程序中记录的例次，或导入时附带临床记录的例次；过程与安全指标以此为分母"),
    ),
    "by_year": Definition(N_("年度例数"), N_("按首次转流日期（北京时间）所在年份计数")),
    "by_hospital_year": Definition(N_("各医院年度例数"), N_("按医院和首次转流年份计数")),
    "by_city": Definition(N_("各城市例数"), N_("按医院所在城市/盟市计数")),
    "by_mode": Definition(
        N_("按模式"),
        N_(
            "各模式例数及占全部例数的比例；模式内各适应证的例数及占该模式例数的比例；各模式的 28 "
            "天存活率、存活出院率和成功撤机率"
        ),
    ),
    "indications": Definition(N_("适应证"), N_("各适应证例数及占全部例数的比例")),
    "equipment_by_city": Definition(
        N_("各城市 ECMO 主机数"),
        N_("统计期末在用（未停用，购置日期不晚于统计期末或不详）的 ECMO 主机，按医院所在城市计数"),
    ),
    "equipment_by_hospital": Definition(N_("各医院 ECMO 主机数"), N_("统计期末在用的 ECMO 主机，按医院计数")),
    "equipment_by_hospital_year": Definition(
        N_("各医院年度购置主机数"), N_("购置日期在统计期内的 ECMO 主机，按医院和购置年份计数")
    ),
    "ecpr_runs": Definition(N_("ECPR 例数"), N_("标记为 ECPR（心肺复苏中上机）的例次")),
    "weaning_success_rate": Definition(
        N_("成功撤机率"),
        N_(
            "成功撤机例数 ÷ 已结束例数。成功撤机：结局为撤机（已拔管），且撤机后窗口期（24 或 48 "
            "小时，见报告）内无死亡、无再次 ECMO"
        ),
    ),
    "survival_28d": Definition(
        N_("28 天存活率"),
        N_(
            "首次转流后第 28 天仍存活的例数 ÷ 28 天生存状态已知的例数。上机当天为第 0 天，第 28 "
            "天及以前死亡计为死亡，第 29 天及以后死亡计为存活"
        ),
    ),
    "survival_to_discharge": Definition(
        N_("存活出院率"),
        N_("存活出院（含存活转院）例数 ÷ 出院结局已知的例数。自动出院/放弃治疗未经随访确认者计为未知"),
    ),
    "complications": Definition(
        N_("并发症"),
        N_(
            "各并发症代码：发生该并发症的例数、事件数、发生率（例数 ÷ 有临床记录的例数）、每 1000 ECMO "
            "小时事件数（仅计持续时间已知的例次）"
        ),
    ),
    "complication_base": Definition(
        N_("并发症分母"), N_("有临床记录的例数、其中持续时间已知的例数及其 ECMO 总小时数")
    ),
    "outcome_unknown": Definition(
        N_("结局未知"),
        N_("28 天生存状态未知、出院结局未知的例数；自动出院/放弃治疗的例数及其中结局仍未知的例数"),
    ),
    "r15": Definition(
        N_("R15 年度例数与成功撤机率"), N_("每家医院每年：例数（要求 ≥20 例）和成功撤机率（要求 ≥40%）")
    ),
    "indicators": Definition(
        N_("质控指标"), N_("过程、安全与结局指标：每项给出数值及其分子、分母（或例数 n），定义见各项")
    ),
    "by_hospital": Definition(N_("按医院"), N_("上述各项指标按医院分别计算（区域中心汇总多家医院时使用）")),
    # indicators
    "decision_to_flow_minutes": Definition(
        N_("决策至转流时间（中位数）"),
        N_("首次上机决策时间至首次转流时间的分钟数，取中位数；n 为有两项时间的例数"),
    ),
    "ecpr_low_flow_minutes": Definition(
        N_("ECPR 低流量时间（中位数）"),
        N_("ECPR 例次上机前记录的心肺复苏持续时间（开始按压至 ECMO 转流，分钟），取中位数"),
    ),
    "duration_hours": Definition(
        N_("ECMO 持续时间"), N_("首次转流至撤机的小时数：中位数及四分位数（仅计已结束且时间完整的例次）")
    ),
    "cannulation_complication_rate": Definition(
        N_("插管并发症发生率"),
        N_(
            "置管记录有即刻并发症，或记录了插管部位出血、血管损伤/夹层、插管位置问题的例数 ÷ 有置管记录的例数"
        ),
    ),
    "bleeding_rate": Definition(
        N_("出血发生率"), N_("发生任一出血类并发症的例数 ÷ 有临床记录的例数；另给每 1000 ECMO 小时/天事件数")
    ),
    "thrombosis_rate": Definition(
        N_("血栓发生率"), N_("发生深静脉血栓、动脉血栓栓塞或左室/主动脉根部血栓的例数 ÷ 有临床记录的例数")
    ),
    "limb_ischaemia_rate": Definition(
        N_("肢体缺血发生率"), N_("发生肢体缺血、骨筋膜室综合征或截肢的例数 ÷ 有临床记录的例数")
    ),
    "stroke_ich_rate": Definition(
        N_("脑卒中/颅内出血发生率"), N_("发生缺血性脑卒中或颅内出血的例数 ÷ 有临床记录的例数")
    ),
    "infection_rate": Definition(
        N_("感染发生率"), N_("发生任一感染类并发症的例数 ÷ 有临床记录的例数；另给每 1000 ECMO 天事件数")
    ),
    "haemolysis_rate": Definition(
        N_("溶血发生率"), N_("发生溶血（游离血红蛋白 >500 mg/L）的例数 ÷ 有临床记录的例数")
    ),
    "circuit_changes_per_run": Definition(
        N_("每例更换管路/氧合器次数"), N_("更换管路/氧合器操作记录数 ÷ 有临床记录的例数")
    ),
    "consent_rate": Definition(
        N_("知情同意合规率（R4）"),
        N_("有已签名且未拒绝的知情同意（非紧急上机须在转流前签署，紧急上机可补签）的例数 ÷ 有临床记录的例数"),
    ),
    "r1_compliance_rate": Definition(
        N_("多学科决策合规率（R1）"),
        N_(
            "非紧急上机和撤机中，有已签名决策且由 ≥3 名医师（含经治医师、≥2 "
            "名决策时为专家组成员）在上机/撤机前作出的比例"
        ),
    ),
    "r2_compliance_rate": Definition(
        N_("紧急上机合规率（R2）"),
        N_(
            "紧急上机中，由副主任医师及以上专家组成员决定，且在转流后 12 小时内补充了符合 R1 "
            "的已签名决策的比例"
        ),
    ),
    "device_traceability_rate": Definition(
        N_("器械可追溯完整率"),
        N_("至少绑定一件器械且每件器械均扫码记录（有条码内容并含批号或序列号）的例数 ÷ 有临床记录的例数"),
    ),
    "follow_up_completeness": Definition(
        N_("随访完成率"), N_("截至统计日到期的随访中已完成的比例（失访计为未完成）")
    ),
}
