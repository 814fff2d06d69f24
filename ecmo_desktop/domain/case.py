"""The one read model of an ECMO case: the run, its patient and hospital, every record of the seven
kinds with the names its signers signed under and its signatures, its devices and its cannulae.

These record classes are also the ones the clinical-record services and the UI read (``records.py``
gives them their service names: ``Decision`` is ``DecisionInfo`` …): one class per record kind, filled
by one mapper per kind (``storage/mapping_records.py``). A printed document must show *names as they
were signed*, every device with its label data and scanned text, and the signatures of every record;
the QC report and the export must work on *any* database of this schema (charted here, imported from
spreadsheets, assembled from other hospitals' exports), so ``storage/repositories/case.py`` fills a
whole case straight from the tables in one read transaction and ``documents/`` and ``exchange/`` read
it. What a PDF hashes, what an export writes and what a signature binds is defined field by field by
those packages and by ``records.canonical_content``, never by the set of fields of these classes.

Voided records and voided device bindings are left out by the repository: they are not part of the
clinical record any more (their history stays in the audit). Times are aware UTC;
``domain.time.BEIJING`` is the zone every day-based figure is counted in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from functools import cached_property
from typing import Any

from ecmo_desktop.domain.fields import CANNULA_NORMAL_FR, FIELDS, derive_unchecked, derived_abnormal
from ecmo_desktop.domain.model import Patient, Run
from ecmo_desktop.domain.time import local_date

SIGNED = "signed"


# Usernames of the placeholder accounts that stand for other hospitals' staff in imported records.
# A real username can never contain ":" or capitals (validation.clean_username), so they cannot clash.
EXTERNAL_STAFF_PREFIX = "EXT:"


@dataclass(frozen=True)
class StaffRef:
    """A member of staff named by a record: enough for R1/R2 (title) and for display (name).

    ``external``: a placeholder for another hospital's staff member, created by an import.
    """

    id: int
    name: str
    title: str
    external: bool = False

    @property
    def display_name(self) -> str:
        """The name to print: ``#id`` for a member of staff without one (never a blank)."""
        return self.name or f"#{self.id}"


# ---- the case as the documents print it ------------------------------------------------------------
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
    """What every signable record shares.

    ``signatures`` are the signature rows (what a document prints; only ``load`` of one run reads
    them); ``signed_at``/``signed_by`` are the record's own columns (what the QC report and the
    export carry, also for imported records that came without signature rows). ``run_id``,
    ``created_by_id`` and ``updated_at`` are what the services need (who may edit, what to refresh);
    a record built from an export without them has their defaults. ``abnormal`` (field keys outside
    their normal range, a highlight only) is computed from the stored values, never stored.
    """

    id: int
    status: str  # draft | signed
    version: int
    created_at: datetime
    created_by_name: str
    signatures: tuple[SignatureInfo, ...] = ()
    signed_at: datetime | None = None
    signed_by: StaffRef | None = None
    run_id: int = 0
    created_by_id: int | None = None
    updated_at: datetime | None = None

    ENTITY = ""  # the record kind (table name used in signatures, versions and the audit)

    @property
    def entity(self) -> str:
        return self.ENTITY

    @property
    def signed_by_id(self) -> int | None:
        return self.signed_by.id if self.signed_by else None

    @property
    def signed_by_name(self) -> str:
        return self.signed_by.display_name if self.signed_by else ""

    @property
    def abnormal(self) -> tuple[str, ...]:
        return ()

    @property
    def signed(self) -> bool:
        """A signature of this record stands (from the signature rows: ``load`` of one run only)."""
        return any(s.state == "valid" for s in self.signatures)

    @property
    def locked(self) -> bool:
        """Signed by status (the record's own column): what the QC report counts, imported records too."""
        return self.status == SIGNED


@dataclass(frozen=True)
class StaffInRole:
    """A member of staff named by a record, in the role the record gave them."""

    staff: StaffRef
    role: str

    @property
    def staff_id(self) -> int:
        return self.staff.id

    @property
    def name(self) -> str:
        return self.staff.display_name

    @property
    def full_name(self) -> str:
        """The services' name for ``name`` (the name as looked up, ``#id`` when blank)."""
        return self.name

    @property
    def title(self) -> str:
        return self.staff.title


@dataclass(frozen=True)
class DecisionPhysician:
    """A physician as the rules R1/R2 (``domain.rules``) see them: also
    built by the decision form's preview.
    """

    staff_id: int
    full_name: str
    title: str
    role: str
    expert_at_decision: bool  # member of the expert group at ``decided_at`` (R1/R2/R13)


def _abnormal(values: dict[str, Any] | None, *extra: str) -> tuple[str, ...]:
    """The keys of ``values`` outside their normal range (the field catalogue decides), then ``extra``."""
    keys = [
        k
        for k, v in (values or {}).items()
        if k in FIELDS
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and FIELDS[k].range.is_abnormal(float(v))
    ]
    return (*keys, *extra)


