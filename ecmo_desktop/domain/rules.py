"""The regulation's rules (REGULATION.md R1–R15) as pure functions over domain values.

Each check returns ``RuleResult`` (pass / fail / pending with the reason) so the same function
drives the refusal in a service, the compliance checklist in the UI and the QC report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ecmo_desktop.domain.enums import Title
from ecmo_desktop.domain.model import Staff
from ecmo_desktop.i18n import N_, _

PASS, FAIL, PENDING, NOT_APPLICABLE = "pass", "fail", "pending", "n/a"

EXPERT_MIN_YEARS = 8  # R13
PHYSICIAN_MIN_YEARS = 5  # R12
EXPERT_GROUP_MIN = 3  # R13
TRAINED_STAFF_MIN = 3  # R11
TRAINED_PHYSICIANS_MIN = 2  # R11


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
        return RuleResult("R13", FAIL, N_("{name} 的职称为{title}，专家组成员须具有副高及以上职称"),
                          {"name": staff.full_name, "title": title.label})
    if staff.years_in_practice < EXPERT_MIN_YEARS:
        return RuleResult("R13", FAIL, N_("{name} 临床工作 {years} 年，专家组成员须 8 年以上"),
                          {"name": staff.full_name, "years": staff.years_in_practice})
    return RuleResult("R13", PASS, N_("{name} 符合专家组成员条件"), {"name": staff.full_name})


def lead_eligibility(staff: Staff) -> RuleResult:
    """R12: the ECMO lead is a physician with associate-chief title or higher."""
    title = Title(staff.title) if staff.title in Title._value2member_map_ else Title.OTHER
    if not (title.is_physician and title.is_associate_senior_or_higher):
        return RuleResult("R12", FAIL, N_("ECMO 技术负责人须具有副主任医师及以上职称，{name} 为{title}"),
                          {"name": staff.full_name, "title": title.label})
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
        return RuleResult("R11", PASS, N_("经培训考核合格人员 {n} 名，其中医师 {p} 名"),
                          {"n": len(trained), "p": len(physicians)})
    return RuleResult("R11", FAIL, N_("经培训考核合格人员 {n} 名（医师 {p} 名），要求至少 3 名且其中医师至少 2 名"),
                      {"n": len(trained), "p": len(physicians)})
