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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

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
from ecmo_desktop.domain.model import Patient, Run
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

PAGE = 2000  # runs per page of ``iter_case_facts``

# the run and patient columns of the read model, selected as plain columns (no ORM objects: 50,000 runs)
_RUN_FIELDS = tuple(f.name for f in fields(Run))
_PATIENT_FIELDS = tuple(f.name for f in fields(Patient))
_RUN_COLUMNS = tuple(getattr(RunRow, name) for name in _RUN_FIELDS)
_PATIENT_COLUMNS = tuple(getattr(PatientRow, name).label(f"p_{name}") for name in _PATIENT_FIELDS)


class SqlCaseRepository(Repository):
    """The case read model: one run as the documents print it, or runs in
    bulk as the QC report counts them.
    """

    def load(self, run_id: int) -> CaseDossier:
        run = self._get(RunRow, run_id, "ECMO 病例")
        patient = self._get(PatientRow, run.patient_id, "患者")
        hospital = self._get(HospitalRow, run.hospital_id, "医院")
        staff = StaffDirectory(self.session)
        rows = _LiveRows(self.session, [run_id])
        decisions, consents, procedures = rows.decisions, rows.consents, rows.procedures
        entries, complications, trials, follow_ups = (
            rows.daily,
            rows.complications,
            rows.trials,
            rows.follow_ups,
        )
        signatures = self._signatures(
            staff,
            {
                "decision": decisions,
                "consent": consents,
                "procedure": procedures,
                "daily_entry": entries,
                "complication": complications,
                "weaning_trial": trials,
                "follow_up": follow_ups,
            },
        )

        devices = self._devices(rows.usages, staff)
        cannula_usage: dict[int, int] = {}
        procedure_infos: list[ProcedureInfo] = []
        for p in procedures:
            for c in p.cannulae:
                if c.device_usage_id is not None:
                    cannula_usage[c.device_usage_id] = p.id
            procedure_infos.append(_procedure(p, staff, signatures))
        device_labels = _device_labels(
            self.session, [c.device_item_id for c in complications if c.device_item_id]
        )

        return CaseDossier(
            hospital=HospitalInfo(hospital.id, hospital.name, hospital.code),
            patient=PatientInfo(
                id=patient.id,
                mrn=patient.mrn,
                name=patient.name,
                sex=patient.sex,
                birth_date=patient.birth_date,
                age_years=patient.age_years,
                height_cm=patient.height_cm,
                weight_kg=patient.weight_kg,
                ward=patient.ward or "",
                bed=patient.bed or "",
                admitted_at=patient.admitted_at,
                discharged_at=patient.discharged_at,
                discharge_disposition=patient.discharge_disposition,
            ),
            run=RunInfo(
                id=run.id,
                run_number=run.run_number,
                mode=run.mode,
                ecpr=run.ecpr,
                indication=run.indication,
                indication_other=run.indication_other or "",
                diagnosis=run.diagnosis or "",
                status=run.status,
                emergency=run.emergency,
                attending_name=staff.name(run.attending_id),
                ward=run.ward or "",
                bed=run.bed or "",
                created_at=run.created_at,
                decided_at=run.decided_at,
                started_at=run.started_at,
                ended_at=run.ended_at,
                end_reason=run.end_reason,
                archived_at=run.archived_at,
            ),
            decisions=tuple(_decision(d, staff, signatures) for d in decisions),
            consents=tuple(_consent(c, staff, signatures) for c in consents),
            procedures=tuple(assign_devices(procedure_infos, devices, cannula_usage)),
            daily_entries=tuple(_daily(e, staff, signatures) for e in entries),
            complications=tuple(_complication(c, staff, signatures, device_labels) for c in complications),
            weaning_trials=tuple(_trial(t, staff, signatures) for t in trials),
            follow_ups=tuple(_follow_up(f, staff, signatures) for f in follow_ups),
            devices=devices,
        )

    def case_facts(
        self,
        *,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        hospital_id: int | None = None,
    ) -> list[CaseFacts]:
        """Every run that went on flow in [started_from, started_to), with all its records."""
        return list(
            self.iter_case_facts(started_from=started_from, started_to=started_to, hospital_id=hospital_id)
        )

    def iter_case_facts(
        self,
        *,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        hospital_id: int | None = None,
        page: int = PAGE,
    ) -> Iterator[CaseFacts]:
        """``case_facts`` as a stream in first-flow order, ``page`` runs at a time.

        Why a stream: the QC report and the export of 50,000 runs then hold one page of runs with
        their records at a time (memory does not grow with the period), and a page costs one keyset
        query for the runs (plain columns, no ORM objects) and one per child table.
        """
        stmt = (
            select(
                *_RUN_COLUMNS,
                *_PATIENT_COLUMNS,
                HospitalRow.name.label("h_name"),
                HospitalRow.code.label("h_code"),
                HospitalRow.city.label("h_city"),
            )
            .join(PatientRow, PatientRow.id == RunRow.patient_id)
            .join(HospitalRow, HospitalRow.id == RunRow.hospital_id)
            .order_by(RunRow.started_at, RunRow.id)
            .limit(page)
        )
        staff = StaffDirectory(self.session)
        # built once, run per page with the keys bound: building and caching a statement costs more
        # than running it when the child tables are empty (a register of imported runs)
        stmt = stmt.where(*_period(RunRow, started_to, hospital_id))
        inner = aliased(RunRow)
        page_ids = select(inner.id).where(*_page(inner, hospital_id))
        inner = aliased(RunRow)
        page_patients = select(inner.patient_id).where(*_page(inner, hospital_id))
        statements: dict[str, Any] = {}
        params: dict[str, Any] = {"lo": started_from or _EPOCH, "after_at": _EPOCH, "after_id": 0}
        n_run, n_patient = len(_RUN_FIELDS), len(_PATIENT_FIELDS)
        while True:
            rows = self.session.execute(stmt, params).all()
            if not rows:
                return
            params.update(
                first_at=rows[0].started_at,
                first_id=rows[0].id,
                last_at=rows[-1].started_at,
                last_id=rows[-1].id,
            )
            children = _Children(self.session, staff)
            children.load(page_ids, page_patients, params, statements)
            params.update(lo=params["last_at"], after_at=params["last_at"], after_id=params["last_id"])
            empty: tuple[Any, ...] = ()
            get = _Children.get
            for r in rows:
                rid = r.id
                starts = children.patient_starts.get(r.patient_id)
                yield CaseFacts(
                    run=Run(*r[:n_run]),
                    patient=Patient(*r[n_run : n_run + n_patient]),
                    hospital_name=r.h_name,
                    hospital_code=r.h_code,
                    hospital_city=r.h_city,
                    decisions=get(children.decisions, rid),
                    consents=get(children.consents, rid),
                    procedures=get(children.procedures, rid),
                    daily=get(children.daily, rid),
                    complications=get(children.complications, rid),
                    weaning_trials=get(children.trials, rid),
                    follow_ups=get(children.follow_ups, rid),
                    devices=get(children.devices, rid),
                    equipment=get(children.equipment, rid),
                    other_run_starts=tuple(sorted(s for other_id, s in starts if other_id != rid))
                    if starts
                    else empty,
                )
            if len(rows) < page:
                return

    def staff_refs(self, ids: Iterable[int]) -> dict[int, StaffRef]:
        """The members of staff named by ``ids`` that exist (the export lists them once)."""
        return StaffDirectory(self.session).refs(ids)

    def _signatures(self, staff: StaffDirectory, records: dict[str, Sequence[Any]]) -> Signatures:
        out: dict[tuple[str, int], list[SignatureInfo]] = {}
        for entity, rows in records.items():
            ids = [r.id for r in rows]
            for chunk in _chunks(ids):
                for s in self.session.scalars(
                    select(SignatureRow)
                    .where(SignatureRow.entity == entity, SignatureRow.entity_id.in_(chunk))
                    .order_by(SignatureRow.signed_at, SignatureRow.id)
                ):
                    out.setdefault((entity, s.entity_id), []).append(
                        SignatureInfo(
                            signer_name=s.signer_name,
                            signer_title=staff.title(s.signer_id),
                            meaning=s.meaning,
                            signed_at=s.signed_at,
                            state=s.state,
                            record_version=s.record_version,
                        )
                    )
        return {k: tuple(v) for k, v in out.items()}

    @staticmethod
    def _devices(rows: Sequence[Any], staff: StaffDirectory) -> tuple[DeviceInfo, ...]:
        return tuple(_device(u, i, p, staff) for u, i, p in rows)


