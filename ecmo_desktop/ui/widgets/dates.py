"""Date boxes that keep what was typed.

Qt's date edits edit section by section: after selecting everything (Ctrl+A, a double click) the
digits of a new year are refused, ``2026-3-1`` leaves the day at its old value, and ``20260301``
or ``2026/3/1`` are not taken at all — the box silently keeps the old date and that is what gets
saved. These boxes let any run of digits and the usual separators be typed, and turn it into the
date (and time) when the typing is interpreted: focus leaving, Enter, or the value being read by
a Save that was pressed with a shortcut (``value()`` interprets first).
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtGui import QFocusEvent, QKeyEvent, QValidator
from PySide6.QtWidgets import QDateEdit, QDateTimeEdit, QLineEdit, QWidget

from ecmo_desktop.i18n import _

REFUSED_STYLE = "QLineEdit { background: #ffebee; }"
# digits with the separators people type for dates and times (also 年月日 from a Chinese IME)
TYPED = re.compile(r"[\d \-/.:年月日时分号]{0,24}")


def parse_typed(text: str, *, with_time: bool) -> tuple[QDate, QTime | None] | None:
    """``2026-3-1``, ``2026/03/01 8:05``, ``20260301``, ``202603010805``, ``2026年3月1日`` → date (and time).

    The year must have four digits (a two-digit year is ambiguous on a medical record). Without a
    typed time, None is returned for the time (the caller keeps the box's own).
    """
    groups = re.findall(r"\d+", text)
    if len(groups) == 1 and len(groups[0]) in (8, 12):
        run = groups[0]
        groups = [run[:4], run[4:6], run[6:8]] + ([run[8:10], run[10:12]] if len(run) == 12 else [])
    if len(groups) < 3 or len(groups[0]) != 4 or any(len(g) > 2 for g in groups[1:]):
        return None
    if len(groups) > (5 if with_time else 3):
        return None
    day = QDate(int(groups[0]), int(groups[1]), int(groups[2]))
    if not day.isValid():
        return None
    if len(groups) == 3:
        return day, None
    moment = QTime(int(groups[3]), int(groups[4]) if len(groups) == 5 else 0)
    return (day, moment) if moment.isValid() else None


# the mixin is checked as the date edit it is mixed into; at run time it must stay a plain class
if TYPE_CHECKING:
    _DateEditMixin = QDateTimeEdit
else:
    _DateEditMixin = object


class _TypedMixin(_DateEditMixin):
    """Typing starts a new date, read leniently.

    Keys typed into the box just focused (by click or Tab) or fully selected are taken as plain
    text — the person sees exactly what they type, Qt's section editor does not second-guess it —
    and read as a date when the typing ends (focus leaves, Enter, or the value is read). After
    moving inside the box with the arrow keys, Qt's section editing applies as usual.
    """

    with_time = False
    _free = False  # the text is what was typed, not yet read
    _fresh = False  # focused and not yet navigated: typing replaces the whole date

    def _show(self, text: str) -> None:
        edit: QLineEdit = self.lineEdit()
        edit.blockSignals(True)  # the section editor would re-read (and undo) a half-typed date
        edit.setText(text)
        edit.blockSignals(False)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        edit: QLineEdit = self.lineEdit()
        text = event.text()
        plain = not event.modifiers() & ~(
            Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
        )
        typing = plain and len(text) == 1 and TYPED.fullmatch(text) is not None
        whole = edit.hasSelectedText() and edit.selectedText() == edit.text()
        if typing and (whole or self._free or self._fresh):
            kept = edit.text() if self._free and not whole else ""
            self._free, self._fresh = True, False
            self._show(kept + text)
            event.accept()
            return
        if self._free and event.key() == Qt.Key.Key_Backspace and plain:
            self._show(edit.text()[:-1])
            event.accept()
            return
        self.commit_typed()
        if event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab):
            self._fresh = False  # moving or stepping inside the box: Qt's section editing
        super().keyPressEvent(event)

    def focusNextPrevChild(self, forward: bool) -> bool:
        """Tab after typing a whole date leaves the box (Qt would step through its sections)."""
        if self._free:
            self.commit_typed()
            return QWidget.focusNextPrevChild(self, forward)
        return super().focusNextPrevChild(forward)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self._fresh = True

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self.commit_typed()
        super().focusOutEvent(event)

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        if self._free and TYPED.fullmatch(text):
            return QValidator.State.Intermediate, text, pos  # being typed: shown exactly as typed
        return super().validate(text, pos)

    def fixup(self, text: str) -> str:
        """A half-typed section (``2026-03-1``) is read as the date it names, not dropped."""
        stamp = self._typed_stamp(text)
        return stamp.toString(self.displayFormat()) if stamp else super().fixup(text)

    def _typed_stamp(self, text: str) -> QDateTime | None:
        parsed = parse_typed(text, with_time=self.with_time)
        if parsed is None:
            return None
        day, moment = parsed
        current: QDateTime = super().dateTime()
        return QDateTime(day, moment if moment is not None else current.time(), current.timeZone())

    def commit_typed(self) -> None:
        """Read what was typed (also before a Save by shortcut, which does not move the focus)."""
        if self._free:
            self._free = False
            typed = self.lineEdit().text()
            stamp = self._typed_stamp(typed)
            if stamp is not None:
                self.setDateTime(stamp)
            self._mark_refused(None if stamp is not None else typed)
            self._show(self.textFromDateTime(super().dateTime()))
        self.interpretText()

    def _mark_refused(self, typed: str | None) -> None:
        """A typed text that is no date leaves the old date, visibly: red frame and the reason."""
        edit: QLineEdit = self.lineEdit()
        if typed is None:
            edit.setStyleSheet("")
            self.setToolTip("")
            return
        edit.setStyleSheet(REFUSED_STYLE)
        self.setToolTip(
            _("无法识别“{typed}”，日期未改变；请按 {format} 输入").format(
                typed=typed, format=self.displayFormat()
            )
        )

    # Reading the value from Python reads what is typed (Qt's own calls are not affected).
    def date(self) -> QDate:
        self.commit_typed()
        return super().date()

    def dateTime(self) -> QDateTime:
        self.commit_typed()
        return super().dateTime()


class TypedDateEdit(_TypedMixin, QDateEdit):
    """A date (yyyy-MM-dd), typed or picked from the calendar."""

    def __init__(self, value: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCalendarPopup(True)
        self.setDisplayFormat("yyyy-MM-dd")
        if value is not None:
            self.setDate(QDate(value.year, value.month, value.day))


class TypedDateTimeEdit(_TypedMixin, QDateTimeEdit):
    """A date and time, typed or picked."""

    with_time = True
