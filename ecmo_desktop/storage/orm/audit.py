"""The audit trail: append-only (triggers in the migration) and hash-chained (AUD-2, AUD-3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecmo_desktop.storage.orm.base import Base


class AuditRow(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_run", "run_id", "seq"),
        Index("ix_audit_event_entity", "entity", "entity_id"),
        Index("ix_audit_event_time", "occurred_at"),
        # chain positions start at 1 (migration 0002; on SQLite a BEFORE INSERT trigger enforces it)
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    # seq is the chain position; unique, so two writers can never both append the same link
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100))
    workstation: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
