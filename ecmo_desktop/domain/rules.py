"""The regulation's rules (REGULATION.md R1–R15) as pure functions over domain values.

Each check returns ``RuleResult`` (pass / fail / pending with the reason) so the same function
drives the refusal in a service, the compliance checklist in the UI and the QC report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from ecmo_desktop.domain.enums import DeciderRole, Title
from ecmo_desktop.domain.model import Staff, TrainingRecord
from ecmo_desktop.domain.records import Consent, ProcedureStaff, ecmo_day
from ecmo_desktop.i18n import N_, _, join_names

PASS, FAIL, PENDING, NOT_APPLICABLE = "pass", "fail", "pending", "n/a"

EXPERT_MIN_YEARS = 8  # R13
PHYSICIAN_MIN_YEARS = 5  # R12
EXPERT_GROUP_MIN = 3  # R13
TRAINED_STAFF_MIN = 3  # R11
TRAINED_PHYSICIANS_MIN = 2  # R11
JOINT_DECISION_MIN = 3  # R1
JOINT_DECISION_EXPERTS_MIN = 2  # R1
SUPPLEMENT_HOURS = 12  # R2
TRAINING_MONTHS_MIN = 3  # R14
WHOLE_PROCESS_CASES_MIN = 5  # R14
R15_MIN_RUNS = 20  # R15: a training institution does ≥20 cases a year …
R15_MIN_WEANING = 0.40  # … with a weaning success rate ≥40 %
DAY_28 = 28  # 28-day survival (QC report, import checks, the run's outcome)
DAYS_PER_MONTH = 30.44


@dataclass(frozen=True)
class RuleResult:
    rule: str
    status: str
    message: str  # msgid
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status in (PASS, NOT_APPLICABLE)

    def text(self) -> str:
        try:
            return _(self.message).format(**self.params)
        except (KeyError, IndexError, ValueError):
            return _(self.message)


def expert_eligibility(staff: Staff) -> RuleResult:
    """R13: expert-group members hold an associate-senior title or higher and ≥8 years of practice."""
    title = Title(staff.title) if staff.title in Title._value2member_map_ else Title.OTHER
    if not title.is_associate_senior_or_higher:
        return RuleResult(
            "R13",
            FAIL,
            N_("{name} 的职称为{title}，专家组成员须具有副高及以上职称"),
            {"name": staff.full_name, "title": title.label},
        )
    if staff.years_in_practice < EXPERT_MIN_YEARS:
        return RuleResult(
            "R13",
            FAIL,
            N_("{name} 临床工作 {years} 年，专家组成员须 8 年以上"),
            {"name": staff.full_name, "years": staff.years_in_practice},
        )
    return RuleResult("R13", PASS, N_("{name} 符合专家组成员条件"), {"name": staff.full_name})


def lead_eligibility(staff: Staff) -> RuleResult:
    """R12: the ECMO lead is a physician with associate-chief title or higher."""
    title = Title(staff.title) if staff.title in Title._value2member_map_ else Title.OTHER
    if not (title.is_physician and title.is_associate_senior_or_higher):
        return RuleResult(
            "R12",
            FAIL,
            N_("ECMO 技术负责人须具有副主任医师及以上职称，{name} 为{title}"),
            {"name": staff.full_name, "title": title.label},
        )
    return RuleResult("R12", PASS, N_("ECMO 技术负责人 {name} 符合职称要求"), {"name": staff.full_name})


def expert_group_complete(members: list[Staff]) -> RuleResult:
    """R13: at least three qualifying members."""
    qualified = [m for m in members if expert_eligibility(m).passed]
    if len(qualified) >= EXPERT_GROUP_MIN:
        return RuleResult("R13", PASS, N_("专家组共 {n} 名合格成员"), {"n": len(qualified)})
    return RuleResult("R13", FAIL, N_("专家组仅有 {n} 名合格成员，至少需要 3 名"), {"n": len(qualified)})


def staffing(staff: list[Staff]) -> RuleResult:
    """R11: ≥3 staff trained and assessed in ECMO, ≥2 of them physicians."""
    trained = [s for s in staff if s.active and s.ecmo_trained]
    physicians = [s for s in trained if s.title in Title._value2member_map_ and Title(s.title).is_physician]
    if len(trained) >= TRAINED_STAFF_MIN and len(physicians) >= TRAINED_PHYSICIANS_MIN:
        return RuleResult(
            "R11",
            PASS,
            N_("经培训考核合格人员 {n} 名，其中医师 {p} 名"),
            {"n": len(trained), "p": len(physicians)},
        )
    return RuleResult(
        "R11",
        FAIL,
        N_("经培训考核合格人员 {n} 名（医师 {p} 名），要求至少 3 名且其中医师至少 2 名"),
        {"n": len(trained), "p": len(physicians)},
    )


def _title(value: str) -> Title:
    return Title(value) if value in Title._value2member_map_ else Title.OTHER


class Decider(Protocol):
    """A physician of a decision as R1/R2 see them: the read model's ``PhysicianInfo`` of a stored
    decision, or the decision form's ``DecisionPhysician`` preview."""

    @property
    def staff_id(self) -> int: ...
    @property
    def full_name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def expert_at_decision(self) -> bool: ...


