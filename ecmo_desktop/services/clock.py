"""Injected time, so the 12-hour rule, follow-up due dates and the idle lock are testable."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...  # aware, UTC

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ServerClock:
    """Shared mode (several PCs on one PostgreSQL server): the database server's time.

    Every PC then stamps records and audit rows alike, whatever its own clock says (issue 11 §3). The
    offset between the server and this PC is measured with one tiny query at start and again every
    ``resync_s`` from the service worker (``maybe_sync``), never from ``now()`` itself, so reading
    the time never waits for the network; until the server has answered once, the local clock is used.
    """

    def __init__(
        self, server_now: Callable[[], datetime], *, local: Clock | None = None, resync_s: float = 300.0
    ) -> None:
        self._server_now = server_now
        self._local = local or SystemClock()
        self._resync_s = resync_s
        self._offset = timedelta(0)
        self._synced_at: float | None = None
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        """Server minus local (positive: this PC is behind)."""
        return self._offset

    def now(self) -> datetime:
        return self._local.now() + self._offset

    def monotonic(self) -> float:
        return self._local.monotonic()

    def maybe_sync(self) -> None:
        if self._synced_at is None or self._local.monotonic() - self._synced_at >= self._resync_s:
            self.sync()

    def sync(self) -> None:
        with self._lock:
            try:
                before = self._local.now()
                server = self._server_now()
                after = self._local.now()
            except Exception as exc:  # noqa: BLE001 - an outage is reported by the save itself
                log.info("server clock not read: %s", exc)
                return
            self._offset = server - (before + (after - before) / 2)
            self._synced_at = self._local.monotonic()
            if abs(self._offset) > timedelta(seconds=30):
                log.warning(
                    "this PC's clock is %.0f s off the database server's; using the server's",
                    self._offset.total_seconds(),
                )


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: timedelta | float) -> None:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def set(self, moment: datetime) -> None:
        self._mono += (moment - self._now).total_seconds()
        self._now = moment
