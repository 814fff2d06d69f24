"""Build a benchmark's big database once and reuse it across runs (1M usages take minutes to seed).

The cache is keyed by the schema revision (Alembic head), a seed-format version and the seed
parameters, so a new migration or a changed seed builds afresh. SQLite: the cached file is copied
for each run (timed scans write to it). PostgreSQL: the cached database is a template on the same
server and each run gets ``CREATE DATABASE … TEMPLATE`` (a file copy on the server).

Cache folder: ``ECMO_BENCH_CACHE`` or ``<tmp>/ecmo-bench-cache``; ``--rebuild`` in the benchmarks
(``ECMO_BENCH_REBUILD=1``) throws it away.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from ecmo_desktop.storage.migrate import head_revision

SEED_FORMAT = 1
CACHE = Path(os.environ.get("ECMO_BENCH_CACHE") or Path(tempfile.gettempdir()) / "ecmo-bench-cache")

Builder = Callable[[str], dict[str, Any]]  # seeds the empty database at this URL, returns metadata


def cache_key(kind: str, **params: Any) -> str:
    text = json.dumps({"kind": kind, "rev": head_revision(), "format": SEED_FORMAT, **params}, sort_keys=True)
    return f"{kind}_{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _rebuild() -> bool:
    return os.environ.get("ECMO_BENCH_REBUILD") == "1"


@contextmanager
def cached_sqlite(key: str, build: Builder, work_dir: Path) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(url of a private copy, metadata, whether it came from the cache)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    db, meta_file = CACHE / f"{key}.sqlite3", CACHE / f"{key}.json"
    hit = db.exists() and meta_file.exists() and not _rebuild()
    if not hit:
        db.unlink(missing_ok=True)
        meta_file.unlink(missing_ok=True)
        building = CACHE / f"{key}.building.sqlite3"
        for leftover in CACHE.glob(f"{key}.building.sqlite3*"):
            leftover.unlink()
        meta = build(f"sqlite:///{building}")
        conn = sqlite3.connect(building)
        try:  # everything into the main file, then leave rollback-journal mode: no -wal/-shm beside it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
        building.rename(db)
        meta_file.write_text(json.dumps(meta))
    meta = json.loads(meta_file.read_text())
    folder = Path(tempfile.mkdtemp(prefix="ecmo-bench-db-", dir=work_dir))
    try:
        shutil.copyfile(db, folder / "bench.sqlite3")
        yield f"sqlite:///{folder / 'bench.sqlite3'}", meta, hit
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def cached_postgresql(key: str, build: Builder, base_url: str) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(url of a fresh copy of the cached template database, metadata, whether it was cached)."""
    admin = make_url(base_url).set(database="postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    template = f"ecmo_bcache_{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    try:
        with engine.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": template}
            ).first()
            if exists and _rebuild():
                conn.exec_driver_sql(f"DROP DATABASE {template} WITH (FORCE)")
                exists = None
            hit = exists is not None
            if not hit:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {template}_building WITH (FORCE)")
                conn.exec_driver_sql(f"CREATE DATABASE {template}_building")
        if not hit:
            url = admin.set(database=f"{template}_building").render_as_string(hide_password=False)
            meta = build(url)
            meta_engine = create_engine(url)
            with meta_engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE bench_meta (body text)")
                conn.exec_driver_sql("INSERT INTO bench_meta VALUES (%(b)s)", {"b": json.dumps(meta)})
            meta_engine.dispose()
            with engine.connect() as conn:
                conn.exec_driver_sql(f"ALTER DATABASE {template}_building RENAME TO {template}")
        name = f"ecmo_bench_{uuid.uuid4().hex[:10]}"
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
        url = admin.set(database=name).render_as_string(hide_password=False)
        try:
            read = create_engine(url)
            with read.connect() as conn:
                meta = json.loads(conn.exec_driver_sql("SELECT body FROM bench_meta").scalar_one())
            read.dispose()
            yield url, meta, hit
        finally:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        engine.dispose()
