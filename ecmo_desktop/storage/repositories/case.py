"""The one loader of the case read model (domain/case.py), straight from the tables.

``load`` reads one run as the documents print it, in one unit of work, so a PDF is a consistent
snapshot; ``case_facts`` reads every run of a period as the QC report and the export count it. Why
the tables rather than the clinical-record repositories: the report must work on any database of
this schema (charted here, imported from spreadsheets, assembled from other hospitals' exports), so
it depends only on migration 0001's tables. Both read the records through ``_LiveRows`` (one query
per table per chunk of runs, never per run: a report over 50,000 runs is a few dozen queries) and
staff through the one ``StaffDirectory``. Voided records and voided device bindings are not part of
the clinical record any more and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecmo_desktop.domain.case import (
    CaseDossier,
    CaseFacts,
    ComplicationInfo,
    ConsentInfo,
    DailyEntryInfo,
    DecisionInfo,
    DeviceInfo,
    FollowUpInfo,
    HospitalInfo,
    PatientInfo,
    ProcedureInfo,
    RunEquipmentFact,
    RunInfo,
    SignatureInfo,
    StaffRef,
    WeaningTrialInfo,
    assign_devices,
)
from ecmo_desktop.storage import mapping
from ecmo_desktop.storage.mapping_records import Signatures
from ecmo_desktop.storage.mapping_records import complication as _complication
from ecmo_desktop.storage.mapping_records import consent as _consent
from ecmo_desktop.storage.mapping_records import daily_entry as _daily
from ecmo_desktop.storage.mapping_records import decision as _decision
from ecmo_desktop.storage.mapping_records import follow_up as _follow_up
from ecmo_desktop.storage.mapping_records import procedure as _procedure
from ecmo_desktop.storage.mapping_records import weaning_trial as _trial
from ecmo_desktop.storage.orm.devices import EquipmentRow, ItemRow, ProductRow, RunEquipmentRow, UsageRow
from ecmo_desktop.storage.orm.people import HospitalRow, PatientRow
from ecmo_desktop.storage.orm.records import (
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
from ecmo_desktop.storage.repositories.staff import StaffDirectory


class SqlCaseRepository(Repository):
    """The case read model: one run as the documents print it, or runs in bulk as the QC report counts them."""

    def load(self, run_id: int) -> CaseDossier:
        run = self._get(RunRow, run_id, "ECMO 病例")
        patient = self._get(PatientRow, run.patient_id, "患者")
        hospital = self._get(HospitalRow, run.hospital_id, "医院")
        staff = StaffDirectory(self.session)
        rows = _LiveRows(self.session, [run_id])
        decisions, consents, procedures = rows.decisions, rows.consents, rows.procedures
        entries, complications, trials, follow_ups = rows.daily, rows.complications, rows.trials, rows.follow_ups
        signatures = self._signatures(staff, {
            "decision": decisions, "consent": consents, "procedure": procedures, "daily_entry": entries,
            "complication": complications, "weaning_trial": trials, "follow_up": follow_ups})

        devices = self._devices(rows.usages, staff)
        cannula_usage: dict[int, int] = {}
        procedure_infos: list[ProcedureInfo] = []
        for p in procedures:
            for c in p.cannulae:
                if c.device_usage_id is not None:
                    cannula_usage[c.device_usage_id] = p.id
            procedure_infos.append(_procedure(p, staff, signatures))
        device_labels = _device_labels(self.session, [c.device_item_id for c in complications if c.device_item_id])

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
            decisions=tuple(_decision(d, staff, signatures) for d in decisions),
            consents=tuple(_consent(c, staff, signatures) for c in consents),
            procedures=tuple(assign_devices(procedure_infos, devices, cannula_usage)),
            daily_entries=tuple(_daily(e, staff, signatures) for e in entries),
            complications=tuple(_complication(c, staff, signatures, device_labels) for c in complications),
            weaning_trials=tuple(_trial(t, staff, signatures) for t in trials),
            follow_ups=tuple(_follow_up(f, staff, signatures) for f in follow_ups),
            devices=devices,
        )

    def case_facts(self, *, started_from: datetime | None = None, started_to: datetime | None = None,
                   hospital_id: int | None = None) -> list[CaseFacts]:
        """Every run that went on flow in [started_from, started_to), with all its records."""
        stmt = (select(RunRow, PatientRow, HospitalRow)
                .join(PatientRow, PatientRow.id == RunRow.patient_id)
                .join(HospitalRow, HospitalRow.id == RunRow.hospital_id)
                .where(RunRow.started_at.is_not(None)))
        if started_from is not None:
            stmt = stmt.where(RunRow.started_at >= started_from)
        if started_to is not None:
            stmt = stmt.where(RunRow.started_at < started_to)
        if hospital_id is not None:
            stmt = stmt.where(RunRow.hospital_id == hospital_id)
        rows = list(self.session.execute(stmt.order_by(RunRow.started_at, RunRow.id)))
        if not rows:
            return []
        run_ids = [r.RunRow.id for r in rows]
        children = _Children(self.session)
        children.load(run_ids, sorted({r.RunRow.patient_id for r in rows}))
        cases: list[CaseFacts] = []
        for r in rows:
            run_row: RunRow = r.RunRow
            hosp: HospitalRow = r.HospitalRow
            rid = run_row.id
            cases.append(CaseFacts(
                run=mapping.run(run_row), patient=mapping.patient(r.PatientRow), hospital_name=hosp.name,
                hospital_code=hosp.code, hospital_city=hosp.city,
                decisions=tuple(children.decisions[rid]), consents=tuple(children.consents[rid]),
                procedures=tuple(children.procedures[rid]), daily=tuple(children.daily[rid]),
                complications=tuple(children.complications[rid]),
                weaning_trials=tuple(children.trials[rid]), follow_ups=tuple(children.follow_ups[rid]),
                devices=tuple(children.devices[rid]), equipment=tuple(children.equipment[rid]),
                other_run_starts=tuple(sorted(s for other_id, s in children.patient_starts[run_row.patient_id]
                                              if other_id != rid))))
        return cases

    def staff_refs(self, ids: Iterable[int]) -> dict[int, StaffRef]:
        """The members of staff named by ``ids`` that exist (the export lists them once)."""
        return StaffDirectory(self.session).refs(ids)

    def _signatures(self, staff: StaffDirectory, records: dict[str, Sequence[Any]]) -> Signatures:
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

    @staticmethod
    def _devices(rows: Sequence[Any], staff: StaffDirectory) -> tuple[DeviceInfo, ...]:
        return tuple(_device(u, i, p, staff) for u, i, p in rows)


def _device_labels(session: Session, item_ids: list[int]) -> dict[int, str]:
    """"name LOT x SN y" of each device item a complication names."""
    out: dict[int, str] = {}
    for chunk in _chunks(sorted(set(item_ids))):
        for item, product in session.execute(
                select(ItemRow, ProductRow).join(ProductRow, ProductRow.id == ItemRow.product_id)
                .where(ItemRow.id.in_(chunk))):
            ident = " ".join(part for part in (item.lot and f"LOT {item.lot}", item.serial and f"SN {item.serial}")
                             if part)
            out[item.id] = f"{product.name} {ident}".strip()
    return out


def _device(u: UsageRow, i: ItemRow, p: ProductRow, staff: StaffDirectory) -> DeviceInfo:
    return DeviceInfo(
        id=u.id, item_id=i.id, procedure_id=u.procedure_id, single_use=u.single_use, bound_at=u.bound_at,
        bound_by=staff.ref(u.bound_by_id), scanned_text=u.scanned_text or "", override_reason=u.override_reason,
        warnings=u.warnings, removed_at=u.removed_at, removal_reason=u.removal_reason, category=p.category,
        product_name=p.name, manufacturer=p.manufacturer or "", model=p.model or "", gtin=p.gtin, udi_di=p.udi_di,
        nmpa_number=p.nmpa_number or "", item_key=i.item_key, serial=i.serial, lot=i.lot, expiry=i.expiry,
        production_date=i.production_date, raw_code=i.raw_code or "", symbology=i.symbology)


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    """IN lists of bounded length (SQLite allows at most 32766 parameters per statement)."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


