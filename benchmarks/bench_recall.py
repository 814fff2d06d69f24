"""Lot recall over 1,000,000 device usages: every patient and run that received a lot.

Uses the same world as ``bench_scan_to_verdict.py`` (bulk INSERTs: 100,000 runs, 1,000,000 items in
lots of 50, 1,000,000 usages; built once per schema revision and cached, ``bench_cache.py``) and
times, for random lots, interleaved so all see the same machine load:

* **the recall screen**: everything it loads for one lot — ``lot_view(lot, gtin=…)``, one service call
  reading the lot's uses (usage → item → product → run → patient → staff), the units still on the
  shelf and the recall flag in one read transaction, as the trace tab does;
* the screen as it loaded before: ``list_recalls`` + ``trace_lot`` + ``lot_stock``, three service
  calls (three permission checks, three transactions);
* ``trace_lot`` alone (what ``trace --lot`` prints);
* the **floor**: the bare lot query through the raw driver (no SQLAlchemy, no mapping, no
  permission check).

Goal: the recall screen p95 ≤ 10 ms.

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
        load_average,
        lot_of,
        open_world,
        pct,
        seeded,
        summary,
    )
except ImportError:  # pragma: no cover - python -m benchmarks.bench_recall
    from benchmarks.bench_scan_to_verdict import (
        _TMP,
        GTIN,
        ITEMS_PER_LOT,
        World,
        load_average,
        lot_of,
        open_world,
        pct,
        seeded,
        summary,
    )

FLOOR_SQL = """
SELECT u.id, u.bound_at, i.serial, i.lot, i.expiry, p.name, p.nmpa_number, r.run_number, pa.name,
pa.mrn, s.full_name
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

            self.conn = psycopg.connect(
                host=u.host,
                port=u.port,
                user=u.username,
                password=u.password,
                dbname=u.database,
                autocommit=True,
            )
            self.sql = FLOOR_SQL.format(p="%s")

    def run(self, lot: str) -> int:
        return len(self.conn.execute(self.sql, (lot, GTIN)).fetchall())

    def close(self) -> None:
        self.conn.close()


SCREEN = "recall screen (lot_view)"
FLOOR = "floor: bare lot query"


def bench(world: World, queries: int, warmup: int = 20) -> dict[str, list[float]]:
    devices = world.c.devices
    raw = RawQuery(world)
    rng = random.Random(11)
    lots = [lot_of(rng.randrange(world.usages)) for _ in range(warmup + queries)]
    times: dict[str, list[float]] = {
        SCREEN: [],
        "screen as before: 3 calls": [],
        "trace_lot alone": [],
        FLOOR: [],
    }

    def before(lot: str) -> Any:
        recalled = any(r.lot == lot for r in devices.list_recalls(active_only=True))
        return devices.trace_lot(lot, gtin=GTIN), devices.lot_stock(lot, gtin=GTIN), recalled

    steps: list[tuple[str, Any]] = [
        (SCREEN, lambda lot: devices.lot_view(lot, gtin=GTIN)),
        ("screen as before: 3 calls", before),
        ("trace_lot alone", lambda lot: devices.trace_lot(lot, gtin=GTIN)),
        (FLOOR, raw.run),
    ]
    for i, lot in enumerate(lots):
        out: dict[str, Any] = {}
        for name, step in steps if i % 2 else steps[::-1]:  # alternate the order: no one always goes first
            t0 = time.perf_counter()
            out[name] = step(lot)
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
        rows, _stock, _recalled = out[SCREEN]
        assert len(rows) == out[FLOOR] and 0 < len(rows) <= ITEMS_PER_LOT, (len(rows), out[FLOOR])
        assert rows == out["screen as before: 3 calls"][0]
    raw.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--usages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--spare", type=int, default=440, help="as bench_scan_to_verdict (--scans + 40)")
    parser.add_argument("--pg-url")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(f"\n== {backend}: lot recall over {args.usages:,} usages (lots of {ITEMS_PER_LOT})")
        # the scan benchmark's database (same size and spare count), so one cache serves both
        with seeded(backend, args.usages, args.spare, args.pg_url) as (url, meta, hit):
            world = open_world(url, backend, meta, user="admin")
            print(
                f"  {'from the cache (seeded' if hit else '(seeded'} in {world.seed_seconds:.0f} s); "
                f"load average before timing: {load_average()}"
            )
            times = bench(world, args.queries)
            print(f"  load average after timing: {load_average()}")
            for name, values in times.items():
                print(summary(name, values))
            screen, floor = times[SCREEN], times[FLOOR]
            print(
                f"  screen p95 / floor p95 = {pct(screen, 0.95) / pct(floor, 0.95):.1f}×   screen p50 − "
                f"floor p50 = "
                f"{(statistics.median(screen) - statistics.median(floor)) * 1000:.2f} ms   "
                f"goal p95 ≤ 10 ms: {'met' if pct(screen, 0.95) <= 0.010 else 'NOT met'}"
            )
            world.c.close()
    shutil.rmtree(_TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
