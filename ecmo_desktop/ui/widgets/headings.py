"""Headings of a page and of its parts, one look everywhere."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel


def heading(text: str) -> QLabel:
    """The title above a list or a block inside a page or tab."""
    label = QLabel(text)
    label.setStyleSheet("font-weight: bold; margin-top: 4px;")
    return label


def page_heading(text: str) -> QLabel:
    """The title of a section of a page (the home page's due items, its run table): bold, a size up."""
    label = QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    return label
