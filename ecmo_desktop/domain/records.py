"""The clinical record of a run, as values: what the forms send (``*Input``) and what services return.

Inputs carry what a person typed (numbers may still be text such as ``"7.35"``; the service parses
them against the field catalogue in ``fields.py``). Outputs are frozen snapshots with ids, never
database rows: the case read model's record classes (``case.py``), here under their service names;
every signable record shares ``RecordBase`` (status, version, who wrote and signed it) so the UI can
treat "locked", "needs signing" and "amended" the same way everywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from ecmo_desktop.domain import case
from ecmo_desktop.domain.case import DecisionPhysician as DecisionPhysician
from ecmo_desktop.domain.enums import Labelled, _labels
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.time import local_date
from ecmo_desktop.i18n import N_, _


def ecmo_day(started_at: datetime, at: datetime) -> int:
    """ECMO day N: day 0 is the Beijing calendar day of first blood flow (ECLS-CDM)."""
    return (local_date(at) - local_date(started_at)).days


# the note of a follow-up the system closed because the death was already recorded: it is a
# consequence, not a person's entry, so it is not waiting for anyone's signature
AUTO_CLOSED_NOTE = N_("已记录死亡，随访自动结案")


class RecordLocked(EcmoError):
    """A signed record cannot be edited in place (SIG-3): corrections go through an amendment."""

    default_message = N_("该记录已签名锁定，不能直接修改；如需更正，请使用“更正”并填写原因")


class Entity(StrEnum):
    """Record kinds; the values are the table names used in signatures, versions and the audit."""

    DECISION = "decision"
    CONSENT = "consent"
    PROCEDURE = "procedure"
    DAILY_ENTRY = "daily_entry"
    COMPLICATION = "complication"
    WEANING_TRIAL = "weaning_trial"
    FOLLOW_UP = "follow_up"


ENTITY_LABELS: dict[str, str] = {
    "decision": N_("决策记录"),
    "consent": N_("知情同意"),
    "procedure": N_("操作记录"),
    "daily_entry": N_("日常管理记录"),
    "complication": N_("并发症"),
    "weaning_trial": N_("撤机试验"),
    "follow_up": N_("随访"),
}


class ConsentRelationship(Labelled):
    SELF = "self"
    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    GUARDIAN = "guardian"
    OTHER = "other"


_labels(
    ConsentRelationship,
    {
        "self": N_("本人"),
        "spouse": N_("配偶"),
        "parent": N_("父母"),
        "child": N_("子女"),
        "sibling": N_("兄弟姐妹"),
        "other_relative": N_("其他近亲属"),
        "guardian": N_("监护人"),
        "other": N_("其他授权人"),
    },
)


class ContactMethod(Labelled):
    CLINIC = "clinic"
    PHONE = "phone"
    RECORDS = "records"  # read from the hospital record (discharge, in-hospital death)
    OTHER = "other"


_labels(
    ContactMethod, {"clinic": N_("门诊"), "phone": N_("电话"), "records": N_("病历记录"), "other": N_("其他")}
)


class CauseOfDeath(Labelled):
    CARDIAC = "cardiac"
    RESPIRATORY = "respiratory"
    NEUROLOGICAL = "neurological"
    MOF = "mof"
    BLEEDING = "bleeding"
    SEPSIS = "sepsis"
    OTHER = "other"


_labels(
    CauseOfDeath,
    {
        "cardiac": N_("心源性"),
        "respiratory": N_("呼吸衰竭"),
        "neurological": N_("神经系统"),
        "mof": N_("多器官功能衰竭"),
        "bleeding": N_("出血"),
        "sepsis": N_("脓毒症"),
        "other": N_("其他"),
    },
)


# ---- inputs -------------------------------------------------------------------------------------------
Number = str | float | int | None


@dataclass(frozen=True)
class PhysicianInput:
    """One physician who took part in a decision, and in which capacity (R1/R2)."""

    staff_id: int
    role: str  # DeciderRole: attending | expert | other


@dataclass(frozen=True)
class DecisionInput:
    """上机/撤机决策. ``pre_ecmo`` holds numeric and choice keys of the "pre_ecmo" form (fields.py);
    ``contraindications`` maps checklist keys (fields.CONTRAINDICATIONS) to True/False."""

    kind: str  # DecisionKind
    decided_at: datetime
    physicians: tuple[PhysicianInput, ...]
    emergency: bool = False
    indication: str | None = None
    indication_other: str = ""
    mode_planned: str | None = None
    rationale: str = ""
    pre_ecmo: Mapping[str, Any] = field(default_factory=dict)
    contraindications: Mapping[str, bool] = field(default_factory=dict)
    supplement_of_id: int | None = None  # the emergency start this full plan supplements (R2)


@dataclass(frozen=True)
class ConsentInput:
    explained_by_id: int
    signer_name: str
    relationship: str  # ConsentRelationship
    signed_at: datetime  # when the paper form was signed
    refused: bool = False
    notes: str = ""


@dataclass(frozen=True)
class StaffInput:
    staff_id: int
    role: str  # StaffRoleInProcedure


@dataclass(frozen=True)
class CannulaInput:
    role: str  # CannulaRole
    vessel: str  # Vessel
    side: str  # Side
    size_fr: Number
    length_cm: Number = None
    depth_cm: Number = None
    tip_position: str = ""
    device_usage_id: int | None = None


@dataclass(frozen=True)
class ProcedureInput:
    """Cannulation, circuit change, mode change or decannulation (the kind comes from the method).

    ``settings`` holds keys of the "procedure" form (initial RPM, flow, sweep, FdO2, heparin bolus …);
    ``immediate_complications`` are keys of fields.IMMEDIATE_COMPLICATIONS.
    """

    started_at: datetime
    location: str  # Location
    staff: tuple[StaffInput, ...]
    flow_at: datetime | None = None  # first blood flow: required for a cannulation (= ECMO start)
    ended_at: datetime | None = None
    technique: str | None = None
    guidance: str | None = None
    mode_after: str | None = None  # cannulation (defaults to the run's mode) and mode change
    reason: str = ""  # required for circuit change, mode change and decannulation
    cannulae: tuple[CannulaInput, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    immediate_complications: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class DailyEntryInput:
    """日常管理. ``values``: numeric keys of the "daily" form; ``checks``: choice keys (fields.py)."""

    recorded_at: datetime
    values: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, Any] = field(default_factory=dict)
    mode: str | None = None  # mode today; defaults to the run's current mode
    notes: str = ""


@dataclass(frozen=True)
class ComplicationInput:
    code: str  # complications.COMPLICATIONS key
    onset_at: datetime
    severity: str  # Severity
    other_text: str = ""
    treatment: str = ""
    resolved_at: datetime | None = None
    resolution: str = ""
    adverse_event: bool | None = None  # None: the code's default (R9)
    procedure_id: int | None = None
    device_item_id: int | None = None


@dataclass(frozen=True)
class WeaningTrialInput:
    """A weaning trial; ``values`` holds keys of the "weaning" form (MAP, lactate, LVEF, VTI …)."""

    started_at: datetime
    ended_at: datetime | None = None
    flow_to: Number = None
    sweep_to: Number = None
    fdo2_to: Number = None
    values: Mapping[str, Any] = field(default_factory=dict)
    passed: bool | None = None
    notes: str = ""


@dataclass(frozen=True)
class EndInput:
    """End of ECMO support (撤机结局)."""

    ended_at: datetime
    reason: str  # EndReason
    notes: str = ""


@dataclass(frozen=True)
class FollowUpInput:
    """The result of one scheduled follow-up. ``done_at``: when it was done (for the discharge
    follow-up: the discharge time)."""

    status: str  # FollowUpStatus: done | lost
    done_at: datetime | None = None
    contact_method: str | None = None
    vital_status: str | None = None  # VitalStatus
    date_of_death: date | None = None
    cause_of_death: str | None = None
    discharge_disposition: str | None = None
    cpc: Number = None
    mrs: Number = None
    eq5d_index: Number = None
    notes: str = ""


# ---- outputs ------------------------------------------------------------------------------------------
# The records the services return are the case read model's classes (domain/case.py): one class per
# record kind for the services, the UI, the documents and the export. These are their service names.
RecordBase = case.RecordInfo
Decision = case.DecisionInfo
Consent = case.ConsentInfo
ProcedureStaff = case.TeamMember
Cannula = case.CannulaInfo
Procedure = case.ProcedureInfo
DailyEntry = case.DailyEntryInfo
Complication = case.ComplicationInfo
WeaningTrial = case.WeaningTrialInfo
FollowUp = case.FollowUpInfo

AnyRecord = Decision | Consent | Procedure | DailyEntry | Complication | WeaningTrial | FollowUp


@dataclass(frozen=True)
class Signature:
    """An e-signature: printed name, time and meaning (SIG-1), bound to a content hash (SIG-2)."""

    id: int
    entity: str
    entity_id: int
    record_version: int
    signer_id: int
    signer_name: str
    meaning: str  # SignatureMeaning
    signed_at: datetime
    content_hash: str
    state: str  # valid | superseded


@dataclass(frozen=True)
class RecordVersion:
    """The content of a record as it was before an amendment (SIG-3: earlier versions stay readable)."""

    entity: str
    entity_id: int
    version: int
    content: dict[str, Any]
    replaced_at: datetime
    replaced_by_id: int | None
    reason: str


@dataclass(frozen=True)
class SignatureProblem:
    entity: str
    entity_id: int
    run_id: int | None
    signature_id: int | None
    message: str  # msgid, e.g. "签名后内容被改动"


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    checked: int
    problems: tuple[SignatureProblem, ...]


@dataclass(frozen=True)
class SignedRecord:
    """What ``sign`` returns: the locked record and the signature that locked it."""

    record: AnyRecord
    signature: Signature


@dataclass(frozen=True)
class RunChart:
    """Everything recorded for one run, each list in time order: what the case view shows."""

    run_id: int
    decisions: tuple[Decision, ...]
    consents: tuple[Consent, ...]
    procedures: tuple[Procedure, ...]
    daily_entries: tuple[DailyEntry, ...]
    complications: tuple[Complication, ...]
    weaning_trials: tuple[WeaningTrial, ...]
    follow_ups: tuple[FollowUp, ...]

    def all_records(self) -> tuple[AnyRecord, ...]:
        return (
            *self.decisions,
            *self.consents,
            *self.procedures,
            *self.daily_entries,
            *self.complications,
            *self.weaning_trials,
            *self.follow_ups,
        )


@dataclass(frozen=True)
class ModeSpan:
    """One stretch of the mode timeline (cannulation and each mode change start a new one)."""

    mode: str
    from_at: datetime
    to_at: datetime | None
    procedure_id: int


@dataclass(frozen=True)
class SupplementStatus:
    """R2's 12-hour clock for one emergency start, as of ``now``."""

    decision_id: int
    run_id: int
    deadline: datetime | None  # None until first flow is recorded
    supplement_id: int | None
    state: str  # pending | met | overdue
    remaining: timedelta | None  # time left (negative when overdue)


