"""The frame of a record tab: lists of records on the left, the selected one on the right.

Every tab works the same way, so a nurse who learnt the daily tab knows the others: the tab's own
"new …" buttons on top; under the record pane 编辑 (F2) / 签名 (F8) / 更正 (F7) / 历史 (Ctrl+H)
for the selected record, enabled by what the logged-in person may do with it; Enter on a row
edits a draft. The selection stays on the same record when the data is reloaded.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.records import AnyRecord, Signature
from ecmo_desktop.i18n import _
from ecmo_desktop.ui.models.list_model import ListTableModel
from ecmo_desktop.ui.records.case_data import CaseRecords, may_edit, may_sign
from ecmo_desktop.ui.records.display import RecordPanel
from ecmo_desktop.ui.records.forms import RecordDialog
from ecmo_desktop.ui.records.signing import HistoryDialog, SignDialog
from ecmo_desktop.ui.widgets.headings import heading
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths


def tool_button(text: str, slot: Any, *, name: str, tip: str = "", enabled: bool = False) -> QPushButton:
    """A toolbar button; off until the tab's data has arrived and says what is possible."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAutoDefault(False)
    button.setEnabled(enabled)
    if tip:
        button.setToolTip(tip)
    button.clicked.connect(lambda _checked=False: slot())
    return button