@dataclass(frozen=True)
class PhysicianInfo(StaffInRole):
    """One physician of a decision with the role the decision gave them (attending/expert/other).

    ``expert_at_decision`` is the fact R1/R2 count (membership of the expert group when the decision
    was made), not the role the form listed: a physician merely listed as expert does not count.
    ``role`` is a DeciderRole code: attending | expert | other.
    """

    expert_at_decision: bool
    position: int = 0

    def decider(self) -> DecisionPhysician:
        """The physician as R1/R2 (``domain.rules``) see them."""
        return DecisionPhysician(
            self.staff.id, self.name, self.staff.title, self.role, self.expert_at_decision
        )


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

    ENTITY = "decision"

    @property
    def abnormal(self) -> tuple[str, ...]:
        return _abnormal(self.pre_ecmo)


@dataclass(frozen=True, kw_only=True)
class ConsentInfo(RecordInfo):
    explained_by: StaffRef
    signer_name: str
    relationship: str  # ConsentRelationship code
    signed_on_paper_at: datetime
    refused: bool
    notes: str

    ENTITY = "consent"

    @property
    def explained_by_id(self) -> int:
        return self.explained_by.id

    @property
    def explained_by_name(self) -> str:
        return self.explained_by.display_name

    @property
    def explained_by_title(self) -> str:
        return self.explained_by.title


@dataclass(frozen=True)
class TeamMember(StaffInRole):
    """A member of a procedure's team; ``role`` is a StaffRoleInProcedure code (operator, assistant …)."""

    privileged: bool = False  # held a valid ECMO privilege when the procedure started (R3)

    @property
    def privileged_at_start(self) -> bool:
        return self.privileged


# the order an operation note lists its team in
TEAM_ORDER = {"operator": 0, "assistant": 1, "perfusionist": 2, "nurse": 3, "anaesthesia": 4}


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
    id: int | None = None  # the cannula row (None in a record read from an export)


@dataclass(frozen=True)
class DeviceInfo:
    """One device bound to the run (R5–R8): the binding, its product and item identity, how it was scanned."""

    id: int  # the binding (device usage)
    item_id: int
    procedure_id: int | None  # None: bound without naming a procedure
    single_use: bool
    bound_at: datetime
    bound_by: StaffRef
    scanned_text: str  # the code as scanned at the bedside when bound
    override_reason: str | None
    warnings: str
    removed_at: datetime | None
    removal_reason: str | None
    category: str
    product_name: str
    manufacturer: str
    model: str
    gtin: str | None
    udi_di: str | None
    nmpa_number: str
    item_key: str | None
    serial: str | None
    lot: str | None
    expiry: date | None
    production_date: date | None
    raw_code: str  # the label as received
    symbology: str | None  # code scheme it was received from: gs1, hibc, ma, plain, manual …

    @property
    def usage_id(self) -> int:
        return self.id

    @property
    def bound_by_name(self) -> str:
        return self.bound_by.display_name

    @property
    def barcode_text(self) -> str:
        """What the printed barcode re-encodes: the bedside scan, else the label as received."""
        return self.scanned_text.strip("\r\n") or self.raw_code.strip("\r\n")

    @property
    def scanned(self) -> bool:
        """Traceable: a code was captured at binding and it names the item's lot or serial (R7/R8).

        A usage without a captured code, or one whose item carries neither lot nor serial, cannot
        be traced back to its delivery, so the run's traceability is incomplete.
        """
        return bool(self.scanned_text.strip()) and bool(
            (self.serial or "").strip() or (self.lot or "").strip()
        )


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
    device_item_id: int | None
    device_label: str = ""  # "name lot/serial" of the linked device item (filled by the case loader), or ""

    ENTITY = "complication"


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
    immediate_complications: tuple[Any, ...]
    notes: str
    devices: tuple[
        DeviceInfo, ...
    ] = ()  # bound at this procedure (R8), see ``assign_devices`` (case loader only)
    inferred_device_ids: tuple[int, ...] = ()  # usage ids placed here by binding time, not by the binder
    staff: tuple[TeamMember, ...] = ()  # operators first, then by role and staff id
    cannulae: tuple[CannulaInfo, ...] = ()

    ENTITY = "procedure"

    @property
    def operators(self) -> tuple[TeamMember, ...]:
        return tuple(s for s in self.staff if s.role == "operator")

    @property
    def abnormal(self) -> tuple[str, ...]:
        odd_sizes = [
            f"cannula{c.position + 1}.size_fr"
            for c in self.cannulae
            if c.role in CANNULA_NORMAL_FR
            and not CANNULA_NORMAL_FR[c.role][0] <= c.size_fr <= CANNULA_NORMAL_FR[c.role][1]
        ]
        return _abnormal(self.settings, *odd_sizes)

    @property
    def team(self) -> tuple[TeamMember, ...]:
        """The staff in the order an operation note lists them (operators first)."""
        return tuple(sorted(self.staff, key=lambda m: (TEAM_ORDER.get(m.role, 9), m.staff_id)))


