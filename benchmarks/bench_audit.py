"""The audit trail at 100,000 events: ``verify`` (chain + replay + signatures, AUD-3: < 5 s) and the
admin audit browser opening (AUD-4: ≤ 2 s), against their floors.

Seeds a temporary database with ``--events`` audit events written the way the app writes them
(``Service._audit`` inside the same unit of work as the change): a quarter are patients created,
half are edits of those patients (the row really changes, the after-image says how), a quarter are
logins — so the replay compares some 25,000 rows against 75,000 after-images. ``--signatures``
(default 25,000) of the events are signed daily entries instead (their create event and their
sign event, the record locked with a signature over its content hash), so ``verify`` also
recomputes that many content hashes. Then times, interleaved round by round:

* ``verify``: a read-only container, ``AuditService.verify_record`` (what the command runs), and
  the chain alone (``verify_chain``) for comparison;
* browser: the real ``AuditEventModel`` (browser columns) and a ``QTableView``: first page fetched
  through the ``TaskRunner`` and painted — the admin page pages lazily, 200 rows at a time;
* floor: ``SELECT seq, hash FROM audit_event`` read in full, the least any chain check must do.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.bench_audit [--events 100000] [--repeat 3]
        [--signatures 25000]
        [--db URL]   # PostgreSQL: an empty database URL (it is filled); default: a temporary SQLite file
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = Path(tempfile.mkdtemp(prefix="ecmo-bench-audit-"))
os.environ.setdefault("ECMO_DATA_DIR", str(_TMP / "data"))

PASSWORD = "Ward2026bench"


def _p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (with a few rounds: the slowest)."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def seed(url: str, events: int, signatures: int) -> None:
    """``signatures`` signed daily entries (create + sign events, 2 each) then patient events up to
    ``events``.
    """
    from datetime import timedelta

    from ecmo_desktop.container import build_container
    from ecmo_desktop.domain.records import canonical_content, content_hash
    from ecmo_desktop.services.base import Service

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
    svc = Service(c.uow, c.ctx)
    user = c.ctx.user
    assert user is not None
    t0 = time.perf_counter()
    written, n = 0, 0
    # signed daily entries, 500 per run, each written the way the app writes them: the record with its
    # create event (after = canonical content), then locked with a signature and its sign event
    runs = []
    with c.uow() as uow:
        for i in range((signatures + 499) // 500):
            now = c.ctx.now()
            patient = uow.patients.add(
                hospital_id=hospital.id,
                age_years=None,
                now=now,
                created_by_id=user.id,
                mrn=f"S{i:07d}",
                name=f"签名{i}",
                sex="M",
                height_cm=None,
                weight_kg=70.0,
                ward="EICU",
                bed="2",
                birth_date=None,
            )
            svc._audit(uow, "create", "patient", patient.id, after=patient, patient_id=patient.id)
            run = uow.runs.add(
                hospital_id=hospital.id,
                patient_id=patient.id,
                run_number=1,
                mode="VA",
                ecpr=False,
                indication="ami",
                indication_other="",
                diagnosis="",
                status="on_ecmo",
                emergency=False,
                attending_id=user.id,
                ward="EICU",
                bed="2",
                created_at=now,
                created_by_id=user.id,
                source="app",
            )
            svc._audit(uow, "create", "ecmo_run", run.id, after=run, run_id=run.id, patient_id=patient.id)
            runs.append(run)
            written += 2
        uow.commit()
    signed = 0
    while signed < signatures:
        with c.uow() as uow:
            staff = uow.staff.get(user.id)
            for _ in range(min(500, signatures - signed)):
                run = runs[signed // 500]
                now = c.ctx.now()
                at = now - timedelta(hours=signed % 500)
                rec = uow.records.add(
                    "daily_entry",
                    run_id=run.id,
                    status="draft",
                    created_at=now,
                    updated_at=now,
                    created_by_id=user.id,
                    updated_by_id=user.id,
                    recorded_at=at,
                    ecmo_day=1,
                    author_role="doctor",
                    mode="VA",
                    values={"flow_lpm": 3.5 + (signed % 10) / 10, "sweep_lpm": 2.0, "act_s": 180},
                    checks={"limb_perfusion": "ok"},
                    notes=f"运行平稳 {signed}",
                )
                svc._audit(
                    uow,
                    "create",
                    "daily_entry",
                    rec.id,
                    after=canonical_content(rec),
                    run_id=run.id,
                    patient_id=run.patient_id,
                )
                done = uow.records.update(
                    "daily_entry",
                    rec.id,
                    expected_version=rec.version,
                    status="signed",
                    signed_at=now,
                    signed_by_id=user.id,
                )
                sig = uow.records.add_signature(
                    entity="daily_entry",
                    entity_id=rec.id,
                    record_version=done.version,
                    signer_id=user.id,
                    signer_name=staff.full_name,
                    meaning="author",
                    signed_at=now,
                    content_hash=content_hash(done),
                )
                svc._audit(
                    uow,
                    "sign",
                    "daily_entry",
                    rec.id,
                    after={"meaning": "author", "content_hash": sig.content_hash, "version": done.version},
                    run_id=run.id,
                    patient_id=run.patient_id,
                )
                signed += 1
                written += 2
            uow.commit()
    while written < events:
        with c.uow() as uow:
            for _ in range(500):
                n += 1
                patient = uow.patients.add(
                    hospital_id=hospital.id,
                    age_years=None,
                    now=c.ctx.now(),
                    created_by_id=user.id,
                    mrn=f"B{n:07d}",
                    name=f"患者{n}",
                    sex="F",
                    height_cm=None,
                    weight_kg=60.0,
                    ward="EICU",
                    bed="1",
                    birth_date=None,
                )
                svc._audit(uow, "create", "patient", patient.id, after=patient, patient_id=patient.id)
                for ward in ("CCU", "急诊ICU"):
                    uow.patients.update(patient.id, ward=ward)
                    svc._audit(
                        uow,
                        "update",
                        "patient",
                        patient.id,
                        before={"ward": None},
                        after={"ward": ward},
                        patient_id=patient.id,
                    )
                svc._audit(uow, "login", "staff", user.id)
                written += 4
            uow.commit()
    print(
        f"seeded {written:,} events ({n:,} patients, {signed:,} signatures) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    c.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--signatures", type=int, default=25_000, help="signed records among the events")
    parser.add_argument("--db", help="an empty PostgreSQL database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QTableView
    from sqlalchemy import text

    from ecmo_desktop.container import SYSTEM_USER, build_container
    from ecmo_desktop.ui.models.audit_model import BROWSER_COLUMNS, AuditEventModel
    from ecmo_desktop.ui.tasks import TaskRunner

    url = args.db or f"sqlite:///{_TMP / 'audit.sqlite3'}"
    seed(url, args.events, args.signatures)  # built once per run; every round reads the same database
    load_before = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    app = QApplication.instance() or QApplication(sys.argv[:1])

    verify, chain, floor, browser = [], [], [], []
    for _ in range(args.repeat):
        c = build_container(url, workstation="bench", read_only=True)
        c.ctx.user = SYSTEM_USER
        t = time.perf_counter()
        result = c.audit.verify_record()
        verify.append(time.perf_counter() - t)
        assert result.ok, (result.chain, result.trail[:3])
        t = time.perf_counter()
        assert c.audit.verify_chain().ok
        chain.append(time.perf_counter() - t)
        t = time.perf_counter()
        with c.uow.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, hash FROM audit_event ORDER BY seq")).all()
        floor.append(time.perf_counter() - t)
        c.close()

        c = build_container(url, workstation="bench")
        c.auth.login("admin", PASSWORD)
        tasks = TaskRunner()
        t = time.perf_counter()
        model = AuditEventModel(
            tasks, lambda o, n, a=c.audit: a.recent(offset=o, limit=n), columns=BROWSER_COLUMNS
        )
        view = QTableView()
        view.setModel(model)
        view.resize(1200, 800)
        view.show()
        loop = QEventLoop()
        model.loaded.connect(loop.quit)
        QTimer.singleShot(60_000, loop.quit)
        model.refresh()
        loop.exec()
        view.viewport().repaint()
        app.processEvents()
        browser.append(time.perf_counter() - t)
        assert model.rowCount() == 200
        view.close()
        tasks.shutdown()
        c.close()
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    fl = statistics.median(floor)
    print(
        f"events: {len(rows):,}  (rows replayed: {result.rows_checked:,}, signatures: "
        f"{result.signatures.checked:,}); "
        f"{args.repeat} rounds interleaved, median / p95, × floor = median ÷ median floor of the same run"
    )
    for name, values, goal in (
        ("verify (chain + replay + signatures)", verify, "goal < 5 s"),
        ("verify_chain alone", chain, ""),
        ("floor (read seq, hash of every row)", floor, ""),
    ):
        print(
            f"{name:<38} median {statistics.median(values):6.2f} s  p95 {_p95(values):6.2f} s  "
            f"× floor {statistics.median(values) / fl:6.1f}   {goal}"
        )
    print(
        f"audit browser first page painted:      median {statistics.median(browser) * 1000:.0f} ms  "
        f"p95 {_p95(browser) * 1000:.0f} ms   goal ≤ 2 s"
    )
    print(f"load before: {load_before}\nload after:  {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
