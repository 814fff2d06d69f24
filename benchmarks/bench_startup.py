"""Start-up as the user waits for it, each figure against its floor measured in the same run (issue 15).

Real processes, started the way a user starts them:

* **start → login window**: ``python -m ecmo_desktop --db FILE`` until the login window is first
  painted; floor: a bare PySide6 ``QWidget`` until it is first painted (same event filter, same clock);
* **start → main window after login**: the same start, logged in through the login window's own
  fields and button, until the main window is first painted; floor: the bare window again;
* **light CLI commands**: ``--version``, ``parse-code``, ``verify`` of a small database; floor: ``python
-c pass``;
* the ``-X importtime`` top 15 (self time) of the start to the main window and of ``verify``.

The GUI timings come from a benchmark-only hook (``ECMO_BENCH_STARTUP_PROBE`` in ``ecmo_desktop/app.py``:
unset, it does nothing). The database is a real (not demo) one with the production argon2 parameters:
``init-db`` with a first administrator whose password is then changed, so no forced change at login.
Runs are interleaved in a shuffled order per round; medians and p95 are reported with ``uptime``'s load.

The environment sets PYTHONDONTWRITEBYTECODE=1, so the package is copied to a temporary folder and
compiled there first (else every start would compile the whole package from source).

    .venv/bin/python benchmarks/bench_startup.py [--repeat 9] [--xvfb :28] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_FIRST = "Bench2026first"
PASSWORD = "Bench2026start"
PARSE_CODE = "(01)09506000134352(17)261231(10)ABC123"

FLOOR_WINDOW = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget
out = sys.argv[1]
app = QApplication(sys.argv[:1])
class Probe(QObject):
    done = False
    def eventFilter(self, watched, event):
        if not self.done and event.type() == QEvent.Type.Paint and isinstance(watched, QWidget) and
        watched.isWindow():
            self.done = True
            with open(out, "a", encoding="utf-8") as fh:
                fh.write(f"floor_painted {time.time():.6f}\n")
            QTimer.singleShot(0, app.quit)
        return False
probe = Probe()
app.installEventFilter(probe)
window = QWidget()
window.resize(420, 300)
window.show()
app.exec()
"""


