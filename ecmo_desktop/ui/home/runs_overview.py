"""The worklist: runs on ECMO now and runs decided but not yet started.

This is the ward's landing page; later features add their due items (consent deadlines, daily
records, follow-ups) below the run table through ``add_section``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ecmo_desktop.domain.enums import RunStatus
from ecmo_desktop.i18n import _, ngettext
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.models.run_list_model import RUN_ID_ROLE, RunListModel
from ecmo_desktop.ui.widgets.headings import page_heading
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

ACTIVE_STATUSES = (RunStatus.ON_ECMO.value, RunStatus.PLANNED.value)


class RunsOverview(QWidget):
    """The run table of the home page (``home.worklist_page.WorklistPage`` shows it below the due items)."""

    def __init__(
        self, ui: UiContext, *, open_case: Callable[[int], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ui = ui
        self._open_case = open_case
        self.column = QVBoxLayout(self)
        bar = QHBoxLayout()
        bar.addWidget(page_heading(_("ECMO运行中及待上机的病例")))
        bar.addStretch(1)
        self.count_label = QLabel()
        bar.addWidget(self.count_label)
        refresh = QPushButton(_("刷新"))
        refresh.clicked.connect(lambda: self.model.refresh())
        bar.addWidget(refresh)
        self.column.addLayout(bar)
        self.model: RunListModel = RunListModel(
            ui.tasks, ui.services.runs, statuses=ACTIVE_STATUSES, parent=self
        )
        self.table = make_table(self.model)
        self.table.setObjectName("worklist_table")
        set_column_widths(self.table, [14, 10, 5, 5, 8, 11, 17, 14])
        self.column.addWidget(self.table, 1)
        self.empty_label = QLabel(_("目前没有运行中或待上机的 ECMO 病例。"))
        self.empty_label.setStyleSheet("color: #666; padding: 12px;")
        self.empty_label.hide()
        self.column.addWidget(self.empty_label)
        self.table.activated.connect(self._activated)
        self.model.loaded.connect(self._update)
        ui.tasks.changed.connect(self.model.on_changes)
        self.model.refresh()

    def add_section(self, widget: QWidget, stretch: int = 0) -> None:
        """Where later features put their own due-today lists."""
        self.column.addWidget(widget, stretch)

    def _update(self) -> None:
        self.count_label.setText(
            ngettext("共 {n} 例", "共 {n} 例", self.model.total).format(n=self.model.total)
        )
        self.empty_label.setVisible(self.model.total == 0)

    def _activated(self, index: QModelIndex) -> None:
        run_id = index.data(RUN_ID_ROLE)
        if run_id is not None:
            self._open_case(int(run_id))
