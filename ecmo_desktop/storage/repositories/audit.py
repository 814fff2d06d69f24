"""Appending to and reading the hash-chained audit trail."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, func, insert, inspect, or_, select, text

from ecmo_desktop.domain.audit_chain import GENESIS, chain_hash, jsonable
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.model import AuditEvent
from ecmo_desktop.storage import mapping
from ecmo_desktop.storage.engine import AUDIT_LOCK_IDLE_MS
from ecmo_desktop.storage.notify import CHANNEL
from ecmo_desktop.storage.orm.audit import AuditRow
from ecmo_desktop.storage.orm.base import Base, UTCDateTime
from ecmo_desktop.storage.orm.records import SignatureRow
from ecmo_desktop.storage.orm.runs import RunRow
from ecmo_desktop.storage.repositories.base import Repository
from ecmo_desktop.storage.repositories.records import MAPPERS, ROWS
from ecmo_desktop.storage.repositories.staff import StaffDirectory

_PG_AUDIT_LOCK = 7_286_001  # advisory lock id: one appender at a time across ward PCs


class SqlAuditRepository(Repository):
    def append(
        self,
        *,
        occurred_at: datetime,
        actor_id: int | None,
        actor_name: str,
        workstation: str,
        action: str,
        entity: str,
        entity_id: int | None,
        run_id: int | None,
        patient_id: int | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        reason: str | None,
        success: bool,
    ) -> AuditEvent:
        fields: dict[str, Any] = {
            "seq": 0,
            "occurred_at": occurred_at,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "workstation": workstation,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "run_id": run_id,
            "patient_id": patient_id,
            "before": jsonable(before),
            "after": jsonable(after),
            "reason": reason,
            "success": success,
        }
        if self.session.get_bind().dialect.name == "postgresql":
            event = self._append_postgresql(fields)
            if event is not None:
                return event
        # SQLite (its write transaction began IMMEDIATE: nobody else appends), or PostgreSQL after a
        # stale head, the lock held: the head read now is the real one
        last = self.session.execute(
            select(AuditRow.seq, AuditRow.hash, AuditRow.occurred_at).order_by(AuditRow.seq.desc()).limit(1)
        ).first()
        row = AuditRow(**_link(fields, last))
        self.session.add(row)
        self.session.flush()
        return mapping.audit(row)

    def _append_postgresql(self, fields: dict[str, Any]) -> AuditEvent | None:
        """Lock, head and insert in two statements instead of three (issue 15); None when the head read
        with the lock was stale (another PC committed while this one waited): the caller re-reads it.

        The advisory lock serialises appenders so two PCs never chain onto the same head; it is released
        at commit/rollback. The head is read in the lock's statement, so with the snapshot taken *before*
        the lock was granted: if the lock was waited for, a newer head may be missing. The INSERT is a
        new statement (a new snapshot, after the lock) and inserts only if the new seq is still free (the
        chain has no gaps, so a newer head means that seq is taken; an equality is one index probe even
        in a prepared statement's generic plan, where ``seq >= $1`` scanned the whole table), so a stale
        head inserts nothing instead of a second link for one position. From the lock
        to the commit the transaction must not pause: a PC frozen now is cut off by the server after
        AUDIT_LOCK_IDLE_MS (its save rolled back) instead of stalling every other PC. The NOTIFY is
        delivered to the other PCs at commit only (storage/notify.py).
        """
        table = cast(Table, AuditRow.__table__)
        last = self.session.execute(
            text(
                "SELECT set_config('idle_in_transaction_session_timeout', :idle, true), "
                "pg_advisory_xact_lock(:k), pg_notify(:channel, ''), head.seq, head.hash, head.occurred_at "
                "FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT seq, hash, occurred_at FROM audit_event "
                "ORDER BY seq DESC LIMIT 1) AS head ON true"
            ).columns(seq=table.c.seq.type, hash=table.c.hash.type, occurred_at=table.c.occurred_at.type),
            {"idle": str(AUDIT_LOCK_IDLE_MS), "k": _PG_AUDIT_LOCK, "channel": CHANNEL},
        ).one()
        values = _link(fields, last if last.seq is not None else None)
        names = list(values)
        guarded = select(*[bindparam(f"v_{n}", values[n], type_=table.c[n].type) for n in names]).where(
            ~exists().where(table.c.seq == values["seq"])
        )
        inserted = self.session.execute(
            insert(table).from_select(names, guarded).returning(table.c.seq)
        ).first()
        return AuditEvent(**values) if inserted is not None else None

    def changes_since(self, seq: int, *, limit: int) -> list[tuple[int, str, str, int | None, int | None]]:
        """(seq, action, entity, entity_id, run_id) of the rows after ``seq``: what other PCs did."""
        rows = self.session.execute(
            select(AuditRow.seq, AuditRow.action, AuditRow.entity, AuditRow.entity_id, AuditRow.run_id)
            .where(AuditRow.seq > seq)
            .order_by(AuditRow.seq)
            .limit(limit)
        )
        return [(r.seq, r.action, r.entity, r.entity_id, r.run_id) for r in rows]

    def head_seq(self) -> int:
        return int(self.session.scalar(select(func.max(AuditRow.seq))) or 0)

    def head(self) -> AuditEvent | None:
        row = self.session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
        return mapping.audit(row) if row else None

    def iterate(self, *, batch: int = 2000) -> Iterator[AuditEvent]:
        """Every row in seq order — from the lowest, so a row below 1 (forged before migration 0002
        forbade them) is verified and reported, not skipped."""
        table = AuditRow.__table__
        bind = self.session.connection()
        if bind.dialect.name == "sqlite":
            yield from _iterate_sqlite(bind, table, batch)
            return
        after: int | None = None
        while True:
            stmt = select(table)  # plain rows, not ORM objects: verifying 100k events must stay fast
            if after is not None:
                stmt = stmt.where(table.c.seq > after)
            rows = self.session.execute(stmt.order_by(table.c.seq).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield AuditEvent(**row._mapping)
            after = rows[-1].seq

    def table_rows(self, tables: Sequence[str]) -> dict[str, dict[int, dict[str, Any]]]:
        """Every row of each named table as column → value, by id: what ``verify`` replays the trail
        against. One plain SELECT per table, read-only."""
        out: dict[str, dict[int, dict[str, Any]]] = {}
        bind = self.session.connection()
        for name in tables:
            table = Base.metadata.tables[name]
            if bind.dialect.name == "sqlite":
                out[name] = {row["id"]: row for row in _sqlite_dicts(bind, table, table.c.id)}
            else:
                out[name] = {
                    row._mapping["id"]: dict(row._mapping) for row in self.session.execute(select(table))
                }
        return out

    def valid_signatures(self) -> list[tuple[int, str, int, str]]:
        """(signature id, entity, record id, content hash) of every valid signature, in id order."""
        rows = self.session.execute(
            select(SignatureRow.id, SignatureRow.entity, SignatureRow.entity_id, SignatureRow.content_hash)
            .where(SignatureRow.state == "valid")
            .order_by(SignatureRow.id)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def signed_subjects(self, ids: Mapping[str, Sequence[int]]) -> dict[str, dict[int, Any]]:
        """The records ``ids`` names (entity → record ids), mapped by the repository's own mappers
        from plain rows: ``verify`` hashes every signed record's content, and ORM objects (identity
        map, select-in children) cost more than the hashing itself. A row the mapper cannot read is
        left out (the check then reports its signature as unreadable)."""
        people = StaffDirectory(self.session)
        out: dict[str, dict[int, Any]] = {}
        for entity, wanted_ids in ids.items():
            model = ROWS.get(entity)
            if model is None:
                out[entity] = {}
                continue
            mapper = inspect(model)
            cols = [attr.columns[0].label(attr.key) for attr in mapper.column_attrs]
            wanted = sorted(set(wanted_ids))
            found: dict[int, SimpleNamespace] = {}
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                for row in self.session.execute(select(*cols).where(model.id.in_(chunk))):
                    found[row.id] = SimpleNamespace(**row._mapping)
            for rel in mapper.relationships:  # children (physicians, staff, cannulae) as plain rows too
                child = rel.mapper
                ((_parent, child_col),) = rel.local_remote_pairs
                child_cols = [attr.columns[0].label(attr.key) for attr in child.column_attrs]
                key = next(a.key for a in child.column_attrs if a.columns[0] is child_col)
                for holder in found.values():
                    setattr(holder, rel.key, [])
                for start in range(0, len(wanted), 500):
                    stmt = select(*child_cols).where(child_col.in_(wanted[start : start + 500]))
                    if rel.order_by:
                        stmt = stmt.order_by(*rel.order_by)
                    for row in self.session.execute(stmt):
                        parent = found.get(row._mapping[key])
                        if parent is not None:
                            getattr(parent, rel.key).append(SimpleNamespace(**row._mapping))
            out[entity] = {}
            for record_id, holder in found.items():
                try:
                    out[entity][record_id] = MAPPERS[entity](holder, people)
                except (EcmoError, KeyError, ValueError, TypeError, AttributeError):
                    continue  # a row edited into something the mapper cannot read: reported as unreadable
        return out

    def _run_filter(self, run_id: int) -> Any:
        """The run's own events plus its patient's (registration, edits), which carry no run id."""
        patient_id = self.session.scalar(select(RunRow.patient_id).where(RunRow.id == run_id))
        return or_(
            AuditRow.run_id == run_id, and_(AuditRow.patient_id == patient_id, AuditRow.run_id.is_(None))
        )

    def for_run(self, run_id: int, *, offset: int, limit: int) -> list[AuditEvent]:
        rows = self.session.scalars(
            select(AuditRow)
            .where(self._run_filter(run_id))
            .order_by(AuditRow.seq.desc())
            .offset(offset)
            .limit(limit)
        )
        return [mapping.audit(r) for r in rows]

    def count_for_run(self, run_id: int) -> int:
        return int(
            self.session.scalar(select(func.count()).select_from(AuditRow).where(self._run_filter(run_id)))
            or 0
        )

    def query(
        self,
        *,
        offset: int,
        limit: int,
        actor_id: int | None = None,
        entity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEvent]:
        stmt = select(AuditRow)
        if actor_id is not None:
            stmt = stmt.where(AuditRow.actor_id == actor_id)
        if entity is not None:
            stmt = stmt.where(AuditRow.entity == entity)
        if since is not None:
            stmt = stmt.where(AuditRow.occurred_at >= since)
        if until is not None:
            stmt = stmt.where(AuditRow.occurred_at < until)
        rows = self.session.scalars(stmt.order_by(AuditRow.seq.desc()).offset(offset).limit(limit))
        return [mapping.audit(r) for r in rows]


def _iterate_sqlite(conn: Any, table: Any, batch: int) -> Iterator[AuditEvent]:
    for values in _sqlite_dicts(conn, table, table.c.seq, batch):
        yield AuditEvent(**values)


def _sqlite_dicts(conn: Any, table: Any, order: Any, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """A table's rows from the driver's cursor (same connection, same transaction), each column
    through its own SQLAlchemy result processor — the values ``select(table)`` gives, without the
    per-row Row machinery (``verify`` reads every event and every audited row). Timestamps in the
    two shapes SQLAlchemy writes are parsed by ``fromisoformat``; anything else goes through the
    processor."""
    dialect = conn.dialect
    names = [c.name for c in table.columns]
    procs: list[tuple[int, Any]] = []
    for i, column in enumerate(table.columns):
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if isinstance(column.type, UTCDateTime) and processor is not None:
            processor = _fast_utc(processor)
        if processor is not None:
            procs.append((i, processor))
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(select(table).order_by(order).compile(dialect=dialect)))
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            for raw in rows:
                values = list(raw)
                for i, proc in procs:
                    values[i] = proc(values[i])
                yield dict(zip(names, values, strict=True))
    finally:
        cursor.close()


def _fast_utc(processor: Any) -> Any:
    fromiso = datetime.fromisoformat

    def process(value: Any) -> Any:
        if type(value) is str and len(value) in (19, 26) and value[10] == " ":
            parsed = fromiso(value)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
        return processor(value)

    return process


def _link(fields: dict[str, Any], last: Any) -> dict[str, Any]:
    """The row that follows ``last`` (seq, hash, occurred_at; None for the first): its position, its
    time (the trail's times never go backwards; PC clocks differ by ms) and its hash."""
    seq, prev = (last.seq + 1, last.hash) if last is not None else (1, GENESIS)
    linked = {**fields, "seq": seq}
    if last is not None and last.occurred_at is not None and linked["occurred_at"] < last.occurred_at:
        linked["occurred_at"] = last.occurred_at
    return {**linked, "prev_hash": prev, "hash": chain_hash(prev, linked)}
