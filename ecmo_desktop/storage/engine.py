"""Engine creation with the durability settings the ward relies on (REL-2, REL-6, REL-10).

SQLite: WAL, ``synchronous=FULL``, foreign keys and a busy timeout on *every* connection, and
``BEGIN IMMEDIATE`` for write transactions — a deferred transaction that reads then writes can fail
with SQLITE_BUSY at once, ignoring the busy timeout. PostgreSQL: a pooled connection the server has
closed (restart, terminated backend) is replaced on check-out without a round trip (``_drop_closed``),
and timeouts on both sides so one stalled or vanished ward PC cannot stall the others (see
``PG_TIMEOUTS`` and docs/architecture.md, "Timeouts").
"""

from __future__ import annotations

import contextvars
import os
import re
import select
import socket
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.pool import NullPool

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.i18n import N_

BUSY_TIMEOUT_MS = 10_000

# PostgreSQL timeouts (issue 11 §2). Every save appends to the hash-chained audit trail under one
# transaction-scoped advisory lock; a PC frozen while holding it would otherwise stall every save and
# login on the ward, and a vanished PC's connection could hold it for hours (Linux keepalive defaults).
# - server side, per session (``options``): a statement waits at most LOCK_TIMEOUT_MS for a lock and
#   runs at most STATEMENT_TIMEOUT_MS; a transaction left idle for IDLE_IN_TRANSACTION_MS is ended by
#   the server (its connection closed, its locks released, its work rolled back). While holding the
#   audit lock the idle limit is AUDIT_LOCK_IDLE_MS (SET LOCAL in the audit repository): the rest of
#   such a transaction is only its commit, so a longer pause means the PC is frozen. AUDIT_LOCK_IDLE_MS
#   < LOCK_TIMEOUT_MS, so the others' saves wait, then complete, instead of failing.
# - TCP keepalives on both sides find a dead peer in about KEEPALIVE_IDLE_S + 3 × KEEPALIVE_INTERVAL_S.
# - the client gives up connecting after CONNECT_TIMEOUT_S and on unacknowledged data after
# TCP_USER_TIMEOUT_MS.
CONNECT_TIMEOUT_S = 5
LOCK_TIMEOUT_MS = 10_000
STATEMENT_TIMEOUT_MS = 120_000
IDLE_IN_TRANSACTION_MS = 60_000
AUDIT_LOCK_IDLE_MS = 3_000
KEEPALIVE_IDLE_S = 10
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
TCP_USER_TIMEOUT_MS = 30_000
PG_TIMEOUTS = {
    "lock_timeout": LOCK_TIMEOUT_MS,
    "statement_timeout": STATEMENT_TIMEOUT_MS,
    "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_MS,
    "tcp_keepalives_idle": KEEPALIVE_IDLE_S,
    "tcp_keepalives_interval": KEEPALIVE_INTERVAL_S,
    "tcp_keepalives_count": KEEPALIVE_COUNT,
}

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
        raise StorageError(
            N_("数据库地址“{url}”无效。支持：{schemes}"), url=_redact(url), schemes=_SCHEMES_TEXT
        ) from exc
    if u.get_backend_name() not in SUPPORTED_SCHEMES:
        raise StorageError(
            N_("不支持的数据库类型“{scheme}”。支持：{schemes}"), scheme=u.drivername, schemes=_SCHEMES_TEXT
        )
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
_REMOTE_FS_TYPES = {
    0x6969: "nfs",
    0xFF534D42: "cifs",
    0xFE534D42: "smb2",
    0x517B: "smb",
    0x65735546: "fuse",
    0x01021997: "v9fs",
    0x564C: "ncp",
}


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
                if (
                    str(target) == mount_point or str(target).startswith(mount_point.rstrip("/") + "/")
                ) and len(mount_point) > len(best):
                    best, fstype = mount_point, kind
    except OSError:
        return None
    if fstype is None:
        return None
    for name in ("nfs", "cifs", "smb", "fuse.sshfs", "9p", "ncpfs"):
        if fstype.startswith(name):
            return {
                "nfs": "nfs",
                "cifs": "cifs",
                "smb": "smb2",
                "fuse.sshfs": "fuse",
                "9p": "v9fs",
                "ncpfs": "ncp",
            }[name]
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
        engine = create_engine(
            ro_url,
            poolclass=NullPool,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _ro_sqlite(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA query_only = 1")
            cur.close()

        return engine
    try:
        engine = create_engine(url, poolclass=NullPool)  # a fresh connection every time: nothing to ping
    except ImportError as exc:  # e.g. postgresql+asyncpg: a driver this program does not ship
        raise StorageError(
            N_("不支持的数据库驱动“{scheme}”。支持：{schemes}"),
            scheme=parse_database_url(url).drivername,
            schemes=_SCHEMES_TEXT,
        ) from exc

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
                raise StorageError(
                    N_(
                        "数据库文件位于网络驱动器（{path}）。SQLite 不能放在共享盘上，多台电脑共用请使用 "
                        "PostgreSQL 模式"
                    ),
                    path=str(path),
                )
            if not path.parent.is_dir():  # a typo in a path must not silently create a new folder tree
                raise StorageError(
                    N_("数据库所在的文件夹不存在：{path}（不会自动创建，请检查路径）"), path=str(path.parent)
                )
        engine = create_engine(
            url,
            poolclass=NullPool if path is None else None,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    try:
        engine = create_engine(url, pool_size=5, max_overflow=5, connect_args=_pg_connect_args(url))
    except ImportError as exc:  # e.g. postgresql+asyncpg: a driver this program does not ship
        raise StorageError(
            N_("不支持的数据库驱动“{scheme}”。支持：{schemes}"),
            scheme=parse_database_url(url).drivername,
            schemes=_SCHEMES_TEXT,
        ) from exc
    _track_connections(engine)
    event.listen(engine.pool, "checkout", _drop_closed)
    return engine


def _drop_closed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Replace a pooled connection the server has closed, without a round trip (issue 15).

    ``pool_pre_ping`` cost a round trip on every check-out — two per scan. An idle connection has
    nothing to read, so a readable socket means the server has said goodbye (restart, terminated
    backend, idle timeout: a FATAL message, then EOF): the pool then opens a new connection. A peer
    that vanished without a word is not seen here, nor was it by the ping (it would wait for the
    timeouts); reads are tried once more (``services/base.py``) and a save fails with
    ``ServerUnreachable`` — never half-saved, as its transaction never reached the server's commit.
    """
    pgconn = getattr(dbapi_conn, "pgconn", None)
    if pgconn is None:
        return
    try:
        if dbapi_conn.closed or pgconn.status != 0:  # libpq CONNECTION_OK
            raise DisconnectionError("connection closed")
        readable = _readable(pgconn.socket)
    except (OSError, ValueError, AttributeError) as exc:  # the socket is gone already
        raise DisconnectionError(str(exc)) from exc
    if readable:
        raise DisconnectionError("the server closed this connection")


def _readable(fd: int) -> bool:
    """Whether the socket has data or EOF waiting, without waiting (poll: no FD_SETSIZE limit)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))  # POLLHUP/POLLERR are reported whatever was asked
    readable, _, _ = select.select([fd], [], [], 0)  # pragma: no cover - Windows
    return bool(readable)


_CONNECTIONS: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[Any]] = weakref.WeakKeyDictionary()


