"""The QC report at 50,000 runs: the service call and ``report --json``, time and peak memory, against a
2-run floor.

Both databases are the case-list benchmark's (``bench_case_list.seed``, cached by ``bench_cache.py``):
50,000 patients with one run each (imported register rows, ~70 % on flow), and the same seed with 2
runs as the floor. Each measurement runs in its own Python process so peak RSS (``ru_maxrss``) is
that of the call alone; the big and the floor database alternate (interleaved) so both see the
same machine load:

* service: ``build_container`` + login, then ``ExchangeService.report`` over every year — the time
  of the call, and the process's peak RSS after it (and before it: imports and the open database);
* CLI: ``python -m ecmo_desktop report --json --from … --to …`` wall time and peak RSS, what a user
  (or a regional centre's script) waits for.

Medians and p95 of ``--repeat`` rounds, with the load average (``os.getloadavg``) before and after.

    .venv/bin/python benchmarks/bench_report.py [--runs 50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="ecmo-bench-report-"))
os.environ.setdefault("ECMO_DATA_DIR", str(_TMP / "data"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:  # run as a script (benchmarks/ on sys.path) or as a module of the benchmarks package
    from bench_cache import cache_key, cached_sqlite
    from bench_case_list import PASSWORD, seed
except ImportError:  # pragma: no cover - python -m benchmarks.bench_report
    from benchmarks.bench_cache import cache_key, cached_sqlite
    from benchmarks.bench_case_list import PASSWORD, seed

ROOT = Path(__file__).resolve().parent.parent
DATE_FROM, DATE_TO = "2010-01-01", "2030-12-31"

SERVICE = """
import json, resource, sys, time
from datetime import date
from ecmo_desktop.container import build_container
c = build_container(sys.argv[1], workstation="bench")
c.auth.login("admin", sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
report = c.exchange.report(date.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4]))
elapsed = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
c.close()
print(json.dumps({"seconds": elapsed, "rss_before_kib": before, "rss_kib": after, "runs": report.runs}))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ, ECMO_PASSWORD=PASSWORD, PYTHONPATH=str(ROOT))
    return env


def service_once(url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", SERVICE, url, PASSWORD, DATE_FROM, DATE_TO],
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_once(url: str) -> dict[str, float]:
    """Wall time and the child's peak RSS of ``report --json`` (RUSAGE_CHILDREN of a fresh waiter)."""
    waiter = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
        "assert p.returncode == 0, p.returncode\n"
        "data = json.loads(p.stdout)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, "
        "'rss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "'runs': data.get('runs', data.get('result', {}).get('runs'))}))\n"
    )
    cmd = [
        sys.executable,
        "-m",
        "ecmo_desktop",
        "report",
        "--json",
        "--db",
        url,
        "--user",
        "admin",
        "--from",
        DATE_FROM,
        "--to",
        DATE_TO,
    ]
    out = subprocess.run(
        [sys.executable, "-c", waiter, *cmd], env=_env(), check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, ru_maxrss in KiB "
        f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} KiB)"
    )
    big = cached_sqlite(cache_key("caselist", runs=args.runs), lambda url: seed(url, args.runs), _TMP)
    small = cached_sqlite(cache_key("caselist", runs=2), lambda url: seed(url, 2), _TMP)
    try:
        big_url, _meta, hit_big = big.__enter__()
        small_url, _meta, hit_small = small.__enter__()
        print(
            f"databases: {args.runs:,} runs {'cached' if hit_big else 'seeded'}, 2 runs "
            f"{'cached' if hit_small else 'seeded'}"
        )
        load_before = os.getloadavg()
        samples: dict[str, list[dict[str, float]]] = {
            k: [] for k in ("service big", "service floor", "cli big", "cli floor")
        }
        steps = [
            ("service big", lambda: service_once(big_url)),
            ("service floor", lambda: service_once(small_url)),
            ("cli big", lambda: cli_once(big_url)),
            ("cli floor", lambda: cli_once(small_url)),
        ]
        for i in range(args.repeat):
            for name, step in steps if i % 2 == 0 else steps[::-1]:
                samples[name].append(step())
        load_after = os.getloadavg()
        print(
            f"load average before {load_before[0]:.2f} / after {load_after[0]:.2f} "
            f"(5-min {load_after[1]:.2f})"
        )
        print(
            f"{'measure':<16}{'runs':>8}{'median s':>10}{'p95 s':>8}"
            f"{'peak RSS MiB':>14}{'RSS before call':>17}"
        )
        for name, values in samples.items():
            secs = [v["seconds"] for v in values]
            rss = statistics.median(v["rss_kib"] for v in values) / 1024
            before = (
                f"{statistics.median(v['rss_before_kib'] for v in values) / 1024:>14.1f}"
                if "rss_before_kib" in values[0]
                else f"{'':>14}"
            )
            print(
                f"{name:<16}{int(values[0]['runs']):>8,}"
                f"{statistics.median(secs):>10.2f}{pct(secs, 0.95):>8.2f}"
                f"{rss:>14.1f}   {before}"
            )
        for kind in ("service", "cli"):
            big_s = statistics.median(v["seconds"] for v in samples[f"{kind} big"])
            floor_s = statistics.median(v["seconds"] for v in samples[f"{kind} floor"])
            big_m = statistics.median(v["rss_kib"] for v in samples[f"{kind} big"]) / 1024
            floor_m = statistics.median(v["rss_kib"] for v in samples[f"{kind} floor"]) / 1024
            print(
                f"{kind}: {big_s:.2f} s vs floor {floor_s:.2f} s (+{big_s - floor_s:.2f} s, "
                f"×{big_s / floor_s:.1f}); "
                f"peak RSS {big_m:.0f} MiB vs {floor_m:.0f} MiB (+{big_m - floor_m:.0f} MiB)"
            )
    finally:
        small.__exit__(None, None, None)
        big.__exit__(None, None, None)
        shutil.rmtree(_TMP, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
