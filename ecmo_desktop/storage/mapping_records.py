"""Row → dataclass mapping for the clinical record (decisions … follow-ups, signatures, versions).

One mapper per record kind, shared by the clinical-record repository (one record, signatures not
read) and the case loader (``repositories/case.py``: a run or a period, with the signature rows).
Names, titles, expert membership and privileges come from a ``People`` lookup (the one
``StaffDirectory``) cached per unit of work, so mapping a run's chart does not query staff once
per row. Abnormal keys and derived values are computed by the read model from the stored values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from ecmo_desktop.domain.case import (
    CannulaInfo,
    ComplicationInfo,
    ConsentInfo,
    DailyEntryInfo,
    DecisionInfo,
    FollowUpInfo,
    PhysicianInfo,
    ProcedureInfo,
    SignatureInfo,
    StaffRef,
    TeamMember,
    WeaningTrialInfo,
)
from ecmo_desktop.domain.records import RecordVersion, Signature
from ecmo_desktop.storage.orm.records import (
    ClinicalRecord,
    ComplicationRow,
    ConsentRow,
    DailyEntryRow,
    DecisionRow,
    FollowUpRow,
    ProcedureRow,
    RecordVersionRow,
    SignatureRow,
    WeaningTrialRow,
)


class People(Protocol):
    def ref(self, staff_id: int) -> StaffRef: ...
    def name(self, staff_id: int | None) -> str: ...
    def expert_at(self, staff_id: int, moment: datetime) -> bool: ...
    def privileged_at(self, staff_id: int, moment: datetime) -> bool: ...


# the signature rows of records, by (entity, record id): only the case loader reads them
Signatures = Mapping[tuple[str, int], tuple[SignatureInfo, ...]]
_NONE: Signatures = {}


def _base(entity: str, row: ClinicalRecord, people: People, signatures: Signatures) -> dict[str, Any]:
    return {
        "id": row.id,
        "run_id": row.run_id,
        "status": row.status,
        "version": row.version,
        "created_at": row.created_at,
        "created_by_id": row.created_by_id,
        "created_by_name": people.name(row.created_by_id),
        "updated_at": row.updated_at,
        "signatures": signatures.get((entity, row.id), ()),
        "signed_at": row.signed_at,
        "signed_by": people.ref(row.signed_by_id) if row.signed_by_id else None,
    }


def decision(d: DecisionRow, people: People, signatures: Signatures = _NONE) -> DecisionInfo:
    return DecisionInfo(
        **_base("decision", d, people, signatures),
        kind=d.kind,
        emergency=d.emergency,
        decided_at=d.decided_at,
        mode_planned=d.mode_planned,
        indication=d.indication,
        indication_other=d.indication_other or "",
        rationale=d.rationale or "",
        pre_ecmo=dict(d.pre_ecmo or {}),
        contraindications=dict(d.contraindications or {}),
        supplement_deadline=d.supplement_deadline,
        supplement_of_id=d.supplement_of_id,
        physicians=tuple(
            PhysicianInfo(
                staff=people.ref(ph.staff_id),
                role=ph.role,
                position=ph.position,
                expert_at_decision=people.expert_at(ph.staff_id, d.decided_at),
            )
            for ph in sorted(d.physicians, key=lambda ph: (ph.position, ph.staff_id))
        ),
    )


def consent(c: ConsentRow, people: People, signatures: Signatures = _NONE) -> ConsentInfo:
    return ConsentInfo(
        **_base("consent", c, people, signatures),
        explained_by=people.ref(c.explained_by_id),
        signer_name=c.signer_name,
        relationship=c.relationship_to_patient,
        signed_on_paper_at=c.signed_on_paper_at,
        refused=c.refused,
        notes=c.notes or "",
    )


def procedure(p: ProcedureRow, people: People, signatures: Signatures = _NONE) -> ProcedureInfo:
    """A procedure without its devices: the documents place them (``assign_devices``), the export lists them
    per run.

    The team: operators first, then by role and staff id (the order the forms and services show)."""
    return ProcedureInfo(
        **_base("procedure", p, people, signatures),
        kind=p.kind,
        started_at=p.started_at,
        flow_at=p.flow_at,
        ended_at=p.ended_at,
        location=p.location,
        technique=p.technique,
        guidance=p.guidance,
        mode_before=p.mode_before,
        mode_after=p.mode_after,
        reason=p.reason or "",
        settings=dict(p.settings or {}),
        immediate_complications=tuple(p.immediate_complications or ()),
        notes=p.notes or "",
        devices=(),
        staff=tuple(
            TeamMember(people.ref(s.staff_id), s.role, people.privileged_at(s.staff_id, p.started_at))
            for s in sorted(p.staff, key=lambda s: (s.role != "operator", s.role, s.staff_id))
        ),
        cannulae=tuple(
            CannulaInfo(
                c.position,
                c.role,
                c.vessel,
                c.side,
                c.size_fr,
                c.length_cm,
                c.depth_cm,
                c.tip_position or "",
                c.device_usage_id,
                c.removed_at,
                id=c.id,
            )
            for c in sorted(p.cannulae, key=lambda c: (c.position, c.id))
        ),
    )


def daily_entry(e: DailyEntryRow, people: People, signatures: Signatures = _NONE) -> DailyEntryInfo:
    return DailyEntryInfo(
        **_base("daily_entry", e, people, signatures),
        recorded_at=e.recorded_at,
        ecmo_day=e.ecmo_day,
        author_role=e.author_role,
        mode=e.mode,
        values=dict(e.values or {}),
        checks=dict(e.checks or {}),
        notes=e.notes or "",
    )


def complication(
    c: ComplicationRow,
    people: People,
    signatures: Signatures = _NONE,
    device_labels: Mapping[int, str] | None = None,
) -> ComplicationInfo:
    """``device_labels``: "name LOT x SN y" by device item id (the case loader's; the services show none)."""
    label = (device_labels or {}).get(c.device_item_id, "") if c.device_item_id else ""
    return ComplicationInfo(
        **_base("complication", c, people, signatures),
        code=c.code,
        other_text=c.other_text or "",
        onset_at=c.onset_at,
        severity=c.severity,
        treatment=c.treatment or "",
        resolved_at=c.resolved_at,
        resolution=c.resolution or "",
        adverse_event=c.adverse_event,
        procedure_id=c.procedure_id,
        device_item_id=c.device_item_id,
        device_label=label,
    )


def weaning_trial(t: WeaningTrialRow, people: People, signatures: Signatures = _NONE) -> WeaningTrialInfo:
    return WeaningTrialInfo(
        **_base("weaning_trial", t, people, signatures),
        started_at=t.started_at,
        ended_at=t.ended_at,
        flow_to=t.flow_to,
        sweep_to=t.sweep_to,
        fdo2_to=t.fdo2_to,
        values=dict(t.values or {}),
        passed=t.passed,
        notes=t.notes or "",
    )


def follow_up(f: FollowUpRow, people: People, signatures: Signatures = _NONE) -> FollowUpInfo:
    return FollowUpInfo(
        **_base("follow_up", f, people, signatures),
        kind=f.kind,
        due_date=f.due_date,
        fu_status=f.fu_status,
        done_at=f.done_at,
        contact_method=f.contact_method,
        vital_status=f.vital_status,
        date_of_death=f.date_of_death,
        cause_of_death=f.cause_of_death,
        discharge_disposition=f.discharge_disposition,
        cpc=f.cpc,
        mrs=f.mrs,
        eq5d_index=f.eq5d_index,
        notes=f.notes or "",
    )


def signature(row: SignatureRow) -> Signature:
    return Signature(
        id=row.id,
        entity=row.entity,
        entity_id=row.entity_id,
        record_version=row.record_version,
        signer_id=row.signer_id,
        signer_name=row.signer_name,
        meaning=row.meaning,
        signed_at=row.signed_at,
        content_hash=row.content_hash,
        state=row.state,
    )


def record_version(row: RecordVersionRow) -> RecordVersion:
    return RecordVersion(
        entity=row.entity,
        entity_id=row.entity_id,
        version=row.version,
        content=dict(row.content or {}),
        replaced_at=row.replaced_at,
        replaced_by_id=row.replaced_by_id,
        reason=row.reason,
    )
