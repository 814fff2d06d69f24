"""Hospital, staff (accounts, titles, privileges, expert group, training) and patients."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecmo_desktop.storage.orm.base import Base, Versioned


class HospitalRow(Base):
    __tablename__ = "hospital"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(50), unique=True)
    city: Mapped[str] = mapped_column(String(100), default="")
    is_local: Mapped[bool] = mapped_column(
        Boolean, default=True
    )  # False for hospitals imported by a regional centre
    ecmo_lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", use_alter=True, name="fk_hospital_ecmo_lead_id_staff"), nullable=True
    )
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class StaffRow(Versioned, Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    # NFKC + casefold of the username: "ＺＨＡＮＧ" and "zhang" are the same account (ACC-1)
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(100), default="")
    years_in_practice: Mapped[int] = mapped_column(Integer, default=0)
    practice_start_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    locked_by_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    ecmo_trained: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]

    roles: Mapped[list[StaffRoleRow]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class StaffRoleRow(Base):
    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class PrivilegeRow(Base):
    """An ECMO privilege grant (R3); revocation closes it, nothing is deleted."""

    __tablename__ = "ecmo_privilege"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    granted_at: Mapped[datetime]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    valid_until: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str] = mapped_column(Text, default="")


class ExpertMembershipRow(Base):
    """Membership of the hospital's ECMO expert group (R13)."""

    __tablename__ = "expert_membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    joined_at: Mapped[datetime]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    left_at: Mapped[datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class TrainingRow(Base):
    """ECMO training (R14): where, how long, and whether the assessment was passed."""

    __tablename__ = "training_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    institution: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    assessed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class PatientRow(Versioned, Base):
    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("hospital_id", "mrn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    sex: Mapped[str] = mapped_column(String(2))
    birth_date: Mapped[date | None] = mapped_column(Date)
    age_years: Mapped[int | None] = mapped_column(Integer)  # when only an age is known (legacy import)
    height_cm: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    id_number: Mapped[str | None] = mapped_column(String(18))
    ward: Mapped[str] = mapped_column(String(60), default="")
    bed: Mapped[str] = mapped_column(String(20), default="")
    admitted_at: Mapped[datetime | None]
    discharged_at: Mapped[datetime | None]
    discharge_disposition: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