class RecordTab(QWidget):
    """Base of the record tabs; subclasses add lists, their own buttons, ``refresh`` and ``editor``."""

    key = ""
    title = ""  # msgid of the tab title

    def __init__(self, case: CaseRecords, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.setObjectName(f"records_tab_{self.key}")
        self.selected: tuple[str, int] | None = None
        self._tables: list[tuple[QTableView, ListTableModel[Any]]] = []
        self._signature_request = 0
        self.dialog: QWidget | None = None  # the last dialog opened from this tab (tests reach it here)
        outer = QVBoxLayout(self)
        self.toolbar = QHBoxLayout()
        outer.addLayout(self.toolbar)
        self.status_area = QVBoxLayout()
        outer.addLayout(self.status_area)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        self.lists = QVBoxLayout(left)
        self.lists.setContentsMargins(0, 0, 0, 0)
        self.splitter.addWidget(left)
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        actions = QHBoxLayout()
        self.edit_button = tool_button(
            _("编辑…"), self.edit_selected, name="edit_button", tip=_("修改未签名的记录（F2）")
        )
        self.sign_button = tool_button(
            _("签名…"), self.sign_selected, name="sign_button", tip=_("输入密码签名，签名后记录锁定（F8）")
        )
        self.amend_button = tool_button(
            _("更正…"), self.amend_selected, name="amend_button", tip=_("更正已签名的记录，须说明原因（F7）")
        )
        self.history_button = tool_button(
            _("历史…"), self.history_selected, name="history_button", tip=_("查看历史版本和签名（Ctrl+H）")
        )
        for b in (self.edit_button, self.sign_button, self.amend_button, self.history_button):
            actions.addWidget(b)
        actions.addStretch(1)
        rcol.addLayout(actions)
        self.panel = RecordPanel()
        rcol.addWidget(self.panel, 1)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        outer.addWidget(self.splitter, 1)
        for keys, slot in (
            (QKeySequence("F2"), self.edit_selected),
            (QKeySequence("F8"), self.sign_selected),
            (QKeySequence("F7"), self.amend_selected),
            (QKeySequence("Ctrl+H"), self.history_selected),
        ):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._update_actions()
        case.updated.connect(self._refresh)

    # ---- lists ----------------------------------------------------------------------------------
    def add_list(
        self, title: str | None, model: ListTableModel[Any], widths: list[int], *, name: str, stretch: int = 1
    ) -> QTableView:
        if title:
            self.lists.addWidget(heading(title))
        table = make_table(model)
        table.setObjectName(name)
        set_column_widths(table, widths)
        table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev, t=table, m=model: self._row_changed(t, m, cur)
        )
        table.clicked.connect(lambda index, t=table, m=model: self._row_changed(t, m, index))
        table.activated.connect(lambda _index: self.edit_selected())
        self.lists.addWidget(table, stretch)
        self._tables.append((table, model))
        return table

    def table_for(self, name: str) -> QTableView:
        """One of the tab's lists by its object name."""
        return next(t for t, _m in self._tables if t.objectName() == name)

    def _row_changed(self, table: QTableView, model: ListTableModel[Any], index: QModelIndex) -> None:
        record = model.row(index.row()) if index.isValid() else None
        if record is None or self.panel.shown is record:
            return
        for other, _m in self._tables:  # one selection across the tab's lists
            if other is not table:
                other.clearSelection()
        self.select(record)

    def _refresh(self) -> None:
        self.refresh()
        self._restore_selection()

    def refresh(self) -> None:
        """Fill the lists from ``self.case`` (subclasses)."""

    def _restore_selection(self) -> None:
        if self.selected is not None:
            entity, record_id = self.selected
            for table, model in self._tables:
                row = model.row_of((entity, record_id))
                if row >= 0:
                    table.selectRow(row)
                    record = model.row(row)
                    if record is not None:
                        self.select(record)
                    return
        self.selected = None
        self.panel.clear()
        self._update_actions()

    # ---- the selected record --------------------------------------------------------------------
    def current(self) -> AnyRecord | None:
        if self.selected is None:
            return None
        return self.case.find(*self.selected)

    def select(self, record: AnyRecord) -> None:
        self.selected = (record.entity, record.id)
        self.panel.show_record(record, self.describe(record))
        self._update_actions()
        self._signature_request += 1
        request = self._signature_request
        records = self.case.services.records
        entity, record_id = record.entity, record.id
        self.case.ui.tasks.run_op(
            lambda: records.signatures(entity, record_id),
            lambda sigs: self._signatures(request, record, sigs),
            parent=self,
        )

    def _signatures(self, request: int, record: AnyRecord, signatures: list[Signature]) -> None:
        if request == self._signature_request:
            self.panel.show_record(record, self.describe(record), signatures)

    def focus_record(self, entity: str, record_id: int) -> None:
        """Select a record by id (now, or when the data arrives): the worklist opens cases this way."""
        self.selected = (entity, record_id)
        if self.case.snapshot is not None:
            self._restore_selection()

    def select_saved(self, record: Any) -> None:
        """After a save: keep the new or changed record selected once the reload arrives."""
        target = getattr(record, "record", record)  # sign() returns SignedRecord
        if hasattr(target, "entity") and hasattr(target, "id"):
            self.selected = (target.entity, target.id)

    def describe(self, record: AnyRecord) -> str:
        """HTML of the record's content for the detail pane (subclasses)."""
        return ""

    def _update_actions(self) -> None:
        record = self.current()
        user = self.case.user
        self.edit_button.setEnabled(
            record is not None and not record.locked and may_edit(user, record) and self.editable(record)
        )
        self.sign_button.setEnabled(record is not None and may_sign(user, record))
        self.amend_button.setEnabled(
            record is not None and record.locked and may_edit(user, record) and self.editable(record)
        )
        self.history_button.setEnabled(record is not None)

    def editable(self, record: AnyRecord) -> bool:
        """Whether this tab has an editor for ``record`` (subclasses may say no)."""
        return True

    # ---- actions --------------------------------------------------------------------------------
    def editor(self, record: AnyRecord, *, amend: bool) -> RecordDialog | None:
        """The record's own form, filled, for editing a draft or amending (subclasses)."""
        return None

    def show_dialog(self, dialog: QDialog) -> QDialog:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if isinstance(dialog, RecordDialog):
            dialog.saved.connect(self.select_saved)
        dialog.open()
        return dialog

    def edit_selected(self) -> RecordDialog | None:
        record = self.current()
        if record is None or not self.edit_button.isEnabled():
            return None
        dialog = self.editor(record, amend=False)
        if dialog is not None:
            self.show_dialog(dialog)
        return dialog

    def amend_selected(self) -> RecordDialog | None:
        record = self.current()
        if record is None or not self.amend_button.isEnabled():
            return None
        dialog = self.editor(record, amend=True)
        if dialog is not None:
            self.show_dialog(dialog)
        return dialog

    def sign_selected(self) -> SignDialog | None:
        record = self.current()
        if record is None or not self.sign_button.isEnabled():
            return None
        dialog = SignDialog(self.case, record, self)
        self.show_dialog(dialog)
        return dialog

    def history_selected(self) -> HistoryDialog | None:
        record = self.current()
        if record is None:
            return None
        dialog = HistoryDialog(self.case, record, self)
        self.show_dialog(dialog)
        return dialog
