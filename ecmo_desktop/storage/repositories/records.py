"""The clinical record: decisions, consent, procedures, daily entries, complications, weaning trials,
follow-ups, their signatures and amendment history, plus the cross-run queries of the worklist and
the compliance checklist.

Writing is one typed method per record kind, taking the validated values of
``domain/record_inputs.py``; reading is one generic path (entity name → table) for all seven kinds,
which share the columns of ``ClinicalRecord``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import String, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from ecmo_desktop.domain.compliance import DeviceFacts
from ecmo_desktop.domain.enums import RecordStatus
from ecmo_desktop.domain.record_inputs import (
    ComplicationValues,
    ConsentValues,
    DailyValues,
    DecisionValues,
    FollowUpValues,
    ProcedureValues,
    Stamp,
    WeaningValues,
)
from ecmo_desktop.domain.records import (
    AnyRecord,
    Complication,
    Consent,
    DailyEntry,
    Decision,
    FollowUp,
    Procedure,
    RecordRef,
    RecordVersion,
    Signature,
    WeaningTrial,
)
from ecmo_desktop.domain.worklist import WorkFilter, WorkKey, WorkRow
from ecmo_desktop.storage import mapping_records
from ecmo_desktop.storage.orm.devices import UsageRow
from ecmo_desktop.storage.orm.documents import DocumentRow
from ecmo_desktop.storage.orm.records import (
    CannulaRow,
    ClinicalRecord,
    ComplicationRow,
    ConsentRow,
    DailyEntryRow,
    DecisionPhysicianRow,
    DecisionRow,
    FollowUpRow,
    ProcedureRow,
    ProcedureStaffRow,
    RecordVersionRow,
    SignatureRow,
    WeaningTrialRow,
)
from ecmo_desktop.storage.repositories.base import Repository
from ecmo_desktop.storage.repositories.staff import StaffDirectory
from ecmo_desktop.storage.repositories.worklist import WorklistQueries

ROWS: dict[str, type[ClinicalRecord]] = {
    "decision": DecisionRow,
    "consent": ConsentRow,
    "procedure": ProcedureRow,
    "daily_entry": DailyEntryRow,
    "complication": ComplicationRow,
    "weaning_trial": WeaningTrialRow,
    "follow_up": FollowUpRow,
}
MAPPERS: dict[str, Callable[[Any, Any], AnyRecord]] = {
    "decision": mapping_records.decision,
    "consent": mapping_records.consent,
    "procedure": mapping_records.procedure,
    "daily_entry": mapping_records.daily_entry,
    "complication": mapping_records.complication,
    "weaning_trial": mapping_records.weaning_trial,
    "follow_up": mapping_records.follow_up,
}
_ENTITY_OF: dict[type[Any], str] = {row: entity for entity, row in ROWS.items()}
WHAT: dict[str, str] = {
    "decision": "决策记录",
    "consent": "知情同意",
    "procedure": "操作记录",
    "daily_entry": "日常管理记录",
    "complication": "并发症记录",
    "weaning_trial": "撤机试验",
    "follow_up": "随访",
}
ORDER: dict[str, Any] = {
    "decision": DecisionRow.decided_at,
    "consent": ConsentRow.signed_on_paper_at,
    "procedure": ProcedureRow.started_at,
    "daily_entry": DailyEntryRow.recorded_at,
    "complication": ComplicationRow.onset_at,
    "weaning_trial": WeaningTrialRow.started_at,
    "follow_up": FollowUpRow.due_date,
}
# Test seam of the multi-PC race tests (tests/storage/record_race_worker.py): when set, called at the start
# of every record update, inside the transaction and after the service has read and checked the row, so
# a test can hold two transactions at exactly that point. Always None in the application.
before_update: Callable[[str, int], None] | None = None

# generated documents that are operation notes (R8); the documents feature owns the kinds
OPERATION_NOTE_KINDS = ("operation_note", "op_note", "opnote")
CANNULA_FIELDS = (
    "role",
    "vessel",
    "side",
    "size_fr",
    "length_cm",
    "depth_cm",
    "tip_position",
    "device_usage_id",
)
# the children of a record, written by their own helpers rather than as columns
_CHILDREN = frozenset({"physicians", "staff", "cannulae"})
RowT = TypeVar("RowT", bound=ClinicalRecord)


def _columns(values: object) -> dict[str, Any]:
    """The column values of a validated ``*Values`` (domain/record_inputs.py), children left out."""
    assert is_dataclass(values)
    return {f.name: getattr(values, f.name) for f in fields(values) if f.name not in _CHILDREN}


def _edited(stamp: Stamp, values: object) -> dict[str, Any]:
    """A person's save: the new values, back to draft and unsigned (a signed one was amended)."""
    return {
        **_columns(values),
        "status": RecordStatus.DRAFT.value,
        "signed_at": None,
        "signed_by_id": None,
        "updated_at": stamp.at,
        "updated_by_id": stamp.by_id,
    }


