"""The command line acts as a named person (issue 10 §3): every command that reads identified data or
changes anything refuses without ``--user``, with a wrong password and with an account lacking the
GUI's permission, and succeeds for the right account — audited with that person and this computer."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from ecmo_desktop.cli import _COMMANDS, _load_commands, main
from ecmo_desktop.cli.auth import NO_LOGIN
from tests.conftest import PASSWORD, Seeded

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "legacy"


def _table(tmp: Path) -> dict[str, tuple[list[str], str | None, str | None]]:
    """command → (arguments, an account allowed to run it, an account the GUI would refuse)."""
    csv = tmp / "catalogue.csv"
    csv.write_bytes(
        "类别;产品名称;生产企业;GTIN;注册证编号\n氧合器;Quadrox-iD;Maquet;06901234567892;国械注进1\n".encode()
    )
    return {
        "init-db": ([], "admin", "chenjing"),
        "users": (["list"], "chenjing", None),
        "verify": ([], "admin", "chenjing"),
        "backup": (["--out", str(tmp / "b.ecmobak")], "admin", "chenjing"),
        "backup-key": (["export", "--out", str(tmp / "k.key")], "admin", "chenjing"),
        "scanner": ([], "chenjing", None),
        "settings": (["--idle-lock-minutes", "10"], "admin", "chenjing"),
        "catalogue": (["import", str(csv)], "admin", "chenjing"),
        "trace": (["--lot", "NOLOT"], "chenjing", None),
        "print": (["archive", "--run", "1", "--out", str(tmp / "p.pdf")], None, "admin"),
        "archive": (
            ["--from", "2020-01-01", "--to", "2020-01-02", "--out", str(tmp / "arch")],
            "sunli",
            "chenjing",
        ),
        "reprint": (["--document", "1", "--out", str(tmp / "r.pdf")], None, "admin"),
        "documents": (["--run", "1"], None, None),
        "compliance": (["--run", "1"], None, None),
        "worklist": ([], "chenjing", None),
        "import-cases": ([str(FIXTURES / "regional_cases.csv"), "--dry-run"], "sunli", "chenjing"),
        "import-equipment": ([str(FIXTURES / "regional_equipment.csv"), "--dry-run"], "sunli", "chenjing"),
        "import-export": ([str(tmp / "none.json"), "--dry-run"], None, "chenjing"),
        "report": (["--from", "2020-01-01", "--to", "2020-12-31"], "zhangwei", "chenjing"),
        "export": (
            ["--from", "2020-01-01", "--to", "2020-12-31", "--out", str(tmp / "e.json")],
            "sunli",
            "chenjing",
        ),
        # covered by their own tests below: restore (replaces the database), demo (refuses real data)
        "restore": ([], None, None),
        "demo": ([], None, None),
    }


def _run(
    capsys: pytest.CaptureFixture[str], name: str, args: list[str], db: str, *extra: str
) -> tuple[int, Any]:
    code = main([name, *args, "--db", db, "--json", *extra])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out and out[-1].startswith("{") else {}


def _last_audit(c: Any) -> Any:
    with c.uow(write=False) as uow:
        return uow.audit.head()


def test_every_command_is_covered_or_exempt(tmp_path: Path) -> None:
    _load_commands()
    assert {"parse-code", "decode-image"} == NO_LOGIN  # the exceptions (plus --help, --version)
    assert set(_COMMANDS) - NO_LOGIN == set(_table(tmp_path))


def test_each_command_refuses_without_user_wrong_password_or_permission(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c: Any = seeded.container
    db = c.url
    host = socket.gethostname()[:100]
    for name, (args, allowed, denied) in _table(tmp_path).items():
        if name in ("restore", "demo"):
            continue
        monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
        head = _last_audit(c).seq
        code, data = _run(capsys, name, args, db)
        assert code == 1 and data["error"]["reason"] == "AuthenticationFailed", (name, data)
        assert "--user" in data["error"]["message"]
        assert _last_audit(c).seq == head, name  # refused before anything was read or written

        monkeypatch.setenv("ECMO_PASSWORD", "not-the-password")
        code, data = _run(capsys, name, args, db, "--user", allowed or "sunli")
        assert code == 1 and data["error"]["reason"] == "AuthenticationFailed", (name, data)
        if name == "verify":
            assert _last_audit(c).seq == head  # verifying never writes, not even a failed login
        else:
            failed = _last_audit(c)
            assert (failed.action, failed.success, failed.workstation) == ("login_failed", False, host)
            seeded.login("admin")
            c.staff.unlock_account(failed.actor_id)  # five wrong passwords would lock the account
            c.ctx.user = None

        monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
        if denied is not None:
            code, data = _run(capsys, name, args, db, "--user", denied)
            assert code == 1 and data["error"]["reason"] == "PermissionDenied", (name, data)
        if allowed is not None:
            monkeypatch.setenv("ECMO_NEW_PASSWORD", "Another-Pass-2031")
            code, data = _run(capsys, name, args, db, "--user", allowed)
            assert code == 0, (name, data)
            with c.uow(write=False) as uow:
                login = next(e for e in uow.audit.query(offset=0, limit=50) if e.action == "login")
            assert (login.actor_name, login.workstation) != ("命令行", "cli")
            assert login.workstation == host and login.actor_id is not None and login.actor_id > 0


def test_users_create_names_the_administrator(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c: Any = seeded.container
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    monkeypatch.setenv("ECMO_NEW_PASSWORD", "Initial-Pass-2026")
    args = ["create", "--username", "newdoc", "--name", "新医生", "--role", "doctor"]
    code, data = _run(capsys, "users", args, c.url, "--user", "chenjing")
    assert code == 1 and data["error"]["reason"] == "PermissionDenied"
    code, data = _run(capsys, "users", args, c.url, "--user", "admin")
    assert code == 0 and data["user"]["must_change_password"] is True
    event = _last_audit(c)
    assert (event.action, event.entity, event.actor_name, event.workstation) == (
        "create",
        "staff",
        "系统管理员",
        socket.gethostname()[:100],
    )
    # the new account must replace its initial password before it can do anything else
    monkeypatch.setenv("ECMO_PASSWORD", "Initial-Pass-2026")
    code, data = _run(capsys, "users", ["list"], c.url, "--user", "newdoc")
    assert code == 1 and "users password" in data["error"]["message"]
    monkeypatch.setenv("ECMO_NEW_PASSWORD", "Chosen-Pass-2027")
    code, data = _run(capsys, "users", ["password"], c.url, "--user", "newdoc")
    assert code == 0
    monkeypatch.setenv("ECMO_PASSWORD", "Chosen-Pass-2027")
    assert _run(capsys, "users", ["list"], c.url, "--user", "newdoc")[0] == 0


def test_password_is_asked_on_the_terminal_when_not_in_the_environment(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c: Any = seeded.container
    monkeypatch.delenv("ECMO_PASSWORD", raising=False)
    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return PASSWORD

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    code, _data = _run(capsys, "worklist", [], c.url, "--user", "chenjing")
    assert code == 0 and len(asked) == 1 and "chenjing" in asked[0]
    # no terminal and no ECMO_PASSWORD: a clear refusal, never a hang waiting for input
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    code, data = _run(capsys, "worklist", [], c.url, "--user", "chenjing")
    assert code == 1 and "ECMO_PASSWORD" in data["error"]["message"] and len(asked) == 1


def test_password_is_never_an_argument(tmp_path: Path) -> None:
    from ecmo_desktop.cli import build_parser

    _load_commands()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        options = {o for a in p._actions for o in a.option_strings}
        assert not {o for o in options if "password" in o}, name


@pytest.mark.parametrize("backend", ["sqlite"])
def test_restore_acts_as_an_administrator(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c: Any = seeded.container
    monkeypatch.setenv("ECMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    backup = tmp_path / "ward.ecmobak"
    assert _run(capsys, "backup", ["--out", str(backup)], c.url, "--user", "admin")[0] == 0
    # onto a new database: checked against the administrator accounts inside the backup
    fresh = str(tmp_path / "fresh.sqlite3")
    assert _run(capsys, "restore", [str(backup)], fresh)[1]["error"]["reason"] == "AuthenticationFailed"
    assert (
        _run(capsys, "restore", [str(backup)], fresh, "--user", "chenjing")[1]["error"]["reason"]
        == "PermissionDenied"
    )
    monkeypatch.setenv("ECMO_PASSWORD", "wrong-password")
    assert _run(capsys, "restore", [str(backup)], fresh, "--user", "admin")[0] == 1
    assert not Path(fresh).exists() or Path(fresh).stat().st_size == 0
    monkeypatch.setenv("ECMO_PASSWORD", PASSWORD)
    code, data = _run(capsys, "restore", [str(backup)], fresh, "--user", "admin")
    assert code == 0 and data["audit_ok"], data
    from ecmo_desktop.container import build_container

    restored = build_container(fresh)
    try:
        event = _last_audit(restored)
        assert (event.action, event.actor_name, event.workstation) == (
            "restore",
            "系统管理员",
            socket.gethostname()[:100],
        )
    finally:
        restored.close()
    # over an existing database: only its own administrator may replace it
    code, data = _run(capsys, "restore", [str(backup)], fresh, "--user", "chenjing")
    assert code == 1 and data["error"]["reason"] == "PermissionDenied"
    assert Path(fresh).exists() and Path(fresh).stat().st_size > 0


def test_init_db_creates_the_first_admin_from_a_file_forced_to_change_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "new.sqlite3")
    admin = tmp_path / "admin.json"
    admin.write_text(
        json.dumps({"username": "boss", "full_name": "王主任", "password": "First-Pass-2026"}),
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    code, data = _run(capsys, "init-db", ["--hospital", "测试医院", "--city", "呼和浩特"], db)
    assert code == 1 and "--admin-from" in data["error"]["message"]  # no file, no terminal: refused
    code, data = _run(
        capsys, "init-db", ["--hospital", "测试医院", "--city", "呼和浩特", "--admin-from", str(admin)], db
    )
    assert code == 0 and data["initialised"] is True and data["admin"] == "boss"
    monkeypatch.setenv("ECMO_PASSWORD", "First-Pass-2026")
    code, data = _run(capsys, "users", ["list"], db, "--user", "boss")
    assert code == 1 and "users password" in data["error"]["message"]
    # a second set-up is refused, and looking after an existing database needs its administrator
    code, data = _run(capsys, "init-db", ["--hospital", "别的医院", "--admin-from", str(admin)], db)
    assert code == 1 and "不能重复初始化" in data["error"]["message"]


def test_init_db_asks_for_the_first_admin_on_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecmo_desktop.container import build_container

    db = str(tmp_path / "new.sqlite3")
    answers = iter(["chief", "李主任"])
    typed = iter(["Typed-Pass-2026", "Typed-Pass-2026"])
    monkeypatch.delenv("ECMO_PASSWORD", raising=False)
    monkeypatch.delenv("ECMO_NEW_PASSWORD", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    code, data = _run(capsys, "init-db", ["--hospital", "测试医院", "--city", "呼和浩特"], db)
    assert code == 0 and data["admin"] == "chief"
    c = build_container(db)
    try:
        user = c.auth.login("chief", "Typed-Pass-2026")
        assert user.full_name == "李主任" and user.roles == frozenset({"admin"}) and user.must_change_password
    finally:
        c.close()
