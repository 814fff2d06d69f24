"""Every window fits the screen it opens on, down to 1366×768 — the commonest ward-PC resolution.

Forms scroll inside their window (``RecordDialog``'s scroll area); the window itself is never taller
or wider than the screen's free area minus the frame the window manager adds, so Save/Cancel are
always on screen. ``ScreenFit`` does it for a window class: its size hint is bounded by the screen,
and on first show it shrinks to fit and moves fully on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import QWidget

WARD_SCREEN = QSize(1366, 768)
# What the window manager adds around a window (Windows 10/11: ~31 px title bar, 8 px borders).
FRAME = QSize(16, 40)


def screen_area(widget: QWidget | None = None) -> QRect:
    """The free area (without task bar) of the screen ``widget`` is on, or of the primary screen."""
    screen = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return (
        screen.availableGeometry()
        if screen is not None
        else QRect(0, 0, WARD_SCREEN.width(), WARD_SCREEN.height())
    )


def window_budget(widget: QWidget | None = None) -> QSize:
    """The largest client size a window may have on that screen."""
    area = screen_area(widget).size()
    return QSize(max(200, area.width() - FRAME.width()), max(200, area.height() - FRAME.height()))


def fit_window(widget: QWidget) -> None:
    """Shrink ``widget`` to the screen's budget and move it so that all of it is on screen."""
    budget = window_budget(widget)
    size = widget.size().boundedTo(budget).expandedTo(widget.minimumSize().boundedTo(budget))
    if size != widget.size():
        widget.resize(size)
    area = screen_area(widget)
    frame = widget.frameGeometry()
    x = min(max(frame.x(), area.left()), area.right() + 1 - frame.width())
    y = min(max(frame.y(), area.top()), area.bottom() + 1 - frame.height())
    if (x, y) != (frame.x(), frame.y()) and widget.isWindow():
        widget.move(max(x, area.left()), max(y, area.top()))


# the mixin is checked as the QWidget it is mixed into; at run time it must stay a plain class
if TYPE_CHECKING:
    _WidgetMixin = QWidget
else:
    _WidgetMixin = object


class ScreenFit(_WidgetMixin):
    """Mixin for a top-level QWidget class (put it first: ``class D(ScreenFit, QDialog)``)."""

    _fitted = False

    def sizeHint(self) -> QSize:
        return super().sizeHint().boundedTo(window_budget(self))

    def showEvent(self, event: QShowEvent) -> None:
        if not self._fitted:
            self._fitted = True
            fit_window(self)
        super().showEvent(event)
