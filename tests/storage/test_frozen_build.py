"""The frozen build (PyInstaller) starts: ``--version``, the no-screen message, a window on Xvfb.

Building takes minutes, so this runs only on request, against a build made beforehand:
    pyinstaller --noconfirm packaging/ecmo_ward.spec
    ECMO_TEST_FROZEN_DIST=dist/ECMOWard .venv/bin/pytest tests/storage/test_frozen_build.py
``benchmarks/bench_frozen_build.py --build`` builds, measures the size and runs the same checks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks.bench_frozen_build import APP, run_checks

DIST = os.environ.get("ECMO_TEST_FROZEN_DIST")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xvfb,
    pytest.mark.skipif(not DIST, reason="ECMO_TEST_FROZEN_DIST is not set (a dist/ECMOWard folder to test)"),
]


def test_the_frozen_build_reports_its_versions_refuses_no_screen_and_opens_a_window() -> None:
    assert DIST is not None
    assert (Path(DIST) / APP).is_file(), f"{DIST}/{APP} not found"
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed")
    failed = [f"{c.name}: {c.detail}" for c in run_checks(Path(DIST)) if not c.ok]
    assert not failed, "\n".join(failed)
