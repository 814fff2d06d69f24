"""Portable, verifiable backups (REL-9): a zip with every table as JSON lines plus a manifest.

The same format serves SQLite and PostgreSQL (a ward can move from one PC to a shared server by
backup + restore). The dump is read inside one snapshot transaction, so a backup taken while
other PCs write is consistent; the manifest carries per-table row counts and content hashes and
the audit-chain head, so a restore can prove it is the same data.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, text

from ecmo_desktop import __version__
from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.i18n import N_
from ecmo_desktop.storage.engine import write_intent
from ecmo_desktop.storage.migrate import current_revision, head_revision
from ecmo_desktop.storage.orm import Base

FORMAT = "ecmo-ward-backup/1"
BATCH = 1000


def _encode(value: Any) -> Any:
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
        (key, inner), = value.items()
        if key == "$dt":
            return datetime.fromisoformat(inner)
        if key == "$d":
            return date.fromisoformat(inner)
        if key == "$b":
            return base64.b64decode(inner)
    return value


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _rows(conn: Any, table: Table) -> Iterator[dict[str, Any]]:
    pk = list(table.primary_key.columns)
    offset = 0
    while True:
        batch = conn.execute(select(table).order_by(*pk).limit(BATCH).offset(offset)).mappings().all()
        if not batch:
            return
        for row in batch:
            yield dict(row)
        offset += len(batch)


def _line(row: dict[str, Any]) -> str:
    return json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str)


def table_digests(engine: Engine) -> dict[str, dict[str, Any]]:
    """Row count and SHA-256 of the canonical rows of every table (compare source and restore)."""
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for table in _tables():
            h = hashlib.sha256()
            n = 0
            for row in _rows(conn, table):
                h.update(_line(row).encode("utf-8") + b"\n")
                n += 1
            out[table.name] = {"rows": n, "sha256": h.hexdigest()}
    return out


def _audit_head(conn: Any) -> str | None:
    return conn.execute(text("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1")).scalar()


def make_backup(engine: Engine, out: Path) -> dict[str, Any]:
    """Write the backup zip to ``out`` (atomically: a temp file renamed at the end)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    manifest: dict[str, Any] = {"format": FORMAT, "app_version": __version__, "backend": engine.dialect.name,
                                "schema_revision": current_revision(engine),
                                "created_at": datetime.now(UTC).isoformat(), "tables": {}}
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            else:
                conn.execute(text("SELECT 1"))  # opens the read snapshot (BEGIN) for every table below
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for table in _tables():
                    h = hashlib.sha256()
                    n = 0
                    with zf.open(f"tables/{table.name}.jsonl", "w") as fh:
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
                zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(N_("无法写入备份文件 {path}：{detail}"), path=str(out), detail=exc.strerror or str(exc)) from exc
    return manifest


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json").decode("utf-8"))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise StorageError(N_("{path} 不是有效的 ECMO Ward 备份文件"), path=str(path)) from exc
    if manifest.get("format") != FORMAT:
        raise StorageError(N_("{path} 不是有效的 ECMO Ward 备份文件"), path=str(path))
    return manifest


def restore_backup(engine: Engine, path: Path) -> dict[str, Any]:
    """Load a backup into an empty database at the same schema revision, verifying every table."""
    manifest = read_manifest(path)
    if manifest.get("schema_revision") != head_revision():
        raise StorageError(N_("备份的数据库版本（{rev}）与当前程序（{head}）不同，请用对应版本的程序恢复后再升级"),
                           rev=manifest.get("schema_revision"), head=head_revision())
    with engine.connect() as conn:
        for table in _tables():
            if conn.execute(select(func.count()).select_from(table)).scalar():
                raise StorageError(N_("目标数据库不是空的（表 {table} 已有数据），为防止覆盖，已停止恢复"), table=table.name)
    with zipfile.ZipFile(path) as zf, write_intent(), engine.begin() as conn:
        for table in _tables():
            expected = manifest["tables"].get(table.name, {"rows": 0, "sha256": hashlib.sha256().hexdigest()})
            h = hashlib.sha256()
            n = 0
            batch: list[dict[str, Any]] = []
            name = f"tables/{table.name}.jsonl"
            lines = zf.read(name).decode("utf-8").splitlines() if name in zf.namelist() else []
            for line in lines:
                h.update(line.encode("utf-8") + b"\n")
                n += 1
                batch.append({k: _decode(v) for k, v in json.loads(line).items()})
                if len(batch) >= BATCH:
                    conn.execute(insert(table), batch)
                    batch.clear()
            if batch:
                conn.execute(insert(table), batch)
            if n != expected["rows"] or h.hexdigest() != expected["sha256"]:
                raise StorageError(N_("备份文件中的表 {table} 已损坏（校验不一致），恢复已取消"), table=table.name)
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn)
    return manifest


def _reset_sequences(conn: Any) -> None:
    """Explicit ids were inserted: move each serial sequence past the highest id."""
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and len(table.primary_key.columns) == 1
                                                and column.type.python_type is int):
                seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                   {"t": table.name, "c": column.name}).scalar()
                if seq:
                    conn.execute(text(f"SELECT setval('{seq}', COALESCE((SELECT MAX({column.name}) FROM "
                                      f"{table.name}), 0) + 1, false)"))


class SqlBackup:
    """The backup port (services/ports.py) over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def make_backup(self, out: Path) -> dict[str, Any]:
        return make_backup(self.engine, out)

    def restore(self, path: Path) -> dict[str, Any]:
        return restore_backup(self.engine, path)

    def table_digests(self) -> dict[str, dict[str, Any]]:
        return table_digests(self.engine)
