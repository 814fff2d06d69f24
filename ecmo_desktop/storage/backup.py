"""Portable, verifiable backups (REL-9): a sealed zip with the data plus a signed manifest.

Every backup restores on SQLite and on PostgreSQL (a ward can move from one PC to a shared server
by backup + restore). What the zip carries depends on where it was made:

* from SQLite: the database file itself (``database.sqlite3``), a consistent copy taken through
  SQLite's online backup API, with its SHA-256 and per-table row counts in the manifest. Encoding
  every row as portable JSON made a 1 GB backup take ~90 s; the file copy is a few seconds. A
  restore into SQLite copies it back page by page; a restore into PostgreSQL reads the rows out of
  it and loads them like the row format below (both sides' canonical rows compared before commit);
* from PostgreSQL (and with ``portable=True``): every table as canonical JSON lines, read inside
  one snapshot transaction, with per-table row counts and content hashes in the manifest.

Either way the manifest carries the audit-chain head, so a restore can prove it is the same data.

Hashes alone prove nothing against someone who edits a backup and recomputes them, so the
manifest is signed with an HMAC whose key is kept **outside the database and outside the backup**
(one key per installation, in the data folder; an administrator can export it for disaster
recovery and import it on the PC that restores). A backup whose bytes are damaged, or whose
signature does not match, is refused with a message before anything is written.

Restores never leave a half-written database: every row is loaded inside one transaction,
foreign keys that point forwards (``hospital.ecmo_lead_id`` → ``staff``, self references) are
filled in after all tables are loaded, and the loaded tables are read back and compared with the
manifest before the transaction commits. SQLite restores go into a new file that is swapped in
atomically only after it verified (:func:`sqlite_staging`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    Table,
    TypeDecorator,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from ecmo_desktop import __version__
from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.fileio import PRIVATE_FILE, atomic_write, atomic_write_text
from ecmo_desktop.i18n import N_
from ecmo_desktop.paths import backup_dir, data_dir
from ecmo_desktop.storage.engine import create_db_engine, sqlite_path, sqlite_url_for, write_intent
from ecmo_desktop.storage.migrate import copy_sqlite_file, current_revision, head_revision
from ecmo_desktop.storage.orm import Base
from ecmo_desktop.storage.orm.audit import AuditRow

FORMAT = "ecmo-ward-backup/3"
# /2 (rows only) is still read; /1 had no seal and is refused
_READABLE = (FORMAT, "ecmo-ward-backup/2")
DATABASE_MEMBER = "database.sqlite3"
KEY_FORMAT = "ecmo-ward-backup-key/1"
BATCH = 1000
_DAMAGED = N_("备份文件 {path} 已损坏，无法读取（{detail}）。请使用另一份备份")
# what zipfile/zlib/json raise on damaged bytes: every one becomes the message above
_READ_ERRORS = (
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    KeyError,
    ValueError,
    UnicodeDecodeError,
    NotImplementedError,
    RuntimeError,
    TypeError,
)


_PLAIN = frozenset({str, int, float, bool, type(None), dict, list})


def _encode(value: Any) -> Any:
    if type(value) in _PLAIN:  # the common case, checked once (this runs for every cell of a backup)
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return {"$dt": value.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key == "$dt":
            return datetime.fromisoformat(inner)
        if key == "$d":
            return date.fromisoformat(inner)
        if key == "$b":
            return base64.b64decode(inner)
    return value


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _forward_columns() -> dict[str, list[str]]:
    """Per table, the foreign-key columns that point at a table loaded later (or at itself).

    They are inserted as NULL and set once every table is in, so cycles such as
    ``hospital.ecmo_lead_id`` → ``staff`` restore on every backend without deferrable constraints.
    """
    order = {t.name: i for i, t in enumerate(_tables())}
    out: dict[str, list[str]] = {}
    for table in _tables():
        cols = sorted(
            {fk.parent.name for fk in table.foreign_keys if order[fk.column.table.name] >= order[table.name]}
        )
        if cols:
            out[table.name] = cols
    return out


def _rows(conn: Any, table: Table) -> Iterator[dict[str, Any]]:
    """All rows in primary-key order, streamed (constant memory, no OFFSET paging).

    On SQLite the rows come straight from the driver's cursor on the same connection (same
    snapshot) with only the columns' own result processors applied (:func:`_sqlite_rows`): the
    values, and so the canonical lines and hashes, are the ones SQLAlchemy's result would give.
    """
    pk = list(table.primary_key.columns)
    stmt = select(table).order_by(*pk)
    if conn.dialect.name == "sqlite":
        yield from _sqlite_rows(conn, table, stmt)
        return
    result = conn.execution_options(yield_per=BATCH).execute(stmt)
    for row in result.mappings():
        yield dict(row)


def _tag_datetime(processor: Any) -> Any:
    """SQLite text → the ``{"$dt": …}`` tag of ``_encode`` in one step (the encoder then needs no
    callback). The two shapes SQLAlchemy writes (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC) are
    parsed by ``fromisoformat``; anything else goes through SQLAlchemy's own processor."""
    fromiso = datetime.fromisoformat

    def tag(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is str and len(value) in (19, 26) and value[10] == " ":
            parsed = fromiso(value)
            if parsed.tzinfo is None:
                return {"$dt": parsed.isoformat() + "+00:00"}
        return _encode(processor(value) if processor is not None else value)

    return tag


def _tag_date(processor: Any) -> Any:
    def tag(value: Any) -> Any:
        value = processor(value) if processor is not None else value
        return None if value is None else _encode(value)

    return tag


def _sqlite_rows(conn: Any, table: Table, stmt: Any) -> Iterator[dict[str, Any]]:
    dialect = conn.dialect
    names = [c.name for c in table.columns]
    procs: list[tuple[int, Any]] = []
    for i, column in enumerate(table.columns):
        impl = column.type.dialect_impl(dialect)
        processor = impl.result_processor(dialect, None)
        kind = _kind(column)
        if isinstance(kind, DateTime):
            procs.append((i, _tag_datetime(processor)))
        elif isinstance(kind, Date):
            procs.append((i, _tag_date(processor)))
        elif processor is not None:
            procs.append((i, processor))
    cursor = conn.connection.dbapi_connection.cursor()  # the connection's own transaction (snapshot)
    try:
        cursor.execute(str(stmt.compile(dialect=dialect)))
        while True:
            batch = cursor.fetchmany(BATCH)
            if not batch:
                break
            for raw in batch:
                row = list(raw)
                for i, proc in procs:
                    row[i] = proc(row[i])
                yield dict(zip(names, row, strict=True))
    finally:
        cursor.close()


def _default(value: Any) -> Any:
    """``json``'s hook for what it cannot encode itself: the same tags as ``_encode``, else ``str``."""
    encoded = _encode(value)
    return str(encoded) if encoded is value else encoded


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_default)


