"""The PostgreSQL role set-up of docs/threat-model.md, applied as written and checked claim by claim:
the app's role runs the app and appends to the trail, but cannot UPDATE, DELETE or TRUNCATE it,
nor switch its trigger off — and (the documented limit) can still INSERT a row.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.kit.db import PASSWORD, copy_of, pg_admin_url, pg_drop, pg_exec

DOC = Path(__file__).resolve().parents[2] / "docs" / "threat-model.md"


def _documented_sql() -> list[str]:
    block = re.search(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block is not None
    return [s.strip() for s in block.group(1).split(";") if s.strip()]


@pytest.fixture
def app_role_url(pg_template: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(owner URL, app-role URL) of a fresh migrated database with the documented grants."""
    role = f"ecmo_app_{uuid.uuid4().hex[:8]}"
    with copy_of(pg_template, tmp_path, prefix="ecmo_roles") as owner:
        db = make_url(owner).database
        statements = [
            s.replace("ecmo_app", role)
            .replace("DATABASE ecmo ", f"DATABASE {db} ")
            .replace("'…'", "'pw-roles-1'")
            for s in _documented_sql()
        ]
        pg_exec(owner, *statements)
        app = make_url(owner).set(username=role, password="pw-roles-1").render_as_string(hide_password=False)
        try:
            yield owner, app
        finally:
            pg_drop(str(db))  # the role owns objects in it: the database goes first, then the role
            admin = pg_admin_url()
            assert admin is not None
            pg_exec(admin, f"DROP ROLE IF EXISTS {role}")


def test_the_app_role_appends_but_cannot_rewrite_the_trail(app_role_url: tuple[str, str]) -> None:
    from ecmo_desktop.container import build_container

    _owner, app = app_role_url
    c = build_container(app, workstation="ward-pc")  # the whole app runs as the app role
    try:
        c.auth.first_run_setup(
            hospital_name="角色医院",
            hospital_code="R1",
            city="市",
            admin_username="admin",
            admin_full_name="管理员",
            admin_password=PASSWORD,
            admin_password_repeat=PASSWORD,
        )
        c.auth.login("admin", PASSWORD)
        assert c.audit.verify_record().ok
    finally:
        c.close()
    engine = create_engine(app)
    try:
        for sql in (
            "UPDATE audit_event SET actor_name = 'x'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
            "ALTER TABLE audit_event DISABLE TRIGGER ALL",
            "SET session_replication_role = replica",
            "DROP TRIGGER audit_event_append_only ON audit_event",
        ):
            with (
                pytest.raises(DBAPIError, match=r"(?i)permission denied|must be owner"),
                engine.begin() as conn,
            ):
                conn.execute(text(sql))
        with engine.begin() as conn:  # the documented limit: INSERT is the app's right, a forger's too
            conn.execute(
                text(
                    "INSERT INTO audit_event (seq, occurred_at, actor_name, workstation, action, entity, "
                    "success, prev_hash, hash) SELECT max(seq) + 1, now(), 'x', 'x', 'login', 'staff', "
                    "true, 'p', 'h' FROM audit_event"
                )
            )
    finally:
        engine.dispose()
