"""How soon a PC sees what another PC saved (issue 11 §4): PostgreSQL LISTEN/NOTIFY vs the SQLite poll.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.refresh_latency [--saves 20] [--backend both]
        [--pg-url URL]   # PostgreSQL: ECMO_BENCH_PG_URL or ECMO_TEST_PG_URL by default

PC 1 runs the real ``ChangeFeed`` of the main window (on its task runner, in a Qt event loop); PC 2
(another container on the same database) registers a patient every ~0.7 s. Measured: from PC 2's commit
returning to PC 1's feed broadcasting ``patients`` (what the case list and the worklist refresh on).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PASSWORD = "Ward2026pass"


def _database(backend: str, pg_url: str | None) -> tuple[str, Any]:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if backend == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='latency-')}/ecmo.sqlite3", None
    if not pg_url:
        raise SystemExit("PostgreSQL: give --pg-url or set ECMO_BENCH_PG_URL / ECMO_TEST_PG_URL")
    admin = create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"ecmo_latency_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), (admin, name)


def run(backend: str, saves: int, pg_url: str | None) -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.runs import PatientInput
    from ecmo_desktop.settings import SettingsStore
    from ecmo_desktop.storage.orm.people import StaffRow
    from ecmo_desktop.ui.change_feed import ChangeFeed
    from ecmo_desktop.ui.changes import Change
    from ecmo_desktop.ui.context import UiContext
    from ecmo_desktop.ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    url, cleanup = _database(backend, pg_url)
    pc1 = pc2 = None
    try:
        pc1 = build_container(url, workstation="pc-1")
        pc1.auth.first_run_setup(
            hospital_name="基准医院",
            hospital_code="B",
            city="市",
            admin_username="admin",
            admin_full_name="管理员",
            admin_password=PASSWORD,
            admin_password_repeat=PASSWORD,
        )
        pc1.auth.login("admin", PASSWORD)
        pc1.staff.create_staff(
            username="zhangwei",
            full_name="张伟",
            title="chief",
            years_in_practice=20,
            roles=["doctor"],
            initial_password=PASSWORD,
        )
        with pc1.uow() as uow:
            uow.session.query(StaffRow).update({StaffRow.must_change_password: False})
            uow.commit()
        pc2 = build_container(url, workstation="pc-2", migrate=False)
        pc2.auth.login("zhangwei", PASSWORD)
        tasks = TaskRunner()
        ui = UiContext(
            services=pc1,
            tasks=tasks,  # type: ignore[arg-type]
            settings=SettingsStore(Path(tempfile.mkdtemp()) / "settings.json"),
        )
        feed = ChangeFeed(ui)
        seen: list[float] = []
        feed.applied.connect(
            lambda names: seen.append(time.monotonic()) if Change.patients() in names else None
        )
        committed: list[float] = []
        done = threading.Event()

        def other_pc() -> None:
            time.sleep(1.0)
            for i in range(saves):
                pc2.runs.register_patient(PatientInput(mrn=f"LAT{i:04d}", name=f"患者{i}", sex="M"))
                committed.append(time.monotonic())
                time.sleep(0.7 + (i % 5) * 0.13)  # not in step with the 2 s poll
            done.set()

        threading.Thread(target=other_pc, daemon=True).start()
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(
            lambda: loop.quit() if done.is_set() and len(seen) >= 1 and seen[-1] >= committed[-1] else None
        )
        timer.start(50)
        QTimer.singleShot(int((saves * 1.3 + 15) * 1000), loop.quit)
        loop.exec()
        latencies = []
        for t in committed:
            after = [s for s in seen if s >= t]
            if after:
                latencies.append(after[0] - t)
        mode = "LISTEN/NOTIFY" if feed.listening else "poll every 2 s"
        print(
            f"{backend:10} ({mode}): {len(latencies)}/{len(committed)} saves seen by the other PC; latency "
            f"median {statistics.median(latencies) * 1000:.0f} ms, p95 "
            f"{sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms, max "
            f"{max(latencies) * 1000:.0f} ms",
            flush=True,
        )
        feed.deleteLater()
        QCoreApplication.processEvents()
        tasks.shutdown()
    finally:
        for c in (pc1, pc2):
            if c is not None:
                c.close()
        if cleanup is not None:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.dispose()
    del app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--pg-url", default=os.environ.get("ECMO_BENCH_PG_URL") or os.environ.get("ECMO_TEST_PG_URL")
    )
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}")
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.saves, args.pg_url)
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
