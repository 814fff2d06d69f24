"""A wedge scanner and a person typing, as real ``QKeyEvent``s with explicit timestamps (UDI-2).

A scanner's keys come a few ms apart, a person's ~120 ms apart, so the scan field's classification
is exercised exactly as a wedge drives it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from ecmo_desktop.ui.scan_bar import Level, ScanBar, ScanInput
from ecmo_desktop.ui.scan_text import GS

LABEL = "0106901234567892" + "17271231" + "10LOT42" + GS + "21SN001"  # GTIN, expiry, lot <GS> serial
SCANNER_GAP = 4.0  # ms between a wedge scanner's keys
HUMAN_GAP = 120.0  # ms between a person's keys


def send_key(widget: QWidget, text: str, at: float, key: int = 0, *, autorepeat: bool = False) -> None:
    event = QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, text, autorepeat)
    event.setTimestamp(int(at))
    QApplication.sendEvent(widget, event)


def send_enter(widget: QWidget, at: float) -> None:
    send_key(widget, "\r", at, Qt.Key.Key_Return)


def type_keys(widget: QWidget, text: str, *, start: float, gap: float) -> float:
    """Each character as its own key event ``gap`` ms apart (GS included); returns the next time."""
    at = start
    for char in text:
        send_key(widget, char, at)
        at += gap
    return at


def scan_keys(widget: QWidget, text: str, *, start: float = 5_000_000.0, gap: float = SCANNER_GAP) -> float:
    """A wedge scanner: the code a few ms per key, then Enter."""
    at = type_keys(widget, text, start=start, gap=gap)
    send_enter(widget, at)
    return at + gap


class Recorder:
    def __init__(self, bar: ScanBar) -> None:
        self.submitted: list[ScanInput] = []
        self.repeated: list[ScanInput] = []
        self.refused: list[str] = []
        self.sounds: list[Level] = []
        bar.submitted.connect(self.submitted.append)
        bar.repeated.connect(self.repeated.append)
        bar.refused.connect(self.refused.append)
        bar.sound = self.sounds.append
