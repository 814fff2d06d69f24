"""The GUI composition root: settings, logging, database, Qt, translators, session.

It is the only module that wires the GUI together and nothing imports it. The login window is shown
first and the database opened behind it, on the serial worker (``OpeningContainer``): SQLAlchemy and
the mapping of every table take most of a start (issue 15). Whatever the window asks of the services
(the hospital's name, the login itself) queues behind the opening on that worker, so a fast typist
loses nothing. A database that cannot be opened safely (damaged, foreign, on a network drive, written
by a newer version, server unreachable) ends the start with a Chinese message naming it, before
anything writes to it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from PySide6.QtCore import QEvent, QLibraryInfo, QLocale, QObject, QTimer, QTranslator
from PySide6.QtGui import QFont, QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox, QWidget

from ecmo_desktop import __version__
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, set_language
from ecmo_desktop.log import install_excepthooks, setup_logging, uninstall_excepthooks
from ecmo_desktop.paths import APP_NAME, default_database_path, resource_path
from ecmo_desktop.services.base import ServiceContext
from ecmo_desktop.settings import SettingsStore
from ecmo_desktop.ui.context import Services, UiContext
from ecmo_desktop.ui.errors import ExceptionReporter, details_of, show_error_from_task
from ecmo_desktop.ui.qt_gaps import QtGapsTranslator
from ecmo_desktop.ui.session import SessionController
from ecmo_desktop.ui.tasks import TaskRunner

if TYPE_CHECKING:  # the database layer is imported on the worker, after the login window is up
    from ecmo_desktop.container import Container
    from ecmo_desktop.storage.migrate import BackgroundIntegrityCheck

log = logging.getLogger(__name__)

EXIT_DATABASE = 2
# the database opens once the first window is painted (its imports would otherwise compete with the
# painting for the interpreter), or after this long if no paint comes (a platform that paints nothing)
OPEN_AFTER_PAINT_TIMEOUT_S = 2.0
INTEGRITY_POLL_MS = 250
# Benchmarks only (benchmarks/bench_startup.py): when set to a file path, the start appends when the login
# window and the main window are first painted, logs in with ECMO_BENCH_STARTUP_LOGIN ("user<TAB>password")
# and quits once the main window is painted. Unset — always, in production — it does nothing.
STARTUP_PROBE_ENV = "ECMO_BENCH_STARTUP_PROBE"
STARTUP_PROBE_LOGIN_ENV = "ECMO_BENCH_STARTUP_LOGIN"
# Fonts that draw Chinese well, best first (Debian ward PCs, Windows, macOS, Noto everywhere).
CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "Microsoft YaHei UI",
    "PingFang SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "SimHei",
)


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our options; anything else (``-platform offscreen`` …) is left for Qt."""
    parser = argparse.ArgumentParser(prog="ecmo-ward", description="ECMO Ward")
    parser.add_argument("--db", metavar="URL", help="sqlite:///path, postgresql+psycopg://… or a file path")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), help="界面语言 (zh_CN | en)")
    parser.add_argument("--version", action="version", version=f"ECMO Ward {__version__}")
    return parser.parse_known_args(list(argv))


def database_url(explicit: str | None = None) -> str:
    """``container.resolve_database_url`` without importing the database layer (the login window
    needs the URL for its label before that layer loads): ``--db`` beats ``ECMO_DATABASE_URL`` beats
    the SQLite file in the user's data folder; a bare path is an SQLite file."""
    url = explicit or os.environ.get("ECMO_DATABASE_URL")
    if url:
        return url if "://" in url else f"sqlite:///{os.path.abspath(url)}"
    return f"sqlite:///{default_database_path()}"


def describe_database(url: str) -> str:
    """What the status bar and error messages call the database (never a password); parsed without
    SQLAlchemy, which is not loaded yet when the login window shows it."""
    scheme, _sep, rest = url.partition("://")
    if scheme.split("+")[0] == "sqlite":
        database = rest[1:].split("?", 1)[0] if rest.startswith("/") else ""
        if not database or database == ":memory:":
            return "SQLite：" + _("内存数据库")
        return f"SQLite：{database}"
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("["):  # IPv6
        name, port = host[: host.index("]") + 1], host[host.index("]") + 1 :].lstrip(":")
    else:
        name, _colon, port = host.partition(":")
    database = unquote(parts.path.lstrip("/"))
    return f"PostgreSQL：{name or 'localhost'}{':' + port if port else ''}/{database}"


