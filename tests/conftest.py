"""Shared fixtures: a migrated database on each backend, a wired container, seeded accounts.

Databases are built by Alembic ``upgrade head`` (never ``create_all``): once per session into a
template (an SQLite file, or a PostgreSQL template database), then copied per test, so each test
starts from an empty, current schema in milliseconds.

PostgreSQL comes from ``ECMO_TEST_PG_URL`` (scripts/test.sh starts a real server). Without it the
PostgreSQL half is skipped locally and fails under CI=true: CI must test both backends.
"""

from __future__ import annotations

import importlib.abc
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="ecmo-tests-"))
os.environ["ECMO_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["ECMO_CONFIG_DIR"] = str(_SESSION_DIR / "config")
os.environ.pop("ECMO_DATABASE_URL", None)
# The CLI speaks English under an English locale: pin the locale, so the tests expect the same
# language (the default, Chinese) on every developer's machine unless a test asks for another.
for _var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
    os.environ.pop(_var, None)
os.environ["LANG"] = "C.UTF-8"


class _BlockQt(importlib.abc.MetaPathFinder):
    """--no-qt: proves the core (domain, services, storage, …) needs no display or Qt at all."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == "PySide6" or fullname.startswith(("PySide6.", "shiboken6")):
            raise ImportError(f"{fullname} is blocked in the --no-qt run")
        return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-qt", action="store_true", help="block PySide6 imports; skip UI tests")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--no-qt"):
        sys.meta_path.insert(0, _BlockQt())


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if config.getoption("--no-qt") and "ui" in collection_path.parts:
        return True
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


# ---- fast password hashing for tests ---------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fast_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """OWASP's minimum argon2id (m=19 MiB, t=2, p=1) instead of the production profile, for speed;
    tests marked ``real_hash`` keep the production parameters."""
    if request.node.get_closest_marker("real_hash"):
        return
    from argon2 import PasswordHasher

    from ecmo_desktop.services import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1))


# ---- databases -------------------------------------------------------------------------------------
def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    from ecmo_desktop.storage.engine import create_db_engine, sqlite_url_for
    from ecmo_desktop.storage.migrate import upgrade_to_head

    path = _SESSION_DIR / f"template-{_worker()}.sqlite3"
    engine = create_db_engine(sqlite_url_for(path))
    upgrade_to_head(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _pg_admin_url() -> str | None:
    url = os.environ.get("ECMO_TEST_PG_URL")
    if not url:
        return None
    from sqlalchemy.engine import make_url

    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _pg_exec(admin_url: str, *statements: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    admin = _pg_admin_url()
    if admin is None:
        if os.environ.get("CI"):
            pytest.fail("ECMO_TEST_PG_URL is not set: CI must run the PostgreSQL half (use scripts/test.sh)")
        pytest.skip("PostgreSQL not configured (ECMO_TEST_PG_URL); run scripts/test.sh for both backends")
    from sqlalchemy.engine import make_url

    from ecmo_desktop.storage.engine import create_db_engine
    from ecmo_desktop.storage.migrate import upgrade_to_head

    name = f"ecmo_tpl_{_worker()}_{os.getpid()}"
    _pg_exec(admin, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    yield name
    _pg_exec(admin, f"DROP DATABASE IF EXISTS {name}")


BACKENDS = [b for b in os.environ.get("ECMO_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every storage/service test runs on both backends (the --no-qt pass may narrow this)."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database on the parametrised backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "ecmo.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    tpl: str = request.getfixturevalue("pg_template")
    admin = _pg_admin_url()
    assert admin is not None
    from sqlalchemy.engine import make_url

    name = f"ecmo_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(admin, f"CREATE DATABASE {name} TEMPLATE {tpl}")
    yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    _pg_exec(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """For tests that are about SQLite itself (pragmas, files, backups)."""
    target = tmp_path / "ecmo.sqlite3"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


# ---- wired services --------------------------------------------------------------------------------
@pytest.fixture
def clock():
    from datetime import UTC, datetime

    from ecmo_desktop.services.clock import FakeClock

    return FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))


@pytest.fixture
def container(db_url: str, clock):
    from ecmo_desktop.container import build_container

    c = build_container(db_url, clock=clock, workstation="test-pc")
    yield c
    c.close()


PASSWORD = "Ward2026pass"


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

    def login(self, username: str) -> None:
        c = self.container
        if c.ctx.user is not None:  # type: ignore[attr-defined]
            c.ctx.user = None  # type: ignore[attr-defined]
        c.auth.login(username, PASSWORD)  # type: ignore[attr-defined]


def _seed(c) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    c.auth.first_run_setup(hospital_name="示范医院", hospital_code="H001", city="呼和浩特", admin_username="admin",
                           admin_full_name="系统管理员", admin_password=PASSWORD, admin_password_repeat=PASSWORD)
    c.auth.login("admin", PASSWORD)

    def mk(username: str, name: str, title: str, years: int, roles: list[str], trained: bool = True) -> int:
        s = c.staff.create_staff(username=username, full_name=name, title=title, years_in_practice=years,
                                 roles=roles, initial_password=PASSWORD, ecmo_trained=trained)
        return s.id

    doctor = mk("zhangwei", "张伟", "associate_chief", 15, ["doctor"])
    e2 = mk("lina", "李娜", "chief", 25, ["doctor"])
    e3 = mk("wangfang", "王芳", "associate_chief", 10, ["doctor"])
    attending = mk("liuyang", "刘洋", "attending", 6, ["doctor"])
    nurse = mk("chenjing", "陈静", "nurse_senior", 8, ["nurse"])
    perf = mk("zhaolei", "赵磊", "technician", 9, ["perfusionist"])
    records = mk("sunli", "孙丽", "other", 5, ["records"])
    from datetime import timedelta

    start = c.ctx.now()
    for sid in (doctor, e2, e3):
        c.staff.add_expert(sid)
    for sid in (doctor, e2, e3, attending):
        c.staff.grant_privilege(sid, granted_at=start - timedelta(days=365))
    c.ctx.user = None
    # initial passwords must be changed at first login; the test accounts start as if they had
    from ecmo_desktop.storage.orm.people import StaffRow

    with c.uow() as uow:
        uow.session.query(StaffRow).update({StaffRow.must_change_password: False})
        uow.commit()
    return (1, doctor, nurse, perf, records, e2, e3, attending)


_SEED_IDS: dict[str, tuple[int, ...]] = {}


@pytest.fixture(scope="session")
def seeded_templates() -> dict[str, object]:
    """Seeding hashes eight passwords: do it once per backend per session, then copy the database."""
    return {}


@pytest.fixture
def seeded_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path,
                  seeded_templates: dict[str, object]) -> Iterator[str]:
    from datetime import UTC, datetime

    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.clock import FakeClock

    if backend not in seeded_templates:
        if backend == "sqlite":
            template: Path = request.getfixturevalue("sqlite_template")
            path = _SESSION_DIR / f"seeded-{_worker()}.sqlite3"
            shutil.copyfile(template, path)
            url = f"sqlite:///{path}"
        else:
            tpl: str = request.getfixturevalue("pg_template")
            admin = _pg_admin_url()
            assert admin is not None
            from sqlalchemy.engine import make_url

            name = f"ecmo_seeded_{_worker()}_{os.getpid()}"
            _pg_exec(admin, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name} TEMPLATE {tpl}")
            url = make_url(admin).set(database=name).render_as_string(hide_password=False)
            request.addfinalizer(lambda: _pg_exec(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        c = build_container(url, clock=FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)), workstation="test-pc")
        _SEED_IDS[backend] = _seed(c)
        if backend == "sqlite":
            with c.uow.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
        seeded_templates[backend] = path if backend == "sqlite" else name
    source = seeded_templates[backend]
    if backend == "sqlite":
        target = tmp_path / "seeded.sqlite3"
        shutil.copyfile(source, target)  # type: ignore[arg-type]
        yield f"sqlite:///{target}"
        return
    admin = _pg_admin_url()
    assert admin is not None
    from sqlalchemy.engine import make_url

    name = f"ecmo_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(admin, f"CREATE DATABASE {name} TEMPLATE {source}")
    yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    _pg_exec(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def seeded(seeded_db_url: str, clock) -> Iterator[Seeded]:  # type: ignore[no-untyped-def]
    """A set-up hospital with one account per role (its own database; don't combine with ``container``)."""
    from ecmo_desktop.container import build_container

    c = build_container(seeded_db_url, clock=clock, workstation="test-pc")
    admin, doctor, nurse, perf, records, e2, e3, attending = _SEED_IDS[_backend_of(seeded_db_url)]
    yield Seeded(c, admin, doctor, nurse, perf, records, [doctor, e2, e3], attending)
    c.close()


def _backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"
