"""Demo charting: each demo case's clinical course, recorded through the ward's own services.

Decision (R1 team, or an emergency start by one qualified expert with its 12-hour supplement —
a few late), consent, cannulation by a privileged physician, 1–3 daily entries a day with values
that drift the way a recovering or failing patient's do, complications at plausible rates,
weaning trials, decannulation and the end of support, then the follow-ups that are due by today.
Most records are signed (with the demo password, like a person would).

Follow-ups are recorded at the end (``finish``), in time order, so the audit trail reads like a
ward's: nothing is documented before it happened.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ecmo_desktop.domain.enums import Indication, Mode
from ecmo_desktop.domain.errors import AuthenticationFailed, EcmoError
from ecmo_desktop.domain.records import (
    CannulaInput,
    ComplicationInput,
    ConsentInput,
    DailyEntryInput,
    DecisionInput,
    EndInput,
    FollowUpInput,
    PhysicianInput,
    ProcedureInput,
    StaffInput,
    WeaningTrialInput,
)
from ecmo_desktop.domain.time import local_date

# per-run probabilities of complications, roughly as ELSO registry reports give them (adult)
COMPLICATION_RATES: list[tuple[str, float, str]] = [
    ("B-CANN", 0.28, "moderate"),
    ("R-CRRT", 0.22, "severe"),
    ("M-OXY", 0.12, "moderate"),
    ("B-HEMOLYSIS", 0.08, "moderate"),
    ("I-BSI", 0.10, "severe"),
    ("C-ARRHYTHMIA", 0.10, "moderate"),
    ("N-ICH", 0.04, "life_threatening"),
    ("N-STROKE", 0.04, "severe"),
    ("B-GI", 0.06, "moderate"),
    ("A-DECANN", 0.01, "life_threatening"),
]
VA_ONLY_RATES: list[tuple[str, float, str]] = [
    ("L-ISCH", 0.08, "severe"),
    ("C-LVDIST", 0.08, "moderate"),
    ("L-DIFFHYPOX", 0.05, "moderate"),
]


@dataclass
class _PendingFollowUp:
    at: datetime
    run_id: int
    follow_up_id: int
    data: FollowUpInput
    by: int


class RecordCourse:
    """One demo generator's charting: ``chart`` is a course step, ``finish`` runs after the last case."""

    def __init__(self, gen: Any, *, password: str) -> None:
        self.gen = gen
        self.password = password
        self.pending: list[_PendingFollowUp] = []
        self.cannot_sign: set[int] = set()
        self.users: dict[int, Any] = {}

    # ---- helpers ---------------------------------------------------------------------------------------
    @property
    def rng(self) -> random.Random:
        return self.gen.rng  # type: ignore[no-any-return]

    @property
    def records(self) -> Any:
        return self.gen.s.records

    def _as(self, staff_id: int, clock: Any, at: datetime) -> None:
        clock.set(at + timedelta(minutes=self.rng.randint(1, 20)))
        self._act(staff_id)

    def _act(self, staff_id: int) -> None:
        """Act as a colleague (looked up once: charting a course switches person hundreds of times)."""
        user = self.users.get(staff_id)
        if user is None:
            self.gen.act_as(staff_id)
            user = self.users[staff_id] = self.gen.ctx.user
        self.gen.ctx.user = user

    def _sign(self, entity: str, record_id: int, by: int, probability: float = 0.92) -> None:
        """Most records are signed by their author; a few recent ones are left for the worklist
        (a ward signs its records within days, so old cases are almost all signed)."""
        age = self.gen.real_clock.now() - self.gen.ctx.clock.now()
        if age > timedelta(days=14):
            probability = max(probability, 0.998)
        if by in self.cannot_sign or self.rng.random() > probability:
            return
        self._act(by)
        try:
            self.records.sign(entity, record_id, self.password)
        except AuthenticationFailed:  # an existing database whose accounts have other passwords
            self.cannot_sign.add(by)

    def _u(self, low: float, high: float, digits: int = 1) -> float:
        return round(self.rng.uniform(low, high), digits)

    # ---- the course of one case ------------------------------------------------------------------------
    def chart(self, run_id: int, start: datetime, mode: Mode, indication: Indication, clock: Any) -> None:
        team = self.gen.staff
        rng = self.rng
        run = self.gen.s.runs.run_detail(run_id).run
        now = self.gen.real_clock.now()
        va = mode != Mode.VV
        emergency = run.emergency
        experts = list(team.doctors)
        operators = team.doctors + team.attendings
        attending = run.attending_id or rng.choice(team.attendings)
        deciders = self._team(attending, experts)
        lead = rng.choice(experts)

        # decision (+ consent for a planned start)
        decided = start - (
            timedelta(minutes=rng.randint(20, 45)) if emergency else timedelta(hours=self._u(1.5, 6))
        )
        self._as(lead, clock, decided)
        decision = self.records.record_decision(
            run_id,
            DecisionInput(
                kind="start",
                decided_at=decided,
                emergency=emergency,
                mode_planned=mode.value,
                indication=indication.value,
                physicians=(PhysicianInput(lead, "expert"),) if emergency else deciders,
                rationale="紧急评估：常规治疗无效，符合 ECMO 指征"
                if emergency
                else "多学科讨论：符合 ECMO 指征，无绝对禁忌证",
                pre_ecmo=self._pre_ecmo(va, indication),
                contraindications={"irreversible_brain_injury": False, "terminal_malignancy": False},
            ),
        )
        self._sign("decision", decision.id, lead, 0.97)
        consent_at = None if emergency else decided + timedelta(minutes=rng.randint(10, 50))
        if consent_at is not None:
            self._consent(run_id, lead, clock, consent_at)

        # cannulation: first flow is ``start``
        operator = rng.choice(operators)
        cannulation_at = start - timedelta(minutes=rng.randint(15, 40))
        finished = start + timedelta(minutes=rng.randint(10, 30))
        self._as(operator, clock, finished)
        proc = self.records.record_cannulation(
            run_id,
            ProcedureInput(
                started_at=cannulation_at,
                flow_at=start,
                ended_at=finished,
                location=rng.choice(["icu", "icu", "cath_lab", "ed", "or"]),
                technique="percutaneous",
                guidance=rng.choice(["ultrasound", "ultrasound", "fluoroscopy"]),
                staff=(
                    StaffInput(operator, "operator"),
                    StaffInput(
                        attending if attending != operator else rng.choice(team.attendings), "assistant"
                    ),
                    StaffInput(rng.choice(team.perfusionists), "perfusionist"),
                    StaffInput(rng.choice(team.nurses), "nurse"),
                ),
                cannulae=self._cannulae(va),
                mode_after=mode.value,
                settings={
                    "rpm": rng.randrange(2800, 3800, 50),
                    "blood_flow": self._u(3.0, 4.6),
                    "sweep": self._u(2.0, 5.0),
                    "fdo2": rng.choice([0.8, 1.0]),
                    "heparin_bolus": rng.randrange(50, 101, 10),
                    "priming_volume": rng.randrange(400, 700, 50),
                },
                immediate_complications=("site_bleeding",) if rng.random() < 0.1 else (),
            ),
        )
        self._sign("procedure", proc.id, operator)
        if emergency:
            self._supplement(run_id, decision.id, start, attending, experts, clock, now)
            if rng.random() < 0.95:
                self._consent(run_id, lead, clock, start + timedelta(hours=self._u(0.5, 5)))

        # how it will go
        outcome = rng.choices(
            ["weaned", "died", "withdrawn", "bridged", "transferred"], weights=[52, 28, 12, 4, 4]
        )[0]
        days = rng.randint(3, 10) if va else rng.randint(6, 20)
        if now - start < timedelta(days=45):
            days = (now - start).days + rng.randint(1, 5)  # the most recent cases are still on ECMO today
        end = start + timedelta(days=days, hours=self._u(-6, 6))
        running = end > now - timedelta(hours=2)
        horizon = min(end, now - timedelta(minutes=30))
        self._daily_course(run_id, start, horizon, va, outcome, clock, attending)
        self._complications(run_id, start, horizon, va, clock, operators)
        if running:
            return

        # weaning and the end of support
        if outcome in ("weaned", "bridged", "withdrawn"):
            if outcome == "weaned":
                self._trials(run_id, end, va, clock, lead)
            wean_at = end - timedelta(hours=self._u(2, 6))
            self._as(lead, clock, wean_at)
            wean = self.records.record_decision(
                run_id,
                DecisionInput(
                    kind="wean",
                    decided_at=wean_at,
                    physicians=self._team(attending, experts),
                    rationale={
                        "weaned": "撤机试验通过，多学科讨论同意撤机",
                        "bridged": "过渡至心室辅助装置/移植",
                        "withdrawn": "预后不良，经家属同意撤除",
                    }[outcome],
                ),
            )
            self._sign("decision", wean.id, lead, 0.95)
            decannulator = rng.choice(operators)
            self._as(decannulator, clock, end)
            decann = self.records.record_decannulation(
                run_id,
                ProcedureInput(
                    started_at=end - timedelta(minutes=rng.randint(30, 60)),
                    ended_at=end,
                    location="icu",
                    technique=rng.choice(["cutdown", "percutaneous"]),
                    staff=(
                        StaffInput(decannulator, "operator"),
                        StaffInput(rng.choice(team.attendings), "assistant"),
                    ),
                    reason={
                        "weaned": "心肺功能恢复，撤机试验通过",
                        "bridged": "过渡至心室辅助装置",
                        "withdrawn": "预后不良，家属要求撤除",
                    }[outcome],
                ),
            )
            self._sign("procedure", decann.id, decannulator)
        self._as(lead, clock, end)
        self.records.end_ecmo(run_id, EndInput(ended_at=end, reason=outcome))
        self._plan_follow_ups(run_id, start, end, outcome, attending, now)

    def _team(self, attending: int, experts: list[int]) -> tuple[PhysicianInput, ...]:
        chosen = self.rng.sample([e for e in experts if e != attending], 2)
        return (PhysicianInput(attending, "attending"), *(PhysicianInput(e, "expert") for e in chosen))

    def _consent(self, run_id: int, by: int, clock: Any, at: datetime) -> None:
        rng = self.rng
        self._as(by, clock, at)
        consent = self.records.record_consent(
            run_id,
            ConsentInput(
                explained_by_id=by,
                signer_name=rng.choice("王李张刘陈杨赵黄") + rng.choice(["某", "女士", "先生"]),
                relationship=rng.choice(["spouse", "spouse", "child", "parent", "sibling"]),
                signed_at=at,
            ),
        )
        self._sign("consent", consent.id, by, 0.97)

    def _supplement(
        self,
        run_id: int,
        emergency_id: int,
        start: datetime,
        attending: int,
        experts: list[int],
        clock: Any,
        now: datetime,
    ) -> None:
        """R2: most emergency starts are supplemented within 12 h; a few late, a few still missing."""
        roll = self.rng.random()
        if roll < 0.06:
            return
        hours = self._u(13, 20) if roll < 0.14 else self._u(1.5, 10)
        at = start + timedelta(hours=hours)
        if at > now - timedelta(minutes=30):
            return
        lead = self.rng.choice(experts)
        self._as(lead, clock, at)
        supplement = self.records.record_decision(
            run_id,
            DecisionInput(
                kind="start",
                decided_at=at,
                physicians=self._team(attending, experts),
                supplement_of_id=emergency_id,
                rationale="紧急上机后多学科补充讨论：同意继续 ECMO 支持",
            ),
        )
        self._sign("decision", supplement.id, lead, 0.98)

    def _pre_ecmo(self, va: bool, indication: Indication) -> dict[str, Any]:
        u = self._u
        rng = self.rng
        values: dict[str, Any] = {
            "ph": u(7.02, 7.30, 2),
            "lactate": u(3.5, 14),
            "pao2": rng.randint(45, 90),
            "paco2": rng.randint(35, 85),
            "hr": rng.randint(95, 150),
            "map": rng.randint(40, 62),
            "vent_mode": "pc",
            "vent_fio2": u(0.8, 1.0, 2),
            "peep": rng.randint(8, 16),
            "hb": rng.randint(85, 135),
            "plt": rng.randint(60, 260),
        }
        if va:
            values.update(
                norepinephrine=u(0.2, 0.9, 2),
                epinephrine=u(0, 0.3, 2),
                dobutamine=u(0, 10),
                lvef=rng.randint(8, 30),
                mcs=rng.choice(["none", "iabp"]),
            )
        else:
            values.update(
                pao2=rng.randint(42, 65),
                paco2=rng.randint(55, 95),
                pplat=rng.randint(28, 36),
                mv_days=rng.randint(1, 6),
                prone="yes",
                resp_rate=rng.randint(24, 34),
            )
        if indication == Indication.CARDIAC_ARREST:
            values.update(
                cardiac_arrest="yes",
                arrest_location=rng.choice(["ihca", "ihca", "ohca"]),
                witnessed="yes",
                initial_rhythm=rng.choice(["vf", "vf", "pea", "asystole"]),
                cpr_minutes=rng.randint(20, 75),
                no_flow_minutes=rng.randint(0, 5),
                rosc="no",
            )
        return values

    def _cannulae(self, va: bool) -> tuple[CannulaInput, ...]:
        rng = self.rng
        if va:
            cannulae = [
                CannulaInput(
                    "drainage",
                    "femoral_vein",
                    "R",
                    rng.choice([21, 23, 25]),
                    55,
                    rng.randint(40, 48),
                    "RA/IVC",
                ),
                CannulaInput(
                    "return",
                    "femoral_artery",
                    "L",
                    rng.choice([15, 17, 19]),
                    23,
                    rng.randint(14, 18),
                    "髂总动脉",
                ),
            ]
            if rng.random() < 0.8:
                cannulae.append(
                    CannulaInput("distal_perfusion", "superficial_femoral", "L", rng.choice([6, 7, 8]))
                )
            return tuple(cannulae)
        if rng.random() < 0.15:
            return (
                CannulaInput("dual_lumen", "internal_jugular", "R", rng.choice([27, 29, 31]), 30, 14, "RA"),
            )
        return (
            CannulaInput(
                "drainage", "femoral_vein", "R", rng.choice([23, 25]), 55, rng.randint(42, 50), "IVC"
            ),
            CannulaInput(
                "return", "internal_jugular", "R", rng.choice([19, 21]), 15, rng.randint(13, 16), "SVC/RA"
            ),
        )

    def _daily_course(
        self,
        run_id: int,
        start: datetime,
        until: datetime,
        va: bool,
        outcome: str,
        clock: Any,
        attending: int,
    ) -> None:
        """1–3 entries a day; values move towards recovery (or not) over the run."""
        team = self.gen.staff
        rng = self.rng
        u = self._u
        total = max((until - start).total_seconds() / 86400, 0.5)
        recovering = outcome in ("weaned", "bridged")
        at = start + timedelta(hours=rng.randint(1, 4))
        while at <= until:
            progress = min((at - start).total_seconds() / 86400 / total, 1.0)
            trend = progress if recovering else -progress / 2
            lactate = max(
                0.6,
                round(6.5 - 5 * trend + rng.uniform(-0.8, 0.8) + (2 * progress if not recovering else 0), 1),
            )
            flow = round(
                max(
                    1.5, (4.2 if va else 4.6) - (1.8 * progress if recovering else 0) + rng.uniform(-0.3, 0.3)
                ),
                2,
            )
            pre = rng.randint(190, 280)
            values: dict[str, Any] = {
                "rpm": int(flow * 800 + rng.randint(-100, 100)),
                "blood_flow": flow,
                "sweep": u(1.0, 5.0),
                "fdo2": rng.choice([0.6, 0.8, 1.0]),
                "p_drainage": -rng.randint(25, 95),
                "p_pre_oxy": pre,
                "p_post_oxy": pre - rng.randint(12, 45 if rng.random() < 0.9 else 70),
                "hr": rng.randint(72, 125),
                "map": rng.randint(58, 88),
                "cvp": rng.randint(5, 14),
                "spo2": rng.randint(90, 100),
                "temperature": u(36.2, 37.9),
                "vent_fio2": u(0.3, 0.5, 2),
                "peep": rng.randint(8, 12),
                "pplat": rng.randint(18, 27),
                "tidal_volume": rng.randint(150, 380),
                "resp_rate": rng.randint(8, 12),
                "ph": u(7.33, 7.47, 2),
                "pao2": rng.randint(70, 180),
                "paco2": rng.randint(34, 48),
                "lactate": lactate,
                "svo2": rng.randint(60, 80),
                "post_oxy_pao2": rng.randint(250, 480),
                "hb": rng.randint(78, 118),
                "plt": rng.randint(45, 180),
                "fibrinogen": u(1.4, 4.0, 2),
                "act": rng.randint(150, 230),
                "aptt": rng.randint(45, 85),
                "heparin_dose": u(8, 20),
                "pfhb": rng.randint(30, 650 if rng.random() < 0.1 else 220),
                "ldh": rng.randint(180, 600),
                "tbil": u(8, 35),
                "creatinine": rng.randint(60, 260),
                "urine_output": rng.randint(300, 2800),
            }
            if va:
                values.update(
                    lvef=max(5, min(60, int(15 + 35 * max(trend, 0) + rng.randint(-5, 5)))),
                    norepinephrine=u(0.0, 0.3, 2),
                    spo2_lower=rng.randint(88, 99),
                )
            checks = {
                "anticoagulant": "ufh",
                "vent_mode": "pc",
                "crrt": "none" if rng.random() < 0.75 else "circuit",
                "limb_perfusion": "normal" if rng.random() < 0.92 else "reduced",
                "cannula_site": "normal" if rng.random() < 0.85 else "ooze",
                "circuit_check": "ok",
                "oxygenator_check": "ok" if rng.random() < 0.9 else "fibrin",
            }
            if va:
                checks.update(
                    av_opening="yes" if trend > 0.3 else rng.choice(["yes", "no"]),
                    lv_distension="no" if rng.random() < 0.9 else "yes",
                    differential_hypoxaemia="no",
                )
            roll = rng.random()
            author = (
                rng.choice(team.nurses + team.perfusionists)
                if roll < 0.7
                else attending
                if roll < 0.9
                else rng.choice(team.doctors + team.attendings)
            )
            self._as(author, clock, at)
            entry = self.records.record_daily_entry(
                run_id,
                DailyEntryInput(
                    recorded_at=at,
                    values=values,
                    checks=checks,
                    notes=rng.choice(
                        ["", "", "生命体征平稳", "穿刺点少量渗血，已加压包扎", "循环稳定，继续目前支持"]
                    ),
                ),
            )
            self._sign("daily_entry", entry.id, author, 0.9)
            at += timedelta(hours=rng.choice([8, 12, 12, 24]) + rng.uniform(-1, 1))

    def _complications(
        self, run_id: int, start: datetime, until: datetime, va: bool, clock: Any, operators: list[int]
    ) -> None:
        rng = self.rng
        span = max((until - start).total_seconds(), 3600)
        rates = COMPLICATION_RATES + (VA_ONLY_RATES if va else [])
        for code, rate, severity in rates:
            if rng.random() >= rate:
                continue
            onset = start + timedelta(seconds=rng.uniform(0.1, 0.9) * span)
            doctor = rng.choice(operators)
            resolved: datetime | None = onset + timedelta(hours=rng.randint(4, 48))
            if resolved > until or rng.random() < 0.4:  # type: ignore[operator]
                resolved = None
            self._as(doctor, clock, resolved or onset)
            comp = self.records.record_complication(
                run_id,
                ComplicationInput(
                    code=code, onset_at=onset, severity=severity, treatment="对症处理", resolved_at=resolved
                ),
            )
            self._sign("complication", comp.id, doctor, 0.85)
            if code == "M-OXY" and onset + timedelta(hours=2) < until:
                self._as(doctor, clock, onset + timedelta(hours=2))
                change = self.records.record_circuit_change(
                    run_id,
                    ProcedureInput(
                        started_at=onset + timedelta(hours=1),
                        ended_at=onset + timedelta(hours=1, minutes=20),
                        location="icu",
                        staff=(
                            StaffInput(doctor, "operator"),
                            StaffInput(rng.choice(self.gen.staff.perfusionists), "perfusionist"),
                        ),
                        reason="氧合器功能下降，跨膜压差升高，更换氧合器",
                    ),
                )
                self._sign("procedure", change.id, doctor)

    def _trials(self, run_id: int, end: datetime, va: bool, clock: Any, doctor: int) -> None:
        rng = self.rng
        tries = [False, True] if rng.random() < 0.3 else [True]
        for i, passed in enumerate(tries):
            at = end - timedelta(hours=30 if i == 0 and len(tries) == 2 else 8)
            self._as(doctor, clock, at + timedelta(hours=2))
            values: dict[str, Any] = {
                "map": rng.randint(62, 85) if passed else rng.randint(48, 60),
                "lactate": self._u(0.8, 1.8) if passed else self._u(2.5, 4.0),
                "hr": rng.randint(70, 110),
            }
            if va:
                values.update(
                    lvef=rng.randint(30, 50) if passed else rng.randint(15, 25),
                    lvot_vti=self._u(11, 16) if passed else self._u(6, 9),
                    av_opening="yes",
                )
            trial = self.records.record_weaning_trial(
                run_id,
                WeaningTrialInput(
                    started_at=at,
                    ended_at=at + timedelta(hours=2),
                    flow_to=1.5 if va else None,
                    sweep_to=None if va else 0,
                    fdo2_to=None if va else 0.21,
                    values=values,
                    passed=passed,
                ),
            )
            self._sign("weaning_trial", trial.id, doctor)

    def _plan_follow_ups(
        self, run_id: int, start: datetime, end: datetime, outcome: str, doctor: int, now: datetime
    ) -> None:
        """Decide each follow-up's result now, record it later (``finish``) in time order."""
        if outcome == "died":
            return
        rng = self.rng
        follow_ups = {f.kind: f for f in self.records.chart(run_id).follow_ups}
        died_on: datetime | None = None
        if outcome == "withdrawn":
            died_on = end + timedelta(hours=rng.randint(1, 48))
        elif outcome == "transferred":
            died_on = None if rng.random() < 0.6 else end + timedelta(days=rng.randint(3, 40))
        elif rng.random() < 0.18:
            died_on = end + timedelta(days=rng.randint(2, 200))
        discharge_at = end + timedelta(days=rng.randint(6, 28))
        for kind, fu in sorted(follow_ups.items(), key=lambda kv: kv[1].due_date):
            if kind == "discharge":
                at = min(discharge_at, died_on) if died_on else discharge_at
            else:
                at = datetime.combine(fu.due_date, datetime.min.time(), start.tzinfo) + timedelta(
                    days=rng.randint(0, 6), hours=rng.randint(1, 9)
                )
            if at > now - timedelta(hours=1):
                continue
            if died_on is not None and died_on <= at:
                data = FollowUpInput(
                    status="done",
                    done_at=at,
                    contact_method="records" if kind == "discharge" else "phone",
                    vital_status="dead",
                    date_of_death=local_date(died_on),
                    cause_of_death=rng.choice(["cardiac", "mof", "sepsis", "neurological"]),
                    discharge_disposition="died" if kind == "discharge" else None,
                )
                self.pending.append(_PendingFollowUp(at, run_id, fu.id, data, doctor))
                break  # the later ones close themselves once the death is recorded
            if kind != "discharge" and rng.random() < 0.06:
                data = FollowUpInput(status="lost", done_at=at, notes="电话无法接通")
            elif kind == "discharge":
                disposition = rng.choices(
                    ["home", "other_hospital", "rehab", "against_advice"], weights=[70, 15, 8, 7]
                )[0]
                data = FollowUpInput(
                    status="done",
                    done_at=at,
                    contact_method="records",
                    vital_status="unknown" if disposition == "against_advice" else "alive",
                    discharge_disposition=disposition,
                    cpc=rng.choice([1, 1, 2, 2, 3]),
                )
            else:
                data = FollowUpInput(
                    status="done",
                    done_at=at,
                    contact_method=rng.choice(["phone", "clinic"]),
                    vital_status="alive",
                    cpc=rng.choice([1, 1, 1, 2]),
                    mrs=rng.choice([0, 1, 1, 2, 3]),
                    eq5d_index=self._u(0.6, 1.0, 3),
                )
            self.pending.append(_PendingFollowUp(at, run_id, fu.id, data, doctor))

    def finish(self, clock: Any) -> None:
        """Record the planned follow-ups in time order, each when it happened."""
        for item in sorted(self.pending, key=lambda p: p.at):
            self._as(item.by, clock, item.at)
            try:
                fu = self.records.record_follow_up(item.follow_up_id, item.data)
            except EcmoError:  # e.g. a patient whose earlier follow-up already recorded the death
                continue
            self._sign("follow_up", fu.id, item.by, 0.9)
        self.pending.clear()
