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


def downgrade() -> None:
    with op.batch_alter_table("device_usage") as batch_op:
        batch_op.drop_index("uq_device_usage_single_use", **_NEW_WHERE)
        batch_op.create_index("uq_device_usage_single_use", ["item_id"], unique=True, **_OLD_WHERE)
        batch_op.drop_column("item_spent")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_seq_positive")
    else:
        op.execute("ALTER TABLE audit_event DROP CONSTRAINT IF EXISTS ck_audit_event_seq_positive")
