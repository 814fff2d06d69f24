"""The case list page: every ECMO run, searched by 住院号 prefix or a fragment of the name."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from ecmo_desktop.i18n import _, ngettext
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.models.run_list_model import RUN_ID_ROLE, RunListModel
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

SEARCH_DELAY_MS = 300  # typing "张" then "三" runs one query, not two


class CaseListPage(QWidget):
    def __init__(
        self,
        ui: UiContext,
        *,
        open_case: Callable[[int], object],
        register_patient: Callable[[], object],
        new_run: Callable[[], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ui = ui
        self._open_case = open_case
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("case_search")
        self.search.setPlaceholderText(_("搜索：住院号开头或姓名（Ctrl+F）"))
        self.search.setClearButtonEnabled(True)
        bar.addWidget(self.search, 1)
        self.count_label = QLabel()
        bar.addWidget(self.count_label)
        self.register_button = QPushButton(_("登记患者（Ctrl+N）"))
        self.register_button.clicked.connect(lambda: register_patient())
        self.register_button.setVisible(ui.can(Action.REGISTER_PATIENT))
        bar.addWidget(self.register_button)
        self.new_run_button = QPushButton(_("新建ECMO病例"))
        self.new_run_button.clicked.connect(lambda: new_run())
        self.new_run_button.setVisible(ui.can(Action.OPEN_RUN))
        bar.addWidget(self.new_run_button)
        layout.addLayout(bar)
        self.model = RunListModel(ui.tasks, ui.services.runs, parent=self)
        self.table = make_table(self.model)
        self.table.setObjectName("case_table")
        set_column_widths(self.table, [14, 10, 5, 5, 8, 11, 17, 14])
        layout.addWidget(self.table, 1)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("case_list_empty")
        self.empty_label.setStyleSheet("color: #666; padding: 12px;")
        self.empty_label.hide()
        layout.addWidget(self.empty_label)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(self.apply_search)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self.enter_pressed)
        self._open_on_load = False
        self.table.activated.connect(self._activated)
        self.model.loaded.connect(self._update_count)
        ui.tasks.changed.connect(self.model.on_changes)
        self.model.refresh()

    def apply_search(self) -> None:
        self._debounce.stop()
        if self.search.text().strip() != self.model.search_text or self.model.rowCount() == 0:
            self.model.set_search(self.search.text())

    def enter_pressed(self) -> None:
        """Enter in the search opens the case it finds; with several, the first is selected in the
        list (Enter again opens it, the arrows choose another)."""
        self._debounce.stop()
        same = self.search.text().strip() == self.model.search_text
        if same and not self.model.loading and self.model.rowCount():
            self._open_found()
            return
        self._open_on_load = True  # when this search's first page arrives
        if not (same and self.model.loading):
            self.model.set_search(self.search.text())

    def _open_found(self) -> None:
        self._open_on_load = False
        if self.model.total == 1 and self.model.rowCount() == 1:
            self._activated(self.model.index(0, 0))
        elif self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(0, 0))
            self.table.setFocus()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _update_count(self) -> None:
        self.count_label.setText(
            ngettext("共 {n} 例", "共 {n} 例", self.model.total).format(n=self.model.total)
        )
        if self._open_on_load and not self.model.loading:
            self._open_found()
        text = self.model.search_text
        if self.model.total:
            self.empty_label.hide()
            return
        self.empty_label.setText(
            _("没有住院号以“{text}”开头或姓名包含“{text}”的病例。").format(text=text)
            if text
            else _("还没有 ECMO 病例。")
        )
        self.empty_label.show()

    def _activated(self, index: QModelIndex) -> None:
        run_id = index.data(RUN_ID_ROLE)
        if run_id is not None:
            self._open_case(int(run_id))
