"""Turn driver exceptions into the project's errors, so no layer above sees SQLAlchemy."""

from __future__ import annotations

import re
import sqlite3

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc

from ecmo_desktop.domain.errors import (
    ConcurrencyConflict,
    EcmoError,
    IntegrityConflict,
    ServerUnreachable,
    StorageError,
    TransientConflict,
)
from ecmo_desktop.i18n import N_

_CONSTRAINT_PATTERNS = (
    re.compile(r'constraint "([^"]+)"'),  # PostgreSQL
    re.compile(r"UNIQUE constraint failed: ([\w., ]+)"),  # SQLite
)


def _constraint_name(message: str) -> str:
    for pattern in _CONSTRAINT_PATTERNS:
        m = pattern.search(message)
        if m:
            return m.group(1)
    return ""


def translate(exc: BaseException) -> EcmoError | None:
    """The project error for a database exception, or None when it is not one."""
    if isinstance(exc, EcmoError):
        return exc
    if isinstance(exc, orm_exc.StaleDataError):
        return ConcurrencyConflict()
    if isinstance(exc, sa_exc.IntegrityError):
        text = str(exc.orig)
        return IntegrityConflict(constraint=_constraint_name(text), detail=text)
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
        if sqlstate in ("40001", "40P01"):
            return TransientConflict()
        if sqlstate == "55P03":  # lock_timeout (engine.LOCK_TIMEOUT_MS)
            return StorageError(N_("数据库正忙：另一台电脑的保存长时间未完成。数据未保存，请稍后重试"))
        if sqlstate == "57014":  # statement_timeout
            return StorageError(N_("数据库服务器处理超时，数据未保存，请稍后重试"))
        server_side = not isinstance(orig, sqlite3.Error)
        if (
            exc.connection_invalidated
            or isinstance(exc, sa_exc.InterfaceError)
            or (sqlstate or "").startswith(("08", "57P"))
            or sqlstate == "25P03"  # this session idled too long in a transaction and was ended
            or (server_side and sqlstate is None and isinstance(exc, sa_exc.OperationalError))
        ):
            return ServerUnreachable()  # never the driver's English text (issue 11 §3)
        name = getattr(orig, "sqlite_errorname", "") if isinstance(orig, sqlite3.Error) else ""
        text = str(orig)
        if name == "SQLITE_FULL" or "disk is full" in text or "No space left" in text:
            return StorageError(N_("磁盘空间已满，数据未保存。之前已保存的数据不受影响，请释放空间后重试"))
        if name == "SQLITE_READONLY" or "readonly database" in text or "read-only" in text:
            return StorageError(N_("数据库为只读，无法保存。可以查看和打印，但不能修改"))
        if name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "database is locked" in text:
            return StorageError(N_("数据库正被其他程序占用，请稍后重试"))
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text:
            return StorageError(N_("数据库文件已损坏，请从备份恢复"))
        return StorageError(N_("数据库错误，数据未保存（{detail}）"), detail=text[:200])
    if isinstance(exc, sa_exc.SQLAlchemyError):
        return StorageError(N_("数据库错误，数据未保存（{detail}）"), detail=str(exc)[:200])
    return None
