"""Camera frames and still images → decoded symbols.

zxing-cpp does the decoding: it reads every symbology a device label carries, and in plain text
mode a GS1 separator arrives as ASCII 29, exactly as the wedge scanner types it. One call over a
whole webcam frame misses codes a person can see, mostly because its row thresholds are thrown off
by the clutter around a small label and because tilted linear codes no longer fit one scan line.
So the pipeline first finds label-like regions on a half-size copy (cheap), decodes each crop —
deskewed when it is a tilted bar code — and only then falls back to the whole frame, a binarised
crop, an enlarged crop and pyzbar for linear codes. OpenCV only moves pixels here; its own barcode
detectors misread Code 128 as EAN.

pyzbar is optional: it needs the libzbar shared library, which a Windows ward PC may lack.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import cv2
import numpy as np
import zxingcpp

from ecmo_desktop.domain.codes import parse_code_json
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_

try:  # libzbar missing raises ImportError (Linux) or OSError/FileNotFoundError (Windows DLL)
    from pyzbar import pyzbar as _pyzbar
except (ImportError, OSError):  # pragma: no cover - depends on the machine
    _pyzbar = None

Budget = Literal["live", "thorough"]

FORMATS = (
    zxingcpp.DataMatrix,
    zxingcpp.QRCode,
    zxingcpp.Code128,
    zxingcpp.EAN13,
    zxingcpp.EAN8,
    zxingcpp.UPCA,
    zxingcpp.UPCE,
)
_FORMAT_SET = zxingcpp.BarcodeFormats(FORMATS)  # what read_barcodes takes (it converts a tuple on every call)
LINEAR_SYMBOLOGIES = frozenset({"Code128", "EAN13", "EAN8", "UPCA", "UPCE"})
_ZBAR_NAMES = {"CODE128": "Code128", "EAN13": "EAN13", "EAN8": "EAN8"}


class ImageReadError(EcmoError):
    """A still image the user opened cannot be read as a picture."""

    default_message = N_("无法读取图片文件：{file}")


@dataclass(frozen=True)
class DecodedSymbol:
    """One code read from an image: text as the wedge scanner would type it (GS as "\\x1d")."""

    symbology: str
    text: str


@dataclass(frozen=True)
class _Region:
    """A label-like area of the frame, as a rotated rectangle in full-resolution pixels."""

    centre: tuple[float, float]
    size: tuple[float, float]
    angle: float
    score: float


def pyzbar_available() -> bool:
    """Whether the pyzbar fallback can run on this machine (libzbar found)."""
    return _pyzbar is not None


def _clean(text: str) -> str:
    """Make decoder text safe to store: lone surrogates become U+FFFD, everything else stays."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _bytes_to_text(data: bytes) -> str:
    """zbar hands back bytes; labels are ASCII or UTF-8, Chinese encoders sometimes use GB 18030."""
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # every byte maps to one character, so this cannot fail


def to_gray(image: np.ndarray) -> np.ndarray:
    """8-bit single-channel view of a frame (grey, BGR or BGRA; other depths are rescaled)."""
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError("expected a non-empty H×W or H×W×C image array")
    if image.dtype != np.uint8:
        image = cv2.normalize(image.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    channels = image.shape[2]
    if channels == 1:
        return np.ascontiguousarray(image[:, :, 0])
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"unsupported channel count {channels}")


@dataclass(frozen=True)
class _View:
    """An image handed to a decoder, and the affine map from its pixels back to the frame's."""

    image: np.ndarray
    to_frame: np.ndarray  # 2×3

    @staticmethod
    def whole(gray: np.ndarray) -> _View:
        return _View(gray, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))

    def derived(self, image: np.ndarray, scale: float = 1.0) -> _View:
        """A same-geometry variant (binarised) or a uniformly rescaled one (enlarged)."""
        return _View(image, self.to_frame @ np.diag([1.0 / scale, 1.0 / scale, 1.0]))


@dataclass(frozen=True)
class _Read:
    symbol: DecodedSymbol
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels


def _box(view: _View, position: Any) -> tuple[float, float, float, float]:
    corners = np.array(
        [
            [p.x, p.y, 1.0]
            for p in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
        ]
    )
    mapped = corners @ view.to_frame.T
    (x0, y0), (x1, y1) = mapped.min(axis=0), mapped.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _zxing(view: _View, *, invert: bool = False, downscale: bool = True, rotate: bool = True) -> list[_Read]:
    """One zxing-cpp call restricted to the label symbologies, in plain text mode (GS as ASCII 29)."""
    results = zxingcpp.read_barcodes(
        view.image,
        formats=_FORMAT_SET,
        text_mode=zxingcpp.TextMode.Plain,
        try_invert=invert,
        try_downscale=downscale,
        try_rotate=rotate,
    )
    return [
        _Read(DecodedSymbol(r.format.name, _clean(r.text)), _box(view, r.position))
        for r in results
        if r.valid
    ]


def _zbar(view: _View) -> list[_Read]:
    """Linear codes only: zbar reads no DataMatrix, and its QR adds nothing zxing misses."""
    if _pyzbar is None:
        return []
    symbols = [_pyzbar.ZBarSymbol.CODE128, _pyzbar.ZBarSymbol.EAN13, _pyzbar.ZBarSymbol.EAN8]
    reads = []
    for d in _pyzbar.decode(view.image, symbols=symbols):
        if d.type not in _ZBAR_NAMES:
            continue
        left, top, width, height = d.rect
        corners = np.array([[left, top, 1.0], [left + width, top + height, 1.0]]) @ view.to_frame.T
        (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
        symbol = DecodedSymbol(_ZBAR_NAMES[d.type], _clean(_bytes_to_text(d.data)))
        reads.append(_Read(symbol, (float(x0), float(y0), float(x1), float(y1))))
    return reads


# ---------------------------------------------------------------- localisation


def _find_regions(gray: np.ndarray, limit: int) -> list[_Region] | None:
    """Dense-edge blobs that look like a symbol, best first; ``None`` when the frame cannot hold one.

    Works on a half-size copy: a morphological gradient marks edges, closing fuses bars and
    modules into solid blobs, opening removes cables and text strokes thinner than a symbol.
    Blobs too small to hold a code, too elongated to be one (a straight cable) or covering most
    of the frame (noise, or a label so close that the whole-frame pass handles it) are dropped.

    ``None`` is the early "nothing here": a flat frame (a covered lens, a wall) has no edge that
    stands out, and sensor noise or a texture has edges on more than a third of the pixels and no
    blob of symbol size. A symbol needs a quiet zone around it, so neither can hold one, and the
    costly whole-frame call (40 ms on noise) is skipped.
    """
    if min(gray.shape) < 32:  # smaller than any readable label
        return None
    small = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    level, edges = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if level < 12:  # no edge stands out from the rest (Otsu on a frame that is nearly all one tone)
        if cv2.minMaxLoc(grad)[1] < 40:  # and none is strong anywhere: a flat frame, nothing to look for
            return None
        return []  # a few strong edges on a blank page: a small symbol the whole-frame pass reads
    blobs = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    blobs = cv2.morphologyEx(blobs, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
    contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    regions = []
    max_area = 0.4 * small.size
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < 250 or area > max_area:
            continue
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        if min(w, h) < 8 or max(w, h) > 10 * min(w, h):
            continue
        fill = area / (w * h)
        regions.append(_Region((cx * 2, cy * 2), (w * 2, h * 2), angle, area * fill * fill))
    if not regions and cv2.countNonZero(edges) > _NOISE_EDGE_FRACTION * small.size:
        return None
    regions.sort(key=lambda r: r.score, reverse=True)
    return regions[:limit]


_NOISE_EDGE_FRACTION = 0.35  # corpus frames: at most 0.23; sensor noise: 0.45


def _long_side_angle(region: _Region) -> tuple[float, float, float]:
    """(length, width, angle of the long side in degrees, within ±45°)."""
    w, h = region.size
    angle = region.angle
    if w < h:
        angle -= 90.0
        w, h = h, w
    angle = (angle + 90.0) % 180.0 - 90.0
    if angle > 45.0:
        angle -= 90.0
    elif angle < -45.0:
        angle += 90.0
    return w, h, angle


def _is_tilted_bar(region: _Region) -> bool:
    """An elongated blob off the axes: a linear code no single scan line crosses whole."""
    length, width, angle = _long_side_angle(region)
    return length > 1.8 * width and abs(angle) > 2.0


def _crop(gray: np.ndarray, region: _Region, *, level: bool) -> _View:
    """The region with a quiet-zone margin, rotated level first when ``level`` is set."""
    length, width, angle = _long_side_angle(region)
    pad = 0.15 * length + 16
    cx, cy = region.centre
    if level:
        out_w, out_h = int(length + 2 * pad), int(width + 2 * pad)
        matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
        matrix[0, 2] += out_w / 2 - cx
        matrix[1, 2] += out_h / 2 - cy
        image = cv2.warpAffine(
            gray, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return _View(image, cv2.invertAffineTransform(matrix))
    half = math.hypot(length, width) / 2 + pad
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(gray.shape[1], int(cx + half)), min(gray.shape[0], int(cy + half))
    return _View(gray[y0:y1, x0:x1], np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]]))


