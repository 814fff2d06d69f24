"""The exchange read model: everything the QC report and the export need to know about one run.

Why a separate model instead of the clinical-record services' dataclasses: the report and the
export must work on *any* database — one charted in this app, one filled by a legacy spreadsheet
import, one assembled by a regional centre from several hospitals' exports — and must not change
when a form or a service is reworked. ``storage/repositories/exchange.py`` loads these values
straight from the tables (the whole data model of migration 0001), the JSON export writes them out
and ``import-export`` reads them back, so export → import → report reproduces the same figures.

Voided records (amended away) are never part of the facts. Times are aware UTC; ``domain.time.BEIJING`` is the
zone every day-based figure (years, ECMO day 28, report periods) is counted in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

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


@dataclass(frozen=True)
class PhysicianFact:
    """One physician of a decision with the role the decision gave them (attending/expert/other).

    ``expert_at_decision`` is the fact R1/R2 count (membership of the expert group when the decision
    was made), not the role the form listed: a physician merely listed as expert does not count.
    """

    staff: StaffRef
    role: str
    expert_at_decision: bool
    position: int = 0


@dataclass(frozen=True)
class DecisionFact:
    id: int
    kind: str  # start | wean
    emergency: bool
    status: str
    decided_at: datetime
    signed_at: datetime | None
    mode_planned: str | None
    indication: str | None
    indication_other: str
    rationale: str
    pre_ecmo: dict[str, Any]
    contraindications: dict[str, Any]
    supplement_deadline: datetime | None
    supplement_of_id: int | None
    physicians: tuple[PhysicianFact, ...]
    signed_by: StaffRef | None = None

    @property
    def signed(self) -> bool:
        return self.status == SIGNED


@dataclass(frozen=True)
class ConsentFact:
    id: int
    status: str
    signed_at: datetime | None
    explained_by: StaffRef
    signer_name: str
    relationship: str
    signed_on_paper_at: datetime
    refused: bool
    notes: str
    signed_by: StaffRef | None = None

    @property
    def signed(self) -> bool:
        return self.status == SIGNED


@dataclass(frozen=True)
class CannulaFact:
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
class ProcedureStaffFact:
    staff: StaffRef
    role: str  # operator | assistant | perfusionist | nurse | anaesthesia


@dataclass(frozen=True)
class ProcedureFact:
    id: int
    kind: str  # cannulation | circuit_change | mode_change | decannulation
    status: str
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
    staff: tuple[ProcedureStaffFact, ...] = ()
    cannulae: tuple[CannulaFact, ...] = ()
    signed_at: datetime | None = None
    signed_by: StaffRef | None = None


@dataclass(frozen=True)
class DailyFact:
    id: int
    status: str
    recorded_at: datetime
    ecmo_day: int
    author_role: str
    mode: str | None
    values: dict[str, Any]
    checks: dict[str, Any]
    notes: str
    signed_at: datetime | None = None
    signed_by: StaffRef | None = None


@dataclass(frozen=True)
class ComplicationFact:
    id: int
    status: str
    code: str
    other_text: str
    onset_at: datetime
    severity: str
    treatment: str
    resolved_at: datetime | None
    resolution: str
    adverse_event: bool
    device_item_id: int | None
    procedure_id: int | None
    signed_at: datetime | None = None
    signed_by: StaffRef | None = None


@dataclass(frozen=True)
class WeaningTrialFact:
    id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    flow_to: float | None
    sweep_to: float | None
    fdo2_to: float | None
    values: dict[str, Any]
    passed: bool | None
    notes: str
    signed_at: datetime | None = None
    signed_by: StaffRef | None = None


@dataclass(frozen=True)
class FollowUpFact:
    id: int
    status: str
    kind: str  # d28 | discharge | d90 | d180 | y1
    due_date: date
    fu_status: str  # due | done | lost
    done_at: datetime | None
    contact_method: str | None
    vital_status: str | None  # alive | dead | unknown
    date_of_death: date | None
    cause_of_death: str | None
    discharge_disposition: str | None
    cpc: int | None
    mrs: int | None
    eq5d_index: float | None
    notes: str
    signed_at: datetime | None = None
    signed_by: StaffRef | None = None

    @property
    def done(self) -> bool:
        return self.fu_status == "done"


@dataclass(frozen=True)
class DeviceUsageFact:
    """A device item bound to the run, with its product and item identity (R5–R8)."""

    id: int
    item_id: int
    procedure_id: int | None
    single_use: bool
    bound_at: datetime
    bound_by: StaffRef
    scanned_text: str
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
    raw_code: str
    symbology: str | None

    @property
    def scanned(self) -> bool:
        """Traceable: a code was captured at binding and it names the item's lot or serial (R7/R8).

        A usage without a captured code, or one whose item carries neither lot nor serial, cannot
        be traced back to its delivery, so the run's traceability is incomplete.
        """
        return bool(self.scanned_text.strip()) and bool((self.serial or "").strip() or (self.lot or "").strip())


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
    decisions: tuple[DecisionFact, ...] = ()
    consents: tuple[ConsentFact, ...] = ()
    procedures: tuple[ProcedureFact, ...] = ()
    daily: tuple[DailyFact, ...] = ()
    complications: tuple[ComplicationFact, ...] = ()
    weaning_trials: tuple[WeaningTrialFact, ...] = ()
    follow_ups: tuple[FollowUpFact, ...] = ()
    devices: tuple[DeviceUsageFact, ...] = ()
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
        return bool(self.decisions or self.consents or self.procedures or self.daily or self.complications
                    or self.weaning_trials or self.follow_ups or self.devices)

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

    def procedures_of(self, kind: str) -> tuple[ProcedureFact, ...]:
        return tuple(p for p in self.procedures if p.kind == kind)

    @property
    def all_devices_scanned(self) -> bool:
        """Device traceability complete: at least one device bound and every one of them traceable."""
        return bool(self.devices) and all(d.scanned for d in self.devices)
