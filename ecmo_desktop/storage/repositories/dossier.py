"""Loads a ``CaseDossier`` (domain/case.py) for one run straight from the tables.

One read of each table the documents print, in one unit of work, so a PDF is a consistent snapshot.
Staff names, titles, expert memberships and privileges are read once per load (a hospital has
hundreds of staff, not thousands) instead of once per row. Voided records and voided device
bindings are not part of the clinical record any more and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ecmo_desktop.domain.case import (
    CannulaInfo,
    CaseDossier,
    ComplicationInfo,
    ConsentInfo,
    DailyEntryInfo,
    DecisionInfo,
    DeviceInfo,
    FollowUpInfo,
    HospitalInfo,
    PatientInfo,
    PhysicianInfo,
    ProcedureInfo,
    RunInfo,
    SignatureInfo,
    TeamMember,
    WeaningTrialInfo,
    assign_devices,
)
from ecmo_desktop.domain.model import ExpertMembership, Privilege
from ecmo_desktop.storage import mapping
from ecmo_desktop.storage.orm.devices import ItemRow, ProductRow, UsageRow
from ecmo_desktop.storage.orm.people import (
    ExpertMembershipRow,
    HospitalRow,
    PatientRow,
    PrivilegeRow,
    StaffRow,
)
from ecmo_desktop.storage.orm.records import (
    ClinicalRecord,
    ComplicationRow,
    ConsentRow,
    DailyEntryRow,
    DecisionRow,
    FollowUpRow,
    ProcedureRow,
    SignatureRow,
    WeaningTrialRow,
)
from ecmo_desktop.storage.orm.runs import RunRow
from ecmo_desktop.storage.repositories.base import Repository


class _Staff:
    """Names, titles, memberships and privileges of every staff member, read once per dossier."""

    def __init__(self, repo: Repository) -> None:
        session = repo.session
        self.people = {r.id: (r.full_name, r.title) for r in session.execute(
            select(StaffRow.id, StaffRow.full_name, StaffRow.title))}
        self.members: dict[int, list[ExpertMembership]] = {}
        for row in session.scalars(select(ExpertMembershipRow)):
            self.members.setdefault(row.staff_id, []).append(mapping.membership(row))
        self.privileges: dict[int, list[Privilege]] = {}
        for row in session.scalars(select(PrivilegeRow)):
            self.privileges.setdefault(row.staff_id, []).append(mapping.privilege(row))

    def name(self, staff_id: int | None) -> str:
        if staff_id is None:
            return ""
        return self.people.get(staff_id, ("", ""))[0] or f"#{staff_id}"

    def title(self, staff_id: int | None) -> str:
        return self.people.get(staff_id, ("", "other"))[1] if staff_id is not None else ""

    def expert_at(self, staff_id: int, moment: datetime) -> bool:
        return any(m.member_at(moment) for m in self.members.get(staff_id, ()))

    def privileged_at(self, staff_id: int, moment: datetime) -> bool:
        return any(p.valid_at(moment) for p in self.privileges.get(staff_id, ()))


class SqlDossierRepository(Repository):
    def load(self, run_id: int) -> CaseDossier:
        run = self._get(RunRow, run_id, "ECMO 病例")
        patient = self._get(PatientRow, run.patient_id, "患者")
        hospital = self._get(HospitalRow, run.hospital_id, "医院")
        staff = _Staff(self)

        def live(model: type[Any], order: Any) -> list[Any]:
            return list(self.session.scalars(select(model).where(model.run_id == run_id, model.voided_at.is_(None))
                                             .order_by(order, model.id)))

        decisions = live(DecisionRow, DecisionRow.decided_at)
        consents = live(ConsentRow, ConsentRow.signed_on_paper_at)
        procedures = live(ProcedureRow, ProcedureRow.started_at)
        entries = live(DailyEntryRow, DailyEntryRow.recorded_at)
        complications = live(ComplicationRow, ComplicationRow.onset_at)
        trials = live(WeaningTrialRow, WeaningTrialRow.started_at)
        follow_ups = live(FollowUpRow, FollowUpRow.due_date)
        signatures = self._signatures(staff, {
            "decision": decisions, "consent": consents, "procedure": procedures, "daily_entry": entries,
            "complication": complications, "weaning_trial": trials, "follow_up": follow_ups})

        def base(entity: str, row: ClinicalRecord) -> dict[str, Any]:
            return {"id": row.id, "status": row.status, "version": row.version, "created_at": row.created_at,
                    "created_by_name": staff.name(row.created_by_id),
                    "signatures": signatures.get((entity, row.id), ())}

        devices = self._devices(run_id, staff)
        cannula_usage: dict[int, int] = {}
        procedure_infos: list[ProcedureInfo] = []
        for p in procedures:
            for c in p.cannulae:
                if c.device_usage_id is not None:
                    cannula_usage[c.device_usage_id] = p.id
            procedure_infos.append(ProcedureInfo(
                **base("procedure", p), kind=p.kind, started_at=p.started_at, flow_at=p.flow_at,
                ended_at=p.ended_at, location=p.location, technique=p.technique, guidance=p.guidance,
                mode_before=p.mode_before, mode_after=p.mode_after, reason=p.reason or "",
                settings=dict(p.settings or {}), immediate_complications=tuple(p.immediate_complications or ()),
                notes=p.notes or "",
                team=tuple(TeamMember(s.staff_id, staff.name(s.staff_id), staff.title(s.staff_id), s.role,
                                      staff.privileged_at(s.staff_id, p.started_at))
                           for s in sorted(p.staff, key=lambda s: (_TEAM_ORDER.get(s.role, 9), s.staff_id))),
                cannulae=tuple(CannulaInfo(c.position, c.role, c.vessel, c.side, c.size_fr, c.length_cm, c.depth_cm,
                                           c.tip_position or "", c.device_usage_id, c.removed_at)
                               for c in sorted(p.cannulae, key=lambda c: (c.position, c.id))),
                devices=()))
        device_labels = self._device_labels([c.device_item_id for c in complications if c.device_item_id])

        return CaseDossier(
            hospital=HospitalInfo(hospital.id, hospital.name, hospital.code),
            patient=PatientInfo(
                id=patient.id, mrn=patient.mrn, name=patient.name, sex=patient.sex, birth_date=patient.birth_date,
                age_years=patient.age_years, height_cm=patient.height_cm, weight_kg=patient.weight_kg,
                ward=patient.ward or "", bed=patient.bed or "", admitted_at=patient.admitted_at,
                discharged_at=patient.discharged_at, discharge_disposition=patient.discharge_disposition),
            run=RunInfo(
                id=run.id, run_number=run.run_number, mode=run.mode, ecpr=run.ecpr, indication=run.indication,
                indication_other=run.indication_other or "", diagnosis=run.diagnosis or "", status=run.status,
                emergency=run.emergency, attending_name=staff.name(run.attending_id), ward=run.ward or "",
                bed=run.bed or "", created_at=run.created_at, decided_at=run.decided_at, started_at=run.started_at,
                ended_at=run.ended_at, end_reason=run.end_reason, archived_at=run.archived_at),
            decisions=tuple(DecisionInfo(
                **base("decision", d), kind=d.kind, emergency=d.emergency, decided_at=d.decided_at,
                mode_planned=d.mode_planned, indication=d.indication, indication_other=d.indication_other or "",
                rationale=d.rationale or "", pre_ecmo=dict(d.pre_ecmo or {}),
                contraindications=dict(d.contraindications or {}), supplement_deadline=d.supplement_deadline,
                supplement_of_id=d.supplement_of_id,
                physicians=tuple(PhysicianInfo(ph.staff_id, staff.name(ph.staff_id), staff.title(ph.staff_id), ph.role,
                                               staff.expert_at(ph.staff_id, d.decided_at))
                                 for ph in sorted(d.physicians, key=lambda ph: (ph.position, ph.staff_id))))
                for d in decisions),
            consents=tuple(ConsentInfo(
                **base("consent", c), explained_by_name=staff.name(c.explained_by_id),
                explained_by_title=staff.title(c.explained_by_id), signer_name=c.signer_name,
                relationship=c.relationship_to_patient, signed_on_paper_at=c.signed_on_paper_at, refused=c.refused,
                notes=c.notes or "") for c in consents),
            procedures=tuple(assign_devices(procedure_infos, devices, cannula_usage)),
            daily_entries=tuple(DailyEntryInfo(
                **base("daily_entry", e), recorded_at=e.recorded_at, ecmo_day=e.ecmo_day, author_role=e.author_role,
                mode=e.mode, values=dict(e.values or {}), checks=dict(e.checks or {}), notes=e.notes or "")
                for e in entries),
            complications=tuple(ComplicationInfo(
                **base("complication", c), code=c.code, other_text=c.other_text or "", onset_at=c.onset_at,
                severity=c.severity, treatment=c.treatment or "", resolved_at=c.resolved_at,
                resolution=c.resolution or "", adverse_event=c.adverse_event, procedure_id=c.procedure_id,
                device_label=device_labels.get(c.device_item_id, "") if c.device_item_id else "")
                for c in complications),
            weaning_trials=tuple(WeaningTrialInfo(
                **base("weaning_trial", t), started_at=t.started_at, ended_at=t.ended_at, flow_to=t.flow_to,
                sweep_to=t.sweep_to, fdo2_to=t.fdo2_to, values=dict(t.values or {}), passed=t.passed,
                notes=t.notes or "") for t in trials),
            follow_ups=tuple(FollowUpInfo(
                **base("follow_up", f), kind=f.kind, due_date=f.due_date, fu_status=f.fu_status, done_at=f.done_at,
                contact_method=f.contact_method, vital_status=f.vital_status, date_of_death=f.date_of_death,
                cause_of_death=f.cause_of_death, discharge_disposition=f.discharge_disposition, cpc=f.cpc,
                mrs=f.mrs, eq5d_index=f.eq5d_index, notes=f.notes or "") for f in follow_ups),
            devices=devices,
        )

    def _signatures(self, staff: _Staff, records: dict[str, Sequence[Any]]
                    ) -> dict[tuple[str, int], tuple[SignatureInfo, ...]]:
        out: dict[tuple[str, int], list[SignatureInfo]] = {}
        for entity, rows in records.items():
            ids = [r.id for r in rows]
            for chunk in _chunks(ids):
                for s in self.session.scalars(select(SignatureRow).where(
                        SignatureRow.entity == entity, SignatureRow.entity_id.in_(chunk))
                        .order_by(SignatureRow.signed_at, SignatureRow.id)):
                    out.setdefault((entity, s.entity_id), []).append(SignatureInfo(
                        signer_name=s.signer_name, signer_title=staff.title(s.signer_id), meaning=s.meaning,
                        signed_at=s.signed_at, state=s.state, record_version=s.record_version))
        return {k: tuple(v) for k, v in out.items()}

    def _devices(self, run_id: int, staff: _Staff) -> tuple[DeviceInfo, ...]:
        rows = self.session.execute(
            select(UsageRow, ItemRow, ProductRow).join(ItemRow, ItemRow.id == UsageRow.item_id)
            .join(ProductRow, ProductRow.id == ItemRow.product_id)
            .where(UsageRow.run_id == run_id, UsageRow.voided_at.is_(None))
            .order_by(UsageRow.bound_at, UsageRow.id))
        return tuple(DeviceInfo(
            usage_id=u.id, item_id=i.id, procedure_id=u.procedure_id, product_name=p.name, category=p.category,
            model=p.model or "", manufacturer=p.manufacturer or "", nmpa_number=p.nmpa_number or "", gtin=p.gtin,
            udi_di=p.udi_di, lot=i.lot, serial=i.serial, expiry=i.expiry, production_date=i.production_date,
            raw_code=i.raw_code or "", scanned_text=u.scanned_text or "", symbology=i.symbology,
            single_use=u.single_use, bound_at=u.bound_at, bound_by_name=staff.name(u.bound_by_id),
            override_reason=u.override_reason, removed_at=u.removed_at, removal_reason=u.removal_reason)
            for u, i, p in rows)

    def _device_labels(self, item_ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(sorted(set(item_ids))):
            for item, product in self.session.execute(
                    select(ItemRow, ProductRow).join(ProductRow, ProductRow.id == ItemRow.product_id)
                    .where(ItemRow.id.in_(chunk))):
                ident = " ".join(part for part in (item.lot and f"LOT {item.lot}", item.serial and f"SN {item.serial}")
                                 if part)
                out[item.id] = f"{product.name} {ident}".strip()
        return out


_TEAM_ORDER = {"operator": 0, "assistant": 1, "perfusionist": 2, "nurse": 3, "anaesthesia": 4}


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    """IN lists of bounded length (SQLite allows at most 32766 parameters per statement)."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]