class _LiveRows:
    """The live (not voided) records and device bindings of a set of runs, one query per table per chunk
    of run ids, each list ordered by run, then time, then id."""

    def __init__(self, session: Session, run_ids: Sequence[int]) -> None:
        self.session = session
        self.decisions = self._rows(DecisionRow, run_ids, DecisionRow.decided_at)
        self.consents = self._rows(ConsentRow, run_ids, ConsentRow.signed_on_paper_at)
        self.procedures = self._rows(ProcedureRow, run_ids, ProcedureRow.started_at)
        self.daily = self._rows(DailyEntryRow, run_ids, DailyEntryRow.recorded_at)
        self.complications = self._rows(ComplicationRow, run_ids, ComplicationRow.onset_at)
        self.trials = self._rows(WeaningTrialRow, run_ids, WeaningTrialRow.started_at)
        self.follow_ups = self._rows(FollowUpRow, run_ids, FollowUpRow.due_date)
        self.usages: list[Any] = []  # (UsageRow, ItemRow, ProductRow)
        for chunk in _chunks(run_ids):
            self.usages.extend(self.session.execute(
                select(UsageRow, ItemRow, ProductRow).join(ItemRow, ItemRow.id == UsageRow.item_id)
                .join(ProductRow, ProductRow.id == ItemRow.product_id)
                .where(UsageRow.run_id.in_(chunk), UsageRow.voided_at.is_(None))
                .order_by(UsageRow.run_id, UsageRow.bound_at, UsageRow.id)))

    def _rows(self, model: Any, run_ids: Sequence[int], order: Any) -> list[Any]:
        rows: list[Any] = []
        for chunk in _chunks(run_ids):
            rows.extend(self.session.scalars(select(model).where(model.run_id.in_(chunk), model.voided_at.is_(None))
                                             .order_by(model.run_id, order, model.id)))
        return rows


