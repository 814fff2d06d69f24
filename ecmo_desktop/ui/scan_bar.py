"""The scan input: a keyboard-wedge scanner, a hand-typed code, the camera and still images, one path.

Why key events and not ``QLineEdit.text()``
-------------------------------------------
A wedge scanner "types" the code and presses Enter. A GS1 label separates its variable fields with
the invisible GS character (ASCII 29), and the scanner sends it as a key event whose ``text()`` is
``"\\x1d"`` — but ``QLineEdit`` drops every non-printable character, so
``0106901234567892<GS>21SN001`` arrives in ``text()`` as ``010690123456789221SN001`` and the lot
swallows the serial. So the scan field has an event filter that collects what each key event
carries (GS, RS and EOT included), and the code submitted is that collection, never the line
edit's text. The line edit only *shows* the entry, with the separators drawn as ␝ ␞ ␄.

Scanner burst or hand typing
----------------------------
Key timestamps (``QKeyEvent.timestamp()``, or the injected clock when an event carries none) tell a
scanner from a person: a scanner's keys arrive a few ms apart, a person's tens to hundreds of ms
apart. Only Enter submits, either way. A burst is shown as a scan; slower keys as a hand-typed code.
Keys that arrive as two separate bursts (a scan interrupted) or as a burst glued to typed characters
are refused as possibly truncated — the tail of a GS1 code on its own can look like a valid serial,
so guessing would bind the wrong item. The two are told apart, and from slow typing, because what
the person should do differs: rescan (and, if a slow scanner keeps pausing mid-code, raise the
workstation's burst gap, ``Settings.scanner_burst_gap_ms``); rescan without touching the keyboard;
or, for an entry typed by hand, confirm it really is a hand-copied number (the owner asks).

Scans aimed at a dialog
-----------------------
A dialog opened from a scan (receive now, a reason, pick the product) takes the keyboard; a wedge
scanner does not know that and types the next label into the dialog's focused field, Enter
included. ``DialogScanGuard`` (one per application, installed by every visible bar) holds each key
bound for such a dialog for at most the burst gap: slower keys are handed on unchanged (a person
typing sees no difference), a burst of ``MIN_BURST_KEYS`` or more is recognised as a scan, never
typed, and the dialog and the bar say the scan was not used and what to do.

Other wedge hazards (RELIABILITY.md UDI-2, bad-input list §1): a Chinese input method active in the
field (its commit strings with CJK are refused with "请切换到英文输入法后重新扫码" and the rest of that
scan is discarded, full-width digits are NFKC-normalised; the field also asks the platform to keep
the IME off), Enter twice (an empty entry is ignored), the same code twice within a second (one
submission; ``repeated`` lets the caller show the verdict again), configured GS substitutes
(``Settings.scanner_gs_substitutes``) and autorepeat (a held key is a person).

While the screen is locked the shell's idle monitor swallows every key outside the lock screen, so
wedge keys never reach this filter; camera and image codes are dropped while a modal window (the
lock screen, a dialog) blocks the bar.
"""

from __future__ import annotations

import itertools
import time
import unicodedata
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QInputMethodEvent, QKeyEvent
from PySide6.QtPrintSupport import QAbstractPrintDialog
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.i18n import N_, _
from ecmo_desktop.settings import DEFAULT_BURST_GAP_MS, SettingsStore
from ecmo_desktop.ui.scan_text import SHOWN_CONTROLS, code_text, readable_text, shown_text

BURST_GAP_MS = float(DEFAULT_BURST_GAP_MS)
"""Keys closer than this belong to one burst (the default of ``Settings.scanner_burst_gap_ms``).
Scanners type 1–20 ms apart (a Windows key timestamp has ~16 ms granularity, so a burst shows gaps
of 0 or 16); people type 60–300 ms apart. A slow (e.g. Bluetooth) scanner may need more."""
MIN_BURST_KEYS = 6
"""A run of fast keys this long cannot be a person's finger roll."""
REPEAT_WINDOW_MS = 1000.0
"""The same code again within this time is one physical presentation, submitted once."""
DISCARD_PAUSE_MS = 1000.0
"""After a refused IME scan the rest of that scan is discarded until Enter or a pause this long."""

