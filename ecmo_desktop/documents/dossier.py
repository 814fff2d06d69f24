"""The documents' own read model of one ECMO run: everything a PDF prints, as frozen values.

Why a separate read model rather than the record and device services' dataclasses: a printed
document must show *names as they were signed*, every device with its label data and scanned text,
and the signatures of every record — facts spread over a dozen tables that no single service
returns together. ``storage/repositories/dossier.py`` fills these classes straight from the tables
in one read transaction, so a document is a consistent snapshot even while the ward keeps charting,
and the PDF builders stay pure functions of this value (testable without a database).

Nothing here imports reportlab or SQLAlchemy: ``services/ports.py`` names these types in the
``DossierRepository`` protocol. Voided records and voided device bindings are left out by the
repository: they are not part of the clinical record any more (their history stays in the audit).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from ecmo_desktop.domain.time import local_date


@dataclass(frozen=True)
class HospitalInfo:
    id: int
    name: str
    code: str


@dataclass(frozen=True)
class PatientInfo:
    id: int
    mrn: str
    name: str
    sex: str  # Sex code: M | F | U
    birth_date: date | None
    age_years: int | None  # only when no birth date is known (legacy import)
    height_cm: float | None
    weight_kg: float | None
    ward: str
    bed: str
    admitted_at: datetime | None
    discharged_at: datetime | None
    discharge_disposition: str | None


@dataclass(frozen=True)
class RunInfo:
    id: int
    run_number: int
    mode: str
    ecpr: bool
    indication: str
    indication_other: str
    diagnosis: str
    status: str
    emergency: bool
    attending_name: str
    ward: str
    bed: str
    created_at: datetime
    decided_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    archived_at: datetime | None


@dataclass(frozen=True)
class SignatureInfo:
    """SIG-1: printed name, date and time, and meaning; ``state`` says whether it still stands."""

    signer_name: str
    signer_title: str
    meaning: str  # SignatureMeaning code
    signed_at: datetime
    state: str  # valid | superseded
    record_version: int


@dataclass(frozen=True, kw_only=True)
class RecordInfo:
    """What every signable record shares."""

    id: int
    status: str  # draft | signed
    version: int
    created_at: datetime
    created_by_name: str
    signatures: tuple[SignatureInfo, ...] = ()

    @property
    def signed(self) -> bool:
        return any(s.state == "valid" for s in self.signatures)


@dataclass(frozen=True)
class PhysicianInfo:
    staff_id: int
    name: str
    title: str  # Title code
    role: str  # DeciderRole code: attending | expert | other
    expert_at_decision: bool  # member of the expert group at the time of the decision (R1/R2)


@dataclass(frozen=True, kw_only=True)
class DecisionInfo(RecordInfo):
    kind: str  # start | wean
    emergency: bool
    decided_at: datetime
    mode_planned: str | None
    indication: str | None
    indication_other: str
    rationale: str
    pre_ecmo: dict[str, Any]
    contraindications: dict[str, bool]
    supplement_deadline: datetime | None
    supplement_of_id: int | None
    physicians: tuple[PhysicianInfo, ...]


@dataclass(frozen=True, kw_only=True)
class ConsentInfo(RecordInfo):
    explained_by_name: str
    explained_by_title: str
    signer_name: str
    relationship: str  # ConsentRelationship code
    signed_on_paper_at: datetime
    refused: bool
    notes: str


@dataclass(frozen=True)
class TeamMember:
    staff_id: int
    name: str
    title: str
    role: str  # StaffRoleInProcedure code
    privileged: bool  # held a valid ECMO privilege when the procedure started (R3)


@dataclass(frozen=True)
class CannulaInfo:
    position: int
    role: str
    vessel: str
    side: str
    size_fr: float
    length_cm: float | None
    depth_cm: float | None
    tip_position: str
    device_usage_id: int | None
    removed_at: datetime | None


@dataclass(frozen=True)
class DeviceInfo:
    """One device bound to the run (R7/R8): label data, how it was scanned, when and by whom."""

    usage_id: int
    item_id: int
    procedure_id: int | None  # None: bound without naming a procedure
    product_name: str
    category: str
    model: str
    manufacturer: str
    nmpa_number: str
    gtin: str | None
    udi_di: str | None
    lot: str | None
    serial: str | None
    expiry: date | None
    production_date: date | None
    raw_code: str  # the label as received
    scanned_text: str  # the code as scanned at the bedside when bound
    symbology: str | None  # code scheme it was received from: gs1, hibc, ma, plain, manual …
    single_use: bool
    bound_at: datetime
    bound_by_name: str
    override_reason: str | None
    removed_at: datetime | None
    removal_reason: str | None

    @property
    def barcode_text(self) -> str:
        """What the printed barcode re-encodes: the bedside scan, else the label as received."""
        return self.scanned_text.strip("\r\n") or self.raw_code.strip("\r\n")


@dataclass(frozen=True, kw_only=True)
class ComplicationInfo(RecordInfo):
    code: str
    other_text: str
    onset_at: datetime
    severity: str
    treatment: str
    resolved_at: datetime | None
    resolution: str
    adverse_event: bool
    procedure_id: int | None
    device_label: str  # "name lot/serial" of the linked device item, or ""


@dataclass(frozen=True, kw_only=True)
class ProcedureInfo(RecordInfo):
    kind: str  # cannulation | circuit_change | mode_change | decannulation
    started_at: datetime
    flow_at: datetime | None
    ended_at: datetime | None
    location: str
    technique: str | None
    guidance: str | None
    mode_before: str | None
    mode_after: str | None
    reason: str
    settings: dict[str, Any]
    immediate_complications: tuple[str, ...]
    notes: str
    team: tuple[TeamMember, ...]
    cannulae: tuple[CannulaInfo, ...]
    devices: tuple[DeviceInfo, ...]  # bound at this procedure (R8), see ``assign_devices``
    inferred_device_ids: tuple[int, ...] = ()  # usage ids placed here by binding time, not by the binder


@dataclass(frozen=True, kw_only=True)
class DailyEntryInfo(RecordInfo):
    recorded_at: datetime
    ecmo_day: int
    author_role: str
    mode: str | None
    values: dict[str, Any]
    checks: dict[str, Any]
    notes: str


@dataclass(frozen=True, kw_only=True)
class WeaningTrialInfo(RecordInfo):
    started_at: datetime
    ended_at: datetime | None
    flow_to: float | None
    sweep_to: float | None
    fdo2_to: float | None
    values: dict[str, Any]
    passed: bool | None
    notes: str


@dataclass(frozen=True, kw_only=True)
class FollowUpInfo(RecordInfo):
    kind: str
    due_date: date
    fu_status: str  # due | done | lost
    done_at: datetime | None
    contact_method: str | None
    vital_status: str | None
    date_of_death: date | None
    cause_of_death: str | None
    discharge_disposition: str | None
    cpc: int | None
    mrs: int | None
    eq5d_index: float | None
    notes: str


@dataclass(frozen=True)
class CaseDossier:
    """One run as the documents see it; every tuple is in time order."""

    hospital: HospitalInfo
    patient: PatientInfo
    run: RunInfo
    decisions: tuple[DecisionInfo, ...]
    consents: tuple[ConsentInfo, ...]
    procedures: tuple[ProcedureInfo, ...]
    daily_entries: tuple[DailyEntryInfo, ...]
    complications: tuple[ComplicationInfo, ...]
    weaning_trials: tuple[WeaningTrialInfo, ...]
    follow_ups: tuple[FollowUpInfo, ...]
    devices: tuple[DeviceInfo, ...]  # every active binding of the run, whichever procedure

    def procedure(self, procedure_id: int) -> ProcedureInfo | None:
        return next((p for p in self.procedures if p.id == procedure_id), None)

    def decision(self, decision_id: int) -> DecisionInfo | None:
        return next((d for d in self.decisions if d.id == decision_id), None)

    def days(self) -> tuple[date, ...]:
        """The Beijing calendar days that have daily entries, in order."""
        return tuple(sorted({local_date(e.recorded_at) for e in self.daily_entries}))

    def entries_on(self, day: date) -> tuple[DailyEntryInfo, ...]:
        return tuple(e for e in self.daily_entries if local_date(e.recorded_at) == day)


@dataclass(frozen=True)
class GeneratedDocument:
    """A stored PDF (without its bytes): what was printed, by whom, when, and how to check a copy.

    ``document_number`` is what the footer prints; ``sha256`` is the hash of the stored bytes (a
    file or reprint is genuine when it matches), ``content_hash`` the hash of the printed content
    (equal for two printings of unchanged records), ``audit_anchor`` the audit-chain head when it
    was generated (AUD-3: ``ecmo-desktop verify --anchor`` checks it is still in the chain).
    """

    id: int
    run_id: int | None
    kind: str
    subject_id: int | None
    version: int
    title: str
    size_bytes: int
    sha256: str
    content_hash: str
    page_count: int
    audit_anchor: str | None
    created_at: datetime
    created_by_id: int
    created_by_name: str
    meta: dict[str, Any]

    @property
    def document_number(self) -> str:
        return document_number(self.id, self.version)


@dataclass(frozen=True)
class ArchiveCandidate:
    """A run on the records-staff page: who, when, and whether (and when) it was last archived."""

    run_id: int
    run_number: int
    mrn: str
    patient_name: str
    sex: str
    mode: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    discharged_at: datetime | None
    archive_id: int | None  # the latest archive document of the run
    archive_version: int | None
    archived_at: datetime | None


@dataclass(frozen=True)
class ArchiveQuery:
    """Which runs the records staff want: ECMO start in [started_from, started_to), status, discharge."""

    started_from: datetime | None = None
    started_to: datetime | None = None
    statuses: tuple[str, ...] = ()
    discharged_only: bool = False
    not_archived_only: bool = False


def document_number(document_id: int, version: int) -> str:
    """The number printed in the footer: database id and version, e.g. ``DOC-000123-v2``."""
    return f"DOC-{document_id:06d}-v{version}"


# ---- devices per procedure (R8) --------------------------------------------------------------------
OPERATION_KINDS = ("cannulation", "circuit_change", "mode_change", "decannulation")


def assign_devices(procedures: list[ProcedureInfo], devices: tuple[DeviceInfo, ...],
                   cannula_usage: dict[int, int]) -> list[ProcedureInfo]:
    """Each active binding placed on exactly one procedure's operation note.

    A binding names its procedure, or a cannula of a procedure points at it; a binding made without
    either (scanned while priming, before the note was opened, or mid-run) goes to the latest
    procedure started at or before the binding, else to the first procedure. The inferred ones are
    listed in ``inferred_device_ids`` so the note can say so: R8 wants every device's code in the
    operation-record part of the chart, and an unassigned device would otherwise be printed nowhere.
    """
    if not procedures:
        return procedures
    ordered = sorted(procedures, key=lambda p: (p.started_at, p.id))
    by_id = {p.id: p for p in ordered}
    placed: dict[int, list[DeviceInfo]] = {p.id: [] for p in ordered}
    inferred: dict[int, list[int]] = {p.id: [] for p in ordered}
    for device in devices:
        target = device.procedure_id if device.procedure_id in by_id else cannula_usage.get(device.usage_id)
        if target not in by_id:
            earlier = [p for p in ordered if p.started_at <= device.bound_at]
            target = (earlier[-1] if earlier else ordered[0]).id
            inferred[target].append(device.usage_id)
        placed[target].append(device)
    out: list[ProcedureInfo] = []
    for p in procedures:
        items = tuple(sorted(placed[p.id], key=lambda d: (d.bound_at, d.usage_id)))
        out.append(_replace(p, devices=items, inferred_device_ids=tuple(inferred[p.id])))
    return out


def _replace(p: ProcedureInfo, **changes: Any) -> ProcedureInfo:
    values = {f.name: getattr(p, f.name) for f in fields(p)}
    values.update(changes)
    return ProcedureInfo(**values)


# ---- canonical content (what the footer's content hash covers) --------------------------------------
def plain(value: Any) -> Any:
    """A JSON value for any dossier part: times as UTC ISO strings, tuples as lists, keys sorted later."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 9)
    return value


def content_hash(content: Any) -> str:
    """SHA-256 of the canonical JSON of ``content``: equal content, equal hash, on every backend.

    Lone surrogates (possible in text from bad decodes) are kept as escapes, so hashing never fails.
    """
    text = json.dumps(plain(content), sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()
