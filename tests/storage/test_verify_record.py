"""``verify`` covers the record, not only the audit table, and never writes (AUD-1, AUD-3, SIG-2).

* read-only: an empty file, a foreign SQLite file, a database of an older revision and an ECMO
  database in rollback-journal mode come out byte-identical (no migration, no switch to WAL);
* replay: a patient renamed, a draft changed, a device usage moved to another run, a signed record
  changed, a row inserted without its create event — all behind the app's back — are reported by
  table, row and field (negative control: the untouched database verifies clean).
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.container import SYSTEM_USER, build_container
from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.services.demo import DEMO_PASSWORD
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.conftest import Seeded

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade" / "demo_0001.sqlite3"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 0001 demo fixture upgraded to head once; tests copy it."""
    path = tmp_path_factory.mktemp("verify") / "demo.sqlite3"
    shutil.copyfile(FIXTURE, path)
    c = build_container(str(path), workstation="test-pc")
    with c.uow.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    return path


def _copy(src: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.sqlite3"
    shutil.copyfile(src, target)
    return target


def _verify(path: Path | str) -> Any:
    c = build_container(str(path), workstation="test-pc", read_only=True)
    c.ctx.user = SYSTEM_USER
    try:
        return c.audit.verify_record()
    finally:
        c.close()


# ---- never writes ---------------------------------------------------------------------------------------
def test_verify_refuses_an_empty_file_and_leaves_it_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    assert cli_main(["verify", "--db", str(empty), "--user", "admin"]) == 1
    assert empty.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite3"]


def test_verify_leaves_a_foreign_sqlite_file_byte_identical(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('x')")
    conn.commit()
    conn.close()
    before = _digest(foreign)
    with pytest.raises(StorageError):
        _verify(foreign)
    assert cli_main(["verify", "--db", str(foreign), "--user", "admin"]) == 1
    assert _digest(foreign) == before and _journal_mode(foreign) == "delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_verify_does_not_migrate_an_older_database(tmp_path: Path) -> None:
    old = _copy(FIXTURE, tmp_path)
    before = _digest(old)
    with pytest.raises(StorageError) as info:
        _verify(old)
    assert "升级" in info.value.user_message()
    assert _digest(old) == before


def test_verify_keeps_a_rollback_journal_database_as_it_is(upgraded: Path, tmp_path: Path) -> None:
    db = _copy(upgraded, tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    before = _digest(db)
    assert _verify(db).ok
    assert _digest(db) == before and _journal_mode(db) == "delete"


# ---- replay -----------------------------------------------------------------------------------------------
def _raw(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    conn.executescript(";".join(statements))
    conn.close()


def _problems(result: Any) -> set[tuple[str, int, str, str | None]]:
    return {(p.table, p.row_id, p.kind, p.field) for p in result.trail}


def test_untouched_upgraded_fixture_verifies_clean(upgraded: Path, tmp_path: Path) -> None:
    result = _verify(_copy(upgraded, tmp_path))
    assert result.ok and result.trail == () and result.signatures.checked > 50 and result.rows_checked > 100


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE patient SET name = '王某某' WHERE id = 2", ("patient", 2, "changed", "name")),
        ("UPDATE device_usage SET run_id = 3 WHERE id = 1", ("device_usage", 1, "changed", "run_id")),
        ("UPDATE ecmo_run SET end_reason = 'weaned' WHERE id = 1", ("ecmo_run", 1, "changed", "end_reason")),
        ("UPDATE daily_entry SET notes = '改过' WHERE id = 3", ("daily_entry", 3, "changed", "notes")),
        (
            "INSERT INTO lot_recall (product_id, lot, reason, recalled_at, recorded_by_id) "
            "VALUES (1, 'X1', 'x', '2026-01-01 00:00:00', 1)",
            ("lot_recall", 1, "no_create_event", None),
        ),
    ],
)
def test_a_clinical_row_edited_behind_the_apps_back_is_reported(
    upgraded: Path, tmp_path: Path, sql: str, expected: tuple[str, int, str, str | None]
) -> None:
    db = _copy(upgraded, tmp_path)
    _raw(db, sql)
    result = _verify(db)
    assert result.chain.ok  # the audit table itself is untouched …
    assert not result.ok and expected in _problems(result)  # … the replay sees the record changed


def test_a_signed_record_changed_is_reported_by_its_signature(upgraded: Path, tmp_path: Path) -> None:
    db = _copy(upgraded, tmp_path)
    _raw(db, "UPDATE consent SET signer_name = '某人' WHERE id = 1")
    result = _verify(db)
    assert not result.signatures.ok
    assert [(p.entity, p.entity_id, p.message) for p in result.signatures.problems] == [
        ("consent", 1, "签名后内容被改动")
    ]


def test_cli_verify_names_table_row_and_field(
    upgraded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(upgraded, tmp_path)
    monkeypatch.setenv("ECMO_PASSWORD", DEMO_PASSWORD)  # the 0001 fixture was filled by the demo
    assert cli_main(["verify", "--db", str(db), "--user", "admin"]) == 0
    _raw(db, "UPDATE patient SET name = '王某某' WHERE id = 2")
    capsys.readouterr()
    assert cli_main(["verify", "--db", str(db), "--user", "admin"]) == 1
    out = capsys.readouterr().out
    assert "patient #2 name" in out and "王某某" in out


def test_replay_on_both_backends(seeded: Seeded) -> None:
    """Rename a patient and move a run's mode by raw SQL on SQLite and PostgreSQL: both reported."""
    c = seeded.container
    seeded.login("zhangwei")
    patient = c.runs.register_patient(PatientInput(mrn="V0001", name="赵六", sex="M"))
    run = c.runs.open_run(patient.id, RunInput(mode="VA", indication="ami"))
    seeded.login("admin")
    assert c.audit.verify_record().ok
    with c.uow.engine.begin() as conn:
        conn.execute(text("UPDATE patient SET name = '钱七' WHERE id = :i"), {"i": patient.id})
        conn.execute(text("UPDATE ecmo_run SET mode = 'VV' WHERE id = :i"), {"i": run.id})
    found = _problems(c.audit.verify_record())
    assert {("patient", patient.id, "changed", "name"), ("ecmo_run", run.id, "changed", "mode")} <= found