def _track_connections(engine: Engine) -> None:
    """Remember every PostgreSQL connection the engine opens, for ``abort_connections``."""
    conns: weakref.WeakSet[Any] = weakref.WeakSet()
    _CONNECTIONS[engine] = conns

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        conns.add(dbapi_conn)


def abort_connections(engine: Engine) -> int:
    """Cut every connection to the server (the UI's "stop waiting" when the server is frozen).

    A frozen server still has its kernel acknowledge TCP, so neither keepalives nor the server's own
    timeouts end the wait; shutting the sockets down makes the blocked call fail at once
    (``ServerUnreachable``); an idle pooled one is replaced on check-out (``_drop_closed``). The
    transaction is rolled back by the server,
    or, if its COMMIT had already been sent, its outcome shows once the server answers again (the lists
    refresh then). Idle pooled connections are replaced on their next use. Returns how many were cut.
    """
    cut = 0
    for dbapi_conn in list(_CONNECTIONS.get(engine, ())):
        try:
            fd = dbapi_conn.pgconn.socket
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
            cut += 1
        except (OSError, AttributeError, ValueError):  # closed already
            continue
    return cut


def server_time(engine: Engine) -> datetime:
    """The database server's clock (PostgreSQL; shared mode stamps records and audit rows with it)."""
    with engine.connect() as conn:
        value = conn.exec_driver_sql("SELECT clock_timestamp()").scalar()
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise StorageError(N_("无法读取数据库服务器的时间"))
    return value.astimezone(UTC)


def _pg_connect_args(url: str) -> dict[str, Any]:
    """libpq parameters: client-side timeouts and keepalives, server-side ones through ``options``."""
    if make_url(url).get_backend_name() != "postgresql":
        return {}
    server = " ".join(f"-c {name}={value}" for name, value in PG_TIMEOUTS.items())
    given = make_url(url).query.get("options")
    if given:  # settings written into the URL by the site come last and win
        server = f"{server} {given if isinstance(given, str) else ' '.join(given)}"
    return {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_S,
        "keepalives_interval": KEEPALIVE_INTERVAL_S,
        "keepalives_count": KEEPALIVE_COUNT,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        "options": server,
    }
