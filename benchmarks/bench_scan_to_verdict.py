"""Scan-to-verdict latency with 1,000,000 device-usage rows, on SQLite and PostgreSQL.

What a nurse waits for after the beep: ``DeviceService.bind_scan`` — parse, look-ups (run, patient,
product by GTIN, item by key, who holds it, recall), INSERT the usage, append the hash-chained audit
row, COMMIT (SQLite ``synchronous=FULL``; PostgreSQL ``synchronous_commit=on``).

The database is seeded with bulk INSERTs (not through the services, which would take hours):
100,000 patients and runs, 1,000,000 received items in lots of 50 and 1,000,000 usages, plus one
audit row per usage with a valid hash chain, so every index and the audit head are at production
size. Then each timed scan binds a different received item to one of 200 open runs.

Next to it, in the same run and interleaved scan by scan (so both see the same machine load), the
**floor**: one bare committed INSERT of a short row through the raw driver with the same durability
(SQLite WAL + ``synchronous=FULL``; PostgreSQL default commit). The floor is the fsync a bind
cannot avoid; the difference is the application's own cost. Goal: p95 < 10 ms.

    .venv/bin/python benchmarks/bench_scan_to_verdict.py [--backend sqlite|postgresql|both]
        [--usages 1000000] [--scans 400] [--pg-url postgresql+psycopg://postgres@127.0.0.1:55432/postgres]

PostgreSQL: a scratch database is created next to ``--pg-url`` (default ``ECMO_BENCH_PG_URL``,
else ``ECMO_TEST_PG_URL``) and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

_TMP = Path(tempfile.mkdtemp(prefix="ecmo-bench-scan-"))
os.environ.setdefault("ECMO_DATA_DIR", str(_TMP / "data"))

from sqlalchemy import create_engine, event, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

try:  # run as a script (benchmarks/ on sys.path) or as a module of the benchmarks package
    from bench_cache import cache_key, cached_postgresql, cached_sqlite
except ImportError:  # pragma: no cover - python -m benchmarks.bench_scan_to_verdict
    from benchmarks.bench_cache import cache_key, cached_postgresql, cached_sqlite
from ecmo_desktop.container import Container, build_container  # noqa: E402
from ecmo_desktop.domain.audit_chain import chain_hash, jsonable  # noqa: E402
from ecmo_desktop.domain.codes import parse_code  # noqa: E402
from ecmo_desktop.domain.devices import ProductInput, VerdictKind, gs1_check_digit  # noqa: E402
from ecmo_desktop.storage.orm.audit import AuditRow  # noqa: E402
from ecmo_desktop.storage.orm.devices import ItemRow, ReceivingRow, UsageRow  # noqa: E402
from ecmo_desktop.storage.orm.people import PatientRow  # noqa: E402
from ecmo_desktop.storage.orm.runs import RunRow  # noqa: E402

PASSWORD = "Bench2026pass"
GTIN = "0690123400001" + str(gs1_check_digit("0690123400001"))
EXPIRY = date(2030, 12, 31)
ITEMS_PER_LOT = 50
USAGES_PER_RUN = 10
OPEN_RUNS = 200
CHUNK = 20_000
GS = "\x1d"


def code_for(serial: str, lot: str) -> str:
    return f"01{GTIN}17{EXPIRY:%y%m%d}10{lot}{GS}21{serial}"


def lot_of(i: int) -> str:
    return f"LOT{i // ITEMS_PER_LOT:06d}"


# ---- databases -------------------------------------------------------------------------------------
def _pg_base() -> str:
    url = os.environ.get("ECMO_BENCH_PG_URL") or os.environ.get("ECMO_TEST_PG_URL")
    if not url:
        raise SystemExit("PostgreSQL: set --pg-url, ECMO_BENCH_PG_URL or ECMO_TEST_PG_URL")
    return url


@contextmanager
def database(backend: str, pg_url: str | None) -> Iterator[str]:
    """A fresh, empty database URL for ``backend``; removed afterwards."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="ecmo-bench-db-", dir=_TMP))
        try:
            yield f"sqlite:///{folder / 'bench.sqlite3'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    admin = make_url(pg_url or _pg_base()).set(database="postgres")
    name = f"ecmo_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        engine.dispose()


# ---- seeding -----------------------------------------------------------------------------------------
@dataclass
class World:
    c: Container
    url: str
    backend: str
    nurse_id: int
    open_runs: list[int]
    spare_codes: list[str]
    usages: int
    lots: int
    seed_seconds: float