def _distinct(physicians: Sequence[Decider]) -> list[Decider]:
    seen: dict[int, Decider] = {}
    for p in physicians:
        seen.setdefault(p.staff_id, p)
    return list(seen.values())


def joint_decision(physicians: Sequence[Decider]) -> RuleResult:
    """R1: a non-emergency start or weaning plan is made by ≥3 physicians, ≥1 the patient's attending
    (经治医师) and ≥2 members of the expert group at the time of the decision.

    Expert membership is the fact at ``decided_at`` (a physician merely *listed* as expert does not
    count); one person may be both the attending and an expert, as the specification allows.
    """
    people = [p for p in _distinct(physicians) if _title(p.title).is_physician]
    attendings = [p for p in people if p.role == DeciderRole.ATTENDING.value]
    experts = [p for p in people if p.expert_at_decision]
    missing: list[str] = []
    if len(people) < JOINT_DECISION_MIN:
        missing.append(_("须至少 3 名医师共同决策（当前 {n} 名）").format(n=len(people)))
    if not attendings:
        missing.append(_("须有患者的经治医师参与"))
    if len(experts) < JOINT_DECISION_EXPERTS_MIN:
        missing.append(_("须至少 2 名专家组成员参与（当前 {n} 名）").format(n=len(experts)))
    not_members = [
        p.full_name for p in people if p.role == DeciderRole.EXPERT.value and not p.expert_at_decision
    ]
    if not_members and len(experts) < JOINT_DECISION_EXPERTS_MIN:
        missing.append(_("{names} 在决策时不是专家组成员").format(names=join_names(not_members)))
    if missing:
        return RuleResult("R1", FAIL, N_("多学科决策不符合要求：{missing}"), {"missing": "；".join(missing)})
    return RuleResult(
        "R1",
        PASS,
        N_("{n} 名医师共同决策，含经治医师 {a} 名、专家组成员 {e} 名"),
        {"n": len(people), "a": len(attendings), "e": len(experts)},
    )


def emergency_decider(physicians: Sequence[Decider]) -> RuleResult:
    """R2: an emergency start may be decided by one expert-group physician of associate-chief title or
    higher.
    """
    qualified = [
        p
        for p in _distinct(physicians)
        if p.expert_at_decision
        and _title(p.title).is_physician
        and _title(p.title).is_associate_senior_or_higher
    ]
    if qualified:
        return RuleResult(
            "R2",
            PASS,
            N_("紧急上机由专家组成员 {name}（副主任医师及以上）决定"),
            {"name": qualified[0].full_name},
        )
    return RuleResult(
        "R2", FAIL, N_("紧急上机须由 1 名具有副主任医师及以上职称的专家组成员决定，决策医师中没有符合条件者")
    )


def supplement_deadline(started_at: datetime | None) -> datetime | None:
    """R2: the full plan is due 12 hours after ECMO start (first blood flow)."""
    return None if started_at is None else started_at + timedelta(hours=SUPPLEMENT_HOURS)


def supplement_state(
    deadline: datetime | None, supplemented_at: datetime | None, now: datetime
) -> tuple[str, timedelta | None]:
    """('pending' | 'met' | 'overdue', time remaining) of R2's 12-hour supplement.

    ``supplemented_at`` is when the supplementing team decided (a decision meeting R1); a
    supplement decided after the deadline does not meet it.
    """
    if deadline is None:
        return PENDING, None
    if supplemented_at is not None and supplemented_at <= deadline:
        return "met", deadline - supplemented_at
    remaining = deadline - now
    return (PENDING if remaining > timedelta(0) else "overdue"), remaining


