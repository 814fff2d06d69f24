"""The front door: ``--version``, ``--help`` in English, no screen, and the set-up scripts' temp files.

Each runs the real entry point or script in a subprocess, as a user or a support call would.
"""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from ecmo_desktop import __version__

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
SCREEN_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ECMO_DATABASE_URL", "LC_ALL", "LC_MESSAGES", "LANGUAGE")
    }
    env.update(ECMO_DATA_DIR=str(tmp_path / "data"), LANG="C.UTF-8", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecmo_desktop", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---- --version ---------------------------------------------------------------------------------------


def test_version_names_every_component_the_schema_and_the_data_folder(tmp_path: Path) -> None:
    from ecmo_desktop.storage.migrate import head_revision

    run = _run(["--version", "--lang", "en"], _env(tmp_path))
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert f"ECMO Ward {__version__}" in out
    assert f"Python {platform.python_version()}" in out
    assert f"PySide6 {version('PySide6')}" in out and re.search(r"Qt \d+\.\d+\.\d+", out)
    assert f"SQLAlchemy {version('SQLAlchemy')}" in out
    assert f"SQLite {sqlite3.sqlite_version}" in out
    assert f"Schema revision: {head_revision()}" in out
    assert f"Data folder: {tmp_path / 'data'}" in out
    assert "not created yet" in out
    assert not CJK.search(out), out


def test_version_reads_the_database_revision_without_changing_the_file(tmp_path: Path) -> None:
    from ecmo_desktop.storage.migrate import head_revision

    env = _env(tmp_path)
    init = _run(["init-db", "--json"], env)
    assert init.returncode == 0, init.stderr
    database = tmp_path / "data" / "ecmo_ward.sqlite3"
    before = database.read_bytes()
    run = _run(["--version", "--lang", "en"], env)
    assert run.returncode == 0, run.stderr
    assert f"Database: {database} (Schema revision: {head_revision()})" in run.stdout
    assert database.read_bytes() == before


def test_version_hides_a_server_password(tmp_path: Path) -> None:
    env = _env(tmp_path, ECMO_DATABASE_URL="postgresql+psycopg://ward:Secret99@db.example/ecmo")
    run = _run(["--version"], env)
    assert run.returncode == 0, run.stderr
    assert "Secret99" not in run.stdout and "ward:***@db.example/ecmo" in run.stdout


def test_version_loads_neither_qt_bindings_nor_the_database_libraries(tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom ecmo_desktop.__main__ import main\nassert main(['--version']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic', 'PySide6',"
        " 'shiboken6')))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_version_reads_qt_without_pyside_as_pyside_reports_it() -> None:
    """The light read (PySide6's _config.py, qVersion() through ctypes) says what importing says.

    Skipped in the --no-qt run, which blocks PySide6 (the main run has it)."""
    pyside6 = pytest.importorskip("PySide6", exc_type=ImportError)
    qtcore = pytest.importorskip("PySide6.QtCore", exc_type=ImportError)

    from ecmo_desktop.about import _qt_versions_light

    assert _qt_versions_light() == f"PySide6 {pyside6.__version__}, Qt {qtcore.qVersion()}"


# ---- --help in English ---------------------------------------------------------------------------------


def _subcommands(env: dict[str, str]) -> list[str]:
    run = _run(["--help"], env)
    match = re.search(r"\{([a-z,\-]+)\}", run.stdout)
    assert match, run.stdout
    return match.group(1).split(",")


@pytest.mark.parametrize("how", ["--lang en", "locale"])
def test_help_is_english_with_lang_en_or_an_english_locale(tmp_path: Path, how: str) -> None:
    env = _env(tmp_path, LANG="en_US.UTF-8") if how == "locale" else _env(tmp_path)
    lang = ["--lang", "en"] if how == "--lang en" else []
    commands = _subcommands(env)
    assert {"init-db", "print", "archive", "worklist"} <= set(commands)
    # every subcommand with --lang; the locale's path is the same, so two of them suffice there
    names = commands if lang else ["print", "archive"]
    for args in (["--help", *lang], [*lang, "--help"], *([*lang, name, "--help"] for name in names)):
        run = _run(args, env)
        assert run.returncode == 0, (args, run.stderr)
        assert run.stdout.strip() and not CJK.search(run.stdout), (args, CJK.findall(run.stdout), run.stdout)


def test_help_stays_chinese_by_default(tmp_path: Path) -> None:
    run = _run(["--help"], _env(tmp_path))
    assert run.returncode == 0 and "命令行工具" in run.stdout


# ---- no screen -----------------------------------------------------------------------------------------


def _no_screen_env(tmp_path: Path) -> dict[str, str]:
    env = _env(tmp_path)
    for var in SCREEN_VARS:
        env.pop(var, None)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY is how Linux finds a screen")
def test_window_without_a_screen_says_so_instead_of_a_qt_abort(tmp_path: Path) -> None:
    run = _run(["--lang", "en"], _no_screen_env(tmp_path))
    assert run.returncode == 3, (run.returncode, run.stderr)
    assert "DISPLAY" in run.stderr and "xvfb" in run.stderr.lower()
    assert "xcb" not in run.stderr and "Aborted" not in run.stderr


@pytest.mark.skipif(
    not (ROOT / ".venv" / ".ecmo-install.sha256").is_file(),
    reason="needs the checkout's .venv, which bash scripts/test.sh sets up",
)
def test_run_sh_without_a_screen_exits_with_a_message(tmp_path: Path) -> None:
    env = _no_screen_env(tmp_path)
    env.pop("ECMO_XVFB", None)
    run = subprocess.run(
        ["bash", "scripts/run.sh"],
        env={**env, "ECMO_SKIP_APT": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 3, (run.returncode, run.stderr[-2000:])
    assert "no screen found" in run.stderr and "ECMO_XVFB=1" in run.stderr
    assert "xcb" not in run.stderr


# ---- scripts/setup_env.sh: per-run temporary files, the real error -----------------------------------


def _source_setup(script: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    env = {**_env(tmp_path), "TMPDIR": str(tmpdir), "ECMO_SKIP_APT": "1", **extra}
    env.pop("ECMO_VERBOSE", None)
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail\nsource scripts/setup_env.sh\n{script}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_setup_logs_in_its_own_temp_folder_not_fixed_names_left_by_another_user(tmp_path: Path) -> None:
    """Names an earlier (root) run left in /tmp cannot be written: a directory stands in for them."""
    tmpdir = tmp_path / "tmp"
    for name in ("ecmo-venv.log", "ecmo-apt-update.log", "ecmo-apt-install.log"):
        (tmpdir / name).mkdir(parents=True)
    venv = tmp_path / "venv"
    run = _source_setup(
        f'ECMO_VENV={venv}\necmo_ensure_venv\necho "log dir: $ECMO_LOG_DIR"', tmp_path, PYTHON=sys.executable
    )
    assert run.returncode == 0, run.stderr
    assert (venv / "bin" / "python").exists()
    log_dir = run.stdout.split("log dir: ", 1)[1].strip()
    assert Path(log_dir).parent == tmpdir and Path(log_dir).name.startswith("ecmo-setup.")
    assert oct(Path(log_dir).stat().st_mode & 0o777) == oct(0o700)


def test_setup_reports_the_real_venv_error_not_python3_venv(tmp_path: Path) -> None:
    fake = tmp_path / "python-full-disk"
    fake.write_text(f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    echo "Error: [Errno 28] No space left on device: '$3/lib'" >&2
    exit 1
fi
exec {sys.executable} "$@"
""")
    fake.chmod(0o755)
    run = _source_setup(f"ECMO_VENV={tmp_path / 'venv'}\necmo_ensure_venv", tmp_path, PYTHON=str(fake))
    assert run.returncode == 1
    assert "No space left on device" in run.stderr and "-m venv failed" in run.stderr
    assert "python3-venv" not in run.stderr and "installing" not in run.stderr
