"""The frozen Linux build (PyInstaller, packaging/ecmo_ward.spec): its size, and that it really starts.

    .venv/bin/python benchmarks/bench_frozen_build.py [--dist dist/ECMOWard | --build] [--display :91]

``--build`` runs PyInstaller into a temporary folder first (pyinstaller must be installed: it is
not a project dependency); ``--dist`` measures an existing ``dist/ECMOWard``. Then it prints the
size (total and the biggest parts), runs ``ECMOWard --version``, starts the bundle without a screen
(it must say so and exit 3, not abort in Qt), and starts it on a virtual X screen (Xvfb, 1366×768),
waiting for its first window, and reports the time that took. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = "ECMOWard"


def size_of(path: Path) -> int:
    """Bytes in regular files (symlinks not followed: PyInstaller links Qt libraries)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def biggest_parts(dist: Path, n: int = 10) -> list[tuple[str, int]]:
    internal = dist / "_internal"
    parts: dict[str, int] = {}
    for child in internal.iterdir():
        if child.is_symlink():
            continue
        key = child.name if child.is_dir() else "(shared libraries at the top)"
        parts[key] = parts.get(key, 0) + (size_of(child) if child.is_dir() else child.stat().st_size)
    return sorted(parts.items(), key=lambda kv: -kv[1])[:n]


def build(out: Path) -> Path:
    if shutil.which("pyinstaller") is None and not (Path(sys.executable).parent / "pyinstaller").exists():
        raise SystemExit("pyinstaller is not installed (pip install pyinstaller)")
    exe = shutil.which("pyinstaller") or str(Path(sys.executable).parent / "pyinstaller")
    subprocess.run(
        [
            exe,
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(out / "dist"),
            "--workpath",
            str(out / "build"),
            str(ROOT / "packaging" / "ecmo_ward.spec"),
        ],
        check=True,
        cwd=ROOT,
    )
    return out / "dist" / APP


def _free_display(start: int = 91) -> str:
    for n in range(start, start + 100):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return f":{n}"
    raise SystemExit("no free X display number")


def _clean_env(data: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "ECMO_DATABASE_URL", "PYTHONPATH")
    }
    env["ECMO_DATA_DIR"] = str(data)
    env["ECMO_CONFIG_DIR"] = str(data / "config")
    return env


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_version(exe: Path, data: Path) -> Check:
    run = subprocess.run(
        [str(exe), "--version", "--lang", "en"],
        env=_clean_env(data),
        capture_output=True,
        text=True,
        timeout=120,
    )
    ok = run.returncode == 0 and "ECMO Ward" in run.stdout and "Qt" in run.stdout and "SQLite" in run.stdout
    return Check("--version", ok, (run.stdout or run.stderr).strip())


def check_no_screen(exe: Path, data: Path) -> Check:
    run = subprocess.run(
        [str(exe), "--lang", "en"], env=_clean_env(data), capture_output=True, text=True, timeout=120
    )
    ok = run.returncode == 3 and "DISPLAY" in run.stderr
    return Check("no screen → message, exit 3", ok, f"exit {run.returncode}: {run.stderr.strip()[:200]}")


def check_window(exe: Path, data: Path, display: str, timeout: float) -> Check:
    """Start on Xvfb and wait for a visible window of the process (xdotool, _NET_WM_PID)."""
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        return Check("window on Xvfb", False, "Xvfb and xdotool are needed (apt-get install xvfb xdotool)")
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    app = None
    env = {**_clean_env(data), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    try:
        for _ in range(100):
            if (
                subprocess.run(["xdotool", "getdisplaygeometry"], env=env, capture_output=True).returncode
                == 0
            ):
                break
            time.sleep(0.1)
        data.mkdir(parents=True, exist_ok=True)
        log = data / "frozen-app.log"
        start = time.perf_counter()
        with log.open("wb") as out:
            app = subprocess.Popen([str(exe)], env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = start + timeout
        while time.perf_counter() < deadline:
            if app.poll() is not None:
                return Check(
                    "window on Xvfb",
                    False,
                    f"exited {app.returncode} before a window: {log.read_text(errors='replace')[-500:]}",
                )
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--pid", str(app.pid)],
                env=env,
                capture_output=True,
                text=True,
            )
            wid = found.stdout.split()
            if wid:
                elapsed = time.perf_counter() - start
                name = subprocess.run(
                    ["xdotool", "getwindowname", wid[-1]], env=env, capture_output=True, text=True
                ).stdout.strip()
                return Check("window on Xvfb", True, f"'{name}' after {elapsed:.1f} s")
            time.sleep(0.2)
        return Check("window on Xvfb", False, f"no window within {timeout:.0f} s")
    finally:
        for proc in (app, xvfb):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def run_checks(dist: Path, display: str | None = None, timeout: float = 90) -> list[Check]:
    exe = dist / APP
    if not exe.is_file():
        raise SystemExit(
            f"{exe} not found: build first (pyinstaller packaging/ecmo_ward.spec) or use --build"
        )
    with tempfile.TemporaryDirectory(prefix="ecmo-frozen-") as tmp:
        data = Path(tmp)
        return [
            check_version(exe, data / "v"),
            check_no_screen(exe, data / "n"),
            check_window(exe, data / "w", display or _free_display(), timeout),
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist" / APP, help="an existing dist/ECMOWard")
    parser.add_argument("--build", action="store_true", help="build with PyInstaller into a temporary folder")
    parser.add_argument("--display", help="X display for Xvfb (default: the first free from :91)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for the first window")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecmo-pyi-") as tmp:
        dist = args.dist
        if args.build:
            t = time.perf_counter()
            dist = build(Path(tmp))
            print(f"build: {time.perf_counter() - t:.0f} s")
        total = size_of(dist)
        print(
            f"size of {dist}: {total / 2**20:.0f} MiB ({total / 1e6:.0f} MB) in "
            f"{sum(1 for p in dist.rglob('*') if p.is_file())} files"
        )
        for name, size in biggest_parts(dist):
            print(f"  {size / 2**20:7.1f} MiB  {name}")
        checks = run_checks(dist, args.display, args.timeout)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
