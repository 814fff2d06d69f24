"""Backup and restore of a large SQLite database (REL-9: a 1 GB database backs up in ≤ 60 s).

    .venv/bin/python benchmarks/bench_backup.py [--size-mb 1024] [--rounds 3] [--dir /tmp/x]

Builds a database of about ``--size-mb`` (mostly audit rows with realistic JSON payloads plus
patients, inserted with raw SQL: the figure of interest is the backup, not the fill), then times,
each in a fresh process so its peak resident memory is its own:

- floors measured in the same run: a plain file copy of the database, and SQLite's online backup
  API (``sqlite3.Connection.backup``) into a new file;
- ``make_backup`` (the signed, sealed .ecmobak: from SQLite the database file copied through the
  backup API and deflated), ``verify_backup`` (reading and checking it alone) and
  ``restore_backup`` into a fresh migrated file (what ``restore`` does before the swap: the file
  checked against the signed manifest and copied in, row counts and audit head compared);
- the same three for the JSON-lines form (``portable=True``: what a PostgreSQL database is backed
  up as), ``backup_rows`` / ``verify_rows`` / ``restore_rows``.

Prints medians (wall seconds, peak RSS above an idle interpreter with the same imports), each as
a ratio to the floors, and the load average (``os.getloadavg``) before and after: on a shared
machine the ratio is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, resource, sys, time, shutil, sqlite3
from pathlib import Path
op, a, b, data_dir = sys.argv[1:5]
os.environ["ECMO_DATA_DIR"] = data_dir
from ecmo_desktop.storage import backup as bk
from ecmo_desktop.storage.engine import create_db_engine, sqlite_url_for
from ecmo_desktop.storage.migrate import upgrade_to_head
t0 = time.perf_counter()
if op == "idle":
    pass
elif op == "copy":
    shutil.copyfile(a, b)
elif op == "sqlite_backup":
    src = sqlite3.connect(a); dst = sqlite3.connect(b); src.backup(dst); dst.close(); src.close()
elif op in ("backup", "backup_rows"):
    engine = create_db_engine(sqlite_url_for(Path(a)))
    bk.make_backup(engine, Path(b), portable=op == "backup_rows"); engine.dispose()
elif op in ("verify", "verify_rows"):
    bk.verify_backup(Path(a))
elif op in ("restore", "restore_rows"):
    engine = create_db_engine(sqlite_url_for(Path(b))); upgrade_to_head(engine)
    t0 = time.perf_counter()  # the empty schema is not part of the restore's cost
    bk.restore_backup(engine, Path(a)); engine.dispose()
elapsed = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": elapsed, "cpu": use.ru_utime + use.ru_stime, "maxrss_kb": use.ru_maxrss}))
"""


