"""The worklist's SQL: one count per kind of task for the whole ward, and keyset pages of one kind.

Every kind is a query over the records with the thresholds of a ``WorkFilter`` bound as parameters,
joined to its run and patient, so neither the counts nor a page load the ward into Python. A group's
order is split into segments (missing consent: emergency runs already on ECMO by start time, then
runs waiting to start); a page reads the segment its key is in, then the next, each by key. Both
backends run the same statements (the key comparison is spelled out, not a row-value tuple, so the
UTC timestamp type binds each value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Select, String, and_, func, literal, not_, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from ecmo_desktop.domain.enums import RunStatus
from ecmo_desktop.domain.records import AUTO_CLOSED_NOTE, WorkKind
from ecmo_desktop.domain.worklist import WorkFilter, WorkKey, WorkRow
from ecmo_desktop.storage.orm.devices import ProductRequestRow
from ecmo_desktop.storage.orm.people import PatientRow, StaffRow
from ecmo_desktop.storage.orm.records import (
    ComplicationRow,
    ConsentRow,
    DailyEntryRow,
    DecisionRow,
    FollowUpRow,
    ProcedureRow,
    WeaningTrialRow,
)
from ecmo_desktop.storage.orm.runs import RunRow

PLANNED, ON_ECMO, CANCELLED = RunStatus.PLANNED.value, RunStatus.ON_ECMO.value, RunStatus.CANCELLED.value
DRAFT_ROWS: dict[str, type[Any]] = {
    "decision": DecisionRow,
    "consent": ConsentRow,
    "procedure": ProcedureRow,
    "daily_entry": DailyEntryRow,
    "complication": ComplicationRow,
    "weaning_trial": WeaningTrialRow,
    "follow_up": FollowUpRow,
}
_SUPPLEMENT = aliased(DecisionRow, name="supplement")  # built once: an alias costs milliseconds to make
_WHO = (
    RunRow.id.label("run_id"),
    PatientRow.mrn,
    PatientRow.name,
    RunRow.ward,
    RunRow.bed,
    RunRow.status.label("run_status"),
)


def _after(columns: Sequence[Any], values: Sequence[Any]) -> Any:
    """``(c1, c2, …) > (v1, v2, …)`` written out, so each value binds with its column's type."""
    terms = []
    for i, (column, value) in enumerate(zip(columns, values, strict=True)):
        equal = [c == v for c, v in zip(columns[:i], values[:i], strict=True)]
        terms.append(and_(*equal, column > value))
    return or_(*terms)


class _Segment:
    """One ordered part of a group: its query, its sort columns and how a row becomes a ``WorkRow``."""

    def __init__(
        self,
        stmt: Any,  # a Select of the segment's rows (its column types differ per kind)
        order: Sequence[Any],
        key: Callable[[Any], WorkKey],
        row: Callable[[Any, WorkKey], WorkRow],
        key_values: Callable[[WorkKey], Sequence[Any]],
    ) -> None:
        self.stmt, self.order, self.key, self.row, self.key_values = stmt, order, key, row, key_values


