"""Form rows whose validation messages appear next to the field they are about.

Services raise ``ValidationError`` with ``FieldError.field`` set to the *label msgid* of the field
(``N_("体重")``); a form registers each widget under that msgid, so the message lands beside the
right widget and everything the user typed stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.errors import EcmoError, FieldError, ValidationError
from ecmo_desktop.i18n import _
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.widgets.fit import ScreenFit

ERROR_STYLE = "color: #b71c1c;"

_W = TypeVar("_W", bound=QWidget)


def field_message(error: FieldError) -> str:
    """The message without the field name (it is shown right next to the field)."""
    try:
        return _(error.message).format(**error.params)
    except (KeyError, IndexError, ValueError):
        return _(error.message)


def error_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class FieldErrors:
    """Maps field msgids to (widget, error label); shows and clears messages."""

    def __init__(self, general: QLabel) -> None:
        self.general = general
        self._fields: dict[str, tuple[QWidget, QLabel]] = {}

    def bind(self, field: str, widget: QWidget, label: QLabel) -> None:
        self._fields[field] = (widget, label)
        on_edit(widget, lambda: label.hide())

    def alias(self, field: str, same_as: str) -> None:
        """Route another msgid (e.g. "密码" for "新密码") to an already bound field."""
        self._fields[field] = self._fields[same_as]

    def clear(self) -> None:
        self.general.clear()
        self.general.hide()
        for _widget, label in self._fields.values():
            label.clear()
            label.hide()

    def field_of(self, widget: QWidget) -> str | None:
        return next((f for f, (w, _label) in self._fields.items() if w is widget), None)

    def label_for(self, field: str) -> QLabel | None:
        entry = self._fields.get(field)
        return entry[1] if entry else None

    def show_general(self, text: str) -> None:
        self.general.setText(text)
        self.general.show()

    def show(self, exc: EcmoError) -> QWidget | None:
        """Place each message; returns the first widget at fault (to focus it)."""
        self.clear()
        errors = exc.errors if isinstance(exc, ValidationError) else []
        first: QWidget | None = None
        leftovers: list[str] = []
        texts: dict[int, list[str]] = {}
        for error in errors:
            entry = self._fields.get(error.field)
            if entry is None:
                leftovers.append(error.user_message() if error.field else field_message(error))
                continue
            widget, label = entry
            texts.setdefault(id(label), []).append(field_message(error))
            label.setText("\n".join(texts[id(label)]))
            label.show()
            first = first or widget
        if not isinstance(exc, ValidationError):
            if exc.field and exc.field in self._fields:
                widget, label = self._fields[exc.field]
                label.setText(exc.user_message())
                label.show()
                first = widget
            else:
                leftovers.append(exc.user_message())
        if leftovers:
            self.show_general("\n".join(leftovers))
        return first


def on_edit(widget: QWidget, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the person changes ``widget`` (clears that field's old message)."""
    if isinstance(widget, QLineEdit):
        widget.textEdited.connect(callback)
    elif isinstance(widget, QPlainTextEdit):
        widget.textChanged.connect(callback)
    elif isinstance(widget, QComboBox):
        widget.currentIndexChanged.connect(callback)
    elif isinstance(widget, (QDateTimeEdit, QDateEdit)):
        widget.dateTimeChanged.connect(callback)
    elif isinstance(widget, QAbstractButton):
        widget.toggled.connect(callback)


DISCARD_QUESTION = "discard_question"


def form_state(root: QWidget) -> tuple[object, ...]:
    """Everything typed or chosen in ``root``'s input widgets (passwords left out: they are no record)."""
    state: list[object] = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLineEdit):
            if widget.echoMode() == QLineEdit.EchoMode.Normal:
                state.append(widget.text())
        elif isinstance(widget, (QPlainTextEdit, QTextEdit)):
            state.append(widget.toPlainText())
        elif isinstance(widget, QComboBox):
            state.append((widget.currentIndex(), widget.currentText()))
        elif isinstance(widget, QAbstractButton) and widget.isCheckable():
            state.append(widget.isChecked())
        elif isinstance(widget, QDateTimeEdit):
            state.append(widget.dateTime().toString(Qt.DateFormat.ISODate))
        elif isinstance(widget, QAbstractSpinBox):
            state.append(widget.text())
    return tuple(state)


# the mixin is checked as the QDialog it is mixed into; at run time it must stay a plain class
if TYPE_CHECKING:
    _DialogMixin = QDialog
else:
    _DialogMixin = object


class UnsavedInputGuard(_DialogMixin):
    """Mixin for a form dialog (before QDialog): Esc, 取消 or the close button asks before throwing
    away what was typed. "Unsaved" means the inputs differ from what they held when the dialog
    opened (``mark_clean`` takes a new baseline, e.g. after loading a record into the form).
    """

    confirm_discard = True  # False where closing loses nothing worth a question (log-in)
    _baseline: tuple[object, ...] | None = None
    _discarding = False

    def mark_clean(self) -> None:
        self._baseline = form_state(self)

    def has_unsaved_changes(self) -> bool:
        return self._baseline is not None and form_state(self) != self._baseline

    def showEvent(self, event: QShowEvent) -> None:
        if self._baseline is None:
            self.mark_clean()
        super().showEvent(event)

    def may_discard(self) -> bool:
        """True when the dialog may close now; otherwise ask (non-blocking) and close on 放弃."""
        if self._discarding or not self.confirm_discard or not self.has_unsaved_changes():
            return True
        dialog: QDialog = self
        if dialog.findChild(QMessageBox, DISCARD_QUESTION) is not None:
            return False  # already asking
        box = QMessageBox(
            QMessageBox.Icon.Question,
            _("放弃未保存的内容？"),
            _("本窗口中有尚未保存的内容，关闭后这些内容将丢失。"),
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.No,
            dialog,
        )
        box.setObjectName(DISCARD_QUESTION)
        box.button(QMessageBox.StandardButton.Discard).setText(_("放弃并关闭"))
        box.button(QMessageBox.StandardButton.No).setText(_("继续编辑"))
        box.setDefaultButton(QMessageBox.StandardButton.No)  # Enter or Esc keeps the text
        box.setEscapeButton(QMessageBox.StandardButton.No)

        discard = box.button(QMessageBox.StandardButton.Discard)

        def answered(_result: int) -> None:
            discarded = box.clickedButton() is discard
            box.setObjectName("")
            box.deleteLater()
            if discarded:
                self._discarding = True
                # after the box's signal has returned: closing may delete the dialog, and the box with it
                QTimer.singleShot(0, dialog, dialog.reject)

        box.finished.connect(answered)
        box.open()
        return False