class SqlRecordRepository(Repository):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.people = StaffDirectory(session)

    def _row(self, entity: str, record_id: int) -> Any:
        return self._get(ROWS[entity], record_id, WHAT[entity])

    def _map(self, entity: str, row: Any) -> AnyRecord:
        return MAPPERS[entity](row, self.people)

    # ---- records: writing, one typed method per kind ----------------------------------------------------
    def add_decision(self, run_id: int, stamp: Stamp, values: DecisionValues) -> Decision:
        row = self._insert(DecisionRow, run_id, stamp, values)
        self._set_physicians(row, values.physicians)
        self.session.flush()
        return mapping_records.decision(row, self.people)

    def update_decision(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: DecisionValues
    ) -> Decision:
        row = self._edit(DecisionRow, record_id, expected_version, _edited(stamp, values))
        self._set_physicians(row, values.physicians)
        self.session.flush()
        return mapping_records.decision(row, self.people)

    def add_consent(self, run_id: int, stamp: Stamp, values: ConsentValues) -> Consent:
        row = self._insert(ConsentRow, run_id, stamp, values)
        self.session.flush()
        return mapping_records.consent(row, self.people)

    def update_consent(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: ConsentValues
    ) -> Consent:
        row = self._edit(ConsentRow, record_id, expected_version, _edited(stamp, values))
        self.session.flush()
        return mapping_records.consent(row, self.people)

    def add_procedure(self, run_id: int, stamp: Stamp, values: ProcedureValues) -> Procedure:
        row = self._insert(ProcedureRow, run_id, stamp, values)
        self._set_procedure_children(row, values)
        self.session.flush()
        return mapping_records.procedure(row, self.people)

    def update_procedure(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: ProcedureValues
    ) -> Procedure:
        row = self._edit(ProcedureRow, record_id, expected_version, _edited(stamp, values))
        self._set_procedure_children(row, values)
        self.session.flush()
        return mapping_records.procedure(row, self.people)

    def add_daily_entry(
        self, run_id: int, stamp: Stamp, values: DailyValues, *, author_role: str
    ) -> DailyEntry:
        row = self._insert(DailyEntryRow, run_id, stamp, values, author_role=author_role)
        self.session.flush()
        return mapping_records.daily_entry(row, self.people)

    def update_daily_entry(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: DailyValues
    ) -> DailyEntry:
        row = self._edit(DailyEntryRow, record_id, expected_version, _edited(stamp, values))
        self.session.flush()
        return mapping_records.daily_entry(row, self.people)

    def set_ecmo_day(self, record_id: int, *, expected_version: int, ecmo_day: int) -> DailyEntry:
        """Re-derived when the run's start is corrected (bookkeeping: no signature is touched)."""
        row = self._edit(DailyEntryRow, record_id, expected_version, {"ecmo_day": ecmo_day})
        self.session.flush()
        return mapping_records.daily_entry(row, self.people)

    def add_complication(self, run_id: int, stamp: Stamp, values: ComplicationValues) -> Complication:
        row = self._insert(ComplicationRow, run_id, stamp, values)
        self.session.flush()
        return mapping_records.complication(row, self.people)

    def update_complication(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: ComplicationValues
    ) -> Complication:
        row = self._edit(ComplicationRow, record_id, expected_version, _edited(stamp, values))
        self.session.flush()
        return mapping_records.complication(row, self.people)

    def add_weaning_trial(self, run_id: int, stamp: Stamp, values: WeaningValues) -> WeaningTrial:
        row = self._insert(WeaningTrialRow, run_id, stamp, values)
        self.session.flush()
        return mapping_records.weaning_trial(row, self.people)

    def update_weaning_trial(
        self, record_id: int, *, expected_version: int, stamp: Stamp, values: WeaningValues
    ) -> WeaningTrial:
        row = self._edit(WeaningTrialRow, record_id, expected_version, _edited(stamp, values))
        self.session.flush()
        return mapping_records.weaning_trial(row, self.people)

    def add_follow_up(
        self, run_id: int, stamp: Stamp, *, kind: str, due_date: date, values: FollowUpValues
    ) -> FollowUp:
        row = self._insert(FollowUpRow, run_id, stamp, values, kind=kind, due_date=due_date)
        self.session.flush()
        return mapping_records.follow_up(row, self.people)

    def update_follow_up(
        self,
        record_id: int,
        *,
        expected_version: int,
        stamp: Stamp,
        values: FollowUpValues,
        due_date: date | None = None,
        reopen: bool = True,
    ) -> FollowUp:
        """A person's result (``reopen``: back to draft, unsigned), or the system re-dating or closing
        a scheduled one (``reopen=False``: its status and signature stay as they are)."""
        changes = (
            _edited(stamp, values)
            if reopen
            else {**_columns(values), "updated_at": stamp.at, "updated_by_id": stamp.by_id}
        )
        if due_date is not None:
            changes["due_date"] = due_date
        row = self._edit(FollowUpRow, record_id, expected_version, changes)
        self.session.flush()
        return mapping_records.follow_up(row, self.people)

    def set_supplement_deadline(
        self, record_id: int, *, expected_version: int, deadline: datetime | None
    ) -> Decision:
        """R2's 12-hour deadline, derived from the run's first flow (bookkeeping: not content)."""
        row = self._edit(DecisionRow, record_id, expected_version, {"supplement_deadline": deadline})
        self.session.flush()
        return mapping_records.decision(row, self.people)

    def sign(
        self, entity: str, record_id: int, *, expected_version: int, signed_at: datetime, signed_by_id: int
    ) -> AnyRecord:
        """Lock the record as signed (the signature row is ``add_signature``)."""
        row = self._edit(
            ROWS[entity],
            record_id,
            expected_version,
            {"status": RecordStatus.SIGNED.value, "signed_at": signed_at, "signed_by_id": signed_by_id},
            entity=entity,
        )
        self.session.flush()
        return self._map(entity, row)

    def _insert(self, model: type[RowT], run_id: int, stamp: Stamp, values: object, **extra: Any) -> RowT:
        row = model()
        self._apply(
            row,
            {
                "run_id": run_id,
                "status": RecordStatus.DRAFT.value,
                "created_at": stamp.at,
                "updated_at": stamp.at,
                "created_by_id": stamp.by_id,
                "updated_by_id": stamp.by_id,
                **_columns(values),
                **extra,
            },
        )
        self.session.add(row)
        return row

    def _edit(
        self,
        model: type[RowT],
        record_id: int,
        expected_version: int,
        changes: dict[str, Any],
        *,
        entity: str | None = None,
    ) -> RowT:
        """Every record update: the race-test seam, the version the user saw (REL-11), the new values."""
        name = entity or _ENTITY_OF[model]
        if before_update is not None:
            before_update(name, record_id)
        row = self._get(model, record_id, WHAT[name])
        self._check_version(row, expected_version)
        self._apply(row, changes)
        return row

    @staticmethod
    def _set_physicians(row: DecisionRow, physicians: Sequence[tuple[int, str]]) -> None:
        """Children are edited in place (same keys keep their rows), so links to them survive."""
        existing = {p.staff_id: p for p in row.physicians}
        wanted: list[DecisionPhysicianRow] = []
        for position, (staff_id, role) in enumerate(physicians):
            child = existing.get(staff_id) or DecisionPhysicianRow(staff_id=staff_id)
            child.role, child.position = role, position
            wanted.append(child)
        row.physicians = wanted

    @staticmethod
    def _set_procedure_children(row: ProcedureRow, values: ProcedureValues) -> None:
        """Staff by (person, role) and cannulae by position are kept in place, so device links survive."""
        current = {(s.staff_id, s.role): s for s in row.staff}
        row.staff = [
            current.get((sid, role)) or ProcedureStaffRow(staff_id=sid, role=role)
            for sid, role in values.staff
        ]
        rows = list(row.cannulae)
        for position, cannula in enumerate(values.cannulae):
            if position < len(rows):
                child = rows[position]
            else:
                child = CannulaRow(position=position)
                rows.append(child)
            for key in CANNULA_FIELDS:
                setattr(child, key, getattr(cannula, key))
        row.cannulae = rows[: len(values.cannulae)]

    def get(self, entity: str, record_id: int) -> AnyRecord:
        return self._map(entity, self._row(entity, record_id))

    def many(self, entity: str, ids: Sequence[int]) -> dict[int, AnyRecord]:
        """Records by id, a chunk per query (children by select-in): ``verify`` checks every signature."""
        model = ROWS[entity]
        out: dict[int, AnyRecord] = {}
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 500):
            for row in self.session.scalars(select(model).where(model.id.in_(wanted[start : start + 500]))):
                out[row.id] = self._map(entity, row)
        return out

    def for_run(self, entity: str, run_id: int) -> list[AnyRecord]:
        model = ROWS[entity]
        rows = self.session.scalars(
            select(model).where(model.run_id == run_id).order_by(ORDER[entity], model.id)
        )
        return [self._map(entity, r) for r in rows]

    # ---- signatures and versions ----------------------------------------------------------------------
    def add_signature(
        self,
        *,
        entity: str,
        entity_id: int,
        record_version: int,
        signer_id: int,
        signer_name: str,
        meaning: str,
        signed_at: datetime,
        content_hash: str,
    ) -> Signature:
        row = SignatureRow(
            entity=entity,
            entity_id=entity_id,
            record_version=record_version,
            signer_id=signer_id,
            signer_name=signer_name,
            meaning=meaning,
            signed_at=signed_at,
            content_hash=content_hash,
            state="valid",
        )
        self.session.add(row)
        self.session.flush()
        return mapping_records.signature(row)

    def signatures(
        self,
        *,
        entity: str | None = None,
        entity_id: int | None = None,
        state: str | None = None,
        run_id: int | None = None,
    ) -> list[Signature]:
        stmt = select(SignatureRow).order_by(SignatureRow.id)
        if entity is not None:
            stmt = stmt.where(SignatureRow.entity == entity)
        if entity_id is not None:
            stmt = stmt.where(SignatureRow.entity_id == entity_id)
        if state is not None:
            stmt = stmt.where(SignatureRow.state == state)
        rows = list(self.session.scalars(stmt))
        if run_id is not None:
            owned = {(r.entity, r.entity_id) for r in self.signed_records(run_id=run_id, any_status=True)}
            rows = [r for r in rows if (r.entity, r.entity_id) in owned]
        return [mapping_records.signature(r) for r in rows]

    def supersede_signatures(self, entity: str, entity_id: int) -> list[Signature]:
        rows = list(
            self.session.scalars(
                select(SignatureRow).where(
                    SignatureRow.entity == entity,
                    SignatureRow.entity_id == entity_id,
                    SignatureRow.state == "valid",
                )
            )
        )
        for row in rows:
            row.state = "superseded"
        self.session.flush()
        return [mapping_records.signature(r) for r in rows]

    def _refs(
        self, condition: Callable[[Any], Any], *, run_id: int | None, limit: int | None
    ) -> list[RecordRef]:
        parts = []
        for entity, model in ROWS.items():
            stmt = select(
                literal(entity, String(32)).label("entity"),
                model.id.label("id"),
                model.run_id.label("run_id"),
                model.created_by_id.label("created_by_id"),
                model.created_at.label("created_at"),
            ).where(condition(model))
            if run_id is not None:
                stmt = stmt.where(model.run_id == run_id)
            parts.append(stmt)
        sub = union_all(*parts).subquery()
        query = select(sub).order_by(sub.c.created_at, sub.c.id)
        if limit is not None:
            query = query.limit(limit)
        return [
            RecordRef(str(r.entity), r.id, r.run_id, r.created_by_id, r.created_at)
            for r in self.session.execute(query)
        ]

    def signed_records(self, *, run_id: int | None = None, any_status: bool = False) -> list[RecordRef]:
        if any_status:
            return self._refs(lambda m: m.id.isnot(None), run_id=run_id, limit=None)
        return self._refs(lambda m: m.status == "signed", run_id=run_id, limit=None)

    def add_version(
        self,
        *,
        entity: str,
        entity_id: int,
        version: int,
        content: dict[str, Any],
        replaced_at: datetime,
        replaced_by_id: int | None,
        reason: str,
    ) -> RecordVersion:
        row = RecordVersionRow(
            entity=entity,
            entity_id=entity_id,
            version=version,
            content=content,
            replaced_at=replaced_at,
            replaced_by_id=replaced_by_id,
            reason=reason,
        )
        self.session.add(row)
        self.session.flush()
        return mapping_records.record_version(row)

    def versions(self, entity: str, entity_id: int) -> list[RecordVersion]:
        rows = self.session.scalars(
            select(RecordVersionRow)
            .where(RecordVersionRow.entity == entity, RecordVersionRow.entity_id == entity_id)
            .order_by(RecordVersionRow.version, RecordVersionRow.id)
        )
        return [mapping_records.record_version(r) for r in rows]

    # ---- worklist (the SQL is in storage/repositories/worklist.py) -------------------------------------
    def work_counts(self, work: WorkFilter, kinds: Sequence[str] | None = None) -> dict[str, int]:
        """How many items of each kind (or of ``kinds``) the worklist has, for the whole ward
        (storage/repositories/worklist.py)."""
        return WorklistQueries(self.session).counts(work, kinds)

    def work_page(self, kind: str, work: WorkFilter, *, after: WorkKey | None, limit: int) -> list[WorkRow]:
        """One page of one kind of worklist item, after ``after`` in the kind's order (keyset)."""
        return WorklistQueries(self.session).page(kind, work, after=after, limit=limit)

    # ---- compliance ----------------------------------------------------------------------------------------
    def device_facts(self, run_id: int) -> DeviceFacts:
        bound = (
            self.session.scalar(
                select(func.count(UsageRow.id)).where(UsageRow.run_id == run_id, UsageRow.voided_at.is_(None))
            )
            or 0
        )
        other = aliased(UsageRow)
        reused = (
            self.session.scalar(
                select(func.count(UsageRow.id)).where(
                    UsageRow.run_id == run_id,
                    UsageRow.voided_at.is_(None),
                    UsageRow.single_use,
                    select(other.id)
                    .where(
                        other.item_id == UsageRow.item_id, other.run_id != run_id, other.voided_at.is_(None)
                    )
                    .exists(),
                )
            )
            or 0
        )
        notes = (
            self.session.scalar(
                select(func.count(DocumentRow.id)).where(
                    DocumentRow.run_id == run_id, DocumentRow.kind.in_(OPERATION_NOTE_KINDS)
                )
            )
            or 0
        )
        complete: bool | None = None
        if notes:  # R8: every active binding printed with its barcode on some operation note
            from ecmo_desktop.storage.repositories.documents import SqlDocumentRepository

            _count, active, printed = SqlDocumentRepository(self.session).operation_note_coverage(run_id)
            complete = active <= printed
        return DeviceFacts(
            bound=int(bound),
            reused=int(reused),
            operation_notes=int(notes),
            operation_notes_complete=complete,
        )

    def participation(self) -> dict[int, dict[int, set[str]]]:
        """staff → run → the phases of R14's whole process they took part in."""
        out: dict[int, dict[int, set[str]]] = {}

        def add(rows: Any, phase: str) -> None:
            for staff_id, run_id in rows:
                if staff_id is not None:
                    out.setdefault(staff_id, {}).setdefault(run_id, set()).add(phase)

        for kind, phase in (("start", "decision"), ("wean", "weaning")):
            add(
                self.session.execute(
                    select(DecisionPhysicianRow.staff_id, DecisionRow.run_id)
                    .join(DecisionRow, DecisionRow.id == DecisionPhysicianRow.decision_id)
                    .where(DecisionRow.kind == kind)
                ),
                phase,
            )
        for kind, phase in (("cannulation", "cannulation"), ("decannulation", "weaning")):
            add(
                self.session.execute(
                    select(ProcedureStaffRow.staff_id, ProcedureRow.run_id)
                    .join(ProcedureRow, ProcedureRow.id == ProcedureStaffRow.procedure_id)
                    .where(ProcedureRow.kind == kind)
                ),
                phase,
            )
        for model, phase in ((DailyEntryRow, "daily"), (WeaningTrialRow, "weaning")):
            for column in (model.created_by_id, model.signed_by_id):
                add(self.session.execute(select(column, model.run_id).distinct()), phase)
        for column in (FollowUpRow.updated_by_id, FollowUpRow.signed_by_id):
            add(
                self.session.execute(
                    select(column, FollowUpRow.run_id).where(FollowUpRow.fu_status != "due").distinct()
                ),
                "follow_up",
            )
        return out