class WorklistQueries:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- the sets, as WHERE clauses over the joined rows ------------------------------------------------
    @staticmethod
    def _no_consent() -> Any:
        return (
            ~select(ConsentRow.id)
            .where(ConsentRow.run_id == RunRow.id, ConsentRow.refused.is_(False))
            .exists()
        )

    def _consent_segments(self, f: WorkFilter) -> tuple[Any, Any]:
        """(emergency runs on ECMO with a start time, runs waiting to start or without a start time)."""
        on_ecmo = and_(
            RunRow.status == ON_ECMO,
            RunRow.emergency.is_(True),
            RunRow.started_at.isnot(None),
            self._no_consent(),
        )
        waiting = and_(
            or_(
                RunRow.status == PLANNED,
                and_(RunRow.status == ON_ECMO, RunRow.emergency.is_(True), RunRow.started_at.is_(None)),
            ),
            self._no_consent(),
        )
        return on_ecmo, waiting

    @staticmethod
    def _no_daily(f: WorkFilter) -> Any:
        today = (
            select(DailyEntryRow.id)
            .where(DailyEntryRow.run_id == RunRow.id, DailyEntryRow.recorded_at >= f.start_of_today)
            .exists()
        )
        return and_(RunRow.status == ON_ECMO, ~today)

    @staticmethod
    def _unsupplemented(f: WorkFilter, overdue: bool) -> Any:
        """Emergency starts without a signed supplement, past (or not yet past) their 12-hour deadline.
        The signed supplements are one uncorrelated subquery (read once), not a lookup per decision."""
        supplement = _SUPPLEMENT
        signed = select(supplement.supplement_of_id).where(
            supplement.supplement_of_id.isnot(None), supplement.status == "signed"
        )
        deadline = (
            DecisionRow.supplement_deadline <= f.now if overdue else DecisionRow.supplement_deadline > f.now
        )
        return and_(
            DecisionRow.kind == "start",
            DecisionRow.emergency.is_(True),
            DecisionRow.supplement_of_id.is_(None),
            DecisionRow.supplement_deadline.isnot(None),
            DecisionRow.id.not_in(signed),
            RunRow.status != CANCELLED,
            deadline,
        )

    @staticmethod
    def _follow_up(f: WorkFilter, overdue: bool) -> Any:
        own = list(f.follow_up_overdue_before)
        late = or_(
            *[
                and_(FollowUpRow.kind == k, FollowUpRow.due_date < d)
                for k, d in f.follow_up_overdue_before.items()
            ],
            and_(FollowUpRow.kind.not_in(own), FollowUpRow.due_date < f.follow_up_overdue_default),
        )
        if overdue:
            return and_(FollowUpRow.fu_status == "due", late)
        return and_(FollowUpRow.fu_status == "due", FollowUpRow.due_date <= f.follow_up_due_until, not_(late))

    @staticmethod
    def _draft(model: Any, f: WorkFilter) -> Any:
        """A scheduled follow-up still due is a task, and one closed by the system after a recorded death
        is a consequence: neither waits for a signature."""
        cond = model.status == "draft"
        if model is FollowUpRow:
            cond = and_(cond, model.fu_status != "due", model.notes != AUTO_CLOSED_NOTE)
        if f.owner_id is not None:
            cond = and_(cond, model.created_by_id == f.owner_id)
        return cond

    def _drafts(self, f: WorkFilter) -> Any:
        parts = [
            select(
                literal(entity, String(32)).label("entity"),
                model.id.label("id"),
                model.run_id.label("run_id"),
                model.created_by_id.label("created_by_id"),
                model.created_at.label("created_at"),
            ).where(self._draft(model, f))
            for entity, model in DRAFT_ROWS.items()
        ]
        return union_all(*parts).subquery("drafts")

    # ---- counts -----------------------------------------------------------------------------------------
    def counts(self, f: WorkFilter, kinds: Sequence[str] | None = None) -> dict[str, int]:
        """Every kind's count (or those of ``kinds``) for the whole ward, in one statement (one round trip
        on PostgreSQL); only the counts asked for are built."""
        runs = select(func.count(RunRow.id))

        def decisions(overdue: bool) -> Any:
            return (
                select(func.count(DecisionRow.id))
                .join(RunRow, RunRow.id == DecisionRow.run_id)
                .where(self._unsupplemented(f, overdue))
            )

        def missing_consent() -> Any:  # both segments of the page
            return runs.where(
                RunRow.status.in_((PLANNED, ON_ECMO)),
                or_(RunRow.status == PLANNED, RunRow.emergency.is_(True)),
                self._no_consent(),
            )

        builders: dict[str, Callable[[], Any]] = {
            WorkKind.SUPPLEMENT_OVERDUE.value: lambda: decisions(True),
            WorkKind.SUPPLEMENT_DUE.value: lambda: decisions(False),
            WorkKind.MISSING_CONSENT.value: missing_consent,
            WorkKind.NO_DAILY_TODAY.value: lambda: runs.where(self._no_daily(f)),
            WorkKind.FOLLOW_UP_OVERDUE.value: lambda: select(func.count(FollowUpRow.id)).where(
                self._follow_up(f, True)
            ),
            WorkKind.FOLLOW_UP_DUE.value: lambda: select(func.count(FollowUpRow.id)).where(
                self._follow_up(f, False)
            ),
        }

        def drafts(model: Any) -> Callable[[], Any]:
            return lambda: select(func.count(model.id)).where(self._draft(model, f))

        for entity, model in DRAFT_ROWS.items():
            builders[f"draft:{entity}"] = drafts(model)
        if f.product_requests:
            builders[WorkKind.PRODUCT_REQUEST.value] = lambda: select(func.count(ProductRequestRow.id)).where(
                ProductRequestRow.status == "open"
            )

        def kind_of(name: str) -> str:
            return WorkKind.UNSIGNED_RECORD.value if name.startswith("draft:") else name

        names = [n for n in builders if kinds is None or kind_of(n) in kinds]
        if not names:
            return {}
        row: Any = self.session.execute(
            select(*[builders[n]().scalar_subquery().label(f"c{i}") for i, n in enumerate(names)])
        ).one()
        out: dict[str, int] = {}
        for name, value in zip(names, row, strict=True):
            out[kind_of(name)] = out.get(kind_of(name), 0) + int(value or 0)
        return out

    # ---- pages ------------------------------------------------------------------------------------------
    def page(self, kind: str, f: WorkFilter, *, after: WorkKey | None, limit: int) -> list[WorkRow]:
        """Up to ``limit`` items of one kind following ``after`` (from the start when None), in order."""
        out: list[WorkRow] = []
        for number, segment in enumerate(self._segments(kind, f)):
            if len(out) >= limit:
                break
            if after is not None and number < after.segment:
                continue
            stmt: Any = segment.stmt
            if after is not None and number == after.segment:
                stmt = stmt.where(_after(segment.order, segment.key_values(after)))
            stmt = stmt.order_by(*segment.order).limit(limit - len(out))
            for r in self.session.execute(stmt):
                out.append(segment.row(r, segment.key(r)))
        return out

    def _segments(self, kind: str, f: WorkFilter) -> list[_Segment]:
        def who(r: Any, key: WorkKey, **extra: Any) -> WorkRow:
            return WorkRow(
                kind=kind,
                key=key,
                run_id=r.run_id,
                mrn=r.mrn,
                patient_name=r.name,
                ward=r.ward,
                bed=r.bed,
                run_status=r.run_status,
                **extra,
            )

        def runs(where: Any, *extra: Any) -> Select[Any]:
            return (
                select(*_WHO, *extra)
                .select_from(RunRow)
                .join(PatientRow, PatientRow.id == RunRow.patient_id)
                .where(where)
            )

        if kind in (WorkKind.SUPPLEMENT_OVERDUE.value, WorkKind.SUPPLEMENT_DUE.value):
            stmt: Any = (
                select(*_WHO, DecisionRow.id.label("entity_id"), DecisionRow.supplement_deadline.label("at"))
                .select_from(DecisionRow)
                .join(RunRow, RunRow.id == DecisionRow.run_id)
                .join(PatientRow, PatientRow.id == RunRow.patient_id)
                .where(self._unsupplemented(f, kind == WorkKind.SUPPLEMENT_OVERDUE.value))
            )
            return [
                _Segment(
                    stmt,
                    (DecisionRow.supplement_deadline, RunRow.id, DecisionRow.id),
                    lambda r: WorkKey(0, r.at, r.run_id, "decision", r.entity_id),
                    lambda r, k: who(r, k, due_at=r.at, entity="decision", entity_id=r.entity_id),
                    lambda k: (k.at, k.run_id, k.entity_id),
                )
            ]
        if kind == WorkKind.MISSING_CONSENT.value:
            on_ecmo, waiting = self._consent_segments(f)
            return [
                _Segment(
                    runs(on_ecmo, RunRow.started_at.label("at"), RunRow.emergency),
                    (RunRow.started_at, RunRow.id),
                    lambda r: WorkKey(0, r.at, r.run_id),
                    lambda r, k: who(r, k, due_at=r.at, detail={"emergency": bool(r.emergency)}),
                    lambda k: (k.at, k.run_id),
                ),
                _Segment(
                    runs(waiting, RunRow.emergency),
                    (RunRow.id,),
                    lambda r: WorkKey(1, None, r.run_id),
                    lambda r, k: who(r, k, detail={"emergency": bool(r.emergency)}),
                    lambda k: (k.run_id,),
                ),
            ]
        if kind == WorkKind.NO_DAILY_TODAY.value:
            return [
                _Segment(
                    runs(self._no_daily(f)),
                    (RunRow.id,),
                    lambda r: WorkKey(0, None, r.run_id),
                    lambda r, k: who(r, k, due_at=f.end_of_today),
                    lambda k: (k.run_id,),
                )
            ]
        if kind in (WorkKind.FOLLOW_UP_OVERDUE.value, WorkKind.FOLLOW_UP_DUE.value):
            stmt = (
                select(
                    *_WHO,
                    FollowUpRow.id.label("entity_id"),
                    FollowUpRow.due_date.label("at"),
                    FollowUpRow.kind.label("fu_kind"),
                )
                .select_from(FollowUpRow)
                .join(RunRow, RunRow.id == FollowUpRow.run_id)
                .join(PatientRow, PatientRow.id == RunRow.patient_id)
                .where(self._follow_up(f, kind == WorkKind.FOLLOW_UP_OVERDUE.value))
            )
            return [
                _Segment(
                    stmt,
                    (FollowUpRow.due_date, RunRow.id, FollowUpRow.id),
                    lambda r: WorkKey(0, r.at, r.run_id, "follow_up", r.entity_id),
                    lambda r, k: who(
                        r,
                        k,
                        entity="follow_up",
                        entity_id=r.entity_id,
                        detail={"fu_kind": r.fu_kind, "due_date": r.at},
                    ),
                    lambda k: (k.at, k.run_id, k.entity_id),
                )
            ]
        if kind == WorkKind.UNSIGNED_RECORD.value:
            drafts = self._drafts(f)
            stmt = (
                select(
                    *_WHO,
                    drafts.c.entity,
                    drafts.c.id.label("entity_id"),
                    drafts.c.created_by_id,
                    drafts.c.created_at.label("at"),
                )
                .select_from(drafts)
                .join(RunRow, RunRow.id == drafts.c.run_id)
                .join(PatientRow, PatientRow.id == RunRow.patient_id)
            )
            return [
                _Segment(
                    stmt,
                    (drafts.c.created_at, RunRow.id, drafts.c.entity, drafts.c.id),
                    lambda r: WorkKey(0, r.at, r.run_id, str(r.entity), r.entity_id),
                    lambda r, k: who(
                        r,
                        k,
                        due_at=r.at,
                        entity=str(r.entity),
                        entity_id=r.entity_id,
                        owner_id=r.created_by_id,
                    ),
                    lambda k: (k.at, k.run_id, k.entity, k.entity_id),
                )
            ]
        if kind == WorkKind.PRODUCT_REQUEST.value and f.product_requests:
            stmt = (
                select(
                    *_WHO,
                    ProductRequestRow.id.label("entity_id"),
                    ProductRequestRow.requested_at.label("at"),
                    ProductRequestRow.device_identifier,
                    StaffRow.full_name.label("requested_by"),
                )
                .select_from(ProductRequestRow)
                .join(RunRow, RunRow.id == ProductRequestRow.run_id)
                .join(PatientRow, PatientRow.id == RunRow.patient_id)
                .join(StaffRow, StaffRow.id == ProductRequestRow.requested_by_id)
                .where(ProductRequestRow.status == "open")
            )
            return [
                _Segment(
                    stmt,
                    (ProductRequestRow.requested_at, RunRow.id, ProductRequestRow.id),
                    lambda r: WorkKey(0, r.at, r.run_id, "product_request", r.entity_id),
                    lambda r, k: who(
                        r,
                        k,
                        due_at=r.at,
                        entity="product_request",
                        entity_id=r.entity_id,
                        detail={"di": r.device_identifier, "who": r.requested_by},
                    ),
                    lambda k: (k.at, k.run_id, k.entity_id),
                )
            ]
        return []
