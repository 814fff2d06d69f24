"""What every service shares: the session context, audit writing and the retry of a whole action."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from ecmo_desktop.domain.errors import NotAuthenticated, ServerUnreachable, TransientConflict
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.domain.policy import SecurityPolicy
from ecmo_desktop.services.clock import Clock, SystemClock

if TYPE_CHECKING:  # annotations only: the ports pull in every read model, and the GUI's start needs
    # ServiceContext before its login window (issue 15)
    from ecmo_desktop.services.ports import AccountState, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 3
READ_RETRY_DELAY_S = 0.5


class ServiceContext:
    """The workstation's session: who is logged in, the clock, the machine name.

    One per running app (or CLI call); services read the user from here, so no use case can be
    called without the permission check seeing who asks.
    """

    def __init__(self, *, clock: Clock | None = None, workstation: str | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.workstation = workstation or socket.gethostname()[:100] or "unknown"
        self.user: CurrentUser | None = None
        self.policy = SecurityPolicy()
        self.hospital_id: int | None = None
        # the account's state in the database, read before every call (permissions.requires)
        self.account_checker: Callable[[int], AccountState | None] | None = None

    def require_user(self) -> CurrentUser:
        if self.user is None:
            raise NotAuthenticated()
        return self.user

    def now(self) -> datetime:
        return self.clock.now()


def snapshot(value: Any) -> Any:
    """A JSON-friendly copy of a dataclass/dict for the audit's before/after."""
    if value is None:
        return None
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [snapshot(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def diff(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, so an audit row says what was edited, old and new."""
    before = before or {}
    after = after or {}
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


class Service:
    def __init__(self, uow: UnitOfWorkFactory, ctx: ServiceContext) -> None:
        self._uow = uow
        self.ctx = ctx

    def _audit(
        self,
        uow: UnitOfWork,
        action: str,
        entity: str,
        entity_id: int | None,
        *,
        before: Any = None,
        after: Any = None,
        run_id: int | None = None,
        patient_id: int | None = None,
        reason: str | None = None,
        success: bool = True,
        actor: CurrentUser | None = None,
        actor_name: str | None = None,
    ) -> None:
        """Write the audit row inside the caller's transaction (AUD-1): no change without its row."""
        who = actor or self.ctx.user
        uow.audit.append(
            occurred_at=self.ctx.now(),
            actor_id=who.id if who else None,
            actor_name=actor_name or (who.full_name if who else "-"),
            workstation=self.ctx.workstation,
            action=action,
            entity=entity,
            entity_id=entity_id,
            run_id=run_id,
            patient_id=patient_id,
            before=snapshot(before),
            after=snapshot(after),
            reason=reason,
            success=success,
        )

    def _transact(self, work: Callable[[UnitOfWork], T], *, write: bool = True) -> T:
        """Run ``work`` in a fresh unit of work; retry the whole action on a transient conflict (REL-5)."""
        self._sync_clock()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._uow(write=write) as uow:
                    return work(uow)
            except TransientConflict:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.warning("transient database conflict, retrying (%d/%d)", attempt, MAX_ATTEMPTS)
        raise AssertionError("unreachable")

    def _sync_clock(self) -> None:
        """The server clock (shared mode) re-measures its offset now and then, on this worker thread."""
        sync = getattr(self.ctx.clock, "maybe_sync", None)
        if sync is not None:
            sync()

    def _read(self, work: Callable[[UnitOfWork], T]) -> T:
        """A read changes nothing, so after a lost connection it is safely tried once more (a server
        restart or a network blip then costs the user nothing); a save is never repeated blindly."""
        self._sync_clock()
        try:
            with self._uow(write=False) as uow:
                return work(uow)
        except ServerUnreachable:
            log.info("database unreachable during a read; trying once more")
            time.sleep(READ_RETRY_DELAY_S)
        with self._uow(write=False) as uow:
            return work(uow)
