"""The idle-lock timeout set from the command line: a named administrator, bounds named in the
refusal, the old and new value in the audit (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from ecmo_desktop.cli import EXIT_ERROR, EXIT_OK, main
from ecmo_desktop.domain.errors import PermissionDenied, ValidationError
from tests.conftest import PASSWORD


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main([*args, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)


def _policy_events(c) -> list:
    c.ctx.user = None
    c.auth.login("admin", PASSWORD)
    return [e for e in c.audit.recent(limit=50) if e.action == "set_policy"]


def test_admin_sets_the_idle_lock_from_the_cli(seeded, capsys, cli_env) -> None:
    c = seeded.container
    code, data = run(capsys, "settings", "--user", "chenjing", "--db", c.url)  # anyone may look
    assert code == EXIT_OK and data["policy"]["idle_lock_minutes"] == 10
    code, data = run(capsys, "settings", "--idle-lock-minutes", "5", "--user", "admin", "--db", c.url)
    assert (
        code == EXIT_OK
        and data["policy"]["idle_lock_minutes"] == 5
        and data["before"]["idle_lock_minutes"] == 10
    )
    assert c.auth.policy().idle_lock_minutes == 5  # hospital-wide: another connection reads it
    events = _policy_events(c)
    assert len(events) == 1 and events[0].actor_name == "系统管理员"
    assert events[0].before == {"idle_lock_minutes": 10} and events[0].after == {"idle_lock_minutes": 5}


@pytest.mark.parametrize("minutes", ["0", "31", "abc", "-5"])
def test_out_of_bounds_is_refused_with_the_bounds(seeded, capsys, cli_env, minutes: str) -> None:
    c = seeded.container
    code = main(["settings", "--idle-lock-minutes", minutes, "--user", "admin", "--db", c.url])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "自动锁屏时间" in err and "1–30" in err, err
    assert c.auth.policy().idle_lock_minutes == 10 and _policy_events(c) == []


def test_setting_needs_a_named_administrator(seeded, capsys, cli_env) -> None:
    c = seeded.container
    assert main(["settings", "--idle-lock-minutes", "5", "--db", c.url]) == EXIT_ERROR
    assert "--user" in capsys.readouterr().err
    assert main(["settings", "--idle-lock-minutes", "5", "--user", "chenjing", "--db", c.url]) == EXIT_ERROR
    capsys.readouterr()
    assert c.auth.policy().idle_lock_minutes == 10


def test_service_refuses_non_admins_and_bad_values(seeded) -> None:
    c = seeded.container
    c.ctx.user = None
    c.auth.login("chenjing", PASSWORD)
    with pytest.raises(PermissionDenied):
        c.auth.set_idle_lock_minutes(5)
    c.ctx.user = None
    c.auth.login("admin", PASSWORD)
    with pytest.raises(ValidationError) as refused:
        c.auth.set_idle_lock_minutes(60)
    assert refused.value.errors[0].params == {"low": 1, "high": 30, "value": 60}
    assert c.auth.set_idle_lock_minutes(30).idle_lock_minutes == 30
