"""The one table model over a short list of service results (frozen dataclasses, report rows).

Fetched whole, no paging: the admin page's small lists, the record tabs' lists, the device tables,
the QC report tables. A column is a ``Column`` (title msgid, text function, optional colours, icon
and tooltip) or the short form ``(title, text)``. ``key`` recognises a row across reloads, so a
view can keep the selection on the same record after the list is fetched again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QIcon

from ecmo_desktop.i18n import _

T = TypeVar("T")
ROW_ROLE = Qt.ItemDataRole.UserRole
_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column(Generic[T]):
    title: str  # msgid
    text: Callable[[T], str]
    background: Callable[[T], str | None] | None = None
    foreground: Callable[[T], str | None] | None = None
    icon: Callable[[T], QIcon | None] | None = None
    tooltip: Callable[[T], str] | None = None


def as_column(column: Column[T] | tuple[str, Callable[[T], str]]) -> Column[T]:
    return column if isinstance(column, Column) else Column(column[0], column[1])


class ListTableModel(QAbstractTableModel, Generic[T]):
    translate_headers = True  # False where the titles arrive translated (the QC report's tables)

    def __init__(
        self,
        columns: Sequence[Column[T] | tuple[str, Callable[[T], str]]],
        parent: QObject | None = None,
        *,
        key: Callable[[T], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns: list[Column[T]] = [as_column(c) for c in columns]
        self._rows: list[T] = []
        self._key = key or id

    def set_rows(self, rows: Iterable[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, index: int) -> T | None:
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def rows(self) -> list[T]:
        return list(self._rows)

    def row_of(self, key: Any) -> int:
        return next((i for i, r in enumerate(self._rows) if self._key(r) == key), -1)

    def key_of(self, row: T) -> Any:
        return self._key(row)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self._columns)
        ):
            title = self._columns[section].title
            return _(title) if self.translate_headers else title
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        item = self._rows[index.row()]
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(item)
        if role == ROW_ROLE:
            return item
        if role == Qt.ItemDataRole.BackgroundRole and column.background is not None:
            colour = column.background(item)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.ForegroundRole and column.foreground is not None:
            colour = column.foreground(item)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.DecorationRole and column.icon is not None:
            return column.icon(item)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(item)
        return None
