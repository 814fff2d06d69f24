"""Migrations: empty → head on both backends, down and up again, and the models match the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.storage.engine import create_db_engine
from ecmo_desktop.storage.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from ecmo_desktop.storage.orm import Base


def test_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_head_schema_matches_models(db_url: str) -> None:
    """A model change without its migration fails here (and a migration the models lack, too)."""
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            diffs = [d for d in compare_metadata(ctx, Base.metadata)]
        assert diffs == []
        assert current_revision(engine) == head_revision()
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        result = upgrade_to_head(engine)
        assert result.from_revision is None and result.to_revision == head_revision()
    finally:
        engine.dispose()


def test_newer_schema_is_refused(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
        with pytest.raises(StorageError) as info:
            upgrade_to_head(engine)
        assert "更新版本" in info.value.user_message()
    finally:
        engine.dispose()


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
        with pytest.raises(StorageError):
            upgrade_to_head(engine)
    finally:
        engine.dispose()