def open_failure_text(url: str, exc: BaseException) -> str:
    """The message shown when the database cannot be opened: which one, why, what was not done."""
    from ecmo_desktop.storage.engine import sqlite_path

    path = sqlite_path(url)
    if path is not None:
        head = _("无法打开数据库文件：\n{path}").format(path=path)
        tail = _("程序没有改动这个文件。请联系管理员，或从备份恢复。")
    else:
        head = _("无法连接数据库：\n{db}").format(db=describe_database(url))
        tail = _("请检查网络和数据库服务器，或联系管理员。")
    why = (
        exc.user_message()
        if isinstance(exc, EcmoError)
        else _("意外错误：{error}").format(error=str(exc)[:300])
    )
    return f"{head}\n\n{why}\n\n{tail}"


def install_translators(app: QApplication, language: str) -> list[QTranslator]:
    """Qt's own buttons and dialogs (确定/取消, file dialogs, "显示详细信息…") in the UI language."""
    translators: list[QTranslator] = []
    if language == DEFAULT_LANGUAGE:
        QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        for name in ("qtbase_zh_CN", "qt_zh_CN"):
            translator = QTranslator(app)
            if translator.load(name, folder):
                app.installTranslator(translator)
                translators.append(translator)
                break
        else:
            log.warning("Qt's Chinese translation not found in %s", folder)
        gaps = QtGapsTranslator(app)  # after Qt's own: asked first, for the texts Qt leaves in English
        app.installTranslator(gaps)
        translators.append(gaps)
    else:
        QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))
    return translators


def choose_font(app: QApplication) -> str | None:
    """A font that renders Chinese: WenQuanYi Micro Hei when present, else the platform's CJK face."""
    families = set(QFontDatabase.families())
    for family in CJK_FAMILIES:
        if family in families:
            font = QFont(app.font())
            font.setFamilies([family, *font.families()])
            app.setFont(font)
            return family
    return None


def split_program(argv: Sequence[str]) -> tuple[str, list[str]]:
    """``argv`` with or without the program name first: the GUI takes only options, so a first
    word that is not an option is the program (``sys.argv``), else it is absent (``__main__``)."""
    if argv and not argv[0].startswith("-"):
        return argv[0], list(argv[1:])
    return "ecmo-ward", list(argv)


def main(argv: Sequence[str] | None = None) -> int:
    program, options = split_program(list(sys.argv if argv is None else argv))
    args, rest = parse_args(options)
    settings = SettingsStore()
    language = args.lang or settings.load().language
    set_language(language)
    log_path = setup_logging()
    log.info("ECMO Ward %s starting (language %s, log %s)", __version__, language, log_path)

    app = QApplication.instance() or QApplication([program, *rest])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "app.svg"))))
    install_translators(app, language)
    family = choose_font(app)
    log.info("UI font: %s", family or app.font().family())
    reporter = ExceptionReporter(app)
    install_excepthooks(reporter)

    url = database_url(args.db)
    opening = OpeningContainer(url)
    tasks = TaskRunner(default_error=show_error_from_task)
    ui = UiContext(
        services=cast(Services, opening),
        tasks=tasks,
        settings=settings,
        database_label=describe_database(url),
    )
    session = SessionController(ui)
    session.finished.connect(app.exit)
    app.setQuitOnLastWindowClosed(False)
    probe = (
        StartupProbe(app, session, os.environ[STARTUP_PROBE_ENV])
        if os.environ.get(STARTUP_PROBE_ENV)
        else None
    )
    background: list[Any] = []  # the integrity check and its poll, once the file is open

    def opened(container: Container) -> None:
        # the full check of the SQLite file, off the start-up path (opened with the light check)
        check = container.start_integrity_check()
        if check is not None:
            background.extend([check, watch_integrity_check(check, url)])

    def failed(exc: BaseException) -> None:
        log.error("cannot open database %s", describe_database(url), exc_info=not isinstance(exc, EcmoError))
        session.shutdown()  # the login window goes; what was queued behind the opening is dropped
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            _("无法打开数据库"),
            open_failure_text(url, exc),
            QMessageBox.StandardButton.Ok,
        )
        if not isinstance(exc, EcmoError):
            box.setDetailedText(details_of(exc))
        box.exec()
        app.exit(EXIT_DATABASE)

    gate = FirstPaintGate(app, opening.may_open)
    tasks.run_op(opening.open, opened, failed)  # the worker's first job: everything else queues behind it
    session.start()
    try:
        code = app.exec()
    finally:
        for item in background:
            if isinstance(item, QTimer):
                item.stop()
            else:
                item.cancel()
        if probe is not None:
            app.removeEventFilter(probe)
        app.removeEventFilter(gate)
        opening.may_open.set()  # a start ended before any paint: the worker must not wait
        session.shutdown()
        tasks.shutdown()
        opening.close()
        uninstall_excepthooks()
    log.info("ECMO Ward exiting with code %s", code)
    return int(code)


