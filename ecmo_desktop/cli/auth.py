"""Who acts on the command line: one login for every command that reads identified data or writes.

A command acts as a named person (``--user``), never as an anonymous operator: the password comes
from ``ECMO_PASSWORD`` or is asked for on the terminal (``getpass``) — never from an argument, so it
does not end up in shell history or the process list. The login goes through ``AuthService.login``
(failed attempts count towards the lock-out and are audited), and the session then calls the same
``@requires`` services as the GUI, so the permissions are the GUI's. Audit rows name the person and
this computer (the workstation is the host name, as in the GUI).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sqlite3
import sys
import zipfile
from pathlib import Path
from typing import Any

from ecmo_desktop.domain.errors import AuthenticationFailed, EcmoError, PermissionDenied
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.i18n import N_, _

PASSWORD_ENV = "ECMO_PASSWORD"
NEW_PASSWORD_ENV = "ECMO_NEW_PASSWORD"

# commands that touch no patient data and need no login (``--help``/``--version`` are argparse's)
NO_LOGIN = frozenset({"parse-code", "decode-image"})


def add_user_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help=_("以此账户执行（密码取自环境变量 ECMO_PASSWORD 或终端输入）"))


def read_secret(prompt: str, *, env: str = PASSWORD_ENV) -> str:
    """A password from ``env`` or the terminal; refused when there is neither (a script must set ``env``)."""
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise EcmoError(N_("请在环境变量 {env} 中提供密码，或在终端中运行以输入密码"), env=env)
    return getpass.getpass(prompt)


def read_new_password(prompt_user: str) -> str:
    """A new password (initial or changed): ``ECMO_NEW_PASSWORD`` or typed twice on the terminal."""
    if os.environ.get(NEW_PASSWORD_ENV) is not None:
        return os.environ[NEW_PASSWORD_ENV]
    first = read_secret(_("{user} 的新密码：").format(user=prompt_user), env=NEW_PASSWORD_ENV)
    if getpass.getpass(_("再次输入新密码：")) != first:
        raise EcmoError(N_("两次输入的密码不一致"))
    return first


def require_username(args: argparse.Namespace) -> str:
    username = getattr(args, "user", None)
    if not username:
        raise AuthenticationFailed(
            N_("此命令须以具名账户执行：请加 --user 用户名（密码取自环境变量 {env} 或终端输入）"),
            env=PASSWORD_ENV,
        )
    return str(username)


def login_user(
    container: Any,
    args: argparse.Namespace,
    *,
    allow_initial_password: bool = False,
    password: str | None = None,
    read_only: bool = False,
) -> CurrentUser:
    """Log ``--user`` in on ``container``; an account that must still change its initial password is refused.

    ``read_only``: check the password without writing anything (no audit row, no failure count).
    """
    username = require_username(args)
    if password is None:
        password = read_secret(_("{user} 的密码：").format(user=username))
    container.ctx.user = None
    check = container.auth.check_login if read_only else container.auth.login
    user: CurrentUser = check(username, password)
    if user.must_change_password and not allow_initial_password:
        container.ctx.user = None
        raise PermissionDenied(
            N_("该账户须先修改初始密码：ecmo-desktop users password --user {user}"), user=username
        )
    return user


def require(user: CurrentUser, action: Any) -> None:
    """The ``@requires`` check for a step that happens before any service call (e.g. moving a file)."""
    from ecmo_desktop.services.permissions import allowed

    if not allowed(action, user.roles):
        raise PermissionDenied(N_("您的角色无权执行此操作（{action}）"), action=str(action))


def backup_account(path: Path, args: argparse.Namespace) -> CurrentUser:
    """Check ``--user`` against the accounts *inside* a backup (restoring onto a new, empty database).

    Nobody can log in to a database that does not exist yet; the ward's own administrator accounts in
    the backup are the authority over its data, so the restore is done — and audited — as one of them.
    """
    from ecmo_desktop.domain.validation import username_key
    from ecmo_desktop.services.auth import password_matches
    from ecmo_desktop.services.permissions import Action

    username = require_username(args)
    password = read_secret(_("{user} 的密码：").format(user=username))
    key = username_key(username)
    from ecmo_desktop.storage.backup import backup_accounts

    try:
        staff, roles_rows = backup_accounts(path)
    except (OSError, KeyError, ValueError, sqlite3.Error, zipfile.BadZipFile) as exc:
        raise EcmoError(N_("{path} 不是有效的 ECMO Ward 备份文件"), path=str(path)) from exc
    row = next((s for s in staff if s.get("username_key") == key), None)
    if row is None or not password_matches(str(row.get("password_hash") or ""), password):
        raise AuthenticationFailed()
    if not row.get("active", True) or row.get("locked_by_admin"):
        raise AuthenticationFailed(N_("账户已停用，请联系管理员"))
    roles = frozenset(str(r["role"]) for r in roles_rows if r.get("staff_id") == row["id"])
    user = CurrentUser(int(row["id"]), str(row["username"]), str(row["full_name"]), str(row["title"]), roles)
    require(user, Action.BACKUP)
    return user
