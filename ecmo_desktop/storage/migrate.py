"""Open a database safely, and quickly: the file's header, schema and revision on open (REL-3), then
create or upgrade the schema with Alembic, taking a backup of an SQLite file before any upgrade.

The full integrity check (``PRAGMA quick_check``, 1.6 s on an 822 MB file) is not on the start-up
path: it runs before opening only after an unclean shutdown (``SessionMarker``), in ``verify``, and
otherwise in the background after the start (``BackgroundIntegrityCheck``, its own read-only
connection). Alembic (~0.2 s to import) is loaded only when the revision in the database is not the
head this program ships.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sqlite3
import struct
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.i18n import N_
from ecmo_desktop.paths import backup_dir, data_dir, migrations_dir
from ecmo_desktop.storage.engine import sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class MigrationResult:
    from_revision: str | None
    to_revision: str
    backup: Path | None


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


@cache
def head_revision() -> str:
    """The newest migration, read from the scripts' ``revision``/``down_revision`` lines without
    loading Alembic (a test checks it against Alembic's own ``get_current_head``)."""
    import ast

    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((migrations_dir() / "versions").glob("*.py")):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            parsed = ast.literal_eval(value)
            values = [parsed] if isinstance(parsed, str) else list(parsed or ())
            (revisions if name == "revision" else parents).update(values)
    heads = revisions - parents
    if len(heads) != 1:
        raise StorageError(
            N_("程序的数据库迁移脚本不完整（架构版本头：{heads}）"), heads=", ".join(sorted(heads)) or "-"
        )
    return heads.pop()


def check_sqlite_file(path: Path, *, writable: bool = True, integrity: bool = True) -> None:
    """Refuse a damaged or foreign file before anything writes to it (opened read-only).

    Always: the header, the file's length against the page count in it, and the schema read through
    a read-only connection. ``integrity`` adds ``PRAGMA quick_check`` over every page (seconds on a
    large file): after an unclean shutdown and in ``verify``; a normal start runs it in the background.
    ``writable=False`` is for callers that only read (they accept a read-only medium)."""
    if not path.exists():
        if Path(str(path) + "-wal").exists():
            raise StorageError(
                N_("数据库文件 {path} 缺失，但存在其日志文件（-wal）。请从备份恢复，或联系管理员"),
                path=str(path),
            )
        return
    if not path.is_file():
        raise StorageError(N_("{path} 不是普通文件，不能作为数据库"), path=str(path))
    if writable and _read_only_location(path):
        raise StorageError(
            N_(
                "数据库文件 {path} 位于只读位置或没有写权限（只读U盘/光盘、只读共享或文件属性）。"
                "这不是数据损坏：请把它复制到可写的文件夹，或检查权限后再打开"
            ),
            path=str(path),
        )
    size = path.stat().st_size
    if size == 0:
        return  # an empty file is a new database
    with open(path, "rb") as fh:
        header = fh.read(100)
    if header[:16] != SQLITE_HEADER:
        raise StorageError(N_("{path} 不是 ECMO Ward 数据库文件（文件头无效）。请从备份恢复"), path=str(path))
    problem = _header_problem(header, size)
    if problem:
        raise StorageError(
            N_("数据库文件 {path} 已损坏（{detail}）。请从备份恢复"), path=str(path), detail=problem
        )
    rows = _run_check(path, "PRAGMA quick_check" if integrity else "SELECT 'ok' FROM sqlite_master LIMIT 0")
    if integrity and rows != [("ok",)]:
        detail = "; ".join(str(r[0]) for r in rows[:3])
        raise StorageError(
            N_("数据库文件 {path} 已损坏（{detail}）。请从备份恢复"), path=str(path), detail=detail
        )


def _header_problem(header: bytes, size: int) -> str | None:
    """A file shorter than the page count its header states (a truncated copy), when that count is
    valid (the header's "version-valid-for" equals its change counter, as every SQLite since 3.7 writes)."""
    if len(header) < 100:
        return "header truncated"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    if page_size < 512 or page_size & (page_size - 1):
        return f"invalid page size {page_size}"
    if valid_for == change_counter and page_count and size < page_count * page_size:
        return f"file is {size} bytes, header says {page_count} pages of {page_size}"
    return None


def _run_check(path: Path, sql: str, *, holder: list[sqlite3.Connection] | None = None) -> list[Any]:
    """Run one statement through a read-only connection of its own; errors become a StorageError that
    says whether the file is damaged or only unavailable (busy, locked, cannot open …)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        if holder is not None:
            holder.append(conn)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads and parses the schema
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF not in _DAMAGE_CODES:  # busy, locked, cannot open, read-only …
            raise StorageError(
                N_(
                    "无法打开数据库文件 {path}（{detail}）。文件未必损坏：请检查它是否被其他程序占用、"
                    "所在位置是否可写"
                ),
                path=str(path),
                detail=str(exc),
            ) from exc
        raise StorageError(
            N_("数据库文件 {path} 已损坏（{detail}）。请从备份恢复"), path=str(path), detail=str(exc)
        ) from exc


class BackgroundIntegrityCheck:
    """``PRAGMA quick_check`` of an SQLite file in a daemon thread, on a read-only connection of its own
    (never a service's connection, so the UI's serial task worker is not involved; in WAL mode writers
    go on meanwhile). No Qt here: the GUI polls ``done`` from its own thread and reads ``problem``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None  # the user message when the file is damaged (or unreadable)
        self._conns: list[sqlite3.Connection] = []
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="ecmo-integrity-check", daemon=True)

    def start(self) -> BackgroundIntegrityCheck:
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return not self._thread.is_alive() and self._thread.ident is not None

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.done

    def cancel(self) -> None:
        """At exit: interrupt the statement (the connection is read-only; nothing is left half done)."""
        self._cancelled = True
        for conn in self._conns:
            with contextlib.suppress(sqlite3.Error):  # closed meanwhile
                conn.interrupt()

    def _run(self) -> None:
        try:
            check_sqlite_file(self.path, writable=False, integrity=False)  # the header again, cheap
            rows = _run_check(self.path, "PRAGMA quick_check", holder=self._conns)
            if rows != [("ok",)]:
                detail = "; ".join(str(r[0]) for r in rows[:3])
                self.problem = StorageError(
                    N_("数据库文件 {path} 已损坏（{detail}）。请从备份恢复"),
                    path=str(self.path),
                    detail=detail,
                ).user_message()
        except StorageError as exc:
            if not self._cancelled:
                self.problem = exc.user_message()
        except Exception as exc:  # reported to the user, never lost in a thread
            if not self._cancelled:
                log.exception("integrity check of %s failed", self.path)
                self.problem = str(exc)[:300]
        else:
            log.info("integrity check of %s: ok", self.path)


