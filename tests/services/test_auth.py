"""Accounts: first run, login, lock-out, password rules, unique users (ACC-1, ACC-3, ACC-4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from ecmo_desktop.domain.errors import (
    AccountLocked,
    AuthenticationFailed,
    PermissionDenied,
    ValidationError,
)
from tests.conftest import PASSWORD, Seeded


def _audit_actions(c) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    with c.uow.engine.connect() as conn:
        return [
            (r[0], bool(r[1]))
            for r in conn.execute(text("SELECT action, success FROM audit_event ORDER BY seq"))
        ]


def test_first_run_creates_hospital_and_admin_once(container) -> None:  # type: ignore[no-untyped-def]
    c = container
    assert not c.auth.is_initialised()
    result = c.auth.first_run_setup(
        hospital_name="示范医院",
        hospital_code="H1",
        city="包头",
        admin_username="Admin",
        admin_full_name="管理员",
        admin_password=PASSWORD,
        admin_password_repeat=PASSWORD,
    )
    assert result.hospital.city == "包头" and result.admin.has_role("admin")
    assert c.auth.is_initialised()
    with pytest.raises(PermissionDenied):
        c.auth.first_run_setup(
            hospital_name="另一家",
            hospital_code="H2",
            city="x",
            admin_username="evil",
            admin_full_name="x",
            admin_password=PASSWORD,
            admin_password_repeat=PASSWORD,
        )
    user = c.auth.login("admin", PASSWORD)  # usernames are case-insensitive
    assert user.username == "admin"


@pytest.mark.parametrize(
    ("pw", "repeat", "field"),
    [
        ("short1", "short1", "密码"),
        ("onlyletters", "onlyletters", "密码"),
        ("12345678901", "12345678901", "密码"),
        (PASSWORD, PASSWORD + "x", "确认密码"),
        ("admin2026xx", "admin2026xx", "密码"),
    ],
)
def test_first_run_password_rules(container, pw: str, repeat: str, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as info:
        container.auth.first_run_setup(
            hospital_name="医院",
            hospital_code="H",
            city="市",
            admin_username="admin",
            admin_full_name="管",
            admin_password=pw,
            admin_password_repeat=repeat,
        )
    assert info.value.errors[0].field == field
    assert not container.auth.is_initialised()


def test_lockout_after_five_failures_then_admin_unlock(seeded: Seeded, clock) -> None:  # type: ignore[no-untyped-def]
    c = seeded.container
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            c.auth.login("chenjing", "wrong-password1")
    with pytest.raises(AccountLocked) as info:
        c.auth.login("chenjing", "wrong-password1")
    assert "15" in info.value.user_message()
    with pytest.raises(AccountLocked):  # the right password does not help while locked
        c.auth.login("chenjing", PASSWORD)
    seeded.login("admin")
    c.staff.unlock_account(seeded.nurse_id)
    c.ctx.user = None
    assert c.auth.login("chenjing", PASSWORD).id == seeded.nurse_id
    actions = _audit_actions(c)
    assert actions.count(("login_failed", False)) >= 6
    assert ("account_locked", True) in actions and ("account_unlocked", True) in actions


def test_lockout_expires_with_time(seeded: Seeded, clock) -> None:  # type: ignore[no-untyped-def]
    c = seeded.container
    for _ in range(5):
        with pytest.raises((AuthenticationFailed, AccountLocked)):
            c.auth.login("chenjing", "nope-nope-1")
    clock.advance(timedelta(minutes=16))
    assert c.auth.login("chenjing", PASSWORD).id == seeded.nurse_id


def test_unknown_and_deactivated_users_cannot_log_in(seeded: Seeded) -> None:
    c = seeded.container
    with pytest.raises(AuthenticationFailed):
        c.auth.login("nobody", PASSWORD)
    seeded.login("admin")
    c.staff.set_active(seeded.nurse_id, False, reason="离职")
    c.ctx.user = None
    with pytest.raises(AuthenticationFailed) as info:
        c.auth.login("chenjing", PASSWORD)
    assert "停用" in info.value.user_message()


@pytest.mark.parametrize("variant", ["ZHANGWEI", "ＺＨＡＮＧＷＥＩ", " zhangwei "])
def test_usernames_are_unique_across_case_and_width(seeded: Seeded, variant: str) -> None:
    """ACC-1: 'ＺＨＡＮＧＷＥＩ' (full-width) and 'ZHANGWEI' are the existing zhangwei."""
    seeded.login("admin")
    with pytest.raises(ValidationError) as info:
        seeded.container.staff.create_staff(
            username=variant,
            full_name="另一个张伟",
            title="attending",
            roles=["doctor"],
            initial_password=PASSWORD,
        )
    assert "已被使用" in info.value.user_message()


def test_no_account_deletion_only_deactivation(seeded: Seeded) -> None:
    """ACC-1: signers stay identifiable; there is no delete path for staff at all."""
    import inspect

    from ecmo_desktop.services import staff as staff_mod

    assert not any("delete" in name for name, _ in inspect.getmembers(staff_mod.StaffService))


def test_new_accounts_must_change_initial_password(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("admin")
    c.staff.create_staff(
        username="newdoc",
        full_name="新医生",
        title="resident",
        roles=["doctor"],
        initial_password="Initial2026a",
    )
    c.ctx.user = None
    user = c.auth.login("newdoc", "Initial2026a")
    assert user.must_change_password
    with pytest.raises(ValidationError):
        c.auth.change_password("Initial2026a", "Initial2026a", "Initial2026a")
    c.auth.change_password("Initial2026a", "Better2026pw", "Better2026pw")
    c.ctx.user = None
    assert not c.auth.login("newdoc", "Better2026pw").must_change_password


def test_screen_lock_unlock_needs_the_password(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("chenjing")
    c.auth.lock_screen()
    with pytest.raises(AuthenticationFailed):
        c.auth.unlock_screen("wrong-pass-1")
    c.auth.unlock_screen(PASSWORD)
    actions = [a for a, _ in _audit_actions(c)]
    assert actions[-3:] == ["screen_lock", "reauth_failed", "screen_unlock"]


@pytest.mark.real_hash
def test_passwords_are_argon2id_above_owasp_minimum(seeded: Seeded) -> None:
    """ACC-3: hash format and parameters; no plaintext anywhere in the database."""
    from ecmo_desktop.services.auth import hash_password

    h = hash_password("Canary2026pw!")
    assert h.startswith("$argon2id$")
    params = dict(p.split("=") for p in h.split("$")[3].split(","))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2 and int(params["p"]) >= 1
    c = seeded.container
    seeded.login("admin")
    c.staff.create_staff(
        username="jsq", full_name="金丝雀", title="nurse", roles=["nurse"], initial_password="Canary2026pw!"
    )
    with c.uow.engine.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                    if c.backend == "sqlite"
                    else "SELECT tablename FROM pg_tables WHERE schemaname='public'"
                )
            )
        ]
        for table in tables:
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                assert "Canary2026pw!" not in str(row)


def test_verify_password_failures_count_towards_lockout(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            c.auth.verify_password("bad-pass-123")
    with pytest.raises(AccountLocked):
        c.auth.verify_password("bad-pass-123")
    c.ctx.user = None
    with pytest.raises(AccountLocked):
        c.auth.login("zhangwei", PASSWORD)


def test_switch_user_logs_the_previous_user_out_only_on_success(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("chenjing")
    with pytest.raises(AuthenticationFailed):
        c.auth.switch_user("zhangwei", "wrong-pass-9")
    assert c.ctx.user is not None and c.ctx.user.username == "chenjing"
    user = c.auth.switch_user("zhangwei", PASSWORD)
    assert c.ctx.user == user
    with c.uow.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, actor_name, reason FROM audit_event ORDER BY seq DESC LIMIT 2")
        ).all()
    assert [tuple(r) for r in rows] == [("logout", "陈静", "switch_user"), ("login", "张伟", None)]


def test_hospital_name_is_readable_before_login(seeded: Seeded) -> None:
    seeded.container.ctx.user = None
    assert seeded.container.auth.hospital_name() == "示范医院"
