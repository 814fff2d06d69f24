"""The ECMO run: one episode of support for one patient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecmo_desktop.storage.orm.base import Base, Versioned


class RunRow(Versioned, Base):
    __tablename__ = "ecmo_run"
    __table_args__ = (
        Index("ix_ecmo_run_started", "started_at"),
        Index("ix_ecmo_run_status", "status"),
        # legacy imports are idempotent on hospital + patient + start (natural key)
        Index("uq_ecmo_run_natural", "hospital_id", "patient_id", "started_at", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    run_number: Mapped[int] = mapped_column(default=1)  # 1st, 2nd … run of this patient
    mode: Mapped[str] = mapped_column(String(16))
    ecpr: Mapped[bool] = mapped_column(Boolean, default=False)
    indication: Mapped[str] = mapped_column(String(32))
    indication_other: Mapped[str] = mapped_column(String(200), default="")
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    attending_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    ward: Mapped[str] = mapped_column(String(60), default="")
    bed: Mapped[str] = mapped_column(String(20), default="")
    started_outside: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]  # first blood flow: ECMO day 0 and 28-day survival count from here
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    survived_28d: Mapped[bool | None] = mapped_column(Boolean)  # legacy import; otherwise from follow-ups
    discharged_alive: Mapped[bool | None] = mapped_column(Boolean)
    date_of_death: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(16), default="app")  # app | import
    archived_at: Mapped[datetime | None]
