"""REL-9: a backup taken while another process writes restores to identical tables and a verified chain."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.conftest import Seeded
from tests.kit.db import PASSWORD, fresh_db_url


def _writer(url: str, stop_after: int, started) -> None:  # type: ignore[no-untyped-def]
    from ecmo_desktop.container import build_container

    c = build_container(url, workstation="writer-pc")
    c.auth.login("zhangwei", PASSWORD)
    for i in range(stop_after):
        p = c.runs.register_patient(PatientInput(mrn=f"W{os.getpid()}{i}", name=f"并发{i}", sex="M"))
        c.runs.open_run(p.id, RunInput(mode="VA", indication="ami"))
        if i == 5:
            started.set()  # the backup starts while the remaining writes go on
    c.close()


def test_backup_during_writes_restores_identically(
    seeded: Seeded, seeded_db_url: str, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    c = seeded.container
    ctx = multiprocessing.get_context("fork")
    started = ctx.Event()
    writer = ctx.Process(target=_writer, args=(seeded_db_url, 40, started))
    writer.start()
    assert started.wait(30)
    seeded.login("admin")
    out = tmp_path / "ward.ecmobak"
    manifest = c.backups.backup(out)
    writer.join(120)
    assert writer.exitcode == 0
    assert sum(t["rows"] for t in manifest["tables"].values()) > 20  # it captured something

    from ecmo_desktop.container import SYSTEM_USER, build_container

    restore_url = fresh_db_url(request, backend, tmp_path, filename="restored.sqlite3", prefix="ecmo_restore")
    target = build_container(restore_url, workstation="restore-pc")
    target.ctx.user = SYSTEM_USER
    restored = target.backups.restore_into_empty(out)
    digests = target.backups.digests()
    for table, expected in manifest["tables"].items():
        got = digests[table]
        if table == "audit_event":  # the restore appends its own audit row
            assert got["rows"] == expected["rows"] + 1
        else:  # an SQLite backup carries the file (its SHA-256) and row counts, not per-table hashes
            assert got == expected if "sha256" in expected else got["rows"] == expected["rows"], table
    result = target.audit.verify_chain(expected_head=restored["audit_head"])
    assert result.ok
    # the restored database keeps working: ids continue after the restored ones
    target.auth.login("zhangwei", PASSWORD)
    p = target.runs.register_patient(PatientInput(mrn="AFTER1", name="恢复后", sex="F"))
    assert p.id > max(r.patient_id for r in target.runs.search_runs("", limit=1000) if r.mrn != "AFTER1")
    target.close()


def test_restore_refuses_non_empty_database_and_bad_files(seeded: Seeded, tmp_path: Path) -> None:
    c = seeded.container
    seeded.login("admin")
    out = tmp_path / "b.ecmobak"
    c.backups.backup(out)
    with pytest.raises(StorageError) as info:
        c.backups.restore_into_empty(out)
    assert "不是空的" in info.value.user_message()
    bad = tmp_path / "bad.ecmobak"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(StorageError):
        c.backups.restore_into_empty(bad)


def test_corrupted_table_in_backup_is_detected(
    seeded: Seeded, tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    import zipfile

    c = seeded.container
    seeded.login("admin")
    out = tmp_path / "b.ecmobak"
    c.backups.backup(out)
    tampered = tmp_path / "t.ecmobak"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename in ("tables/staff.jsonl", "database.sqlite3"):
                data = data.replace("张伟".encode(), "张三".encode())
            dst.writestr(item, data)
    from ecmo_desktop.container import SYSTEM_USER, build_container

    restore_url = fresh_db_url(request, backend, tmp_path, filename="restored.sqlite3", prefix="ecmo_restore")
    target = build_container(restore_url)
    target.ctx.user = SYSTEM_USER
    with pytest.raises(StorageError) as info:
        target.backups.restore_into_empty(tampered)
    assert (
        "签名" in info.value.user_message()
    )  # the rewritten file has lost its seal: refused before any table is read
    assert target.runs.count_runs() == 0  # nothing half-restored
    target.close()
