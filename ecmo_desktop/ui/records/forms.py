"""Form pieces every record dialog shares: Beijing-time entry, catalogue numbers checked as typed,
coded choices, and the dialog frame that saves through the task runner.

Why a frame of its own (not the shell's ``FormDialog``): record forms are long (scrolling, pages),
a single refusal may name a field on a page that is not showing, a rule (R3) may refuse without a
field, and an edit can collide with a colleague's (``ConcurrencyConflict``) and needs a reload
offer. The frame keeps the shell's habits: messages next to the named field, nothing typed lost,
Enter saves (Ctrl+Enter from multi-line text), Esc cancels, the save button disabled while the
call runs, and no service call on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QDateTime, Qt, QTimer, QTimeZone, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.enums import Labelled
from ecmo_desktop.domain.errors import ConcurrencyConflict, EcmoError, RuleViolation, ValidationError
from ecmo_desktop.domain.fields import ChoiceSpec, FieldSpec
from ecmo_desktop.domain.model import Staff
from ecmo_desktop.domain.records import AnyRecord
from ecmo_desktop.domain.time import BEIJING_OFFSET
from ecmo_desktop.domain.validation import Range
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.display import AMBER, RED_BG, number_text, title_text
from ecmo_desktop.ui.widgets.collation import pinyin_sorted
from ecmo_desktop.ui.widgets.dates import TypedDateTimeEdit
from ecmo_desktop.ui.widgets.form import DialogBase, error_label, field_message, on_edit

# wards read and type Beijing time, whatever zone the PC is set to
BEIJING_TZ = QTimeZone(int(BEIJING_OFFSET.total_seconds()))
ABNORMAL_STYLE = f"QLineEdit {{ background: {AMBER}; }}"
INVALID_STYLE = f"QLineEdit {{ background: {RED_BG}; border: 1px solid #c62828; }}"
REASON_FIELD = N_("更正原因")


# ---- time -----------------------------------------------------------------------------------------------
def minute(moment: datetime) -> datetime:
    """To the minute: what the field shows is exactly what is saved."""
    return moment.replace(second=0, microsecond=0)


class DateTimeField(TypedDateTimeEdit):
    """A date and time typed in Beijing time; ``value()`` is the aware UTC instant (what is typed)."""

    def __init__(self, value: datetime | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTimeZone(BEIJING_TZ)
        self.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.setCalendarPopup(True)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("2026-03-02 09:00") + 48)
        if value is not None:
            self.set_value(value)

    def set_value(self, moment: datetime) -> None:
        self.setDateTime(QDateTime.fromSecsSinceEpoch(int(minute(moment).timestamp()), BEIJING_TZ))

    def value(self) -> datetime:
        return datetime.fromtimestamp(self.dateTime().toSecsSinceEpoch(), UTC)


class OptionalDateTime(QWidget):
    """A time that may not be known yet (end of a procedure, resolution of a complication)."""

    changed = Signal()

    def __init__(self, check_text: str, default: datetime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox(check_text)
        self.edit = DateTimeField(default)
        self.edit.setEnabled(False)
        self.check.toggled.connect(self.edit.setEnabled)
        self.check.toggled.connect(lambda _on: self.changed.emit())
        row.addWidget(self.check)
        row.addWidget(self.edit)
        row.addStretch(1)

    def value(self) -> datetime | None:
        return self.edit.value() if self.check.isChecked() else None

    def set_value(self, moment: datetime | None) -> None:
        self.check.setChecked(moment is not None)
        if moment is not None:
            self.edit.set_value(moment)


# ---- numbers of the field catalogue ---------------------------------------------------------------------
def normal_range_text(rng: Range) -> str:
    unit = _(rng.unit) if rng.unit else ""
    if rng.normal_low is not None and rng.normal_high is not None:
        return f"{number_text(rng.normal_low)}–{number_text(rng.normal_high)} {unit}".strip()
    if rng.normal_low is not None:
        return f"≥{number_text(rng.normal_low)} {unit}".strip()
    if rng.normal_high is not None:
        return f"≤{number_text(rng.normal_high)} {unit}".strip()
    return ""


class NumberField(QWidget):
    """One number with its unit beside it, checked while it is typed.

    Outside the normal range: amber background (accepted, highlighted). Outside the plausible
    range or not a number: the refusal is shown right under the field at once, and the service
    refuses it the same way on save.
    """

    changed = Signal()

    def __init__(
        self,
        key: str,
        rng: Range,
        parent: QWidget | None = None,
        *,
        normal: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(parent)
        self.key = key
        self.range = rng
        self.normal = normal  # overrides the catalogue's normal range (cannula size by role)
        self.state = "empty"  # empty | ok | abnormal | invalid
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.edit = QLineEdit()
        self.edit.setObjectName(f"field_{key}")
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.edit.setFixedWidth(self.edit.fontMetrics().horizontalAdvance("−300.000") + 16)
        normal_text = normal_range_text(rng)
        if normal_text:
            self.edit.setPlaceholderText(normal_text.split(" ")[0])
        self.edit.setToolTip(self._tooltip())
        row.addWidget(self.edit)
        self.unit = QLabel(_(rng.unit) if rng.unit else "")
        self.unit.setMinimumWidth(self.unit.fontMetrics().horizontalAdvance("µg/kg/min"))
        self.unit.setStyleSheet("color: #555;")
        row.addWidget(self.unit)
        row.addStretch(1)
        self.message: QLabel | None = None
        # queued: runs after the frame's "clear the old message on edit" handler, whatever the order
        self.edit.textChanged.connect(self._check, Qt.ConnectionType.QueuedConnection)

    @classmethod
    def of(cls, spec: FieldSpec) -> NumberField:
        return cls(spec.key, spec.range)

    def _tooltip(self) -> str:
        parts = [
            _("允许范围 {low}–{high} {unit}").format(
                low=number_text(self.range.low),
                high=number_text(self.range.high),
                unit=_(self.range.unit) if self.range.unit else "",
            )
        ]
        normal = normal_range_text(self._normal_range())
        if normal:
            parts.append(_("正常范围 {range}").format(range=normal))
        return "\n".join(parts)

    def _normal_range(self) -> Range:
        if self.normal is None:
            return self.range
        r = self.range
        return Range(r.field, r.unit, r.low, r.high, self.normal[0], self.normal[1], r.integer)

    def set_normal(self, normal: tuple[float, float] | None) -> None:
        self.normal = normal
        self.edit.setToolTip(self._tooltip())
        self._check()

    def attach(self, message: QLabel) -> None:
        """The label under the field where refusals appear (live and from the service)."""
        self.message = message
        self.edit.textEdited.connect(message.hide)  # an old refusal goes as soon as the value changes

    def text(self) -> str:
        return self.edit.text().strip()

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else number_text(value))
        self._check()

    def _check(self) -> None:
        text = self.text()
        if not text:
            self._set_state("empty", "")
            return
        try:
            number = self.range.parse(text)
        except ValidationError as exc:
            self._set_state("invalid", INVALID_STYLE)
            if self.message is not None and exc.errors:
                self.message.setText(field_message(exc.errors[0]))
                self.message.show()
            self.changed.emit()
            return
        abnormal = self._normal_range().is_abnormal(number)
        self._set_state("abnormal" if abnormal else "ok", ABNORMAL_STYLE if abnormal else "")

    def _set_state(self, state: str, style: str) -> None:
        was_invalid = self.state == "invalid"
        self.state = state
        self.edit.setStyleSheet(style)
        if was_invalid and state != "invalid" and self.message is not None:
            self.message.hide()
        self.changed.emit()

    def number(self) -> float | None:
        """The typed value when it is valid (for live derived values), else None."""
        try:
            return self.range.parse(self.text())
        except ValidationError:
            return None


# ---- coded values ----------------------------------------------------------------------------------------
class ChoiceCombo(QComboBox):
    """A coded value: shows words, holds the stable code; the blank entry means "not recorded"."""

    def __init__(
        self, options: Sequence[tuple[str, str]], *, blank: str | None = "—", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        if blank is not None:
            self.addItem(blank, "")
        for value, label in options:
            self.addItem(label, value)

    @classmethod
    def of_enum(
        cls, enum: type[Labelled], *, blank: str | None = "—", only: Sequence[str] | None = None
    ) -> ChoiceCombo:
        return cls([(v, label) for v, label in enum.choices() if only is None or v in only], blank=blank)

    @classmethod
    def of_msgids(cls, options: Sequence[tuple[str, str]], *, blank: str | None = "—") -> ChoiceCombo:
        return cls([(v, _(label)) for v, label in options], blank=blank)

    def value(self) -> str | None:
        data = self.currentData()
        return str(data) if data else None

    def set_value(self, value: str | None) -> None:
        index = self.findData(value or "")
        self.setCurrentIndex(max(index, 0))


def staff_text(staff: Staff) -> str:
    return f"{staff.full_name}（{title_text(staff.title)}）"


class StaffCombo(QComboBox):
    """A person of the hospital's staff, by name and title, in pinyin order."""

    def __init__(
        self, people: Sequence[Staff], *, blank: str | None = "—", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.people = pinyin_sorted(people, lambda s: s.full_name)
        if blank is not None:
            self.addItem(blank, 0)
        for s in self.people:
            self.addItem(staff_text(s), s.id)

    def value(self) -> int | None:
        data = self.currentData()
        return int(data) if data else None

    def set_value(self, staff_id: int | None) -> None:
        self.setCurrentIndex(max(self.findData(staff_id or 0), 0))

    def person(self) -> Staff | None:
        return next((s for s in self.people if s.id == self.value()), None)

    def offer_only(self, taken: set[int]) -> None:
        """Leave out of the list the people already picked elsewhere (the own pick stays)."""
        model = self.model()
        view = self.view()
        own = self.value()
        for index in range(self.count()):
            staff_id = self.itemData(index)
            hidden = bool(staff_id) and staff_id in taken and staff_id != own
            item = model.item(index) if isinstance(model, QStandardItemModel) else None
            if item is not None:
                item.setEnabled(not hidden)  # keyboard stepping skips it too
            if isinstance(view, QListView):
                view.setRowHidden(index, hidden)


PersonRow = tuple[StaffCombo, ChoiceCombo, QLabel, QPushButton]


class PeopleEditor(QWidget):
    """Rows of (person, role in this record, a status line, remove): the decision's physicians and a
    procedure's team share the layout and the row handling; subclasses say what the status line shows."""

    changed = Signal()
    headings: tuple[str, str, str] = ("", "", "")  # msgids
    add_text = ""  # msgid of the add button
    add_name = ""  # objectName of the add button
    prefix = ""  # objectNames of a row's widgets: {prefix}_{i}, {prefix}_role_{i}
    status_prefix: str | None = None  # objectName of the status line: {status_prefix}_{i}
    role_enum: type[Labelled]

    def __init__(self, people: Sequence[Staff], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.people = list(people)
        self.rows: list[PersonRow] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(0, 2)
        for col, text in enumerate(self.headings):
            head = QLabel(_(text))
            head.setStyleSheet("color: #555;")
            self.grid.addWidget(head, 0, col)
        column.addLayout(self.grid)
        bar = QHBoxLayout()
        self.add_button = QPushButton(_(self.add_text))
        self.add_button.setObjectName(self.add_name)
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(lambda: self.add_new())
        bar.addWidget(self.add_button)
        bar.addStretch(1)
        column.addLayout(bar)

    def add_new(self) -> None:
        """What the add button does (a blank row; subclasses may preset the role)."""
        self.add_row()

    def default_role(self) -> str | None:
        return None

    def add_row(self, staff_id: int | None = None, role: str | None = None) -> tuple[StaffCombo, ChoiceCombo]:
        index = len(self.rows)
        person = StaffCombo(self.people)
        person.setObjectName(f"{self.prefix}_{index}")
        person.set_value(staff_id)
        capacity = ChoiceCombo.of_enum(self.role_enum, blank=None)
        capacity.setObjectName(f"{self.prefix}_role_{index}")
        capacity.set_value(role or self.default_role())
        status = QLabel()
        if self.status_prefix:
            status.setObjectName(f"{self.status_prefix}_{index}")
        remove = QPushButton(_("移除"))
        remove.setAutoDefault(False)
        entry: PersonRow = (person, capacity, status, remove)
        for col, widget in enumerate(entry):
            self.grid.addWidget(widget, index + 1, col)
        self.rows.append(entry)
        person.currentIndexChanged.connect(lambda _i, e=entry: self.refresh_row(e, suggest=True))
        person.currentIndexChanged.connect(lambda _i: self.offer_each_once())
        capacity.currentIndexChanged.connect(lambda _i, e=entry: self.refresh_row(e, suggest=False))
        remove.clicked.connect(lambda _c=False, e=entry: self.remove_row(e))
        self.refresh_row(entry, suggest=role is None)
        self.offer_each_once()
        return person, capacity

    def offer_each_once(self) -> None:
        """Nobody is offered twice: who is picked in one row is not in the other rows' lists."""
        picked = [row[0].value() for row in self.rows]
        for row in self.rows:
            row[0].offer_only({p for p in picked if p is not None})

    def refresh_row(self, entry: PersonRow, *, suggest: bool) -> None:
        """Update the row's status line (and, when ``suggest``, a sensible role); then tell listeners."""
        self.changed.emit()

    def remove_row(self, entry: PersonRow) -> None:
        if entry not in self.rows:
            return
        self.rows.remove(entry)
        for widget in entry:
            self.grid.removeWidget(widget)
            widget.deleteLater()
        self.offer_each_once()
        self.changed.emit()

    def clear(self) -> None:
        for entry in list(self.rows):
            self.remove_row(entry)


def wide_label(text: str = "", *, name: str = "") -> QLabel:
    """A word-wrapped note for a form row: takes the row's whole width instead of wrapping narrow."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    if name:
        label.setObjectName(name)
    return label


def text_edit(lines: int = 3) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setTabChangesFocus(True)  # Tab moves on, as everywhere else in the form
    edit.setFixedHeight(edit.fontMetrics().lineSpacing() * lines + 14)
    return edit


def confirm(parent: QWidget, title: str, text: str, ok_text: str, on_yes: Callable[[], None]) -> QMessageBox:
    """Ask before something that cannot be taken back; non-blocking (the GUI keeps running)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("confirm_box")
    yes = box.addButton(ok_text, QMessageBox.ButtonRole.AcceptRole)
    no = box.addButton(_("取消"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no)  # Enter must not confirm by accident
    box.setEscapeButton(no)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: on_yes() if button is yes else None)
    box.open()
    return box


# ---- the dialog frame ------------------------------------------------------------------------------------
@dataclass
class _Target:
    focus: QWidget
    label: QLabel
    with_name: bool


def reveal(widget: QWidget) -> None:
    """Bring a field into view: switch pages of enclosing tab widgets and scroll to it."""
    child: QWidget | None = widget
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QTabWidget) and child is not None:
            for i in range(parent.count()):
                page = parent.widget(i)
                if page is not None and (page is widget or page.isAncestorOf(widget)):
                    parent.setCurrentIndex(i)
                    break
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(widget)
        child, parent = parent, parent.parentWidget()


SLOW_SAVE_MS = 5_000  # a save still running after this is told, and (PostgreSQL) may be abandoned


class RecordDialog(DialogBase):
    """A record form: new, edit a draft, or amend a signed record (with a reason).

    Subclasses lay out fields with ``section``/``add_row`` and implement ``build`` (read the
    widgets, return the service call to run) and ``fill`` (show a record). ``saved`` fires with
    the service's result before the dialog closes.
    """

    saved = Signal(object)
    entity = ""

    def __init__(
        self,
        case: CaseRecords,
        title: str,
        parent: QWidget | None = None,
        *,
        record: AnyRecord | None = None,
        amend: bool = False,
        ok_text: str | None = None,
    ) -> None:
        ok_text = ok_text or (_("保存更正") if amend else _("保存"))
        super().__init__(case.ui, title, parent, ok_text=ok_text)
        self.ok_text = ok_text
        self.case = case
        self.record = record
        self.amend = amend
        self.waiting_slow = False  # "服务器长时间没有响应": Cancel/Esc stop waiting
        self._slow = QTimer(self)
        self._slow.setSingleShot(True)
        self._slow.timeout.connect(self._save_is_slow)
        self.setObjectName(f"{self.entity or 'record'}_dialog")
        self._targets: dict[str, _Target] = {}
        self.rule_targets: dict[str, str] = {}  # rule id → field msgid (R3 → "术者")
        self.conflict = QFrame()
        self.conflict.setObjectName("conflict_bar")
        self.conflict.setStyleSheet("#conflict_bar { background: #fff3e0; border: 1px solid #ffb74d; }")
        crow = QHBoxLayout(self.conflict)
        self.conflict_label = QLabel(
            _(
                "保存未完成：此记录已被他人修改。您输入的内容仍在本窗口中；可以重新载入最新内容"
                "（会替换本窗口中的修改）后再核对保存。"
            )
        )
        self.conflict_label.setWordWrap(True)
        crow.addWidget(self.conflict_label, 1)
        self.reload_button = QPushButton(_("重新载入最新内容"))
        self.reload_button.setAutoDefault(False)
        self.reload_button.clicked.connect(self.reload_record)
        crow.addWidget(self.reload_button)
        self.conflict.hide()
        self._layout.insertWidget(self._layout.indexOf(self.general_error), self.conflict)
        self.reason: QLineEdit | None = None
        if amend:
            frame = QGroupBox(_("更正已签名的记录"))
            frame.setStyleSheet("QGroupBox { font-weight: bold; color: #e65100; }")
            form = QFormLayout(frame)
            note = QLabel(_("原内容将作为历史版本保留，原签名作废；更正后请重新签名。"))
            note.setWordWrap(True)
            note.setStyleSheet("font-weight: normal; color: #555;")
            form.addRow(note)
            self.reason = QLineEdit()
            self.reason.setObjectName("amend_reason")
            self.reason.setPlaceholderText(_("例如：血流量录入错误，应为 3.5 L/min"))
            self.add_row(form, REASON_FIELD, self.reason)
            self.add_body(frame)
        self.content = QWidget()
        self.body = QVBoxLayout(self.content)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.scroll_area.setWidget(self.content)
        self.add_body(self.scroll_area, 1)
        self.ok_button.setToolTip(_("Enter 或 Ctrl+S 保存；Esc 取消"))
        for keys in (QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter"), QKeySequence.StandardKey.Save):
            QShortcut(keys, self).activated.connect(self.on_submit)

    # ---- layout helpers -------------------------------------------------------------------------
    @staticmethod
    def new_form() -> QFormLayout:
        """Rows whose text fields widen with the dialog while choices and times keep their size."""
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return form

    def section(self, title: str | None = None, layout: QBoxLayout | None = None) -> QFormLayout:
        """A titled group of rows in the body (or in ``layout``)."""
        target = layout if layout is not None else self.body
        form = self.new_form()
        if title is None:
            target.addLayout(form)
        else:
            box = QGroupBox(title)
            box.setLayout(form)
            target.addWidget(box)
        return form

    def add_row(
        self,
        form: QFormLayout,
        label: str,
        widget: QWidget,
        *,
        field: str | None = None,
        focus: QWidget | None = None,
        with_name: bool = False,
    ) -> QLabel:
        """Label (a msgid), the widget, and the message line under it bound to ``field``."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(widget)
        message = error_label()
        column.addWidget(message)
        box.setSizePolicy(widget.sizePolicy().horizontalPolicy(), QSizePolicy.Policy.Preferred)
        form.addRow(_(label) if label else "", box)
        self.bind(field or label, focus or widget, message, with_name=with_name)
        if isinstance(widget, NumberField):
            widget.attach(message)
        return message

    def bind(self, field: str, focus: QWidget, label: QLabel, *, with_name: bool = False) -> None:
        target = focus.edit if isinstance(focus, NumberField) else focus
        self._targets[field] = _Target(target, label, with_name)
        if not isinstance(focus, NumberField):
            on_edit(target, label.hide)

    def alias(self, field: str, same_as: str, *, with_name: bool = True) -> None:
        """Route another msgid to an already bound place (messages then carry their field name)."""
        base = self._targets[same_as]
        self._targets[field] = _Target(base.focus, base.label, with_name)

    def message_for(self, field: str) -> QLabel | None:
        target = self._targets.get(field)
        return target.label if target else None

    # ---- to implement ---------------------------------------------------------------------------
    def build(self) -> Callable[[], Any]:
        """Read the widgets and return the service call (runs on the worker). May raise ValidationError."""
        raise TypeError(f"{type(self).__name__} must define build()")  # every concrete dialog does

    def fill(self, record: AnyRecord) -> None:
        """Show ``record`` in the widgets (editing a draft, amending, reloading after a conflict)."""
        raise TypeError(f"{type(self).__name__} must define fill()")

    @property
    def expected_version(self) -> int | None:
        return self.record.version if self.record is not None else None

    @property
    def reason_text(self) -> str:
        return self.reason.text() if self.reason is not None else ""

    # ---- saving ---------------------------------------------------------------------------------
    def on_submit(self) -> None:
        if self.busy:
            return  # a double click (or Enter held down) must not save twice
        self.clear_errors()
        try:
            call = self.build()
        except ValidationError as exc:
            self.place_errors(exc)
            return
        self.set_busy(True)
        self.case.mutate(call, self._done, self._failed, parent=self)

    def _done(self, result: Any) -> None:
        self.set_busy(False)
        self.saved.emit(result)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.set_busy(False)
        if isinstance(exc, ConcurrencyConflict):
            self.conflict.show()
            self.reload_button.setFocus()
            return
        if isinstance(exc, EcmoError):
            self.place_errors(exc)
            return
        self.case.ui.tasks.default_error(self, exc)

    def reject(self) -> None:
        """Esc / 取消; not while a save is running (its result, and the refresh it brings, would be lost) —
        except that a save the server does not answer can be abandoned: it then fails, data kept. With
        unsaved input, only after the person confirms."""
        if self.busy and self.waiting_slow:
            self.stop_waiting()
        super().reject()

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self.waiting_slow = False
        self.ok_button.setText(_("正在保存…") if busy else self.ok_text)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setEnabled(not busy)
        cancel.setText(_("取消"))
        if busy:
            self._slow.start(SLOW_SAVE_MS)
        else:
            self._slow.stop()

    def _can_abandon(self) -> bool:
        return self.case.ui.services.backend == "postgresql"

    def _save_is_slow(self) -> None:
        """Issue 11 §3: never sit silently at "正在保存…" while the server does not answer."""
        if not self.busy:
            return
        if self._can_abandon():
            self.general_error.setText(
                _(
                    "服务器长时间没有响应，仍在等待保存结果。可以点击“停止等待”放弃这次保存，"
                    "已填写的内容保留在本窗口中，稍后可再保存。"
                )
            )
            cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
            cancel.setText(_("停止等待"))
            cancel.setEnabled(True)
            self.waiting_slow = True
        else:
            self.general_error.setText(
                _("数据库正忙，仍在等待保存结果（最多约 10 秒）。已填写的内容保留在本窗口中。")
            )
        self.general_error.show()

    def stop_waiting(self) -> None:
        """Cut the waiting connection: the save fails as "连接中断，数据未保存" and the form is editable."""
        self.case.ui.services.abort_waits()

    def clear_errors(self) -> None:
        self.general_error.clear()
        self.general_error.hide()
        for target in self._targets.values():
            target.label.hide()

    def place_errors(self, exc: EcmoError) -> None:
        """Each message beside its field; what names no known field goes to the top line."""
        self.clear_errors()
        first: QWidget | None = None
        texts: dict[int, list[str]] = {}
        leftovers: list[str] = []

        def put(target: _Target, text: str) -> None:
            nonlocal first
            lines = texts.setdefault(id(target.label), [])
            if text not in lines:
                lines.append(text)
            target.label.setText("\n".join(lines))
            target.label.show()
            first = first or target.focus

        if isinstance(exc, ValidationError):
            for error in exc.errors:
                target = self._targets.get(error.field)
                if target is None:
                    leftovers.append(error.user_message() if error.field else field_message(error))
                else:
                    put(target, error.user_message() if target.with_name else field_message(error))
        else:
            field = exc.field or (
                self.rule_targets.get(exc.rule or "") if isinstance(exc, RuleViolation) else None
            )
            target = self._targets.get(field) if field else None
            if target is not None:
                put(target, exc.user_message())
            else:
                leftovers.append(exc.user_message())
        if leftovers:
            self.general_error.setText("\n".join(leftovers))
            self.general_error.show()
        if first is not None:
            reveal(first)
            first.setFocus()

    def reload_record(self) -> None:
        """After a conflict: show what the colleague saved (the person then re-applies their edit)."""
        if self.record is None:
            return
        records = self.case.services.records
        entity, record_id = self.record.entity, self.record.id
        self.reload_button.setEnabled(False)

        def loaded(record: AnyRecord) -> None:
            self.reload_button.setEnabled(True)
            self.record = record
            self.fill(record)
            self.mark_clean()
            self.conflict.hide()
            self.set_intro(_("已载入最新保存的内容，请核对后重新修改并保存。"))

        def failed(exc: BaseException) -> None:
            self.reload_button.setEnabled(True)
            self._failed(exc)

        self.case.ui.tasks.run_op(lambda: records.get_record(entity, record_id), loaded, failed, parent=self)


# ---- a block of catalogue fields (pre-ECMO state, initial settings, daily sections, weaning values) -------
class CatalogueFields:
    """Widgets for catalogue fields laid out by section; reads back what was typed, fills from a record.

    Numbers are sent as typed text (the service parses them against the same catalogue and names
    the field in any refusal); coded values as their codes; empty ones are left out.
    """

    def __init__(self, dialog: RecordDialog) -> None:
        self.dialog = dialog
        self.numbers: dict[str, NumberField] = {}
        self.choices: dict[str, ChoiceCombo] = {}
        self._rows: dict[str, tuple[QFormLayout, QWidget]] = {}

    def add_field(self, form: QFormLayout, spec: FieldSpec | ChoiceSpec) -> QWidget:
        if isinstance(spec, FieldSpec):
            number = NumberField.of(spec)
            self.numbers[spec.key] = number
            widget: QWidget = number
        else:
            combo = ChoiceCombo.of_msgids(spec.options)
            combo.setObjectName(f"field_{spec.key}")
            self.choices[spec.key] = combo
            widget = combo
        message = self.dialog.add_row(form, spec.label, widget)
        box = message.parentWidget()
        assert box is not None
        self._rows[spec.key] = (form, box)
        return widget

    def add_sections(
        self,
        layout: QBoxLayout,
        specs: Sequence[FieldSpec | ChoiceSpec],
        *,
        columns: int = 2,
        titled: bool = True,
    ) -> None:
        """Group boxes by catalogue section, dealt into ``columns`` columns of similar height.

        With fewer sections than columns, each section's own rows are split across the columns,
        so a page never leaves half the dialog empty. Tab goes down a column, then to the next.
        """
        sections: dict[str, list[FieldSpec | ChoiceSpec]] = {}
        for spec in specs:
            sections.setdefault(spec.section, []).append(spec)
        if len(sections) < columns:
            for title, members in sections.items():
                box: QWidget = QGroupBox(_(title)) if titled else QWidget()
                row = QHBoxLayout(box)
                per = -(-len(members) // columns)
                for i in range(columns):
                    form = self.dialog.new_form()
                    for spec in members[i * per : (i + 1) * per]:
                        self.add_field(form, spec)
                    row.addLayout(form, 1)
                layout.addWidget(box)
            return
        row = QHBoxLayout()
        cols = [QVBoxLayout() for _i in range(columns)]
        heights = [0] * columns
        for title, members in sections.items():
            target = heights.index(min(heights))
            form = self.dialog.section(_(title) if titled else None, cols[target])
            for spec in members:
                self.add_field(form, spec)
            heights[target] += len(members) + 2
        for col in cols:
            col.addStretch(1)
            row.addLayout(col, 1)
        layout.addLayout(row)

    def set_row_visible(self, key: str, visible: bool) -> None:
        entry = self._rows.get(key)
        if entry is not None:
            entry[0].setRowVisible(entry[1], visible)

    def row_visible(self, key: str) -> bool:
        entry = self._rows.get(key)
        return entry is not None and not entry[1].isHidden()

    def raw_numbers(self) -> dict[str, str]:
        return {k: w.text() for k, w in self.numbers.items() if w.text() and self.row_visible(k)}

    def raw_choices(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, w in self.choices.items():
            value = w.value()
            if value and self.row_visible(k):
                out[k] = value
        return out

    def raw(self) -> dict[str, str]:
        return {**self.raw_numbers(), **self.raw_choices()}

    def fill(self, values: Mapping[str, Any]) -> None:
        for k, w in self.numbers.items():
            w.set_value(values.get(k))
        for k, c in self.choices.items():
            value = values.get(k)
            c.set_value(None if value is None else str(value))