def load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Bench:
    def __init__(self, work: Path, display: str | None) -> None:
        self.work = work
        self.app_dir = work / "app"
        self.data = work / "data"
        self.db = work / "ward.sqlite3"
        self.env = dict(os.environ)
        self.env.update(
            PYTHONPATH=str(self.app_dir),
            ECMO_DATA_DIR=str(self.data),
            ECMO_PASSWORD=PASSWORD,
            ECMO_LANG="zh_CN",
        )
        self.env.pop("ECMO_DATABASE_URL", None)
        self.env.pop("PYTHONPYCACHEPREFIX", None)  # the copy's own __pycache__ folders are used
        if display:
            self.env["DISPLAY"] = display
            self.env.pop("QT_QPA_PLATFORM", None)
        else:
            self.env["QT_QPA_PLATFORM"] = "offscreen"
        self.py = sys.executable

    # ---- set-up -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """A compiled copy of the package (resources and migrations linked) and a small real database."""
        self.app_dir.mkdir(parents=True)
        self.data.mkdir()
        shutil.copytree(
            ROOT / "ecmo_desktop", self.app_dir / "ecmo_desktop", ignore=shutil.ignore_patterns("__pycache__")
        )
        for name in ("resources", "db"):
            (self.app_dir / name).symlink_to(ROOT / name)
        subprocess.run(
            [
                self.py,
                "-m",
                "compileall",
                "-q",
                str(self.app_dir / "ecmo_desktop"),
                str(ROOT / "db" / "migrations"),
            ],
            check=True,
            cwd=self.work,
            env=self.env,
        )
        admin = self.work / "admin.json"
        admin.write_text(
            json.dumps({"username": "admin", "full_name": "管理员", "password": PASSWORD_FIRST}),
            encoding="utf-8",
        )
        self._cli(
            "init-db",
            "--db",
            str(self.db),
            "--hospital",
            "基准医院",
            "--city",
            "呼和浩特市",
            "--admin-from",
            str(admin),
        )
        env = dict(self.env, ECMO_PASSWORD=PASSWORD_FIRST, ECMO_NEW_PASSWORD=PASSWORD)
        self._cli("users", "password", "--db", str(self.db), "--user", "admin", env=env)

    def _cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.py, "-m", "ecmo_desktop", *args],
            check=True,
            cwd=self.work,
            env=env or self.env,
            capture_output=True,
            text=True,
        )

    def demo_seconds(self, cases: int) -> tuple[float, str]:
        """One ``demo`` run into a new database (its accounts use the demo hashing, said in its output)."""
        start = time.perf_counter()
        out = self._cli("demo", "--db", str(self.work / "demo.sqlite3"), "--cases", str(cases)).stdout
        return time.perf_counter() - start, out.strip().splitlines()[-1]

    # ---- one measurement each ---------------------------------------------------------------------
    def run_process(self, args: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(
            [self.py, *args],
            check=True,
            cwd=self.work,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        return time.perf_counter() - start

    def run_probe(self, args: list[str], *, login: bool) -> dict[str, float]:
        """Start a GUI process, return seconds from just before its start to each mark it wrote."""
        probe = self.work / f"probe-{time.monotonic_ns()}.txt"
        env = dict(self.env, ECMO_BENCH_STARTUP_PROBE=str(probe))
        if login:
            env["ECMO_BENCH_STARTUP_LOGIN"] = f"admin\t{PASSWORD}"
        start = time.time()
        subprocess.run(
            [self.py, *args],
            check=True,
            cwd=self.work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        marks = {}
        for line in probe.read_text(encoding="utf-8").splitlines():
            name, stamp = line.split()
            marks.setdefault(name, float(stamp) - start)
        probe.unlink()
        return marks

    def run_floor_window(self) -> float:
        """The bare PySide6 window, timed like the app (the script writes its own mark)."""
        probe = self.work / f"floor-{time.monotonic_ns()}.txt"
        start = time.time()
        subprocess.run(
            [self.py, "-c", FLOOR_WINDOW, str(probe)],
            check=True,
            cwd=self.work,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        stamp = float(probe.read_text(encoding="utf-8").split()[1])
        probe.unlink()
        return stamp - start

    def measure_round(self, results: dict[str, list[float]]) -> None:
        gui = ["-m", "ecmo_desktop", "--db", str(self.db)]
        jobs = {
            "floor: python -c pass": lambda: self.run_process(["-c", "pass"]),
            "cli: --version": lambda: self.run_process(["-m", "ecmo_desktop", "--version"]),
            "cli: parse-code": lambda: self.run_process(["-m", "ecmo_desktop", "parse-code", PARSE_CODE]),
            "cli: verify": lambda: self.run_process(
                ["-m", "ecmo_desktop", "verify", "--db", str(self.db), "--user", "admin"]
            ),
            "floor: bare window": self.run_floor_window,
            "gui: login window": lambda: self.run_probe(gui, login=False)["login_painted"],
            "gui: main window": lambda: self.run_probe(gui, login=True)["main_painted"],
        }
        names = list(jobs)
        random.shuffle(names)
        for name in names:
            results.setdefault(name, []).append(jobs[name]())

    def importtime(self, args: list[str], *, login: bool = False) -> list[tuple[int, int, str]]:
        env = dict(self.env)
        if login:
            env.update(
                ECMO_BENCH_STARTUP_PROBE=str(self.work / "probe-importtime.txt"),
                ECMO_BENCH_STARTUP_LOGIN=f"admin\t{PASSWORD}",
            )
        run = subprocess.run(
            [self.py, "-X", "importtime", *args],
            cwd=self.work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        rows = []
        for line in run.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            rows.append((int(own), int(cumulative), name))
        return rows


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=20, method="inclusive")[-1]


FLOORS = {
    "cli: --version": "floor: python -c pass",
    "cli: parse-code": "floor: python -c pass",
    "cli: verify": "floor: python -c pass",
    "gui: login window": "floor: bare window",
    "gui: main window": "floor: bare window",
}
GOALS = {
    "gui: login window": 1.5,
    "gui: main window": 3.0,
    "cli: --version": 3.0,
    "cli: parse-code": 3.0,
    "cli: verify": 3.0,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument(
        "--xvfb", metavar="DISPLAY", help="start Xvfb on this display (e.g. :28) instead of offscreen"
    )
    parser.add_argument(
        "--demo-cases", type=int, default=3, help="time one demo run with this many cases (0: skip)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ecmo-bench-startup-"))
    xvfb: subprocess.Popen[bytes] | None = None
    try:
        if args.xvfb:
            xvfb = subprocess.Popen(
                ["Xvfb", args.xvfb, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
        bench = Bench(work, args.xvfb)
        bench.prepare()
        load_before = load()
        results: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            bench.measure_round(results)
        load_after = load()
        gui_imports = bench.importtime(["-m", "ecmo_desktop", "--db", str(bench.db)], login=True)
        verify_imports = bench.importtime(
            ["-m", "ecmo_desktop", "verify", "--db", str(bench.db), "--user", "admin"]
        )
        demo = bench.demo_seconds(args.demo_cases) if args.demo_cases else None
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    summary = {}
    for name, values in results.items():
        floor = FLOORS.get(name)
        row = {"median_s": statistics.median(values), "p95_s": p95(values), "n": len(values)}
        if floor:
            row["floor"] = floor
            row["ratio_median"] = row["median_s"] / statistics.median(results[floor])
            row["ratio_p95"] = row["p95_s"] / p95(results[floor])
            row["goal_ratio"] = GOALS[name]
            row["goal_met"] = row["ratio_median"] <= GOALS[name]
        summary[name] = row
    report = {
        "load_before": load_before,
        "load_after": load_after,
        "rounds": args.repeat,
        "platform": f"xvfb {args.xvfb}" if args.xvfb else "offscreen",
        "figures": summary,
        "importtime_gui_to_main_window": _top(gui_imports),
        "importtime_verify": _top(verify_imports),
        "demo": {"cases": args.demo_cases, "seconds": demo[0], "says": demo[1]} if demo else None,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"start-up, {args.repeat} interleaved rounds, {report['platform']}")
    print(f"load before: {load_before}\nload after:  {load_after}\n")
    print(f"{'measure':<24}{'median':>9}{'p95':>9}   {'floor':<22}{'× median':>9}{'× p95':>8}{'goal':>7}")
    order = [
        "floor: python -c pass",
        "floor: bare window",
        "cli: --version",
        "cli: parse-code",
        "cli: verify",
        "gui: login window",
        "gui: main window",
    ]
    for name in order:
        row = summary[name]
        line = f"{name:<24}{row['median_s']:>8.3f}s{row['p95_s']:>8.3f}s   "
        if "floor" in row:
            line += (
                f"{row['floor'].removeprefix('floor: '):<22}"
                f"{row['ratio_median']:>8.2f}×{row['ratio_p95']:>7.2f}×"
                f"{'≤' + format(row['goal_ratio'], 'g') + '×':>7} {'met' if row['goal_met'] else 'MISSED'}"
            )
        print(line)
    for title, rows in (
        ("start → main window", report["importtime_gui_to_main_window"]),
        ("verify", report["importtime_verify"]),
    ):
        print(f"\n-X importtime, {title}: top 15 by self time (total {rows['total_ms']:.0f} ms of imports)")
        for item in rows["top"]:
            print(f"  {item['self_ms']:>7.1f} ms self {item['cumulative_ms']:>8.1f} ms cum  {item['module']}")
    if demo:
        print(f"\ndemo with {args.demo_cases} cases into a new database: {demo[0]:.1f} s — “{demo[1]}”")
    return 0


def _top(rows: list[tuple[int, int, str]]) -> dict[str, object]:
    total = sum(own for own, _cum, _name in rows)
    top = sorted(rows, key=lambda r: r[0], reverse=True)[:15]
    return {
        "total_ms": total / 1000,
        "top": [
            {"module": name.strip(), "self_ms": own / 1000, "cumulative_ms": cum / 1000}
            for own, cum, name in top
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
