"""Names in the order a Chinese ward list has them: by pinyin (张 after 李 and 刘), not by code point.

Qt's collator uses ICU (bundled with PySide6 on Linux; the system's on Windows), so no pinyin
table of our own is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import TypeVar

from PySide6.QtCore import QCollator, QLocale

T = TypeVar("T")


@cache
def _collator() -> QCollator:
    collator = QCollator(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    collator.setNumericMode(True)
    return collator


def pinyin_sorted(items: Iterable[T], name: Callable[[T], str]) -> list[T]:
    """``items`` sorted by ``name(item)`` in Chinese (pinyin) collation."""
    collator = _collator()
    return sorted(items, key=lambda item: collator.sortKey(name(item)))
