"""Headless commands over the same services as the GUI.

Every subcommand takes ``--db URL`` and ``--json``; it prints one JSON object with ``--json``
(or a short human line without) and exits non-zero with a clear one-line message on error.
Every command that reads identified data or changes anything acts as a named person: ``--user``
with the password from ``ECMO_PASSWORD`` or the terminal (``cli/auth.py``), checked by the same
``@requires`` services as the GUI and audited with that person's name and this computer's name.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ecmo_desktop import __version__
from ecmo_desktop.cli.auth import NO_LOGIN, add_user_argument, login_user, require_username
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import DEFAULT_LANGUAGE, N_, _, requested_language, set_language

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_REFUSED = 0, 1, 2

Handler = Callable[[argparse.Namespace], tuple[int, dict[str, Any], str]]
_COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(
    name: str, help_text: str
) -> Callable[[Callable[[argparse.ArgumentParser], None]], Callable[[argparse.ArgumentParser], None]]:
    """Register a subcommand: the decorated function adds arguments; ``handler`` does the work."""

    def decorate(
        add_args: Callable[[argparse.ArgumentParser], None],
    ) -> Callable[[argparse.ArgumentParser], None]:
        handler: Handler = add_args.handler  # type: ignore[attr-defined]
        _COMMANDS[name] = (handler, add_args, help_text)
        return add_args

    return decorate


def _with_handler(
    handler: Handler,
) -> Callable[[Callable[[argparse.ArgumentParser], None]], Callable[[argparse.ArgumentParser], None]]:
    def attach(fn: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser], None]:
        fn.handler = handler  # type: ignore[attr-defined]
        return fn

    return attach


def open_container(args: argparse.Namespace, *, must_exist: bool = True, login: bool = True) -> Any:
    """The services for ``--db``, logged in as ``--user`` (``login=False`` only for the few commands
    that decide themselves whether a login is needed, such as ``init-db`` of a new database)."""
    from ecmo_desktop.container import build_container, resolve_database_url
    from ecmo_desktop.storage.engine import sqlite_path

    if login:
        require_username(args)  # refuse before the database is even opened
    path = sqlite_path(resolve_database_url(args.db))
    if must_exist and path is not None and not path.exists():
        raise EcmoError(N_("数据库文件不存在：{path}（新数据库请先运行 init-db 或启动程序）"), path=str(path))
    container = build_container(args.db)  # the workstation in the audit is this computer's name
    if login:
        try:
            login_user(container, args)
        except BaseException:
            container.close()
            raise
    return container


# ---- main ------------------------------------------------------------------------------------------
COMMAND_MODULES = ("core", "devices", "records", "documents", "exchange", "settings")


def _load_commands() -> None:
    """Each feature keeps its subcommands in its own module of this package."""
    import importlib

    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"ecmo_desktop.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ecmo_desktop.cli.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", help=_("数据库 URL 或 SQLite 文件路径（默认：用户数据文件夹；也可用 ECMO_DATABASE_URL）")
    )
    common.add_argument("--json", action="store_true", help=_("输出 JSON"))
    common.add_argument("--lang", choices=["zh_CN", "en"], help=_("消息语言"))
    parser = argparse.ArgumentParser(prog="ecmo-desktop", description=_("ECMO Ward 命令行工具"))
    # Answered by ecmo_desktop.__main__ (the full report asks Qt for its version; this package may
    # not import Qt); here it is listed in --help, and a direct call still gets the short answer.
    parser.add_argument(
        "--version",
        action="version",
        version=f"ECMO Ward {__version__}",
        help=_("显示版本、Python/Qt/SQLAlchemy/SQLite 版本、架构版本和数据文件夹"),
    )
    # Read before the parser is built (its help texts are translated when built); also accepted here.
    parser.add_argument("--lang", dest="top_lang", choices=["zh_CN", "en"], help=_("消息语言"))
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_handler, add_args, help_text) in _COMMANDS.items():
        p = sub.add_parser(name, parents=[common], help=_(help_text), description=_(help_text))
        add_args(p)
        if name not in NO_LOGIN:
            add_user_argument(p)
    return parser


def _emit(args: argparse.Namespace, code: int, data: dict[str, Any], text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, default=str))
    elif text:
        print(text)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The language first (--lang anywhere, else an English or Chinese locale): the help texts and
    # choices are translated while the parser is built, so --help follows it too.
    set_language(requested_language(argv) or DEFAULT_LANGUAGE)
    _load_commands()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # a code that starts with "-" (``parse-code -1+1``) is data, not an option
        if args.command == "parse-code" and getattr(args, "text", None) is None and len(extra) == 1:
            args.text = extra[0]
        else:
            parser.error(_("无法识别的参数：{args}").format(args=" ".join(extra)))
    if args.lang:
        set_language(args.lang)
    handler = _COMMANDS[args.command][0]
    try:
        code, data, text = handler(args)
    except EcmoError as exc:
        message = exc.user_message().replace("\n", "；")
        if args.json:
            print(
                json.dumps({"error": {"reason": type(exc).__name__, "message": message}}, ensure_ascii=False)
            )
        else:
            print(_("错误：{message}").format(message=message), file=sys.stderr)
        return EXIT_ERROR
    except (OSError, ValueError) as exc:
        message = str(exc).replace("\n", " ")
        if args.json:
            print(
                json.dumps({"error": {"reason": type(exc).__name__, "message": message}}, ensure_ascii=False)
            )
        else:
            print(_("错误：{message}").format(message=message), file=sys.stderr)
        return EXIT_ERROR
    _emit(args, code, data, text)
    return code