# ---- worklist and compliance ---------------------------------------------------------------------------
class WorkKind(StrEnum):
    SUPPLEMENT_OVERDUE = "supplement_overdue"
    SUPPLEMENT_DUE = "supplement_due"
    MISSING_CONSENT = "missing_consent"
    NO_DAILY_TODAY = "no_daily_today"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    UNSIGNED_RECORD = "unsigned_record"
    FOLLOW_UP_DUE = "follow_up_due"
    PRODUCT_REQUEST = "product_request"  # a bedside scan of a product the catalogue lacks (administrators)


# lower = more urgent; the worklist sorts by this, then by due time
WORK_URGENCY: dict[str, int] = {
    WorkKind.SUPPLEMENT_OVERDUE: 0,
    WorkKind.SUPPLEMENT_DUE: 1,
    WorkKind.MISSING_CONSENT: 2,
    WorkKind.PRODUCT_REQUEST: 2,  # a nurse may be waiting at the bedside with the device in hand
    WorkKind.NO_DAILY_TODAY: 3,
    WorkKind.FOLLOW_UP_OVERDUE: 4,
    WorkKind.UNSIGNED_RECORD: 5,
    WorkKind.FOLLOW_UP_DUE: 6,
}


@dataclass(frozen=True)
class WorkItem:
    """One thing the ward has to do; ``message`` is a msgid formatted with ``params``."""

    kind: str  # WorkKind
    urgency: int
    run_id: int
    mrn: str
    patient_name: str
    ward: str
    bed: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    remaining: timedelta | None = None  # negative when overdue
    entity: str | None = None
    entity_id: int | None = None
    owner_id: int | None = None  # who should act (the author of an unsigned record)

    def text(self) -> str:
        try:
            return _(self.message).format(**self.params)
        except (KeyError, IndexError, ValueError):
            return _(self.message)


