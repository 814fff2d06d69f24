"""Who may do what: the one table reviewers read (ACC-2).

Every public service method is decorated with ``@requires(Action.X)``; a test walks all service
classes and fails when a public method has no action, so the table cannot silently fall behind.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from ecmo_desktop.domain.enums import Role
from ecmo_desktop.domain.errors import (
    NotAuthenticated,
    PasswordChangeRequired,
    PermissionDenied,
    SessionEnded,
)
from ecmo_desktop.i18n import N_

P = ParamSpec("P")
SYSTEM_ACTOR_ID = 0  # the command-line operator (container.SYSTEM_USER): not a staff row
T = TypeVar("T")

D, N, PF, RS, A = Role.DOCTOR, Role.NURSE, Role.PERFUSIONIST, Role.RECORDS, Role.ADMIN
CLINICAL = frozenset({D, N, PF})
EVERYONE = frozenset(Role)


class Action(StrEnum):
    PUBLIC = "public"  # login, first-run set-up: checked inside the method
    SELF = "self"  # any logged-in user acting on their own account
    VIEW_CASES = "view_cases"
    REGISTER_PATIENT = "register_patient"
    OPEN_RUN = "open_run"
    CHART_DOCTOR = "chart_doctor"  # decisions, consent, procedures, complications, weaning, follow-up
    CHART_DAILY = "chart_daily"  # daily management entries
    SIGN_RECORD = "sign_record"
    BIND_DEVICE = "bind_device"
    RECEIVE_DEVICE = "receive_device"
    MANAGE_CATALOGUE = "manage_catalogue"
    RECALL = "recall"
    TRACE = "trace"
    PRINT = "print"
    BATCH_ARCHIVE = "batch_archive"
    VIEW_QC = "view_qc"
    EXPORT = "export"
    IMPORT = "import"
    VIEW_AUDIT = "view_audit"
    VERIFY = "verify"
    BACKUP = "backup"
    MANAGE_STAFF = "manage_staff"
    MANAGE_HOSPITAL = "manage_hospital"


ALLOWED: dict[Action, frozenset[Role]] = {
    Action.PUBLIC: EVERYONE,
    Action.SELF: EVERYONE,
    Action.VIEW_CASES: EVERYONE,
    Action.REGISTER_PATIENT: frozenset({D, N}),
    Action.OPEN_RUN: frozenset({D}),
    Action.CHART_DOCTOR: frozenset({D}),
    Action.CHART_DAILY: CLINICAL,
    Action.SIGN_RECORD: CLINICAL,
    Action.BIND_DEVICE: CLINICAL,
    Action.RECEIVE_DEVICE: frozenset({N, PF, A}),
    Action.MANAGE_CATALOGUE: frozenset({A}),
    Action.RECALL: frozenset({A, N}),
    Action.TRACE: EVERYONE,
    Action.PRINT: frozenset({D, N, PF, RS}),
    Action.BATCH_ARCHIVE: frozenset({RS, A}),
    Action.VIEW_QC: frozenset({D, RS, A}),
    Action.EXPORT: frozenset({RS, A}),
    Action.IMPORT: frozenset({RS, A}),
    Action.VIEW_AUDIT: frozenset({A, RS}),
    Action.VERIFY: frozenset({A}),
    Action.BACKUP: frozenset({A}),
    Action.MANAGE_STAFF: frozenset({A}),
    Action.MANAGE_HOSPITAL: frozenset({A}),
}


def allowed(action: Action, roles: frozenset[str]) -> bool:
    return bool(ALLOWED[action] & {Role(r) for r in roles if r in Role._value2member_map_})


def check_account(ctx: Any, user_id: int) -> None:
    """The session's account as it is now in the database, whatever PC changed it (ACC-2, C5).

    Deactivated or locked (by an administrator, or after failed passwords on any PC): the session ends
    here, at its next action. An initial or reset password not yet changed: nothing but the change.
    """
    checker = ctx.account_checker
    if checker is None or user_id == SYSTEM_ACTOR_ID:
        return
    state = checker(user_id)
    if state is None or not state.active:
        ctx.user = None  # ended for good: reactivating the account later does not revive this session
        raise SessionEnded()
    if state.locked_by_admin or (state.locked_until is not None and state.locked_until > ctx.now()):
        ctx.user = None
        raise SessionEnded(N_("账户已被锁定，本次登录已结束。请稍后重新登录或联系管理员解锁"))
    if state.must_change_password:
        raise PasswordChangeRequired()


def requires(action: Action) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Check the logged-in user's roles before the use case runs (not only by hiding buttons)."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            service: Any = args[0]
            if action is not Action.PUBLIC:
                user = service.ctx.user
                if user is None:
                    raise NotAuthenticated()
                if action is not Action.SELF:  # logout, lock, unlock and change password stay possible
                    check_account(service.ctx, user.id)
                if not allowed(action, user.roles):
                    raise PermissionDenied(N_("您的角色无权执行此操作（{action}）"), action=action.value)
            return fn(*args, **kwargs)

        wrapper.required_action = action  # type: ignore[attr-defined]
        return wrapper

    return decorate