def _chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_world(
    url: str, backend: str, usages: int, spare: int, *, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Accounts and the catalogue through the services; everything at volume through bulk INSERTs.

    Returns what ``open_world`` needs to find its way in the database (it is cached, bench_cache.py)."""
    t0 = time.perf_counter()
    c = build_container(url, workstation="bench")
    c.auth.first_run_setup(
        hospital_name="基准医院",
        hospital_code="B001",
        city="呼和浩特市",
        admin_username="admin",
        admin_full_name="管理员",
        admin_password=PASSWORD,
        admin_password_repeat=PASSWORD,
    )
    c.auth.login("admin", PASSWORD)
    nurse = c.staff.create_staff(
        username="nurse",
        full_name="陈静",
        title="nurse_senior",
        roles=["nurse"],
        initial_password=PASSWORD,
        ecmo_trained=True,
    )
    product = c.devices.add_product(
        ProductInput(
            category="oxygenator",
            name="Quadrox-iD Adult 氧合器",
            manufacturer="Maquet",
            model="BE-PLS 2050",
            gtin=GTIN,
            nmpa_number="国械注进20173450123",
        )
    )
    hospital = c.runs.hospital()
    assert hospital is not None
    runs = max(OPEN_RUNS, usages // USAGES_PER_RUN)
    start = datetime(2016, 1, 1, tzinfo=UTC)
    rng = random.Random(20260302)
    engine = c.uow.engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE staff SET must_change_password = :f"), {"f": False})
        progress(f"  seeding {runs:,} patients and runs …")
        for batch in _chunks(
            {
                "hospital_id": hospital.id,
                "mrn": f"B{i:07d}",
                "name": f"患者{i}",
                "sex": "MF"[i % 2],
                "ward": "EICU",
                "bed": str(i % 24),
                "created_at": start,
                "version": 1,
            }
            for i in range(runs)
        ):
            conn.execute(insert(PatientRow), batch)
        first_patient = conn.scalar(select(PatientRow.id).order_by(PatientRow.id).limit(1))
        for batch in _chunks(
            {
                "hospital_id": hospital.id,
                "patient_id": first_patient + i,
                "run_number": 1,
                "mode": "VA",
                "indication": "ami",
                "status": "on_ecmo" if i >= runs - OPEN_RUNS else "ended",
                "created_at": start + timedelta(hours=i),
                "started_at": start + timedelta(hours=i),
                "source": "import",
                "version": 1,
            }
            for i in range(runs)
        ):
            conn.execute(insert(RunRow), batch)
        run_ids = list(conn.scalars(select(RunRow.id).order_by(RunRow.id)))
        receivings = (usages + spare) // 1000 + 1
        conn.execute(
            insert(ReceivingRow),
            [
                {
                    "supplier": "国药控股内蒙古有限公司",
                    "received_at": start,
                    "received_by_id": nurse.id,
                    "delivery_note": f"RK{i}",
                }
                for i in range(receivings)
            ],
        )
        receiving_ids = list(conn.scalars(select(ReceivingRow.id).order_by(ReceivingRow.id)))
        progress(f"  seeding {usages + spare:,} items …")
        for batch in _chunks(
            {
                "product_id": product.id,
                "item_key": f"gs1:{GTIN}:B{i:07d}",
                "serial": f"B{i:07d}",
                "lot": lot_of(i),
                "expiry": EXPIRY,
                "raw_code": code_for(f"B{i:07d}", lot_of(i)),
                "symbology": "gs1",
                "receiving_id": receiving_ids[i // 1000],
                "created_at": start,
            }
            for i in range(usages + spare)
        ):
            conn.execute(insert(ItemRow), batch)
        first_item = conn.scalar(select(ItemRow.id).order_by(ItemRow.id).limit(1))
        progress(f"  seeding {usages:,} usages …")
        for batch in _chunks(
            {
                "item_id": first_item + i,
                "run_id": run_ids[i // USAGES_PER_RUN],
                "single_use": True,
                "bound_at": start + timedelta(minutes=i),
                "bound_by_id": nurse.id,
                "scanned_text": code_for(f"B{i:07d}", lot_of(i)),
                "warnings": "",
                "removed_at": start + timedelta(minutes=i, days=3) if rng.random() < 0.1 else None,
            }
            for i in range(usages)
        ):
            conn.execute(insert(UsageRow), batch)
        progress(f"  seeding {usages:,} audit rows (hash chain) …")
        head = conn.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).one()
        state = {"seq": head.seq, "prev": head.hash}
        first_usage = conn.scalar(select(UsageRow.id).order_by(UsageRow.id).limit(1))

        def audit_rows() -> Iterator[dict[str, Any]]:
            for i in range(usages):
                state["seq"] += 1
                fields = {
                    "seq": state["seq"],
                    "occurred_at": start + timedelta(minutes=i),
                    "actor_id": nurse.id,
                    "actor_name": "陈静",
                    "workstation": "bench",
                    "action": "bind",
                    "entity": "device_usage",
                    "entity_id": first_usage + i,
                    "run_id": run_ids[i // USAGES_PER_RUN],
                    "patient_id": None,
                    "before": None,
                    "after": jsonable({"serial": f"B{i:07d}"}),
                    "reason": None,
                    "success": True,
                }
                digest = chain_hash(state["prev"], fields)
                state["prev"] = digest
                yield {**fields, "prev_hash": "", "hash": digest}

        prev = head.hash
        for batch in _chunks(audit_rows()):
            for row in batch:
                row["prev_hash"], prev = prev, row["hash"]
            conn.execute(insert(AuditRow), batch)
    progress("  ANALYZE …")
    if backend == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            # flush the bulk load now: a ward's server is not in the middle of writing 3M fresh rows
            conn.exec_driver_sql("CHECKPOINT")
    c.close()
    return {
        "nurse_id": nurse.id,
        "open_runs": run_ids[-OPEN_RUNS:],
        "usages": usages,
        "spare": spare,
        "seed_seconds": time.perf_counter() - t0,
    }


def open_world(url: str, backend: str, meta: dict[str, Any], *, user: str = "nurse") -> World:
    """The seeded database opened through the app, logged in as ``user``."""
    c = build_container(url, workstation="bench")
    c.auth.login(user, PASSWORD)
    usages, spare = meta["usages"], meta["spare"]
    spare_codes = [code_for(f"B{i:07d}", lot_of(i)) for i in range(usages, usages + spare)]
    return World(
        c,
        url,
        backend,
        meta["nurse_id"],
        meta["open_runs"],
        spare_codes,
        usages,
        (usages + ITEMS_PER_LOT - 1) // ITEMS_PER_LOT,
        meta["seed_seconds"],
    )


@contextmanager
def seeded(
    backend: str, usages: int, spare: int, pg_url: str | None
) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """A private copy of the seeded database (built once per schema revision and size, then cached)."""
    key = cache_key("scan", backend=backend, usages=usages, spare=spare)

    def build(url: str) -> dict[str, Any]:
        return seed_world(url, backend, usages, spare)

    if backend == "sqlite":
        with cached_sqlite(key, build, _TMP) as found:
            yield found
    else:
        with cached_postgresql(key, build, pg_url or _pg_base()) as found:
            yield found


# ---- the floor ----------------------------------------------------------------------------------------
class Floor:
    """One bare committed INSERT through the raw driver, with the same durability as the app."""

    def __init__(self, url: str, backend: str) -> None:
        self.backend = backend
        u = make_url(url)
        if backend == "sqlite":
            self.conn: Any = sqlite3.connect(u.database, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY, note TEXT)")
        else:
            import psycopg

            self.conn = psycopg.connect(
                host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
            )
            self.conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id serial PRIMARY KEY, note text)")
            self.conn.commit()

    def insert(self) -> None:
        if self.backend == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT INTO bench_floor (note) VALUES (?)", ("x",))
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("INSERT INTO bench_floor (note) VALUES (%s)", ("x",))
            self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_average() -> str:
    """The machine's 1-minute load average (figures on a busy box are not an idle ward PC's)."""
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    except OSError:  # pragma: no cover - Windows
        return "n/a"


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"  {name:<34} p50 {statistics.median(ms):7.2f} ms   p95 {pct(ms, 0.95):7.2f} ms   "
        f"p99 {pct(ms, 0.99):7.2f} ms   max {max(ms):7.2f} ms   (n={len(ms)})"
    )


def bench_scans(world: World, scans: int, warmup: int = 20) -> dict[str, list[float]]:
    devices = world.c.devices
    floor = Floor(world.url, world.backend)
    rng = random.Random(7)
    times: dict[str, list[float]] = {
        "bind (bound)": [],
        "floor: bare committed INSERT": [],
        "re-scan (blocked_reused)": [],
        "parse only": [],
    }
    codes = list(world.spare_codes)
    bound: list[str] = []
    for i in range(warmup + scans):
        code = codes[i]
        run = rng.choice(world.open_runs)
        t0 = time.perf_counter()
        verdict = devices.bind_scan(run, code)
        t1 = time.perf_counter()
        assert verdict.kind is VerdictKind.BOUND, verdict.user_message()
        floor_t0 = time.perf_counter()
        floor.insert()
        floor_t1 = time.perf_counter()
        p0 = time.perf_counter()
        parse_code(code)
        p1 = time.perf_counter()
        bound.append(code)
        if i >= warmup:
            times["bind (bound)"].append(t1 - t0)
            times["floor: bare committed INSERT"].append(floor_t1 - floor_t0)
            times["parse only"].append(p1 - p0)
        if i >= warmup and i % 4 == 0:
            again = rng.choice(bound[:-1] or bound)
            r0 = time.perf_counter()
            refused = devices.bind_scan(rng.choice(world.open_runs), again)
            r1 = time.perf_counter()
            assert refused.kind is VerdictKind.BLOCKED_REUSED, refused.user_message()
            times["re-scan (blocked_reused)"].append(r1 - r0)
    floor.close()
    return times


def count_round_trips(world: World, code: str) -> dict[str, int]:
    """What one bind sends to the server, counted on the engine: statements, transaction starts and
    ends, connection check-outs; on PostgreSQL also the real network round trips, from libpq's own
    trace (one ReadyForQuery per trip: a BEGIN psycopg sends on its own counts, an autocommit
    transaction's begin and rollback do not). SQLite has none, only the fsync."""
    engine = world.c.uow.engine
    counts = {"statements": 0, "begin": 0, "commit": 0, "rollback": 0, "checkout": 0}
    trace = tempfile.TemporaryFile("w+") if world.backend == "postgresql" else None  # noqa: SIM115

    def traced(dbapi_conn: Any, *_a: Any) -> None:
        assert trace is not None
        dbapi_conn.pgconn.trace(trace.fileno())

    def untraced(dbapi_conn: Any, *_a: Any) -> None:
        dbapi_conn.pgconn.untrace()

    def statement(*_a: Any) -> None:
        counts["statements"] += 1

    def bump(key: str) -> Callable[..., None]:
        def inner(*_a: Any) -> None:
            counts[key] += 1

        return inner

    hooks = [
        (engine, "before_cursor_execute", statement),
        (engine, "begin", bump("begin")),
        (engine, "commit", bump("commit")),
        (engine, "rollback", bump("rollback")),
        (engine.pool, "checkout", bump("checkout")),
    ]
    if trace is not None:
        hooks += [(engine.pool, "checkout", traced), (engine.pool, "checkin", untraced)]
    for target, name, fn in hooks:
        event.listen(target, name, fn)
    try:
        verdict = world.c.devices.bind_scan(world.open_runs[0], code)
        assert verdict.kind is VerdictKind.BOUND, verdict.user_message()
    finally:
        for target, name, fn in hooks:
            event.remove(target, name, fn)
    if trace is not None:
        trace.seek(0)
        counts["server round trips"] = sum("\tB\t" in line and "ReadyForQuery" in line for line in trace)
        trace.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--usages", type=int, default=1_000_000)
    parser.add_argument("--scans", type=int, default=400)
    parser.add_argument("--pg-url")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(f"\n== {backend}: {args.usages:,} usages")
        with seeded(backend, args.usages, args.scans + 40, args.pg_url) as (url, meta, hit):
            world = open_world(url, backend, meta)
            print(
                f"  {'from the cache (seeded' if hit else '(seeded'} in {world.seed_seconds:.0f} s); "
                f"load average before timing: {load_average()}"
            )
            times = bench_scans(world, args.scans)
            trips = count_round_trips(world, world.spare_codes[-1])
            print("  one bind sends: " + ", ".join(f"{k} {v}" for k, v in trips.items()))
            print(f"  load average after timing: {load_average()}")
            for name, values in times.items():
                print(summary(name, values))
            bind = times["bind (bound)"]
            floor = times["floor: bare committed INSERT"]
            print(
                f"  bind p95 / floor p95 = {pct(bind, 0.95) / pct(floor, 0.95):.1f}×   "
                f"goal p95 < 10 ms: {'met' if pct(bind, 0.95) < 0.010 else 'NOT met'}"
            )
            world.c.close()
    shutil.rmtree(_TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
