"""Row → dataclass mapping for the clinical record (decisions … follow-ups, signatures, versions).

Names, titles, expert membership and privileges come from a ``People`` lookup the repository
caches per unit of work, so mapping a run's chart does not query staff once per row. Abnormal
keys are computed here from the stored values (the catalogue decides), never stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from ecmo_desktop.domain.fields import (
    CANNULA_NORMAL_FR,
    FIELDS,
    derive_unchecked,
    derived_abnormal,
)
from ecmo_desktop.domain.records import (
    Cannula,
    Complication,
    Consent,
    DailyEntry,
    Decision,
    DecisionPhysician,
    FollowUp,
    Procedure,
    ProcedureStaff,
    RecordVersion,
    Signature,
    WeaningTrial,
)
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
    def name(self, staff_id: int | None) -> str: ...
    def title(self, staff_id: int) -> str: ...
    def expert_at(self, staff_id: int, moment: datetime) -> bool: ...
    def privileged_at(self, staff_id: int, moment: datetime) -> bool: ...


def _abnormal(values: dict[str, Any] | None, *extra: str) -> tuple[str, ...]:
    keys = [k for k, v in (values or {}).items()
            if k in FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool)
            and FIELDS[k].range.is_abnormal(float(v))]
    return (*keys, *extra)


def _base(row: ClinicalRecord, people: People) -> dict[str, Any]:
    return {"id": row.id, "run_id": row.run_id, "status": row.status, "version": row.version,
            "created_at": row.created_at, "created_by_id": row.created_by_id,
            "created_by_name": people.name(row.created_by_id), "updated_at": row.updated_at,
            "signed_at": row.signed_at, "signed_by_id": row.signed_by_id,
            "signed_by_name": people.name(row.signed_by_id) if row.signed_by_id else ""}


def decision(row: DecisionRow, people: People) -> Decision:
    physicians = tuple(DecisionPhysician(staff_id=p.staff_id, full_name=people.name(p.staff_id),
                                         title=people.title(p.staff_id), role=p.role,
                                         expert_at_decision=people.expert_at(p.staff_id, row.decided_at))
                       for p in sorted(row.physicians, key=lambda p: (p.position, p.staff_id)))
    return Decision(**_base(row, people), abnormal=_abnormal(row.pre_ecmo), kind=row.kind, emergency=row.emergency,
                    decided_at=row.decided_at, mode_planned=row.mode_planned, indication=row.indication,
                    indication_other=row.indication_other, rationale=row.rationale, physicians=physicians,
                    pre_ecmo=dict(row.pre_ecmo or {}), contraindications=dict(row.contraindications or {}),
                    supplement_deadline=row.supplement_deadline, supplement_of_id=row.supplement_of_id)


def consent(row: ConsentRow, people: People) -> Consent:
    return Consent(**_base(row, people), explained_by_id=row.explained_by_id,
                   explained_by_name=people.name(row.explained_by_id), signer_name=row.signer_name,
                   relationship=row.relationship_to_patient, signed_on_paper_at=row.signed_on_paper_at,
                   refused=row.refused, notes=row.notes)


def procedure(row: ProcedureRow, people: People) -> Procedure:
    staff = tuple(ProcedureStaff(staff_id=s.staff_id, full_name=people.name(s.staff_id), title=people.title(s.staff_id),
                                 role=s.role, privileged_at_start=people.privileged_at(s.staff_id, row.started_at))
                  for s in sorted(row.staff, key=lambda s: (s.role != "operator", s.role, s.staff_id)))
    cannulae = tuple(Cannula(id=c.id, position=c.position, role=c.role, vessel=c.vessel, side=c.side,
                             size_fr=c.size_fr, length_cm=c.length_cm, depth_cm=c.depth_cm,
                             tip_position=c.tip_position, device_usage_id=c.device_usage_id, removed_at=c.removed_at)
                     for c in row.cannulae)
    odd_sizes = [f"cannula{c.position + 1}.size_fr" for c in cannulae if c.role in CANNULA_NORMAL_FR
                 and not CANNULA_NORMAL_FR[c.role][0] <= c.size_fr <= CANNULA_NORMAL_FR[c.role][1]]
    return Procedure(**_base(row, people), abnormal=_abnormal(row.settings, *odd_sizes), kind=row.kind,
                     started_at=row.started_at, flow_at=row.flow_at, ended_at=row.ended_at, location=row.location,
                     technique=row.technique, guidance=row.guidance, mode_before=row.mode_before,
                     mode_after=row.mode_after, reason=row.reason, settings=dict(row.settings or {}),
                     immediate_complications=tuple(row.immediate_complications or ()), notes=row.notes,
                     staff=staff, cannulae=cannulae)


def daily_entry(row: DailyEntryRow, people: People) -> DailyEntry:
    values = dict(row.values or {})
    derived = derive_unchecked(values)
    return DailyEntry(**_base(row, people), abnormal=_abnormal(values, *derived_abnormal(derived)),
                      recorded_at=row.recorded_at, ecmo_day=row.ecmo_day, author_role=row.author_role, mode=row.mode,
                      values=values, checks=dict(row.checks or {}), derived=derived, notes=row.notes)


def complication(row: ComplicationRow, people: People) -> Complication:
    return Complication(**_base(row, people), code=row.code, other_text=row.other_text, onset_at=row.onset_at,
                        severity=row.severity, treatment=row.treatment, resolved_at=row.resolved_at,
                        resolution=row.resolution, adverse_event=row.adverse_event,
                        device_item_id=row.device_item_id, procedure_id=row.procedure_id)


def weaning_trial(row: WeaningTrialRow, people: People) -> WeaningTrial:
    values = dict(row.values or {})
    return WeaningTrial(**_base(row, people), abnormal=_abnormal(values), started_at=row.started_at,
                        ended_at=row.ended_at, flow_to=row.flow_to, sweep_to=row.sweep_to, fdo2_to=row.fdo2_to,
                        values=values, passed=row.passed, notes=row.notes)


def follow_up(row: FollowUpRow, people: People) -> FollowUp:
    scores = {"cpc": row.cpc, "mrs": row.mrs, "eq5d_index": row.eq5d_index}
    return FollowUp(**_base(row, people), abnormal=_abnormal({k: v for k, v in scores.items() if v is not None}),
                    kind=row.kind, due_date=row.due_date, fu_status=row.fu_status, done_at=row.done_at,
                    contact_method=row.contact_method, vital_status=row.vital_status, date_of_death=row.date_of_death,
                    cause_of_death=row.cause_of_death, discharge_disposition=row.discharge_disposition,
                    cpc=row.cpc, mrs=row.mrs, eq5d_index=row.eq5d_index, notes=row.notes)


def signature(row: SignatureRow) -> Signature:
    return Signature(id=row.id, entity=row.entity, entity_id=row.entity_id, record_version=row.record_version,
                     signer_id=row.signer_id, signer_name=row.signer_name, meaning=row.meaning,
                     signed_at=row.signed_at, content_hash=row.content_hash, state=row.state)


def record_version(row: RecordVersionRow) -> RecordVersion:
    return RecordVersion(entity=row.entity, entity_id=row.entity_id, version=row.version,
                         content=dict(row.content or {}), replaced_at=row.replaced_at,
                         replaced_by_id=row.replaced_by_id, reason=row.reason)
