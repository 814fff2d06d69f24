"""REL-2(a), REL-3, REL-10: connection settings, damaged files, network drives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.storage import engine as engine_mod
from ecmo_desktop.storage.engine import classify_path, create_db_engine
from ecmo_desktop.storage.migrate import check_sqlite_file
from tests.kit.db import PASSWORD


def test_every_sqlite_connection_is_durable(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    try:
        for _ in range(3):  # several pooled connections, each configured
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()


def test_postgresql_keeps_fsync_and_synchronous_commit(db_url: str, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL settings")
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW fsync")).scalar() == "on"
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    finally:
        engine.dispose()


def _damaged_fixtures(base: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    out: dict[str, Path] = {}
    zeroed = bytearray(data)
    page = 4096
    zeroed[page : 2 * page] = bytes(page)  # a zeroed page (the schema's first table page)
    out["zeroed_page"] = base / "zeroed.sqlite3"
    out["zeroed_page"].write_bytes(bytes(zeroed))
    out["truncated"] = base / "truncated.sqlite3"
    out["truncated"].write_bytes(data[: len(data) // 3 + 100])
    flipped = bytearray(data)
    import random

    rng = random.Random(7)
    for _ in range(100):
        i = rng.randrange(100, len(flipped))
        flipped[i] ^= 0xFF
    out["flipped"] = base / "flipped.sqlite3"
    out["flipped"].write_bytes(bytes(flipped))
    out["not_sqlite"] = base / "notes.sqlite3"
    out["not_sqlite"].write_text("这不是数据库", encoding="utf-8")
    wal_only = base / "gone.sqlite3"
    Path(str(wal_only) + "-wal").write_bytes(b"\x00" * 32)
    out["wal_without_db"] = wal_only
    return out


def test_damaged_databases_are_refused_without_writing(sqlite_template: Path, tmp_path: Path) -> None:
    """REL-3: a clear message naming the file, no bytes written."""
    good = tmp_path / "good.sqlite3"
    good.write_bytes(sqlite_template.read_bytes())
    for kind, path in _damaged_fixtures(tmp_path, good).items():
        before = path.read_bytes() if path.exists() else None
        with pytest.raises(StorageError) as info:
            check_sqlite_file(path)
            # a flipped file can pass quick_check only if no flip hit live data; then opening works
        assert str(path) in info.value.user_message(), kind
        after = path.read_bytes() if path.exists() else None
        assert before == after, f"{kind}: file was modified"


def test_container_refuses_damaged_database(sqlite_template: Path, tmp_path: Path) -> None:
    from ecmo_desktop.container import build_container

    bad = tmp_path / "bad.sqlite3"
    bad.write_text("garbage", encoding="utf-8")
    with pytest.raises(StorageError):
        build_container(f"sqlite:///{bad}")
    assert bad.read_text(encoding="utf-8") == "garbage"


@pytest.mark.parametrize("path", [r"\\srv\ward\ecmo.sqlite3", "//srv/ward/ecmo.sqlite3"])
def test_unc_paths_are_remote(path: str) -> None:
    assert classify_path(Path(path)) == "remote"


@pytest.mark.parametrize(
    ("fstype", "expected"),
    [
        ("nfs4", "remote"),
        ("cifs", "remote"),
        ("smb3", "remote"),
        ("fuse.sshfs", "remote"),
        ("9p", "remote"),
        ("ext4", "local"),
        ("xfs", "local"),
        ("tmpfs", "local"),
        ("overlay", "local"),
        ("btrfs", "local"),
    ],
)
def test_linux_mounts_classified(
    fstype: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"rootfs / ext4 rw 0 0\nsrv:/x {tmp_path} {fstype} rw 0 0\n", encoding="utf-8")
    real_open = open

    def fake_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if file == "/proc/self/mounts":
            return real_open(mounts, *args, **kwargs)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert classify_path(tmp_path / "ecmo.sqlite3") == expected


def test_network_database_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod, "classify_path", lambda p: "remote")
    with pytest.raises(StorageError) as info:
        create_db_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert "PostgreSQL" in info.value.user_message()
    assert not (tmp_path / "x.sqlite3").exists()


def test_read_only_database_gives_clear_message(sqlite_url: str, tmp_path: Path) -> None:
    """REL-8 (root ignores chmod, so the read-only mode is set on the connection)."""
    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.runs import PatientInput

    c = build_container(sqlite_url)
    c.auth.first_run_setup(
        hospital_name="医院",
        hospital_code="H",
        city="市",
        admin_username="admin",
        admin_full_name="管理员",
        admin_password=PASSWORD,
        admin_password_repeat=PASSWORD,
    )
    c.auth.login("admin", PASSWORD)
    from sqlalchemy import event

    @event.listens_for(c.uow.engine, "connect")
    def _ro(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA query_only = 1")

    c.uow.engine.dispose()
    c.ctx.user = c.ctx.user.__class__(
        c.ctx.user.id, "admin", "管理员", "other", frozenset({"doctor", "admin"})
    )
    with pytest.raises(StorageError) as info:
        c.runs.register_patient(PatientInput(mrn="A1", name="张三", sex="M"))
    assert "只读" in info.value.user_message()
    assert c.runs.count_runs() == 0  # reading still works
    c.close()
    assert os.path.exists(sqlite_url.removeprefix("sqlite:///"))
