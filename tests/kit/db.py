"""Databases for tests: migrated templates, fresh copies of them, and the seeded hospital.

Templates are built once per session and pytest-xdist worker (``tests/conftest.py`` owns those
fixtures); every test or test module then gets a copy: a file copy on SQLite, ``CREATE DATABASE …
TEMPLATE`` on PostgreSQL (a database per copy, so parallel workers never share one). The seed is one
hospital with an account per role, all with ``PASSWORD``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "Ward2026pass"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing: where the seeded hospital's clock starts
ALL_BACKENDS = [
    "sqlite",
    "postgresql",
]  # module-scoped kits always list both; PostgreSQL skips without a server
SEED_KEYS = ("admin", "doctor", "nurse", "perfusionist", "records", "expert2", "expert3", "attending")


def worker() -> str:
    """The pytest-xdist worker ("gw0", …) or "main": per-worker template names."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# ---- PostgreSQL --------------------------------------------------------------------------------------
def pg_admin_url() -> str | None:
    """The maintenance database of ``ECMO_TEST_PG_URL``'s server (None: no PostgreSQL configured)."""
    url = os.environ.get("ECMO_TEST_PG_URL")
    if not url:
        return None
    from sqlalchemy.engine import make_url

    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def pg_exec(admin_url: str, *statements: str) -> None:
    """Statements outside a transaction (CREATE/DROP DATABASE cannot run inside one)."""
    from sqlalchemy import create_engine

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def pg_url(database: str) -> str:
    """The URL of ``database`` on the test server."""
    from sqlalchemy.engine import make_url

    admin = pg_admin_url()
    assert admin is not None
    return make_url(admin).set(database=database).render_as_string(hide_password=False)


def pg_drop(*databases: str) -> None:
    admin = pg_admin_url()
    assert admin is not None
    pg_exec(admin, *(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in databases))


# ---- templates ---------------------------------------------------------------------------------------
def checkpoint(engine: Any) -> None:
    """Fold SQLite's WAL into the main file, so a plain file copy is the whole database."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def make_sqlite_template(path: Path) -> Path:
    """An SQLite file migrated by Alembic ``upgrade head`` (never ``create_all``)."""
    from ecmo_desktop.storage.engine import create_db_engine, sqlite_url_for
    from ecmo_desktop.storage.migrate import upgrade_to_head

    engine = create_db_engine(sqlite_url_for(path))
    upgrade_to_head(engine)
    checkpoint(engine)
    engine.dispose()
    return path


def make_pg_template(name: str) -> str:
    """A PostgreSQL database migrated by Alembic, to be copied with ``CREATE DATABASE … TEMPLATE``."""
    from ecmo_desktop.storage.engine import create_db_engine
    from ecmo_desktop.storage.migrate import upgrade_to_head

    admin = pg_admin_url()
    assert admin is not None
    pg_exec(admin, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    engine = create_db_engine(pg_url(name))
    upgrade_to_head(engine)
    engine.dispose()
    return name


def template_for(request: pytest.FixtureRequest, backend: str) -> Path | str:
    """The session's migrated template on ``backend`` (PostgreSQL skips, or fails under CI, without a
    server).
    """
    return request.getfixturevalue("sqlite_template" if backend == "sqlite" else "pg_template")


@contextmanager
def copy_of(
    template: Path | str, directory: Path, *, filename: str = "ecmo.sqlite3", prefix: str = "ecmo_t"
) -> Iterator[str]:
    """The URL of a fresh copy of ``template``: a file in ``directory`` (SQLite, a ``Path``) or a new
    database named ``prefix_<random>`` (PostgreSQL, a template database's name), dropped on exit."""
    if isinstance(template, Path):
        target = directory / filename
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    admin = pg_admin_url()
    assert admin is not None
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    pg_exec(admin, f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield pg_url(name)
    finally:
        pg_drop(name)


def fresh_db_url(
    request: pytest.FixtureRequest,
    backend: str,
    directory: Path,
    *,
    filename: str = "ecmo.sqlite3",
    prefix: str = "ecmo_t",
) -> str:
    """``copy_of`` the migrated template, kept until ``request``'s scope ends (for plain helper functions)."""
    copy = copy_of(template_for(request, backend), directory, filename=filename, prefix=prefix)
    url = copy.__enter__()
    request.addfinalizer(lambda: copy.__exit__(None, None, None))
    return url


# ---- the seeded hospital -----------------------------------------------------------------------------
@contextmanager
def fast_hashing() -> Iterator[None]:
    """OWASP's minimum argon2id (m=19 MiB, t=2, p=1) instead of the production profile, for speed.
    ``tests/conftest.py`` applies it to every test; module-scoped set-up runs before that, so it asks here."""
    from argon2 import PasswordHasher

    from ecmo_desktop.services import auth

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1))
        yield


def passwords_already_changed(c: Any) -> None:
    """Initial passwords must be changed at first login (C5, tested in test_auth); the test accounts
    start as if they had been."""
    from ecmo_desktop.storage.orm.people import StaffRow

    with c.uow() as uow:
        uow.session.query(StaffRow).update({StaffRow.must_change_password: False})
        uow.commit()


