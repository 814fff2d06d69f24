"""REL-9 (issue 10 §1): every table round-trips, damaged or edited backups are refused, and a failed
restore leaves the existing database exactly as it was — on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ecmo_desktop.cli import main as cli_main
from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.domain.records import DailyEntryInput
from ecmo_desktop.storage.backup import (
    DATABASE_MEMBER,
    SEAL_MARK,
    BackupKeys,
    _seal,
    _sign,
    file_sha256,
    make_backup,
    table_digests,
)
from ecmo_desktop.storage.orm import Base
from tests.conftest import BACKENDS, PASSWORD


def _fill_every_table(c: Any) -> None:
    """The demo generator (it sets the ECMO lead: hospital → staff, a circular key) plus the admin
    actions it does not take: a recall, a printed document and an amendment of a signed record."""
    from ecmo_desktop.services.demo import DEMO_PASSWORD, DemoGenerator

    gen = DemoGenerator(c, seed=11)
    gen.generate(2, years=1)
    team = gen.staff
    assert team is not None
    c.auth.login("admin", DEMO_PASSWORD)
    c.devices.recall_lot("RECALL-1", reason="厂家召回通知")
    run_id = c.runs.search_runs("", limit=10)[0].run_id
    gen.act_as(team.doctors[0])
    c.documents.generate("consent", run_id)
    for entry in c.records.chart(run_id).daily_entries:
        if entry.signed_by_id is None:
            continue
        gen.act_as(entry.signed_by_id)
        c.records.amend_daily_entry(
            entry.id,
            DailyEntryInput(
                recorded_at=entry.recorded_at, values=entry.values, checks=entry.checks, notes="更正"
            ),
            reason="录入错误",
        )
        break
    # a bedside request for a product the catalogue lacks (issue 9): GTIN 0690000000099 + check digit
    body = "0690000000099"
    check = (10 - sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body))) % 10) % 10
    gen.act_as(team.nurses[0])
    c.devices.request_product(run_id, f"01{body}{check}")
    gen.act_as(team.admin)


@pytest.fixture
def full(container: Any) -> Any:
    _fill_every_table(container)
    digests = table_digests(container.uow.engine)
    empty = [name for name, d in digests.items() if d["rows"] == 0]
    assert empty == [], f"tables left empty: {empty}"
    assert set(digests) == {t.name for t in Base.metadata.sorted_tables}
    with container.uow.engine.connect() as conn:
        assert conn.execute(text("SELECT ecmo_lead_id FROM hospital")).scalar() is not None
    return container


def _empty_target(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    from ecmo_desktop.container import SYSTEM_USER, build_container
    from tests.kit.db import fresh_db_url

    restore_url = fresh_db_url(request, backend, tmp_path, filename="restored.sqlite3", prefix="ecmo_restore")
    target = build_container(restore_url, workstation="restore-pc")
    target.ctx.user = SYSTEM_USER
    request.addfinalizer(target.close)
    return target


def test_every_table_round_trips_including_the_circular_ecmo_lead(
    full: Any, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    out = tmp_path / "ward.ecmobak"
    manifest = full.backups.backup(out)
    source = full.backups.digests()  # the backup's own "backup_written" row came after it: audit aside
    _same_tables(out, manifest, source, _empty_target(backend, request, tmp_path))


def _same_tables(backup: Path, manifest: dict[str, Any], source: dict[str, Any], target: Any) -> None:
    """Restore ``backup`` into the empty ``target``: every table equals the source's, the chain the anchor."""
    target.backups.restore(backup)
    got = target.backups.digests()
    for table, expected in manifest["tables"].items():
        if table == "audit_event":  # the restore appends its own audit row
            assert got[table]["rows"] == expected["rows"] + 1
        else:
            assert got[table] == source[table], table
            assert got[table] == expected if "sha256" in expected else got[table]["rows"] == expected["rows"]
    assert target.audit.verify_chain(expected_head=manifest["audit_head"]).ok


