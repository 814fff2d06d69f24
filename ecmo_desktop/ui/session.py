"""Who is at the keyboard: first run → login → main window, and the idle lock (ACC-4, ACC-5).

The controller owns the transitions so every path is the same whatever triggered it: after
``policy.idle_lock_minutes`` without input (or Ctrl+L) the lock screen covers everything. The same
user unlocks with the password and finds every window, dialog and typed character as left. A
different user may log in from the lock screen: the previous user's dialogs are captured as
drafts sealed under their user id, all their windows are closed, and the new user starts fresh;
the drafts come back only when their author logs in again in this app session.

An account locked or deactivated while logged in (on this PC or another) ends the session at its next
action or refresh (``TaskRunner.session_ended``): the same sealing as a change of user — drafts kept
for that user, every window with patient data closed — and the login dialog says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.dialogs.first_run import FirstRunWizard
from ecmo_desktop.ui.dialogs.login import LoginDialog
from ecmo_desktop.ui.dialogs.password import ChangePasswordDialog
from ecmo_desktop.ui.idle import IdleMonitor
from ecmo_desktop.ui.lock_screen import LockScreen

if TYPE_CHECKING:
    from ecmo_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

POLICY_REFRESH_MS = 60_000  # a new idle-lock timeout set elsewhere reaches this PC within a minute
# The main window's modules (every page, the services behind them, reportlab …) are imported while
# the login window waits for the user, not before it is shown (issue 15): this long after it is shown.
PRELOAD_MAIN_WINDOW_MS = 150


def _main_window_class() -> type[MainWindow]:
    from ecmo_desktop.ui.main_window import MainWindow

    return MainWindow


def _preload_main_window() -> None:
    _main_window_class()


class SessionController(QObject):
    entered = Signal(object)  # CurrentUser: the main window is up
    locked = Signal()
    unlocked = Signal()
    logged_out = Signal()
    finished = Signal(int)  # the application should exit with this code

    def __init__(
        self,
        ui: UiContext,
        *,
        idle_interval_ms: int = 500,
        policy_refresh_ms: int = POLICY_REFRESH_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ui = ui
        ctx = ui.services.ctx
        # the policy (idle-lock minutes) may be changed by the CLI or another ward PC: re-read it now and then
        self.policy_timer = QTimer(self)
        self.policy_timer.setInterval(policy_refresh_ms)
        self.policy_timer.timeout.connect(self._refresh_policy)
        self.idle = IdleMonitor(
            ctx.clock, lambda: ctx.policy.idle_lock_minutes, interval_ms=idle_interval_ms, parent=self
        )
        self.idle.timed_out.connect(lambda: self.lock(idle=True))
        self.idle.lock_key.connect(lambda: self.lock(idle=False))
        self.main_window: MainWindow | None = None
        self.lock_screen: LockScreen | None = None
        self.login_dialog: LoginDialog | None = None
        self.wizard: FirstRunWizard | None = None
        self.password_dialog: ChangePasswordDialog | None = None
        self._quitting = False
        self.session_user: CurrentUser | None = None  # whose window is open (ctx.user may be cleared first)
        ui.tasks.session_ended.connect(self._session_ended)

    # ---- start: first run or login --------------------------------------------------------------
    def start(self) -> None:
        """The login window at once; the database may still be opening on the worker (app.py), so the
        question whether this is a first run queues behind it. The services are looked up on the
        worker (``lambda``), never here: they may not exist yet."""
        services = self.ui.services
        self.show_login()
        self.ui.tasks.run_op(lambda: services.auth.is_initialised(), self._initialised, self._fatal)

    def _initialised(self, initialised: bool) -> None:
        if initialised or self._quitting:
            return
        dialog = self.login_dialog  # a new database: its first administrator is set up instead
        self.login_dialog = None
        if dialog is not None and shiboken6.isValid(dialog):
            dialog.rejected.disconnect()
            dialog.close()
        self.show_wizard()

    def _fatal(self, exc: BaseException) -> None:
        if self._quitting:  # the start failed already (the database could not be opened): told once
            return
        self.ui.tasks.default_error(None, exc)
        self.finished.emit(2)

    def show_wizard(self) -> FirstRunWizard:
        wizard = FirstRunWizard(self.ui)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.accepted.connect(lambda: self.show_login(wizard.username.text()))
        wizard.rejected.connect(lambda: self.quit(0))
        self.wizard = wizard
        wizard.show()
        return wizard

    def show_login(self, username: str = "") -> LoginDialog:
        dialog = LoginDialog(self.ui, username=username)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._logged_in(dialog.user))
        dialog.rejected.connect(lambda: self.quit(0))
        self.login_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        QTimer.singleShot(PRELOAD_MAIN_WINDOW_MS, _preload_main_window)
        return dialog

    def _logged_in(self, user: CurrentUser | None) -> None:
        self.login_dialog = None
        if user is None:
            return
        if user.must_change_password:
            self.force_password_change()
        else:
            self.enter(user)

    def force_password_change(self) -> ChangePasswordDialog:
        """C5: an initial or reset password is replaced before anything else is possible."""
        dialog = ChangePasswordDialog(self.ui, forced=True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._password_changed)
        dialog.rejected.connect(self.logout)
        self.password_dialog = dialog
        dialog.show()
        return dialog

    def _password_changed(self) -> None:
        self.password_dialog = None
        user = self.ui.user
        if user is not None:
            self.enter(user)

    def enter(self, user: CurrentUser) -> MainWindow:
        self.session_user = user
        window = _main_window_class()(self.ui, user)
        window.lock_requested.connect(lambda: self.lock(idle=False))
        window.logout_requested.connect(self.logout)
        window.change_password_requested.connect(self.change_password)
        window.quit_requested.connect(lambda: self.quit(0))
        self.main_window = window
        window.show()
        self.idle.arm()
        self.policy_timer.start()
        drafts = self.ui.drafts.take(user.id)
        if drafts:
            window.restore_drafts(drafts)
        self.entered.emit(user)
        return window

    def _refresh_policy(self) -> None:
        if not self.ui.tasks.pending:  # never queue behind (or pile up on) a busy worker
            self.ui.tasks.run_op(self.ui.services.auth.policy, None, _log_only)

    def change_password(self) -> ChangePasswordDialog:
        dialog = ChangePasswordDialog(self.ui, self.main_window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # ---- the lock -------------------------------------------------------------------------------
    @property
    def is_locked(self) -> bool:
        return self.lock_screen is not None

    def lock(self, *, idle: bool = False) -> LockScreen | None:
        user = self.ui.user
        if self.lock_screen is not None or user is None or self.main_window is None:
            return self.lock_screen
        self.idle.disarm()
        screen = LockScreen(user)
        screen.unlock_requested.connect(self._unlock)
        screen.switch_requested.connect(self._switch)
        self.lock_screen = screen
        self.idle.set_guard(screen)
        screen.cover()
        auth = self.ui.services.auth
        self.ui.tasks.run_op(lambda: auth.lock_screen(idle=idle), None, _log_only)
        self.locked.emit()
        return screen

    def _unlock(self, password: str) -> None:
        screen = self.lock_screen
        assert screen is not None
        auth = self.ui.services.auth
        self.ui.tasks.run_op(
            lambda: auth.unlock_screen(password), lambda _r: self._unlocked(), screen.failed, parent=screen
        )

    def _unlocked(self) -> None:
        self._release_lock()
        self.idle.arm()
        self.unlocked.emit()

    def _switch(self, username: str, password: str) -> None:
        screen = self.lock_screen
        assert screen is not None
        previous = self.ui.user
        ctx, auth = self.ui.services.ctx, self.ui.services.auth

        def work() -> CurrentUser:
            # login() changes ctx.user only on success, so a failed attempt leaves the locked session intact
            new_user = auth.login(username, password)
            if previous is not None:  # the previous user's session ends: audited as their logout
                ctx.user = previous
                try:
                    auth.logout()
                except EcmoError as exc:
                    log.warning("could not audit the logout of %s: %s", previous.username, exc)
                finally:
                    ctx.user = new_user
            return new_user

        self.ui.tasks.run_op(work, lambda user: self._switched(previous, user), screen.failed, parent=screen)

    def _switched(self, previous: CurrentUser | None, user: CurrentUser) -> None:
        if previous is not None:
            self._seal(previous)
        self._release_lock()
        self._logged_in(user)

    def _release_lock(self) -> None:
        screen = self.lock_screen
        self.lock_screen = None
        self.idle.set_guard(None)
        if screen is not None:
            screen.releasable = True
            screen.close()
            screen.deleteLater()

    # ---- ending a session -----------------------------------------------------------------------
    def _session_ended(self, exc: BaseException) -> None:
        """The account may not go on (locked or deactivated since login): close its session now."""
        user = self.session_user
        if user is None or self.main_window is None or self._quitting:
            return  # already ended (several refreshes can fail in a row)
        log.info("session of %s ended: %s", user.username, exc)
        self._seal(user)
        self._release_lock()
        self.password_dialog = None
        self.session_user = None
        self.ui.services.ctx.user = None
        self.logged_out.emit()
        dialog = self.show_login(user.username)
        dialog.show_failure(exc)

    def _seal(self, user: CurrentUser) -> None:
        """Keep the user's unsaved dialogs as drafts under their id, then close all their windows."""
        window = self.main_window
        self.main_window = None
        self.idle.disarm()
        if window is None:
            return
        for dialog in window.draftables():
            self.ui.drafts.put(user.id, dialog.draft_key, dialog.draft())
        for child in window.findChildren(QWidget):
            if child.isWindow() and child.isVisible():
                child.hide()
        window.closing_for_session = True
        window.close()
        window.deleteLater()

    def logout(self) -> None:
        user = self.ui.user
        if self.password_dialog is not None:
            self.password_dialog = None
        if user is not None:
            self._seal(user)
        self._release_lock()
        auth = self.ui.services.auth

        def done(_result: object = None) -> None:
            self.logged_out.emit()
            if not self._quitting:
                self.show_login(user.username if user else "")

        if user is None:
            done()
            return
        self.ui.tasks.run_op(auth.logout, done, lambda exc: _log_only(exc, then=done))

    def quit(self, code: int = 0) -> None:
        """Leave the app: the open session is logged out (audited) before the exit."""
        if self._quitting:
            return
        self._quitting = True
        self.idle.disarm()
        user = self.ui.user
        if user is not None and self.main_window is not None:
            window = self.main_window
            self.main_window = None
            window.closing_for_session = True
            window.close()
            window.deleteLater()
        if user is not None:
            self.ui.tasks.run_op(
                self.ui.services.auth.logout,
                lambda _r: self.finished.emit(code),
                lambda exc: _log_only(exc, then=lambda: self.finished.emit(code)),
            )
        else:
            self.finished.emit(code)

    def shutdown(self) -> None:
        """Remove the event filter and close whatever is still open (tests, app exit)."""
        self._quitting = True
        self.policy_timer.stop()
        self.idle.remove()
        self._release_lock()
        for widget in (self.main_window, self.login_dialog, self.wizard, self.password_dialog):
            if widget is not None and shiboken6.isValid(widget):
                if widget is self.main_window:
                    widget.closing_for_session = True
                widget.close()
                widget.deleteLater()
        self.main_window = self.login_dialog = self.wizard = self.password_dialog = None
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _log_only(exc: BaseException, then: Callable[[], object] | None = None) -> None:
    """Bookkeeping failures are logged, never shown; ``then`` carries on as after a success."""
    log.warning("session bookkeeping failed: %s", exc)
    if then is not None:
        then()