def _line(row: dict[str, Any]) -> str:
    """One canonical line; the C encoder calls back only for datetimes, dates and bytes (fast)."""
    return _ENCODER.encode(row)


def _digest(conn: Any, table: Table) -> dict[str, Any]:
    h = hashlib.sha256()
    n = 0
    for row in _rows(conn, table):
        h.update(_line(row).encode("utf-8") + b"\n")
        n += 1
    return {"rows": n, "sha256": h.hexdigest()}


def table_digests(engine: Engine) -> dict[str, dict[str, Any]]:
    """Row count and SHA-256 of the canonical rows of every table (compare source and restore)."""
    with engine.connect() as conn:
        return {table.name: _digest(conn, table) for table in _tables()}


def _audit_head(conn: Connection) -> str | None:
    return conn.scalar(select(AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- the signing key, kept outside the database ------------------------------------------------------
class BackupKeys:
    """Per-installation HMAC keys in ``<data folder>/backup-keys`` (never in the database or a backup).

    ``current.key`` signs new backups; keys imported from other PCs (disaster recovery, moving a
    ward to a server) sit beside it as ``<key id>.key`` and are used to check their backups.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else data_dir() / "backup-keys"

    @staticmethod
    def key_id(key: bytes) -> str:
        return hashlib.sha256(b"ecmo-ward-backup-key-id" + key).hexdigest()[:16]

    def _write(self, path: Path, key: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            path,
            json.dumps({"format": KEY_FORMAT, "key_id": self.key_id(key), "key": key.hex()}),
            mode=PRIVATE_FILE,
        )

    @staticmethod
    def _load(path: Path) -> bytes:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != KEY_FORMAT:
                raise ValueError("format")
            key = bytes.fromhex(data["key"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StorageError(N_("{path} 不是有效的备份密钥文件"), path=str(path)) from exc
        if len(key) < 32:
            raise StorageError(N_("{path} 不是有效的备份密钥文件"), path=str(path))
        return key

    def current(self) -> tuple[str, bytes]:
        """The key that signs new backups (created on first use)."""
        path = self.folder / "current.key"
        if not path.exists():
            self._write(path, secrets.token_bytes(32))
        key = self._load(path)
        return self.key_id(key), key

    def find(self, key_id: str) -> bytes | None:
        if not re.fullmatch(r"[0-9a-f]{16}", str(key_id)):  # it comes from the file: never a path
            return None
        candidates = [self.folder / "current.key", self.folder / f"{key_id}.key"]
        for path in candidates:
            if path.exists():
                key = self._load(path)
                if hmac.compare_digest(self.key_id(key), str(key_id)):
                    return key
        return None

    def export(self, out: Path) -> str:
        """Copy the current key to ``out`` for disaster recovery; keep it apart from the backups."""
        key_id, key = self.current()
        if out.exists():
            raise StorageError(N_("文件已存在：{path}"), path=str(out))
        if not out.parent.is_dir():
            raise StorageError(N_("文件夹不存在：{path}"), path=str(out.parent))
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"format": KEY_FORMAT, "key_id": key_id, "key": key.hex()}, fh)
        return key_id

    def import_(self, source: Path) -> str:
        """Accept a key exported on another PC, so that PC's backups can be checked and restored here."""
        key = self._load(source)
        key_id = self.key_id(key)
        if self.find(key_id) is None:
            self._write(self.folder / f"{key_id}.key", key)
        return key_id


def _sign(key: bytes, manifest_bytes: bytes) -> str:
    return hmac.new(key, b"ecmo-ward-backup-manifest\n" + manifest_bytes, hashlib.sha256).hexdigest()


# The zip comment (the file's last bytes) is ``SEAL_MARK + key id + ":" + HMAC`` over every byte
# before the HMAC: one flipped bit anywhere in the file, zip metadata included, is detected.
SEAL_MARK = b"ECMO-WARD-SEAL/1:"
_SEAL_LEN = 64


def _file_hmac(key: bytes, path: Path, length: int) -> str:
    mac = hmac.new(key, b"ecmo-ward-backup-file\n", hashlib.sha256)
    with open(path, "rb") as fh:
        left = length
        while left > 0:
            chunk = fh.read(min(1 << 20, left))
            if not chunk:
                break
            mac.update(chunk)
            left -= len(chunk)
    return mac.hexdigest()


def _seal(path: Path, key: bytes) -> None:
    size = path.stat().st_size
    digest = _file_hmac(key, path, size - _SEAL_LEN)
    with open(path, "rb+") as fh:
        fh.seek(size - _SEAL_LEN)
        fh.write(digest.encode("ascii"))
        fh.flush()
        os.fsync(fh.fileno())


def _check_seal(path: Path, keys: BackupKeys) -> None:
    size = path.stat().st_size
    tail_len = len(SEAL_MARK) + 16 + 1 + _SEAL_LEN
    if size < tail_len:
        raise StorageError(N_("{path} 不是有效的 ECMO Ward 备份文件"), path=str(path))
    with open(path, "rb") as fh:
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
    if not tail.startswith(SEAL_MARK):
        if b"ECMO-WARD-SEAL" not in tail:
            raise StorageError(
                N_("{path} 没有签名（不是本版本制作的备份，或文件末尾已损坏），无法证明未被改动，已拒绝恢复"),
                path=str(path),
            )
        raise StorageError(
            N_("备份 {path} 的签名不符：文件已损坏，或在制作后被改动，已拒绝恢复"), path=str(path)
        )
    key_id = tail[len(SEAL_MARK) : len(SEAL_MARK) + 16].decode("ascii", "replace")
    key = keys.find(key_id)
    if key is None:
        raise StorageError(
            N_(
                "备份 {path} 由另一台电脑签名（密钥 {key_id}），本机没有该密钥。请在原电脑上导出备份密钥，"
                "再用 backup-key import 导入后恢复"
            ),
            path=str(path),
            key_id=key_id,
        )
    expected = _file_hmac(key, path, size - _SEAL_LEN)
    if not hmac.compare_digest(expected.encode("ascii"), tail[-_SEAL_LEN:]):
        raise StorageError(
            N_("备份 {path} 的签名不符：文件已损坏，或在制作后被改动，已拒绝恢复"), path=str(path)
        )


# ---- backup -------------------------------------------------------------------------------------------
def make_backup(
    engine: Engine, out: Path, keys: BackupKeys | None = None, *, portable: bool = False
) -> dict[str, Any]:
    """Write the backup zip to ``out`` (atomically: a temp file renamed at the end).

    An SQLite database file is backed up as a copy of the file (fast); ``portable`` (and any
    PostgreSQL database) writes every table as canonical JSON lines instead. Both restore on both
    backends. Returns the manifest plus ``file_sha256``, the hash of the finished file (not stored
    in it: the caller records it in the audit trail).
    """
    keys = keys or BackupKeys()
    key_id, key = keys.current()
    if not out.parent.is_dir():
        raise StorageError(N_("文件夹不存在：{path}"), path=str(out.parent))
    source = sqlite_path(str(engine.url)) if engine.dialect.name == "sqlite" and not portable else None
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "app_version": __version__,
        "backend": engine.dialect.name,
        "content": "sqlite" if source is not None else "rows",
        "schema_revision": current_revision(engine),
        "created_at": datetime.now(UTC).isoformat(),
        "key_id": key_id,
        "tables": {},
    }

    def finish(zf: zipfile.ZipFile) -> None:
        body = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
        zf.writestr("manifest.json", body)
        zf.writestr("manifest.hmac", _sign(key, body))
        zf.comment = SEAL_MARK + key_id.encode("ascii") + b":" + b"0" * _SEAL_LEN

    def write_rows(tmp: Path) -> None:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            else:
                conn.execute(text("SELECT 1"))  # opens the read snapshot (BEGIN) for every table below
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
                for table in _tables():
                    h = hashlib.sha256()
                    n = 0
                    with zf.open(f"tables/{table.name}.jsonl", "w", force_zip64=True) as fh:
                        writer = io.TextIOWrapper(fh, encoding="utf-8", newline="\n")
                        for row in _rows(conn, table):
                            line = _line(row)
                            writer.write(line + "\n")
                            h.update(line.encode("utf-8") + b"\n")
                            n += 1
                        writer.flush()
                        writer.detach()
                    manifest["tables"][table.name] = {"rows": n, "sha256": h.hexdigest()}
                manifest["audit_head"] = _audit_head(conn)
                finish(zf)
        _seal(tmp, key)

    def write_file(tmp: Path) -> None:
        assert source is not None
        snapshot = _scratch(out)
        try:
            _snapshot(source, snapshot)
            conn = sqlite3.connect(str(snapshot))
            try:
                conn.execute("PRAGMA journal_mode = DELETE")  # the copy stands alone (no WAL beside it)
                manifest["schema_revision"] = conn.execute(
                    "SELECT version_num FROM alembic_version"
                ).fetchone()[0]
                for table in _tables():
                    manifest["tables"][table.name] = {
                        "rows": conn.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]
                    }
                head = conn.execute("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
                manifest["audit_head"] = head[0] if head else None
            finally:
                conn.close()
            h = hashlib.sha256()
            size = 0
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
                with open(snapshot, "rb") as src, zf.open(DATABASE_MEMBER, "w", force_zip64=True) as dst:
                    for chunk in iter(lambda: src.read(1 << 20), b""):  # one pass: hashed as it is packed
                        h.update(chunk)
                        size += len(chunk)
                        dst.write(chunk)
                manifest["database"] = {"bytes": size, "sha256": h.hexdigest()}
                finish(zf)
        except sqlite3.Error as exc:
            raise StorageError(
                N_("无法读取数据库 {path}：{detail}"), path=str(source), detail=str(exc)
            ) from exc
        finally:
            _remove_sqlite(snapshot)
        _seal(tmp, key)

    try:
        atomic_write(out, write_file if source is not None else write_rows)
    except OSError as exc:
        raise StorageError(
            N_("无法写入备份文件 {path}：{detail}"), path=str(out), detail=exc.strerror or str(exc)
        ) from exc
    return {**manifest, "file_sha256": file_sha256(out)}


def _snapshot(source: Path, target: Path) -> None:
    """One consistent copy of the live file through the backup API, the source opened read-only.
    The copy is scratch (packed into the zip, which is fsynced, then deleted): it is not synced."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(str(target))
        try:
            dst.execute("PRAGMA synchronous = OFF")
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _scratch(beside: Path) -> Path:
    """A new private file name next to ``beside`` (same disk: a 1 GB copy must not fill /tmp)."""
    return beside.with_name(f".{beside.name}.{secrets.token_hex(6)}.tmp.sqlite3")


# ---- reading and checking a backup --------------------------------------------------------------------
def _check_regular(path: Path) -> None:
    if not path.exists():
        raise StorageError(N_("备份文件不存在：{path}"), path=str(path))
    if not path.is_file():
        raise StorageError(N_("{path} 不是普通文件，不能作为备份文件"), path=str(path))


def read_manifest(path: Path, keys: BackupKeys | None = None) -> dict[str, Any]:
    """The manifest, after checking the file's and the manifest's signatures against a key kept
    on this installation."""
    _check_regular(path)
    keys = keys or BackupKeys()
    try:
        _check_seal(path, keys)
    except OSError as exc:
        raise StorageError(_DAMAGED, path=str(path), detail=exc.strerror or str(exc)) from exc
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "manifest.json" not in names:
                raise StorageError(N_("{path} 不是有效的 ECMO Ward 备份文件"), path=str(path))
            body = zf.read("manifest.json")
            signature = zf.read("manifest.hmac").decode("ascii").strip() if "manifest.hmac" in names else None
            manifest = json.loads(body.decode("utf-8"))
    except StorageError:
        raise
    except zipfile.BadZipFile as exc:
        if not zipfile.is_zipfile(path):
            raise StorageError(N_("{path} 不是有效的 ECMO Ward 备份文件"), path=str(path)) from exc
        raise StorageError(_DAMAGED, path=str(path), detail=str(exc)) from exc
    except _READ_ERRORS as exc:
        raise StorageError(_DAMAGED, path=str(path), detail=str(exc)) from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in (*_READABLE, "ecmo-ward-backup/1"):
        raise StorageError(N_("{path} 不是有效的 ECMO Ward 备份文件"), path=str(path))
    if manifest.get("format") not in _READABLE or signature is None:
        raise StorageError(
            N_("{path} 没有签名（不是本版本制作的备份，或文件末尾已损坏），无法证明未被改动，已拒绝恢复"),
            path=str(path),
        )
    key = keys.find(str(manifest.get("key_id")))
    if key is None:
        raise StorageError(
            N_(
                "备份 {path} 由另一台电脑签名（密钥 {key_id}），本机没有该密钥。请在原电脑上导出备份密钥，"
                "再用 backup-key import 导入后恢复"
            ),
            path=str(path),
            key_id=manifest.get("key_id"),
        )
    if not hmac.compare_digest(_sign(key, body), signature):
        raise StorageError(
            N_("备份 {path} 的签名不符：文件已损坏，或在制作后被改动，已拒绝恢复"), path=str(path)
        )
    if not isinstance(manifest.get("tables"), dict) or (
        _is_file(manifest) and not isinstance(manifest.get("database"), dict)
    ):
        raise StorageError(_DAMAGED, path=str(path), detail="manifest")
    return manifest


def _is_file(manifest: dict[str, Any]) -> bool:
    """A backup that carries the SQLite file (format /3 from SQLite) rather than JSON lines."""
    return manifest.get("content") == "sqlite"


def _database_member(zf: zipfile.ZipFile, manifest: dict[str, Any], sink: Any = None) -> None:
    """Stream the database member, checking its size and SHA-256 against the signed manifest
    (``sink``, if given, receives the bytes: the restore's unpacked copy)."""
    h = hashlib.sha256()
    size = 0
    with zf.open(DATABASE_MEMBER) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
    expected = manifest["database"]
    if size != expected.get("bytes") or not hmac.compare_digest(h.hexdigest(), str(expected.get("sha256"))):
        raise StorageError(
            N_("备份文件中的表 {table} 已损坏（校验不一致），恢复已取消"), table=DATABASE_MEMBER
        )


def _table_lines(zf: zipfile.ZipFile, table: Table) -> Iterator[str]:
    name = f"tables/{table.name}.jsonl"
    if name not in zf.namelist():
        return
    with zf.open(name) as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8", newline="\n"):
            yield line.rstrip("\n")


def backup_accounts(
    path: Path, keys: BackupKeys | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``staff`` and ``staff_role`` rows inside a backup of either format, checked against the
    signed manifest: who may restore it onto a new, empty database (an administrator inside it)."""
    manifest = read_manifest(path, keys)
    tables = {t.name: t for t in _tables()}
    with zipfile.ZipFile(path) as zf:
        if not _is_file(manifest):
            return list(_zip_rows(zf, manifest, tables["staff"])), list(
                _zip_rows(zf, manifest, tables["staff_role"])
            )
        folder = Path(tempfile.mkdtemp(prefix="ecmo-accounts-"))
        try:
            unpacked = folder / "backup.sqlite3"
            with open(unpacked, "wb") as sink:
                _database_member(zf, manifest, sink)
            conn = sqlite3.connect(f"{unpacked.resolve().as_uri()}?mode=ro", uri=True)
            conn.row_factory = sqlite3.Row
            try:
                staff = [dict(r) for r in conn.execute("SELECT * FROM staff")]
                roles = [dict(r) for r in conn.execute("SELECT * FROM staff_role")]
            finally:
                conn.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return staff, roles


def _expected(manifest: dict[str, Any], table: Table) -> dict[str, Any]:
    tables: dict[str, dict[str, Any]] = manifest["tables"]
    return tables.get(table.name, {"rows": 0, "sha256": hashlib.sha256().hexdigest()})


def verify_backup(path: Path, keys: BackupKeys | None = None) -> dict[str, Any]:
    """Check a backup completely (signature, every table's rows and hash) without a database."""
    manifest = read_manifest(path, keys)
    try:
        with zipfile.ZipFile(path) as zf:
            if _is_file(manifest):
                _database_member(zf, manifest)
                return manifest
            for table in _tables():
                h = hashlib.sha256()
                n = 0
                for line in _table_lines(zf, table):
                    h.update(line.encode("utf-8") + b"\n")
                    n += 1
                expected = _expected(manifest, table)
                if n != expected.get("rows") or h.hexdigest() != expected.get("sha256"):
                    raise StorageError(
                        N_("备份文件中的表 {table} 已损坏（校验不一致），恢复已取消"), table=table.name
                    )
    except StorageError:
        raise
    except _READ_ERRORS as exc:
        raise StorageError(_DAMAGED, path=str(path), detail=str(exc)) from exc
    return manifest


# ---- restore ------------------------------------------------------------------------------------------
def restore_backup(
    engine: Engine, path: Path, keys: BackupKeys | None = None, *, replace: bool = False
) -> dict[str, Any]:
    """Load a verified backup in one transaction; the tables are read back and compared before commit.

    ``replace`` (PostgreSQL) empties the existing tables inside the same transaction, so a failure
    at any point leaves the database exactly as it was. Without it the database must be empty.
    """
    manifest = read_manifest(path, keys)
    if not _is_file(manifest):  # JSON lines: every table checked before any is loaded
        manifest = verify_backup(path, keys)
    # (the SQLite file is checked against the signed manifest while it is unpacked, before any use)
    if manifest.get("schema_revision") != head_revision():
        raise StorageError(
            N_("备份的数据库版本（{rev}）与当前程序（{head}）不同，请用对应版本的程序恢复后再升级"),
            rev=manifest.get("schema_revision"),
            head=head_revision(),
        )
    postgres = engine.dialect.name == "postgresql"
    if replace and not postgres:
        raise StorageError(N_("SQLite 数据库请恢复到新文件后替换（restore 命令会这样做）"))
    if not replace:
        with engine.connect() as conn:
            for table in _tables():
                if conn.execute(select(func.count()).select_from(table)).scalar():
                    raise StorageError(
                        N_("目标数据库不是空的（表 {table} 已有数据），为防止覆盖，已停止恢复"),
                        table=table.name,
                    )
    try:
        if _is_file(manifest):
            _restore_file(engine, path, manifest, replace=replace)
            return manifest
        with zipfile.ZipFile(path) as zf, write_intent(), engine.begin() as conn:
            if replace:
                _empty_postgres(conn)
            _load(conn, lambda table: _zip_rows(zf, manifest, table))
            if postgres:
                _reset_sequences(conn)
            if replace:
                conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
            for table in _tables():  # read back what was written, before it is committed
                if _digest(conn, table) != {k: _expected(manifest, table)[k] for k in ("rows", "sha256")}:
                    raise StorageError(N_("恢复后的表 {table} 与备份不一致，恢复已取消"), table=table.name)
    except sqlite3.Error as exc:
        raise StorageError(
            N_("备份无法载入数据库（{detail}），恢复已取消，原数据库未改动"), detail=str(exc)[:300]
        ) from exc
    except StorageError:
        raise
    except SQLAlchemyError as exc:
        raise StorageError(
            N_("备份无法载入数据库（{detail}），恢复已取消，原数据库未改动"),
            detail=str(getattr(exc, "orig", exc)).splitlines()[0][:300],
        ) from exc
    except _READ_ERRORS as exc:
        raise StorageError(_DAMAGED, path=str(path), detail=str(exc)) from exc
    return manifest


def _empty_postgres(conn: Any) -> None:
    """Empty every table inside the restore transaction (the audit trigger is off only in it)."""
    conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    names = ", ".join(f'"{t.name}"' for t in _tables())
    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))


def _zip_rows(zf: zipfile.ZipFile, manifest: dict[str, Any], table: Table) -> Iterator[dict[str, Any]]:
    """A table's rows from its JSON lines; its count and hash are checked when it is exhausted."""
    expected = _expected(manifest, table)
    h = hashlib.sha256()
    n = 0
    for line in _table_lines(zf, table):
        h.update(line.encode("utf-8") + b"\n")
        n += 1
        yield {k: _decode(v) for k, v in json.loads(line).items()}
    if n != expected.get("rows") or h.hexdigest() != expected.get("sha256"):
        raise StorageError(N_("备份文件中的表 {table} 已损坏（校验不一致），恢复已取消"), table=table.name)


def _load(conn: Any, rows_of: Any) -> None:
    """Insert every table's rows (``rows_of(table)``) in foreign-key order, forward links last."""
    forward = _forward_columns()
    later: list[tuple[Table, dict[str, Any]]] = []
    for table in _tables():
        deferred = forward.get(table.name, [])
        pk = [c.name for c in table.primary_key.columns]
        batch: list[dict[str, Any]] = []
        for row in rows_of(table):
            if deferred:
                held = {c: row[c] for c in deferred if row.get(c) is not None}
                if held:
                    later.append((table, {**{f"k_{c}": row[c] for c in pk}, **held}))
                    row.update(dict.fromkeys(held))
            batch.append(row)
            if len(batch) >= BATCH:
                conn.execute(insert(table), batch)
                batch.clear()
        if batch:
            conn.execute(insert(table), batch)
    for table, values in later:
        pk = [c.name for c in table.primary_key.columns]
        where = [table.c[c] == bindparam(f"k_{c}") for c in pk]
        conn.execute(
            update(table).where(*where).values(**{c: v for c, v in values.items() if not c.startswith("k_")}),
            {k: v for k, v in values.items() if k.startswith("k_")},
        )


def _restore_file(engine: Engine, path: Path, manifest: dict[str, Any], *, replace: bool) -> None:
    """Restore a backup that carries the SQLite file.

    The file is unpacked next to the target (checked again against the signed manifest while it
    is written). Into SQLite it is copied page by page through the backup API (one step: the
    target changes all at once or not at all), then every table's row count and the audit head
    are checked against the manifest. Into PostgreSQL its rows are loaded in one transaction and
    every table's canonical rows are compared with the file's before commit.
    """
    target = sqlite_path(str(engine.url))
    unpacked = _scratch(target if target is not None else backup_dir() / "restore")
    unpacked.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(unpacked, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as sink, zipfile.ZipFile(path) as zf:
            _database_member(zf, manifest, sink)
        if engine.dialect.name == "sqlite":
            _copy_into_sqlite(engine, unpacked, manifest)
        else:
            _load_file_into(engine, unpacked, replace=replace)
    finally:
        _remove_sqlite(unpacked)


def _copy_into_sqlite(engine: Engine, unpacked: Path, manifest: dict[str, Any]) -> None:
    src = sqlite3.connect(f"{unpacked.resolve().as_uri()}?mode=ro", uri=True)
    try:
        with write_intent():
            raw = engine.raw_connection()
            try:
                target = raw.driver_connection
                assert isinstance(target, sqlite3.Connection)  # the pysqlite driver's (an SQLite engine)
                src.backup(target)
            finally:
                raw.close()
    finally:
        src.close()
    with engine.connect() as conn:
        for table in _tables():
            rows = conn.execute(select(func.count()).select_from(table)).scalar()
            if rows != _expected(manifest, table).get("rows"):
                raise StorageError(N_("恢复后的表 {table} 与备份不一致，恢复已取消"), table=table.name)
        if _audit_head(conn) != manifest.get("audit_head"):
            raise StorageError(N_("恢复后的表 {table} 与备份不一致，恢复已取消"), table="audit_event")


def _kind(column: Any) -> Any:
    return column.type.impl if isinstance(column.type, TypeDecorator) else column.type


def _values(conn: Any, table: Table) -> Iterator[dict[str, Any]]:
    """Rows as values to insert: ``_rows`` gives SQLite datetimes and dates already tagged for the
    canonical line; here they become ``datetime``/``date`` again."""
    tagged = [c.name for c in table.columns if isinstance(_kind(c), (DateTime, Date))]
    for row in _rows(conn, table):
        for name in tagged:
            row[name] = _decode(row[name])
        yield row


def _load_file_into(engine: Engine, unpacked: Path, *, replace: bool) -> None:
    source = create_db_engine(sqlite_url_for(unpacked))  # a private scratch copy
    try:
        with source.connect() as src, write_intent(), engine.begin() as conn:
            if replace:
                _empty_postgres(conn)
            _load(conn, lambda table: _values(src, table))
            _reset_sequences(conn)
            if replace:
                conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
            for table in _tables():  # the server's canonical rows must be the file's, before commit
                if _digest(conn, table) != _digest(src, table):
                    raise StorageError(N_("恢复后的表 {table} 与备份不一致，恢复已取消"), table=table.name)
    finally:
        source.dispose()


def _reset_sequences(conn: Any) -> None:
    """Explicit ids were inserted: move each serial sequence past the highest id."""
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto"
                and len(table.primary_key.columns) == 1
                and column.type.python_type is int
            ):
                seq = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
                ).scalar()
                if seq:
                    conn.execute(
                        text(
                            f"SELECT setval('{seq}', COALESCE((SELECT MAX({column.name}) FROM "
                            f"{table.name}), 0) + 1, false)"
                        )
                    )


# ---- SQLite: restore into a new file, then swap it in -------------------------------------------------
def staging_path(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return path.with_name(f".{path.name}.restoring-{stamp}")


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def discard_staging(staging: Path) -> None:
    _remove_sqlite(staging)


def swap_in_sqlite(staging: Path, path: Path) -> Path | None:
    """Check the restored file, keep a copy of the live one, then rename the new file over it.

    Until the final ``os.replace`` the live file is only read. Returns where the copy of the
    previous database was saved (``None`` when there was none).
    """
    conn = sqlite3.connect(str(staging))
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        conn.execute("PRAGMA journal_mode = DELETE")  # fold the WAL in: one self-contained file
    finally:
        conn.close()
    if rows != [("ok",)] or fk:
        raise StorageError(
            N_("恢复出的数据库未通过完整性检查（{detail}），原数据库未改动"),
            detail="; ".join(str(r[0]) for r in rows[:3]) if rows != [("ok",)] else "foreign keys",
        )
    saved: Path | None = None
    if path.exists() and path.stat().st_size > 0:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        saved = backup_dir() / f"before-restore-{stamp}.sqlite3"
        copy_sqlite_file(path, saved, read_only=True)
        live = sqlite3.connect(str(path))
        try:  # the old WAL must not outlive its database: fold it in, refuse if another program holds it
            busy = live.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            live.close()
        if busy and busy[0]:
            raise StorageError(
                N_("数据库 {path} 正被其他程序使用，请先关闭 ECMO Ward 再恢复"), path=str(path)
            )
    with open(staging, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(staging, path)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return saved


class SqlBackup:
    """The backup port (services/ports.py) over one engine."""

    def __init__(self, engine: Engine, keys: BackupKeys | None = None, *, portable: bool = False) -> None:
        self.engine = engine
        self.keys = keys or BackupKeys()
        self.portable = portable  # JSON lines even from SQLite (tests that edit rows in a backup)

    def make_backup(self, out: Path) -> dict[str, Any]:
        return make_backup(self.engine, out, self.keys, portable=self.portable)

    def restore(self, path: Path, *, replace: bool = False) -> dict[str, Any]:
        return restore_backup(self.engine, path, self.keys, replace=replace)

    def verify(self, path: Path) -> dict[str, Any]:
        return verify_backup(path, self.keys)

    def table_digests(self) -> dict[str, dict[str, Any]]:
        return table_digests(self.engine)

    def export_key(self, out: Path) -> str:
        return self.keys.export(out)

    def import_key(self, source: Path) -> str:
        return self.keys.import_(source)