class DialogBase(ScreenFit, UnsavedInputGuard, QDialog):
    """What every form dialog shares (``FormDialog``, ``records.forms.RecordDialog``): modal, an intro
    line, a general message line, OK/Cancel where Enter submits and never cancels, never larger than
    the screen, a question before typed input is thrown away, and ``busy`` while a save runs (a
    second OK does nothing, Esc does not hide the running save).

    Subclasses put their body between the message line and the buttons with ``add_body``.
    """

    def __init__(
        self, ui: UiContext, title: str, parent: QWidget | None = None, *, ok_text: str | None = None
    ) -> None:
        super().__init__(parent)
        self.ui = ui
        self.busy = False
        self.setWindowTitle(title)
        self.setModal(True)
        self._layout = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.hide()
        self._layout.addWidget(self.intro)
        self.general_error = error_label()
        self.general_error.setObjectName("general_error")
        self._layout.addWidget(self.general_error)
        # parented at once: a default button registers with its dialog only when it has one, and an
        # unregistered default is lost for good the first time it gains and loses focus (Enter then
        # does nothing)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text or _("确定"))
        self.ok_button.setDefault(True)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText(_("取消"))
        cancel.setAutoDefault(False)  # Enter must never mean "cancel" (or "log out")
        self.buttons.accepted.connect(self.on_submit)
        self.buttons.rejected.connect(self.reject)
        self._layout.addWidget(self.buttons)

    def add_body(self, part: QWidget | QLayout, stretch: int = 0) -> None:
        """Add ``part`` below what is there already, above the buttons."""
        index = self._layout.indexOf(self.buttons)
        if isinstance(part, QLayout):
            self._layout.insertLayout(index, part, stretch)
        else:
            self._layout.insertWidget(index, part, stretch)

    def set_intro(self, text: str, *, warn: bool = False) -> None:
        self.intro.setText(text)
        self.intro.setStyleSheet("color: #b71c1c; font-weight: bold;" if warn else "")
        self.intro.show()

    def on_submit(self) -> None:
        """Subclasses start their service call here."""
        self.accept()

    def reject(self) -> None:
        """Esc or Cancel while a save is running would hide a save that still happens: wait for it;
        with unsaved input, ask first."""
        if self.busy or not self.may_discard():
            return
        super().reject()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.ok_button.setEnabled(not busy)
        if not busy:  # disabling the default button hands "default" to another button: take it back
            self.ok_button.setDefault(True)


class FormDialog(DialogBase):
    """A dialog with a form, a general message line and OK/Cancel; Enter submits, Esc cancels.

    ``submit(fn, on_success)`` runs the service call on the task runner. Validation and other
    known refusals are shown inside the dialog (beside the field when one is named); the dialog
    stays open with everything typed. Only unexpected failures go to the global error box.
    """

    def __init__(
        self, ui: UiContext, title: str, parent: QWidget | None = None, *, ok_text: str | None = None
    ) -> None:
        super().__init__(ui, title, parent, ok_text=ok_text)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.add_body(self.form)
        self.errors = FieldErrors(self.general_error)

    def add_field(
        self,
        label: str,
        widget: _W,
        *,
        field: str | None = None,
        form: QFormLayout | None = None,
        unit: str = "",
    ) -> _W:
        """Add a row: translated ``label`` (a msgid), the widget (with its unit beside it, so nobody
        has to guess kg or g), an error line under it."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        if unit:
            line = QHBoxLayout()
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(widget, 1)
            unit_label = QLabel(unit)
            unit_label.setMinimumWidth(28)
            line.addWidget(unit_label)
            column.addLayout(line)
        else:
            column.addWidget(widget)
        message = error_label()
        column.addWidget(message)
        (form or self.form).addRow(_(label), box)
        self.errors.bind(field or label, widget, message)
        return widget

    def submit(
        self, fn: Callable[[], Any], on_success: Callable[[Any], None], *, changes: tuple[Change, ...] = ()
    ) -> None:
        if self.busy:
            return  # a double click on OK must not save twice
        self.set_busy(True)
        self.errors.clear()

        def done(result: Any) -> None:
            self.set_busy(False)
            on_success(result)

        def failed(exc: BaseException) -> None:
            self.set_busy(False)
            self.show_failure(exc)

        self.ui.tasks.run_op(fn, done, failed, parent=self, changes=changes)

    def show_failure(self, exc: BaseException) -> None:
        if isinstance(exc, EcmoError):
            widget = self.errors.show(exc)
            if widget is not None:
                widget.setFocus()
            return
        self.ui.tasks.default_error(self, exc)
