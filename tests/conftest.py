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
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.db import (  # PASSWORD and Seeded: many tests import them from here
    PASSWORD,
    START,
    Seeded,
    checkpoint,
    copy_of,
    fast_hashing,
    make_pg_template,
    make_sqlite_template,
    pg_admin_url,
    pg_drop,
    pg_exec,
    pg_url,
    seed,
    template_for,
    worker,
)

__all__ = ["PASSWORD", "Seeded"]

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
def _fast_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fast argon2 parameters (``tests.kit.db.fast_hashing``); tests marked ``real_hash`` keep the
    production parameters."""
    if request.node.get_closest_marker("real_hash"):
        yield
        return
    with fast_hashing():
        yield


# ---- databases (the set-up itself is tests/kit/db.py) -----------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    return make_sqlite_template(_SESSION_DIR / f"template-{worker()}.sqlite3")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if pg_admin_url() is None:
        if os.environ.get("CI"):
            pytest.fail("ECMO_TEST_PG_URL is not set: CI must run the PostgreSQL half (use scripts/test.sh)")
        pytest.skip("PostgreSQL not configured (ECMO_TEST_PG_URL); run scripts/test.sh for both backends")
    name = make_pg_template(f"ecmo_tpl_{worker()}_{os.getpid()}")  # one per xdist worker
    yield name
    pg_drop(name)


BACKENDS = [b for b in os.environ.get("ECMO_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every storage/service test runs on both backends (the --no-qt pass may narrow this)."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database on the parametrised backend."""
    with copy_of(template_for(request, backend), tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """For tests that are about SQLite itself (pragmas, files, backups)."""
    with copy_of(sqlite_template, tmp_path) as url:
        yield url


# ---- wired services --------------------------------------------------------------------------------
@pytest.fixture
def clock():
    from ecmo_desktop.services.clock import FakeClock

    return FakeClock(START)


@pytest.fixture
def container(db_url: str, clock):
    from ecmo_desktop.container import build_container

    c = build_container(db_url, clock=clock, workstation="test-pc")
    yield c
    c.close()


_SEED_IDS: dict[str, dict[str, int]] = {}


@pytest.fixture(scope="session")
def seeded_templates() -> Iterator[dict[str, Path | str]]:
    """Seeding hashes eight passwords: do it once per backend per session (and xdist worker), then copy
    the database. The templates live as long as the session."""
    templates: dict[str, Path | str] = {}
    yield templates
    if isinstance(templates.get("postgresql"), str):
        pg_drop(str(templates["postgresql"]))


def _seeded_template(backend: str, request: pytest.FixtureRequest) -> Path | str:
    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.clock import FakeClock

    template = template_for(request, backend)
    if isinstance(template, Path):
        source: Path | str = _SESSION_DIR / f"seeded-{worker()}.sqlite3"
        shutil.copyfile(template, source)
        url = f"sqlite:///{source}"
    else:
        source = f"ecmo_seeded_{worker()}_{os.getpid()}"
        admin = pg_admin_url()
        assert admin is not None
        pg_exec(admin, f"DROP DATABASE IF EXISTS {source}", f"CREATE DATABASE {source} TEMPLATE {template}")
        url = pg_url(source)
    c = build_container(url, clock=FakeClock(START), workstation="test-pc")
    _SEED_IDS[backend] = seed(c)
    if backend == "sqlite":
        checkpoint(c.uow.engine)
    c.close()
    return source


@pytest.fixture
def seeded_db_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, seeded_templates: dict[str, Path | str]
) -> Iterator[str]:
    if backend not in seeded_templates:
        seeded_templates[backend] = _seeded_template(backend, request)
    with copy_of(seeded_templates[backend], tmp_path, filename="seeded.sqlite3") as url:
        yield url


@pytest.fixture
def seeded(seeded_db_url: str, clock) -> Iterator[Seeded]:  # type: ignore[no-untyped-def]
    """A set-up hospital with one account per role (its own database; don't combine with ``container``)."""
    from ecmo_desktop.container import build_container

    c = build_container(seeded_db_url, clock=clock, workstation="test-pc")
    yield Seeded.of(c, _SEED_IDS["sqlite" if seeded_db_url.startswith("sqlite") else "postgresql"])
    c.close()