def _binarised(view: _View) -> _View:
    """Local-mean threshold sized to the crop: rescues glare, shadows and low contrast."""
    block = max(15, (min(view.image.shape) // 8) | 1)
    image = cv2.adaptiveThreshold(view.image, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 6)
    return view.derived(image)


def _enlarged(view: _View) -> _View:
    """Twice the size, edges re-sharpened: zxing wants ~2 px per module and crisp transitions,
    small or slightly blurred labels give it neither."""
    image = cv2.resize(view.image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    image = cv2.addWeighted(image, 2.5, cv2.GaussianBlur(image, (0, 0), 1.5), -1.5, 0)
    return view.derived(image, 2.0)


# ---------------------------------------------------------------- pipeline


_RETAIL = frozenset({"EAN13", "EAN8", "UPCA", "UPCE"})


class _Collector:
    """Symbols in discovery order, without duplicates, contradictions settled by majority.

    A single check digit does not make a read right: zxing-cpp read one blurred EAN-13 of the
    corpus two ways from two scan lines, both with a valid mod-10 digit, and an enlarged Code 128
    once passed its mod-103 check with two compensating errors. Two different linear reads of
    the same place are therefore one symbol read two ways: the reading more steps agree on wins,
    and a tie withholds both until a later step (or the next frame) settles it. DataMatrix and
    QR carry Reed-Solomon error correction and are taken as read.
    """

    def __init__(self) -> None:
        self.reads: list[_Read] = []
        self.rivals: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def add(self, reads: Iterable[_Read]) -> bool:
        """Add ``reads``; True when the list of trustworthy symbols grew."""
        before = len(self.result())
        for read in reads:
            if not read.symbol.text:
                continue
            key = (read.symbol.symbology, read.symbol.text)
            for other in self.reads:
                other_key = (other.symbol.symbology, other.symbol.text)
                if other_key != key and _same_place(read, other):
                    self.rivals.setdefault(key, set()).add(other_key)
                    self.rivals.setdefault(other_key, set()).add(key)
            self.reads.append(read)
        return len(self.result()) > before

    def result(self) -> list[DecodedSymbol]:
        votes: dict[tuple[str, str], int] = {}
        first: dict[tuple[str, str], DecodedSymbol] = {}
        for read in self.reads:
            key = (read.symbol.symbology, read.symbol.text)
            votes[key] = votes.get(key, 0) + 1
            first.setdefault(key, read.symbol)
        return [
            symbol
            for key, symbol in first.items()
            if all(votes[rival] < votes[key] for rival in self.rivals.get(key, ()))
        ]


def _same_place(a: _Read, b: _Read) -> bool:
    """Two linear-code reads of one printed symbol: centres within half a symbol length and,
    unless both are retail codes (whose rival readings come from separate scan lines), the
    read areas touching — two Code 128 symbols stacked on one label never touch."""
    if a.symbol.symbology not in LINEAR_SYMBOLOGIES or b.symbol.symbology not in LINEAR_SYMBOLOGIES:
        return False
    length = max(a.box[2] - a.box[0], a.box[3] - a.box[1], b.box[2] - b.box[0], b.box[3] - b.box[1])
    ax, ay = (a.box[0] + a.box[2]) / 2, (a.box[1] + a.box[3]) / 2
    bx, by = (b.box[0] + b.box[2]) / 2, (b.box[1] + b.box[3]) / 2
    if math.hypot(ax - bx, ay - by) >= 0.5 * length:
        return False
    if a.symbol.symbology in _RETAIL and b.symbol.symbology in _RETAIL:
        return True
    return a.box[0] <= b.box[2] and b.box[0] <= a.box[2] and a.box[1] <= b.box[3] and b.box[1] <= a.box[3]


@dataclass(frozen=True)
class _Plan:
    """How hard to try: the live camera plan stops at the first read and skips costly retries."""

    regions: int  # label-like crops decoded before the whole frame
    retry_regions: int  # best crops that also get the binarised / enlarged / zbar retries
    enlarge_max_pixels: int  # larger crops are not enlarged: that would cost more than the frame
    invert: bool  # also look for light-on-dark symbols in the whole frame
    stop_early: bool
    frame_retries: bool  # enlarged whole frame and zbar over the whole frame


_PLANS: dict[str, _Plan] = {
    "live": _Plan(
        regions=3,
        retry_regions=2,
        enlarge_max_pixels=120_000,
        invert=False,
        stop_early=True,
        frame_retries=False,
    ),
    "thorough": _Plan(
        regions=8,
        retry_regions=8,
        enlarge_max_pixels=1 << 62,
        invert=True,
        stop_early=False,
        frame_retries=True,
    ),
}


_FRAME_ENLARGE_MAX_PIXELS = 2_100_000  # up to 1920×1080
_ZBAR_COST = 2.5  # zbar's time per pixel, relative to zxing-cpp's (measured on the corpus)


@dataclass(frozen=True)
class _Step:
    """One decoding step: its predicted work (megapixels handed to a decoder, zbar weighted) and
    the call, which builds its image only when it runs. The prediction is deterministic, so a
    frame budget spent on it gives the same steps on every machine and in every test."""

    cost: float
    run: Callable[[], list[_Read]]


def _crop_pixels(gray: np.ndarray, region: _Region, *, level: bool) -> int:
    """The pixel count ``_crop`` will produce, without producing it."""
    length, width, _ = _long_side_angle(region)
    pad = 0.15 * length + 16
    if level:
        return int(length + 2 * pad) * int(width + 2 * pad)
    half = math.hypot(length, width) / 2 + pad
    cx, cy = region.centre
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(gray.shape[1], int(cx + half)), min(gray.shape[0], int(cy + half))
    return max(0, x1 - x0) * max(0, y1 - y0)


def _zxing_crop(gray: np.ndarray, region: _Region, level: bool) -> list[_Read]:
    return _zxing(_crop(gray, region, level=level))


def _retry(gray: np.ndarray, region: _Region, how: str) -> list[_Read]:
    crop = _crop(gray, region, level=_is_tilted_bar(region))
    if how == "binarised":
        return _zxing(_binarised(crop))
    if how == "enlarged":
        return _zxing(_enlarged(crop))
    return _zbar(crop)


def _half_frame(gray: np.ndarray) -> list[_Read]:
    """The whole frame at half size, one scale only: a label close enough to fill the view still
    has modules of several pixels there, at a quarter of the full call's work."""
    small = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return _zxing(_View(small, np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])), downscale=False)


def _attempts(gray: np.ndarray, plan: _Plan, regions: list[_Region]) -> Iterator[_Step]:
    """Decoding steps, cheapest and most productive first.

    Crops come before the whole frame because a crop is a fraction of the pixels and its row
    thresholds see only label, not desk; the whole-frame call is the safety net for anything
    the region finder missed (a label filling the view, an unusual background).
    """
    mp = 1e-6
    for region in regions:
        tilted = _is_tilted_bar(region)
        yield _Step(_crop_pixels(gray, region, level=tilted) * mp, partial(_zxing_crop, gray, region, tilted))
        if tilted:
            yield _Step(
                _crop_pixels(gray, region, level=False) * mp, partial(_zxing_crop, gray, region, False)
            )
    if not regions:  # nothing label-like: a label filling the view, read at half size first
        yield _Step(gray.size / 4 * mp, partial(_half_frame, gray))
    # live: one scale, one direction — zxing-cpp's downscaled and 90° retries of the whole frame cost as
    # much again and read nothing on the corpus that the crops (each tried both ways) miss
    thorough = plan.frame_retries
    yield _Step(
        gray.size * mp * (1.0 if thorough else 0.5),
        partial(_zxing, _View.whole(gray), invert=plan.invert, downscale=thorough, rotate=thorough),
    )
    for region in regions[: plan.retry_regions]:
        pixels = _crop_pixels(gray, region, level=_is_tilted_bar(region))
        yield _Step(pixels * mp, partial(_retry, gray, region, "binarised"))
        if pixels <= plan.enlarge_max_pixels:
            yield _Step(4 * pixels * mp, partial(_retry, gray, region, "enlarged"))
        if _pyzbar is not None:
            yield _Step(_ZBAR_COST * pixels * mp, partial(_retry, gray, region, "zbar"))
    if plan.frame_retries:
        if gray.size <= _FRAME_ENLARGE_MAX_PIXELS:  # a phone photo has pixels enough already
            yield _Step(4 * gray.size * mp, partial(lambda g: _zxing(_enlarged(_View.whole(g))), gray))
        if _pyzbar is not None:
            yield _Step(_ZBAR_COST * gray.size * mp, partial(_zbar, _View.whole(gray)))


def decode_frame(image: np.ndarray, *, budget: Budget = "live") -> list[DecodedSymbol]:
    """Every code found in ``image`` (grey, BGR or BGRA), best effort within ``budget``.

    ``live`` stops at the first step that reads something: on the benchmark corpus its median
    frame costs less than half of one whole-frame zxing-cpp call, because most labels are read
    from a crop. ``thorough`` (still images) runs every step and returns the union. The camera
    spreads the live plan over successive frames instead (``LiveDecoder``).
    """
    plan = _PLANS[budget]
    gray = to_gray(image)
    regions = _find_regions(gray, limit=plan.regions)
    if regions is None:
        return []
    found = _Collector()
    for step in _attempts(gray, plan, regions):
        if found.add(step.run()) and plan.stop_early:
            break
    return found.result()


LIVE_FRAME_BUDGET = 0.85  # megapixels of decoder work per camera frame (a 720p frame is 0.92)


class LiveDecoder:
    """The live plan for a camera, spread over successive frames within a per-frame work budget.

    A label held to the camera stays in view for many frames, so the costly steps a frame has no
    budget left for are not dropped but run on the next frames: each frame runs the best crop
    (where most labels are read), then continues the plan where the previous frame stopped, while
    the predicted work stays within ``frame_budget`` (a step over it — a crop as large as the frame
    — gets a frame to itself). A frame that cannot hold a code (flat, noise) stops after the
    region search.
    So no frame pays for the whole plan, and a code the single-frame plan reads is read here within
    a few frames (``benchmarks/bench_camera.py`` measures both). After a read the next frame goes
    straight back to the step that read it, so the confirming second read comes on the next frame.
    """

    def __init__(self, *, frame_budget: float = LIVE_FRAME_BUDGET) -> None:
        self._budget = frame_budget
        self._next = 0  # the step of the plan the next frame continues with

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]:
        plan = _PLANS["live"]
        gray = to_gray(image)
        regions = _find_regions(gray, limit=plan.regions)
        if regions is None:
            self._next = 0
            return []
        # a step over the budget runs alone on a frame when it is no bigger than one call over the frame
        # (a crop as large as the frame); zbar over such a crop is left to still images
        most = max(self._budget, 1.15 * gray.size * 1e-6)
        steps = [step for step in _attempts(gray, plan, regions) if step.cost <= most]
        start = self._next if self._next < len(steps) else 0
        order = list(range(start, len(steps)))
        if start and steps[0].cost + steps[start].cost <= self._budget:
            order.insert(0, 0)  # the best crop again first: where a label that just came into view is read
        found = _Collector()
        spent = 0.0
        for i in order:
            step = steps[i]
            if spent and spent + step.cost > self._budget:
                self._next = i
                return found.result()
            spent += step.cost
            if found.add(step.run()):
                # the next frame tries this step again right after the best crop: a linear code must be
                # read on two frames before it counts (``ConfirmationFilter``)
                self._next = i
                return found.result()
        self._next = 0  # the whole plan ran: begin again with the next frame
        return found.result()


