"""Read-only table views configured the same way everywhere."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QToolTip, QWidget

HEADER_PADDING = 24  # the header's margins and room for a sort arrow


class _HeaderTips(QObject):
    """The whole column title as a tooltip: a column narrowed by hand still says what it holds."""

    def __init__(self, header: QHeaderView) -> None:
        super().__init__(header)
        self.header = header

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            column = self.header.logicalIndexAt(event.pos())
            model = self.header.model()
            if column >= 0 and model is not None:
                text = model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
                if text:
                    QToolTip.showText(event.globalPos(), str(text), self.header)
                    return True
        return False


def make_table(
    model: QAbstractItemModel,
    parent: QWidget | None = None,
    *,
    stretch_last: bool = True,
    stretch_column: int | None = None,
) -> QTableView:
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
    header.viewport().installEventFilter(_HeaderTips(header))
    return view


def header_width(view: QTableView, column: int) -> int:
    """Pixels the column's title needs (English titles are often longer than the Chinese)."""
    model = view.model()
    text = model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) if model else None
    header = view.horizontalHeader()
    return header.fontMetrics().horizontalAdvance(str(text or "")) + HEADER_PADDING


def set_column_widths(view: QTableView, widths: list[int]) -> None:
    """Widths in average character widths, so CJK text fits at any font size — and never narrower
    than the column's title, in whichever language it is."""
    unit = view.fontMetrics().averageCharWidth()
    for column, chars in enumerate(widths):
        view.setColumnWidth(column, max(chars * unit + 16, header_width(view, column)))
