"""Known failures, each carrying what the user needs to see.

Errors hold an untranslated msgid (marked with ``N_``) plus format parameters, so the same error
can be shown in Chinese or English wherever it surfaces (dialog, CLI, log). ``field`` names the
form field at fault and ``rule`` the regulation id (R1–R15) when a rule refused the action.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecmo_desktop.i18n import N_, _


class EcmoError(Exception):
    """Base of every failure the app knows how to explain; never shown as a traceback."""

    default_message = N_("操作失败")

    def __init__(
        self,
        message: str | None = None,
        /,
        *,
        field: str | None = None,
        rule: str | None = None,
        **params: Any,
    ) -> None:
        self.message = message or self.default_message
        self.field = field
        self.rule = rule
        self.params: dict[str, Any] = params
        super().__init__(self.message)

    def user_message(self) -> str:
        """The translated, formatted message for a person."""
        text = _(self.message)
        with contextlib.suppress(KeyError, IndexError, ValueError):
            text = text.format(**self.params)
        prefix = ""
        if self.field:
            prefix = f"{_(self.field)}："
        if self.rule:
            prefix = f"[{self.rule}] " + prefix
        return prefix + text

    def __str__(self) -> str:  # logs and CLI show the same words as the UI
        return self.user_message()


@dataclass(frozen=True)
class FieldError:
    field: str  # msgid of the field label, e.g. N_("血流量")
    message: str  # msgid
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # ``field`` is the column above

    def user_message(self) -> str:
        try:
            text = _(self.message).format(**self.params)
        except (KeyError, IndexError, ValueError):
            text = _(self.message)
        return f"{_(self.field)}：{text}"


class ValidationError(EcmoError):
    """One or more fields hold values that cannot be saved."""

    default_message = N_("输入有误")

    def __init__(
        self, errors: list[FieldError] | FieldError | str, /, *, field: str | None = None, **params: Any
    ) -> None:
        if isinstance(errors, str):
            errors = [FieldError(field or "", errors, params)]
        elif isinstance(errors, FieldError):
            errors = [errors]
        self.errors: list[FieldError] = list(errors)
        first = self.errors[0] if self.errors else None
        super().__init__(
            first.message if first else self.default_message,
            field=first.field if first else None,
            **(dict(first.params) if first else {}),
        )

    def user_message(self) -> str:
        if not self.errors:
            return _(self.default_message)
        return "\n".join(
            e.user_message() if e.field else _(e.message).format(**e.params) for e in self.errors
        )


class RuleViolation(EcmoError):
    """A rule of the national specification (REGULATION.md R1–R15) refuses the action."""

    def __init__(self, rule: str, message: str, /, **params: Any) -> None:
        super().__init__(message, rule=rule, **params)


class PermissionDenied(EcmoError):
    default_message = N_("您没有执行此操作的权限")


class NotAuthenticated(PermissionDenied):
    default_message = N_("请先登录")


class SessionEnded(NotAuthenticated):
    """The account was deactivated or locked (maybe on another PC) after this session began: the
    session ends at its next action — the window closes, unsaved input is kept as the user's drafts."""

    default_message = N_("账户已停用，请联系管理员")


class PasswordChangeRequired(PermissionDenied):
    """An initial or reset password must be changed before anything else (C5), also on other PCs."""

    default_message = N_("请先修改初始密码，然后才能进行其他操作")


class AuthenticationFailed(EcmoError):
    default_message = N_("用户名或密码错误")


class AccountLocked(EcmoError):
    default_message = N_("账户已被锁定，请在 {minutes} 分钟后重试或联系管理员解锁")


class NotFound(EcmoError):
    default_message = N_("找不到所需的记录")


class ConcurrencyConflict(EcmoError):
    """Someone else saved the record first (optimistic locking, REL-11)."""

    default_message = N_("记录已被他人修改，请重新打开后再保存")


class StorageError(EcmoError):
    """The database refused the work: disk full, read-only, locked, damaged, unreachable."""

    default_message = N_("数据库错误，数据未保存")


class ServerUnreachable(StorageError):
    """The database server did not answer (down, network cut, or it ended this PC's stalled session).

    Nothing of the action was saved; the caller keeps what the user typed and offers to try again.
    """

    default_message = N_("与数据库服务器的连接中断，数据未保存，请检查网络后重试")


class CodeError(EcmoError):
    """A scanned or typed device code cannot be accepted; ``reason`` is a stable machine code."""

    def __init__(self, reason: str, message: str, /, **params: Any) -> None:
        self.reason = reason
        super().__init__(message, **params)


class IntegrityConflict(StorageError):
    """A database constraint refused the write; ``constraint`` names it (e.g. the R6 index)."""

    default_message = N_("数据与已有记录冲突，未保存")

    def __init__(self, message: str | None = None, /, *, constraint: str = "", **params: Any) -> None:
        self.constraint = constraint
        super().__init__(message, **params)


class TransientConflict(StorageError):
    """Serialization failure or deadlock between ward PCs: the whole action may be retried."""

    default_message = N_("数据库繁忙，请稍后重试")