def test_backup_of_an_sqlite_file_restores_on_postgresql_and_as_rows(
    full: Any, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Portability: the file an SQLite backup carries loads into PostgreSQL (the ward moving to a server),
    every canonical row compared before commit; and the JSON-lines form still comes from SQLite on request."""
    if backend != "sqlite":
        pytest.skip("the source is an SQLite database")
    out = tmp_path / "ward.ecmobak"
    manifest = full.backups.backup(out)
    assert manifest["content"] == "sqlite" and "database" in manifest
    source = full.backups.digests()
    if "postgresql" in BACKENDS and os.environ.get("ECMO_TEST_PG_URL"):
        _same_tables(out, manifest, source, _empty_target("postgresql", request, tmp_path))
    rows = tmp_path / "rows.ecmobak"
    portable = make_backup(full.uow.engine, rows, portable=True)
    assert portable["content"] == "rows" and all("sha256" in t for t in portable["tables"].values())
    (tmp_path / "rows").mkdir()
    _same_tables(rows, portable, source, _empty_target("sqlite", request, tmp_path / "rows"))


def test_backup_sha256_is_in_the_audit_trail(seeded: Any, tmp_path: Path) -> None:
    container = seeded.container
    seeded.login("admin")
    out = tmp_path / "b.ecmobak"
    manifest = container.backups.backup(out)
    assert manifest["file_sha256"] == file_sha256(out)
    with container.uow.engine.connect() as conn:
        rows = conn.execute(text("SELECT action, after FROM audit_event ORDER BY seq")).all()
    written = [r for r in rows if r[0] == "backup_written"]
    after = written[-1][1] if isinstance(written[-1][1], dict) else json.loads(written[-1][1])
    assert after["sha256"] == file_sha256(out)


def _rewrite(src: Path, dst: Path, edit: Any, *, resign: bool, keys: BackupKeys | None = None) -> None:
    """Copy a backup, editing table members with ``edit(name, bytes)``, recomputing the manifest's
    hashes (what an editor of the file can do) and, with ``resign``, its signature (what only the
    key holder can do)."""
    with zipfile.ZipFile(src) as zin:
        manifest = json.loads(zin.read("manifest.json"))
        comment = zin.comment
        members = {i.filename: zin.read(i) for i in zin.infolist()}
    for name in list(members):
        if name == DATABASE_MEMBER:
            data = members[name] = edit(name, members[name])
            manifest["database"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        elif name.startswith("tables/"):
            data = edit(name, members[name])
            members[name] = data
            lines = data.decode("utf-8").splitlines()
            h = hashlib.sha256()
            for line in lines:
                h.update(line.encode("utf-8") + b"\n")
            manifest["tables"][name[len("tables/") : -len(".jsonl")]] = {
                "rows": len(lines),
                "sha256": h.hexdigest(),
            }
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    members["manifest.json"] = body
    key_id, key = (keys or BackupKeys()).current()
    if resign:
        members["manifest.hmac"] = _sign(key, body).encode("ascii")
        comment = SEAL_MARK + key_id.encode("ascii") + b":" + b"0" * 64
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
        zout.comment = comment  # without the key, the old seal is all an editor can copy
    if resign:
        _seal(dst, key)


def test_backup_edited_with_recomputed_hashes_is_refused(seeded: Any, tmp_path: Path) -> None:
    c = seeded.container
    seeded.login("admin")
    out = tmp_path / "b.ecmobak"
    c.backups.backup(out)
    renamed = tmp_path / "renamed.ecmobak"
    _rewrite(out, renamed, lambda name, data: data.replace("张伟".encode(), "张三".encode()), resign=False)
    with pytest.raises(StorageError) as info:
        c.backups.verify_file(renamed)
    assert "签名不符" in info.value.user_message()
    with zipfile.ZipFile(renamed) as zf:  # even with the manifest re-signed, the file seal breaks
        assert zf.comment.startswith(SEAL_MARK)
    unsigned = tmp_path / "unsigned.ecmobak"
    with zipfile.ZipFile(renamed) as zin, zipfile.ZipFile(unsigned, "w") as zout:
        for item in zin.infolist():
            if item.filename != "manifest.hmac":
                zout.writestr(item, zin.read(item))
    with pytest.raises(StorageError) as info:
        c.backups.verify_file(unsigned)
    assert "签名" in info.value.user_message()


def test_backup_key_of_another_installation_is_needed_and_can_be_imported(
    seeded: Any, tmp_path: Path
) -> None:
    from ecmo_desktop.storage.backup import verify_backup

    c = seeded.container
    seeded.login("admin")
    out = tmp_path / "b.ecmobak"
    c.backups.backup(out)
    other_pc = BackupKeys(tmp_path / "other-pc-keys")
    with pytest.raises(StorageError) as info:
        verify_backup(out, other_pc)
    assert "另一台电脑" in info.value.user_message()
    exported = tmp_path / "ward.key"
    key_id = c.backups.export_key(exported)
    assert other_pc.import_(exported) == key_id
    assert verify_backup(out, other_pc)["key_id"] == key_id
    forged = tmp_path / "forged.ecmobak"  # a backup signed with some other key is still refused
    _rewrite(out, forged, lambda name, data: data, resign=True, keys=BackupKeys(tmp_path / "attacker"))
    with pytest.raises(StorageError):
        verify_backup(forged, other_pc)


def test_damaged_bytes_are_refused_with_a_message(seeded: Any, tmp_path: Path) -> None:
    """30 backups with one flipped bit each (zip metadata included): every one refused with a message."""
    c = seeded.container
    seeded.login("admin")
    out = tmp_path / "b.ecmobak"
    c.backups.backup(out)
    data = out.read_bytes()
    rng = random.Random(10)
    refused = 0
    for i in range(30):
        damaged = bytearray(data)
        pos = rng.randrange(len(damaged))
        damaged[pos] ^= 1 << rng.randrange(8)
        path = tmp_path / f"flip{i}.ecmobak"
        path.write_bytes(bytes(damaged))
        try:
            c.backups.verify_file(path)
        except StorageError as exc:
            assert exc.user_message()
            refused += 1
    assert refused == 30
    truncated = tmp_path / "truncated.ecmobak"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(StorageError):
        c.backups.verify_file(truncated)


# ---- restore over an existing database, through the command line ---------------------------------
def _sqlite_state(path: Path) -> dict[str, str | None]:
    return {
        s: (file_sha256(Path(str(path) + s)) if Path(str(path) + s).exists() else None)
        for s in ("", "-wal", "-shm")
    }


def _bad_backups(good: Path, tmp_path: Path) -> list[Path]:
    """Backups that fail at different stages: bytes, signature, and (signed!) rows that break a key."""
    flipped = tmp_path / "flipped.ecmobak"
    raw = bytearray(good.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    edited = tmp_path / "edited.ecmobak"
    _rewrite(good, edited, lambda name, data: data.replace("张伟".encode(), "张三".encode()), resign=False)

    def dangling(name: str, data: bytes) -> bytes:
        if name == DATABASE_MEMBER:  # the same edit inside the SQLite file an SQLite backup carries
            scratch = tmp_path / "dangling.sqlite3"
            scratch.write_bytes(data)
            conn = sqlite3.connect(scratch)
            conn.execute(
                "UPDATE staff_role SET staff_id = 987654 WHERE rowid = (SELECT max(rowid) FROM staff_role)"
            )
            conn.commit()
            conn.close()
            return scratch.read_bytes()
        if name != "tables/staff_role.jsonl":
            return data
        rows = [json.loads(line) for line in data.decode().splitlines()]
        rows[-1]["staff_id"] = 987654
        return "".join(
            json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n" for r in rows
        ).encode()

    late = tmp_path / "late-failure.ecmobak"
    _rewrite(good, late, dangling, resign=True)
    return [flipped, edited, late, tmp_path / "missing.ecmobak", tmp_path]


def test_failed_restore_leaves_the_sqlite_file_byte_identical(
    seeded: Any,
    seeded_db_url: str,
    backend: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    if backend != "sqlite":
        pytest.skip("the PostgreSQL counterpart is the next test")
    c = seeded.container
    seeded.login("admin")
    good = tmp_path / "good.ecmobak"
    c.backups.backup(good)
    c.close()
    db = Path(seeded_db_url.removeprefix("sqlite:///"))
    before = _sqlite_state(db)
    for bad in _bad_backups(good, tmp_path):
        code = cli_main(["restore", str(bad), "--db", str(db), "--user", "admin", "--json"])
        out = capsys.readouterr().out
        assert code != 0, bad
        assert json.loads(out)["error"]["message"], bad
        assert _sqlite_state(db) == before, bad
        assert [p.name for p in db.parent.iterdir() if ".restoring-" in p.name] == []
    # and a good restore swaps in a complete database, keeping a copy of the old one
    digests_before = table_digests_for(seeded_db_url)
    assert cli_main(["restore", str(good), "--db", str(db), "--user", "admin", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["audit_ok"] and Path(result["previous_database_moved_to"]).exists()
    after = table_digests_for(seeded_db_url)
    for table, expected in digests_before.items():
        if table != "audit_event":
            assert after[table] == expected, table


def table_digests_for(url: str) -> dict[str, dict[str, Any]]:
    from ecmo_desktop.storage.engine import create_db_engine

    engine = create_db_engine(url)
    try:
        return table_digests(engine)
    finally:
        engine.dispose()


def test_failed_restore_over_postgres_changes_nothing(
    seeded: Any,
    seeded_db_url: str,
    backend: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    if backend != "postgresql":
        pytest.skip("the SQLite counterpart is the previous test")
    c = seeded.container
    seeded.login("admin")
    good = tmp_path / "good.ecmobak"
    c.backups.backup(good)
    from ecmo_desktop.services.runs import PatientInput

    seeded.login("zhangwei")
    c.runs.register_patient(PatientInput(mrn="LATER1", name="备份后登记", sex="F"))  # not in the backup
    c.close()
    before = table_digests_for(seeded_db_url)
    for bad in _bad_backups(good, tmp_path):
        code = cli_main(["restore", str(bad), "--db", seeded_db_url, "--user", "admin", "--json"])
        out = capsys.readouterr().out
        assert code != 0, bad
        assert json.loads(out)["error"]["message"], bad
        now = table_digests_for(seeded_db_url)
        # nothing changed, except the audit rows of the safety backup taken before a late failure
        assert {k: v for k, v in now.items() if k != "audit_event"} == {
            k: v for k, v in before.items() if k != "audit_event"
        }, bad
        assert now["audit_event"]["rows"] in (
            before["audit_event"]["rows"],
            before["audit_event"]["rows"] + 2,
        )
        before = now
    assert cli_main(["restore", str(good), "--db", seeded_db_url, "--user", "admin", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["audit_ok"] and Path(result["previous_database_moved_to"]).exists()
    after = table_digests_for(seeded_db_url)
    with zipfile.ZipFile(good) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    for table, expected in manifest["tables"].items():
        if table != "audit_event":
            assert after[table] == expected, table
    # the append-only trigger is back on after the restore
    from ecmo_desktop.storage.engine import create_db_engine

    engine = create_db_engine(seeded_db_url)
    try:
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_event"))
    finally:
        engine.dispose()


def test_a_key_id_from_a_backup_is_never_a_path(tmp_path: Path) -> None:
    keys = BackupKeys(tmp_path / "keys")
    key_id, _ = keys.current()
    (tmp_path / "x.key").write_text("{}", encoding="utf-8")
    assert keys.find("../x") is None and keys.find("../../etc/passwd") is None
    assert keys.find(key_id) is not None