class _Children:
    """The records of a set of runs as case facts, grouped by run id."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.decisions: dict[int, list[DecisionInfo]] = defaultdict(list)
        self.consents: dict[int, list[ConsentInfo]] = defaultdict(list)
        self.procedures: dict[int, list[ProcedureInfo]] = defaultdict(list)
        self.daily: dict[int, list[DailyEntryInfo]] = defaultdict(list)
        self.complications: dict[int, list[ComplicationInfo]] = defaultdict(list)
        self.trials: dict[int, list[WeaningTrialInfo]] = defaultdict(list)
        self.follow_ups: dict[int, list[FollowUpInfo]] = defaultdict(list)
        self.devices: dict[int, list[DeviceInfo]] = defaultdict(list)
        self.equipment: dict[int, list[RunEquipmentFact]] = defaultdict(list)
        self.patient_starts: dict[int, list[tuple[int, datetime]]] = defaultdict(list)

    def load(self, run_ids: Sequence[int], patient_ids: Sequence[int]) -> None:
        live = _LiveRows(self.session, run_ids)
        decisions, consents, procedures, daily = live.decisions, live.consents, live.procedures, live.daily
        complications, trials, follow_ups, usages = live.complications, live.trials, live.follow_ups, live.usages
        links: list[Any] = []
        for chunk in _chunks(run_ids):
            links.extend(self.session.execute(
                select(RunEquipmentRow, EquipmentRow).join(EquipmentRow, EquipmentRow.id == RunEquipmentRow.equipment_id)
                .where(RunEquipmentRow.run_id.in_(chunk)).order_by(RunEquipmentRow.from_at, RunEquipmentRow.id)))
        for chunk in _chunks(patient_ids):
            for rid, pid, started in self.session.execute(
                    select(RunRow.id, RunRow.patient_id, RunRow.started_at)
                    .where(RunRow.patient_id.in_(chunk), RunRow.started_at.is_not(None))):
                self.patient_starts[pid].append((rid, started))
        staff = StaffDirectory(self.session)

        for d in decisions:
            self.decisions[d.run_id].append(_decision(d, staff, {}))
        for c in consents:
            self.consents[c.run_id].append(_consent(c, staff, {}))
        for p in procedures:
            self.procedures[p.run_id].append(_procedure(p, staff, {}))
        labels = _device_labels(self.session, [c.device_item_id for c in complications if c.device_item_id])
        for e in daily:
            self.daily[e.run_id].append(_daily(e, staff, {}))
        for c in complications:
            self.complications[c.run_id].append(_complication(c, staff, {}, labels))
        for w in trials:
            self.trials[w.run_id].append(_trial(w, staff, {}))
        for f in follow_ups:
            self.follow_ups[f.run_id].append(_follow_up(f, staff, {}))
        for u, item, product in usages:
            self.devices[u.run_id].append(_device(u, item, product, staff))
        for link, eq in links:
            self.equipment[link.run_id].append(RunEquipmentFact(
                kind=eq.kind, model=eq.model, manufacturer=eq.manufacturer, serial=eq.serial,
                from_at=link.from_at, to_at=link.to_at))
