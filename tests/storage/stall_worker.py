"""A ward PC that freezes in the middle of a save, holding the audit trail's lock (issue 11 §2).

``frozen_save`` runs in a child process: it saves a daily entry and, right after its audit row is
appended (the advisory lock is held from there to the commit), tells the parent and waits; the parent
then SIGSTOPs it. After SIGCONT and ``resume`` it finishes the save (which the server has ended
meanwhile) and then saves once more, as a PC does when it wakes up.
Used by test_stalled_pc.py and benchmarks/stalled_pc.py.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any


def frozen_save(
    url: str, user: Any, entry_id: int, version: int, recorded_at: datetime, queue: Any, resume: Any
) -> None:
    from ecmo_desktop.container import build_container
    from ecmo_desktop.domain.errors import EcmoError
    from ecmo_desktop.domain.records import DailyEntryInput
    from ecmo_desktop.storage.repositories.audit import SqlAuditRepository

    c = build_container(url, workstation=f"frozen-{os.getpid()}", migrate=False)
    c.ctx.user = user
    real_append = SqlAuditRepository.append
    state = {"held": False}

    def append(self: SqlAuditRepository, **kwargs: Any) -> Any:
        event = real_append(self, **kwargs)
        if not state["held"]:
            state["held"] = True
            queue.put(("holding", os.getpid()))
            resume.wait(timeout=600)
        return event

    SqlAuditRepository.append = append  # type: ignore[method-assign]
    try:
        try:
            c.records.update_daily_entry(
                entry_id,
                DailyEntryInput(recorded_at=recorded_at, values={"hr": 66}),
                expected_version=version,
            )
            queue.put(("first", "saved", ""))
        except EcmoError as exc:
            queue.put(("first", type(exc).__name__, exc.user_message()))
        except Exception as exc:  # noqa: BLE001 - the parent fails the test on it
            queue.put(("first", "crash", f"{type(exc).__name__}: {exc}"))
        try:  # awake again: the next save on this PC works (a fresh connection replaces the dead one)
            fresh = c.records.get_record("daily_entry", entry_id)
            c.records.update_daily_entry(
                entry_id,
                DailyEntryInput(recorded_at=recorded_at, values={"hr": 67}),
                expected_version=fresh.version,
            )
            queue.put(("second", "saved", ""))
        except Exception as exc:  # noqa: BLE001
            queue.put(("second", type(exc).__name__, str(exc)))
    finally:
        SqlAuditRepository.append = real_append  # type: ignore[method-assign]
        c.close()
