"""UI fixtures: the Qt side of the session (task runner, settings, session controller).

The database fixtures (``container``, ``seeded``, ``clock``) come from ``tests/conftest.py``; UI
tests are about the widgets, so they run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from ecmo_desktop.settings import SettingsStore
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.session import SessionController
from ecmo_desktop.ui.tasks import TaskRunner

PASSWORD = "Ward2026pass"


@pytest.fixture
def backend() -> str:
    """Override the parametrised backend: widget behaviour does not depend on the database."""
    return "sqlite"


class ErrorSink:
    """Records what would have gone to the global error box (tests assert on it)."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    def __call__(self, parent: QWidget | None, exc: BaseException, details: str) -> None:
        self.errors.append(exc)


@pytest.fixture
def error_sink() -> ErrorSink:
    return ErrorSink()


@pytest.fixture
def tasks(qapp: QApplication, error_sink: ErrorSink) -> Iterator[TaskRunner]:
    runner = TaskRunner(default_error=error_sink)
    yield runner
    runner.shutdown()


@pytest.fixture
def settings_store(tmp_path: Path) -> SettingsStore:
    return SettingsStore(tmp_path / "config" / "settings.json")


def make_ui(container: object, tasks: TaskRunner, settings_store: SettingsStore) -> UiContext:
    return UiContext(services=container, tasks=tasks, settings=settings_store,  # type: ignore[arg-type]
                     database_label="SQLite：test.sqlite3")


@pytest.fixture
def ui(seeded, tasks: TaskRunner, settings_store: SettingsStore) -> UiContext:
    """A UI context over a seeded hospital (nobody logged in yet)."""
    return make_ui(seeded.container, tasks, settings_store)


@pytest.fixture
def empty_ui(container, tasks: TaskRunner, settings_store: SettingsStore) -> UiContext:
    """A UI context over a migrated but not yet set-up database (first run)."""
    return make_ui(container, tasks, settings_store)


@pytest.fixture
def session_factory(qtbot, tasks: TaskRunner) -> Iterator:
    made: list[SessionController] = []

    def make(ui: UiContext) -> SessionController:
        controller = SessionController(ui, idle_interval_ms=20)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        qtbot.waitUntil(lambda: tasks.pending == 0)
        controller.shutdown()


def wait_tasks(qtbot, tasks: TaskRunner) -> None:
    """Until every queued service call has run and its callback has been delivered."""
    qtbot.waitUntil(lambda: tasks.pending == 0, timeout=10_000)


def login_as(ui: UiContext, qtbot, username: str, password: str = PASSWORD) -> None:
    """Log in directly through the service, on the task runner like the UI does."""
    ui.tasks.run_op(lambda: ui.services.auth.login(username, password))
    wait_tasks(qtbot, ui.tasks)


def visible_texts() -> list[str]:
    """Every line edit's text in every visible window: what another person could read on screen."""
    texts: list[str] = []
    for window in QApplication.topLevelWidgets():
        if not shiboken6.isValid(window) or not window.isVisible():
            continue
        texts.extend(edit.text() for edit in window.findChildren(QLineEdit) if edit.isVisible())
    return texts
