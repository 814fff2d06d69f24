"""One QC report table on screen: rows of plain values under titles ``report_tables`` already translated.

Shared by the QC page and the import wizard's preview, below both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt

from ecmo_desktop.exchange.export import Rate
from ecmo_desktop.ui.models.list_model import Column, ListTableModel, _Index


def cell_text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, Rate):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cell(i: int) -> Callable[[tuple[Any, ...]], str]:
    return lambda row: cell_text(row[i])


def _columns(header: Sequence[str]) -> list[Column[tuple[Any, ...]]]:
    return [Column(h, _cell(i)) for i, h in enumerate(header)]


class ReportTableModel(ListTableModel[tuple[Any, ...]]):
    """One report table: rows of plain values; a tooltip per row when the table has definitions."""

    translate_headers = False  # the headers are already translated by report_tables

    def __init__(self, header: Sequence[str], tooltip_column: int | None = None) -> None:
        super().__init__(_columns(header))
        self._tooltip_column = tooltip_column

    def set_table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """New columns and rows in one reset, so the view keeps its model (and never sees a dead one)."""
        self.beginResetModel()
        self._columns = _columns(header)
        self._rows = [tuple(r) for r in rows]
        self.endResetModel()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and self._tooltip_column is not None and index.isValid():
            row = self.row(index.row())
            return None if row is None else str(row[self._tooltip_column])
        return super().data(index, role)
