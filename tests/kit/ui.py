"""Driving the widgets in tests/ui as a person would: click, type, wait for the task runner.

Everything waits on the task runner (``qtbot.waitUntil``), never on time. The Qt fixtures themselves
(``ui``, ``tasks``, ``session_factory`` …) are in ``tests/ui/conftest.py``.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit, QWidget

from ecmo_desktop.settings import SettingsStore
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.dialogs.patient import PatientDialog
from ecmo_desktop.ui.session import SessionController
from ecmo_desktop.ui.tasks import TaskRunner
from tests.kit.db import PASSWORD

__all__ = [
    "PASSWORD",
    "click",
    "closed",
    "login_as",
    "make_ui",
    "open_registration",
    "sign_in",
    "type_text",
    "visible_texts",
    "wait_tasks",
]


def make_ui(container: object, tasks: TaskRunner, settings_store: SettingsStore) -> UiContext:
    return UiContext(
        services=container,
        tasks=tasks,
        settings=settings_store,  # type: ignore[arg-type]
        database_label="SQLite：test.sqlite3",
    )


def wait_tasks(qtbot: Any, tasks: TaskRunner) -> None:
    """Until every queued service call has run and its callback has been delivered."""
    qtbot.waitUntil(lambda: tasks.pending == 0, timeout=10_000)


def login_as(ui: UiContext, qtbot: Any, username: str, password: str = PASSWORD) -> None:
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


def click(qtbot: Any, button: QAbstractButton | None) -> None:
    """A left click on a button a person can see and press."""
    assert button is not None
    assert button.isVisible() and button.isEnabled(), button.objectName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def closed(dialog: QWidget) -> bool:
    """Closed (dialogs delete themselves on close)."""
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def type_text(qtbot: Any, edit: QWidget, text: str) -> None:
    """Replace what a line edit holds by typing, as a person would.

    ASCII goes in as key presses; Chinese arrives the way a ward PC's input method delivers it,
    as a committed string (QTest cannot press keys for characters that have none).
    """
    edit.setFocus()
    if isinstance(edit, QLineEdit):
        edit.selectAll()
        qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    if text.isascii():
        qtbot.keyClicks(edit, text)
        return
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(edit, event)


def sign_in(qtbot: Any, session: SessionController, username: str) -> None:
    """Start the session and log in through its login dialog (Enter in the password field); wait for the main
    window.
    """
    session.start()
    qtbot.waitUntil(lambda: session.login_dialog is not None)
    dialog = session.login_dialog
    dialog.username.setText(username)
    dialog.password.setText(PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.main_window is not None)
    wait_tasks(qtbot, session.ui.tasks)


def open_registration(qtbot: Any, session: SessionController) -> PatientDialog:
    """The main window's patient registration, partly filled in (MRN, name, weight)."""
    dialog = session.main_window.register_patient()
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    qtbot.keyClicks(dialog.mrn, "ZY20260001")
    dialog.name.setText("张三")  # QTest can only type ASCII
    qtbot.keyClicks(dialog.weight, "72")
    return dialog
