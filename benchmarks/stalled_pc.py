"""One ward PC frozen mid-save, and the audit-append critical section (issue 11 §2, PostgreSQL).

    .venv/bin/python -m benchmarks.stalled_pc [--rounds 5] [--saves 300] [--pg-url URL]
        # ECMO_BENCH_PG_URL or ECMO_TEST_PG_URL by default

1. ``rounds`` times: a PC is SIGSTOPped right after appending its audit row (the advisory lock held);
   another PC then logs in and saves. Prints how long the login and the save waited, and what the frozen
   PC was told when it woke (its save must be rolled back; its next save must work).
2. ``saves`` ordinary saves on one PC: how long the audit lock is held (from the ``pg_advisory_xact_lock``
   statement to the end of COMMIT), median / p95 / max, next to the whole save.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.storage.record_race_worker import PASSWORD, prepare  # noqa: E402
from tests.storage.stall_worker import frozen_save  # noqa: E402


def _database(pg_url: str) -> tuple[str, Any, str]:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"ecmo_stall_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), admin, name


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument(
        "--pg-url", default=os.environ.get("ECMO_BENCH_PG_URL") or os.environ.get("ECMO_TEST_PG_URL")
    )
    args = parser.parse_args()
    if not args.pg_url:
        raise SystemExit("give --pg-url or set ECMO_BENCH_PG_URL / ECMO_TEST_PG_URL")
    from sqlalchemy import event

    from ecmo_desktop.container import build_container
    from ecmo_desktop.domain.records import DailyEntryInput
    from ecmo_desktop.storage.engine import AUDIT_LOCK_IDLE_MS, LOCK_TIMEOUT_MS
    from ecmo_desktop.storage.orm.people import StaffRow

    print(
        f"load: {os.getloadavg()}  AUDIT_LOCK_IDLE_MS={AUDIT_LOCK_IDLE_MS} LOCK_TIMEOUT_MS={LOCK_TIMEOUT_MS}"
    )
    url, admin, name = _database(args.pg_url)
    try:
        c = build_container(url, workstation="bench")
        c.auth.first_run_setup(
            hospital_name="基准医院",
            hospital_code="B",
            city="市",
            admin_username="admin",
            admin_full_name="管理员",
            admin_password=PASSWORD,
            admin_password_repeat=PASSWORD,
        )
        c.auth.login("admin", PASSWORD)
        for username, full in (("zhangwei", "张伟"), ("lina", "李娜")):
            c.staff.create_staff(
                username=username,
                full_name=full,
                title="chief",
                years_in_practice=20,
                roles=["doctor"],
                initial_password=PASSWORD,
            )
        with c.uow() as uow:
            uow.session.query(StaffRow).update({StaffRow.must_change_password: False})
            uow.commit()

        def login(username: str) -> None:
            c.ctx.user = None
            c.auth.login(username, PASSWORD)

        entries = prepare(c, 2 * args.rounds + args.saves, login)
        ctx = multiprocessing.get_context("fork")
        for r in range(args.rounds):
            (fid, fv, fat, _), (mid, mv, mat, _) = entries[2 * r], entries[2 * r + 1]
            login("zhangwei")
            user = c.ctx.user
            c.uow.engine.dispose()
            queue, resume = ctx.Queue(), ctx.Event()
            pc = ctx.Process(target=frozen_save, args=(url, user, fid, fv, fat, queue, resume))
            pc.start()
            _kind, pid = queue.get(timeout=120)
            os.kill(pid, signal.SIGSTOP)
            t0 = time.monotonic()
            login("lina")
            t1 = time.monotonic()
            c.records.update_daily_entry(
                mid, DailyEntryInput(recorded_at=mat, values={"hr": 77}), expected_version=mv
            )
            t2 = time.monotonic()
            os.kill(pid, signal.SIGCONT)
            resume.set()
            first, second = queue.get(timeout=120), queue.get(timeout=120)
            pc.join(120)
            print(
                f"round {r + 1}: other PC's login waited {t1 - t0:.2f} s, its save {t2 - t1:.2f} s; "
                f"frozen PC on waking: {first[1]} ({first[2]}), next save: {second[1]}",
                flush=True,
            )

        held: list[float] = []
        whole: list[float] = []
        mark: dict[str, float] = {}

        @event.listens_for(c.uow.engine, "before_cursor_execute")
        def _lock(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            if "pg_advisory_xact_lock" in statement and "t" not in mark:
                mark["t"] = time.monotonic()

        @event.listens_for(c.uow.engine, "commit")
        def _commit(conn: Any) -> None:
            mark["c"] = 1.0

        login("zhangwei")
        for entry_id, version, at, _ in entries[2 * args.rounds :]:
            mark.clear()
            s0 = time.monotonic()
            c.records.update_daily_entry(
                entry_id, DailyEntryInput(recorded_at=at, values={"hr": 88}), expected_version=version
            )
            end = time.monotonic()
            whole.append(end - s0)
            if "t" in mark:
                held.append(end - mark["t"])
        print(
            f"audit lock held per save (lock statement → commit done), {len(held)} saves: "
            f"median {statistics.median(held) * 1000:.1f} ms, p95 {_pct(held, 0.95) * 1000:.1f} ms, "
            f"max {max(held) * 1000:.1f} ms; whole save median {statistics.median(whole) * 1000:.1f} ms"
        )
        c.close()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
