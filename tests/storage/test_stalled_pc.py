"""One stalled PC must not stall the ward (issue 11 §2, PostgreSQL: several PCs on one server).

A PC is SIGSTOPped in the middle of a save while it holds the audit trail's lock. The other PCs' logins
and saves must still complete (the server ends the frozen transaction after AUDIT_LOCK_IDLE_MS; their
lock wait is bounded by LOCK_TIMEOUT_MS), and when the frozen PC wakes its save is refused cleanly —
rolled back, nothing of it stored, the audit chain intact — and its next save works. Before the fix
the others waited for as long as the PC stayed frozen. The wait itself is measured in
benchmarks/stalled_pc.py, not asserted here.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from typing import Any

import pytest

from ecmo_desktop.domain.records import DailyEntryInput
from tests.conftest import PASSWORD, Seeded
from tests.storage.record_race_worker import prepare
from tests.storage.stall_worker import frozen_save

LIVENESS = 90.0  # far above the few seconds expected: only a stalled ward fails this


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_frozen_pc_holding_the_audit_lock_does_not_stall_the_others(
    seeded_db_url: str, seeded: Seeded
) -> None:
    c: Any = seeded.container
    (frozen_id, frozen_v, frozen_at, _), (mine_id, mine_v, mine_at, _) = prepare(c, 2, seeded.login)
    user = c.ctx.user
    c.uow.engine.dispose()
    ctx = multiprocessing.get_context("fork")
    queue, resume = ctx.Queue(), ctx.Event()
    pc = ctx.Process(
        target=frozen_save, args=(seeded_db_url, user, frozen_id, frozen_v, frozen_at, queue, resume)
    )
    pc.start()
    try:
        kind, pid = queue.get(timeout=LIVENESS)
        assert kind == "holding"
        os.kill(pid, signal.SIGSTOP)  # frozen with the lock held

        done: dict[str, Any] = {}

        def other_pc() -> None:
            try:
                c.ctx.user = None
                c.auth.login("lina", PASSWORD)  # a login writes to the audit trail too
                done["saved"] = c.records.update_daily_entry(
                    mine_id, DailyEntryInput(recorded_at=mine_at, values={"hr": 77}), expected_version=mine_v
                )
            except Exception as exc:  # noqa: BLE001 - reported below
                done["error"] = exc

        t = threading.Thread(target=other_pc, daemon=True)
        t.start()
        t.join(LIVENESS)
        stalled = t.is_alive()
    finally:
        os.kill(pc.pid, signal.SIGCONT)
        resume.set()
    t.join(LIVENESS)
    assert not stalled, "the other PC's login and save waited for the frozen PC"
    assert "error" not in done, done.get("error")
    assert done["saved"].values["hr"] == 77

    first = queue.get(timeout=LIVENESS)
    second = queue.get(timeout=LIVENESS)
    pc.join(LIVENESS)
    assert first[:2] == ("first", "ServerUnreachable"), first  # told, in Chinese, not the driver's text
    assert "数据未保存" in first[2]
    assert second == ("second", "saved", "")
    seeded.login("admin")
    entry = c.records.get_record("daily_entry", frozen_id)
    assert entry.values["hr"] == 67 and entry.version == frozen_v + 1  # the frozen save left nothing behind
    assert c.audit.verify_chain().ok
