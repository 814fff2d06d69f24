"""The clinical record of a run: what doctors, nurses and perfusionists chart, sign and correct.

Each public method is one thing a person does on the ward. Rules of the specification are checked
where the action happens: R3 when a procedure is recorded, R4 at cannulation, R1/R2 when a
decision is signed. Signing re-enters the password (SIG-2) and binds the SHA-256 of the record's
canonical content; a signed record is locked and is corrected only by an amendment with a reason,
which keeps the old content in ``record_version`` and marks the old signature superseded (SIG-3).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any

from ecmo_desktop.domain.compliance import follow_up_schedule, primary_start
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
    RecordStatus,
    Role,
    RunStatus,
    Severity,
    Side,
    SignatureMeaning,
    StaffRoleInProcedure,
    Technique,
    Title,
    Vessel,
    VitalStatus,
)
from ecmo_desktop.domain.errors import (
    ConcurrencyConflict,
    EcmoError,
    FieldError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ValidationError,
)
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
from ecmo_desktop.domain.model import CurrentUser, Run
from ecmo_desktop.domain.records import (
    AUTO_CLOSED_NOTE,
    AnyRecord,
    CannulaInput,
    CauseOfDeath,
    Complication,
    ComplicationInput,
    Consent,
    ConsentInput,
    ConsentRelationship,
    ContactMethod,
    DailyEntry,
    DailyEntryInput,
    Decision,
    DecisionInput,
    EndInput,
    Entity,
    FollowUp,
    FollowUpInput,
    ModeSpan,
    Procedure,
    ProcedureInput,
    RecordLocked,
    RecordVersion,
    RunChart,
    Signature,
    SignatureCheck,
    SignatureProblem,
    SignedRecord,
    SupplementStatus,
    WeaningTrial,
    WeaningTrialInput,
    canonical_content,
    content_hash,
    ecmo_day,
)
from ecmo_desktop.domain.rules import (
    emergency_decider,
    joint_decision,
    supplement_deadline,
    supplement_state,
    survived_day_28,
)
from ecmo_desktop.domain.time import BEIJING, local_date
from ecmo_desktop.domain.validation import check_not_future, clean_text
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.auth import AuthService
from ecmo_desktop.services.base import Service, diff
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork

CLINICAL_ROLES = (Role.DOCTOR.value, Role.NURSE.value, Role.PERFUSIONIST.value)
REAUTH_TTL_S = 12 * 3600.0  # how long one full password check speeds up later signatures
# procedures whose operator must hold an ECMO privilege (R3)
OPERATOR_REQUIRED = (ProcedureKind.CANNULATION.value, ProcedureKind.CIRCUIT_CHANGE.value,
                     ProcedureKind.DECANNULATION.value)
REASON_REQUIRED = (ProcedureKind.CIRCUIT_CHANGE.value, ProcedureKind.MODE_CHANGE.value,
                   ProcedureKind.DECANNULATION.value)
NOTES_MAX = 4000


# ---- small validation helpers ---------------------------------------------------------------------------
class _Errors:
    """Collects field errors so a form shows every problem at once, not one per save."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def run(self, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except ValidationError as exc:
            self.items.extend(exc.errors)
            return default

    def add(self, field: str, message: str, **params: Any) -> None:
        self.items.append(FieldError(field, message, params))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def _choice(value: str | None, enum: type, field: str, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise ValidationError(FieldError(field, N_("请选择")))
        return None
    if str(value) not in enum._value2member_map_:  # type: ignore[attr-defined]
        raise ValidationError(FieldError(field, N_("请选择")))
    return str(value)


def _when(moment: datetime | None, field: str, now: datetime, *, required: bool = True) -> datetime | None:
    if moment is None:
        if required:
            raise ValidationError(FieldError(field, N_("必填")))
        return None
    if moment.tzinfo is None:
        raise ValidationError(FieldError(field, N_("时间缺少时区")))
    check_not_future(moment, now, field)
    return moment


def _not_before(moment: datetime | None, floor: datetime | None, field: str, message: str) -> None:
    if moment is not None and floor is not None and moment < floor:
        raise ValidationError(FieldError(field, message))


def _split_mixed(form: str, raw: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A mapping holding both numeric and coded keys (pre-ECMO state, weaning values)."""
    numbers = {k: v for k, v in (raw or {}).items() if k not in CHOICES}
    coded = {k: v for k, v in (raw or {}).items() if k in CHOICES}
    return numbers, coded


def _is_doctor(user: CurrentUser) -> bool:
    return user.has_role(Role.DOCTOR)


def _author_role(user: CurrentUser) -> str:
    return next((r for r in CLINICAL_ROLES if user.has_role(r)), Role.DOCTOR.value)


def mode_timeline(procedures: Sequence[Procedure]) -> list[ModeSpan]:
    """The run's modes over time: cannulation starts the first span, each mode change the next."""
    starts = sorted(((p.flow_at or p.started_at, p) for p in procedures
                     if p.kind in (ProcedureKind.CANNULATION.value, ProcedureKind.MODE_CHANGE.value)
                     and p.mode_after), key=lambda x: (x[0], x[1].id))
    spans: list[ModeSpan] = []
    for i, (at, p) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else None
        spans.append(ModeSpan(mode=str(p.mode_after), from_at=at, to_at=end, procedure_id=p.id))
    return spans


@dataclass(frozen=True)
class _Clean:
    """A validated record: column values plus children for the repository."""

    fields: dict[str, Any]
    children: dict[str, Any]


class RecordService(Service):
    def __init__(self, uow: Any, ctx: Any, auth: AuthService) -> None:
        super().__init__(uow, ctx)
        self.auth = auth
        self._reauth_key = secrets.token_bytes(32)
        self._reauth: dict[int, tuple[bytes, str, float]] = {}

    # ==== decisions (R1/R2) =================================================================================
    def _clean_decision(self, uow: UnitOfWork, run: Run, data: DecisionInput, record_id: int | None) -> _Clean:
        now = self.ctx.now()
        e = _Errors()
        kind = e.run(lambda: _choice(data.kind, DecisionKind, N_("决策类型")))
        decided_at = e.run(lambda: _when(data.decided_at, N_("决策时间"), now))
        indication = e.run(lambda: _choice(data.indication, Indication, N_("适应证"), required=False))
        other = e.run(lambda: clean_text(data.indication_other, N_("其他适应证"), max_length=200,
                                         required=indication == Indication.OTHER.value), "")
        mode = e.run(lambda: _choice(data.mode_planned, Mode, N_("计划模式"), required=False))
        rationale = e.run(lambda: clean_text(data.rationale, N_("决策依据"), max_length=NOTES_MAX, multiline=True), "")
        numbers, coded = _split_mixed(PRE, data.pre_ecmo)
        parsed = e.run(lambda: parse_values(PRE, numbers))
        choices = e.run(lambda: parse_choices(PRE, coded), {})
        contra = e.run(lambda: check_contraindications(data.contraindications), {})
        physicians = self._clean_physicians(uow, data.physicians, e)
        if kind == DecisionKind.WEAN.value and run.started_at is None:
            e.add(N_("决策类型"), N_("尚未上机，不能记录撤机决策"))
        if kind == DecisionKind.WEAN.value and decided_at is not None:
            e.run(lambda: _not_before(decided_at, run.started_at, N_("决策时间"), N_("撤机决策不能早于上机时间")))
        if data.supplement_of_id is not None:
            self._check_supplement(uow, run, data, kind, decided_at, record_id, e)
        elif kind == DecisionKind.START.value:
            existing = [d for d in uow.records.for_run(Entity.DECISION, run.id)
                        if d.kind == DecisionKind.START.value and d.supplement_of_id is None and d.id != record_id]
            if existing:
                e.add(N_("决策类型"), N_("本病例已有上机决策；如需修改请更正原记录，紧急上机的补充决策请注明所补充的决策"))
        e.raise_if_any()
        values = {**(parsed.values if parsed else {}), **choices}
        return _Clean({"kind": kind, "emergency": bool(data.emergency), "decided_at": decided_at,
                       "mode_planned": mode, "indication": indication, "indication_other": other,
                       "rationale": rationale, "pre_ecmo": values, "contraindications": contra,
                       "supplement_of_id": data.supplement_of_id},
                      {"physicians": physicians})

    def _clean_physicians(self, uow: UnitOfWork, physicians: Sequence[Any], e: _Errors) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        if not physicians:
            e.add(N_("决策医师"), N_("请至少填写 1 名决策医师"))
            return out
        seen: set[int] = set()
        for p in physicians:
            role = e.run(lambda p=p: _choice(p.role, DeciderRole, N_("决策医师角色")))
            try:
                staff = uow.staff.get(p.staff_id)
            except NotFound:
                e.add(N_("决策医师"), N_("找不到人员（编号 {id}）"), id=p.staff_id)
                continue
            if p.staff_id in seen:
                e.add(N_("决策医师"), N_("{name} 重复填写"), name=staff.full_name)
                continue
            seen.add(p.staff_id)
            title = Title(staff.title) if staff.title in Title._value2member_map_ else Title.OTHER
            if not title.is_physician or not staff.has_role(Role.DOCTOR):
                e.add(N_("决策医师"), N_("{name} 不是医师，不能参与上机/撤机决策"), name=staff.full_name)
                continue
            if role:
                out.append((p.staff_id, role))
        return out

    @staticmethod
    def _check_supplement(uow: UnitOfWork, run: Run, data: DecisionInput, kind: str | None,
                          decided_at: datetime | None, record_id: int | None, e: _Errors) -> None:
        try:
            target = uow.records.get(Entity.DECISION, int(data.supplement_of_id))  # type: ignore[arg-type]
        except NotFound:
            e.add(N_("补充的决策"), N_("找不到所补充的紧急上机决策"))
            return
        if not (isinstance(target, Decision) and target.run_id == run.id and target.emergency
                and target.kind == DecisionKind.START.value and target.supplement_of_id is None):
            e.add(N_("补充的决策"), N_("只能为本病例的紧急上机决策补充多学科决策"))
            return
        if data.emergency or kind != DecisionKind.START.value:
            e.add(N_("补充的决策"), N_("补充决策须为非紧急的上机决策（多学科共同决策）"))
        if decided_at is not None and decided_at < target.decided_at:
            e.add(N_("决策时间"), N_("补充决策不能早于紧急上机决策"))
        others = [d for d in uow.records.for_run(Entity.DECISION, run.id)
                  if d.supplement_of_id == target.id and d.id != record_id]
        if others:
            e.add(N_("补充的决策"), N_("该紧急上机决策已有补充决策；如需修改请更正原记录"))

    @requires(Action.CHART_DOCTOR)
    def record_decision(self, run_id: int, data: DecisionInput) -> Decision:
        """上机/撤机决策 (draft; R1/R2 are enforced when it is signed)."""
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Decision:
            run = uow.runs.get(run_id)
            if run.status == RunStatus.CANCELLED.value:
                raise ValidationError(FieldError(N_("ECMO 病例"), N_("病例已取消")))
            clean = self._clean_decision(uow, run, data, None)
            now = self.ctx.now()
            rec = uow.records.add(Entity.DECISION, run_id=run_id, status=RecordStatus.DRAFT.value, created_at=now,
                                  updated_at=now, created_by_id=user.id, updated_by_id=user.id,
                                  **clean.fields, **clean.children)
            self._sync_run(uow, run_id)
            rec = uow.records.get(Entity.DECISION, rec.id)
            self._audit(uow, "create", Entity.DECISION, rec.id, after=canonical_content(rec), run_id=run_id,
                        patient_id=run.patient_id)
            uow.commit()
            return rec  # type: ignore[return-value]

        return self._transact(work)

    @requires(Action.CHART_DOCTOR)
    def update_decision(self, decision_id: int, data: DecisionInput, *, expected_version: int) -> Decision:
        """Edit a draft decision (a signed one needs ``amend_decision``)."""
        return self._edit(Entity.DECISION, decision_id, expected_version, None,
                          lambda uow, run, rec: self._clean_decision(uow, run, data, rec.id))  # type: ignore[return-value]

    @requires(Action.CHART_DOCTOR)
    def amend_decision(self, decision_id: int, data: DecisionInput, *, reason: str,
                       expected_version: int | None = None) -> Decision:
        """Correct a decision: old content kept, signature superseded, back to draft (SIG-3)."""
        return self._edit(Entity.DECISION, decision_id, expected_version, reason,
                          lambda uow, run, rec: self._clean_decision(uow, run, data, rec.id))  # type: ignore[return-value]

    # ==== consent (R4) ======================================================================================
    def _clean_consent(self, uow: UnitOfWork, run: Run, data: ConsentInput) -> _Clean:
        now = self.ctx.now()
        e = _Errors()
        signer = e.run(lambda: clean_text(data.signer_name, N_("签字人"), required=True, max_length=100), "")
        relation = e.run(lambda: _choice(data.relationship, ConsentRelationship, N_("与患者关系")))
        signed_at = e.run(lambda: _when(data.signed_at, N_("签署时间"), now))
        notes = e.run(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
        try:
            explainer = uow.staff.get(data.explained_by_id)
            if not explainer.has_role(Role.DOCTOR):
                e.add(N_("谈话医师"), N_("{name} 不是医师"), name=explainer.full_name)
        except NotFound:
            e.add(N_("谈话医师"), N_("请选择谈话医师"))
        e.raise_if_any()
        return _Clean({"explained_by_id": data.explained_by_id, "signer_name": signer,
                       "relationship_to_patient": relation, "signed_on_paper_at": signed_at,
                       "refused": bool(data.refused), "notes": notes}, {})

    @requires(Action.CHART_DOCTOR)
    def record_consent(self, run_id: int, data: ConsentInput) -> Consent:
        """知情同意 (or its refusal): who explained, who signed, their relationship, when."""
        return self._create(Entity.CONSENT, run_id, lambda uow, run: self._clean_consent(uow, run, data))  # type: ignore[return-value]

    @requires(Action.CHART_DOCTOR)
    def update_consent(self, consent_id: int, data: ConsentInput, *, expected_version: int) -> Consent:
        return self._edit(Entity.CONSENT, consent_id, expected_version, None,
                          lambda uow, run, rec: self._clean_consent(uow, run, data))  # type: ignore[return-value]

    @requires(Action.CHART_DOCTOR)
    def amend_consent(self, consent_id: int, data: ConsentInput, *, reason: str,
                      expected_version: int | None = None) -> Consent:
        return self._edit(Entity.CONSENT, consent_id, expected_version, reason,
                          lambda uow, run, rec: self._clean_consent(uow, run, data))  # type: ignore[return-value]

    # ==== procedures (R3) ===================================================================================
    def _clean_procedure(self, uow: UnitOfWork, run: Run, kind: str, data: ProcedureInput,
                         record: Procedure | None) -> _Clean:
        now = self.ctx.now()
        e = _Errors()
        started = e.run(lambda: _when(data.started_at, N_("开始时间"), now))
        flow = e.run(lambda: _when(data.flow_at, N_("首次转流时间"), now, required=kind == ProcedureKind.CANNULATION.value))
        ended = e.run(lambda: _when(data.ended_at, N_("结束时间"), now, required=False))
        if kind != ProcedureKind.CANNULATION.value and data.flow_at is not None:
            e.add(N_("首次转流时间"), N_("只有置管上机记录首次转流时间"))
        if started and flow:
            e.run(lambda: _not_before(flow, started, N_("首次转流时间"), N_("不能早于操作开始时间")))
        if started and ended:
            e.run(lambda: _not_before(ended, flow or started, N_("结束时间"), N_("不能早于开始时间")))
        if kind != ProcedureKind.CANNULATION.value and started is not None:
            e.run(lambda: _not_before(started, run.started_at, N_("开始时间"), N_("不能早于上机（首次转流）时间")))
            if run.ended_at is not None and started > run.ended_at and record is None:
                e.add(N_("开始时间"), N_("ECMO 已于 {at} 结束"), at=run.ended_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))
        location = e.run(lambda: _choice(data.location, Location, N_("操作地点")))
        technique = e.run(lambda: _choice(data.technique, Technique, N_("置管方式"), required=False))
        guidance = e.run(lambda: _choice(data.guidance, Guidance, N_("引导方式"), required=False))
        reason = e.run(lambda: clean_text(data.reason, N_("原因"), max_length=2000, multiline=True,
                                          required=kind in REASON_REQUIRED), "")
        notes = e.run(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
        parsed = e.run(lambda: parse_values(PROC, data.settings))
        immediate = list(dict.fromkeys(data.immediate_complications))
        if any(k not in dict(IMMEDIATE_COMPLICATIONS) for k in immediate):
            e.add(N_("即刻并发症"), N_("未知的并发症条目"))
        mode_before = record.mode_before if record is not None else run.mode
        mode_after: str | None = None
        if kind == ProcedureKind.CANNULATION.value:
            mode_after = e.run(lambda: _choice(data.mode_after or run.mode, Mode, N_("模式")))
            mode_before = None
        elif kind == ProcedureKind.MODE_CHANGE.value:
            mode_after = e.run(lambda: _choice(data.mode_after, Mode, N_("转换后模式")))
            if record is None and mode_after == run.mode:
                e.add(N_("转换后模式"), N_("与当前模式相同"))
        else:
            mode_before = None
        cannulae = self._clean_cannulae(data.cannulae, e)
        if kind == ProcedureKind.CANNULATION.value and not data.cannulae:
            e.add(N_("插管"), N_("请至少填写 1 根插管"))
        kept = {s.staff_id for s in record.operators} if record is not None else set()
        staff = self._clean_staff(uow, kind, data, started, e, kept_operators=kept)
        e.raise_if_any()
        return _Clean({"kind": kind, "started_at": started, "flow_at": flow, "ended_at": ended, "location": location,
                       "technique": technique, "guidance": guidance, "mode_before": mode_before,
                       "mode_after": mode_after, "reason": reason, "settings": dict(parsed.values),
                       "immediate_complications": immediate, "notes": notes},
                      {"staff": staff, "cannulae": cannulae})

    @staticmethod
    def _clean_cannulae(cannulae: Sequence[CannulaInput], e: _Errors) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for c in cannulae:
            out.append({
                "role": e.run(lambda c=c: _choice(c.role, CannulaRole, N_("插管用途"))),
                "vessel": e.run(lambda c=c: _choice(c.vessel, Vessel, N_("血管"))),
                "side": e.run(lambda c=c: _choice(c.side, Side, N_("侧别"))),
                "size_fr": e.run(lambda c=c: parse_one("size_fr", c.size_fr, required=True)),
                "length_cm": e.run(lambda c=c: parse_one("length_cm", c.length_cm)),
                "depth_cm": e.run(lambda c=c: parse_one("depth_cm", c.depth_cm)),
                "tip_position": e.run(lambda c=c: clean_text(c.tip_position, N_("尖端位置"), max_length=60), ""),
                "device_usage_id": c.device_usage_id,
            })
        return out

    def _clean_staff(self, uow: UnitOfWork, kind: str, data: ProcedureInput, started: datetime | None,
                     e: _Errors, *, kept_operators: set[int]) -> list[tuple[int, str]]:
        """The people of a procedure; each operator must hold an ECMO privilege valid at the start (R3)
        on an active account: the privileges of a deactivated account are not valid. An operator
        already on the record being corrected stays (the account was active when recorded)."""
        pairs: list[tuple[int, str]] = []
        for s in data.staff:
            role = e.run(lambda s=s: _choice(s.role, StaffRoleInProcedure, N_("人员角色")))
            if role and (s.staff_id, role) not in pairs:
                pairs.append((s.staff_id, role))
        operators = [sid for sid, role in pairs if role == StaffRoleInProcedure.OPERATOR.value]
        needs_operator = kind in OPERATOR_REQUIRED or (kind == ProcedureKind.MODE_CHANGE.value and data.cannulae)
        if needs_operator and not operators:
            e.add(N_("术者"), N_("请填写术者"))
        for sid, _role in pairs:
            try:
                uow.staff.get(sid)
            except NotFound:
                e.add(N_("操作人员"), N_("找不到人员（编号 {id}）"), id=sid)
        if e.items or started is None:
            return pairs
        for sid in operators:  # R3: a privilege valid at the moment the procedure started
            staff = uow.staff.get(sid)
            title = Title(staff.title) if staff.title in Title._value2member_map_ else Title.OTHER
            if not title.is_physician:
                raise RuleViolation("R3", N_("术者 {name} 不是医师"), name=staff.full_name)
            if not staff.active and sid not in kept_operators:
                raise RuleViolation("R3", N_("术者 {name} 的账户已停用，其 ECMO 技术授权无效"), name=staff.full_name)
            if not any(p.valid_at(started) for p in uow.staff.privileges(sid)):
                raise RuleViolation("R3", N_("术者 {name} 在 {at} 没有有效的 ECMO 技术授权"), name=staff.full_name,
                                    at=started.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))
        return pairs

    def _record_procedure(self, run_id: int, kind: str, data: ProcedureInput) -> Procedure:
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Procedure:
            run = uow.runs.get(run_id)
            if kind == ProcedureKind.CANNULATION.value:
                if run.status != RunStatus.PLANNED.value:
                    raise ValidationError(FieldError(N_("置管上机"), N_("本病例已上机或已结束，不能再次记录置管上机")))
            elif run.status != RunStatus.ON_ECMO.value:
                raise ValidationError(FieldError(N_("操作"), N_("本病例当前不在 ECMO 运行中")))
            clean = self._clean_procedure(uow, run, kind, data, None)
            if kind == ProcedureKind.CANNULATION.value:
                self._check_start_allowed(uow, run, clean.fields["started_at"])
            now = self.ctx.now()
            rec = uow.records.add(Entity.PROCEDURE, run_id=run_id, status=RecordStatus.DRAFT.value, created_at=now,
                                  updated_at=now, created_by_id=user.id, updated_by_id=user.id,
                                  **clean.fields, **clean.children)
            if kind == ProcedureKind.CANNULATION.value:
                uow.runs.update(run_id, expected_version=run.version, status=RunStatus.ON_ECMO.value)
            self._sync_run(uow, run_id)
            self._audit(uow, "create", Entity.PROCEDURE, rec.id, after=canonical_content(rec), run_id=run_id,
                        patient_id=run.patient_id)
            uow.commit()
            return rec  # type: ignore[return-value]

        return self._transact(work)

    @staticmethod
    def _check_start_allowed(uow: UnitOfWork, run: Run, started: datetime) -> None:
        """Before first flow: a start decision exists (R1/R2) and consent is given (R4)."""
        decisions = uow.records.for_run(Entity.DECISION, run.id)
        start = primary_start([d for d in decisions if isinstance(d, Decision)])
        if start is None:
            raise RuleViolation("R1", N_("请先记录上机决策（非紧急：多学科共同决策；紧急：专家组副主任医师及以上决定）"))
        consents = [c for c in uow.records.for_run(Entity.CONSENT, run.id) if isinstance(c, Consent)]
        given = [c for c in consents if not c.refused]
        if consents and not given:
            raise RuleViolation("R4", N_("患者或家属已拒绝 ECMO 治疗，不能上机"))
        if start.emergency:
            return
        if not given:
            raise RuleViolation("R4", N_("非紧急上机前须签署知情同意书"))
        if min(c.signed_on_paper_at for c in given) > started:
            raise RuleViolation("R4", N_("知情同意签署时间晚于置管开始时间；非紧急上机须先签署知情同意"))

    @requires(Action.CHART_DOCTOR)
    def record_cannulation(self, run_id: int, data: ProcedureInput) -> Procedure:
        """置管上机: first flow starts ECMO (run → on ECMO; day 0; R2's 12-hour clock)."""
        return self._record_procedure(run_id, ProcedureKind.CANNULATION.value, data)

    @requires(Action.CHART_DOCTOR)
    def record_circuit_change(self, run_id: int, data: ProcedureInput) -> Procedure:
        """更换管路/氧合器, with its reason."""
        return self._record_procedure(run_id, ProcedureKind.CIRCUIT_CHANGE.value, data)

    @requires(Action.CHART_DOCTOR)
    def record_mode_change(self, run_id: int, data: ProcedureInput) -> Procedure:
        """模式转换: the run's mode becomes ``mode_after``; the timeline keeps the earlier modes."""
        return self._record_procedure(run_id, ProcedureKind.MODE_CHANGE.value, data)

    @requires(Action.CHART_DOCTOR)
    def record_decannulation(self, run_id: int, data: ProcedureInput) -> Procedure:
        """撤机拔管 (the end of support is recorded with ``end_ecmo``)."""
        return self._record_procedure(run_id, ProcedureKind.DECANNULATION.value, data)

    @requires(Action.CHART_DOCTOR)
    def update_procedure(self, procedure_id: int, data: ProcedureInput, *, expected_version: int) -> Procedure:
        return self._edit(Entity.PROCEDURE, procedure_id, expected_version, None,
                          lambda uow, run, rec: self._clean_procedure(uow, run, rec.kind, data, rec))  # type: ignore[attr-defined, return-value]

    @requires(Action.CHART_DOCTOR)
    def amend_procedure(self, procedure_id: int, data: ProcedureInput, *, reason: str,
                        expected_version: int | None = None) -> Procedure:
        return self._edit(Entity.PROCEDURE, procedure_id, expected_version, reason,
                          lambda uow, run, rec: self._clean_procedure(uow, run, rec.kind, data, rec))  # type: ignore[attr-defined, return-value]

    # ==== daily management ==================================================================================
    def _clean_daily(self, run: Run, data: DailyEntryInput) -> _Clean:
        now = self.ctx.now()
        e = _Errors()
        at = e.run(lambda: _when(data.recorded_at, N_("记录时间"), now))
        if run.started_at is None:
            e.add(N_("记录时间"), N_("尚未上机，不能记录日常管理"))
        elif at is not None:
            e.run(lambda: _not_before(at, run.started_at, N_("记录时间"), N_("不能早于上机（首次转流）时间")))
            if run.ended_at is not None and at > run.ended_at:
                e.add(N_("记录时间"), N_("不能晚于 ECMO 结束时间"))
        mode = e.run(lambda: _choice(data.mode or run.mode, Mode, N_("当日模式")))
        parsed = e.run(lambda: parse_values(DAILY, data.values))
        checks = e.run(lambda: parse_choices(DAILY, data.checks), {})
        notes = e.run(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
        if parsed is not None:
            e.run(lambda: derive(parsed.values))
        e.raise_if_any()
        day = ecmo_day(run.started_at, at) if run.started_at and at else 0
        return _Clean({"recorded_at": at, "ecmo_day": day, "mode": mode, "values": dict(parsed.values),
                       "checks": checks, "notes": notes}, {})

    @requires(Action.CHART_DAILY)
    def record_daily_entry(self, run_id: int, data: DailyEntryInput) -> DailyEntry:
        """日常管理: out-of-range values are refused by name, out-of-normal ones come back in ``abnormal``."""
        user = self.ctx.require_user()
        return self._create(Entity.DAILY_ENTRY, run_id, lambda uow, run: self._clean_daily(run, data),  # type: ignore[return-value]
                            extra={"author_role": _author_role(user)})

    @requires(Action.CHART_DAILY)
    def update_daily_entry(self, entry_id: int, data: DailyEntryInput, *, expected_version: int) -> DailyEntry:
        return self._edit(Entity.DAILY_ENTRY, entry_id, expected_version, None,
                          lambda uow, run, rec: self._clean_daily(run, data))  # type: ignore[return-value]

    @requires(Action.CHART_DAILY)
    def amend_daily_entry(self, entry_id: int, data: DailyEntryInput, *, reason: str,
                          expected_version: int | None = None) -> DailyEntry:
        return self._edit(Entity.DAILY_ENTRY, entry_id, expected_version, reason,
                          lambda uow, run, rec: self._clean_daily(run, data))  # type: ignore[return-value]

    # ==== complications (R9) ================================================================================
    def _clean_complication(self, uow: UnitOfWork, run: Run, data: ComplicationInput) -> _Clean:
        now = self.ctx.now()
        e = _Errors()
        code = COMPLICATIONS.get(data.code)
        if code is None:
            e.add(N_("并发症"), N_("请选择并发症"))
        other = e.run(lambda: clean_text(data.other_text, N_("并发症描述"), max_length=200,
                                         required=bool(code and code.needs_text)), "")
        onset = e.run(lambda: _when(data.onset_at, N_("发生时间"), now))
        resolved = e.run(lambda: _when(data.resolved_at, N_("缓解时间"), now, required=False))
        if run.started_at is None:
            e.add(N_("发生时间"), N_("尚未上机"))
        elif onset is not None:
            e.run(lambda: _not_before(onset, run.started_at - timedelta(hours=6), N_("发生时间"),
                                      N_("不能早于上机（首次转流）时间")))
        if onset and resolved:
            e.run(lambda: _not_before(resolved, onset, N_("缓解时间"), N_("不能早于发生时间")))
        severity = e.run(lambda: _choice(data.severity, Severity, N_("严重程度")))
        treatment = e.run(lambda: clean_text(data.treatment, N_("处理"), max_length=NOTES_MAX, multiline=True), "")
        resolution = e.run(lambda: clean_text(data.resolution, N_("转归"), max_length=NOTES_MAX, multiline=True), "")
        if data.procedure_id is not None:
            try:
                proc = uow.records.get(Entity.PROCEDURE, data.procedure_id)
                if proc.run_id != run.id:
                    e.add(N_("相关操作"), N_("不属于本病例"))
            except NotFound:
                e.add(N_("相关操作"), N_("找不到该操作记录"))
        e.raise_if_any()
        assert code is not None
        adverse = code.adverse_event if data.adverse_event is None else bool(data.adverse_event)
        return _Clean({"code": code.code, "other_text": other, "onset_at": onset, "severity": severity,
                       "treatment": treatment, "resolved_at": resolved, "resolution": resolution,
                       "adverse_event": adverse, "procedure_id": data.procedure_id,
                       "device_item_id": data.device_item_id}, {})

    @requires(Action.CHART_DOCTOR)
    def record_complication(self, run_id: int, data: ComplicationInput) -> Complication:
        """A coded complication; adverse events are flagged for QC (R9)."""
        return self._create(Entity.COMPLICATION, run_id,  # type: ignore[return-value]
                            lambda uow, run: self._clean_complication(uow, run, data))

    @requires(Action.CHART_DOCTOR)
    def update_complication(self, complication_id: int, data: ComplicationInput, *,
                            expected_version: int) -> Complication:
        return self._edit(Entity.COMPLICATION, complication_id, expected_version, None,  # type: ignore[return-value]
                          lambda uow, run, rec: self._clean_complication(uow, run, data))

    @requires(Action.CHART_DOCTOR)
    def amend_complication(self, complication_id: int, data: ComplicationInput, *, reason: str,
                           expected_version: int | None = None) -> Complication:
        return self._edit(Entity.COMPLICATION, complication_id, expected_version, reason,  # type: ignore[return-value]
                          lambda uow, run, rec: self._clean_complication(uow, run, data))

    # ==== weaning ===========================================================================================
    def _clean_trial(self, run: Run, data: WeaningTrialInput) -> _Clean:
        now = self.ctx.now()
        e = _Errors()
        started = e.run(lambda: _when(data.started_at, N_("试验开始时间"), now))
        ended = e.run(lambda: _when(data.ended_at, N_("试验结束时间"), now, required=False))
        if run.started_at is None:
            e.add(N_("试验开始时间"), N_("尚未上机"))
        elif started is not None:
            e.run(lambda: _not_before(started, run.started_at, N_("试验开始时间"), N_("不能早于上机（首次转流）时间")))
        if started and ended:
            e.run(lambda: _not_before(ended, started, N_("试验结束时间"), N_("不能早于开始时间")))
        flow = e.run(lambda: parse_one("blood_flow", data.flow_to))
        sweep = e.run(lambda: parse_one("sweep", data.sweep_to))
        fdo2 = e.run(lambda: parse_one("fdo2", data.fdo2_to))
        numbers, coded = _split_mixed(WEAN, data.values)
        parsed = e.run(lambda: parse_values(WEAN, numbers))
        choices = e.run(lambda: parse_choices(WEAN, coded), {})
        notes = e.run(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
        e.raise_if_any()
        return _Clean({"started_at": started, "ended_at": ended, "flow_to": flow, "sweep_to": sweep, "fdo2_to": fdo2,
                       "values": {**parsed.values, **choices}, "passed": data.passed, "notes": notes}, {})

    @requires(Action.CHART_DOCTOR)
    def record_weaning_trial(self, run_id: int, data: WeaningTrialInput) -> WeaningTrial:
        return self._create(Entity.WEANING_TRIAL, run_id, lambda uow, run: self._clean_trial(run, data))  # type: ignore[return-value]

    @requires(Action.CHART_DOCTOR)
    def update_weaning_trial(self, trial_id: int, data: WeaningTrialInput, *, expected_version: int) -> WeaningTrial:
        return self._edit(Entity.WEANING_TRIAL, trial_id, expected_version, None,  # type: ignore[return-value]
                          lambda uow, run, rec: self._clean_trial(run, data))

    @requires(Action.CHART_DOCTOR)
    def amend_weaning_trial(self, trial_id: int, data: WeaningTrialInput, *, reason: str,
                            expected_version: int | None = None) -> WeaningTrial:
        return self._edit(Entity.WEANING_TRIAL, trial_id, expected_version, reason,  # type: ignore[return-value]
                          lambda uow, run, rec: self._clean_trial(run, data))

    @requires(Action.CHART_DOCTOR)
    def end_ecmo(self, run_id: int, data: EndInput) -> Run:
        """End of support (撤机结局): the run ends and its follow-up schedule is created (R9).

        A death on ECMO closes every follow-up as dead at once, so the schedule never asks a ward
        to telephone about a patient who died in the unit.
        """
        user = self.ctx.require_user()
        now = self.ctx.now()
        e = _Errors()
        ended = e.run(lambda: _when(data.ended_at, N_("撤机时间"), now))
        reason = e.run(lambda: _choice(data.reason, EndReason, N_("撤机结局")))
        notes = e.run(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
        e.raise_if_any()

        def work(uow: UnitOfWork) -> Run:
            run = uow.runs.get(run_id)
            if run.status != RunStatus.ON_ECMO.value or run.started_at is None:
                raise ValidationError(FieldError(N_("撤机结局"), N_("本病例当前不在 ECMO 运行中")))
            if ended < run.started_at:
                raise ValidationError(FieldError(N_("撤机时间"), N_("不能早于上机（首次转流）时间")))
            decannulations = [p for p in uow.records.for_run(Entity.PROCEDURE, run_id)
                              if p.kind == ProcedureKind.DECANNULATION.value]  # type: ignore[union-attr]
            if reason == EndReason.WEANED.value:
                if not decannulations:
                    raise ValidationError(FieldError(N_("撤机结局"), N_("成功撤机须先记录撤机拔管")))
                if ended < min(p.started_at for p in decannulations):  # type: ignore[union-attr]
                    raise ValidationError(FieldError(N_("撤机时间"), N_("不能早于拔管开始时间")))
            changes: dict[str, Any] = {"status": RunStatus.ENDED.value, "ended_at": ended, "end_reason": reason}
            died = reason == EndReason.DIED.value
            if died:
                changes.update(date_of_death=ended, discharged_alive=False,
                               survived_28d=survived_day_28(run.started_at, ended))
            after = uow.runs.update(run_id, expected_version=run.version, **changes)
            for kind, due in follow_up_schedule(run.started_at, ended):
                fields: dict[str, Any] = {"kind": kind, "due_date": due, "fu_status": FollowUpStatus.DUE.value}
                if died:
                    fields.update(fu_status=FollowUpStatus.DONE.value, done_at=ended, vital_status=VitalStatus.DEAD.value,
                                  date_of_death=local_date(ended), contact_method=ContactMethod.RECORDS.value,
                                  notes=AUTO_CLOSED_NOTE,
                                  discharge_disposition=DischargeDisposition.DIED.value
                                  if kind == FollowUpKind.DISCHARGE.value else None)
                fu = uow.records.add(Entity.FOLLOW_UP, run_id=run_id, status=RecordStatus.DRAFT.value, created_at=now,
                                     updated_at=now, created_by_id=user.id, updated_by_id=user.id, **fields)
                self._audit(uow, "create", Entity.FOLLOW_UP, fu.id, after=canonical_content(fu), run_id=run_id,
                            patient_id=run.patient_id, reason="follow-up schedule")
            self._audit(uow, "end_ecmo", "ecmo_run", run_id, before={"status": run.status},
                        after=changes, run_id=run_id, patient_id=run.patient_id, reason=notes or None)
            uow.commit()
            return after

        return self._transact(work)

    @requires(Action.CHART_DOCTOR)
    def amend_end(self, run_id: int, data: EndInput, *, reason: str) -> Run:
        """Correct a wrongly recorded end of ECMO (time or outcome), with a reason, as an amendment.

        Allowed while the follow-up schedule is still untouched by people (only due entries or ones
        the system closed for a death); the schedule is then re-dated for the corrected end. Once a
        follow-up has been recorded, the correction belongs in that follow-up instead.
        """
        why = clean_text(reason, N_("修改原因"), required=True, max_length=NOTES_MAX, multiline=True)
        now = self.ctx.now()
        e = _Errors()
        ended = e.run(lambda: _when(data.ended_at, N_("撤机时间"), now))
        new_reason = e.run(lambda: _choice(data.reason, EndReason, N_("撤机结局")))
        e.raise_if_any()

        def work(uow: UnitOfWork) -> Run:
            run = uow.runs.get(run_id)
            if run.status != RunStatus.ENDED.value or run.started_at is None:
                raise ValidationError(FieldError(N_("撤机结局"), N_("本病例尚未撤机，无需修改撤机结局")))
            if ended < run.started_at:
                raise ValidationError(FieldError(N_("撤机时间"), N_("不能早于上机（首次转流）时间")))
            if new_reason == EndReason.WEANED.value and not any(
                    p.kind == ProcedureKind.DECANNULATION.value  # type: ignore[union-attr]
                    for p in uow.records.for_run(Entity.PROCEDURE, run_id)):
                raise ValidationError(FieldError(N_("撤机结局"), N_("成功撤机须先记录撤机拔管")))
            follow_ups = [f for f in uow.records.for_run(Entity.FOLLOW_UP, run_id)]
            if any(f.status == RecordStatus.SIGNED.value or (  # type: ignore[union-attr]
                    f.fu_status != FollowUpStatus.DUE.value and f.notes != AUTO_CLOSED_NOTE)  # type: ignore[union-attr]
                   for f in follow_ups):
                raise ValidationError(FieldError(N_("撤机结局"), N_("已有随访记录，不能再修改撤机结局；请在随访中更正")))
            died = new_reason == EndReason.DIED.value
            changes: dict[str, Any] = {"ended_at": ended, "end_reason": new_reason,
                                       "date_of_death": ended if died else None,
                                       "discharged_alive": False if died else None,
                                       "survived_28d": survived_day_28(run.started_at, ended) if died else None}
            after = uow.runs.update(run_id, expected_version=run.version, **changes)
            due_by_kind = dict(follow_up_schedule(run.started_at, ended))
            for f in follow_ups:
                kind = f.kind  # type: ignore[union-attr]
                fields: dict[str, Any] = {"due_date": due_by_kind.get(kind, f.due_date),  # type: ignore[union-attr]
                                          "fu_status": FollowUpStatus.DUE.value, "done_at": None,
                                          "vital_status": None, "date_of_death": None, "contact_method": None,
                                          "discharge_disposition": None, "notes": "", "updated_at": now,
                                          "updated_by_id": self.ctx.require_user().id}
                if died:
                    fields.update(fu_status=FollowUpStatus.DONE.value, done_at=ended,
                                  vital_status=VitalStatus.DEAD.value, date_of_death=local_date(ended),
                                  contact_method=ContactMethod.RECORDS.value, notes=AUTO_CLOSED_NOTE,
                                  discharge_disposition=DischargeDisposition.DIED.value
                                  if kind == FollowUpKind.DISCHARGE.value else None)
                fu = uow.records.update(Entity.FOLLOW_UP, f.id, expected_version=f.version, **fields)
                old_fu, new_fu = diff(canonical_content(f), canonical_content(fu))
                self._audit(uow, "update", Entity.FOLLOW_UP, f.id, before=old_fu, after=new_fu, run_id=run_id,
                            patient_id=run.patient_id, reason=why)
            self._audit(uow, "amend_end", "ecmo_run", run_id,
                        before={"ended_at": run.ended_at, "end_reason": run.end_reason},
                        after=changes, run_id=run_id, patient_id=run.patient_id, reason=why)
            uow.commit()
            return after

        return self._transact(work)

    # ==== follow-up =========================================================================================
    def _clean_follow_up(self, uow: UnitOfWork, run: Run, rec: FollowUp, data: FollowUpInput) -> _Clean:
        now = self.ctx.now()
        e = _Errors()
        status = e.run(lambda: _choice(data.status, FollowUpStatus, N_("随访状态")))
        if status == FollowUpStatus.DUE.value:
            e.add(N_("随访状态"), N_("请选择“已完成”或“失访”"))
        done = status == FollowUpStatus.DONE.value
        done_at = e.run(lambda: _when(data.done_at, N_("随访时间"), now, required=done))
        start = run.started_at
        if done_at is not None and start is not None:
            e.run(lambda: _not_before(done_at, start, N_("随访时间"), N_("不能早于 ECMO 开始时间")))
        vital = e.run(lambda: _choice(data.vital_status, VitalStatus, N_("生存状态"), required=done))
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
        cause = e.run(lambda: _choice(data.cause_of_death, CauseOfDeath, N_("死亡原因"), required=False))
        if cause and vital != VitalStatus.DEAD.value:
            e.add(N_("死亡原因"), N_("生存状态不是死亡时不能填写死亡原因"))
        disposition = e.run(lambda: _choice(data.discharge_disposition, DischargeDisposition, N_("出院去向"),
                                            required=False))
        if vital == VitalStatus.DEAD.value and rec.kind == FollowUpKind.DISCHARGE.value:
            disposition = disposition or DischargeDisposition.DIED.value
        if disposition and rec.kind != FollowUpKind.DISCHARGE.value:
            e.add(N_("出院去向"), N_("只在出院随访中填写"))
        if rec.kind == FollowUpKind.DISCHARGE.value and done and not disposition:
            e.add(N_("出院去向"), N_("请选择"))
        if disposition == DischargeDisposition.DIED.value and vital != VitalStatus.DEAD.value:
            e.add(N_("出院去向"), N_("院内死亡时生存状态须为死亡"))
        method = e.run(lambda: _choice(data.contact_method, ContactMethod, N_("随访方式"), required=False))
        cpc = e.run(lambda: parse_one("cpc", data.cpc))
        mrs = e.run(lambda: parse_one("mrs", data.mrs))
        eq5d = e.run(lambda: parse_one("eq5d_index", data.eq5d_index))
        notes = e.run(lambda: clean_text(data.notes, N_("备注"), max_length=NOTES_MAX, multiline=True), "")
        e.raise_if_any()
        if vital == VitalStatus.ALIVE.value and done_at is not None:
            self._check_not_dead_before(uow, run, rec, local_date(done_at))
        return _Clean({"fu_status": status, "done_at": done_at or (now if status == FollowUpStatus.LOST.value else None),
                       "contact_method": method, "vital_status": vital, "date_of_death": death,
                       "cause_of_death": cause, "discharge_disposition": disposition, "cpc": cpc, "mrs": mrs,
                       "eq5d_index": eq5d, "notes": notes}, {})

    @staticmethod
    def _check_not_dead_before(uow: UnitOfWork, run: Run, rec: FollowUp, day: date) -> None:
        for other in uow.records.for_run(Entity.FOLLOW_UP, run.id):
            if (other.id != rec.id and other.vital_status == VitalStatus.DEAD.value  # type: ignore[union-attr]
                    and other.date_of_death is not None and other.date_of_death < day):  # type: ignore[union-attr]
                raise ValidationError(FieldError(N_("生存状态"), N_("已记录患者于 {date} 死亡，随访时不能为存活"),
                                                 {"date": other.date_of_death.isoformat()}))  # type: ignore[union-attr]

    def _after_follow_up(self, uow: UnitOfWork, run: Run, before: AnyRecord, rec: AnyRecord) -> None:
        """Keep the rest consistent: later follow-ups of a patient who died, and the run's outcome facts."""
        assert isinstance(rec, FollowUp)
        user = self.ctx.require_user()
        now = self.ctx.now()
        changes: dict[str, Any] = {}
        start = local_date(run.started_at) if run.started_at else None
        if rec.vital_status == VitalStatus.DEAD.value and rec.date_of_death is not None:
            for other in uow.records.for_run(Entity.FOLLOW_UP, run.id):
                assert isinstance(other, FollowUp)
                if other.id == rec.id:
                    continue
                if other.vital_status == VitalStatus.ALIVE.value and other.done_at is not None \
                        and local_date(other.done_at) > rec.date_of_death:
                    raise ValidationError(FieldError(N_("死亡日期"), N_("与{kind}随访记录的存活状态矛盾"),
                                                     {"kind": FollowUpKind(other.kind).label}))
                if other.fu_status == FollowUpStatus.DUE.value and other.due_date >= rec.date_of_death:
                    closed = uow.records.update(Entity.FOLLOW_UP, other.id, expected_version=other.version,
                                               fu_status=FollowUpStatus.DONE.value,
                                               done_at=rec.done_at or now, vital_status=VitalStatus.DEAD.value,
                                               date_of_death=rec.date_of_death, cause_of_death=rec.cause_of_death,
                                               contact_method=ContactMethod.RECORDS.value, updated_at=now,
                                               notes=AUTO_CLOSED_NOTE,
                                               updated_by_id=user.id,
                                               discharge_disposition=DischargeDisposition.DIED.value
                                               if other.kind == FollowUpKind.DISCHARGE.value else None)
                    old_fu, new_fu = diff(canonical_content(other), canonical_content(closed))
                    self._audit(uow, "update", Entity.FOLLOW_UP, other.id, before=old_fu, after=new_fu,
                                run_id=run.id, patient_id=run.patient_id, reason="death recorded at follow-up")
            changes["date_of_death"] = datetime.combine(rec.date_of_death, time(0), BEIJING)
            if start is not None:
                changes["survived_28d"] = rec.date_of_death > start + timedelta(days=28)
        elif rec.vital_status == VitalStatus.ALIVE.value and rec.kind == FollowUpKind.D28.value:
            changes["survived_28d"] = True
        if rec.kind == FollowUpKind.DISCHARGE.value and rec.fu_status == FollowUpStatus.DONE.value:
            disposition = rec.discharge_disposition
            changes["discharged_alive"] = (False if disposition == DischargeDisposition.DIED.value else
                                           None if disposition in (DischargeDisposition.AGAINST_ADVICE.value,
                                                                   DischargeDisposition.UNKNOWN.value) else True)
            if rec.done_at is not None:
                discharge = {"discharged_at": rec.done_at, "discharge_disposition": disposition}
                uow.patients.update(run.patient_id, **discharge)
                self._audit(uow, "update", "patient", run.patient_id, after=discharge, run_id=run.id,
                            patient_id=run.patient_id, reason="discharge follow-up")
        if changes:
            uow.runs.update(run.id, **changes)
            self._audit(uow, "update", "ecmo_run", run.id, after=changes, run_id=run.id, patient_id=run.patient_id,
                        reason="follow-up outcome")

    @requires(Action.CHART_DOCTOR)
    def record_follow_up(self, follow_up_id: int, data: FollowUpInput, *,
                         expected_version: int | None = None) -> FollowUp:
        """The result of a scheduled follow-up; a death closes later ones as dead too."""
        return self._edit(Entity.FOLLOW_UP, follow_up_id, expected_version, None,  # type: ignore[return-value]
                          lambda uow, run, rec: self._clean_follow_up(uow, run, rec, data),  # type: ignore[arg-type]
                          after=self._after_follow_up)

    @requires(Action.CHART_DOCTOR)
    def amend_follow_up(self, follow_up_id: int, data: FollowUpInput, *, reason: str,
                        expected_version: int | None = None) -> FollowUp:
        return self._edit(Entity.FOLLOW_UP, follow_up_id, expected_version, reason,  # type: ignore[return-value]
                          lambda uow, run, rec: self._clean_follow_up(uow, run, rec, data),  # type: ignore[arg-type]
                          after=self._after_follow_up)

    # ==== create / edit (shared) ============================================================================
    def _create(self, entity: str, run_id: int, clean: Callable[[UnitOfWork, Run], _Clean], *,
                extra: dict[str, Any] | None = None) -> AnyRecord:
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> AnyRecord:
            run = uow.runs.get(run_id)
            if run.status == RunStatus.CANCELLED.value:
                raise ValidationError(FieldError(N_("ECMO 病例"), N_("病例已取消")))
            c = clean(uow, run)
            now = self.ctx.now()
            rec = uow.records.add(entity, run_id=run_id, status=RecordStatus.DRAFT.value, created_at=now,
                                  updated_at=now, created_by_id=user.id, updated_by_id=user.id,
                                  **c.fields, **(extra or {}), **c.children)
            self._audit(uow, "create", entity, rec.id, after=canonical_content(rec), run_id=run_id,
                        patient_id=run.patient_id)
            uow.commit()
            return rec

        return self._transact(work)

    def _edit(self, entity: str, record_id: int, expected_version: int | None, reason: str | None,
              clean: Callable[[UnitOfWork, Run, AnyRecord], _Clean], *,
              after: Callable[[UnitOfWork, Run, AnyRecord, AnyRecord], None] | None = None) -> AnyRecord:
        """Update a draft, or (with ``reason``) amend any record: version kept, signature superseded."""
        user = self.ctx.require_user()
        why = None if reason is None else clean_text(reason, N_("更正原因"), required=True, max_length=1000,
                                                     multiline=True)

        def work(uow: UnitOfWork) -> AnyRecord:
            before = uow.records.get(entity, record_id)
            run = uow.runs.get(before.run_id)
            self._check_may_edit(user, before)
            if why is None and before.locked:
                raise RecordLocked()
            if expected_version is not None and before.version != expected_version:
                raise ConcurrencyConflict()
            c = clean(uow, run, before)
            now = self.ctx.now()
            if why is not None:
                uow.records.add_version(entity=entity, entity_id=record_id, version=before.version,
                                        content=canonical_content(before), replaced_at=now, replaced_by_id=user.id,
                                        reason=why)
                uow.records.supersede_signatures(entity, record_id)
            # conditional on the version read (= the one the user saw): under READ COMMITTED a colleague's
            # save committed since then must make this UPDATE fail, never be overwritten (REL-11)
            rec = uow.records.update(entity, record_id, expected_version=before.version,
                                     status=RecordStatus.DRAFT.value, signed_at=None, signed_by_id=None,
                                     updated_at=now, updated_by_id=user.id, **c.fields, **c.children)
            if after is not None:
                after(uow, run, before, rec)
            if entity in (Entity.DECISION, Entity.PROCEDURE):
                self._sync_run(uow, run.id)
                rec = uow.records.get(entity, record_id)
            old, new = diff(canonical_content(before), canonical_content(rec))
            self._audit(uow, "amend" if why else "update", entity, record_id, before=old, after=new, run_id=run.id,
                        patient_id=run.patient_id, reason=why)
            uow.commit()
            return rec

        return self._transact(work)

    @staticmethod
    def _check_may_edit(user: CurrentUser, rec: AnyRecord) -> None:
        if _is_doctor(user):
            return
        if rec.entity != Entity.DAILY_ENTRY.value or rec.created_by_id != user.id:
            raise PermissionDenied(N_("只能修改本人书写的日常管理记录"))

    def _sync_run(self, uow: UnitOfWork, run_id: int) -> Run:
        """Derive the run's start, mode, urgency and R2 deadline from its records after any change."""
        run = uow.runs.get(run_id)
        procedures = [p for p in uow.records.for_run(Entity.PROCEDURE, run_id) if isinstance(p, Procedure)]
        decisions = [d for d in uow.records.for_run(Entity.DECISION, run_id) if isinstance(d, Decision)]
        changes: dict[str, Any] = {}
        cannulation = next((p for p in procedures if p.kind == ProcedureKind.CANNULATION.value), None)
        if cannulation is not None and cannulation.flow_at != run.started_at:
            changes["started_at"] = cannulation.flow_at
        timeline = mode_timeline(procedures)
        start = primary_start(decisions)
        if timeline:
            mode = timeline[-1].mode
        else:
            mode = start.mode_planned if start is not None and start.mode_planned else run.mode
        if mode != run.mode:
            changes["mode"] = mode
        if start is not None and (start.emergency != run.emergency or start.decided_at != run.decided_at):
            changes.update(emergency=start.emergency, decided_at=start.decided_at)
        if start is not None and start.indication and (start.indication, start.indication_other) != (
                run.indication, run.indication_other):
            changes.update(indication=start.indication, indication_other=start.indication_other)
        if changes:
            before = {k: getattr(run, k) for k in changes}
            run = uow.runs.update(run_id, expected_version=run.version, **changes)
            self._audit(uow, "update", "ecmo_run", run_id, before=before, after=changes, run_id=run_id,
                        patient_id=run.patient_id)
        if start is not None:
            deadline = supplement_deadline(run.started_at) if start.emergency else None
            if deadline != start.supplement_deadline:
                uow.records.update(Entity.DECISION, start.id, expected_version=start.version,
                                   supplement_deadline=deadline)
        if "started_at" in changes and run.started_at is not None:
            for entry in uow.records.for_run(Entity.DAILY_ENTRY, run_id):
                assert isinstance(entry, DailyEntry)
                day = ecmo_day(run.started_at, entry.recorded_at)
                if day != entry.ecmo_day:
                    uow.records.update(Entity.DAILY_ENTRY, entry.id, expected_version=entry.version, ecmo_day=day)
        return run

    # ==== signing (SIG-1..SIG-3) ============================================================================
    def _reauthenticate(self, password: str) -> None:
        """The password again for every signature (SIG-2).

        After one full argon2 check, later signatures of the same user are compared against an
        HMAC of that password kept in memory (random per-process key) for a limited time, so
        signing a day's worth of entries stays instant; a changed password, a lock or a
        deactivation invalidates it at once, and a wrong password always goes through the full
        check (and counts towards the lock-out).
        """
        user = self.ctx.require_user()
        digest = hmac.new(self._reauth_key, f"{user.id}\0{password or ''}".encode(), "sha256").digest()
        now = self.ctx.now()
        elapsed = monotonic()  # real session time, whatever the record clock says
        cached = self._reauth.get(user.id)
        if cached is not None and hmac.compare_digest(cached[0], digest) and elapsed - cached[2] < REAUTH_TTL_S:
            auth = self._read(lambda uow: uow.staff.auth(user.id))
            locked = auth.locked_by_admin or (auth.locked_until is not None and auth.locked_until > now)
            if auth.active and not locked and hmac.compare_digest(auth.password_hash, cached[1]):
                return
        self._reauth.pop(user.id, None)
        self.auth.verify_password(password)
        auth = self._read(lambda uow: uow.staff.auth(user.id))
        self._reauth[user.id] = (digest, auth.password_hash, elapsed)

    @staticmethod
    def _decision_rules(rec: Decision) -> None:
        """Signing a decision enforces R1 (non-emergency) or R2 (emergency start)."""
        if rec.emergency and rec.kind == DecisionKind.START.value:
            result = emergency_decider(rec.physicians)
        elif rec.emergency:
            return
        else:
            result = joint_decision(rec.physicians)
        if not result.passed:
            raise RuleViolation(result.rule, result.message, **result.params)

    @requires(Action.SIGN_RECORD)
    def sign(self, entity: str, record_id: int, password: str, *, meaning: str | None = None,
             expected_version: int | None = None, shown_hash: str | None = None) -> SignedRecord:
        """Sign and lock a record with the password re-entered.

        Doctors sign any record (书写 for their own, 审阅 otherwise); nurses and perfusionists sign
        only the daily entries they wrote themselves. ``expected_version`` and ``shown_hash`` are the
        version and content hash of what the signer was shown: the signature lands only on exactly that
        content, however another PC's save interleaves (a changed record is a conflict, never signed).
        """
        user = self.ctx.require_user()
        if entity not in Entity._value2member_map_:
            raise ValidationError(FieldError(N_("记录"), N_("未知的记录类型")))
        if meaning is not None:
            _choice(meaning, SignatureMeaning, N_("签名含义"))
        self._reauthenticate(password)

        def work(uow: UnitOfWork) -> SignedRecord:
            rec = uow.records.get(entity, record_id)
            if not _is_doctor(user) and (entity != Entity.DAILY_ENTRY.value or rec.created_by_id != user.id):
                raise PermissionDenied(N_("护士和体外循环师只能签署本人书写的日常管理记录"))
            if rec.locked:
                raise RecordLocked(N_("该记录已签名"))
            if expected_version is not None and rec.version != expected_version:
                raise ConcurrencyConflict()
            shown = content_hash(rec)
            if shown_hash is not None and not hmac.compare_digest(shown, shown_hash):
                raise ConcurrencyConflict()
            if isinstance(rec, Decision):
                self._decision_rules(rec)
            if isinstance(rec, FollowUp) and rec.fu_status == FollowUpStatus.DUE.value:
                raise ValidationError(FieldError(N_("随访"), N_("随访尚未完成，不能签名")))
            now = self.ctx.now()
            staff = uow.staff.get(user.id)
            signed = uow.records.update(entity, record_id, expected_version=rec.version,
                                        status=RecordStatus.SIGNED.value, signed_at=now, signed_by_id=user.id)
            if content_hash(signed) != shown:  # the UPDATE was conditional on rec.version: cannot happen
                raise ConcurrencyConflict()
            why = meaning or (SignatureMeaning.AUTHOR.value if rec.created_by_id == user.id
                              else SignatureMeaning.REVIEW.value)
            sig = uow.records.add_signature(entity=entity, entity_id=record_id, record_version=signed.version,
                                            signer_id=user.id, signer_name=staff.full_name, meaning=why,
                                            signed_at=now, content_hash=content_hash(signed))
            run = uow.runs.get(rec.run_id)
            self._audit(uow, "sign", entity, record_id, after={"meaning": why, "content_hash": sig.content_hash,
                                                               "version": signed.version},
                        run_id=run.id, patient_id=run.patient_id)
            uow.commit()
            return SignedRecord(signed, sig)

        return self._transact(work)

    @requires(Action.VERIFY)
    def verify_signatures(self, run_id: int | None = None) -> SignatureCheck:
        """Recompute every valid signature's content hash; a record changed after signing (outside
        the app) is reported as "签名后内容被改动" (SIG-2)."""
        return self._read(lambda uow: check_signatures(uow, run_id))

    # ==== reading ===========================================================================================
    @requires(Action.VIEW_CASES)
    def chart(self, run_id: int) -> RunChart:
        """Everything recorded for a run, each kind in time order."""

        def work(uow: UnitOfWork) -> RunChart:
            uow.runs.get(run_id)
            return load_chart(uow, run_id)

        return self._read(work)

    @requires(Action.VIEW_CASES)
    def get_record(self, entity: str, record_id: int) -> AnyRecord:
        if entity not in Entity._value2member_map_:
            raise NotFound()
        return self._read(lambda uow: uow.records.get(entity, record_id))

    @requires(Action.VIEW_CASES)
    def signatures(self, entity: str, record_id: int) -> list[Signature]:
        """Every signature of a record, superseded ones included (SIG-1/SIG-3)."""
        return self._read(lambda uow: uow.records.signatures(entity=entity, entity_id=record_id))

    @requires(Action.VIEW_CASES)
    def versions(self, entity: str, record_id: int) -> list[RecordVersion]:
        """Earlier contents of an amended record, oldest first."""
        return self._read(lambda uow: uow.records.versions(entity, record_id))

    @requires(Action.VIEW_CASES)
    def mode_timeline(self, run_id: int) -> list[ModeSpan]:
        return self._read(lambda uow: mode_timeline(
            [p for p in uow.records.for_run(Entity.PROCEDURE, run_id) if isinstance(p, Procedure)]))

    @requires(Action.VIEW_CASES)
    def supplement_status(self, run_id: int) -> SupplementStatus | None:
        """R2's 12-hour clock for an emergency start (None when the start was not an emergency)."""
        now = self.ctx.now()

        def work(uow: UnitOfWork) -> SupplementStatus | None:
            decisions = [d for d in uow.records.for_run(Entity.DECISION, run_id) if isinstance(d, Decision)]
            return supplement_for(decisions, now)

        return self._read(work)


def load_chart(uow: UnitOfWork, run_id: int) -> RunChart:
    """All records of a run from one unit of work (the case view, the checklist)."""

    def of(entity: Entity) -> tuple[Any, ...]:
        return tuple(uow.records.for_run(entity, run_id))

    return RunChart(run_id, of(Entity.DECISION), of(Entity.CONSENT), of(Entity.PROCEDURE), of(Entity.DAILY_ENTRY),
                    of(Entity.COMPLICATION), of(Entity.WEANING_TRIAL), of(Entity.FOLLOW_UP))


def supplement_for(decisions: Sequence[Decision], now: datetime) -> SupplementStatus | None:
    """R2's state for a run's decisions (shared by the case view and the worklist)."""
    start = primary_start(decisions)
    if start is None or not start.emergency:
        return None
    supplements = [d for d in decisions if d.supplement_of_id == start.id and joint_decision(d.physicians).passed]
    first = min(supplements, key=lambda d: d.decided_at) if supplements else None
    state, remaining = supplement_state(start.supplement_deadline, first.decided_at if first else None, now)
    return SupplementStatus(decision_id=start.id, run_id=start.run_id, deadline=start.supplement_deadline,
                            supplement_id=first.id if first else None,
                            state=state, remaining=remaining)


def check_signatures(uow: UnitOfWork, run_id: int | None = None) -> SignatureCheck:
    """SIG-2 inside one read: shared by ``verify_signatures`` and the full ``verify`` (AuditService)."""
    problems: list[SignatureProblem] = []
    signatures = uow.records.signatures(state="valid", run_id=run_id)
    seen: set[tuple[str, int]] = set()
    loaded: dict[str, dict[int, AnyRecord]] = {}
    for entity in {s.entity for s in signatures}:
        try:
            loaded[entity] = uow.records.many(entity, [s.entity_id for s in signatures if s.entity == entity])
        except (EcmoError, KeyError, ValueError, TypeError):
            loaded[entity] = {}
    for sig in signatures:
        key = (sig.entity, sig.entity_id)
        seen.add(key)
        rec = loaded.get(sig.entity, {}).get(sig.entity_id)
        if rec is None:
            problems.append(SignatureProblem(sig.entity, sig.entity_id, None, sig.id, N_("签名的记录无法读取")))
            continue
        if content_hash(rec) != sig.content_hash:
            problems.append(SignatureProblem(sig.entity, sig.entity_id, rec.run_id, sig.id,
                                             N_("签名后内容被改动")))
        elif not rec.locked:
            problems.append(SignatureProblem(sig.entity, sig.entity_id, rec.run_id, sig.id,
                                             N_("记录未处于签名锁定状态，但签名仍有效")))
    for ref in uow.records.signed_records(run_id=run_id):
        if (ref.entity, ref.entity_id) not in seen:
            problems.append(SignatureProblem(ref.entity, ref.entity_id, ref.run_id, None,
                                             N_("记录标记为已签名，但没有有效签名")))
    return SignatureCheck(ok=not problems, checked=len(signatures), problems=tuple(problems))

