"""Administration of staff accounts, ECMO privileges (R3), the expert group (R13), training (R14)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from ecmo_desktop.domain.enums import Role, Title
from ecmo_desktop.domain.errors import FieldError, IntegrityConflict, RuleViolation, ValidationError
from ecmo_desktop.domain.model import ExpertMembership, Privilege, Staff, TrainingRecord
from ecmo_desktop.domain.rules import expert_eligibility, lead_eligibility
from ecmo_desktop.domain.validation import (
    check_password_strength,
    clean_text,
    clean_username,
    parse_number,
    username_key,
)
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.auth import _public, hash_password, is_demo_database
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork


def _roles(roles: Sequence[str]) -> list[str]:
    cleaned = sorted({str(r) for r in roles})
    unknown = [r for r in cleaned if r not in Role._value2member_map_]
    if unknown or not cleaned:
        raise ValidationError(FieldError(N_("角色"), N_("请至少选择一个有效角色")))
    return cleaned


def _title(title: str) -> str:
    if title not in Title._value2member_map_:
        raise ValidationError(FieldError(N_("职称"), N_("请选择职称")))
    return title


class StaffService(Service):
    @requires(Action.VIEW_CASES)
    def list_staff(self, *, include_inactive: bool = False) -> list[Staff]:
        now = self.ctx.now()
        return self._read(lambda uow: uow.staff.list(include_inactive=include_inactive, at=now))

    @requires(Action.VIEW_CASES)
    def get_staff(self, staff_id: int) -> Staff:
        now = self.ctx.now()
        return self._read(lambda uow: uow.staff.get(staff_id, at=now))

    @requires(Action.MANAGE_STAFF)
    def create_staff(
        self,
        *,
        username: str,
        full_name: str,
        title: str,
        department: str = "",
        years_in_practice: int | str = 0,
        roles: Sequence[str],
        initial_password: str,
        ecmo_trained: bool = False,
    ) -> Staff:
        """A new account; the person must change the initial password at first login (C5)."""
        name = clean_username(username)
        full = clean_text(full_name, N_("姓名"), required=True, max_length=100)
        dept = clean_text(department, N_("科室"), max_length=100)
        years = int(
            parse_number(years_in_practice, N_("从业年限"), low=0, high=60, unit=N_("年"), integer=True) or 0
        )
        role_list = _roles(roles)
        check_password_strength(
            initial_password, username=name, min_length=self.ctx.policy.min_password_length
        )
        pw_hash = hash_password(initial_password, demo=self._read(is_demo_database))
        key = username_key(name)

        def work(uow: UnitOfWork) -> Staff:
            if uow.staff.by_username_key(key) is not None:
                raise ValidationError(FieldError(N_("用户名"), N_("用户名“{name}”已被使用"), {"name": name}))
            try:
                staff = uow.staff.add(
                    username=name,
                    username_key=key,
                    full_name=full,
                    title=_title(title),
                    department=dept,
                    years_in_practice=years,
                    roles=role_list,
                    password_hash=pw_hash,
                    must_change_password=True,
                    ecmo_trained=ecmo_trained,
                    now=self.ctx.now(),
                )
            except IntegrityConflict as exc:
                raise ValidationError(
                    FieldError(N_("用户名"), N_("用户名“{name}”已被使用"), {"name": name})
                ) from exc
            self._audit(uow, "create", "staff", staff.id, after=_public(staff))
            uow.commit()
            return staff

        return self._transact(work)

    @requires(Action.MANAGE_STAFF)
    def update_staff(
        self,
        staff_id: int,
        *,
        expected_version: int,
        full_name: str,
        title: str,
        department: str,
        years_in_practice: int | str,
        roles: Sequence[str],
        ecmo_trained: bool,
    ) -> Staff:
        full = clean_text(full_name, N_("姓名"), required=True, max_length=100)
        dept = clean_text(department, N_("科室"), max_length=100)
        years = int(
            parse_number(years_in_practice, N_("从业年限"), low=0, high=60, unit=N_("年"), integer=True) or 0
        )
        role_list = _roles(roles)
        me = self.ctx.require_user()
        if staff_id == me.id and Role.ADMIN.value not in role_list:
            raise ValidationError(FieldError(N_("角色"), N_("不能取消自己的管理员角色")))

        def work(uow: UnitOfWork) -> Staff:
            before = uow.staff.get(staff_id)
            uow.staff.update(
                staff_id,
                expected_version=expected_version,
                full_name=full,
                title=_title(title),
                department=dept,
                years_in_practice=years,
                ecmo_trained=ecmo_trained,
            )
            uow.staff.set_roles(staff_id, role_list)
            after = uow.staff.get(staff_id, at=self.ctx.now())
            self._audit(uow, "update", "staff", staff_id, before=_public(before), after=_public(after))
            uow.commit()
            return after

        return self._transact(work)

    @requires(Action.MANAGE_STAFF)
    def set_active(self, staff_id: int, active: bool, *, reason: str) -> Staff:
        """Deactivate (never delete: signers must stay identifiable, ACC-1) or reactivate."""
        why = clean_text(reason, N_("原因"), required=True, max_length=500)
        if staff_id == self.ctx.require_user().id and not active:
            raise ValidationError(FieldError(N_("账户"), N_("不能停用自己的账户")))

        def work(uow: UnitOfWork) -> Staff:
            staff = uow.staff.update(staff_id, active=active)
            self._audit(
                uow,
                "activate" if active else "deactivate",
                "staff",
                staff_id,
                reason=why,
                after={"active": active},
            )
            uow.commit()
            return staff

        return self._transact(work)

    @requires(Action.MANAGE_STAFF)
    def unlock_account(self, staff_id: int) -> None:
        def work(uow: UnitOfWork) -> None:
            uow.staff.set_auth(staff_id, failed_logins=0, locked_until=None, locked_by_admin=False)
            self._audit(uow, "account_unlocked", "staff", staff_id)
            uow.commit()

        self._transact(work)

    @requires(Action.MANAGE_STAFF)
    def reset_password(self, staff_id: int, new_password: str) -> None:
        """A temporary password the person must change at the next login."""

        def work(uow: UnitOfWork) -> None:
            staff = uow.staff.get(staff_id)
            check_password_strength(
                new_password, username=staff.username, min_length=self.ctx.policy.min_password_length
            )
            uow.staff.set_auth(
                staff_id,
                password_hash=hash_password(new_password, demo=is_demo_database(uow)),
                must_change_password=True,
                failed_logins=0,
                locked_until=None,
                locked_by_admin=False,
            )
            self._audit(uow, "password_reset", "staff", staff_id)
            uow.commit()

        self._transact(work)

    # ---- privileges (R3) -------------------------------------------------------------------------
    @requires(Action.VIEW_CASES)
    def privileges(self, staff_id: int) -> list[Privilege]:
        return self._read(lambda uow: uow.staff.privileges(staff_id))

    @requires(Action.MANAGE_STAFF)
    def grant_privilege(
        self,
        staff_id: int,
        *,
        valid_until: datetime | None = None,
        note: str = "",
        granted_at: datetime | None = None,
    ) -> Privilege:
        text = clean_text(note, N_("备注"), max_length=500)
        me = self.ctx.require_user()
        start = granted_at or self.ctx.now()

        def work(uow: UnitOfWork) -> Privilege:
            staff = uow.staff.get(staff_id)
            if not (staff.title in Title._value2member_map_ and Title(staff.title).is_physician):
                raise RuleViolation(
                    "R3", N_("ECMO 手术权限只能授予医师，{name} 不是医师"), name=staff.full_name
                )
            if not staff.active:
                raise RuleViolation("R3", N_("{name} 的账户已停用，不能授权"), name=staff.full_name)
            if valid_until is not None and valid_until <= start:
                raise ValidationError(FieldError(N_("有效期至"), N_("必须晚于授权时间")))
            priv = uow.staff.add_privilege(
                staff_id, granted_at=start, granted_by_id=me.id, valid_until=valid_until, note=text
            )
            self._audit(uow, "grant_privilege", "ecmo_privilege", priv.id, after=priv)
            uow.commit()
            return priv

        return self._transact(work)

    @requires(Action.MANAGE_STAFF)
    def revoke_privilege(self, privilege_id: int, *, reason: str) -> Privilege:
        why = clean_text(reason, N_("原因"), required=True, max_length=500)
        me = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Privilege:
            priv = uow.staff.revoke_privilege(privilege_id, revoked_at=self.ctx.now(), revoked_by_id=me.id)
            self._audit(uow, "revoke_privilege", "ecmo_privilege", privilege_id, after=priv, reason=why)
            uow.commit()
            return priv

        return self._transact(work)

    # ---- expert group (R13) and lead (R12) --------------------------------------------------------
    @requires(Action.VIEW_CASES)
    def expert_group(self) -> list[tuple[ExpertMembership, Staff]]:
        now = self.ctx.now()

        def work(uow: UnitOfWork) -> list[tuple[ExpertMembership, Staff]]:
            return [
                (m, uow.staff.get(m.staff_id, at=now)) for m in uow.staff.memberships() if m.member_at(now)
            ]

        return self._read(work)

    @requires(Action.MANAGE_STAFF)
    def add_expert(self, staff_id: int) -> ExpertMembership:
        me = self.ctx.require_user()

        def work(uow: UnitOfWork) -> ExpertMembership:
            now = self.ctx.now()
            staff = uow.staff.get(staff_id, at=now)
            verdict = expert_eligibility(staff)
            if not verdict.passed:
                raise RuleViolation("R13", verdict.message, **verdict.params)
            if staff.is_expert:
                raise ValidationError(
                    FieldError(N_("专家组"), N_("{name} 已是专家组成员"), {"name": staff.full_name})
                )
            membership = uow.staff.add_membership(staff_id, joined_at=now, added_by_id=me.id)
            self._audit(uow, "add_expert", "expert_membership", membership.id, after=membership)
            uow.commit()
            return membership

        return self._transact(work)

    @requires(Action.MANAGE_STAFF)
    def remove_expert(self, membership_id: int, *, reason: str) -> ExpertMembership:
        why = clean_text(reason, N_("原因"), required=True, max_length=500)
        me = self.ctx.require_user()

        def work(uow: UnitOfWork) -> ExpertMembership:
            m = uow.staff.end_membership(membership_id, left_at=self.ctx.now(), removed_by_id=me.id)
            self._audit(uow, "remove_expert", "expert_membership", membership_id, after=m, reason=why)
            uow.commit()
            return m

        return self._transact(work)

    @requires(Action.MANAGE_STAFF)
    def set_ecmo_lead(self, staff_id: int) -> None:
        def work(uow: UnitOfWork) -> None:
            staff = uow.staff.get(staff_id)
            verdict = lead_eligibility(staff)
            if not verdict.passed:
                raise RuleViolation("R12", verdict.message, **verdict.params)
            hospital = uow.hospitals.local()
            assert hospital is not None
            uow.hospitals.update(hospital.id, ecmo_lead_id=staff_id)
            self._audit(
                uow,
                "set_ecmo_lead",
                "hospital",
                hospital.id,
                before={"ecmo_lead_id": hospital.ecmo_lead_id},
                after={"ecmo_lead_id": staff_id},
            )
            uow.commit()

        self._transact(work)

    # ---- training (R14) ----------------------------------------------------------------------------
    @requires(Action.VIEW_CASES)
    def trainings(self, staff_id: int | None = None) -> list[TrainingRecord]:
        return self._read(lambda uow: uow.staff.trainings(staff_id))

    @requires(Action.MANAGE_STAFF)
    def add_training(
        self,
        staff_id: int,
        *,
        institution: str,
        start_date: date,
        end_date: date,
        assessed: bool,
        note: str = "",
    ) -> TrainingRecord:
        inst = clean_text(institution, N_("培训机构"), required=True, max_length=200)
        text = clean_text(note, N_("备注"), max_length=1000, multiline=True)
        if end_date < start_date:
            raise ValidationError(FieldError(N_("结束日期"), N_("不能早于开始日期")))
        me = self.ctx.require_user()

        def work(uow: UnitOfWork) -> TrainingRecord:
            record = uow.staff.add_training(
                staff_id,
                institution=inst,
                start_date=start_date,
                end_date=end_date,
                assessed=assessed,
                note=text,
                recorded_at=self.ctx.now(),
                recorded_by_id=me.id,
            )
            self._audit(uow, "create", "training_record", record.id, after=record)
            uow.commit()
            return record

        return self._transact(work)
