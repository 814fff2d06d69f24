"""Idle detection and input blocking for the screen lock (ACC-5).

One application-wide event filter sees every key and mouse event. While unlocked it only notes
the time of the last input, read from the injected clock (``ctx.clock.monotonic()``), so tests move
a FakeClock instead of waiting. While locked it swallows every input event whose receiver is not
inside the lock screen: a wedge scanner "typing" a barcode at a locked PC reaches no form.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from ecmo_desktop.services.clock import Clock

_T = QEvent.Type
# events that prove a person is at the PC
ACTIVITY = frozenset(
    {
        _T.KeyPress,
        _T.MouseButtonPress,
        _T.MouseButtonDblClick,
        _T.MouseMove,
        _T.Wheel,
        _T.TouchBegin,
        _T.TabletPress,
        _T.InputMethod,
    }
)
# everything that could carry input to a widget (blocked outside the lock screen while locked)
INPUT = ACTIVITY | frozenset(
    {
        _T.KeyRelease,
        _T.ShortcutOverride,
        _T.Shortcut,
        _T.MouseButtonRelease,
        _T.TouchUpdate,
        _T.TouchEnd,
        _T.TabletMove,
        _T.TabletRelease,
        _T.ContextMenu,
        _T.InputMethodQuery,
        _T.Drop,
        _T.DragEnter,
        _T.DragMove,
    }
)
_SHORTCUTS = frozenset({_T.Shortcut, _T.ShortcutOverride})


class IdleMonitor(QObject):
    """Emits ``timed_out`` once after ``minutes()`` without input; ``guard`` confines input when locked."""

    timed_out = Signal()
    lock_key = Signal()  # Ctrl+L pressed anywhere, even inside a modal dialog

    def __init__(
        self,
        clock: Clock,
        minutes: Callable[[], int],
        *,
        interval_ms: int = 500,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._minutes = minutes
        self._last = clock.monotonic()
        self._armed = False
        self._guard: QWidget | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self)

    # ---- state ----------------------------------------------------------------------------------
    def arm(self) -> None:
        """Start counting from now (after login or unlock)."""
        self._last = self._clock.monotonic()
        self._armed = True
        self._timer.start()

    def disarm(self) -> None:
        self._armed = False
        self._timer.stop()

    @property
    def armed(self) -> bool:
        return self._armed

    def set_guard(self, widget: QWidget | None) -> None:
        """While set, input reaches only ``widget`` and its children (the lock screen)."""
        self._guard = widget

    @property
    def idle_seconds(self) -> float:
        return self._clock.monotonic() - self._last

    def check(self) -> None:
        if self._armed and self.idle_seconds >= self._minutes() * 60:
            self.disarm()
            self.timed_out.emit()

    def remove(self) -> None:
        self.disarm()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    # ---- the filter -----------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in INPUT:
            return False
        guard = self._guard
        if guard is not None:
            return not self._inside_guard(watched, guard, shortcut=kind in _SHORTCUTS)
        if kind in ACTIVITY:
            self._last = self._clock.monotonic()
        if (
            kind == _T.KeyPress
            and self._armed
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_L
            and event.modifiers() == Qt.KeyboardModifier.ControlModifier
        ):
            # the menu's QAction cannot fire while a modal dialog shadows the main window
            self.lock_key.emit()
            return True
        return False

    @staticmethod
    def _inside_guard(watched: QObject, guard: QWidget, *, shortcut: bool) -> bool:
        if isinstance(watched, QWidget):
            return watched is guard or guard.isAncestorOf(watched)
        if shortcut:  # QShortcut/QAction: allowed only when owned by the lock screen
            owner = watched.parent()
            return isinstance(owner, QWidget) and (owner is guard or guard.isAncestorOf(owner))
        return True  # a QWindow hands the event on to its widget, which is checked then
