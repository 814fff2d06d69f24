"""PostgreSQL LISTEN/NOTIFY: other ward PCs learn within a second that something was saved.

Every audited write notifies channel ``CHANNEL`` from inside its transaction (the audit repository),
so the notification is delivered exactly when the change commits, and never for a rolled-back one.
``ChangeListener`` holds one extra connection per PC that only listens; on each notification (and on
reconnecting, when some may have been missed) it calls ``wake()``, and the caller reads what changed
from the audit trail. SQLite has no server to notify: the UI polls instead (ui/change_feed.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from ecmo_desktop.storage import engine as engine_mod

log = logging.getLogger(__name__)

CHANNEL = "ecmo_change"
RETRY_S = 5.0


class ChangeListener:
    """A daemon thread that LISTENs and calls ``wake`` (from that thread) for every notification."""

    def __init__(self, engine: Engine, wake: Callable[[], None]) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ecmo-change-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=engine_mod.CONNECT_TIMEOUT_S,
                    keepalives=1,
                    keepalives_idle=engine_mod.KEEPALIVE_IDLE_S,
                    keepalives_interval=engine_mod.KEEPALIVE_INTERVAL_S,
                    keepalives_count=engine_mod.KEEPALIVE_COUNT,
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._wake()  # (re)connected: whatever happened meanwhile is read now
                    while not self._stop.is_set():
                        if any(True for _ in conn.notifies(timeout=1.0, stop_after=1)):
                            self._wake()
            except Exception as exc:  # noqa: BLE001 - the listener retries; saves never depend on it
                log.info("change listener: %s; retrying in %.0f s", exc, RETRY_S)
                self._stop.wait(RETRY_S)
