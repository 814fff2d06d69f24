"""Hospitals, staff (with privileges, expert group, training) and patients."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, or_, select

from ecmo_desktop.domain.model import (
    ExpertMembership,
    Hospital,
    Patient,
    Privilege,
    Staff,
    TrainingRecord,
)
from ecmo_desktop.services.ports import AccountState, StaffAuth
from ecmo_desktop.storage import mapping
from ecmo_desktop.storage.orm.people import (
    ExpertMembershipRow,
    HospitalRow,
    PatientRow,
    PrivilegeRow,
    StaffRoleRow,
    StaffRow,
    TrainingRow,
)
from ecmo_desktop.storage.orm.records import SignatureRow
from ecmo_desktop.storage.repositories.base import Repository


class SqlHospitalRepository(Repository):
    def local(self) -> Hospital | None:
        row = self.session.scalars(
            select(HospitalRow).where(HospitalRow.is_local).order_by(HospitalRow.id)
        ).first()
        return mapping.hospital(row) if row else None

    def get(self, hospital_id: int) -> Hospital:
        return mapping.hospital(self._get(HospitalRow, hospital_id, "医院"))

    def by_name(self, name: str) -> Hospital | None:
        row = self.session.scalars(select(HospitalRow).where(HospitalRow.name == name)).first()
        return mapping.hospital(row) if row else None

    def add(self, *, name: str, code: str, city: str, is_local: bool, now: datetime) -> Hospital:
        row = HospitalRow(name=name, code=code, city=city, is_local=is_local, created_at=now, settings={})
        self.session.add(row)
        self.session.flush()
        return mapping.hospital(row)

    def update(self, hospital_id: int, **fields: Any) -> Hospital:
        row = self._get(HospitalRow, hospital_id, "医院")
        self._apply(row, fields)
        self.session.flush()
        return mapping.hospital(row)

    def all(self) -> list[Hospital]:
        return [
            mapping.hospital(r) for r in self.session.scalars(select(HospitalRow).order_by(HospitalRow.id))
        ]


class SqlStaffRepository(Repository):
    def _flags(self, staff_id: int, at: datetime | None) -> tuple[bool, bool]:
        if at is None:
            return False, False
        priv = self.session.scalar(
            select(
                exists().where(
                    PrivilegeRow.staff_id == staff_id,
                    PrivilegeRow.granted_at <= at,
                    or_(PrivilegeRow.revoked_at.is_(None), PrivilegeRow.revoked_at > at),
                    or_(PrivilegeRow.valid_until.is_(None), PrivilegeRow.valid_until > at),
                )
            )
        )
        expert = self.session.scalar(
            select(
                exists().where(
                    ExpertMembershipRow.staff_id == staff_id,
                    ExpertMembershipRow.joined_at <= at,
                    or_(ExpertMembershipRow.left_at.is_(None), ExpertMembershipRow.left_at > at),
                )
            )
        )
        return bool(priv), bool(expert)

    def get(self, staff_id: int, *, at: datetime | None = None) -> Staff:
        row = self._get(StaffRow, staff_id, "人员")
        priv, expert = self._flags(staff_id, at)
        return mapping.staff(row, now=at, has_privilege=priv, is_expert=expert)

    def by_username_key(self, key: str) -> Staff | None:
        row = self.session.scalars(select(StaffRow).where(StaffRow.username_key == key)).first()
        return mapping.staff(row) if row else None

    def is_active(self, staff_id: int) -> bool:
        """One column, no roles: checked before every service call, so it must be cheap."""
        return bool(self.session.scalar(select(StaffRow.active).where(StaffRow.id == staff_id)))

    def account_state(self, staff_id: int) -> AccountState | None:
        """Four columns, no roles: checked before every service call, so it must be cheap."""
        row = self.session.execute(
            select(
                StaffRow.active,
                StaffRow.locked_by_admin,
                StaffRow.locked_until,
                StaffRow.must_change_password,
            ).where(StaffRow.id == staff_id)
        ).first()
        if row is None:
            return None
        return AccountState(
            active=bool(row.active),
            locked_by_admin=bool(row.locked_by_admin),
            locked_until=row.locked_until,
            must_change_password=bool(row.must_change_password),
        )

    def auth(self, staff_id: int) -> StaffAuth:
        row = self._get(StaffRow, staff_id, "人员")
        return StaffAuth(
            staff_id=row.id,
            password_hash=row.password_hash,
            failed_logins=row.failed_logins,
            locked_until=row.locked_until,
            locked_by_admin=row.locked_by_admin,
            active=row.active,
        )

    def add(
        self,
        *,
        username: str,
        username_key: str,
        full_name: str,
        title: str,
        department: str,
        years_in_practice: int,
        roles: Sequence[str],
        password_hash: str,
        must_change_password: bool,
        ecmo_trained: bool,
        now: datetime,
    ) -> Staff:
        row = StaffRow(
            username=username,
            username_key=username_key,
            full_name=full_name,
            title=title,
            department=department,
            years_in_practice=years_in_practice,
            password_hash=password_hash,
            must_change_password=must_change_password,
            ecmo_trained=ecmo_trained,
            created_at=now,
            failed_logins=0,
            locked_by_admin=False,
            active=True,
            roles=[StaffRoleRow(role=r) for r in sorted(set(roles))],
        )
        self.session.add(row)
        self.session.flush()
        return mapping.staff(row, now=now)

    def update(self, staff_id: int, *, expected_version: int | None = None, **fields: Any) -> Staff:
        row = self._get(StaffRow, staff_id, "人员")
        self._check_version(row, expected_version)
        self._apply(row, fields)
        self.session.flush()
        return mapping.staff(row)

    def set_roles(self, staff_id: int, roles: Sequence[str]) -> None:
        row = self._get(StaffRow, staff_id, "人员")
        wanted = set(roles)
        row.roles = [r for r in row.roles if r.role in wanted] + [
            StaffRoleRow(role=r) for r in sorted(wanted - {x.role for x in row.roles})
        ]
        self.session.flush()

    def set_auth(self, staff_id: int, **fields: Any) -> None:
        row = self._get(StaffRow, staff_id, "人员")
        self._apply(row, fields)
        self.session.flush()

    def list(self, *, include_inactive: bool = True, at: datetime | None = None) -> list[Staff]:
        stmt = select(StaffRow).order_by(StaffRow.full_name, StaffRow.id)
        if not include_inactive:
            stmt = stmt.where(StaffRow.active)
        rows = list(self.session.scalars(stmt))
        if at is None:
            return [mapping.staff(r) for r in rows]
        privileged = set(
            self.session.scalars(
                select(PrivilegeRow.staff_id).where(
                    PrivilegeRow.granted_at <= at,
                    or_(PrivilegeRow.revoked_at.is_(None), PrivilegeRow.revoked_at > at),
                    or_(PrivilegeRow.valid_until.is_(None), PrivilegeRow.valid_until > at),
                )
            )
        )
        experts = set(
            self.session.scalars(
                select(ExpertMembershipRow.staff_id).where(
                    ExpertMembershipRow.joined_at <= at,
                    or_(ExpertMembershipRow.left_at.is_(None), ExpertMembershipRow.left_at > at),
                )
            )
        )
        return [
            mapping.staff(r, now=at, has_privilege=r.id in privileged, is_expert=r.id in experts)
            for r in rows
        ]

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(StaffRow)) or 0)

    def has_signed_anything(self, staff_id: int) -> bool:
        return bool(self.session.scalar(select(exists().where(SignatureRow.signer_id == staff_id))))

    def privileges(self, staff_id: int) -> builtins.list[Privilege]:
        rows = self.session.scalars(
            select(PrivilegeRow).where(PrivilegeRow.staff_id == staff_id).order_by(PrivilegeRow.granted_at)
        )
        return [mapping.privilege(r) for r in rows]

    def add_privilege(
        self,
        staff_id: int,
        *,
        granted_at: datetime,
        granted_by_id: int,
        valid_until: datetime | None,
        note: str,
    ) -> Privilege:
        row = PrivilegeRow(
            staff_id=staff_id,
            granted_at=granted_at,
            granted_by_id=granted_by_id,
            valid_until=valid_until,
            note=note,
        )
        self.session.add(row)
        self.session.flush()
        return mapping.privilege(row)

    def revoke_privilege(self, privilege_id: int, *, revoked_at: datetime, revoked_by_id: int) -> Privilege:
        row = self._get(PrivilegeRow, privilege_id, "ECMO 授权")
        row.revoked_at = revoked_at
        row.revoked_by_id = revoked_by_id
        self.session.flush()
        return mapping.privilege(row)

    def memberships(self, staff_id: int | None = None) -> builtins.list[ExpertMembership]:
        stmt = select(ExpertMembershipRow).order_by(ExpertMembershipRow.joined_at)
        if staff_id is not None:
            stmt = stmt.where(ExpertMembershipRow.staff_id == staff_id)
        return [mapping.membership(r) for r in self.session.scalars(stmt)]

    def add_membership(self, staff_id: int, *, joined_at: datetime, added_by_id: int) -> ExpertMembership:
        row = ExpertMembershipRow(staff_id=staff_id, joined_at=joined_at, added_by_id=added_by_id)
        self.session.add(row)
        self.session.flush()
        return mapping.membership(row)

    def end_membership(
        self, membership_id: int, *, left_at: datetime, removed_by_id: int
    ) -> ExpertMembership:
        row = self._get(ExpertMembershipRow, membership_id, "专家组成员")
        row.left_at = left_at
        row.removed_by_id = removed_by_id
        self.session.flush()
        return mapping.membership(row)

    def trainings(self, staff_id: int | None = None) -> builtins.list[TrainingRecord]:
        stmt = select(TrainingRow).order_by(TrainingRow.start_date)
        if staff_id is not None:
            stmt = stmt.where(TrainingRow.staff_id == staff_id)
        return [mapping.training(r) for r in self.session.scalars(stmt)]

    def add_training(
        self,
        staff_id: int,
        *,
        institution: str,
        start_date: date,
        end_date: date,
        assessed: bool,
        note: str,
        recorded_at: datetime,
        recorded_by_id: int,
    ) -> TrainingRecord:
        row = TrainingRow(
            staff_id=staff_id,
            institution=institution,
            start_date=start_date,
            end_date=end_date,
            assessed=assessed,
            note=note,
            recorded_at=recorded_at,
            recorded_by_id=recorded_by_id,
        )
        self.session.add(row)
        self.session.flush()
        return mapping.training(row)


class SqlPatientRepository(Repository):
    def get(self, patient_id: int) -> Patient:
        return mapping.patient(self._get(PatientRow, patient_id, "患者"))

    def by_mrn(self, hospital_id: int, mrn: str) -> Patient | None:
        row = self.session.scalars(
            select(PatientRow).where(PatientRow.hospital_id == hospital_id, PatientRow.mrn == mrn)
        ).first()
        return mapping.patient(row) if row else None

    def add(
        self,
        *,
        hospital_id: int,
        mrn: str,
        name: str,
        sex: str,
        birth_date: date | None,
        age_years: int | None,
        height_cm: float | None,
        weight_kg: float | None,
        ward: str,
        bed: str,
        now: datetime,
        created_by_id: int | None,
    ) -> Patient:
        row = PatientRow(
            hospital_id=hospital_id,
            mrn=mrn,
            name=name,
            sex=sex,
            birth_date=birth_date,
            age_years=age_years,
            height_cm=height_cm,
            weight_kg=weight_kg,
            ward=ward,
            bed=bed,
            created_at=now,
            created_by_id=created_by_id,
        )
        self.session.add(row)
        self.session.flush()
        return mapping.patient(row)

    def update(self, patient_id: int, *, expected_version: int | None = None, **fields: Any) -> Patient:
        row = self._get(PatientRow, patient_id, "患者")
        self._check_version(row, expected_version)
        self._apply(row, fields)
        self.session.flush()
        return mapping.patient(row)
