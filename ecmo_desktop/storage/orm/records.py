"""Clinical records of a run: decisions, consent, procedures, daily entries, complications,
weaning trials, follow-ups — plus their signatures and amendment history.

Every clinical record is signed into a locked state; a correction after signing writes the old
content into ``record_version`` and bumps ``version`` (SIG-3), never overwrites silently.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ecmo_desktop.storage.orm.base import Base, Versioned


class ClinicalRecord(Versioned):
    """Columns every signable record of a run shares."""

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def run_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("ecmo_run.id"), index=True)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("staff.id"))

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("staff.id"))

    @declared_attr
    def signed_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("staff.id"))


class DecisionRow(ClinicalRecord, Base):
    """上机/撤机决策 (R1/R2). ``supplement_of_id`` links an emergency start's 12-hour supplement."""

    __tablename__ = "decision"

    kind: Mapped[str] = mapped_column(String(8))  # start | wean
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_at: Mapped[datetime]
    mode_planned: Mapped[str | None] = mapped_column(String(16))
    indication: Mapped[str | None] = mapped_column(String(32))
    indication_other: Mapped[str] = mapped_column(String(200), default="")
    rationale: Mapped[str] = mapped_column(Text, default="")
    pre_ecmo: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ventilator, gases, VIS inputs, CPR
    contraindications: Mapped[dict[str, Any]] = mapped_column(default=dict)
    supplement_deadline: Mapped[datetime | None]  # R2: start + 12 h
    supplement_of_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))

    physicians: Mapped[list[DecisionPhysicianRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="DecisionPhysicianRow.position"
    )


class DecisionPhysicianRow(Base):
    __tablename__ = "decision_physician"

    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # attending | expert | other
    position: Mapped[int] = mapped_column(Integer, default=0)


class ConsentRow(ClinicalRecord, Base):
    """知情同意 (R4)."""

    __tablename__ = "consent"

    explained_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    signer_name: Mapped[str] = mapped_column(String(100))
    relationship_to_patient: Mapped[str] = mapped_column(String(32))  # self, spouse, parent, child, …
    signed_on_paper_at: Mapped[datetime]
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")


class ProcedureRow(ClinicalRecord, Base):
    """Cannulation, circuit change, mode change or decannulation: one operation note each."""

    __tablename__ = "procedure"

    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    flow_at: Mapped[datetime | None]  # first blood flow (cannulation)
    ended_at: Mapped[datetime | None]
    location: Mapped[str] = mapped_column(String(16))
    technique: Mapped[str | None] = mapped_column(String(16))
    guidance: Mapped[str | None] = mapped_column(String(16))
    mode_before: Mapped[str | None] = mapped_column(String(16))
    mode_after: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # rpm, flow, sweep, fdo2, heparin …
    immediate_complications: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")

    staff: Mapped[list[ProcedureStaffRow]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    cannulae: Mapped[list[CannulaRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CannulaRow.position"
    )


class ProcedureStaffRow(Base):
    __tablename__ = "procedure_staff"

    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class CannulaRow(Base):
    __tablename__ = "cannula"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    role: Mapped[str] = mapped_column(String(24))
    vessel: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    size_fr: Mapped[float] = mapped_column(Float)
    length_cm: Mapped[float | None] = mapped_column(Float)
    depth_cm: Mapped[float | None] = mapped_column(Float)
    tip_position: Mapped[str] = mapped_column(String(60), default="")
    device_usage_id: Mapped[int | None] = mapped_column(ForeignKey("device_usage.id"))
    removed_at: Mapped[datetime | None]


class DailyEntryRow(ClinicalRecord, Base):
    """日常管理: one or more entries a day; measurements keyed by the domain's field catalogue."""

    __tablename__ = "daily_entry"
    __table_args__ = (Index("ix_daily_entry_run_time", "run_id", "recorded_at"),)

    recorded_at: Mapped[datetime]
    ecmo_day: Mapped[int] = mapped_column(Integer)
    author_role: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str | None] = mapped_column(String(16))
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checks: Mapped[dict[str, Any]] = mapped_column(default=dict)  # limb perfusion, sites, circuit …
    notes: Mapped[str] = mapped_column(Text, default="")


class ComplicationRow(ClinicalRecord, Base):
    __tablename__ = "complication"

    code: Mapped[str] = mapped_column(String(16), index=True)
    other_text: Mapped[str] = mapped_column(String(200), default="")
    onset_at: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(20))
    treatment: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str] = mapped_column(Text, default="")
    adverse_event: Mapped[bool] = mapped_column(Boolean, default=False)  # R9: reported to QC
    device_item_id: Mapped[int | None] = mapped_column(ForeignKey("device_item.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedure.id"))


class WeaningTrialRow(ClinicalRecord, Base):
    __tablename__ = "weaning_trial"

    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    flow_to: Mapped[float | None] = mapped_column(Float)
    sweep_to: Mapped[float | None] = mapped_column(Float)
    fdo2_to: Mapped[float | None] = mapped_column(Float)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)  # MAP, lactate, LVEF, VTI, VIS …
    passed: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text, default="")


class FollowUpRow(ClinicalRecord, Base):
    __tablename__ = "follow_up"

    kind: Mapped[str] = mapped_column(String(12))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    fu_status: Mapped[str] = mapped_column(String(8), default="due")  # due | done | lost
    done_at: Mapped[datetime | None]
    contact_method: Mapped[str | None] = mapped_column(String(16))
    vital_status: Mapped[str | None] = mapped_column(String(8))
    date_of_death: Mapped[date | None] = mapped_column(Date)
    cause_of_death: Mapped[str | None] = mapped_column(String(32))
    discharge_disposition: Mapped[str | None] = mapped_column(String(32))
    cpc: Mapped[int | None] = mapped_column(Integer)
    mrs: Mapped[int | None] = mapped_column(Integer)
    eq5d_index: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")


class SignatureRow(Base):
    """An e-signature bound to the hash of the record's canonical content (SIG-2)."""

    __tablename__ = "signature"
    __table_args__ = (Index("ix_signature_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    record_version: Mapped[int] = mapped_column(Integer)
    signer_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    signer_name: Mapped[str] = mapped_column(String(100))
    meaning: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="valid")  # valid | superseded


class RecordVersionRow(Base):
    """The content of a record as it was before an amendment: earlier versions stay readable."""

    __tablename__ = "record_version"
    __table_args__ = (Index("ix_record_version_entity", "entity", "entity_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column()
    replaced_at: Mapped[datetime]
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(Text)