class SessionMarker:
    """A file that exists while a process has the SQLite database open for writing (one per process,
    in the data folder, named after the database's path and the process id). A marker left by a
    process that no longer runs means an unclean shutdown: the next open runs the full check first."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path.resolve()
        self.folder = data_dir() / "open-databases"
        digest = hashlib.sha256(str(self.db_path).encode("utf-8")).hexdigest()[:16]
        self.prefix = f"{digest}-"
        self.path = self.folder / f"{self.prefix}{os.getpid()}"

    def stale(self) -> list[Path]:
        """Markers of processes that ended without closing this database."""
        try:
            candidates = list(self.folder.glob(f"{self.prefix}*"))
        except OSError:
            return []
        found = []
        for marker in candidates:
            pid_text = marker.name.removeprefix(self.prefix)
            if pid_text.isdigit() and int(pid_text) != os.getpid() and not _process_alive(int(pid_text)):
                found.append(marker)
        return found

    def create(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path.write_text(f"{self.db_path}\n{datetime.now(UTC).isoformat()}\n", encoding="utf-8")
        except OSError as exc:  # a start must not fail for want of a marker
            log.warning("cannot write the session marker %s: %s", self.path, exc)

    def clear(self, stale: list[Path] | None = None) -> None:
        for marker in [self.path] if stale is None else stale:
            try:
                marker.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot remove the session marker %s: %s", marker, exc)


def _process_alive(pid: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        still_active = 259
        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            ok = ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))  # type: ignore[attr-defined]
            return bool(ok) and code.value == still_active
        finally:
            ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_DAMAGE_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: only these mean "restore from backup"


def _read_only_location(path: Path) -> bool:
    """A read-only medium or missing write permission (``os.access`` honours a read-only mount even
    for root); SQLite needs to write beside the file (-wal, -shm) even to read it in WAL mode."""
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the database: one query (None when there is no ``alembic_version``)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    except DBAPIError:
        if "alembic_version" in inspect(engine).get_table_names():
            raise
        return None
    if len(rows) > 1:
        raise StorageError(
            N_("数据库记录了多个架构版本（{revisions}），无法确定其版本"),
            revisions=", ".join(sorted(str(r[0]) for r in rows)),
        )
    return str(rows[0][0]) if rows else None


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
    src = (
        sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        if read_only
        else sqlite3.connect(str(source))
    )
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def upgrade_to_head(engine: Engine) -> MigrationResult:
    """Create the schema on an empty database or bring an older one up to date (Alembic is loaded
    only then: at the head, this is one query)."""
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return MigrationResult(current, head, None)
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    if current is not None:
        try:
            script.get_revision(current)
        except Exception as exc:
            raise StorageError(
                N_("数据库由更新版本的 ECMO Ward 创建（版本 {revision}），请升级程序后再打开"),
                revision=current,
            ) from exc
    if current is None:
        tables = set(inspect(engine).get_table_names())
        if tables - {"alembic_version"}:
            raise StorageError(N_("数据库中已有未知的数据表，不是 ECMO Ward 数据库"))
    backup: Path | None = None
    if current is not None and sqlite_path(str(engine.url)) is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = sqlite_backup(engine, backup_dir() / f"before-upgrade-{current}-to-{head}-{stamp}.sqlite3")
        log.info("backed up database to %s before upgrading", backup)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return MigrationResult(current, head, backup)
