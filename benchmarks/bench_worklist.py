"""The worklist with 50,000 runs: the first screen and a late page of a big group, against a bare count.

Seeds (once per schema revision and size, cached by ``bench_cache.py``) the case-list world of
``bench_case_list.py`` — 50,000 patients and runs, a seventh on ECMO and a seventh planned — and adds
what makes every group big: emergency starts around their 12-hour deadline, today's daily entries on
half the runs on ECMO (a third of them unsigned), a 28-day follow-up for every ended run (most done,
some overdue, the latest ones due). The clock is fixed at the seed's "now", so a cached database
gives the same groups on any day.

Timed, interleaved so every figure sees the same machine load (medians and p95, ``uptime`` load
before and after):

* floor: a bare ``SELECT count(*) FROM ecmo_run WHERE status = 'planned'`` on the same connection pool;
* counts: ``WorklistService.counts`` (every kind's count for the whole ward, one statement);
* first screen (service): ``overview`` — the counts and the first page (50) of every group;
* late page: ``page("missing_consent", after=…)`` — the last page of the biggest group, by key;
* first screen (UI): a ``WorklistPage`` built, its first ``overview`` loaded on the worker thread and
  painted (offscreen), against a bare ``QTableView`` of the same row count (the UI floor);
* walk: every page of the biggest group, once (how long "scroll to the end" takes).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_worklist.py [--runs 50000] [--repeat 15]
        [--backend sqlite|postgresql|both]   # PostgreSQL: ECMO_BENCH_PG_URL or ECMO_TEST_PG_URL
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = Path(tempfile.mkdtemp(prefix="ecmo-bench-"))
os.environ.setdefault("ECMO_DATA_DIR", str(_TMP / "data"))

from PySide6.QtGui import QStandardItem, QStandardItemModel  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402
from sqlalchemy import insert, select, text, update  # noqa: E402

try:  # run as a script (benchmarks/ on sys.path) or as a module of the benchmarks package
    from bench_cache import cache_key, cached_postgresql, cached_sqlite
    from bench_case_list import PASSWORD, paint, pct
    from bench_case_list import seed as seed_runs
except ImportError:  # pragma: no cover - python -m benchmarks.bench_worklist
    from benchmarks.bench_cache import cache_key, cached_postgresql, cached_sqlite
    from benchmarks.bench_case_list import PASSWORD, paint, pct
    from benchmarks.bench_case_list import seed as seed_runs
from ecmo_desktop.container import Container, build_container  # noqa: E402
from ecmo_desktop.services.clock import FakeClock  # noqa: E402
from ecmo_desktop.storage.orm.records import DailyEntryRow, DecisionRow, FollowUpRow  # noqa: E402
from ecmo_desktop.storage.orm.runs import RunRow  # noqa: E402

NOW = datetime(2025, 8, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, after the last seeded start
BIG = "missing_consent"


def seed(url: str, runs: int) -> dict[str, Any]:
    meta = seed_runs(url, runs)
    c = build_container(url, clock=FakeClock(NOW), workstation="bench")
    c.auth.login("admin", PASSWORD)
    admin = c.ctx.require_user().id
    rng = random.Random(20260315)
    t0 = time.perf_counter()
    with c.uow() as uow:
        session = uow.session
        rows = session.execute(select(RunRow.id, RunRow.status, RunRow.started_at).order_by(RunRow.id)).all()
        on_ecmo = [r for r in rows if r.status == "on_ecmo"]
        ended = [r for r in rows if r.status == "ended"]
        common = {"created_by_id": admin, "updated_by_id": admin, "version": 1}
        # emergency starts around their 12-hour deadline: some overdue, some counting down
        emergency = on_ecmo[:400]
        session.execute(update(RunRow).where(RunRow.id.in_([r.id for r in emergency])).values(emergency=True))
        decisions = []
        for r in emergency:
            decided = NOW - timedelta(minutes=rng.randint(30, 23 * 60))
            decisions.append(
                {
                    **common,
                    "run_id": r.id,
                    "status": "signed",
                    "created_at": decided,
                    "updated_at": decided,
                    "signed_at": decided,
                    "signed_by_id": admin,
                    "kind": "start",
                    "emergency": True,
                    "decided_at": decided,
                    "supplement_deadline": decided + timedelta(hours=12),
                }
            )
        session.execute(insert(DecisionRow), decisions)
        # today's daily entry on every other run on ECMO, a third of them not yet signed
        entries = []
        for n, r in enumerate(on_ecmo[::2]):
            at = NOW - timedelta(minutes=rng.randint(5, 110))
            signed = n % 3 != 0
            entries.append(
                {
                    **common,
                    "run_id": r.id,
                    "status": "signed" if signed else "draft",
                    "created_at": at,
                    "updated_at": at,
                    "signed_at": at if signed else None,
                    "signed_by_id": admin if signed else None,
                    "recorded_at": at,
                    "ecmo_day": 1,
                    "author_role": "nurse",
                }
            )
        session.execute(insert(DailyEntryRow), entries)
        # a 28-day follow-up for every ended run: most done, some overdue; the latest ones are due
        follow_ups = []
        for n, r in enumerate(ended):
            due = (r.started_at + timedelta(days=28)).date()
            late = n >= len(ended) - 300
            if late:
                due = NOW.date() + timedelta(days=rng.randint(-5, 6))
            done = not late and rng.random() < 0.9
            follow_ups.append(
                {
                    **common,
                    "run_id": r.id,
                    "status": "signed" if done else "draft",
                    "created_at": NOW - timedelta(days=1),
                    "updated_at": NOW - timedelta(days=1),
                    "signed_at": NOW - timedelta(days=1) if done else None,
                    "signed_by_id": admin if done else None,
                    "kind": "d28",
                    "due_date": due,
                    "fu_status": "done" if done else "due",
                }
            )
        session.execute(insert(FollowUpRow), follow_ups)
        uow.commit()
    print(f"added worklist records in {time.perf_counter() - t0:.1f} s")
    c.close()
    return {**meta, "now": NOW.isoformat()}


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.2f} / {pct(values, 0.95) * 1000:7.2f} ms"


def ui_first_screen(c: Container, rows: int, repeat: int) -> tuple[list[float], list[float]]:
    """(WorklistPage shown with its first overview, a bare QTableView of as many rows) per repetition."""
    from PySide6.QtCore import QEventLoop, QTimer

    from ecmo_desktop.ui.home.worklist_page import WorklistPage
    from ecmo_desktop.ui.tasks import TaskRunner

    tasks = TaskRunner()
    ui = _ui_context(c, tasks)
    page_times: list[float] = []
    floor_times: list[float] = []
    try:
        for i in range(repeat):
            steps: list[Callable[[], None]] = []

            def open_page() -> None:
                t = time.perf_counter()
                page = WorklistPage(ui, open_case=lambda run_id: None)
                page.resize(1200, 900)
                page.show()
                loop = QEventLoop()
                page.refreshed.connect(loop.quit)
                QTimer.singleShot(60_000, loop.quit)
                if page.loads == 0:
                    loop.exec()
                paint(page.table)
                page_times.append(time.perf_counter() - t)
                assert page.model.rowCount() > 0
                page.timer.stop()
                page.close()
                page.deleteLater()

            def open_floor() -> None:
                t = time.perf_counter()
                model = QStandardItemModel(rows, 5)
                for r in range(rows):
                    for col in range(5):
                        model.setItem(r, col, QStandardItem(f"{r}-{col}"))
                view = QTableView()
                view.setModel(model)
                view.resize(1200, 900)
                view.show()
                paint(view)
                floor_times.append(time.perf_counter() - t)
                view.close()
                view.deleteLater()

            steps = [open_page, open_floor] if i % 2 else [open_floor, open_page]
            for step in steps:
                step()
    finally:
        tasks.shutdown()
    return page_times, floor_times


def _ui_context(c: Container, tasks: Any) -> Any:
    """The GUI's context over this container (what ``app.py`` builds), without a login window."""
    from ecmo_desktop.settings import SettingsStore
    from ecmo_desktop.ui.context import UiContext

    return UiContext(services=c, tasks=tasks, settings=SettingsStore(_TMP / "settings.json"))  # type: ignore[arg-type]