class OpeningContainer:
    """Stands in for the ``Container`` while the database opens on the serial worker (issue 15).

    ``ctx`` exists from the start (the session controller and the login window read who is logged
    in); every other attribute is the container's and is asked for on the worker, where jobs run in
    order: anything queued after ``open`` finds the database open — or fails with the reason it could
    not be opened.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.ctx = ServiceContext()
        self.container: Container | None = None
        self.error: BaseException | None = None
        self.may_open = threading.Event()  # set at the first paint (FirstPaintGate)
        self._lock = threading.Lock()

    def open(self) -> Container:
        self.may_open.wait(OPEN_AFTER_PAINT_TIMEOUT_S)
        from ecmo_desktop.container import build_container

        try:
            container = build_container(self.url, ctx=self.ctx)
        except BaseException as exc:
            self.error = exc
            raise
        with self._lock:
            self.container = container
        return container

    def __getattr__(self, name: str) -> Any:
        container = self.__dict__.get("container")
        if container is None:
            error = self.__dict__.get("error")
            if error is not None:
                raise error
            raise AttributeError(f"{name}: the database is not open yet")
        return getattr(container, name)

    def close(self) -> None:
        with self._lock:
            container, self.container = self.container, None
        if container is not None:
            container.close()


class FirstPaintGate(QObject):
    """Sets ``event`` when the first window has been painted: the login window is on screen before
    the database layer is imported behind it."""

    def __init__(self, app: QApplication, event: threading.Event) -> None:
        super().__init__(app)
        self.app, self.ready = app, event
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            not self.ready.is_set()
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.isWindow()
        ):
            QTimer.singleShot(0, self.ready.set)  # after this paint has reached the screen
        return False


def integrity_failure_text(url: str, problem: str) -> str:
    """What the user is told when the background integrity check finds the file damaged."""
    return "\n\n".join(
        [
            _("后台完整性检查发现数据库文件有问题：\n{db}").format(db=describe_database(url)),
            problem,
            _("请停止录入，关闭程序，并联系管理员从备份恢复。启动后保存的内容也请在恢复后核对。"),
        ]
    )


def watch_integrity_check(check: BackgroundIntegrityCheck, url: str) -> QTimer:
    """Poll the check from the GUI thread (the check's thread never touches Qt) and say clearly when
    it failed; a passing check is only logged."""
    timer = QTimer()
    timer.setInterval(INTEGRITY_POLL_MS)

    def poll() -> None:
        if not check.done:
            return
        timer.stop()
        if check.problem is None:
            return
        log.error("integrity check failed: %s", check.problem)
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            _("数据库文件损坏"),
            integrity_failure_text(url, check.problem),
            QMessageBox.StandardButton.Ok,
            QApplication.activeWindow(),
        )
        box.exec()

    timer.timeout.connect(poll)
    timer.start()
    return timer


class StartupProbe(QObject):
    """The benchmark's view of a start (see ``STARTUP_PROBE_ENV``); never active in production."""

    def __init__(self, app: QApplication, session: SessionController, out: str) -> None:
        super().__init__(app)
        self.app, self.session, self.out = app, session, out
        self.seen: set[str] = set()
        login = os.environ.get(STARTUP_PROBE_LOGIN_ENV, "")
        self.credentials = tuple(login.split("\t", 1)) if "\t" in login else None
        app.installEventFilter(self)

    def _mark(self, what: str) -> None:
        with open(self.out, "a", encoding="utf-8") as fh:
            fh.write(f"{what} {time.time():.6f}\n")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and isinstance(watched, QWidget) and watched.isWindow():
            name = type(watched).__name__
            if name == "LoginDialog" and "login" not in self.seen:
                self.seen.add("login")
                self._mark("login_painted")
                if self.credentials is not None:
                    QTimer.singleShot(0, lambda: self._log_in(watched))
                else:
                    QTimer.singleShot(0, lambda: self.session.quit(0))
            elif name == "MainWindow" and "main" not in self.seen:
                self.seen.add("main")
                self._mark("main_painted")
                QTimer.singleShot(0, lambda: self.session.quit(0))
        return False

    def _log_in(self, dialog: QObject) -> None:
        assert self.credentials is not None
        user, password = self.credentials
        dialog.username.setText(user)  # type: ignore[attr-defined]
        dialog.password.setText(password)  # type: ignore[attr-defined]
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()  # type: ignore[attr-defined]
