"""Full-N reliability runs (RELIABILITY.md REL-1, REL-4, REL-6), printing figures, per backend.

    .venv/bin/python -m benchmarks.reliability [--backend sqlite|postgresql|both] [--cycles 500]
        [--races 1000] [--writes 500] [--pg-url URL]   # PostgreSQL: ECMO_TEST_PG_URL by default

REL-1: kill -9 the real service layer at random moments; count corrupt databases, lost acknowledged
saves and orphan rows. REL-4: two workstation processes released by a barrier scan the same new
serial through ``DeviceService.bind_scan`` (every other race with the pre-check removed, so the R6
index alone decides); count races with exactly one winner, the losers refused through the index,
and errors. REL-6 (SQLite): 4 processes × 500 write transactions on one file, plus the DEFERRED
negative control. Each backend gets fresh databases (PostgreSQL: created next to ``--pg-url``'s).
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
PASSWORD = "Ward2026pass"


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def prepare(url: str) -> None:
    from ecmo_desktop.container import build_container

    c = build_container(url)
    c.auth.first_run_setup(
        hospital_name="基准医院",
        hospital_code="B",
        city="市",
        admin_username="admin",
        admin_full_name="管理员",
        admin_password="Ward2026pass",
        admin_password_repeat="Ward2026pass",
    )
    c.auth.login("admin", "Ward2026pass")
    c.staff.create_staff(
        username="zhangwei",
        full_name="张伟",
        title="chief",
        years_in_practice=20,
        roles=["doctor"],
        initial_password="Ward2026pass",
    )
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
        1 for r in runs if ("ecmo_run", r) not in audited
    )
    print(
        f"REL-1 {cycles} cycles in {time.monotonic() - t0:.1f} s: acked={len(acked)} corrupt={corrupt} "
        f"lost={lost} orphans={orphans}"
    )


def rel6(url: str, n: int) -> None:
    for label, deferred in (("BEGIN IMMEDIATE", "0"), ("DEFERRED (negative control)", "1")):
        t0 = time.monotonic()
        procs = [spawn("busy", url, str(n), deferred) for _ in range(4)]
        res = [p.communicate()[0].split() for p in procs]
        ok = sum(int(r[0]) for r in res)
        err = sum(int(r[1]) for r in res)
        print(f"REL-6 {label}: 4×{n}: committed={ok} lock errors={err} in {time.monotonic() - t0:.1f} s")


def prepare_ward(url: str, items: int) -> tuple[list[int], list[str], object]:
    """A ward with two runs on ECMO and ``items`` received oxygenators; returns runs, codes, the nurse."""
    from datetime import date

    from ecmo_desktop.container import build_container
    from ecmo_desktop.domain.devices import ProductInput
    from ecmo_desktop.services.runs import PatientInput, RunInput
    from tests.kit.devices import OXY_GTIN, label, set_status

    c = build_container(url, workstation="bench")
    c.auth.login("admin", PASSWORD)
    c.devices.add_product(
        ProductInput(
            category="oxygenator",
            name="Quadrox-iD Adult 氧合器",
            manufacturer="Maquet",
            gtin=OXY_GTIN,
            nmpa_number="国械注进20173450123",
        )
    )
    c.staff.create_staff(
        username="chenjing",
        full_name="陈静",
        title="nurse_senior",
        years_in_practice=8,
        roles=["nurse"],
        initial_password=PASSWORD + "x",
    )
    c.ctx.user = None
    c.auth.login("zhangwei", PASSWORD)
    c.auth.change_password(PASSWORD, PASSWORD + "z", PASSWORD + "z")
    run_ids = []
    for i in range(2):
        p = c.runs.register_patient(PatientInput(mrn=f"RACE{i}", name=f"患者{i}", sex="M"))
        run_ids.append(c.runs.open_run(p.id, RunInput(mode="VA", indication="ami")).id)
        set_status(c, run_ids[-1], "on_ecmo")
    c.ctx.user = None
    c.auth.login("chenjing", PASSWORD + "x")
    c.auth.change_password(PASSWORD + "x", PASSWORD + "y", PASSWORD + "y")
    rec = c.devices.start_receiving(supplier="供应商")
    codes = [label(OXY_GTIN, serial=f"R{i:05d}", lot="LR1", expiry=date(2049, 12, 31)) for i in range(items)]
    for code in codes:
        c.devices.receive_scan(rec.id, code)
    user = c.ctx.user
    c.close()
    return run_ids, codes, user


def rel4(url: str, races: int) -> None:
    from tests.storage.test_device_race import _run

    t0 = time.monotonic()
    run_ids, codes, user = prepare_ward(url, races)
    plan = [(code, i % 2 == 1) for i, code in enumerate(codes)]  # odd races: no pre-check
    got = _run(url, run_ids, user, [plan, plan])
    by_code: dict[str, list[tuple[object, ...]]] = {}
    for g in got:
        by_code.setdefault(str(g[1]), []).append(g)
    single = sum(
        1 for pair in by_code.values() if sorted(str(g[3]) for g in pair) == ["blocked_reused", "bound"]
    )
    via_index = sum(
        1
        for i, code in enumerate(codes)
        if i % 2 == 1 and any(g[6] for g in by_code.get(code, []) if g[3] == "blocked_reused")
    )
    errors = [g[7] for g in got if g[3] == "error"]
    print(
        f"REL-4 {races} races in {time.monotonic() - t0:.1f} s: exactly one winner in {single}, "
        f"losers refused by the index without pre-check {via_index}/{races // 2}, errors={len(errors)}"
        + (f" (first: {errors[0]})" if errors else "")
    )


def _fresh_url(backend: str, pg_url: str | None) -> tuple[str, object]:
    """A new empty database of ``backend`` and a function that drops it."""
    if backend == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp()) / 'rel.sqlite3'}", lambda: None
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if not pg_url:
        raise SystemExit("PostgreSQL: give --pg-url or set ECMO_TEST_PG_URL")
    admin = make_url(pg_url).set(database="postgres")
    name = f"ecmo_rel_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")

    def drop() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--cycles", type=int, default=500, help="REL-1 kill -9 cycles per backend (0: skip)")
    parser.add_argument(
        "--races", type=int, default=1000, help="REL-4 two-process races per backend (0: skip)"
    )
    parser.add_argument(
        "--writes", type=int, default=500, help="REL-6 transactions per process (SQLite; 0: skip)"
    )
    parser.add_argument("--pg-url", default=os.environ.get("ECMO_TEST_PG_URL"))
    args = parser.parse_args()
    os.environ.setdefault("ECMO_DATA_DIR", tempfile.mkdtemp())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(f"== {backend}", flush=True)
        for part, n in (("rel1", args.cycles), ("rel4", args.races), ("rel6", args.writes)):
            if n <= 0 or (part == "rel6" and backend != "sqlite"):
                continue
            url, drop = _fresh_url(backend, args.pg_url)
            try:
                prepare(url)
                {"rel1": rel1, "rel4": rel4, "rel6": rel6}[part](url, n)
            finally:
                drop()  # type: ignore[operator]
            sys.stdout.flush()


if __name__ == "__main__":
    main()