def seed(c: Any) -> dict[str, int]:
    """Set up the hospital: an administrator, three expert-group physicians (``doctor`` 张伟 among them)
    who joined at the clock's time with privileges granted a year earlier, an attending, a nurse, a
    perfusionist and a records clerk. Returns their staff ids by ``SEED_KEYS``; nobody stays logged in."""
    c.auth.first_run_setup(
        hospital_name="示范医院",
        hospital_code="H001",
        city="呼和浩特",
        admin_username="admin",
        admin_full_name="系统管理员",
        admin_password=PASSWORD,
        admin_password_repeat=PASSWORD,
    )
    c.auth.login("admin", PASSWORD)

    def mk(username: str, name: str, title: str, years: int, roles: list[str], trained: bool = True) -> int:
        s = c.staff.create_staff(
            username=username,
            full_name=name,
            title=title,
            years_in_practice=years,
            roles=roles,
            initial_password=PASSWORD,
            ecmo_trained=trained,
        )
        return s.id

    doctor = mk("zhangwei", "张伟", "associate_chief", 15, ["doctor"])
    e2 = mk("lina", "李娜", "chief", 25, ["doctor"])
    e3 = mk("wangfang", "王芳", "associate_chief", 10, ["doctor"])
    attending = mk("liuyang", "刘洋", "attending", 6, ["doctor"])
    nurse = mk("chenjing", "陈静", "nurse_senior", 8, ["nurse"])
    perf = mk("zhaolei", "赵磊", "technician", 9, ["perfusionist"])
    records = mk("sunli", "孙丽", "other", 5, ["records"])
    start = c.ctx.now()
    for sid in (doctor, e2, e3):
        c.staff.add_expert(sid)
    for sid in (doctor, e2, e3, attending):
        c.staff.grant_privilege(sid, granted_at=start - timedelta(days=365))
    c.ctx.user = None
    passwords_already_changed(c)
    return {
        "admin": 1,
        "doctor": doctor,
        "nurse": nurse,
        "perfusionist": perf,
        "records": records,
        "expert2": e2,
        "expert3": e3,
        "attending": attending,
    }


@dataclass
class Seeded:
    """A set-up hospital with one account per role (all with PASSWORD)."""

    container: object
    admin_id: int
    doctor_id: int  # 副主任医师, expert, privileged
    nurse_id: int
    perfusionist_id: int
    records_id: int
    experts: list[int]  # three qualified expert-group physicians (doctor_id among them)
    attending_id: int  # 主治医师, privileged, not expert

    @classmethod
    def of(cls, container: object, ids: dict[str, int]) -> Seeded:
        return cls(
            container,
            ids["admin"],
            ids["doctor"],
            ids["nurse"],
            ids["perfusionist"],
            ids["records"],
            [ids["doctor"], ids["expert2"], ids["expert3"]],
            ids["attending"],
        )

    @property
    def ids(self) -> dict[str, int]:
        """The staff ids by ``SEED_KEYS``, as ``seed`` returned them."""
        return {
            "admin": self.admin_id,
            "doctor": self.doctor_id,
            "nurse": self.nurse_id,
            "perfusionist": self.perfusionist_id,
            "records": self.records_id,
            "expert2": self.experts[1],
            "expert3": self.experts[2],
            "attending": self.attending_id,
        }

    def login(self, username: str) -> None:
        c = self.container
        if c.ctx.user is not None:  # type: ignore[attr-defined]
            c.ctx.user = None  # type: ignore[attr-defined]
        c.auth.login(username, PASSWORD)  # type: ignore[attr-defined]


@dataclass
class SharedDB:
    """One seeded database shared by a test module (see ``shared_hospital``): tests log in often, so a
    user is logged in for real once and then put back as the same session user (hashing is the slow part)."""

    c: Any
    clock: Any
    backend: str
    ids: dict[str, int]
    users: dict[str, Any] = field(default_factory=dict, kw_only=True)

    def login(self, username: str) -> None:
        if username in self.users:
            self.c.ctx.user = self.users[username]
            return
        self.c.ctx.user = None
        self.c.auth.login(username, PASSWORD)
        self.users[username] = self.c.ctx.user


@dataclass
class OnSharedDB:
    """A test's handle on a ``SharedDB`` (the kits' ``rw``, ``dw`` and ``ward`` fixtures)."""

    db: SharedDB

    @property
    def c(self) -> Any:
        return self.db.c

    @property
    def clock(self) -> Any:
        return self.db.clock

    @property
    def ids(self) -> dict[str, int]:
        return self.db.ids

    def login(self, username: str) -> None:
        self.db.login(username)


@contextmanager
def shared_hospital(
    request: pytest.FixtureRequest, directory: Path, *, prefix: str
) -> Iterator[tuple[Any, Any, dict[str, int]]]:
    """(container, clock, seeded ids) of a new seeded database on ``request.param``'s backend, for a
    module-scoped fixture: a PostgreSQL database costs seconds to create and drop, so modules share one
    and each test makes its own patients and runs. The clock starts at ``START``."""
    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.clock import FakeClock

    with copy_of(template_for(request, str(request.param)), directory, prefix=prefix) as url:
        clock = FakeClock(START)
        c = build_container(url, clock=clock, workstation="test-pc")
        try:
            with fast_hashing():
                ids = seed(c)
            yield c, clock, ids
        finally:
            c.close()
