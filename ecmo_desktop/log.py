"""The rotating log and the last-resort exception hooks (DESIGN habit 9).

Every unexpected exception — on the GUI thread, in a worker thread, anywhere — is written to the
log with its traceback and then handed to a *reporter* (the UI's short translated message box).
The reporter is injected so this module stays free of Qt and the CLI can use the same hooks.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from ecmo_desktop.paths import log_dir

LOG_FILE = "ecmo_ward.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 5
_FORMAT = "%(asctime)s %(levelname)-7s [%(threadName)s] %(name)s: %(message)s"

log = logging.getLogger("ecmo_desktop")

Reporter = Callable[[BaseException], None]
_LOGGED = "_ecmo_logged"


def log_exception(exc: BaseException, message: str = "unexpected error", *, details: str = "") -> None:
    """Write ``exc`` with its traceback to the log, once however many paths report it.

    Every error box that says "详细信息已写入日志" relies on this: the worker thread, the exception
    hooks and the error box all call it, and only the first writes (the exception is marked).
    """
    if getattr(exc, _LOGGED, False):
        return
    if exc.__traceback__ is not None or not details:
        log.error(message, exc_info=(type(exc), exc, exc.__traceback__))
    else:
        log.error("%s\n%s", message, details)
    mark_logged(exc)


def mark_logged(exc: BaseException) -> None:
    with contextlib.suppress(AttributeError):  # an exception with __slots__: logged twice, the lesser harm
        setattr(exc, _LOGGED, True)


def setup_logging(directory: Path | None = None, *, level: int = logging.INFO, console: bool = True) -> Path:
    """Log to ``<data>/logs/ecmo_ward.log`` (rotated, UTF-8) and stderr; returns the file's path.

    Calling it twice does not add handlers twice (tests and restarts inside one process).
    """
    folder = directory or log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        if getattr(handler, "_ecmo", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    file_handler._ecmo = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter(_FORMAT))
        stream.setLevel(logging.WARNING)
        stream._ecmo = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    return path


def install_excepthooks(reporter: Reporter | None = None) -> None:
    """Route uncaught exceptions (main and worker threads) to the log, then to ``reporter``.

    A failing reporter is logged and swallowed: the hook must never raise itself.
    """

    def report(exc: BaseException) -> None:
        if reporter is None:
            return
        try:
            reporter(exc)
        except Exception:
            log.exception("the error reporter failed")

    def main_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("uncaught exception", exc_info=(exc_type, exc, tb))
        mark_logged(exc)
        report(exc)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread else "?"
        log.error(
            "uncaught exception in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )
        mark_logged(args.exc_value)
        report(args.exc_value)

    sys.excepthook = main_hook
    threading.excepthook = thread_hook


def uninstall_excepthooks() -> None:
    sys.excepthook = sys.__excepthook__
    threading.excepthook = threading.__excepthook__
