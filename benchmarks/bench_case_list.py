"""Case list with 50,000 runs: open, search, scroll to the end — against a bare-table floor.

Seeds a temporary SQLite database (Alembic schema, hospital and accounts through the services,
then 50,000 patients and runs bulk-inserted through the storage layer: a benchmark may use it),
and times with the real ``RunListModel`` + ``TaskRunner`` (worker thread, queued signals):

* open: build the model and a ``QTableView``, first page fetched and painted;
* search: a 住院号 prefix and a name fragment (the fragment is a LIKE '%…%' scan);
* scroll: fetch every page to the end via ``fetchMore`` (250 pages of 200), the first and the last
  pages reported apart — every page should cost what the first does;
* database pages, interleaved: the first page (the floor), the page at offset 49,800 read by key
  (``before_id``, what the model does) and by OFFSET (what it did), medians and p95;
* floor: a bare ``QTableView`` over a static 200-row ``QStandardItemModel``, built and painted.

The database is built once per schema revision and size and cached (``bench_cache.py``).
Figures are medians of several repetitions with the machine's load average beside them.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_case_list.py [--runs 50000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = Path(tempfile.mkdtemp(prefix="ecmo-bench-"))
os.environ.setdefault("ECMO_DATA_DIR", str(_TMP / "data"))

from PySide6.QtCore import QEventLoop, QModelIndex, QTimer  # noqa: E402
from PySide6.QtGui import QStandardItem, QStandardItemModel  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

try:  # run as a script (benchmarks/ on sys.path) or as a module of the benchmarks package
    from bench_cache import cache_key, cached_sqlite
except ImportError:  # pragma: no cover - python -m benchmarks.bench_case_list
    from benchmarks.bench_cache import cache_key, cached_sqlite
from ecmo_desktop.container import Container, build_container  # noqa: E402
from ecmo_desktop.storage.orm.people import PatientRow  # noqa: E402
from ecmo_desktop.storage.orm.runs import RunRow  # noqa: E402
from ecmo_desktop.ui.models.run_list_model import COLUMNS, RunListModel  # noqa: E402
from ecmo_desktop.ui.tasks import TaskRunner  # noqa: E402

PASSWORD = "Bench2026pass"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅宁宇浩然子轩欣怡"
MODES = ("VA", "VA", "VA", "VV", "VV", "VAV")
STATUSES = ("ended", "ended", "ended", "ended", "on_ecmo", "planned", "cancelled")


def seed(url: str, runs: int) -> dict[str, int]:
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
    hospital = c.runs.hospital()
    assert hospital is not None
    rng = random.Random(20260301)
    start = datetime(2016, 1, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    chunk = 5000
    for base in range(0, runs, chunk):
        n = min(chunk, runs - base)
        with c.uow() as uow:
            session = uow.session
            patients = []
            for i in range(base, base + n):
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                patients.append(
                    {
                        "hospital_id": hospital.id,
                        "mrn": f"ZY{i:08d}",
                        "name": name,
                        "sex": rng.choice("MF"),
                        "birth_date": None,
                        "age_years": rng.randint(16, 85),
                        "height_cm": None,
                        "weight_kg": round(rng.uniform(45, 100), 1),
                        "ward": "EICU",
                        "bed": str(rng.randint(1, 30)),
                        "created_at": start,
                        "version": 1,
                    }
                )
            session.execute(insert(PatientRow), patients)
            ids = session.scalars(
                select(PatientRow.id)
                .where(PatientRow.mrn >= f"ZY{base:08d}", PatientRow.mrn < f"ZY{base + n:08d}")
                .order_by(PatientRow.mrn)
            ).all()
            rows = []
            for j, pid in enumerate(ids):
                started = start + timedelta(minutes=(base + j) * 100)
                status = rng.choice(STATUSES)
                rows.append(
                    {
                        "hospital_id": hospital.id,
                        "patient_id": pid,
                        "run_number": 1,
                        "mode": rng.choice(MODES),
                        "ecpr": False,
                        "indication": "ami",
                        "indication_other": "",
                        "diagnosis": "",
                        "status": status,
                        "emergency": False,
                        "ward": "EICU",
                        "bed": str(rng.randint(1, 30)),
                        "started_outside": False,
                        "created_at": started,
                        "started_at": None if status in ("planned", "cancelled") else started,
                        "source": "import",
                        "version": 1,
                    }
                )
            session.execute(insert(RunRow), rows)
            uow.commit()
    print(f"seeded {runs:,} patients + runs in {time.perf_counter() - t0:.1f} s")
    c.close()
    return {"runs": runs}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def db_pages(c: Container, runs: int, repeat: int) -> dict[str, list[float]]:
    """The first page against the page at offset ``runs - 200`` by key and by OFFSET, interleaved."""
    deep = max(0, runs - 200)
    before_id = c.runs.search_runs("", offset=deep - 1, limit=1)[0].run_id if deep else None
    times: dict[str, list[float]] = {
        "first page (floor)": [],
        f"page at {deep:,}, by key": [],
        f"page at {deep:,}, by OFFSET": [],
    }
    steps = [
        ("first page (floor)", lambda: c.runs.search_runs("", limit=200)),
        (f"page at {deep:,}, by key", lambda: c.runs.search_runs("", limit=200, before_id=before_id)),
        (f"page at {deep:,}, by OFFSET", lambda: c.runs.search_runs("", offset=deep, limit=200)),
    ]
    pages = {}
    for i in range(repeat):
        for name, step in steps if i % 2 else steps[::-1]:
            t = time.perf_counter()
            pages[name] = step()
            times[name].append(time.perf_counter() - t)
    by_key, by_offset = (pages[name] for name, _ in steps[1:])
    assert [r.run_id for r in by_key] == [r.run_id for r in by_offset], "keyset and offset pages differ"
    return times


def wait_for(signal: object, start: Callable[[], None], timeout_ms: int = 60_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(timeout_ms, loop.quit)
    start()
    loop.exec()
    signal.disconnect(loop.quit)  # type: ignore[attr-defined]


def paint(view: QTableView) -> None:
    view.viewport().repaint()
    QApplication.processEvents()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def floor_once() -> float:
    t = time.perf_counter()
    model = QStandardItemModel(200, len(COLUMNS))
    for r in range(200):
        for col in range(len(COLUMNS)):
            model.setItem(r, col, QStandardItem(f"{r}-{col}"))
    view = QTableView()
    view.setModel(model)
    view.resize(1200, 800)
    view.show()
    paint(view)
    elapsed = time.perf_counter() - t
    view.close()
    view.deleteLater()
    return elapsed


def open_once(c: Container, tasks: TaskRunner) -> tuple[float, RunListModel, QTableView]:
    t = time.perf_counter()
    model = RunListModel(tasks, c.runs)
    view = QTableView()
    view.setModel(model)
    view.resize(1200, 800)
    view.show()
    wait_for(model.loaded, model.refresh)
    paint(view)
    elapsed = time.perf_counter() - t
    assert model.rowCount() == 200, model.rowCount()
    return elapsed, model, view


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    cache = cached_sqlite(cache_key("caselist", runs=args.runs), lambda url: seed(url, args.runs), _TMP)
    url, _meta, hit = cache.__enter__()
    print(
        f"database: {'from the cache' if hit else 'seeded'}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    c = build_container(url, workstation="bench")
    c.auth.login("admin", PASSWORD)
    tasks = TaskRunner()
    try:
        floor = [floor_once() for _ in range(args.repeat)]
        opens: list[float] = []
        searches_mrn: list[float] = []
        searches_name: list[float] = []
        for k in range(args.repeat):
            elapsed, model, view = open_once(c, tasks)
            opens.append(elapsed)
            prefix = f"ZY{(k * 7919) % args.runs:08d}"[:8]
            t = time.perf_counter()
            wait_for(model.loaded, lambda m=model, p=prefix: m.set_search(p))
            paint(view)
            searches_mrn.append(time.perf_counter() - t)
            t = time.perf_counter()
            wait_for(model.loaded, lambda m=model, s=SURNAMES[k]: m.set_search(s))
            paint(view)
            searches_name.append(time.perf_counter() - t)
            view.close()
            view.deleteLater()
        # scroll to the end: every page through fetchMore (once; it is 250 round trips)
        elapsed, model, view = open_once(c, tasks)
        pages: list[float] = []
        t_all = time.perf_counter()
        while model.canFetchMore(QModelIndex()):
            t = time.perf_counter()
            wait_for(model.loaded, lambda m=model: m.fetchMore(QModelIndex()))
            pages.append(time.perf_counter() - t)
        view.scrollToBottom()
        paint(view)
        scroll_total = time.perf_counter() - t_all
        assert model.rowCount() == args.runs, model.rowCount()
        db = db_pages(c, args.runs, max(21, 3 * args.repeat))
        floor_ms = median_ms(floor)
        print()
        print(f"runs in database                      {args.runs:>10,}")
        print(f"floor: bare table, 200 static rows    {floor_ms:>10.1f} ms")
        print(
            f"open: model + view, first page shown  {median_ms(opens):>10.1f} ms   "
            f"(×{median_ms(opens) / floor_ms:.1f} the floor)"
        )
        print(f"search 住院号 prefix (count + page)    {median_ms(searches_mrn):>10.1f} ms")
        print(f"search name fragment (LIKE '%x%')     {median_ms(searches_name):>10.1f} ms")
        print(f"fetchMore: one page of 200            {median_ms(pages):>10.1f} ms  (median of {len(pages)})")
        print(
            f"fetchMore: first 10 / last 10 pages   {median_ms(pages[:10]):>10.1f} / "
            f"{median_ms(pages[-10:]):.1f} ms"
        )
        print(f"scroll to the end: all {args.runs:,} rows    {scroll_total * 1000:>10.1f} ms")
        print("database, one page of 200, interleaved (median / p95):")
        first = db["first page (floor)"]
        for name, values in db.items():
            print(
                f"  {name:<28} {median_ms(values):7.2f} / {pct(values, 0.95) * 1000:6.2f} ms   "
                f"×{statistics.median(values) / statistics.median(first):.2f} the first page"
            )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        view.close()
    finally:
        tasks.shutdown()
        c.close()
        cache.__exit__(None, None, None)
        shutil.rmtree(_TMP, ignore_errors=True)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
