"""Engine creation with the durability settings the ward relies on (REL-2, REL-6, REL-10).

SQLite: WAL, ``synchronous=FULL``, foreign keys and a busy timeout on *every* connection, and
``BEGIN IMMEDIATE`` for write transactions — a deferred transaction that reads then writes can fail
with SQLITE_BUSY at once, ignoring the busy timeout. PostgreSQL: pre-ping so a dropped connection
is replaced instead of failing the next save.
"""

from __future__ import annotations

import contextvars
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.i18n import N_

BUSY_TIMEOUT_MS = 10_000

_write_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar("ecmo_write_tx", default=False)


@contextmanager
def write_intent() -> Iterator[None]:
    """Within this block, transactions on SQLite begin IMMEDIATE (take the write lock up front)."""
    token = _write_transaction.set(True)
    try:
        yield
    finally:
        _write_transaction.reset(token)


def sqlite_url_for(path: Path) -> str:
    return f"sqlite:///{path}"


SUPPORTED_SCHEMES = ("sqlite", "postgresql")
_SCHEMES_TEXT = "sqlite:///文件路径（或直接给出文件路径）、postgresql://用户@服务器/数据库"


def parse_database_url(url: str) -> URL:
    """The URL, or a message naming the supported schemes (never a driver's ModuleNotFoundError)."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError, TypeError) as exc:
        raise StorageError(N_("数据库地址“{url}”无效。支持：{schemes}"), url=_redact(url),
                           schemes=_SCHEMES_TEXT) from exc
    if u.get_backend_name() not in SUPPORTED_SCHEMES:
        raise StorageError(N_("不支持的数据库类型“{scheme}”。支持：{schemes}"), scheme=u.drivername,
                           schemes=_SCHEMES_TEXT)
    return u


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", str(url))[:200]


def is_sqlite(url: str) -> bool:
    return parse_database_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    u = parse_database_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


# f_type values of statfs for network and FUSE file systems (Linux), see statfs(2)
_REMOTE_FS_TYPES = {0x6969: "nfs", 0xFF534D42: "cifs", 0xFE534D42: "smb2", 0x517B: "smb",
                    0x65735546: "fuse", 0x01021997: "v9fs", 0x564C: "ncp"}


def classify_path(path: Path) -> str:
    """'remote' for a network location, else 'local' (REL-10: SQLite on a share corrupts)."""
    text = str(path)
    if text.startswith(("\\\\", "//")):
        return "remote"
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import ctypes

        drive = os.path.splitdrive(os.path.abspath(text))[0] + "\\"
        drive_remote = 4
        if ctypes.windll.kernel32.GetDriveTypeW(drive) == drive_remote:  # type: ignore[attr-defined]
            return "remote"
        return "local"
    return "remote" if _linux_fs_type(path) in _REMOTE_FS_TYPES.values() else "local"


def _linux_fs_type(path: Path) -> str | None:
    """The mount's file-system type from /proc/self/mounts (longest matching mount point)."""
    try:
        target = path.resolve()
        best, fstype = "", None
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount_point, kind = parts[1], parts[2]
                if (str(target) == mount_point or str(target).startswith(mount_point.rstrip("/") + "/")) \
                        and len(mount_point) > len(best):
                    best, fstype = mount_point, kind
    except OSError:
        return None
    if fstype is None:
        return None
    for name in ("nfs", "cifs", "smb", "fuse.sshfs", "9p", "ncpfs"):
        if fstype.startswith(name):
            return {"nfs": "nfs", "cifs": "cifs", "smb": "smb2", "fuse.sshfs": "fuse", "9p": "v9fs",
                    "ncpfs": "ncp"}[name]
    return fstype


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_transaction.get() else "BEGIN")


def create_read_only_engine(url: str) -> Engine:
    """An engine that cannot write (``verify``): SQLite opened ``mode=ro`` with ``query_only`` and no
    journal-mode change, PostgreSQL sessions READ ONLY. Never creates, migrates or converts a file."""
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is None:
            raise StorageError(N_("只读校验需要一个数据库文件"))
        ro_url = f"sqlite:///file:{path.resolve().as_posix()}?mode=ro&uri=true"
        engine = create_engine(ro_url, poolclass=NullPool,
                               connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _ro_sqlite(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA query_only = 1")
            cur.close()

        return engine
    try:
        engine = create_engine(url, pool_pre_ping=True, poolclass=NullPool)
    except ImportError as exc:  # e.g. postgresql+asyncpg: a driver this program does not ship
        raise StorageError(N_("不支持的数据库驱动“{scheme}”。支持：{schemes}"),
                           scheme=parse_database_url(url).drivername, schemes=_SCHEMES_TEXT) from exc

    @event.listens_for(engine, "connect")
    def _ro_pg(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cur.close()
        dbapi_conn.commit()

    return engine


def create_db_engine(url: str, *, check_location: bool = True) -> Engine:
    """An engine for ``url`` with the project's pragmas; refuses an SQLite file on a network drive."""
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            if check_location and classify_path(path.parent if not path.exists() else path) == "remote":
                raise StorageError(N_("数据库文件位于网络驱动器（{path}）。SQLite 不能放在共享盘上，多台电脑共用请使用 PostgreSQL 模式"),
                                   path=str(path))
            if not path.parent.is_dir():  # a typo in a path must not silently create a new folder tree
                raise StorageError(N_("数据库所在的文件夹不存在：{path}（不会自动创建，请检查路径）"), path=str(path.parent))
        engine = create_engine(url, poolclass=NullPool if path is None else None,
                               connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except ImportError as exc:  # e.g. postgresql+asyncpg: a driver this program does not ship
        raise StorageError(N_("不支持的数据库驱动“{scheme}”。支持：{schemes}"),
                           scheme=parse_database_url(url).drivername, schemes=_SCHEMES_TEXT) from exc
