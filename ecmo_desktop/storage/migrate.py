"""Open a database safely: integrity check first (REL-3), then create or upgrade the schema with
Alembic, taking a backup of an SQLite file before any upgrade touches it."""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.i18n import N_
from ecmo_desktop.paths import backup_dir, migrations_dir
from ecmo_desktop.storage.engine import sqlite_path

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class MigrationResult:
    from_revision: str | None
    to_revision: str
    backup: Path | None


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def check_sqlite_file(path: Path, *, writable: bool = True) -> None:
    """Refuse a damaged or foreign file before anything writes to it (opened read-only).

    ``writable=False`` is for callers that only read (they accept a read-only medium)."""
    if not path.exists():
        if Path(str(path) + "-wal").exists():
            raise StorageError(N_("数据库文件 {path} 缺失，但存在其日志文件（-wal）。请从备份恢复，或联系管理员"),
                               path=str(path))
        return
    if not path.is_file():
        raise StorageError(N_("{path} 不是普通文件，不能作为数据库"), path=str(path))
    if writable and _read_only_location(path):
        raise StorageError(N_("数据库文件 {path} 位于只读位置或没有写权限（只读U盘/光盘、只读共享或文件属性）。"
                              "这不是数据损坏：请把它复制到可写的文件夹，或检查权限后再打开"), path=str(path))
    size = path.stat().st_size
    if size == 0:
        return  # an empty file is a new database
    with open(path, "rb") as fh:
        header = fh.read(16)
    if header != SQLITE_HEADER:
        raise StorageError(N_("{path} 不是 ECMO Ward 数据库文件（文件头无效）。请从备份恢复"), path=str(path))
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF not in _DAMAGE_CODES:  # busy, locked, cannot open, read-only …
            raise StorageError(N_("无法打开数据库文件 {path}（{detail}）。文件未必损坏：请检查它是否被其他程序占用、"
                                  "所在位置是否可写"), path=str(path), detail=str(exc)) from exc
        raise StorageError(N_("数据库文件 {path} 已损坏（{detail}）。请从备份恢复"), path=str(path),
                           detail=str(exc)) from exc
    if rows != [("ok",)]:
        detail = "; ".join(str(r[0]) for r in rows[:3])
        raise StorageError(N_("数据库文件 {path} 已损坏（{detail}）。请从备份恢复"), path=str(path), detail=detail)


_DAMAGE_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: only these mean "restore from backup"


def _read_only_location(path: Path) -> bool:
    """A read-only medium or missing write permission (``os.access`` honours a read-only mount even
    for root); SQLite needs to write beside the file (-wal, -shm) even to read it in WAL mode."""
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def sqlite_backup(engine: Engine, target: Path) -> Path:
    """A consistent copy of a live SQLite database through the online backup API (S8)."""
    path = sqlite_path(str(engine.url))
    if path is None:
        raise StorageError(N_("只有 SQLite 数据库可以这样备份"))
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_sqlite_file(path, target)
    return target


def copy_sqlite_file(source: Path, target: Path, *, read_only: bool = False) -> None:
    """Copy an SQLite file page by page through the online backup API (consistent even while others
    use it); ``read_only`` opens the source so that nothing — not even a journal — is written to it."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True) if read_only \
        else sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def upgrade_to_head(engine: Engine) -> MigrationResult:
    """Create the schema on an empty database or bring an older one up to date."""
    head = head_revision()
    current = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config())
    if current is not None and current != head:
        try:
            script.get_revision(current)
        except Exception as exc:
            raise StorageError(N_("数据库由更新版本的 ECMO Ward 创建（版本 {revision}），请升级程序后再打开"),
                               revision=current) from exc
    if current is None:
        tables = set(inspect(engine).get_table_names())
        if tables - {"alembic_version"}:
            raise StorageError(N_("数据库中已有未知的数据表，不是 ECMO Ward 数据库"))
    backup: Path | None = None
    if current == head:
        return MigrationResult(current, head, None)
    if current is not None and sqlite_path(str(engine.url)) is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = sqlite_backup(engine, backup_dir() / f"before-upgrade-{current}-to-{head}-{stamp}.sqlite3")
        log.info("backed up database to %s before upgrading", backup)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return MigrationResult(current, head, backup)