IME_HINT = N_("请切换到英文输入法后重新扫码")
SPLIT_HINT = N_(
    "扫码中断：条码分 {parts} 段到达（中间停顿超过 {gap} 毫秒），可能不完整，未绑定任何器械。请重新扫码。"
    "如果每次都这样，说明扫码枪发送较慢：请在“系统 → 本机设置”中调大“扫码枪按键间隔上限”（目前 {gap} 毫秒）"
)
MIXED_HINT = N_("扫码时混入了键盘输入的字符，条码可能不完整，未绑定任何器械。请重新扫码，扫码时不要触碰键盘")
DIALOG_SCAN_HINT = N_(
    "对话框打开时扫到了条码：它没有填入对话框，也没有绑定或入库。请先完成或取消此对话框，再重新扫码"
)


class ScanSource(StrEnum):
    SCANNER = "scanner"
    TYPED = "typed"
    CAMERA = "camera"
    IMAGE = "image"

    @property
    def label(self) -> str:
        return _(_SOURCE_LABELS[self])


_SOURCE_LABELS = {
    ScanSource.SCANNER: N_("扫码"),
    ScanSource.TYPED: N_("手工输入"),
    ScanSource.CAMERA: N_("摄像头"),
    ScanSource.IMAGE: N_("图片"),
}


class EntryKind(StrEnum):
    SCAN = "scan"  # one burst
    TYPED = "typed"  # a person's pace
    SPLIT = "split"  # a scan that arrived in fast pieces with pauses between: refused (incomplete scan)
    MIXED = "mixed"  # a burst plus keys at a person's pace: refused (typing during a scan)


class Level(StrEnum):
    """How a result is shown: the banner colour and whether it is an alarm."""

    OK = "ok"  # green: bound / done
    WARN = "warn"  # amber: needs a reason or an action
    BLOCKED = "blocked"  # red: refused
    INFO = "info"  # blue-grey: in progress, neutral notes


BANNER_COLOURS: dict[Level, tuple[str, str, str]] = {  # background, border, title text
    Level.OK: ("#e8f5e9", "#2e7d32", "#1b5e20"),
    Level.WARN: ("#fff3e0", "#ef6c00", "#e65100"),
    Level.BLOCKED: ("#ffebee", "#c62828", "#b71c1c"),
    Level.INFO: ("#eceff1", "#78909c", "#37474f"),
}
_LEVEL_MARKS = {Level.OK: "✔", Level.WARN: "⚠", Level.BLOCKED: "✖", Level.INFO: "…"}


@dataclass(frozen=True)
class ScanInput:
    """One submitted code: ``text`` exactly as the scanner sent it (GS as ASCII 29)."""

    text: str
    source: ScanSource

    @property
    def shown(self) -> str:
        """The code with its separators visible (␝), as a person reads it on screen."""
        return shown_text(self.text)


def classify(
    times: Sequence[float], *, burst_gap_ms: float = BURST_GAP_MS, min_burst: int = MIN_BURST_KEYS
) -> EntryKind:
    """Scanner burst, hand typing, or a split/mixed entry, from the arrival times (ms) of its keys.

    The keys are cut into runs wherever a gap exceeds ``burst_gap_ms``. One run long enough to be
    a burst is a scan; no burst at all is typing. A burst plus other runs is refused: *split* when
    every run is fast (a scanner that paused mid-code), *mixed* when a lone key — a person's — is
    among them.
    """
    runs = burst_runs(times, burst_gap_ms)
    bursts = [r for r in runs if r >= min_burst]
    if len(runs) == 1 and bursts:
        return EntryKind.SCAN
    if bursts:
        return EntryKind.MIXED if min(runs) == 1 else EntryKind.SPLIT
    return EntryKind.TYPED


def burst_runs(times: Sequence[float], burst_gap_ms: float = BURST_GAP_MS) -> list[int]:
    """How many keys each run holds, cutting wherever a gap exceeds ``burst_gap_ms``."""
    if not times:
        return []
    runs = [1]
    for before, after in itertools.pairwise(times):
        if abs(after - before) <= burst_gap_ms:  # X11 stamps may wrap: a tiny negative gap is still fast
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


