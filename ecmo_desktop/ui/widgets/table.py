"""Read-only table views configured the same way everywhere."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget


def make_table(model: QAbstractItemModel, parent: QWidget | None = None, *, stretch_last: bool = True,
               stretch_column: int | None = None) -> QTableView:
    """A read-only row-selecting table; ``stretch_column`` takes the spare width (else the last)."""
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 10)
    header = view.horizontalHeader()
    header.setStretchLastSection(stretch_last and stretch_column is None)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if stretch_column is not None:
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    header.setHighlightSections(False)
    return view


def set_column_widths(view: QTableView, widths: list[int]) -> None:
    """Widths in average character widths, so CJK headers fit at any font size."""
    unit = view.fontMetrics().averageCharWidth()
    for column, chars in enumerate(widths):
        view.setColumnWidth(column, chars * unit + 16)