def _child(op: str, a: str = "", b: str = "", data_dir: str = "") -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, op, a, b, data_dir],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{op} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (with 3 rounds: the slowest)."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def build(path: Path, size_mb: int, data_dir: Path) -> None:
    """A migrated database filled to about ``size_mb`` with raw inserts
    (no audit chain: not verified here).
    """
    import sqlite3

    os.environ["ECMO_DATA_DIR"] = str(data_dir)
    sys.path.insert(0, str(ROOT))
    from ecmo_desktop.storage.engine import create_db_engine, sqlite_url_for
    from ecmo_desktop.storage.migrate import upgrade_to_head

    engine = create_db_engine(sqlite_url_for(path))
    upgrade_to_head(engine)
    engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(
        "INSERT INTO hospital (id, name, code, city, is_local, settings, created_at) "
        "VALUES (1, '示例医院', 'H001', '呼和浩特', 1, '{}', '2026-01-01 00:00:00.000000')"
    )
    import random

    rng = random.Random(2026)
    # notes differ row to row like real ones (a repeated sentence would compress 100:1 and flatter the zip)
    words = [
        "患者",
        "神志",
        "清楚",
        "ECMO",
        "运行",
        "平稳",
        "血流量",
        "气流量",
        "膜前",
        "压力",
        "正常",
        "抗凝",
        "ACT",
        "出血",
        "无",
        "尿量",
        "心率",
        "血压",
        "体温",
        "氧合",
        "乳酸",
        "下降",
        "继续",
        "观察",
        "调整",
    ]
    seq = 0
    patient = 0
    target = size_mb * 1024 * 1024
    while path.stat().st_size < target:
        rows = []
        for _ in range(5000):
            seq += 1
            note = "".join(rng.choices(words, k=40)) + f" {rng.random():.6f} L/min"
            after = json.dumps({"field": "notes", "value": note, "n": seq}, ensure_ascii=False)
            rows.append(
                (
                    seq,
                    f"2026-01-01 00:00:{seq % 60:02d}.000000",
                    1,
                    "张伟",
                    "ward-pc-1",
                    "update",
                    "daily_entry",
                    seq,
                    seq % 500 + 1,
                    seq % 500 + 1,
                    None,
                    after,
                    None,
                    1,
                    f"{seq - 1:064x}",
                    f"{seq:064x}",
                )
            )
        conn.executemany(
            "INSERT INTO audit_event (seq, occurred_at, actor_id, actor_name, workstation, action, entity, "
            "entity_id, run_id, patient_id, before, after, reason, success, prev_hash, hash) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        pats = []
        for _ in range(500):
            patient += 1
            pats.append(
                (
                    patient,
                    1,
                    f"MRN{patient:08d}",
                    f"患者{patient}",
                    "M",
                    "1960-01-01",
                    170.0,
                    70.0,
                    "急诊ICU",
                    str(patient % 30),
                    "2026-01-01 00:00:00.000000",
                    1,
                )
            )
        conn.executemany(
            "INSERT INTO patient (id, hospital_id, mrn, name, sex, birth_date, height_cm, weight_kg, "
            "ward, bed, created_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            pats,
        )
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--rows", action="store_true", help="also time the JSON-lines form (slow: ~90 s a round)"
    )
    parser.add_argument("--dir", help="working folder (default: a temporary one, removed afterwards)")
    args = parser.parse_args()
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-backup-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    data_dir.mkdir(exist_ok=True)
    db = work / "ward.sqlite3"
    load_before = os.getloadavg()
    try:
        if not db.exists():
            t = time.perf_counter()
            build(db, args.size_mb, data_dir)
            print(
                f"built {db.stat().st_size / 1048576:.0f} MB in {time.perf_counter() - t:.0f} s", flush=True
            )
        idle = _child("idle", data_dir=str(data_dir))["maxrss_kb"]
        ops = ["copy", "sqlite_backup", "backup", "verify", "restore"]
        if args.rows:
            ops += ["backup_rows", "verify_rows", "restore_rows"]
        results: dict[str, list[dict[str, float]]] = {k: [] for k in ops}
        sizes: dict[str, float] = {}
        bak = work / "ward.ecmobak"
        for r in range(args.rounds):
            for op in results:
                target = work / f"{op}-{r}.out"
                if op in ("copy", "sqlite_backup"):
                    res = _child(op, str(db), str(target), str(data_dir))
                elif op.startswith("backup"):
                    bak.unlink(missing_ok=True)
                    res = _child(op, str(db), str(bak), str(data_dir))
                    sizes[op] = bak.stat().st_size / 1048576
                elif op.startswith("verify"):
                    res = _child(op, str(bak), "", str(data_dir))
                else:
                    res = _child(op, str(bak), str(target), str(data_dir))
                for suffix in ("", "-wal", "-shm"):
                    Path(str(target) + suffix).unlink(missing_ok=True)
                results[op].append(res)
                print(
                    f"round {r + 1} {op}: {res['seconds']:.1f} s (CPU {res['cpu']:.1f} s), peak "
                    f"{res['maxrss_kb'] / 1024:.0f} MB",
                    flush=True,
                )
        idle_cpu = _child("idle", data_dir=str(data_dir))["cpu"]  # interpreter start and imports
        med = {
            op: (
                statistics.median(x["seconds"] for x in v),
                _p95([x["seconds"] for x in v]),
                statistics.median(max(0.0, x["cpu"] - idle_cpu) for x in v),
                statistics.median(max(0.0, x["maxrss_kb"] - idle) for x in v) / 1024,
            )
            for op, v in results.items()
        }
        print(
            f"\ndatabase {db.stat().st_size / 1048576:.0f} MB, backup files "
            f"{', '.join(f'{k} {v:.0f} MB' for k, v in sizes.items())}, "
            f"{args.rounds} rounds interleaved, median and p95; memory = peak RSS above an idle interpreter "
            f"({idle / 1024:.0f} MB)"
        )
        print(
            f"{'operation':<15}{'median s':>10}{'p95 s':>8}{'× copy':>9}{'× sqlite backup':>17}{'CPU s':>8}"
            f"{'memory MB':>11}"
        )
        for op, (sec, p95, cpu, mem) in med.items():
            print(
                f"{op:<15}{sec:>10.1f}{p95:>8.1f}"
                f"{sec / med['copy'][0]:>9.1f}{sec / med['sqlite_backup'][0]:>17.1f}"
                f"{cpu:>8.1f}{mem:>11.0f}"
            )
        print("CPU s = user + system time of the process (less sensitive to other load than wall time)")
        print(
            f"load average before {load_before[0]:.1f} / after {os.getloadavg()[0]:.1f} (1 min); "
            "uptime: "
            + subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
        )
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
