"""Guard against the PySide6 6.12.0 bug that drops a reference to ``None`` each time Qt calls a
Python override that returns None (``keyPressEvent`` calling super, ``data()`` for an unused role).

A ward PC runs for days: thousands of key presses and paints per minute would drive None's
refcount to zero and crash the interpreter. pyproject pins ``PySide6<6.12``; this test fails on
an affected version whatever the pin says.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QEvent, QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from ecmo_desktop.ui.models.list_model import ListTableModel

CALLS = 10_000
NOISE = 50


class _Edit(QLineEdit):
    def __init__(self) -> None:
        super().__init__()
        self.presses = 0

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self.presses += 1
        super().keyPressEvent(event)


def test_the_measurement_sees_a_lost_reference() -> None:
    """Negative control: drop references to None on purpose and check the count shows it."""
    before = sys.getrefcount(None)
    for _ in range(1000):
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))
    dropped = sys.getrefcount(None)
    for _ in range(1000):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    if before == dropped:  # Python ≥ 3.12: None is immortal and the bug cannot crash anything
        return
    assert dropped < before - NOISE
    assert sys.getrefcount(None) >= before - NOISE


def test_key_press_override_returning_none_keeps_none_alive(qtbot) -> None:
    edit = _Edit()
    qtbot.addWidget(edit)
    edit.show()
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        QApplication.sendEvent(
            edit, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier, "a")
        )
        if len(edit.text()) > 100:
            edit.clear()
    after = sys.getrefcount(None)
    assert edit.presses == CALLS
    assert after >= before - NOISE, f"None lost {before - after} references over {CALLS} keyPressEvent calls"


def test_model_data_returning_none_from_cpp_keeps_none_alive(qtbot) -> None:
    model: ListTableModel[str] = ListTableModel([("名称", lambda s: s), ("长度", lambda s: str(len(s)))])
    model.set_rows([f"row{i}" for i in range(100)])
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    before = sys.getrefcount(None)
    nones = 0
    for i in range(CALLS):
        # the proxy is C++: it calls ListTableModel.data (Python), which returns None for these roles
        value = proxy.data(proxy.index(i % 100, i % 2), Qt.ItemDataRole.DecorationRole)
        nones += value is None
    after = sys.getrefcount(None)
    assert nones == CALLS
    assert after >= before - NOISE, f"None lost {before - after} references over {CALLS} data() calls"
