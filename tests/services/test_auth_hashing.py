"""Issue 15: no argon2 work at import; an unknown username still costs one full verify; demo databases
(and only they) hash their accounts with the cheap demo parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters

from ecmo_desktop.domain.errors import AuthenticationFailed
from ecmo_desktop.services import auth
from ecmo_desktop.services.demo import DEMO_PASSWORD, DemoGenerator

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Ward2026test"


def test_importing_auth_hashes_nothing(tmp_path: Path) -> None:
    code = (
        "import json\n"
        "import argon2._password_hasher as ph\n"
        "calls = []\n"
        "real = ph.hash_secret\n"
        "ph.hash_secret = lambda *a, **k: (calls.append(1), real(*a, **k))[1]\n"
        "import ecmo_desktop.services.auth\n"
        "import ecmo_desktop.container\n"
        "print(json.dumps(len(calls)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ECMO_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == 0


@pytest.mark.real_hash
def test_the_precomputed_dummy_has_the_production_parameters() -> None:
    params = extract_parameters(auth._dummy_hash())
    hasher = auth._hasher
    assert auth._dummy_hash() == auth._PRECOMPUTED_DUMMY
    assert (params.time_cost, params.memory_cost, params.parallelism, params.type) == (
        hasher.time_cost,
        hasher.memory_cost,
        hasher.parallelism,
        hasher.type,
    )
    assert not auth._hasher.check_needs_rehash(auth._dummy_hash())


def test_other_hasher_parameters_get_a_matching_dummy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1))
    params = extract_parameters(auth._dummy_hash())
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 8192, 1)


def test_an_unknown_username_costs_one_verify_against_the_dummy(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = container
    c.auth.first_run_setup(
        hospital_name="医院",
        hospital_code="H",
        city="市",
        admin_username="admin",
        admin_full_name="管理员",
        admin_password=PASSWORD,
        admin_password_repeat=PASSWORD,
    )
    seen: list[str] = []
    real = auth.password_matches
    monkeypatch.setattr(auth, "password_matches", lambda h, p: (seen.append(h), real(h, p))[1])
    with pytest.raises(AuthenticationFailed):
        c.auth.login("nobody", "whatever-1")
    with pytest.raises(AuthenticationFailed):
        c.auth.check_login("nobody", "whatever-1")
    assert seen == [auth._dummy_hash(), auth._dummy_hash()]
    params = extract_parameters(seen[0])
    assert (params.time_cost, params.memory_cost) == (auth._hasher.time_cost, auth._hasher.memory_cost)


def _hashes(c: Any) -> dict[str, str]:
    from sqlalchemy import text

    with c.uow.engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(text("SELECT username, password_hash FROM staff"))}


@pytest.mark.real_hash
def test_demo_accounts_are_cheap_and_real_ones_are_not(db_url: str, tmp_path: Path) -> None:
    from ecmo_desktop.container import build_container

    demo = build_container(db_url)
    try:
        DemoGenerator(demo).ensure_staff(demo.ctx.now())
        hashes = _hashes(demo)
        assert len(hashes) == 10 and all(auth.is_demo_hash(h) for h in hashes.values())
        demo.auth.login("zhangwei", DEMO_PASSWORD)  # a login on a demo database keeps the demo hash
        assert auth.is_demo_hash(_hashes(demo)["zhangwei"])
    finally:
        demo.close()

    real = build_container(f"sqlite:///{tmp_path / 'real.sqlite3'}")
    try:
        real.auth.first_run_setup(
            hospital_name="医院",
            hospital_code="H",
            city="市",
            admin_username="admin",
            admin_full_name="管理员",
            admin_password=PASSWORD,
            admin_password_repeat=PASSWORD,
        )
        real.auth.login("admin", PASSWORD)
        real.staff.create_staff(
            username="lina", full_name="李娜", title="nurse", roles=["nurse"], initial_password=PASSWORD + "x"
        )
        real.auth.change_password(PASSWORD, PASSWORD + "y", PASSWORD + "y")
        for h in _hashes(real).values():
            params = extract_parameters(h)
            assert not auth.is_demo_hash(h)
            assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
    finally:
        real.close()


def test_a_cheap_hash_in_a_real_database_is_replaced_at_login(container: Any) -> None:
    c = container
    c.auth.first_run_setup(
        hospital_name="医院",
        hospital_code="H",
        city="市",
        admin_username="admin",
        admin_full_name="管理员",
        admin_password=PASSWORD,
        admin_password_repeat=PASSWORD,
    )
    with c.uow() as uow:
        admin = uow.staff.by_username_key("admin")
        uow.staff.set_auth(admin.id, password_hash=auth.hash_password(PASSWORD, demo=True))
        uow.commit()
    assert auth.is_demo_hash(_hashes(c)["admin"])
    c.auth.login("admin", PASSWORD)
    assert not auth.is_demo_hash(_hashes(c)["admin"])
