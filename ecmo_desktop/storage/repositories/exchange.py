"""The import writers of the exchange, and the hospitals and consoles an export lists.

The case facts the QC report and the export read are loaded by ``case.py``. The writers put imported
data back into the same tables: ``add_case`` writes a whole
:class:`~ecmo_desktop.domain.case.CaseFacts` (run and every record, ids remapped), so what the
export wrote reads back as the same facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from ecmo_desktop.domain.case import (
    CaseFacts,
    DeviceInfo,
    EquipmentFact,
    HospitalFact,
    RunEquipmentFact,
    StaffRef,
    TeamMember,
)
from ecmo_desktop.domain.errors import IntegrityConflict
from ecmo_desktop.domain.model import Hospital, Patient, Run
from ecmo_desktop.i18n import N_
from ecmo_desktop.storage import mapping
from ecmo_desktop.storage.orm.devices import EquipmentRow, ItemRow, ProductRow, RunEquipmentRow, UsageRow
from ecmo_desktop.storage.orm.people import ExpertMembershipRow, HospitalRow, PatientRow, StaffRow
from ecmo_desktop.storage.orm.records import (
    CannulaRow,
    ComplicationRow,
    ConsentRow,
    DailyEntryRow,
    DecisionPhysicianRow,
    DecisionRow,
    FollowUpRow,
    ProcedureRow,
    ProcedureStaffRow,
    WeaningTrialRow,
)
from ecmo_desktop.storage.orm.runs import RunRow
from ecmo_desktop.storage.repositories.base import Repository

T = TypeVar("T")
CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits

StaffResolver = Callable[[StaffRef], int]


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i : i + CHUNK])


def _unknown_staff(staff_id: int) -> StaffRef:
    return StaffRef(id=staff_id, name="", title="other")


class SqlExchangeRepository(Repository):
    # ---- hospitals -----------------------------------------------------------------------------
    def hospitals(self) -> list[HospitalFact]:
        rows = self.session.scalars(select(HospitalRow).order_by(HospitalRow.id))
        return [HospitalFact(name=r.name, code=r.code, city=r.city, is_local=r.is_local) for r in rows]

    def hospital_by_code(self, code: str) -> Hospital | None:
        row = self.session.scalars(select(HospitalRow).where(HospitalRow.code == code)).first()
        return mapping.hospital(row) if row else None

    def equipment(self, *, hospital_id: int | None = None) -> list[EquipmentFact]:
        stmt = (
            select(EquipmentRow, HospitalRow)
            .join(HospitalRow, HospitalRow.id == EquipmentRow.hospital_id)
            .order_by(HospitalRow.id, EquipmentRow.id)
        )
        if hospital_id is not None:
            stmt = stmt.where(EquipmentRow.hospital_id == hospital_id)
        return [
            EquipmentFact(
                hospital_name=h.name,
                hospital_code=h.code,
                city=h.city,
                kind=e.kind,
                model=e.model,
                manufacturer=e.manufacturer,
                serial=e.serial,
                purchase_date=e.purchase_date,
                active=e.active,
                notes=e.notes,
            )
            for e, h in self.session.execute(stmt)
        ]

    # ---- writers -------------------------------------------------------------------------------
    def external_staff(
        self, *, username: str, full_name: str, title: str, department: str, now: datetime
    ) -> int:
        """The placeholder account standing for another hospital's physician named in imported records.

        Records reference staff rows (decision physicians, consent, device binding), so imported
        records need one. It can never log in (inactive, locked, no usable password hash, no role)
        and is found again by ``username`` on the next import, so re-imports do not multiply it.
        """
        row = self.session.scalars(select(StaffRow).where(StaffRow.username_key == username)).first()
        if row is not None:
            return row.id
        row = StaffRow(
            username=username,
            username_key=username,
            full_name=full_name[:100] or username,
            title=title,
            department=department[:100],
            years_in_practice=0,
            password_hash="!",
            must_change_password=True,
            failed_logins=0,
            locked_by_admin=True,
            active=False,
            ecmo_trained=False,
            created_at=now,
            roles=[],
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def add_patient(
        self, *, hospital_id: int, patient: Patient, now: datetime, created_by_id: int | None
    ) -> Patient:
        row = PatientRow(
            hospital_id=hospital_id,
            mrn=patient.mrn,
            name=patient.name,
            sex=patient.sex,
            birth_date=patient.birth_date,
            age_years=patient.age_years,
            height_cm=patient.height_cm,
            weight_kg=patient.weight_kg,
            ward=patient.ward,
            bed=patient.bed,
            discharged_at=patient.discharged_at,
            discharge_disposition=patient.discharge_disposition,
            created_at=now,
            created_by_id=created_by_id,
        )
        self.session.add(row)
        self.session.flush()
        return mapping.patient(row)

    def run_count(self, patient_id: int) -> int:
        return len(list(self.session.scalars(select(RunRow.id).where(RunRow.patient_id == patient_id))))

    def add_case(
        self,
        case: CaseFacts,
        *,
        hospital_id: int,
        patient_id: int,
        run_number: int,
        staff: StaffResolver,
        created_by_id: int | None,
        now: datetime,
    ) -> Run:
        """Write one run and all its records; ids inside ``case`` are the source's and get remapped.

        Raises ``IntegrityConflict`` before writing anything when a single-use device of the case is
        already bound to another run (R6 holds across hospitals), so the caller can report the run
        and go on with the others in the same transaction.
        """
        self._refuse_reuse(case)
        r = case.run
        run_row = RunRow(
            hospital_id=hospital_id,
            patient_id=patient_id,
            run_number=run_number,
            mode=r.mode,
            ecpr=r.ecpr,
            indication=r.indication,
            indication_other=r.indication_other,
            diagnosis=r.diagnosis,
            status=r.status,
            emergency=r.emergency,
            attending_id=staff(_unknown_staff(r.attending_id)) if r.attending_id else None,
            ward=r.ward,
            bed=r.bed,
            created_at=now,
            created_by_id=created_by_id,
            decided_at=r.decided_at,
            started_at=r.started_at,
            ended_at=r.ended_at,
            end_reason=r.end_reason,
            survived_28d=r.survived_28d,
            discharged_alive=r.discharged_alive,
            date_of_death=r.date_of_death,
            source="import",
        )
        self.session.add(run_row)
        self.session.flush()
        rid = run_row.id

        def record(model: type[T], fact: Any, **fields: Any) -> T:
            signer = getattr(fact, "signed_by", None)
            return model(
                run_id=rid,
                status=fact.status,
                created_at=now,
                updated_at=now,  # type: ignore[call-arg]
                signed_at=fact.signed_at,
                signed_by_id=staff(signer) if signer else None,
                created_by_id=created_by_id,
                **fields,
            )

        decision_ids: dict[int, DecisionRow] = {}
        for d in case.decisions:
            for p in d.physicians:
                if p.expert_at_decision:
                    self._ensure_member(staff(p.staff), d.decided_at)
            row = record(
                DecisionRow,
                d,
                kind=d.kind,
                emergency=d.emergency,
                decided_at=d.decided_at,
                mode_planned=d.mode_planned,
                indication=d.indication,
                indication_other=d.indication_other,
                rationale=d.rationale,
                pre_ecmo=dict(d.pre_ecmo),
                contraindications=dict(d.contraindications),
                supplement_deadline=d.supplement_deadline,
                physicians=[
                    DecisionPhysicianRow(staff_id=staff(p.staff), role=p.role, position=p.position)
                    for p in d.physicians
                ],
            )
            self.session.add(row)
            decision_ids[d.id] = row
        self.session.flush()
        for d in case.decisions:
            if d.supplement_of_id is not None and d.supplement_of_id in decision_ids:
                decision_ids[d.id].supplement_of_id = decision_ids[d.supplement_of_id].id

        for cs in case.consents:
            self.session.add(
                record(
                    ConsentRow,
                    cs,
                    explained_by_id=staff(cs.explained_by),
                    signer_name=cs.signer_name,
                    relationship_to_patient=cs.relationship,
                    signed_on_paper_at=cs.signed_on_paper_at,
                    refused=cs.refused,
                    notes=cs.notes,
                )
            )

        procedure_rows: dict[int, ProcedureRow] = {}
        for pr in case.procedures:
            prow = record(
                ProcedureRow,
                pr,
                kind=pr.kind,
                started_at=pr.started_at,
                flow_at=pr.flow_at,
                ended_at=pr.ended_at,
                location=pr.location,
                technique=pr.technique,
                guidance=pr.guidance,
                mode_before=pr.mode_before,
                mode_after=pr.mode_after,
                reason=pr.reason,
                settings=dict(pr.settings),
                immediate_complications=list(pr.immediate_complications),
                notes=pr.notes,
                staff=_unique_staff_rows(pr.staff, staff),
            )
            self.session.add(prow)
            procedure_rows[pr.id] = prow
        self.session.flush()

        usage_rows: dict[int, UsageRow] = {}
        item_ids: dict[int, int] = {}
        for u in case.devices:
            item_id = self._item_for(u, now)
            item_ids[u.item_id] = item_id
            proc = procedure_rows.get(u.procedure_id) if u.procedure_id is not None else None
            urow = UsageRow(
                item_id=item_id,
                run_id=rid,
                procedure_id=proc.id if proc else None,
                single_use=u.single_use,
                bound_at=u.bound_at,
                bound_by_id=staff(u.bound_by),
                scanned_text=u.scanned_text,
                override_reason=u.override_reason,
                warnings=u.warnings,
                removed_at=u.removed_at,
                removal_reason=u.removal_reason,
            )
            self.session.add(urow)
            self.session.flush()
            usage_rows[u.id] = urow

        for pr in case.procedures:
            prow = procedure_rows[pr.id]
            for cann in pr.cannulae:
                usage = usage_rows.get(cann.device_usage_id) if cann.device_usage_id is not None else None
                self.session.add(
                    CannulaRow(
                        procedure_id=prow.id,
                        position=cann.position,
                        role=cann.role,
                        vessel=cann.vessel,
                        side=cann.side,
                        size_fr=cann.size_fr,
                        length_cm=cann.length_cm,
                        depth_cm=cann.depth_cm,
                        tip_position=cann.tip_position,
                        device_usage_id=usage.id if usage else None,
                        removed_at=cann.removed_at,
                    )
                )

        for e in case.daily:
            self.session.add(
                record(
                    DailyEntryRow,
                    e,
                    recorded_at=e.recorded_at,
                    ecmo_day=e.ecmo_day,
                    author_role=e.author_role,
                    mode=e.mode,
                    values=dict(e.values),
                    checks=dict(e.checks),
                    notes=e.notes,
                )
            )
        for c in case.complications:
            proc = procedure_rows.get(c.procedure_id) if c.procedure_id is not None else None
            self.session.add(
                record(
                    ComplicationRow,
                    c,
                    code=c.code,
                    other_text=c.other_text,
                    onset_at=c.onset_at,
                    severity=c.severity,
                    treatment=c.treatment,
                    resolved_at=c.resolved_at,
                    resolution=c.resolution,
                    adverse_event=c.adverse_event,
                    device_item_id=item_ids.get(c.device_item_id) if c.device_item_id else None,
                    procedure_id=proc.id if proc else None,
                )
            )
        for w in case.weaning_trials:
            self.session.add(
                record(
                    WeaningTrialRow,
                    w,
                    started_at=w.started_at,
                    ended_at=w.ended_at,
                    flow_to=w.flow_to,
                    sweep_to=w.sweep_to,
                    fdo2_to=w.fdo2_to,
                    values=dict(w.values),
                    passed=w.passed,
                    notes=w.notes,
                )
            )
        for f in case.follow_ups:
            self.session.add(
                record(
                    FollowUpRow,
                    f,
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
                    notes=f.notes,
                )
            )
        for eq in case.equipment:
            equipment_id = self._equipment_for(hospital_id, eq, now)
            self.session.add(
                RunEquipmentRow(
                    run_id=rid,
                    equipment_id=equipment_id,
                    from_at=eq.from_at,
                    to_at=eq.to_at,
                    linked_by_id=staff(_unknown_staff(0)),
                )
            )
        self.session.flush()
        return mapping.run(run_row)

    def _ensure_member(self, staff_id: int, at: datetime) -> None:
        """Record that an imported physician was an expert-group member when a decision was made.

        The source hospital's membership is known only at its decisions, so the import stores a
        one-second membership at each; it is closed, so it never joins this hospital's current group.
        """
        spans = self.session.execute(
            select(ExpertMembershipRow.joined_at, ExpertMembershipRow.left_at).where(
                ExpertMembershipRow.staff_id == staff_id
            )
        )
        if any(joined <= at and (left is None or at < left) for joined, left in spans):
            return
        self.session.add(
            ExpertMembershipRow(staff_id=staff_id, joined_at=at, left_at=at + timedelta(seconds=1))
        )
        self.session.flush()

    def _item_for(self, u: DeviceInfo, now: datetime) -> int:
        """The physical item (same item key = same item), its product found by GTIN/DI or by name."""
        if u.item_key:
            existing = self.session.scalars(select(ItemRow.id).where(ItemRow.item_key == u.item_key)).first()
            if existing is not None:
                return existing
        product = None
        if u.gtin:
            product = self.session.scalars(select(ProductRow).where(ProductRow.gtin == u.gtin)).first()
        if product is None and u.udi_di:
            product = self.session.scalars(select(ProductRow).where(ProductRow.udi_di == u.udi_di)).first()
        if product is None and not (u.gtin or u.udi_di):
            product = self.session.scalars(
                select(ProductRow).where(
                    ProductRow.name == u.product_name,
                    ProductRow.model == u.model,
                    ProductRow.manufacturer == u.manufacturer,
                    ProductRow.gtin.is_(None),
                    ProductRow.udi_di.is_(None),
                )
            ).first()
        if product is None:
            product = ProductRow(
                category=u.category,
                name=u.product_name,
                manufacturer=u.manufacturer,
                model=u.model,
                gtin=u.gtin,
                udi_di=u.udi_di,
                nmpa_number=u.nmpa_number,
                single_use=u.single_use,
                active=True,
                created_at=now,
            )
            self.session.add(product)
            self.session.flush()
        item = ItemRow(
            product_id=product.id,
            item_key=u.item_key,
            serial=u.serial,
            lot=u.lot,
            expiry=u.expiry,
            production_date=u.production_date,
            raw_code=u.raw_code,
            symbology=u.symbology,
            created_at=now,
        )
        self.session.add(item)
        self.session.flush()
        return item.id

    def _refuse_reuse(self, case: CaseFacts) -> None:
        """R6 across hospitals: checked before any insert, so a PostgreSQL transaction stays usable."""
        keys = [u.item_key for u in case.devices if u.single_use and u.item_key]
        doubled = {k for k in keys if keys.count(k) > 1}
        if doubled:
            raise IntegrityConflict(
                N_("一次性器械 {item} 在同一例中被绑定两次（R6）"),
                constraint="uq_device_usage_single_use",
                item=min(doubled),
            )
        for key in keys:
            taken = self.session.scalars(
                select(UsageRow.id)
                .join(ItemRow, ItemRow.id == UsageRow.item_id)
                .where(ItemRow.item_key == key, UsageRow.single_use, UsageRow.voided_at.is_(None))
            ).first()
            if taken is not None:
                raise IntegrityConflict(
                    N_("一次性器械 {item} 已绑定到另一例 ECMO（R6），不能重复导入"),
                    constraint="uq_device_usage_single_use",
                    item=key,
                )

    def _equipment_for(self, hospital_id: int, eq: RunEquipmentFact, now: datetime) -> int:
        existing = self.session.scalars(
            select(EquipmentRow.id).where(
                EquipmentRow.hospital_id == hospital_id, EquipmentRow.serial == eq.serial
            )
        ).first()
        if existing is not None:
            return existing
        return self.add_equipment(
            hospital_id=hospital_id,
            kind=eq.kind,
            model=eq.model,
            manufacturer=eq.manufacturer,
            serial=eq.serial,
            purchase_date=None,
            active=True,
            notes="",
            now=now,
        )

    def equipment_exists(self, hospital_id: int, serial: str) -> bool:
        return (
            self.session.scalars(
                select(EquipmentRow.id).where(
                    EquipmentRow.hospital_id == hospital_id, EquipmentRow.serial == serial
                )
            ).first()
            is not None
        )

    def add_equipment(
        self,
        *,
        hospital_id: int,
        kind: str,
        model: str,
        manufacturer: str,
        serial: str,
        purchase_date: date | None,
        active: bool,
        notes: str,
        now: datetime,
    ) -> int:
        row = EquipmentRow(
            hospital_id=hospital_id,
            kind=kind,
            model=model,
            manufacturer=manufacturer,
            serial=serial,
            purchase_date=purchase_date,
            active=active,
            notes=notes,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row.id


def _unique_staff_rows(entries: Sequence[TeamMember], staff: StaffResolver) -> list[ProcedureStaffRow]:
    """(staff, role) is the table's key: the same person twice in one role is stored once."""
    seen: set[tuple[int, str]] = set()
    rows: list[ProcedureStaffRow] = []
    for entry in entries:
        key = (staff(entry.staff), entry.role)
        if key not in seen:
            seen.add(key)
            rows.append(ProcedureStaffRow(staff_id=key[0], role=key[1]))
    return rows
