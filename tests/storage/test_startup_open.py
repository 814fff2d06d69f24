"""Issue 15: opening a database is quick — light check, no Alembic at the head, services loaded on
first use — and the full integrity check still runs: after an unclean shutdown, in ``verify`` and in
the background after a normal start."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ecmo_desktop.container import build_container
from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.storage.migrate import (
    BackgroundIntegrityCheck,
    SessionMarker,
    alembic_config,
    check_sqlite_file,
    head_revision,
)

ROOT = Path(__file__).resolve().parents[2]


def _copy(template: Path, target: Path) -> Path:
    shutil.copyfile(template, target)
    return target


def _zero_table_page(path: Path, table: str) -> None:
    """Damage one table's root page only: the schema, the revision and the hospital stay readable."""
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(bytes(page_size))


def test_the_light_head_revision_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_opening_at_the_head_loads_neither_alembic_nor_reportlab(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """A fresh interpreter: what opening a container imports (the login needs only auth)."""
    db = _copy(sqlite_template, tmp_path / "ward.sqlite3")
    code = (
        "import sys, json\n"
        "from ecmo_desktop.container import build_container\n"
        f"c = build_container({str(db)!r})\n"
        "heavy = ('alembic', 'mako', 'reportlab', 'barcode', 'ecmo_desktop.services.documents',\n"
        "         'ecmo_desktop.services.exchange', 'ecmo_desktop.services.backup')\n"
        "before = sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy)\n"
        "c.documents\n"
        "after = 'ecmo_desktop.services.documents' in sys.modules and 'reportlab' in sys.modules\n"
        "print(json.dumps({'before': before, 'after': after, 'checked': c.integrity_checked}))\n"
        "c.close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ECMO_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result == {"before": [], "after": True, "checked": "light"}


def test_a_new_database_is_still_created_with_alembic(tmp_path: Path) -> None:
    c = build_container(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    try:
        assert c.migration.from_revision is None and c.migration.to_revision == head_revision()
        assert c.integrity_checked == "light"
    finally:
        c.close()


def test_an_unclean_shutdown_makes_the_next_open_check_everything(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(sqlite_template, tmp_path / "ward.sqlite3")
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ECMO_DATA_DIR": str(data)}
    crash = (
        f"import os\nfrom ecmo_desktop.container import build_container\nbuild_container({str(db)!r})\n"
        "os._exit(9)  # no close: the process dies with the database open\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", crash], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 9, out.stderr
    monkeypatch.setenv("ECMO_DATA_DIR", str(data))
    assert len(SessionMarker(db).stale()) == 1
    c = build_container(str(db))
    assert c.integrity_checked == "full"  # quick_check ran before anything was written
    assert c.start_integrity_check() is None  # nothing left to do in the background
    assert SessionMarker(db).stale() == []  # the crash's marker is gone once the check passed
    assert c.session_marker is not None and c.session_marker.path.exists()
    c.close()
    assert not any((data / "open-databases").iterdir())  # a clean close leaves no marker
    c = build_container(str(db))
    assert c.integrity_checked == "light"
    c.close()


def test_damage_inside_a_table_is_found_in_the_background_and_refused_after_a_crash(
    sqlite_template: Path, tmp_path: Path
) -> None:
    db = _copy(sqlite_template, tmp_path / "ward.sqlite3")
    _zero_table_page(db, "complication")
    c = build_container(str(db))  # the light check cannot see it: the start is not held up
    try:
        assert c.integrity_checked == "light"
        check = c.start_integrity_check()
        assert check is not None and check.wait(60)
        assert check.problem is not None and str(db) in check.problem and "已损坏" in check.problem
    finally:
        c.close()
    marker = SessionMarker(db)
    (marker.folder / f"{marker.prefix}999999999").write_text("crashed", encoding="utf-8")  # no such process
    before = db.read_bytes()
    with pytest.raises(StorageError) as info:
        build_container(str(db))
    assert str(db) in info.value.user_message() and "已损坏" in info.value.user_message()
    assert db.read_bytes() == before
    with pytest.raises(StorageError):  # verify opens read-only and always checks everything
        build_container(str(db), read_only=True)


def test_a_sound_file_passes_the_background_check(sqlite_template: Path, tmp_path: Path) -> None:
    db = _copy(sqlite_template, tmp_path / "ward.sqlite3")
    check = BackgroundIntegrityCheck(db).start()
    assert check.wait(60) and check.problem is None


def test_a_truncated_file_is_refused_by_the_light_check(sqlite_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "cut.sqlite3"
    data = sqlite_template.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    with pytest.raises(StorageError) as info:
        check_sqlite_file(db, integrity=False)
    assert str(db) in info.value.user_message() and "已损坏" in info.value.user_message()
    assert db.read_bytes() == data[: len(data) // 2]


def test_postgresql_has_no_file_check(db_url: str, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL")
    c = build_container(db_url)
    try:
        assert c.integrity_checked is None and c.session_marker is None and c.start_integrity_check() is None
    finally:
        c.close()
