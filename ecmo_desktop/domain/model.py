"""Frozen dataclasses that services hand to the UI, CLI, documents and exchange code.

They are plain values (ids, not live database objects), so they can cross threads and be kept in
Qt models without a database session behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ecmo_desktop.domain.enums import Role


@dataclass(frozen=True)
class Hospital:
    id: int
    name: str
    code: str
    city: str
    ecmo_lead_id: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    full_name: str
    title: str
    department: str
    years_in_practice: int
    roles: frozenset[str]
    active: bool
    must_change_password: bool
    locked: bool
    ecmo_trained: bool
    version: int
    has_privilege: bool = False
    is_expert: bool = False

    def has_role(self, role: Role | str) -> bool:
        return str(role) in self.roles


@dataclass(frozen=True)
class CurrentUser:
    """Who is logged in on this workstation; services authorise every call against it."""

    id: int
    username: str
    full_name: str
    title: str
    roles: frozenset[str]
    must_change_password: bool = False

    def has_role(self, role: Role | str) -> bool:
        return str(role) in self.roles


@dataclass(frozen=True)
class Privilege:
    id: int
    staff_id: int
    granted_at: datetime
    granted_by_id: int | None
    valid_until: datetime | None
    revoked_at: datetime | None
    revoked_by_id: int | None
    note: str

    def valid_at(self, moment: datetime) -> bool:
        if moment < self.granted_at:
            return False
        if self.revoked_at is not None and moment >= self.revoked_at:
            return False
        return not (self.valid_until is not None and moment >= self.valid_until)


@dataclass(frozen=True)
class ExpertMembership:
    id: int
    staff_id: int
    joined_at: datetime
    left_at: datetime | None

    def member_at(self, moment: datetime) -> bool:
        return self.joined_at <= moment and (self.left_at is None or moment < self.left_at)


@dataclass(frozen=True)
class TrainingRecord:
    id: int
    staff_id: int
    institution: str
    start_date: date
    end_date: date
    assessed: bool
    note: str


@dataclass(frozen=True)
class Patient:
    id: int
    hospital_id: int
    mrn: str
    name: str
    sex: str
    birth_date: date | None
    age_years: int | None
    height_cm: float | None
    weight_kg: float | None
    ward: str
    bed: str
    version: int
    discharged_at: datetime | None = None
    discharge_disposition: str | None = None

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return self.age_years
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True)
class Run:
    id: int
    hospital_id: int
    patient_id: int
    run_number: int
    mode: str
    ecpr: bool
    indication: str
    indication_other: str
    diagnosis: str
    status: str
    emergency: bool
    attending_id: int | None
    ward: str
    bed: str
    created_at: datetime
    decided_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    version: int
    survived_28d: bool | None = None
    discharged_alive: bool | None = None
    date_of_death: datetime | None = None
    source: str = "app"


@dataclass(frozen=True)
class RunListItem:
    """One row of the case list: what a ward needs to recognise a run at a glance."""

    run_id: int
    patient_id: int
    mrn: str
    patient_name: str
    sex: str
    age: int | None
    mode: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    ward: str
    bed: str
    created_at: datetime
    run_number: int = 0  # the patient's n-th ECMO; 0 where a caller built the row without it


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    workstation: str
    action: str
    entity: str
    entity_id: int | None
    run_id: int | None
    patient_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    success: bool
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
