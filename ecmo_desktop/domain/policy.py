"""Hospital-wide security policy (C5, C8, ACC-4, ACC-5), with the defaults the rules suggest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.i18n import N_

IDLE_LOCK_MINUTES = (1, 30)  # RELIABILITY.md ACC-5: default 10, configurable 1–30
IDLE_LOCK_FIELD = N_("自动锁屏时间")


@dataclass(frozen=True)
class SecurityPolicy:
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    idle_lock_minutes: int = 10  # shared ward PCs lock themselves (configurable 1–30)
    min_password_length: int = 8
    weaning_success_window_hours: int = 24  # DOMAIN.md decision; 48 allowed

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> SecurityPolicy:
        known = {f.name for f in fields(cls)}
        values = {k: int(v) for k, v in (settings or {}).get("policy", {}).items() if k in known}
        policy = cls(**values)
        return policy.clamped()

    def clamped(self) -> SecurityPolicy:
        return SecurityPolicy(
            max_failed_logins=min(max(self.max_failed_logins, 3), 10),
            lockout_minutes=min(max(self.lockout_minutes, 1), 24 * 60),
            idle_lock_minutes=min(max(self.idle_lock_minutes, IDLE_LOCK_MINUTES[0]), IDLE_LOCK_MINUTES[1]),
            min_password_length=min(max(self.min_password_length, 8), 64),
            weaning_success_window_hours=48 if self.weaning_success_window_hours >= 48 else 24,
        )

    def as_settings(self) -> dict[str, int]:
        return asdict(self)


def check_idle_lock_minutes(value: Any) -> int:
    """A whole number of minutes within ACC-5's bounds; the refusal names the bounds."""
    low, high = IDLE_LOCK_MINUTES
    text = str(value).strip() if value is not None else ""
    if isinstance(value, bool) or not (isinstance(value, int) or text.isdigit()):
        raise ValidationError(
            FieldError(
                IDLE_LOCK_FIELD, N_("请输入 {low}–{high} 之间的整数（分钟）"), {"low": low, "high": high}
            )
        )
    minutes = int(value)
    if not low <= minutes <= high:
        raise ValidationError(
            FieldError(
                IDLE_LOCK_FIELD,
                N_("须在 {low}–{high} 分钟之间，输入的是 {value} 分钟"),
                {"low": low, "high": high, "value": minutes},
            )
        )
    return minutes
