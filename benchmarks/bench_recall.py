"""Lot recall over 1,000,000 device usages: every patient and run that received a lot.

Seeds the same world as ``bench_scan_to_verdict.py`` (bulk INSERTs: 100,000 runs, 1,000,000 items in
lots of 50, 1,000,000 usages) and times, for random lots:

* ``trace_lot(lot, gtin=…)`` — the service call the recall screen and ``trace --lot`` make: permission
  check, read transaction, the joined query (usage → item → product → run → patient → staff), mapping
  to ``TraceRow``;
* ``lot_stock(lot)`` — the units of the lot still on the shelf;
* the **floor**: the same joined query through the raw driver (no SQLAlchemy, no mapping, no
  permission check), interleaved with the service calls so both see the same machine load.

Goal: ``trace_lot`` p95 < 10 ms.

    .venv/bin/python benchmarks/bench_recall.py [--backend sqlite|postgresql|both] [--usages 1000000]
        [--queries 300] [--pg-url …]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import time
from typing import Any

from sqlalchemy.engine import make_url

try:  # run as a script (benchmarks/ on sys.path) or as a module of the benchmarks package
    from bench_scan_to_verdict import (
        _TMP,
        GTIN,
        ITEMS_PER_LOT,
        World,
        database,
        load_average,
        lot_of,
        pct,
        seed_world,
        summary,
    )
except ImportError:  # pragma: no cover - python -m benchmarks.bench_recall
    from benchmarks.bench_scan_to_verdict import (
        _TMP,
        GTIN,
        ITEMS_PER_LOT,
        World,
        database,
        load_average,
        lot_of,
        pct,
        seed_world,
        summary,
    )

FLOOR_SQL = """
SELECT u.id, u.bound_at, i.serial, i.lot, i.expiry, p.name, p.nmpa_number, r.run_number, pa.name, pa.mrn, s.full_name
FROM device_item i
JOIN device_product p ON p.id = i.product_id
JOIN device_usage u ON u.item_id = i.id
JOIN ecmo_run r ON r.id = u.run_id
JOIN patient pa ON pa.id = r.patient_id
LEFT JOIN staff s ON s.id = u.bound_by_id
WHERE i.lot = {p} AND p.gtin = {p} AND u.voided_at IS NULL
ORDER BY u.bound_at, u.id
"""


class RawQuery:
    def __init__(self, world: World) -> None:
        u = make_url(world.url)
        self.sqlite = world.backend == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(u.database)
            self.sql = FLOOR_SQL.format(p="?")
        else:
            import psycopg

            self.conn = psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                                        dbname=u.database, autocommit=True)
            self.sql = FLOOR_SQL.format(p="%s")

    def run(self, lot: str) -> int:
        return len(self.conn.execute(self.sql, (lot, GTIN)).fetchall())

    def close(self) -> None:
        self.conn.close()


def bench(world: World, queries: int, warmup: int = 20) -> dict[str, list[float]]:
    devices = world.c.devices
    raw = RawQuery(world)
    rng = random.Random(11)
    lots = [lot_of(rng.randrange(world.usages)) for _ in range(warmup + queries)]
    times: dict[str, list[float]] = {"trace_lot (service)": [], "floor: raw joined query": [],
                                     "lot_stock (service)": []}
    for i, lot in enumerate(lots):
        t0 = time.perf_counter()
        rows = devices.trace_lot(lot, gtin=GTIN)
        t1 = time.perf_counter()
        f0 = time.perf_counter()
        raw_rows = raw.run(lot)
        f1 = time.perf_counter()
        s0 = time.perf_counter()
        devices.lot_stock(lot, gtin=GTIN)
        s1 = time.perf_counter()
        assert len(rows) == raw_rows and 0 < len(rows) <= ITEMS_PER_LOT, (len(rows), raw_rows)
        assert len({r.patient_id for r in rows}) >= 1
        if i >= warmup:
            times["trace_lot (service)"].append(t1 - t0)
            times["floor: raw joined query"].append(f1 - f0)
            times["lot_stock (service)"].append(s1 - s0)
    raw.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--usages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--pg-url")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(f"\n== {backend}: lot recall over {args.usages:,} usages (lots of {ITEMS_PER_LOT})")
        with database(backend, args.pg_url) as url:
            world = seed_world(url, backend, args.usages, 10)
            print(f"  seeded in {world.seed_seconds:.0f} s; load average before timing: {load_average()}")
            world.c.ctx.user = None
            world.c.auth.login("admin", "Bench2026pass")
            times = bench(world, args.queries)
            print(f"  load average after timing: {load_average()}")
            for name, values in times.items():
                print(summary(name, values))
            service, floor = times["trace_lot (service)"], times["floor: raw joined query"]
            print(f"  trace_lot p50 − floor p50 = {(statistics.median(service) - statistics.median(floor)) * 1000:.2f} ms"
                  f"   goal p95 < 10 ms: {'met' if pct(service, 0.95) < 0.010 else 'NOT met'}")
            world.c.close()
    shutil.rmtree(_TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