def _is_cjk_or_foreign(text: str) -> bool:
    """Anything a code cannot hold after NFKC: CJK, full-width punctuation NFKC keeps, other scripts."""
    return any(not c.isascii() or not (c.isprintable() or c in SHOWN_CONTROLS) for c in text)


def _monotonic_ms() -> float:
    return time.monotonic() * 1000.0


def beep(level: Level) -> None:
    """The system's alert sound: works on every ward PC and is silent (never fails) without audio."""
    QApplication.beep()


# ---- the verdict banner -------------------------------------------------------------------------------
class VerdictBanner(QFrame):
    """A large, coloured result: green bound, red blocked, amber warning, with its action buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdict_banner")
        self.level: Level | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(4)
        self.title = QLabel()
        self.title.setObjectName("verdict_title")
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setBold(True)
        self.title.setFont(font)
        layout.addWidget(self.title)
        self.message = QLabel()
        self.message.setObjectName("verdict_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        message_font = QFont(self.message.font())
        message_font.setPointSizeF(message_font.pointSizeF() * 1.3)
        self.message.setFont(message_font)
        layout.addWidget(self.message)
        self.detail = QLabel()
        self.detail.setObjectName("verdict_detail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail)
        self.action_row = QHBoxLayout()
        self.action_row.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(self.action_row)
        self.action_buttons: list[QPushButton] = []
        self.hide()

    def show_result(
        self,
        level: Level,
        title: str,
        message: str,
        *,
        detail: str = "",
        actions: Sequence[tuple[str, str, Callable[[], None]]] = (),
    ) -> None:
        """Show a result at once; ``actions`` are (object name, button text, slot)."""
        self.level = level
        background, border, ink = BANNER_COLOURS[level]
        self.setStyleSheet(
            f"#verdict_banner {{ background: {background}; border: 2px solid {border};"
            f" border-radius: 6px; }} #verdict_title {{ color: {ink}; }}"
        )
        self.title.setText(f"{_LEVEL_MARKS[level]} {title}")
        self.message.setText(message)
        self.message.setVisible(bool(message))
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        self._set_actions(actions)
        self.show()

    def _set_actions(self, actions: Sequence[tuple[str, str, Callable[[], None]]]) -> None:
        for button in self.action_buttons:
            self.action_row.removeWidget(button)
            button.deleteLater()
        self.action_buttons = []
        while self.action_row.count():
            self.action_row.takeAt(0)
        for name, text, slot in actions:
            button = QPushButton(text)
            button.setObjectName(name)
            button.setAutoDefault(False)
            font = QFont(button.font())
            font.setPointSizeF(font.pointSizeF() * 1.15)
            button.setFont(font)
            button.clicked.connect(lambda _checked=False, s=slot: s())
            self.action_row.addWidget(button)
            button.show()  # at once: a layout only posts the show of a child added to a visible parent
            self.action_buttons.append(button)
        self.action_row.addStretch(1)

    def action(self, name: str) -> QPushButton | None:
        return next((b for b in self.action_buttons if b.objectName() == name), None)

    def clear(self) -> None:
        self.level = None
        self._set_actions(())
        self.hide()

    def title_text(self) -> str:
        return self.title.text()


# ---- the scan bar ---------------------------------------------------------------------------------------
class ScanBar(QWidget):
    """The always-ready scan field with its result banner, camera panel and "open image".

    ``submitted(ScanInput)`` once per code; ``repeated(ScanInput)`` when the same code came again
    within ``REPEAT_WINDOW_MS`` (nothing new to do; show the last answer again). The owner calls
    ``show_result`` with what the service said.
    """

    submitted = Signal(object)
    repeated = Signal(object)
    refused = Signal(str)  # a translated reason the bar itself refused an entry (IME, split)

    def __init__(
        self,
        settings: SettingsStore,
        *,
        placeholder: str = "",
        camera: bool = True,
        clock: Callable[[], float] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scan_bar")
        self.settings = settings
        self.clock: Callable[[], float] = clock or _monotonic_ms
        self.sound: Callable[[Level], None] = beep
        self.capture_factory: Any = None  # tests stand in for OpenCV (CameraSource(capture_factory=…))
        self._chars: list[str] = []
        self._times: list[float] = []
        self._edited = False
        self._discarding = False
        self._last_key_at: float | None = None
        self._last: ScanInput | None = None
        self._last_at = 0.0
        self.camera_view: Any = None  # camera_view.CameraView, built when first switched on
        self._image_scan: Any = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.field = QLineEdit()
        self.field.setObjectName("scan_field")
        self.field.setPlaceholderText(placeholder or _("请扫码（扫码枪或摄像头），或手工输入条码后按回车"))
        self.field.setClearButtonEnabled(True)
        self.field.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)  # keep a Chinese IME off
        self.field.setInputMethodHints(
            Qt.InputMethodHint.ImhLatinOnly
            | Qt.InputMethodHint.ImhNoPredictiveText
            | Qt.InputMethodHint.ImhPreferLatin
        )
        font = QFont(self.field.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.field.setFont(font)
        self.field.setMinimumHeight(self.field.fontMetrics().height() + 16)
        self.field.installEventFilter(self)
        self.field.textEdited.connect(self._text_edited)
        row.addWidget(self.field, 1)
        self.camera_button = QPushButton(_("摄像头扫码"))
        self.camera_button.setObjectName("camera_button")
        self.camera_button.setCheckable(True)
        self.camera_button.setAutoDefault(False)
        self.camera_button.toggled.connect(self.set_camera)
        self.image_button = QPushButton(_("打开图片…"))
        self.image_button.setObjectName("image_button")
        self.image_button.setAutoDefault(False)
        self.image_button.clicked.connect(lambda _checked=False: self.open_image())
        for button in (self.camera_button, self.image_button):
            button.setVisible(camera)
            row.addWidget(button)
        layout.addLayout(row)
        self.banner = VerdictBanner()
        layout.addWidget(self.banner)
        self.camera_area = QVBoxLayout()
        self.camera_area.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.camera_area)

    # ---- what the owner uses --------------------------------------------------------------------
    def focus_field(self) -> None:
        if self.field.isEnabled() and self.isVisible():
            self.field.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_scanning_enabled(self, enabled: bool, reason: str = "") -> None:
        self.field.setEnabled(enabled)
        self.camera_button.setEnabled(enabled)
        self.image_button.setEnabled(enabled)
        if not enabled:
            self.camera_button.setChecked(False)
            self.field.setPlaceholderText(reason)

    def show_result(
        self,
        level: Level,
        title: str,
        message: str,
        *,
        scan: ScanInput | None = None,
        detail: str = "",
        actions: Sequence[tuple[str, str, Callable[[], None]]] = (),
        sound: bool = True,
    ) -> None:
        """Show a result at once, with the code as it came in (source and visible separators)."""
        lines = [detail] if detail else []
        if scan is not None:
            lines.append(
                _("{source}：{code}").format(source=scan.source.label, code=readable_text(scan.text))
            )
        self.banner.show_result(level, title, message, detail="\n".join(lines), actions=actions)
        if sound and level is not Level.INFO:
            self.sound(level)

    def submit_external(self, text: str, source: ScanSource) -> bool:
        """A code from the camera or an image: the same path as a wedge scan. False when dropped
        because a modal window (the lock screen, a dialog) blocks this bar."""
        if self.is_blocked() or not self.field.isEnabled():
            return False
        if not text.strip():
            return False
        self._submit(ScanInput(text, source))
        return True

    def is_blocked(self) -> bool:
        """Whether a modal window other than ours is up: then no code may reach a binding."""
        modal = QApplication.activeModalWidget()
        if modal is None:
            return False
        window = self.window()
        return modal is not window and not modal.isAncestorOf(self)

    # ---- the event filter -----------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.field:
            return False
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self._key(event)
        if kind == QEvent.Type.InputMethod and isinstance(event, QInputMethodEvent):
            return self._input_method(event)
        return False

    def _stamp(self, event: QKeyEvent | None) -> float:
        stamp = event.timestamp() if event is not None else 0
        return float(stamp) if stamp else self.clock()

    def _key(self, event: QKeyEvent) -> bool:
        at = self._stamp(event)
        key = event.key()
        if self._discarding and self._last_key_at is not None and at - self._last_key_at > DISCARD_PAUSE_MS:
            self._discarding = False  # a new entry after the refused one
        self._last_key_at = at
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish()
            return True
        if key == Qt.Key.Key_Escape:
            if not self._chars and not self.field.text():
                self.banner.clear()
            self._clear_entry()
            self._discarding = False
            return True
        if self._discarding:
            return True
        text = event.text()
        if not text:
            return False
        if text in SHOWN_CONTROLS:  # GS/RS/EOT: QLineEdit would drop them; keep and draw them
            self._append(text, at)
            self.field.insert(SHOWN_CONTROLS[text])
            return True
        if not all(c.isprintable() for c in text):
            return False  # Ctrl+V, Ctrl+Z …: the line edit does it; _text_edited notices the change
        if event.isAutoRepeat():
            self._edited = True  # a held key is a person
        normal = unicodedata.normalize("NFKC", text)
        if _is_cjk_or_foreign(normal):
            self._refuse_ime()
            return True
        self._append(normal, at)
        if normal != text:  # full-width digits: show (and keep) the ASCII form
            self.field.insert(normal)
            return True
        return False

    def _input_method(self, event: QInputMethodEvent) -> bool:
        """An IME in the scan field: CJK refused with the hint, full-width ASCII normalised."""
        if self._discarding:
            return True
        commit, preedit = event.commitString(), event.preeditString()
        if preedit:  # an IME composing (pinyin "sn" …): the scan is being turned into Chinese
            self._refuse_ime()
            return True
        if commit:
            normal = unicodedata.normalize("NFKC", commit)
            if _is_cjk_or_foreign(normal):
                self._refuse_ime()
                return True
            at = self.clock()
            self._append(normal, at)
            self.field.insert(normal)
        return True  # never let a composition into the field

    def _append(self, text: str, at: float) -> None:
        for c in text:
            self._chars.append(c)
            self._times.append(at)

    def _text_edited(self, text: str) -> None:
        """Any change the keys do not explain (paste, Backspace, cursor moves) makes it hand-edited."""
        if not text:  # emptied (the clear button, select-all + Delete): a fresh entry starts
            self._chars.clear()
            self._times.clear()
            self._edited = False
        elif code_text(text) != "".join(self._chars):
            self._edited = True

    # ---- finishing an entry ---------------------------------------------------------------------
    def _clear_entry(self) -> None:
        self._chars.clear()
        self._times.clear()
        self._edited = False
        self.field.clear()

    def _refuse_ime(self) -> None:
        self._clear_entry()
        self._discarding = True
        message = _(IME_HINT)
        self.show_result(
            Level.WARN,
            _("请切换到英文输入法"),
            message,
            detail=_("扫码时输入法处于中文状态，条码未被接受，未绑定任何器械。"),
        )
        self.refused.emit(message)

    def _finish(self) -> None:
        if self._discarding:  # the Enter that ends a refused scan: nothing of it is kept
            self._discarding = False
            self._clear_entry()
            return
        raw = code_text(self.field.text()) if self._edited else "".join(self._chars)
        gap = self.burst_gap_ms()
        kind = EntryKind.TYPED if self._edited else classify(self._times, burst_gap_ms=gap)
        parts = len(burst_runs(self._times, gap))
        self._clear_entry()
        text = self._substitute(raw)
        if not text.strip():
            return  # Enter on an empty field (a doubled Enter): nothing to do
        if kind in (EntryKind.SPLIT, EntryKind.MIXED):
            if kind is EntryKind.SPLIT:
                title, message = _("扫码不完整"), _(SPLIT_HINT).format(parts=parts, gap=f"{gap:g}")
            else:
                title, message = _("扫码混入了键盘输入"), _(MIXED_HINT)
            self.show_result(Level.BLOCKED, title, message, scan=ScanInput(text, ScanSource.SCANNER))
            self.refused.emit(message)
            return
        self._submit(ScanInput(text, ScanSource.SCANNER if kind is EntryKind.SCAN else ScanSource.TYPED))

    def burst_gap_ms(self) -> float:
        """This workstation's burst gap (``Settings.scanner_burst_gap_ms``)."""
        return float(self.settings.load().scanner_burst_gap_ms)

    def _substitute(self, text: str) -> str:
        """The workstation's configured stand-ins for GS (a scanner set to type "~") become GS, with
        the parser's own rule (``domain.codes.apply_gs_substitutes``), before the scan is submitted."""
        from ecmo_desktop.domain.codes import apply_gs_substitutes

        return apply_gs_substitutes(text, self.settings.load().scanner_gs_substitutes)

    def _submit(self, scan: ScanInput) -> None:
        now = self.clock()
        last = self._last
        if last is not None and last.text == scan.text and 0 <= now - self._last_at <= REPEAT_WINDOW_MS:
            self._last_at = now  # a label held in front of the scanner keeps counting as one presentation
            self.repeated.emit(scan)
            return
        self._last, self._last_at = scan, now
        self.submitted.emit(scan)

    # ---- camera and images ----------------------------------------------------------------------
    def set_camera(self, on: bool) -> None:
        """Show and start the camera panel, or stop and hide it."""
        from ecmo_desktop.ui.camera_view import CameraView  # only loads OpenCV when a camera is wanted

        if self.camera_button.isChecked() != on:
            self.camera_button.setChecked(on)
            return
        if on:
            if self.camera_view is None:
                self.camera_view = CameraView(self.settings, capture_factory=self.capture_factory)
                self.camera_view.scanned.connect(lambda text: self.submit_external(text, ScanSource.CAMERA))
                self.camera_view.image_scanned.connect(
                    lambda text: self.submit_external(text, ScanSource.IMAGE)
                )
                self.camera_view.closed.connect(lambda: self.camera_button.setChecked(False))
                self.camera_area.addWidget(self.camera_view)
            self.camera_view.show()
            self.camera_view.start()
        elif self.camera_view is not None:
            self.camera_view.stop()
            self.camera_view.hide()
        self.focus_field()

    def open_image(self, path: str | None = None) -> None:
        """Decode a photo or screenshot of a label (thorough) and submit what it holds."""
        from ecmo_desktop.ui.camera_view import ImageScan

        if self._image_scan is None:
            self._image_scan = ImageScan(self)
            self._image_scan.scanned.connect(lambda text: self.submit_external(text, ScanSource.IMAGE))
            self._image_scan.failed.connect(
                lambda message: self.show_result(Level.BLOCKED, _("图片中未能识别条码"), message)
            )
        if path is None:
            self._image_scan.choose()
        else:
            self._image_scan.decode(path)

    @property
    def image_scan(self) -> Any:
        return self._image_scan

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        DialogScanGuard.install().watch(self)

    def hideEvent(self, event: Any) -> None:
        """Leaving the tab (or closing the window) stops the camera: it must not keep binding unseen."""
        if self.camera_button.isChecked():
            self.camera_button.setChecked(False)
        guard = DialogScanGuard.current()
        if guard is not None:
            guard.forget(self)
        super().hideEvent(event)

    def scan_in_dialog(self, text: str, dialog: QWidget) -> None:
        """A scan arrived while a dialog over this bar had the keyboard: it was not typed; say so."""
        message = _(DIALOG_SCAN_HINT)
        self.show_result(
            Level.WARN, _("扫码未处理：请先关闭对话框"), message, scan=ScanInput(text, ScanSource.SCANNER)
        )
        errors = getattr(dialog, "errors", None)
        if errors is not None and hasattr(errors, "show_general"):
            errors.show_general(message)
        self.refused.emit(message)