def bench(url: str, backend: str, repeat: int) -> None:
    c = build_container(url, clock=FakeClock(NOW), workstation="bench")
    c.auth.login("admin", PASSWORD)
    w = c.worklist
    try:
        counts = w.counts()
        print(
            f"\n[{backend}] groups: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
            + f"; total {sum(counts.values()):,}"
        )
        # walk the biggest group once: every page, each item once
        t = time.perf_counter()
        after, seen, pages = None, set(), 0
        while True:
            page = w.page(BIG, after=after, limit=50)
            pages += 1
            seen.update(i.run_id for i in page.items)
            if page.next_after is None:
                break
            after = page.next_after
        walk = time.perf_counter() - t
        assert len(seen) == counts[BIG], (len(seen), counts[BIG])
        late_after = after  # the key before the last page

        def floor() -> Any:
            with c.uow(write=False) as uow:
                return uow.session.execute(
                    text("SELECT count(*) FROM ecmo_run WHERE status = 'planned'")
                ).scalar()

        steps: list[tuple[str, Callable[[], Any]]] = [
            ("floor: bare count(*) of planned runs", floor),
            ("counts: every kind, whole ward", lambda: w.counts()),
            ("first screen: overview (counts + 50/group)", lambda: w.overview()),
            (f"first page of {BIG}", lambda: w.page(BIG, limit=50)),
            (f"late page of {BIG} (by key)", lambda: w.page(BIG, after=late_after, limit=50)),
        ]
        times: dict[str, list[float]] = {name: [] for name, _ in steps}
        for _name, step in steps:  # warm up
            step()
        for i in range(repeat):
            for name, step in steps if i % 2 else steps[::-1]:
                t = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t)
        first_rows = sum(len(p.items) + 1 for p in w.overview().pages.values())
        page_ui, floor_ui = ui_first_screen(c, first_rows, max(5, repeat // 3))
        base = statistics.median(times["floor: bare count(*) of planned runs"])
        print(f"[{backend}] median / p95, ×floor (median):")
        for name, values in times.items():
            print(f"  {name:<46} {ms(values)}   ×{statistics.median(values) / base:6.1f}")
        ui_base = statistics.median(floor_ui)
        print(f"  {'UI floor: bare table of ' + str(first_rows) + ' rows':<46} {ms(floor_ui)}")
        print(
            f"  {'UI first screen: WorklistPage loaded+painted':<46} {ms(page_ui)}   "
            f"×{statistics.median(page_ui) / base:6.1f} count floor, "
            f"×{statistics.median(page_ui) / ui_base:.1f} UI floor"
        )
        print(
            f"  walk all {pages} pages of {BIG} ({counts[BIG]:,} items)    {walk * 1000:8.1f} ms total, "
            f"{walk / pages * 1000:.2f} ms/page"
        )
    finally:
        c.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(f"before: {uptime()}  ({os.cpu_count()} CPUs)")
    key = cache_key("worklist", runs=args.runs, now=NOW.isoformat(), seed=1)
    try:
        if args.backend in ("sqlite", "both"):
            with cached_sqlite(key, lambda url: seed(url, args.runs), _TMP) as (url, _meta, hit):
                print(f"sqlite database: {'from the cache' if hit else 'seeded'}")
                bench(url, "sqlite", args.repeat)
        if args.backend in ("postgresql", "both"):
            base = os.environ.get("ECMO_BENCH_PG_URL") or os.environ.get("ECMO_TEST_PG_URL")
            if not base:
                print("PostgreSQL: set ECMO_BENCH_PG_URL or ECMO_TEST_PG_URL")
            else:
                with cached_postgresql(key, lambda url: seed(url, args.runs), base) as (url, _meta, hit):
                    print(f"postgresql database: {'from the cache' if hit else 'seeded'}")
                    bench(url, "postgresql", args.repeat)
        print(f"after: {uptime()}")
    finally:
        shutil.rmtree(_TMP, ignore_errors=True)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