def _device_labels(session: Session, item_ids: list[int]) -> dict[int, str]:
    """ "name LOT x SN y" of each device item a complication names."""
    out: dict[int, str] = {}
    for chunk in _chunks(sorted(set(item_ids))):
        for item, product in session.execute(
            select(ItemRow, ProductRow)
            .join(ProductRow, ProductRow.id == ItemRow.product_id)
            .where(ItemRow.id.in_(chunk))
        ):
            ident = " ".join(
                part for part in (item.lot and f"LOT {item.lot}", item.serial and f"SN {item.serial}") if part
            )
            out[item.id] = f"{product.name} {ident}".strip()
    return out


def _device(u: UsageRow, i: ItemRow, p: ProductRow, staff: StaffDirectory) -> DeviceInfo:
    return DeviceInfo(
        id=u.id,
        item_id=i.id,
        procedure_id=u.procedure_id,
        single_use=u.single_use,
        bound_at=u.bound_at,
        bound_by=staff.ref(u.bound_by_id),
        scanned_text=u.scanned_text or "",
        override_reason=u.override_reason,
        warnings=u.warnings,
        removed_at=u.removed_at,
        removal_reason=u.removal_reason,
        category=p.category,
        product_name=p.name,
        manufacturer=p.manufacturer or "",
        model=p.model or "",
        gtin=p.gtin,
        udi_di=p.udi_di,
        nmpa_number=p.nmpa_number or "",
        item_key=i.item_key,
        serial=i.serial,
        lot=i.lot,
        expiry=i.expiry,
        production_date=i.production_date,
        raw_code=i.raw_code or "",
        symbology=i.symbology,
    )


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    """IN lists of bounded length (SQLite allows at most 32766 parameters per statement)."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


RunSet = Sequence[int] | Select[Any]  # run ids, or a query giving them


def _in(column: Any, ids: Sequence[int] | Select[Any], size: int = 500) -> list[Any]:
    """``column IN (…)`` conditions: one per chunk of ids, or one with the subquery."""
    if isinstance(ids, Select):
        return [column.in_(ids)]
    return [column.in_(chunk) for chunk in _chunks(ids, size)]


def _period(run: Any, started_to: datetime | None, hospital_id: int | None) -> list[Any]:
    """The runs on flow before ``started_to`` (at the hospital) from ``lo`` on, keyed (started_at, id) after
    ``after_at``/``after_id`` (bound per page). One lower bound on started_at, so both planners walk
    the started_at index from the page on, not from the start of the period."""
    where = [
        run.started_at.is_not(None),
        run.started_at >= bindparam("lo", type_=RunRow.started_at.type),
        or_(
            run.started_at > bindparam("after_at", type_=RunRow.started_at.type),
            run.id > bindparam("after_id"),
        ),
    ]
    if started_to is not None:
        where.append(run.started_at < started_to)
    if hospital_id is not None:
        where.append(run.hospital_id == hospital_id)
    return where


def _page(run: Any, hospital_id: int | None) -> list[Any]:
    """The runs of one page: keyed (started_at, id) from ``first_at``/``first_id`` to
    ``last_at``/``last_id``.
    """
    first_at, last_at = (bindparam(n, type_=RunRow.started_at.type) for n in ("first_at", "last_at"))
    where = [
        run.started_at >= first_at,
        or_(run.started_at > first_at, run.id >= bindparam("first_id")),
        run.started_at <= last_at,
        or_(run.started_at < last_at, run.id <= bindparam("last_id")),
    ]
    if hospital_id is not None:
        where.append(run.hospital_id == hospital_id)
    return where


_OTHER = aliased(RunRow)
# the patient has another run on flow (most have one run, whose start is not needed)
_HAS_OTHER_RUN = (
    select(_OTHER.id)
    .where(_OTHER.patient_id == RunRow.patient_id, _OTHER.id != RunRow.id, _OTHER.started_at.is_not(None))
    .exists()
)
_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)  # before any run: the key the first page starts after


class _LiveRows:
    """The live (not voided) records and device bindings of a set of runs, one query per table per chunk
    of run ids, each list ordered by run, then time, then id."""

    def __init__(
        self,
        session: Session,
        run_ids: RunSet,
        params: dict[str, Any] | None = None,
        statements: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.params = params
        self.statements = statements if statements is not None else {}
        self.decisions = self._rows(DecisionRow, run_ids, DecisionRow.decided_at)
        self.consents = self._rows(ConsentRow, run_ids, ConsentRow.signed_on_paper_at)
        self.procedures = self._rows(ProcedureRow, run_ids, ProcedureRow.started_at)
        self.daily = self._rows(DailyEntryRow, run_ids, DailyEntryRow.recorded_at)
        self.complications = self._rows(ComplicationRow, run_ids, ComplicationRow.onset_at)
        self.trials = self._rows(WeaningTrialRow, run_ids, WeaningTrialRow.started_at)
        self.follow_ups = self._rows(FollowUpRow, run_ids, FollowUpRow.due_date)
        self.usages: list[Any] = []  # (UsageRow, ItemRow, ProductRow)
        for n, in_chunk in enumerate(_in(UsageRow.run_id, run_ids)):
            self.usages.extend(
                self.session.execute(
                    self._statement(
                        f"usage{n}",
                        lambda c: (
                            select(UsageRow, ItemRow, ProductRow)
                            .join(ItemRow, ItemRow.id == UsageRow.item_id)
                            .join(ProductRow, ProductRow.id == ItemRow.product_id)
                            .where(c, UsageRow.voided_at.is_(None))
                            .order_by(UsageRow.run_id, UsageRow.bound_at, UsageRow.id)
                        ),
                        in_chunk,
                    ),
                    self.params,
                )
            )

    def _statement(self, key: str, build: Callable[[Any], Any], condition: Any) -> Any:
        """``build(condition)``, once per ``statements`` cache (the page subquery has its keys bound)."""
        if key not in self.statements:
            self.statements[key] = build(condition)
        return self.statements[key]

    def _rows(self, model: Any, run_ids: RunSet, order: Any) -> list[Any]:
        rows: list[Any] = []
        for n, in_chunk in enumerate(_in(model.run_id, run_ids)):
            rows.extend(
                self.session.scalars(
                    self._statement(
                        f"{model.__tablename__}{n}",
                        lambda c: (
                            select(model)
                            .where(c, model.voided_at.is_(None))
                            .order_by(model.run_id, order, model.id)
                        ),
                        in_chunk,
                    ),
                    self.params,
                )
            )
        return rows


class _Children:
    """The records of a set of runs as case facts, grouped by run id."""

    def __init__(self, session: Session, staff: StaffDirectory) -> None:
        self.session = session
        self.staff = staff
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

    @staticmethod
    def get(records: dict[int, list[Any]], run_id: int) -> tuple[Any, ...]:
        """The run's records as a tuple (no entry made for a run without any: most imported runs)."""
        found = records.get(run_id)
        return tuple(found) if found else ()

    def load(
        self,
        run_ids: RunSet,
        patient_ids: RunSet,
        params: dict[str, Any] | None = None,
        statements: dict[str, Any] | None = None,
    ) -> None:
        live = _LiveRows(self.session, run_ids, params, statements)
        build = live._statement
        decisions, consents, procedures, daily = live.decisions, live.consents, live.procedures, live.daily
        complications, trials, follow_ups, usages = (
            live.complications,
            live.trials,
            live.follow_ups,
            live.usages,
        )
        links: list[Any] = []
        for n, in_chunk in enumerate(_in(RunEquipmentRow.run_id, run_ids)):
            links.extend(
                self.session.execute(
                    build(
                        f"links{n}",
                        lambda c: (
                            select(RunEquipmentRow, EquipmentRow)
                            .join(EquipmentRow, EquipmentRow.id == RunEquipmentRow.equipment_id)
                            .where(c)
                            .order_by(RunEquipmentRow.from_at, RunEquipmentRow.id)
                        ),
                        in_chunk,
                    ),
                    params,
                )
            )
        for n, in_chunk in enumerate(_in(RunRow.patient_id, patient_ids)):
            starts: Iterable[tuple[int, int, datetime]] = self.session.execute(
                build(
                    f"starts{n}",
                    lambda c: select(RunRow.id, RunRow.patient_id, RunRow.started_at).where(
                        c, RunRow.started_at.is_not(None), _HAS_OTHER_RUN
                    ),
                    in_chunk,
                ),
                params,
            ).tuples()
            for rid, pid, started in starts:
                self.patient_starts[pid].append((rid, started))
        staff = self.staff

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
            self.equipment[link.run_id].append(
                RunEquipmentFact(
                    kind=eq.kind,
                    model=eq.model,
                    manufacturer=eq.manufacturer,
                    serial=eq.serial,
                    from_at=link.from_at,
                    to_at=link.to_at,
                )
            )
