"""audit seq >= 1; a voided binding of a used single-use item keeps the item used

Revision ID: 0002_audit_seq_single_use
Revises: 0001
Create Date: 2026-12-07

* ``audit_event.seq >= 1`` (AUD-3): rows with ``seq <= 0`` were accepted, never verified and shown in
  the case history. PostgreSQL: a CHECK constraint (``NOT VALID`` where such rows exist already, so
  that the database still upgrades and ``verify`` reports them). SQLite: a BEFORE INSERT trigger
  (adding a CHECK would rebuild the append-only table and its triggers).
* ``device_usage.item_spent`` (R6): set when a binding is voided although its item was used (retired
  from the circuit, or on a closed run). The R6 index counts such bindings, so voiding a record
  never makes a used single-use item bindable again. Backfilled for retired-then-voided bindings
  whose item was not bound again since (where it was, both bindings stay as evidence and the
  compliance check shows the reuse).
* A ``baseline`` audit event per row that earlier releases changed without an after-image (the
  follow-up schedule, outcome fields), so ``verify`` can replay the trail against the record from
  here on; each event carries the trail's value as *before* and the stored one as *after*.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_audit_seq_single_use"
down_revision = "0001"
branch_labels = None
depends_on = None

_OLD_WHERE = {"sqlite_where": sa.text("single_use = 1 AND voided_at IS NULL"),
              "postgresql_where": sa.text("single_use AND voided_at IS NULL")}
_NEW_WHERE = {"sqlite_where": sa.text("single_use = 1 AND (voided_at IS NULL OR item_spent = 1)"),
              "postgresql_where": sa.text("single_use AND (voided_at IS NULL OR item_spent)")}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TRIGGER audit_event_seq_positive BEFORE INSERT ON audit_event "
                   "WHEN NEW.seq < 1 BEGIN SELECT RAISE(ABORT, 'audit_event.seq must be >= 1'); END")
    else:
        # NOT VALID only where forged rows exist already (SQLAlchemy cannot reflect a NOT VALID check)
        forged = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_event WHERE seq < 1")).scalar()
        op.execute("ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_seq_positive CHECK (seq >= 1)"
                   + (" NOT VALID" if forged else ""))
    with op.batch_alter_table("device_usage") as batch_op:
        batch_op.add_column(sa.Column("item_spent", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE device_usage SET item_spent = TRUE WHERE single_use AND voided_at IS NOT NULL "
        "AND removed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM device_usage o WHERE o.item_id = "
        "device_usage.item_id AND o.id <> device_usage.id AND (o.voided_at IS NULL OR o.id > device_usage.id))"
        if not sqlite else
        "UPDATE device_usage SET item_spent = 1 WHERE single_use = 1 AND voided_at IS NOT NULL "
        "AND removed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM device_usage o WHERE o.item_id = "
        "device_usage.item_id AND o.id <> device_usage.id AND (o.voided_at IS NULL OR o.id > device_usage.id))")
    with op.batch_alter_table("device_usage") as batch_op:
        batch_op.drop_index("uq_device_usage_single_use", **_OLD_WHERE)
        batch_op.create_index("uq_device_usage_single_use", ["item_id"], unique=True, **_NEW_WHERE)
    _baseline()


def _baseline() -> None:
    """Append one chained ``baseline`` event per row the old trail does not explain (see above)."""
    from datetime import UTC, datetime

    from ecmo_desktop.domain.audit_chain import chain_hash, jsonable
    from ecmo_desktop.domain.audit_replay import BASELINE_ACTION, TrailReplay, baseline_changes, compare, replay_tables
    from ecmo_desktop.domain.model import AuditEvent

    bind = op.get_bind()
    meta = sa.MetaData()
    audit = sa.Table("audit_event", meta, autoload_with=bind)
    replay = TrailReplay()
    last: AuditEvent | None = None
    for row in bind.execute(sa.select(audit).where(audit.c.seq >= 1).order_by(audit.c.seq)):
        last = AuditEvent(**row._mapping)
        replay.feed(last)
    if last is None:
        return
    current = {t: {r._mapping["id"]: dict(r._mapping) for r in bind.execute(sa.select(sa.Table(t, meta, autoload_with=bind)))}
               for t in replay_tables()}
    run_of = {t: {i: r.get("run_id") for i, r in rows.items()} for t, rows in current.items()}
    changes = baseline_changes(compare(replay, current, run_of=run_of), current)
    now = datetime.now(UTC)
    seq, prev = last.seq, last.hash
    sqlite = bind.dialect.name == "sqlite"
    for entity, row_id, before, after in changes:
        seq += 1
        fields = {"seq": seq, "occurred_at": now, "actor_id": None, "actor_name": "系统升级",
                  "workstation": "migration 0002", "action": BASELINE_ACTION, "entity": entity, "entity_id": row_id,
                  "run_id": after.get("run_id"), "patient_id": after.get("patient_id"),
                  "before": jsonable(before), "after": jsonable(after),
                  "reason": "rows changed by releases before 0002 without an audit after-image", "success": True}
        digest = chain_hash(prev, fields)
        bind.execute(audit.insert().values(**{**fields, "occurred_at": now.replace(tzinfo=None) if sqlite else now},
                                           prev_hash=prev, hash=digest))
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table("device_usage") as batch_op:
        batch_op.drop_index("uq_device_usage_single_use", **_NEW_WHERE)
        batch_op.create_index("uq_device_usage_single_use", ["item_id"], unique=True, **_OLD_WHERE)
        batch_op.drop_column("item_spent")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_seq_positive")
    else:
        op.execute("ALTER TABLE audit_event DROP CONSTRAINT IF EXISTS ck_audit_event_seq_positive")
