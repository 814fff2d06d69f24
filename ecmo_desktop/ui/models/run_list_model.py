"""The case list as a lazily paged table model (DESIGN habit 5).

It holds only ``RunListItem`` dataclasses, 200 at a time: the first page and the total count are
fetched on the worker thread, further pages when the view scrolls near the end
(``canFetchMore``/``fetchMore``). With 50,000 runs the list opens as fast as with 50. A new
search bumps a generation number, so a late page from an older search is dropped.

A change saved anywhere (this PC or another, ``ui/change_feed.py``) re-reads the rows already shown in
place (``reload_in_place``): the view keeps its selection, current row and scroll position.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from ecmo_desktop.domain.enums import Mode, RunStatus, Sex
from ecmo_desktop.domain.model import RunListItem
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.runs import RunService
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.tasks import TaskRunner

PAGE_SIZE = 200
COLUMNS = (
    N_("住院号"),
    N_("姓名"),
    N_("性别"),
    N_("年龄"),
    N_("模式"),
    N_("状态"),
    N_("上机时间"),
    N_("病区/床号"),
)
COL_MRN, COL_NAME, COL_SEX, COL_AGE, COL_MODE, COL_STATUS, COL_STARTED, COL_WARD = range(len(COLUMNS))
RUN_ID_ROLE = Qt.ItemDataRole.UserRole
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


class RunListModel(QAbstractTableModel):
    loaded = Signal()  # a page (or a new search's first page) arrived
    failed = Signal(object)

    def __init__(
        self,
        tasks: TaskRunner,
        runs: RunService,
        *,
        statuses: tuple[str, ...] = (),
        page_size: int = PAGE_SIZE,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._runs = runs
        self._statuses = statuses
        self._page = page_size
        self._rows: list[RunListItem] = []
        self._total = 0
        self._text = ""
        self._generation = 0
        self._loading = False
        self._again = False
        self._headers = [_(c) for c in COLUMNS]
        self._sex = {v: label for v, label in Sex.choices()}
        self._mode = {v: label for v, label in Mode.choices()}
        self._status = {v: label for v, label in RunStatus.choices()}

    # ---- loading --------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """How many runs match the current search (may exceed the rows fetched so far)."""
        return self._total

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def search_text(self) -> str:
        return self._text

    def set_search(self, text: str) -> None:
        self._text = text.strip()
        self.refresh()

    def refresh(self) -> None:
        """Forget the rows and load the count plus the first page for the current search."""
        self._generation += 1
        generation, text, statuses, limit = self._generation, self._text, self._statuses, self._page
        self.beginResetModel()
        self._rows = []
        self._total = 0
        self.endResetModel()
        self._loading = True
        runs = self._runs

        def work() -> tuple[int, list[RunListItem]]:
            return (
                runs.count_runs(text, statuses=statuses),
                runs.search_runs(text, statuses=statuses, offset=0, limit=limit),
            )

        self._tasks.run_op(
            work,
            lambda result: self._first_page(generation, result),
            lambda exc: self._failed(generation, exc),
            parent=self,
        )

    def _first_page(self, generation: int, result: tuple[int, list[RunListItem]]) -> None:
        if generation != self._generation:
            return
        total, items = result
        self._loading = False
        self._total = max(total, len(items))
        if items:
            self.beginInsertRows(QModelIndex(), 0, len(items) - 1)
            self._rows = list(items)
            self.endInsertRows()
        self.loaded.emit()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt override
        return not parent.isValid() and not self._loading and len(self._rows) < self._total

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt override
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation, text, statuses = self._generation, self._text, self._statuses
        # by key, not by offset: the page after the last row shown (ids descend), as fast at row 49,800 as
        # at 0
        offset, limit, before = len(self._rows), self._page, self._rows[-1].run_id if self._rows else None
        runs = self._runs
        self._tasks.run_op(
            lambda: runs.search_runs(text, statuses=statuses, limit=limit, before_id=before),
            lambda items: self._more(generation, offset, items),
            lambda exc: self._failed(generation, exc),
            parent=self,
        )

    def _more(self, generation: int, offset: int, items: list[RunListItem]) -> None:
        if generation != self._generation or offset != len(self._rows):
            return
        self._loading = False
        if not items:  # rows were removed since the count: stop asking
            self._total = len(self._rows)
        else:
            self.beginInsertRows(QModelIndex(), offset, offset + len(items) - 1)
            self._rows.extend(items)
            self.endInsertRows()
            if len(items) < self._page:
                self._total = len(self._rows)
        self.loaded.emit()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._loading = self._again = False
        self._total = len(self._rows)  # stop fetching; an outage shows in the status bar
        self.failed.emit(exc)
        self._tasks.background_error(exc)

    def on_changes(self, changes: frozenset[Change]) -> None:
        """Re-read when an operation changed runs or patients (the ``changed`` broadcast)."""
        if changes & {Change.runs(), Change.patients()}:
            self.reload_in_place()

    def reload_in_place(self) -> None:
        """The same search, as many rows as are shown, replaced without a
        reset (selection and scroll stay).
        """
        if self._loading:
            self._again = True
            return
        self._generation += 1
        generation, text, statuses = self._generation, self._text, self._statuses
        limit = max(len(self._rows), self._page)
        self._loading = True
        runs = self._runs

        def work() -> tuple[int, list[RunListItem]]:
            return (
                runs.count_runs(text, statuses=statuses),
                runs.search_runs(text, statuses=statuses, offset=0, limit=limit),
            )

        self._tasks.run_op(
            work,
            lambda result: self._replaced(generation, result),
            lambda exc: self._failed(generation, exc),
            parent=self,
        )

    def _replaced(self, generation: int, result: tuple[int, list[RunListItem]]) -> None:
        if generation != self._generation:
            return
        total, items = result
        self._loading = False
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._rows[i.row()].run_id if 0 <= i.row() < len(self._rows) else None for i in persistent]
        self._rows = list(items)
        self._total = max(total, len(items))
        where = {item.run_id: row for row, item in enumerate(self._rows)}
        self.changePersistentIndexList(
            persistent,
            [
                self.index(where[run_id], old.column()) if run_id in where else QModelIndex()
                for old, run_id in zip(persistent, ids, strict=True)
            ],
        )
        self.layoutChanged.emit()
        self.loaded.emit()
        if self._again:
            self._again = False
            self.reload_in_place()

    # ---- access ---------------------------------------------------------------------------------
    def item(self, row: int) -> RunListItem | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self._headers)
        ):
            return self._headers[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if row >= len(self._rows):
            return None
        item = self._rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, index.column())
        if role == RUN_ID_ROLE:
            return item.run_id
        if role == ITEM_ROLE:
            return item
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == COL_AGE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, item: RunListItem, column: int) -> str:
        if column == COL_MRN:
            return item.mrn
        if column == COL_NAME:
            return item.patient_name
        if column == COL_SEX:
            return self._sex.get(item.sex, item.sex)
        if column == COL_AGE:
            return "" if item.age is None else str(item.age)
        if column == COL_MODE:
            return self._mode.get(item.mode, item.mode)
        if column == COL_STATUS:
            return self._status.get(item.status, item.status)
        if column == COL_STARTED:
            return format_local(item.started_at)
        if column == COL_WARD:
            return " / ".join(p for p in (item.ward, item.bed) if p)
        return ""
