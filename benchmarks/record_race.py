"""Two ward PCs colliding on one record, 1,000 times per kind (issue 11 §1, REL-11, SIG-2).

    .venv/bin/python -m benchmarks.record_race [--collisions 1000] [--backend sqlite|postgresql|both]
        [--pg-url URL]   # PostgreSQL: ECMO_BENCH_PG_URL or ECMO_TEST_PG_URL by default

Kinds: ``edit-edit`` (both save the same draft) and ``sign-edit`` (one signs while the other saves).
On PostgreSQL the two transactions are held together inside the update path by a barrier (see
tests/storage/record_race_worker.py), half the collisions in the READ COMMITTED lost-update order (one
commits, then the other continues), half released together; on SQLite both PCs are released at once
(BEGIN IMMEDIATE serialises them). Prints per kind: collisions, exactly-one-winner, both won, none won,
silent overwrites, signatures not binding what the signer saw, errors, and the loser's wait.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.storage.record_race_worker import KINDS, PASSWORD, check, plan, prepare, race  # noqa: E402


def _fresh(backend: str, pg_url: str | None) -> tuple[str, object]:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if backend == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='race-')}/ecmo.sqlite3", None
    if not pg_url:
        raise SystemExit("PostgreSQL: give --pg-url or set ECMO_BENCH_PG_URL / ECMO_TEST_PG_URL")
    admin = make_url(pg_url).set(database="postgres")
    name = f"ecmo_race_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), (engine, name)


def run(backend: str, collisions: int, pg_url: str | None) -> None:
    from ecmo_desktop.container import build_container
    from ecmo_desktop.storage.orm.people import StaffRow

    url, cleanup = _fresh(backend, pg_url)
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
        for username, name in (("zhangwei", "张伟"), ("lina", "李娜")):
            c.staff.create_staff(
                username=username,
                full_name=name,
                title="chief",
                years_in_practice=20,
                roles=["doctor"],
                initial_password=PASSWORD,
            )
        with c.uow() as uow:
            uow.session.query(StaffRow).update({StaffRow.must_change_password: False})
            uow.commit()
        users = {}

        def login(username: str) -> None:
            c.ctx.user = None
            c.auth.login(username, PASSWORD)
            users[username] = c.ctx.user

        pg = backend == "postgresql"
        for n, kind in enumerate(KINDS):
            entries = prepare(c, collisions, login, mrn=f"RACE{n + 1}")
            login("lina")
            c.uow.engine.dispose()
            steps = plan(entries, kind, pg=pg, first_trial=n * collisions)
            t0 = time.monotonic()
            got = race(url, (users["zhangwei"], users["lina"]), steps)
            elapsed = time.monotonic() - t0
            tally, notes = check(url, steps, got)
            losers = sorted(g[5] for g in got if g[3] != "ok")
            winners = sorted(g[5] for g in got if g[3] == "ok")
            print(
                f"{backend:10} {kind:9} collisions={tally.collisions} one_winner={tally.one_winner} "
                f"both_won={tally.both_won} none_won={tally.none_won} "
                f"silent_overwrites={tally.silent_overwrites} bad_signatures={tally.bad_signatures} "
                f"errors={tally.errors}  wall={elapsed:.1f}s  winner "
                f"median={statistics.median(winners) * 1000:.0f}ms "
                f"loser median={statistics.median(losers) * 1000:.0f}ms "
                f"p95={losers[int(len(losers) * 0.95)] * 1000:.0f}ms",
                flush=True,
            )
            for note in notes[:5]:
                print("   ", note)
        c.ctx.user = None
        login("admin")
        print(f"{backend:10} audit chain intact: {c.audit.verify_chain().ok}")
        c.close()
    finally:
        if cleanup is not None:
            engine, name = cleanup  # type: ignore[misc]
            with engine.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collisions", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--pg-url", default=os.environ.get("ECMO_BENCH_PG_URL") or os.environ.get("ECMO_TEST_PG_URL")
    )
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}")
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.collisions, args.pg_url)


if __name__ == "__main__":
    main()