def supplement_result(
    deadline: datetime | None, supplemented_at: datetime | None, supplement_signed: bool, now: datetime
) -> RuleResult:
    state, remaining = supplement_state(deadline, supplemented_at, now)
    if deadline is None:
        return RuleResult("R2", PENDING, N_("紧急上机：上机（首次转流）后 12 小时内须补充完整的多学科决策"))
    if state == "met":
        if not supplement_signed:
            return RuleResult("R2", PENDING, N_("已在 12 小时内补充多学科决策，待签名"))
        return RuleResult("R2", PASS, N_("已在上机后 12 小时内补充多学科决策"))
    assert remaining is not None
    if state == PENDING:
        minutes = int(remaining.total_seconds() // 60)
        return RuleResult(
            "R2",
            PENDING,
            N_("须在 {hours} 小时 {minutes} 分钟内补充多学科决策"),
            {"hours": minutes // 60, "minutes": minutes % 60},
        )
    late = int(-remaining.total_seconds() // 60)
    return RuleResult(
        "R2",
        FAIL,
        N_("紧急上机后 12 小时内未补充多学科决策（已超时 {hours} 小时 {minutes} 分钟）"),
        {"hours": late // 60, "minutes": late % 60},
    )


def privileged_operators(operators: Sequence[ProcedureStaff], what: str = "") -> RuleResult:
    """R3: every operator holds an ECMO privilege valid when the procedure started."""
    if not operators:
        return RuleResult("R3", FAIL, N_("{what}未记录术者"), {"what": _(what) if what else ""})
    lacking = [o.full_name for o in operators if not o.privileged_at_start]
    if lacking:
        return RuleResult(
            "R3",
            FAIL,
            N_("{what}术者 {names} 在操作时无有效的 ECMO 技术授权"),
            {"what": _(what) if what else "", "names": join_names(lacking)},
        )
    return RuleResult(
        "R3",
        PASS,
        N_("{what}术者 {names} 均持有有效的 ECMO 技术授权"),
        {"what": _(what) if what else "", "names": join_names(o.full_name for o in operators)},
    )


def consent_result(
    *, emergency: bool, consents: Sequence[Consent], started_at: datetime | None
) -> RuleResult:
    """R4: a non-emergency start needs consent before it; an emergency start is flagged until recorded."""
    given = [c for c in consents if not c.refused]
    if given:
        first = min(given, key=lambda c: c.signed_on_paper_at)
        if started_at is not None and first.signed_on_paper_at > started_at:
            if not emergency:
                return RuleResult("R4", FAIL, N_("知情同意签署时间晚于上机时间（非紧急上机须先签署）"))
            return RuleResult("R4", PASS, N_("紧急上机，知情同意已于上机后补签"))
        return RuleResult("R4", PASS, N_("已签署知情同意书（签署人：{name}）"), {"name": first.signer_name})
    if consents:
        return RuleResult("R4", FAIL, N_("患者或家属拒绝 ECMO 治疗（已记录拒绝）"))
    if started_at is None:
        return RuleResult("R4", PENDING, N_("上机前须签署知情同意书"))
    if emergency:
        return RuleResult("R4", PENDING, N_("紧急上机，知情同意尚未记录"))
    return RuleResult("R4", FAIL, N_("非紧急上机未签署知情同意书"))


def training_months(records: Sequence[TrainingRecord]) -> float:
    """Months of ECMO training (R14): overlapping courses count once."""
    spans = sorted((r.start_date, r.end_date) for r in records if r.end_date >= r.start_date)
    days = 0
    current: tuple[date, date] | None = None
    for start, end in spans:
        if current is None or start > current[1]:
            if current is not None:
                days += (current[1] - current[0]).days + 1
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        days += (current[1] - current[0]).days + 1
    return round(days / DAYS_PER_MONTH, 1)


def training_complete(staff: Staff, months: float, whole_process_cases: int) -> RuleResult:
    """R14: attending title or higher, ≥3 months of training, ≥5 cases managed through the whole process."""
    missing: list[str] = []
    if not _title(staff.title).is_attending_or_higher:
        missing.append(_("职称须为主治医师及以上（当前：{title}）").format(title=_title(staff.title).label))
    if months < TRAINING_MONTHS_MIN:
        missing.append(_("培训 {months} 个月，须至少 3 个月").format(months=months))
    if whole_process_cases < WHOLE_PROCESS_CASES_MIN:
        missing.append(_("全程参与 {n} 例，须至少 5 例").format(n=whole_process_cases))
    if missing:
        return RuleResult(
            "R14",
            FAIL,
            N_("{name} 未达到培训要求：{missing}"),
            {"name": staff.full_name, "missing": "；".join(missing)},
        )
    return RuleResult(
        "R14",
        PASS,
        N_("{name} 培训 {months} 个月，全程参与 {n} 例"),
        {"name": staff.full_name, "months": months, "n": whole_process_cases},
    )


def survived_day_28(started_at: datetime, died_at: datetime) -> bool:
    """28-day survival of a death: day 0 is the Beijing date of first flow; a death on day 28 or earlier
    is a 28-day death, on day 29 or later the patient was alive on day 28."""
    return ecmo_day(started_at, died_at) > DAY_28
