"""A non-editable install finds its migrations and resources (they ship inside the wheel).

Builds the real wheel, unpacks it into an empty folder (no checkout on the path), then creates a
database with it in a fresh interpreter: the schema comes from the migrations inside the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_migrations_and_creates_a_database(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-v",
            "-w",
            str(wheel_dir),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    # A deprecation today is a failed build once setuptools removes it (a fresh clone gets the newest).
    output = build.stdout + build.stderr
    assert "DeprecationWarning" not in output, output[output.find("DeprecationWarning") - 300 :][:1500]
    wheel = next(wheel_dir.glob("ecmo_ward-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "ecmo_desktop/_data/db/migrations/env.py" in names
    assert any(n.startswith("ecmo_desktop/_data/db/migrations/versions/0001") for n in names)
    assert "ecmo_desktop/_data/resources/i18n/en/LC_MESSAGES/ecmo_desktop.mo" in names
    assert "ecmo_desktop/_data/resources/templates/consent_zh.json" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    db = tmp_path / "installed.sqlite3"
    probe = (
        "import json, ecmo_desktop, ecmo_desktop.paths as p\n"
        "from ecmo_desktop.cli import main\n"
        "assert str(p.project_root()).endswith('_data'), p.project_root()\n"
        f"assert str(ecmo_desktop.__file__).startswith({str(site)!r})\n"
        f"raise SystemExit(main(['init-db', '--db', {str(db)!r}, '--json']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "ECMO_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1])["revision"]