@dataclass(frozen=True, kw_only=True)
class DailyEntryInfo(RecordInfo):
    recorded_at: datetime
    ecmo_day: int  # day 0 = Beijing calendar day of first flow
    author_role: str  # doctor | nurse | perfusionist
    mode: str | None
    values: dict[str, Any]
    checks: dict[str, Any]
    notes: str

    ENTITY = "daily_entry"

    @cached_property
    def derived(self) -> dict[str, float]:
        """ΔP, P/F, driving pressure, VIS: computed from ``values`` (the daily tab reads them per cell)."""
        return derive_unchecked(self.values)

    @cached_property
    def abnormal(self) -> tuple[str, ...]:
        return _abnormal(self.values, *derived_abnormal(self.derived))


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

    ENTITY = "weaning_trial"

    @property
    def abnormal(self) -> tuple[str, ...]:
        return _abnormal(self.values)


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

    ENTITY = "follow_up"

    @property
    def abnormal(self) -> tuple[str, ...]:
        scores = {"cpc": self.cpc, "mrs": self.mrs, "eq5d_index": self.eq5d_index}
        return _abnormal({k: v for k, v in scores.items() if v is not None})

    @property
    def done(self) -> bool:
        return self.fu_status == "done"


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


# ---- devices per procedure (R8) --------------------------------------------------------------------
OPERATION_KINDS = ("cannulation", "circuit_change", "mode_change", "decannulation")


def assign_devices(
    procedures: list[ProcedureInfo], devices: tuple[DeviceInfo, ...], cannula_usage: dict[int, int]
) -> list[ProcedureInfo]:
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


# ---- the case as the QC report and the export count it ----------------------------------------------
@dataclass(frozen=True)
class RunEquipmentFact:
    """A console (or heater-cooler) linked to the run for a time."""

    kind: str
    model: str
    manufacturer: str
    serial: str
    from_at: datetime
    to_at: datetime | None


@dataclass(frozen=True)
class EquipmentFact:
    hospital_name: str
    hospital_code: str
    city: str
    kind: str
    model: str
    manufacturer: str
    serial: str
    purchase_date: date | None
    active: bool
    notes: str = ""


@dataclass(frozen=True)
class HospitalFact:
    name: str
    code: str
    city: str
    is_local: bool


@dataclass(frozen=True)
class CaseFacts:
    """One ECMO run with its patient, hospital and every (non-voided) record that belongs to it."""

    run: Run
    patient: Patient
    hospital_name: str
    hospital_code: str
    hospital_city: str
    decisions: tuple[DecisionInfo, ...] = ()
    consents: tuple[ConsentInfo, ...] = ()
    procedures: tuple[ProcedureInfo, ...] = ()
    daily: tuple[DailyEntryInfo, ...] = ()
    complications: tuple[ComplicationInfo, ...] = ()
    weaning_trials: tuple[WeaningTrialInfo, ...] = ()
    follow_ups: tuple[FollowUpInfo, ...] = ()
    devices: tuple[DeviceInfo, ...] = ()
    equipment: tuple[RunEquipmentFact, ...] = ()
    # first-flow times of the same patient's other runs: re-institution within the weaning window
    other_run_starts: tuple[datetime, ...] = field(default=())

    @property
    def started_at(self) -> datetime | None:
        return self.run.started_at

    @property
    def year(self) -> int | None:
        return local_date(self.run.started_at).year if self.run.started_at else None

    @property
    def duration_hours(self) -> float | None:
        """Hours from first flow to the end of support; None while unknown (not ended, or no times)."""
        if self.run.started_at is None or self.run.ended_at is None:
            return None
        hours = (self.run.ended_at - self.run.started_at).total_seconds() / 3600
        return hours if hours >= 0 else None

    @property
    def has_records(self) -> bool:
        return bool(
            self.decisions
            or self.consents
            or self.procedures
            or self.daily
            or self.complications
            or self.weaning_trials
            or self.follow_ups
            or self.devices
        )

    @property
    def charted(self) -> bool:
        """The run carries clinical records, so process and safety indicators apply to it.

        Runs charted in this app always count (a charted run without a decision is a compliance
        failure, not missing data); imported runs count when their records came with them (a
        hospital's export), not when only a legacy spreadsheet row exists.
        """
        return self.run.source == "app" or self.has_records

    @property
    def complication_codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.complications)

    def procedures_of(self, kind: str) -> tuple[ProcedureInfo, ...]:
        return tuple(p for p in self.procedures if p.kind == kind)

    @property
    def all_devices_scanned(self) -> bool:
        """Device traceability complete: at least one device bound and every one of them traceable."""
        return bool(self.devices) and all(d.scanned for d in self.devices)