@dataclass(frozen=True)
class RecordRef:
    """A pointer to a record (the worklist's unsigned records), without loading the record."""

    entity: str
    entity_id: int
    run_id: int
    created_by_id: int | None
    created_at: datetime


# ---- canonical content (what a signature binds, what a version keeps) ------------------------------------
# What a signature binds, per record kind, in this order: the clinical content, not bookkeeping (status,
# version, times of update and signing, names looked up, abnormal flags, values derived from the
# run's start time such as the ECMO day and the R2 deadline). Listed here, not taken from the
# dataclasses' fields, so a field added to the read model for a reader never invalidates a signature.
_BASE_CONTENT = ("id", "run_id", "created_at", "created_by_id")
CONTENT_FIELDS: dict[str, tuple[str, ...]] = {
    "decision": (
        *_BASE_CONTENT,
        "kind",
        "emergency",
        "decided_at",
        "mode_planned",
        "indication",
        "indication_other",
        "rationale",
        "physicians",
        "pre_ecmo",
        "contraindications",
        "supplement_of_id",
    ),
    "consent": (
        *_BASE_CONTENT,
        "explained_by_id",
        "signer_name",
        "relationship",
        "signed_on_paper_at",
        "refused",
        "notes",
    ),
    "procedure": (
        *_BASE_CONTENT,
        "kind",
        "started_at",
        "flow_at",
        "ended_at",
        "location",
        "technique",
        "guidance",
        "mode_before",
        "mode_after",
        "reason",
        "settings",
        "immediate_complications",
        "notes",
        "staff",
        "cannulae",
    ),
    "daily_entry": (*_BASE_CONTENT, "recorded_at", "author_role", "mode", "values", "checks", "notes"),
    "complication": (
        *_BASE_CONTENT,
        "code",
        "other_text",
        "onset_at",
        "severity",
        "treatment",
        "resolved_at",
        "resolution",
        "adverse_event",
        "device_item_id",
        "procedure_id",
    ),
    "weaning_trial": (
        *_BASE_CONTENT,
        "started_at",
        "ended_at",
        "flow_to",
        "sweep_to",
        "fdo2_to",
        "values",
        "passed",
        "notes",
    ),
    "follow_up": (
        *_BASE_CONTENT,
        "kind",
        "due_date",
        "fu_status",
        "done_at",
        "contact_method",
        "vital_status",
        "date_of_death",
        "cause_of_death",
        "discharge_disposition",
        "cpc",
        "mrs",
        "eq5d_index",
        "notes",
    ),
}
# per child row: only what was decided and signed (names and privilege flags are looked up, and a
# cannula's device link and removal time are set later by the device workflow)
_CHILD_CONTENT = {
    "physicians": ("staff_id", "role"),
    "staff": ("staff_id", "role"),
    "cannulae": ("position", "role", "vessel", "side", "size_fr", "length_cm", "depth_cm", "tip_position"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = float(value)
        return int(number) if number.is_integer() else round(number, 9)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def canonical_content(record: AnyRecord) -> dict[str, Any]:
    """The record's clinical content as plain JSON values, independent of backend and row order."""
    out: dict[str, Any] = {"entity": record.entity}
    for name in CONTENT_FIELDS[record.entity]:
        value = getattr(record, name)
        if name in _CHILD_CONTENT:
            keys = _CHILD_CONTENT[name]
            rows = [{k: _plain(getattr(child, k)) for k in keys} for child in value]
            value = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False))
        out[name] = _plain(value)
    return out


def canonical_json(content: Mapping[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(record: AnyRecord) -> str:
    """SHA-256 of the canonical content: what a signature binds (SIG-2, 电子签名法第十三条)."""
    return hashlib.sha256(canonical_json(canonical_content(record)).encode("utf-8")).hexdigest()
