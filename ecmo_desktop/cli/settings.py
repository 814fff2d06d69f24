"""Hospital-wide settings from the command line.

    ecmo-desktop settings [--idle-lock-minutes N] --user NAME

Shows the security policy; with ``--idle-lock-minutes`` sets the idle-lock timeout (1–30 minutes,
ACC-5). Changing a setting acts as a named administrator (``--user``; the password comes from
``ECMO_PASSWORD`` or is asked for on the terminal), so the audit says who changed it, old → new.
"""

from __future__ import annotations

import argparse
from typing import Any

from ecmo_desktop.cli import EXIT_OK, _with_handler, command, open_container
from ecmo_desktop.domain.policy import IDLE_LOCK_MINUTES
from ecmo_desktop.i18n import N_, _


def _settings(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)  # a named person (ecmo_desktop.cli.auth); setting it checks the admin permission
    try:
        if args.idle_lock_minutes is None:
            policy = c.auth.policy()
            text = _("自动锁屏时间：{n} 分钟").format(n=policy.idle_lock_minutes)
            return EXIT_OK, {"policy": policy.as_settings()}, text
        before = c.auth.policy().idle_lock_minutes
        policy = c.auth.set_idle_lock_minutes(args.idle_lock_minutes)
    finally:
        c.close()
    text = _("自动锁屏时间已由 {old} 分钟改为 {new} 分钟").format(old=before, new=policy.idle_lock_minutes)
    return EXIT_OK, {"policy": policy.as_settings(), "before": {"idle_lock_minutes": before}}, text


@command("settings", N_("查看或修改全院安全设置（自动锁屏时间）"))
@_with_handler(_settings)
def _settings_args(p: argparse.ArgumentParser) -> None:
    low, high = IDLE_LOCK_MINUTES
    p.add_argument(
        "--idle-lock-minutes",
        metavar="N",
        help=_("无人操作多少分钟后自动锁屏（{low}–{high}）").format(low=low, high=high),
    )
