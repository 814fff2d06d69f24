"""Validation of what the record forms send (``records.*Input``) into typed values ready to store.

Each ``*_values`` function checks one record kind the way the ward form expects: every problem of
the form at once (``Errors``), each naming its field by msgid, then either raises one
``ValidationError`` or returns a frozen ``*Values`` the repository writes column by column. Facts
that live in the database (the people, the run's other records) are handed in already loaded, or
through the ``StaffLookup`` port, so the rules here stay plain functions of their inputs; the rules
of the specification that refuse rather than correct (R3) raise ``RuleViolation``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from functools import partial
from typing import Any, Protocol, TypeVar

from ecmo_desktop.domain.complications import COMPLICATIONS
from ecmo_desktop.domain.enums import (
    CannulaRole,
    DeciderRole,
    DecisionKind,
    DischargeDisposition,
    EndReason,
    FollowUpKind,
    FollowUpStatus,
    Guidance,
    Indication,
    Location,
    Mode,
    ProcedureKind,
    Role,
    Severity,
    Side,
    StaffRoleInProcedure,
    Technique,
    Title,
    Vessel,
    VitalStatus,
)
from ecmo_desktop.domain.errors import FieldError, NotFound, RuleViolation, ValidationError
from ecmo_desktop.domain.fields import (
    CHOICES,
    DAILY,
    IMMEDIATE_COMPLICATIONS,
    PRE,
    PROC,
    WEAN,
    check_contraindications,
    derive,
    parse_choices,
    parse_one,
    parse_values,
)
from ecmo_desktop.domain.model import Privilege, Run, Staff
from ecmo_desktop.domain.records import (
    CannulaInput,
    CauseOfDeath,
    ComplicationInput,
    ConsentInput,
    ConsentRelationship,
    ContactMethod,
    DailyEntryInput,
    Decision,
    DecisionInput,
    EndInput,
    FollowUp,
    FollowUpInput,
    PhysicianInput,
    Procedure,
    ProcedureInput,
    WeaningTrialInput,
    ecmo_day,
)
from ecmo_desktop.domain.time import BEIJING, local_date
from ecmo_desktop.domain.validation import check_not_future, clean_text
from ecmo_desktop.i18n import N_

T = TypeVar("T")

NOTES_MAX = 4000
# procedures whose operator must hold an ECMO privilege (R3)
OPERATOR_REQUIRED = (
    ProcedureKind.CANNULATION.value,
    ProcedureKind.CIRCUIT_CHANGE.value,
    ProcedureKind.DECANNULATION.value,
)
REASON_REQUIRED = (
    ProcedureKind.CIRCUIT_CHANGE.value,
    ProcedureKind.MODE_CHANGE.value,
    ProcedureKind.DECANNULATION.value,
)

StaffPairs = tuple[tuple[int, str], ...]  # (staff_id, role) in the order entered


class StaffLookup(Protocol):
    """The people a record names (the staff repository satisfies it)."""

    def get(self, staff_id: int) -> Staff: ...  # raises NotFound
    def privileges(self, staff_id: int) -> list[Privilege]: ...


# ---- typed values (what the repository stores) ----------------------------------------------------------
@dataclass(frozen=True)
class Stamp:
    """Who saves a record and when (created_* on a new record, updated_* on every save)."""

    at: datetime
    by_id: int


@dataclass(frozen=True)
class DecisionValues:
    kind: str
    emergency: bool
    decided_at: datetime
    mode_planned: str | None
    indication: str | None
    indication_other: str
    rationale: str
    pre_ecmo: dict[str, Any]
    contraindications: dict[str, bool]
    supplement_of_id: int | None
    physicians: StaffPairs


@dataclass(frozen=True)
class ConsentValues:
    explained_by_id: int
    signer_name: str
    relationship_to_patient: str
    signed_on_paper_at: datetime
    refused: bool
    notes: str


@dataclass(frozen=True)
class CannulaValues:
    role: str
    vessel: str
    side: str
    size_fr: float | int
    length_cm: float | int | None
    depth_cm: float | int | None
    tip_position: str
    device_usage_id: int | None


@dataclass(frozen=True)
class ProcedureValues:
    kind: str
    started_at: datetime
    flow_at: datetime | None
    ended_at: datetime | None
    location: str
    technique: str | None
    guidance: str | None
    mode_before: str | None
    mode_after: str | None
    reason: str
    settings: dict[str, float | int]
    immediate_complications: list[str]
    notes: str
    staff: StaffPairs
    cannulae: tuple[CannulaValues, ...]


@dataclass(frozen=True)
class DailyValues:
    recorded_at: datetime
    ecmo_day: int
    mode: str
    values: dict[str, float | int]
    checks: dict[str, str]
    notes: str


@dataclass(frozen=True)
class ComplicationValues:
    code: str
    other_text: str
    onset_at: datetime
    severity: str
    treatment: str
    resolved_at: datetime | None
    resolution: str
    adverse_event: bool
    procedure_id: int | None
    device_item_id: int | None


@dataclass(frozen=True)
class WeaningValues:
    started_at: datetime
    ended_at: datetime | None
    flow_to: float | int | None
    sweep_to: float | int | None
    fdo2_to: float | int | None
    values: dict[str, Any]
    passed: bool | None
    notes: str


@dataclass(frozen=True)
class FollowUpValues:
    """The result columns of a follow-up (its kind and due date are set by the schedule)."""

    fu_status: str
    done_at: datetime | None
    contact_method: str | None
    vital_status: str | None
    date_of_death: date | None
    cause_of_death: str | None
    discharge_disposition: str | None
    cpc: float | int | None
    mrs: float | int | None
    eq5d_index: float | int | None
    notes: str

    @classmethod
    def of(cls, rec: FollowUp) -> FollowUpValues:
        """The stored result, as the start of a system change (re-dating, closing after a death)."""
        return cls(
            fu_status=rec.fu_status,
            done_at=rec.done_at,
            contact_method=rec.contact_method,
            vital_status=rec.vital_status,
            date_of_death=rec.date_of_death,
            cause_of_death=rec.cause_of_death,
            discharge_disposition=rec.discharge_disposition,
            cpc=rec.cpc,
            mrs=rec.mrs,
            eq5d_index=rec.eq5d_index,
            notes=rec.notes,
        )


@dataclass(frozen=True)
class EndValues:
    ended_at: datetime
    reason: str
    notes: str


# ---- small helpers ----------------------------------------------------------------------------------------
class Errors:
    """Collects field errors so a form shows every problem at once, not one per save."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def run(self, fn: Callable[[], T]) -> T | None:
        """``fn()``, or None after recording its field errors."""
        try:
            return fn()
        except ValidationError as exc:
            self.items.extend(exc.errors)
            return None

    def get(self, fn: Callable[[], T], default: T) -> T:
        """``fn()``, or ``default`` after recording its field errors."""
        found = self.run(fn)
        return default if found is None else found

    def add(self, field: str, message: str, **params: Any) -> None:
        self.items.append(FieldError(field, message, params))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def _valid(value: T | None) -> T:
    """A value ``Errors.raise_if_any`` has vouched for (a required field without error)."""
    if value is None:
        raise AssertionError("validated value missing")
    return value


