"""Camera capture and the rule that turns per-frame reads into bindings — no Qt here.

The camera view (``ui/camera_view.py``) runs ``CameraSource.read`` → ``decode_frame`` →
``ConfirmationFilter.feed`` on a worker thread and hands confirmed texts to the same binding path
as the wedge scanner. OpenCV is used only to grab frames.

Why a filter: one frame's read can be wrong even when its check digit is valid (zxing-cpp reads
a blurred EAN-13 two ways, both with a correct mod-10 digit; an enlarged Code 128 can pass its
mod-103 check with two compensating errors). A code is therefore bound only when the same text is
read in two consecutive frames, or on one frame when its payload carries a second, independent
check — a GS1 GTIN check digit or the HIBC mod-43 character, inside a symbology with its own.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from ecmo_desktop.domain.codes import parse_code
from ecmo_desktop.domain.errors import CodeError, EcmoError
from ecmo_desktop.i18n import N_
from ecmo_desktop.scanning.decode import DecodedSymbol

_log = logging.getLogger(__name__)

RETAIL_SYMBOLOGIES = frozenset({"EAN13", "EAN8", "UPCA", "UPCE"})
_SELF_CHECKED_SCHEMES = frozenset({"gs1", "hibc"})


class CameraError(EcmoError):
    """The chosen camera cannot be opened or stopped delivering frames."""

    default_message = N_("无法打开摄像头 {index}：未连接、被其他程序占用或没有访问权限")


class CameraLost(CameraError):
    default_message = N_("摄像头 {index} 已断开或停止传输画面")


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` this module uses (tests pass a fake)."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, Any]: ...
    def set(self, prop_id: int, value: float) -> bool: ...
    def release(self) -> None: ...


def default_backend() -> int:
    """DirectShow on Windows opens in well under a second (Media Foundation can take several);
    V4L2 on Linux; whatever OpenCV picks elsewhere."""
    if sys.platform.startswith("win"):
        return cv2.CAP_DSHOW
    if sys.platform.startswith("linux"):
        return cv2.CAP_V4L2
    return cv2.CAP_ANY


@dataclass(frozen=True)
class CameraInfo:
    """A camera that opened and delivered a frame, for the settings page."""

    index: int
    width: int
    height: int


class CameraSource:
    """One camera by index: ``open`` → ``read`` (BGR frames) → ``close``; a context manager too.

    The capture object is created through ``capture_factory`` so tests (and a future backend)
    can stand in for OpenCV. The requested size is a hint; ``read`` returns what the camera gives.
    """

    def __init__(
        self,
        index: int,
        *,
        width: int = 1280,
        height: int = 720,
        backend: int | None = None,
        capture_factory: Callable[[int, int], Capture] = cv2.VideoCapture,
    ) -> None:
        self.index = index
        self.width = width
        self.height = height
        self.backend = default_backend() if backend is None else backend
        self._factory = capture_factory
        self._capture: Capture | None = None

    @property
    def is_open(self) -> bool:
        return self._capture is not None

    def open(self) -> None:
        """Open the device; raise ``CameraError`` when there is none at this index or it is busy."""
        if self._capture is not None:
            return
        try:
            capture = self._factory(self.index, self.backend)
        except cv2.error as exc:
            raise CameraError(index=self.index) from exc
        if not capture.isOpened():
            capture.release()
            raise CameraError(index=self.index)
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one queued seconds ago
        self._capture = capture

    def read(self) -> np.ndarray:
        """The next frame as an H×W×3 BGR array; ``CameraLost`` if the device stopped delivering."""
        if self._capture is None:
            self.open()
        assert self._capture is not None
        ok, frame = self._capture.read()
        if not ok or not isinstance(frame, np.ndarray) or frame.size == 0:
            raise CameraLost(index=self.index)
        return frame

    def close(self) -> None:
        """Release the device; safe to call twice, and from ``__exit__`` after an error."""
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

    def __enter__(self) -> CameraSource:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def list_cameras(
    max_index: int = 5,
    *,
    backend: int | None = None,
    capture_factory: Callable[[int, int], Capture] = cv2.VideoCapture,
) -> list[CameraInfo]:
    """Cameras at indices ``0..max_index-1`` that open and deliver a frame (slow: call off the GUI).

    An index that fails is skipped silently: on a ward PC without a camera this returns ``[]``
    and the app simply offers no camera scanning.
    """
    found = []
    for index in range(max_index):
        source = CameraSource(index, backend=backend, capture_factory=capture_factory)
        try:
            with source:
                frame = source.read()
        except CameraError:
            continue
        found.append(CameraInfo(index, int(frame.shape[1]), int(frame.shape[0])))
    _log.info("cameras found: %s", [c.index for c in found])
    return found


def trusted_on_one_frame(symbol: DecodedSymbol) -> bool:
    """True when one read is enough: the payload passes a GS1 or HIBC check of its own.

    EAN/UPC are excluded even though they parse as validated: their only check is the mod-10
    digit the symbology already used to accept the read, so it is no second witness.
    """
    if symbol.symbology in RETAIL_SYMBOLOGIES:
        return False
    try:
        parsed = parse_code(symbol.text)
    except CodeError:
        return False
    return parsed.is_validated and parsed.scheme in _SELF_CHECKED_SCHEMES


class ConfirmationFilter:
    """Per-frame reads in, texts to bind out — each physical presentation of a code binds once.

    A text is emitted the first time it is seen in two consecutive frames, or on its first frame
    when ``trusted_on_one_frame`` holds. It is then held: it is not emitted again until it has
    been absent from ``release_after`` consecutive frames, so a label kept in front of the camera
    binds once, and taking it away and showing it again binds it again (the binding service then
    applies the single-use rule R6).
    """

    def __init__(
        self, *, release_after: int = 15, trusted: Callable[[DecodedSymbol], bool] = trusted_on_one_frame
    ) -> None:
        if release_after < 1:
            raise ValueError("release_after must be at least 1 frame")
        self.release_after = release_after
        self._trusted = trusted
        self._previous: set[str] = set()
        self._held: dict[str, int] = {}  # emitted text → consecutive frames it has been absent

    def feed(self, symbols: Iterable[DecodedSymbol]) -> list[DecodedSymbol]:
        """Process one frame's reads (possibly none); return the symbols to bind now, in order."""
        current: dict[str, DecodedSymbol] = {}
        for symbol in symbols:
            if symbol.text:
                current.setdefault(symbol.text, symbol)
        emitted = []
        for text, symbol in current.items():
            if text in self._held:
                self._held[text] = 0
            elif text in self._previous or self._trusted(symbol):
                self._held[text] = 0
                emitted.append(symbol)
        for text in list(self._held):
            if text not in current:
                self._held[text] += 1
                if self._held[text] >= self.release_after:
                    del self._held[text]
        self._previous = set(current)
        return emitted

    def reset(self) -> None:
        """Forget everything, e.g. when the camera view closes or the target slot changes."""
        self._previous.clear()
        self._held.clear()
