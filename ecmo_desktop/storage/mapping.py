"""Row → dataclass mapping: services never see live ORM objects."""

from __future__ import annotations

from datetime import datetime

from ecmo_desktop.domain.model import (
    AuditEvent,
    ExpertMembership,
    Hospital,
    Patient,
    Privilege,
    Run,
    Staff,
    TrainingRecord,
)
from ecmo_desktop.storage.orm.audit import AuditRow
from ecmo_desktop.storage.orm.people import (
    ExpertMembershipRow,
    HospitalRow,
    PatientRow,
    PrivilegeRow,
    StaffRow,
    TrainingRow,
)
from ecmo_desktop.storage.orm.runs import RunRow


def hospital(row: HospitalRow) -> Hospital:
    return Hospital(
        id=row.id,
        name=row.name,
        code=row.code,
        city=row.city,
        ecmo_lead_id=row.ecmo_lead_id,
        settings=dict(row.settings or {}),
    )


def staff(
    row: StaffRow, *, now: datetime | None = None, has_privilege: bool = False, is_expert: bool = False
) -> Staff:
    locked = row.locked_by_admin or (row.locked_until is not None and (now is None or row.locked_until > now))
    return Staff(
        id=row.id,
        username=row.username,
        full_name=row.full_name,
        title=row.title,
        department=row.department,
        years_in_practice=row.years_in_practice,
        roles=frozenset(r.role for r in row.roles),
        active=row.active,
        must_change_password=row.must_change_password,
        locked=locked,
        ecmo_trained=row.ecmo_trained,
        version=row.version,
        has_privilege=has_privilege,
        is_expert=is_expert,
    )


def privilege(row: PrivilegeRow) -> Privilege:
    return Privilege(
        id=row.id,
        staff_id=row.staff_id,
        granted_at=row.granted_at,
        granted_by_id=row.granted_by_id,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
        revoked_by_id=row.revoked_by_id,
        note=row.note,
    )


def membership(row: ExpertMembershipRow) -> ExpertMembership:
    return ExpertMembership(id=row.id, staff_id=row.staff_id, joined_at=row.joined_at, left_at=row.left_at)


def training(row: TrainingRow) -> TrainingRecord:
    return TrainingRecord(
        id=row.id,
        staff_id=row.staff_id,
        institution=row.institution,
        start_date=row.start_date,
        end_date=row.end_date,
        assessed=row.assessed,
        note=row.note,
    )


def patient(row: PatientRow) -> Patient:
    return Patient(
        id=row.id,
        hospital_id=row.hospital_id,
        mrn=row.mrn,
        name=row.name,
        sex=row.sex,
        birth_date=row.birth_date,
        age_years=row.age_years,
        height_cm=row.height_cm,
        weight_kg=row.weight_kg,
        ward=row.ward,
        bed=row.bed,
        version=row.version,
        discharged_at=row.discharged_at,
        discharge_disposition=row.discharge_disposition,
    )


def run(row: RunRow) -> Run:
    return Run(
        id=row.id,
        hospital_id=row.hospital_id,
        patient_id=row.patient_id,
        run_number=row.run_number,
        mode=row.mode,
        ecpr=row.ecpr,
        indication=row.indication,
        indication_other=row.indication_other,
        diagnosis=row.diagnosis,
        status=row.status,
        emergency=row.emergency,
        attending_id=row.attending_id,
        ward=row.ward,
        bed=row.bed,
        created_at=row.created_at,
        decided_at=row.decided_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        version=row.version,
        survived_28d=row.survived_28d,
        discharged_alive=row.discharged_alive,
        date_of_death=row.date_of_death,
        source=row.source,
    )


def audit(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        workstation=row.workstation,
        action=row.action,
        entity=row.entity,
        entity_id=row.entity_id,
        run_id=row.run_id,
        patient_id=row.patient_id,
        before=row.before,
        after=row.after,
        reason=row.reason,
        success=row.success,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