# ---- scans aimed at a dialog ------------------------------------------------------------------------------
class DialogScanGuard(QObject):
    """Application-wide: keys bound for a dialog over a scan bar are held for at most the burst gap.

    A person's keys are handed on unchanged (and at once, as soon as the next key shows the gap was a
    person's); a burst is recognised as a scan — its keys are never typed, its Enter never presses the
    dialog's default button — and the bar under the dialog reports it (``ScanBar.scan_in_dialog``).
    Only dialogs whose parent window holds a visible scan bar are watched; the lock screen and every
    other window are left alone.
    """

    _instance: DialogScanGuard | None = None

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._bars: list[weakref.ref[ScanBar]] = []
        self._held: list[tuple[QWidget, QKeyEvent, float]] = []
        self._bar: ScanBar | None = None
        self._dialog: QWidget | None = None
        self._gap = BURST_GAP_MS
        self._replaying = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)
        app.installEventFilter(self)

    @classmethod
    def install(cls) -> DialogScanGuard:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        if cls._instance is None or not shiboken6.isValid(cls._instance):
            cls._instance = cls(app)
        return cls._instance

    @classmethod
    def current(cls) -> DialogScanGuard | None:
        guard = cls._instance
        return guard if guard is not None and shiboken6.isValid(guard) else None

    def watch(self, bar: ScanBar) -> None:
        if all(ref() is not bar for ref in self._bars):
            self._bars.append(weakref.ref(bar))

    def forget(self, bar: ScanBar) -> None:
        self._bars = [ref for ref in self._bars if ref() is not None and ref() is not bar]

    def _bar_under(self, dialog: QWidget) -> ScanBar | None:
        """The visible bar in the window this dialog was opened over (None: not a scan dialog)."""
        parent = dialog.parentWidget()
        if parent is None:
            return None
        window = parent.window()
        for ref in self._bars:
            bar = ref()
            if bar is not None and shiboken6.isValid(bar) and bar.isVisible() and bar.window() is window:
                return bar
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._replaying or event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        if not isinstance(watched, QWidget) or watched is not QApplication.focusWidget():
            return False  # the same key propagating to the parents: decided once, at the focus widget
        dialog = watched.window()
        if not isinstance(dialog, QDialog) or not dialog.isModal():
            return False
        if isinstance(dialog, QFileDialog | QAbstractPrintDialog):
            return False  # Qt's own file and print dialogs: a path or a page range is typed, never scanned
        bar = self._bar_under(dialog)
        if bar is None:
            return False
        at = float(event.timestamp()) or bar.clock()
        if self._held and (self._dialog is not dialog or abs(at - self._held[-1][2]) > self._gap):
            self.flush()
        if not self._held:
            self._gap = bar.burst_gap_ms()
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self._is_burst():
                self._recognised(bar, dialog)
                return True
            self.flush()
            return False
        text = event.text()
        if (
            not text
            or event.isAutoRepeat()
            or event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
            or not all(c.isprintable() or c in SHOWN_CONTROLS for c in text)
        ):
            self.flush()
            return False  # Tab, arrows, Backspace, Esc, shortcuts: a person's keys, at once
        copy = QKeyEvent(event.type(), key, event.modifiers(), text, event.isAutoRepeat(), event.count())
        copy.setTimestamp(event.timestamp())
        self._held.append((watched, copy, at))
        self._bar, self._dialog = bar, dialog
        self._timer.start(max(1, int(self._gap) + 1))
        return True

    def _is_burst(self) -> bool:
        return (
            len(self._held) >= MIN_BURST_KEYS
            and classify([at for _w, _e, at in self._held], burst_gap_ms=self._gap) is EntryKind.SCAN
        )

    def _recognised(self, bar: ScanBar, dialog: QWidget) -> None:
        text = "".join(e.text() for _w, e, _at in self._held)
        self._held.clear()
        self._timer.stop()
        bar.scan_in_dialog(text, dialog)

    def flush(self) -> None:
        """Hand held keys on as typed — unless they were a burst (a scan without Enter): then refuse it."""
        self._timer.stop()
        held, self._held = self._held, []
        if not held:
            return
        if (
            len(held) >= MIN_BURST_KEYS
            and classify([at for _w, _e, at in held], burst_gap_ms=self._gap) is EntryKind.SCAN
        ):
            bar, dialog = self._bar, self._dialog
            if (
                bar is not None
                and dialog is not None
                and shiboken6.isValid(bar)
                and shiboken6.isValid(dialog)
            ):
                bar.scan_in_dialog("".join(e.text() for _w, e, _at in held), dialog)
            return
        self._replaying = True
        try:
            for widget, event, _at in held:
                if shiboken6.isValid(widget):
                    QApplication.sendEvent(widget, event)
        finally:
            self._replaying = False