def choice(value: str | None, enum: type[Enum], field: str, *, required: bool = True) -> str | None:
    """A coded value, one of ``enum``'s values (None when optional and empty)."""
    if value is None or value == "":
        if required:
            raise ValidationError(FieldError(field, N_("请选择")))
        return None
    if str(value) not in enum._value2member_map_:
        raise ValidationError(FieldError(field, N_("请选择")))
    return str(value)


def when(moment: datetime | None, field: str, now: datetime, *, required: bool = True) -> datetime | None:
    """A moment with its time zone, not in the future."""
    if moment is None:
        if required:
            raise ValidationError(FieldError(field, N_("必填")))
        return None
    if moment.tzinfo is None:
        raise ValidationError(FieldError(field, N_("时间缺少时区")))
    check_not_future(moment, now, field)
    return moment


def not_before(moment: datetime | None, floor: datetime | None, field: str, message: str) -> None:
    if moment is not None and floor is not None and moment < floor:
        raise ValidationError(FieldError(field, message))


def _split_mixed(raw: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A mapping holding both numeric and coded keys (pre-ECMO state, weaning values)."""
    numbers = {k: v for k, v in (raw or {}).items() if k not in CHOICES}
    coded = {k: v for k, v in (raw or {}).items() if k in CHOICES}
    return numbers, coded


def _title(staff: Staff) -> Title:
    return Title(staff.title) if staff.title in Title._value2member_map_ else Title.OTHER


def _beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


# ---- decisions (R1/R2 are checked when signed) ----------------------------------------------------------
def decision_values(
    data: DecisionInput,
    *,
    run: Run,
    now: datetime,
    staff: StaffLookup,
    decisions: Sequence[Decision],
    supplement_target: Decision | None,
    record_id: int | None,
) -> DecisionValues:
    """上机/撤机决策. ``decisions``: the run's decisions; ``supplement_target``: the decision named by
    ``data.supplement_of_id`` (None when it does not exist); ``record_id``: the one being edited."""
    e = Errors()
    kind = e.run(lambda: choice(data.kind, DecisionKind, N_("决策类型")))
    decided_at = e.run(lambda: when(data.decided_at, N_("决策时间"), now))
    indication = e.run(lambda: choice(data.indication, Indication, N_("适应证"), required=False))
    other = e.get(
        lambda: clean_text(
            data.indication_other,
            N_("其他适应证"),
            max_length=200,
            required=indication == Indication.OTHER.value,
        ),
        "",
    )
    mode = e.run(lambda: choice(data.mode_planned, Mode, N_("计划模式"), required=False))
    rationale = e.get(
        lambda: clean_text(data.rationale, N_("决策依据"), max_length=NOTES_MAX, multiline=True), ""
    )
    numbers, coded = _split_mixed(data.pre_ecmo)
    parsed = e.run(lambda: parse_values(PRE, numbers))
    choices: dict[str, str] = e.get(lambda: parse_choices(PRE, coded), {})
    contra: dict[str, bool] = e.get(lambda: check_contraindications(data.contraindications), {})
    physicians = _physicians(staff, data.physicians, e)
    if kind == DecisionKind.WEAN.value and run.started_at is None:
        e.add(N_("决策类型"), N_("尚未上机，不能记录撤机决策"))
    if kind == DecisionKind.WEAN.value and decided_at is not None:
        e.run(lambda: not_before(decided_at, run.started_at, N_("决策时间"), N_("撤机决策不能早于上机时间")))
    if data.supplement_of_id is not None:
        _check_supplement(run, data, kind, decided_at, decisions, supplement_target, record_id, e)
    elif kind == DecisionKind.START.value:
        existing = [
            d
            for d in decisions
            if d.kind == DecisionKind.START.value and d.supplement_of_id is None and d.id != record_id
        ]
        if existing:
            e.add(
                N_("决策类型"),
                N_("本病例已有上机决策；如需修改请更正原记录，紧急上机的补充决策请注明所补充的决策"),
            )
    e.raise_if_any()
    values: dict[str, Any] = {**(parsed.values if parsed else {}), **choices}
    return DecisionValues(
        kind=_valid(kind),
        emergency=bool(data.emergency),
        decided_at=_valid(decided_at),
        mode_planned=mode,
        indication=indication,
        indication_other=other,
        rationale=rationale,
        pre_ecmo=values,
        contraindications=contra,
        supplement_of_id=data.supplement_of_id,
        physicians=tuple(physicians),
    )


def _physicians(staff: StaffLookup, physicians: Sequence[PhysicianInput], e: Errors) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    if not physicians:
        e.add(N_("决策医师"), N_("请至少填写 1 名决策医师"))
        return out
    seen: set[int] = set()
    for p in physicians:
        role = e.run(partial(choice, p.role, DeciderRole, N_("决策医师角色")))
        try:
            person = staff.get(p.staff_id)
        except NotFound:
            e.add(N_("决策医师"), N_("找不到人员（编号 {id}）"), id=p.staff_id)
            continue
        if p.staff_id in seen:
            e.add(N_("决策医师"), N_("{name} 重复填写"), name=person.full_name)
            continue
        seen.add(p.staff_id)
        if not _title(person).is_physician or not person.has_role(Role.DOCTOR):
            e.add(N_("决策医师"), N_("{name} 不是医师，不能参与上机/撤机决策"), name=person.full_name)
            continue
        if role:
            out.append((p.staff_id, role))
    return out


def _check_supplement(
    run: Run,
    data: DecisionInput,
    kind: str | None,
    decided_at: datetime | None,
    decisions: Sequence[Decision],
    target: Decision | None,
    record_id: int | None,
    e: Errors,
) -> None:
    if target is None:
        e.add(N_("补充的决策"), N_("找不到所补充的紧急上机决策"))
        return
    if not (
        target.run_id == run.id
        and target.emergency
        and target.kind == DecisionKind.START.value
        and target.supplement_of_id is None
    ):
        e.add(N_("补充的决策"), N_("只能为本病例的紧急上机决策补充多学科决策"))
        return
    if data.emergency or kind != DecisionKind.START.value:
        e.add(N_("补充的决策"), N_("补充决策须为非紧急的上机决策（多学科共同决策）"))
    if decided_at is not None and decided_at < target.decided_at:
        e.add(N_("决策时间"), N_("补充决策不能早于紧急上机决策"))
    others = [d for d in decisions if d.supplement_of_id == target.id and d.id != record_id]
    if others:
        e.add(N_("补充的决策"), N_("该紧急上机决策已有补充决策；如需修改请更正原记录"))


# ---- consent (R4 is checked at cannulation) ---------------------------------------------------------------
def consent_values(data: ConsentInput, *, now: datetime, staff: StaffLookup) -> ConsentValues:
    e = Errors()
    signer = e.get(lambda: clean_text(data.signer_name, N_("签字人"), required=True, max_length=100), "")
    relation = e.run(lambda: choice(data.relationship, ConsentRelationship, N_("与患者关系")))
    signed_at = e.run(lambda: when(data.signed_at, N_("签署时间"), now))
    notes = e.get(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
    try:
        explainer = staff.get(data.explained_by_id)
        if not explainer.has_role(Role.DOCTOR):
            e.add(N_("谈话医师"), N_("{name} 不是医师"), name=explainer.full_name)
    except NotFound:
        e.add(N_("谈话医师"), N_("请选择谈话医师"))
    e.raise_if_any()
    return ConsentValues(
        explained_by_id=data.explained_by_id,
        signer_name=signer,
        relationship_to_patient=_valid(relation),
        signed_on_paper_at=_valid(signed_at),
        refused=bool(data.refused),
        notes=notes,
    )


# ---- procedures (R3) --------------------------------------------------------------------------------------
def procedure_values(
    data: ProcedureInput, kind: str, *, run: Run, now: datetime, staff: StaffLookup, record: Procedure | None
) -> ProcedureValues:
    """A procedure of ``kind``; ``record`` is the stored one when it is being corrected."""
    e = Errors()
    started = e.run(lambda: when(data.started_at, N_("开始时间"), now))
    flow = e.run(
        lambda: when(data.flow_at, N_("首次转流时间"), now, required=kind == ProcedureKind.CANNULATION.value)
    )
    ended = e.run(lambda: when(data.ended_at, N_("结束时间"), now, required=False))
    if kind != ProcedureKind.CANNULATION.value and data.flow_at is not None:
        e.add(N_("首次转流时间"), N_("只有置管上机记录首次转流时间"))
    if started and flow:
        e.run(lambda: not_before(flow, started, N_("首次转流时间"), N_("不能早于操作开始时间")))
    if started and ended:
        e.run(lambda: not_before(ended, flow or started, N_("结束时间"), N_("不能早于开始时间")))
    if kind != ProcedureKind.CANNULATION.value and started is not None:
        e.run(lambda: not_before(started, run.started_at, N_("开始时间"), N_("不能早于上机（首次转流）时间")))
        if run.ended_at is not None and started > run.ended_at and record is None:
            e.add(N_("开始时间"), N_("ECMO 已于 {at} 结束"), at=_beijing(run.ended_at))
    location = e.run(lambda: choice(data.location, Location, N_("操作地点")))
    technique = e.run(lambda: choice(data.technique, Technique, N_("置管方式"), required=False))
    guidance = e.run(lambda: choice(data.guidance, Guidance, N_("引导方式"), required=False))
    reason = e.get(
        lambda: clean_text(
            data.reason, N_("原因"), max_length=2000, multiline=True, required=kind in REASON_REQUIRED
        ),
        "",
    )
    notes = e.get(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
    parsed = e.run(lambda: parse_values(PROC, data.settings))
    immediate = list(dict.fromkeys(data.immediate_complications))
    if any(k not in dict(IMMEDIATE_COMPLICATIONS) for k in immediate):
        e.add(N_("即刻并发症"), N_("未知的并发症条目"))
    mode_before = record.mode_before if record is not None else run.mode
    mode_after: str | None = None
    if kind == ProcedureKind.CANNULATION.value:
        mode_after = e.run(lambda: choice(data.mode_after or run.mode, Mode, N_("模式")))
        mode_before = None
    elif kind == ProcedureKind.MODE_CHANGE.value:
        mode_after = e.run(lambda: choice(data.mode_after, Mode, N_("转换后模式")))
        if record is None and mode_after == run.mode:
            e.add(N_("转换后模式"), N_("与当前模式相同"))
    else:
        mode_before = None
    cannulae = _cannulae(data.cannulae, e)
    if kind == ProcedureKind.CANNULATION.value and not data.cannulae:
        e.add(N_("插管"), N_("请至少填写 1 根插管"))
    kept = {s.staff_id for s in record.operators} if record is not None else set()
    people = _procedure_staff(staff, kind, data, started, e, kept_operators=kept)
    e.raise_if_any()
    return ProcedureValues(
        kind=kind,
        started_at=_valid(started),
        flow_at=flow,
        ended_at=ended,
        location=_valid(location),
        technique=technique,
        guidance=guidance,
        mode_before=mode_before,
        mode_after=mode_after,
        reason=reason,
        settings=dict(_valid(parsed).values),
        immediate_complications=immediate,
        notes=notes,
        staff=tuple(people),
        cannulae=tuple(cannulae),
    )


def _cannula(c: CannulaInput, e: Errors) -> CannulaValues | None:
    role = e.run(lambda: choice(c.role, CannulaRole, N_("插管用途")))
    vessel = e.run(lambda: choice(c.vessel, Vessel, N_("血管")))
    side = e.run(lambda: choice(c.side, Side, N_("侧别")))
    size = e.run(lambda: parse_one("size_fr", c.size_fr, required=True))
    length = e.run(lambda: parse_one("length_cm", c.length_cm))
    depth = e.run(lambda: parse_one("depth_cm", c.depth_cm))
    tip = e.get(lambda: clean_text(c.tip_position, N_("尖端位置"), max_length=60), "")
    if role is None or vessel is None or side is None or size is None:
        return None  # its errors are recorded
    return CannulaValues(
        role=role,
        vessel=vessel,
        side=side,
        size_fr=size,
        length_cm=length,
        depth_cm=depth,
        tip_position=tip,
        device_usage_id=c.device_usage_id,
    )


def _cannulae(cannulae: Sequence[CannulaInput], e: Errors) -> list[CannulaValues]:
    out: list[CannulaValues] = []
    for c in cannulae:
        clean = _cannula(c, e)
        if clean is not None:
            out.append(clean)
    return out


def _procedure_staff(
    staff: StaffLookup,
    kind: str,
    data: ProcedureInput,
    started: datetime | None,
    e: Errors,
    *,
    kept_operators: set[int],
) -> list[tuple[int, str]]:
    """The people of a procedure; each operator must hold an ECMO privilege valid at the start (R3)
    on an active account: the privileges of a deactivated account are not valid. An operator
    already on the record being corrected stays (the account was active when recorded)."""
    pairs: list[tuple[int, str]] = []
    for s in data.staff:
        role = e.run(partial(choice, s.role, StaffRoleInProcedure, N_("人员角色")))
        if role and (s.staff_id, role) not in pairs:
            pairs.append((s.staff_id, role))
    operators = [sid for sid, role in pairs if role == StaffRoleInProcedure.OPERATOR.value]
    needs_operator = kind in OPERATOR_REQUIRED or (kind == ProcedureKind.MODE_CHANGE.value and data.cannulae)
    if needs_operator and not operators:
        e.add(N_("术者"), N_("请填写术者"))
    for sid, _role in pairs:
        try:
            staff.get(sid)
        except NotFound:
            e.add(N_("操作人员"), N_("找不到人员（编号 {id}）"), id=sid)
    if e.items or started is None:
        return pairs
    for sid in operators:  # R3: a privilege valid at the moment the procedure started
        person = staff.get(sid)
        if not _title(person).is_physician:
            raise RuleViolation("R3", N_("术者 {name} 不是医师"), name=person.full_name)
        if not person.active and sid not in kept_operators:
            raise RuleViolation(
                "R3", N_("术者 {name} 的账户已停用，其 ECMO 技术授权无效"), name=person.full_name
            )
        if not any(p.valid_at(started) for p in staff.privileges(sid)):
            raise RuleViolation(
                "R3",
                N_("术者 {name} 在 {at} 没有有效的 ECMO 技术授权"),
                name=person.full_name,
                at=_beijing(started),
            )
    return pairs


# ---- daily management
# ---------------------------------------------------------------------------------------
def daily_values(data: DailyEntryInput, *, run: Run, now: datetime) -> DailyValues:
    """日常管理: out-of-range values are refused by name (out-of-normal ones pass, flagged on reading)."""
    e = Errors()
    at = e.run(lambda: when(data.recorded_at, N_("记录时间"), now))
    if run.started_at is None:
        e.add(N_("记录时间"), N_("尚未上机，不能记录日常管理"))
    elif at is not None:
        e.run(lambda: not_before(at, run.started_at, N_("记录时间"), N_("不能早于上机（首次转流）时间")))
        if run.ended_at is not None and at > run.ended_at:
            e.add(N_("记录时间"), N_("不能晚于 ECMO 结束时间"))
    mode = e.run(lambda: choice(data.mode or run.mode, Mode, N_("当日模式")))
    parsed = e.run(lambda: parse_values(DAILY, data.values))
    checks: dict[str, str] = e.get(lambda: parse_choices(DAILY, data.checks), {})
    notes = e.get(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
    if parsed is not None:
        e.run(lambda: derive(_valid(parsed).values))
    e.raise_if_any()
    recorded_at = _valid(at)
    day = ecmo_day(run.started_at, recorded_at) if run.started_at else 0
    return DailyValues(
        recorded_at=recorded_at,
        ecmo_day=day,
        mode=_valid(mode),
        values=dict(_valid(parsed).values),
        checks=checks,
        notes=notes,
    )


# ---- complications (R9)
# -------------------------------------------------------------------------------------
def complication_values(
    data: ComplicationInput, *, run: Run, now: datetime, procedure: Procedure | None
) -> ComplicationValues:
    """A coded complication; ``procedure`` is the one ``data.procedure_id`` names (None: not found)."""
    e = Errors()
    code = COMPLICATIONS.get(data.code)
    if code is None:
        e.add(N_("并发症"), N_("请选择并发症"))
    other = e.get(
        lambda: clean_text(
            data.other_text, N_("并发症描述"), max_length=200, required=bool(code and code.needs_text)
        ),
        "",
    )
    onset = e.run(lambda: when(data.onset_at, N_("发生时间"), now))
    resolved = e.run(lambda: when(data.resolved_at, N_("缓解时间"), now, required=False))
    started = run.started_at
    if started is None:
        e.add(N_("发生时间"), N_("尚未上机"))
    elif onset is not None:
        e.run(
            lambda: not_before(
                onset, started - timedelta(hours=6), N_("发生时间"), N_("不能早于上机（首次转流）时间")
            )
        )
    if onset and resolved:
        e.run(lambda: not_before(resolved, onset, N_("缓解时间"), N_("不能早于发生时间")))
    severity = e.run(lambda: choice(data.severity, Severity, N_("严重程度")))
    treatment = e.get(
        lambda: clean_text(data.treatment, N_("处理"), max_length=NOTES_MAX, multiline=True), ""
    )
    resolution = e.get(
        lambda: clean_text(data.resolution, N_("转归"), max_length=NOTES_MAX, multiline=True), ""
    )
    if data.procedure_id is not None:
        if procedure is None:
            e.add(N_("相关操作"), N_("找不到该操作记录"))
        elif procedure.run_id != run.id:
            e.add(N_("相关操作"), N_("不属于本病例"))
    e.raise_if_any()
    known = _valid(code)
    adverse = known.adverse_event if data.adverse_event is None else bool(data.adverse_event)
    return ComplicationValues(
        code=known.code,
        other_text=other,
        onset_at=_valid(onset),
        severity=_valid(severity),
        treatment=treatment,
        resolved_at=resolved,
        resolution=resolution,
        adverse_event=adverse,
        procedure_id=data.procedure_id,
        device_item_id=data.device_item_id,
    )


# ---- weaning and the end of support
# -------------------------------------------------------------------------
def weaning_values(data: WeaningTrialInput, *, run: Run, now: datetime) -> WeaningValues:
    e = Errors()
    started = e.run(lambda: when(data.started_at, N_("试验开始时间"), now))
    ended = e.run(lambda: when(data.ended_at, N_("试验结束时间"), now, required=False))
    if run.started_at is None:
        e.add(N_("试验开始时间"), N_("尚未上机"))
    elif started is not None:
        e.run(
            lambda: not_before(
                started, run.started_at, N_("试验开始时间"), N_("不能早于上机（首次转流）时间")
            )
        )
    if started and ended:
        e.run(lambda: not_before(ended, started, N_("试验结束时间"), N_("不能早于开始时间")))
    flow = e.run(lambda: parse_one("blood_flow", data.flow_to))
    sweep = e.run(lambda: parse_one("sweep", data.sweep_to))
    fdo2 = e.run(lambda: parse_one("fdo2", data.fdo2_to))
    numbers, coded = _split_mixed(data.values)
    parsed = e.run(lambda: parse_values(WEAN, numbers))
    choices: dict[str, str] = e.get(lambda: parse_choices(WEAN, coded), {})
    notes = e.get(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
    e.raise_if_any()
    return WeaningValues(
        started_at=_valid(started),
        ended_at=ended,
        flow_to=flow,
        sweep_to=sweep,
        fdo2_to=fdo2,
        values={**_valid(parsed).values, **choices},
        passed=data.passed,
        notes=notes,
    )


def end_values(data: EndInput, *, now: datetime, with_notes: bool = True) -> EndValues:
    """撤机结局: when and how support ended (the notes go to the audit; a correction has its own reason)."""
    e = Errors()
    ended = e.run(lambda: when(data.ended_at, N_("撤机时间"), now))
    reason = e.run(lambda: choice(data.reason, EndReason, N_("撤机结局")))
    notes = ""
    if with_notes:
        notes = e.get(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
    e.raise_if_any()
    return EndValues(ended_at=_valid(ended), reason=_valid(reason), notes=notes)


def check_end(
    end: EndValues, *, started_at: datetime, decannulations: Sequence[Procedure], correcting: bool = False
) -> None:
    """The end against the run: not before first flow; "weaned" only after a recorded decannulation
    (when first recorded, not before that decannulation started)."""
    if end.ended_at < started_at:
        raise ValidationError(FieldError(N_("撤机时间"), N_("不能早于上机（首次转流）时间")))
    if end.reason != EndReason.WEANED.value:
        return
    if not decannulations:
        raise ValidationError(FieldError(N_("撤机结局"), N_("成功撤机须先记录撤机拔管")))
    if not correcting and end.ended_at < min(p.started_at for p in decannulations):
        raise ValidationError(FieldError(N_("撤机时间"), N_("不能早于拔管开始时间")))


# ---- follow-up ------------------------------------------------------------------------------------------
def follow_up_values(
    data: FollowUpInput, *, run: Run, rec: FollowUp, now: datetime, follow_ups: Sequence[FollowUp]
) -> FollowUpValues:
    """The result of the scheduled follow-up ``rec``; ``follow_ups``: every follow-up of the run."""
    e = Errors()
    status = e.run(lambda: choice(data.status, FollowUpStatus, N_("随访状态")))
    if status == FollowUpStatus.DUE.value:
        e.add(N_("随访状态"), N_("请选择“已完成”或“失访”"))
    done = status == FollowUpStatus.DONE.value
    done_at = e.run(lambda: when(data.done_at, N_("随访时间"), now, required=done))
    start = run.started_at
    if done_at is not None and start is not None:
        e.run(lambda: not_before(done_at, start, N_("随访时间"), N_("不能早于 ECMO 开始时间")))
    vital = e.run(lambda: choice(data.vital_status, VitalStatus, N_("生存状态"), required=done))
    death = data.date_of_death
    if vital == VitalStatus.DEAD.value:
        if death is None:
            e.add(N_("死亡日期"), N_("必填"))
        elif start is not None and death < local_date(start):
            e.add(N_("死亡日期"), N_("不能早于 ECMO 开始日期"))
        elif death > local_date(done_at or now):
            e.add(N_("死亡日期"), N_("不能晚于随访日期"))
    elif death is not None:
        e.add(N_("死亡日期"), N_("生存状态不是死亡时不能填写死亡日期"))
    cause = e.run(lambda: choice(data.cause_of_death, CauseOfDeath, N_("死亡原因"), required=False))
    if cause and vital != VitalStatus.DEAD.value:
        e.add(N_("死亡原因"), N_("生存状态不是死亡时不能填写死亡原因"))
    disposition = e.run(
        lambda: choice(data.discharge_disposition, DischargeDisposition, N_("出院去向"), required=False)
    )
    if vital == VitalStatus.DEAD.value and rec.kind == FollowUpKind.DISCHARGE.value:
        disposition = disposition or DischargeDisposition.DIED.value
    if disposition and rec.kind != FollowUpKind.DISCHARGE.value:
        e.add(N_("出院去向"), N_("只在出院随访中填写"))
    if rec.kind == FollowUpKind.DISCHARGE.value and done and not disposition:
        e.add(N_("出院去向"), N_("请选择"))
    if disposition == DischargeDisposition.DIED.value and vital != VitalStatus.DEAD.value:
        e.add(N_("出院去向"), N_("院内死亡时生存状态须为死亡"))
    method = e.run(lambda: choice(data.contact_method, ContactMethod, N_("随访方式"), required=False))
    cpc = e.run(lambda: parse_one("cpc", data.cpc))
    mrs = e.run(lambda: parse_one("mrs", data.mrs))
    eq5d = e.run(lambda: parse_one("eq5d_index", data.eq5d_index))
    notes = e.get(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
    e.raise_if_any()
    if vital == VitalStatus.ALIVE.value and done_at is not None:
        _check_not_dead_before(rec, follow_ups, local_date(done_at))
    return FollowUpValues(
        fu_status=_valid(status),
        done_at=done_at or (now if status == FollowUpStatus.LOST.value else None),
        contact_method=method,
        vital_status=vital,
        date_of_death=death,
        cause_of_death=cause,
        discharge_disposition=disposition,
        cpc=cpc,
        mrs=mrs,
        eq5d_index=eq5d,
        notes=notes,
    )


def _check_not_dead_before(rec: FollowUp, follow_ups: Sequence[FollowUp], day: date) -> None:
    for other in follow_ups:
        if (
            other.id != rec.id
            and other.vital_status == VitalStatus.DEAD.value
            and other.date_of_death is not None
            and other.date_of_death < day
        ):
            raise ValidationError(
                FieldError(
                    N_("生存状态"),
                    N_("已记录患者于 {date} 死亡，随访时不能为存活"),
                    {"date": other.date_of_death.isoformat()},
                )
            )
