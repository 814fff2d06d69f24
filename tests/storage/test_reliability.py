"""REL-1 (crash at any moment), REL-6 (busy database), REL-7 (disk full) — quick versions.

The full-N runs are in benchmarks/reliability.py. Each test checks it really exercised something
(acked > 0; the negative control fails), so a broken harness cannot pass silently.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.services.runs import PatientInput
from tests.conftest import Seeded

ROOT = Path(__file__).resolve().parents[2]
CYCLES = int(os.environ.get("ECMO_CRASH_CYCLES", "6"))


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_minus_nine_never_loses_acknowledged_saves(
    seeded: Seeded, seeded_db_url: str, backend: str
) -> None:
    """REL-1: kill the saving process at random moments; every acknowledged save is there, whole."""
    rng = random.Random(3)
    acked: list[tuple[int, int]] = []
    for _ in range(CYCLES):
        proc = _spawn("save_loop", seeded_db_url)
        assert proc.stdout is not None
        ready = proc.stdout.readline().strip()
        assert ready == "READY", proc.stderr.read() if proc.stderr else ready
        time.sleep(rng.uniform(0.05, 0.4))  # a random moment in the middle of saving
        proc.send_signal(signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                acked.append((int(parts[0]), int(parts[1])))
    assert len(acked) > 0, "the harness acknowledged nothing: it tested nothing"
    engine = seeded.container.uow.engine
    with engine.connect() as conn:
        if backend == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        patients = {r[0] for r in conn.execute(text("SELECT id FROM patient"))}
        runs = {r[0]: r[1] for r in conn.execute(text("SELECT id, patient_id FROM ecmo_run"))}
        audited = {(r[0], r[1]) for r in conn.execute(text("SELECT entity, entity_id FROM audit_event"))}
    for pid, rid in acked:
        assert pid in patients and runs.get(rid) == pid
    # pair invariants: no half-applied transaction — every saved row has its audit row
    assert all(("patient", p) in audited for p in patients)
    assert all(("ecmo_run", r) in audited for r in runs)
    seeded.login("admin")
    assert seeded.container.audit.verify_chain().ok


def test_busy_database_never_surfaces_lock_errors(sqlite_url: str) -> None:
    """REL-6: 4 processes write at once with BEGIN IMMEDIATE — all commit; DEFERRED (control) fails."""
    n = 60
    procs = [_spawn("busy", sqlite_url, str(n), "0") for _ in range(4)]
    results = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [int(r[1]) for r in results] == [0, 0, 0, 0]
    assert sum(int(r[0]) for r in results) == 4 * n
    control = [_spawn("busy", sqlite_url, str(n), "1") for _ in range(4)]
    control_results = [p.communicate(timeout=120)[0].split() for p in control]
    assert sum(int(r[1]) for r in control_results) > 0, "negative control never hit SQLITE_BUSY"


def test_disk_full_gives_a_clear_message_and_keeps_earlier_data(seeded: Seeded, backend: str) -> None:
    """REL-7: fill the database to its page limit; the save fails whole with a message, earlier rows stay."""
    if backend != "sqlite":
        pytest.skip("page-count limit is an SQLite mechanism")
    c = seeded.container
    seeded.login("chenjing")
    c.runs.register_patient(PatientInput(mrn="KEEP1", name="保留", sex="M"))
    engine = c.uow.engine

    @event.listens_for(engine, "connect")
    def _limit(dbapi_conn: sqlite3.Connection, _rec: object) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()
    failures = 0
    for i in range(200):
        try:
            c.runs.register_patient(PatientInput(mrn=f"FULL{i}", name="满" * 90, sex="F", ward="病区" * 20))
        except StorageError as exc:
            failures += 1
            assert "磁盘空间已满" in exc.user_message()
            break
    assert failures == 1, "the disk never filled: the test exercised nothing"
    event.remove(engine, "connect", _limit)
    engine.dispose()
    assert c.runs.find_patient("KEEP1") is not None
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        patients = {r[0] for r in conn.execute(text("SELECT id FROM patient"))}
        audited = {
            r[0] for r in conn.execute(text("SELECT entity_id FROM audit_event WHERE entity='patient'"))
        }
    assert patients <= audited  # nothing half-saved
    c.runs.register_patient(
        PatientInput(mrn="AFTER", name="恢复", sex="M")
    )  # space freed: saving works again
