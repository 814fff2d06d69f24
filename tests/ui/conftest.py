"""UI fixtures: the Qt side of the session (task runner, settings, session controller).

The database fixtures (``container``, ``seeded``, ``clock``) come from ``tests/conftest.py``; UI
tests are about the widgets, so they run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from ecmo_desktop.settings import SettingsStore
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.session import SessionController
from ecmo_desktop.ui.tasks import TaskRunner
from tests.kit.documents import Case, charted
from tests.kit.ui import PASSWORD, login_as, make_ui, visible_texts, wait_tasks

# the helpers live in tests/kit/ui.py; many UI tests import them from here
__all__ = ["PASSWORD", "login_as", "make_ui", "visible_texts", "wait_tasks"]


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


@pytest.fixture
def ui(seeded, tasks: TaskRunner, settings_store: SettingsStore) -> UiContext:
    """A UI context over a seeded hospital (nobody logged in yet)."""
    return make_ui(seeded.container, tasks, settings_store)


@pytest.fixture
def empty_ui(container, tasks: TaskRunner, settings_store: SettingsStore) -> UiContext:
    """A UI context over a migrated but not yet set-up database (first run)."""
    return make_ui(container, tasks, settings_store)


@pytest.fixture
def case(seeded, clock) -> Case:  # type: ignore[no-untyped-def]
    """One short case charted through the services in the ``seeded`` hospital (the document tests)."""
    return charted(seeded, clock)[0]


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