# ---------------------------------------------------------------- still images


MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000  # a 48-megapixel phone photo fits; a 30000×30000 "pixel bomb" does not


class ImageTooLarge(ImageReadError):
    default_message = N_("图片过大：{file}（{detail}）")


def _image_size(path: str) -> tuple[int, int]:
    """Width and height from the file header only (nothing is decoded), via Pillow."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return int(im.size[0]), int(im.size[1])
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(file=path, detail=f"> {MAX_IMAGE_PIXELS // 1_000_000} MP") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(file=path) from exc


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a still image as BGR; Chinese characters in the path are fine (no cv2.imread).

    Only a regular file (a FIFO would block forever) of at most ``MAX_IMAGE_BYTES`` whose header
    declares at most ``MAX_IMAGE_PIXELS`` is decoded: a small PNG can declare 30000×30000 pixels
    and would need gigabytes once decoded.
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError as exc:
        raise ImageReadError(file=name) from exc
    if not stat.S_ISREG(st.st_mode):
        raise ImageReadError(N_("不是普通文件，无法作为图片读取：{file}"), file=name)
    if st.st_size > MAX_IMAGE_BYTES:
        raise ImageTooLarge(file=name, detail=f"{st.st_size // 1048576} MB > {MAX_IMAGE_BYTES // 1048576} MB")
    width, height = _image_size(name)
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageTooLarge(file=name, detail=f"{width}×{height} > {MAX_IMAGE_PIXELS // 1_000_000} MP")
    try:
        data = np.fromfile(name, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(file=name) from exc
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error as exc:
        raise ImageReadError(file=name) from exc
    if image is None:
        raise ImageReadError(file=name)
    return image


def decode_file(path: str | os.PathLike[str]) -> list[DecodedSymbol]:
    """Decode a photo or screenshot of a label with the thorough budget."""
    return decode_frame(load_image(path), budget="thorough")


def decode_files_json(paths: Iterable[str | os.PathLike[str]]) -> Iterator[dict[str, Any]]:
    """One ``decode-image --json`` line object per file, in order; never raises for a bad file.

    A file that cannot be read yields ``codes: []`` plus a file-level ``error`` so a batch run
    reports every file instead of stopping at the first broken one.
    """
    for path in paths:
        entry: dict[str, Any] = {"file": os.fspath(path), "codes": []}
        try:
            symbols = decode_file(path)
        except ImageReadError as exc:
            reason = "image_too_large" if isinstance(exc, ImageTooLarge) else "unreadable_image"
            entry["error"] = {"reason": reason, "message": exc.user_message()}
            yield entry
            continue
        for symbol in symbols:
            status, fields = parse_code_json(symbol.text)
            parsed, error = (fields, None) if status == 0 else (None, fields.get("error", fields))
            entry["codes"].append(
                {"symbology": symbol.symbology, "text": symbol.text, "parsed": parsed, "error": error}
            )
        yield entry
