"""The scan field reads codes from key events (UDI-2): GS kept, bursts told from typing, IME refused.

Keys are real ``QKeyEvent``s sent to the real scan field with explicit timestamps (a scanner's keys
a few ms apart, a person's ~120 ms apart), so the classification is exercised exactly as a wedge
drives it. No database: the bar's ``submitted`` / ``repeated`` / ``refused`` signals are the output.
The key helpers are ``tests.kit.ui_scan``.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from ecmo_desktop.domain.codes import parse_code
from ecmo_desktop.settings import SettingsStore
from ecmo_desktop.ui.scan_bar import (
    EntryKind,
    Level,
    ScanBar,
    ScanSource,
    classify,
)
from ecmo_desktop.ui.scan_text import GS
from tests.kit.ui_scan import (
    HUMAN_GAP,
    LABEL,
    SCANNER_GAP,
    Recorder,
    scan_keys,
    send_enter,
    send_key,
    type_keys,
)


class Clock:
    """The bar's injected clock (ms): key timestamps drive bursts, this drives the 1-second repeat."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bar(qtbot: Any, settings_store: SettingsStore, clock: Clock) -> ScanBar:
    widget = ScanBar(settings_store, clock=clock)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_gs_from_key_events_keeps_lot_and_serial_apart(qtbot: Any, bar: ScanBar) -> None:
    record = Recorder(bar)
    # negative control: the same key events into a plain QLineEdit lose the GS
    plain = QLineEdit()
    qtbot.addWidget(plain)
    type_keys(plain, LABEL, start=1.0, gap=SCANNER_GAP)
    assert plain.text() == LABEL.replace(GS, "")
    merged = parse_code(plain.text())
    assert (merged.lot, merged.serial) == ("LOT4221SN001", None)  # the lot swallowed the serial

    scan_keys(bar.field, LABEL)
    assert [s.text for s in record.submitted] == [LABEL]
    assert record.submitted[0].source is ScanSource.SCANNER
    parsed = parse_code(record.submitted[0].text)
    assert (parsed.lot, parsed.serial) == ("LOT42", "SN001")
    assert bar.field.text() == ""  # ready for the next scan


def test_the_field_shows_the_separator_while_the_code_arrives(bar: ScanBar) -> None:
    type_keys(bar.field, "10LOT42" + GS + "21", start=10.0, gap=SCANNER_GAP)
    assert bar.field.text() == "10LOT42\u241d21"


def test_classify_bursts_typing_and_split_entries() -> None:
    burst = [i * SCANNER_GAP for i in range(20)]
    assert classify(burst) is EntryKind.SCAN
    assert classify([i * HUMAN_GAP for i in range(12)]) is EntryKind.TYPED
    assert classify([i * 16.0 for i in range(20)]) is EntryKind.SCAN  # Windows' 16 ms key-time granularity
    split = burst[:10] + [burst[9] + 400 + i * SCANNER_GAP for i in range(10)]
    assert classify(split) is EntryKind.SPLIT
    typed_then_scanned = [0.0, 150.0, 300.0] + [600 + i * SCANNER_GAP for i in range(16)]
    assert classify(typed_then_scanned) is EntryKind.MIXED  # a person typed, then scanned
    assert classify([0.0, 30.0, 60.0]) is EntryKind.TYPED  # too short for a burst: a person's quick roll
    assert classify([]) is EntryKind.TYPED


def test_human_typing_is_submitted_as_typed_and_only_on_enter(bar: ScanBar) -> None:
    record = Recorder(bar)
    at = type_keys(bar.field, "(01)06901234567892(21)SN001", start=1_000.0, gap=HUMAN_GAP)
    assert record.submitted == []  # no auto-submit of a half-typed code
    assert bar.field.text() == "(01)06901234567892(21)SN001"  # the person sees what they type
    send_enter(bar.field, at)
    assert [(s.text, s.source) for s in record.submitted] == [
        ("(01)06901234567892(21)SN001", ScanSource.TYPED)
    ]


def test_a_code_split_across_two_bursts_is_refused_not_bound(bar: ScanBar) -> None:
    record = Recorder(bar)
    at = type_keys(bar.field, LABEL[:16], start=1_000.0, gap=SCANNER_GAP)
    at = type_keys(bar.field, LABEL[16:], start=at + 500, gap=SCANNER_GAP)
    send_enter(bar.field, at)
    assert record.submitted == [] and len(record.refused) == 1
    assert "扫码中断" in record.refused[0]
    assert bar.banner.level is Level.BLOCKED and "扫码不完整" in bar.banner.title_text()
    scan_keys(bar.field, LABEL, start=at + 2_000)  # the rescan goes through
    assert [s.text for s in record.submitted] == [LABEL]


