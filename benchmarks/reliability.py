"""Full-N reliability runs (RELIABILITY.md REL-1, REL-6), printing figures.

    .venv/bin/python -m benchmarks.reliability [--cycles 500] [--db sqlite|URL]

REL-1: kill -9 the real service layer at random moments; count corrupt databases, lost acknowledged
saves and orphan rows. REL-6: 4 processes × 500 write transactions on one SQLite file, plus the
DEFERRED negative control.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.storage.crash_worker", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def prepare(url: str) -> None:
    from ecmo_desktop.container import build_container

    c = build_container(url)
    c.auth.first_run_setup(hospital_name="基准医院", hospital_code="B", city="市", admin_username="admin",
                           admin_full_name="管理员", admin_password="Ward2026pass", admin_password_repeat="Ward2026pass")
    c.auth.login("admin", "Ward2026pass")
    c.staff.create_staff(username="zhangwei", full_name="张伟", title="chief", years_in_practice=20,
                             roles=["doctor"], initial_password="Ward2026pass")
    c.close()


def rel1(url: str, cycles: int) -> None:
    rng = random.Random(1)
    acked: list[tuple[int, int]] = []
    t0 = time.monotonic()
    for _ in range(cycles):
        proc = spawn("save_loop", url)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "READY":
            raise SystemExit(proc.stderr.read() if proc.stderr else "worker failed")
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        acked += [tuple(map(int, ln.split())) for ln in out.splitlines() if len(ln.split()) == 2]  # type: ignore[misc]
    from sqlalchemy import text

    from ecmo_desktop.storage.engine import create_db_engine

    engine = create_db_engine(url)
    with engine.connect() as conn:
        corrupt = 0
        if url.startswith("sqlite"):
            corrupt = int(conn.execute(text("PRAGMA integrity_check")).scalar() != "ok")
        patients = {r[0] for r in conn.execute(text("SELECT id FROM patient"))}
        runs = {r[0]: r[1] for r in conn.execute(text("SELECT id, patient_id FROM ecmo_run"))}
        audited = {(r[0], r[1]) for r in conn.execute(text("SELECT entity, entity_id FROM audit_event"))}
    lost = sum(1 for p, r in acked if p not in patients or runs.get(r) != p)
    orphans = sum(1 for p in patients if ("patient", p) not in audited) + sum(
        1 for r in runs if ("ecmo_run", r) not in audited)
    print(f"REL-1 {cycles} cycles in {time.monotonic() - t0:.1f} s: acked={len(acked)} corrupt={corrupt} "
          f"lost={lost} orphans={orphans}")


def rel6(url: str, n: int) -> None:
    for label, deferred in (("BEGIN IMMEDIATE", "0"), ("DEFERRED (negative control)", "1")):
        t0 = time.monotonic()
        procs = [spawn("busy", url, str(n), deferred) for _ in range(4)]
        res = [p.communicate()[0].split() for p in procs]
        ok = sum(int(r[0]) for r in res)
        err = sum(int(r[1]) for r in res)
        print(f"REL-6 {label}: 4×{n}: committed={ok} lock errors={err} in {time.monotonic() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    os.environ.setdefault("ECMO_DATA_DIR", tempfile.mkdtemp())
    url = args.db
    if url == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'rel.sqlite3'}"
    prepare(url)
    rel1(url, args.cycles)
    if url.startswith("sqlite"):
        rel6(url, args.writes)


if __name__ == "__main__":
    main()
