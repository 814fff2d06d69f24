"""Hospital-wide security policy (C5, C8, ACC-4, ACC-5), with the defaults the rules suggest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


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
            idle_lock_minutes=min(max(self.idle_lock_minutes, 1), 30),
            min_password_length=min(max(self.min_password_length, 8), 64),
            weaning_success_window_hours=48 if self.weaning_success_window_hours >= 48 else 24,
        )

    def as_settings(self) -> dict[str, int]:
        return asdict(self)