def test_ime_commit_with_chinese_is_refused_with_the_hint(bar: ScanBar) -> None:
    record = Recorder(bar)
    at = type_keys(bar.field, "01069012", start=1_000.0, gap=SCANNER_GAP)
    QApplication.sendEvent(bar.field, _commit("扫码"))
    assert record.refused == ["请切换到英文输入法后重新扫码"]
    assert bar.banner.message.text() == "请切换到英文输入法后重新扫码"
    assert bar.banner.level is Level.WARN and record.sounds == [Level.WARN]
    at = type_keys(bar.field, "34567892", start=at, gap=SCANNER_GAP)  # the rest of the same scan …
    send_enter(bar.field, at)  # … and its Enter are discarded: never a partial binding
    assert record.submitted == [] and bar.field.text() == ""
    scan_keys(bar.field, LABEL, start=at + 2_000)  # after switching the IME off, scans work again
    assert [s.text for s in record.submitted] == [LABEL]


def test_ime_composition_is_refused_and_full_width_digits_are_normalised(bar: ScanBar) -> None:
    record = Recorder(bar)
    composing = QInputMethodEvent("sn", [])
    QApplication.sendEvent(bar.field, composing)
    QApplication.sendEvent(bar.field, _commit("诉讼"))
    assert record.refused and record.refused[0] == "请切换到英文输入法后重新扫码"
    send_enter(bar.field, 1_010.0)
    assert record.submitted == []
    QApplication.sendEvent(
        bar.field, _commit("０１０６９０１２３４５６７８９２")
    )  # full-width, as an IME types it
    assert bar.field.text() == "0106901234567892"
    send_enter(bar.field, 5_000.0)
    assert [s.text for s in record.submitted] == ["0106901234567892"]
    assert not bar.field.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)  # and the IME is kept off


def test_chinese_text_in_a_key_event_is_refused_too(bar: ScanBar) -> None:
    record = Recorder(bar)
    send_key(bar.field, "码", 1_000.0)
    assert record.refused == ["请切换到英文输入法后重新扫码"] and bar.field.text() == ""


def test_doubled_enter_submits_once_and_empty_enter_nothing(bar: ScanBar) -> None:
    record = Recorder(bar)
    at = scan_keys(bar.field, LABEL)
    send_enter(bar.field, at + 1)  # CR LF, or a second Enter
    send_enter(bar.field, at + 5_000)
    assert [s.text for s in record.submitted] == [LABEL] and record.repeated == []


def test_same_code_twice_within_a_second_is_one_submission(bar: ScanBar, clock: Clock) -> None:
    record = Recorder(bar)
    at = scan_keys(bar.field, LABEL)
    clock.now += 600
    at = scan_keys(bar.field, LABEL, start=at + 600)
    assert len(record.submitted) == 1 and len(record.repeated) == 1
    clock.now += 1_500  # a second presentation of the label after a pause
    scan_keys(bar.field, LABEL, start=at + 1_500)
    assert len(record.submitted) == 2
    clock.now += 100
    assert bar.submit_external(LABEL, ScanSource.CAMERA)  # the camera seeing it right after: a repeat
    assert len(record.submitted) == 2 and len(record.repeated) == 2


def test_escape_clears_and_backspace_edits_are_taken_from_the_field(bar: ScanBar) -> None:
    record = Recorder(bar)
    at = type_keys(bar.field, "12345", start=1_000.0, gap=HUMAN_GAP)
    send_key(bar.field, "\x1b", at, Qt.Key.Key_Escape)
    assert bar.field.text() == ""
    at = type_keys(bar.field, "SN-0099", start=at + 500, gap=HUMAN_GAP)
    send_key(bar.field, "\x08", at, Qt.Key.Key_Backspace)
    at = type_keys(bar.field, "8", start=at + HUMAN_GAP, gap=HUMAN_GAP)
    send_enter(bar.field, at)
    assert [(s.text, s.source) for s in record.submitted] == [("SN-0098", ScanSource.TYPED)]


def test_held_key_is_a_person_and_configured_gs_substitutes_become_gs(
    bar: ScanBar, settings_store: SettingsStore
) -> None:
    record = Recorder(bar)
    settings_store.update(scanner_gs_substitutes=("~",))
    at = type_keys(bar.field, "0106901234567892" + "10LOT42~21SN001", start=1_000.0, gap=SCANNER_GAP)
    send_enter(bar.field, at)
    assert record.submitted[-1].text == "0106901234567892" + "10LOT42" + GS + "21SN001"
    at = type_keys(bar.field, "A1234", start=at + 2_000, gap=HUMAN_GAP)
    for n in range(8):
        send_key(bar.field, "5", at + n * 30, autorepeat=True)
    send_enter(bar.field, at + 500)
    assert record.submitted[-1].source is ScanSource.TYPED


def test_external_codes_are_dropped_while_a_modal_window_blocks_the_bar(qtbot: Any, bar: ScanBar) -> None:
    record = Recorder(bar)
    blocker = QWidget(None, Qt.WindowType.Window)
    blocker.setWindowModality(Qt.WindowModality.ApplicationModal)
    qtbot.addWidget(blocker)
    blocker.show()
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is blocker)
    assert bar.is_blocked() and not bar.submit_external(LABEL, ScanSource.CAMERA)
    blocker.close()
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None)
    assert bar.submit_external(LABEL, ScanSource.CAMERA)
    assert [(s.text, s.source) for s in record.submitted] == [(LABEL, ScanSource.CAMERA)]


def _commit(text: str) -> QInputMethodEvent:
    event = QInputMethodEvent()
    event.setCommitString(text)
    return event
