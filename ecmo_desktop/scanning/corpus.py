"""Seeded generator of labelled, webcam-like barcode frames.

Tests and benchmarks need images whose true content is known, hard enough that a single decoder
call misses some of them, so that the decode pipeline's extra strategies can be measured rather
than assumed. Every sample is a 1280×720 BGR frame holding one device label: a symbol rendered by
zxing-cpp (GS1 mode, so FNC1 is really encoded) on paper with printed text, placed on a cluttered
desk and degraded the way a ward webcam degrades it — rotation, perspective, small modules, blur,
glare, uneven light, sensor noise and JPEG artefacts. The same seed always gives the same pixels.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import zxingcpp

GS = "\x1d"
FRAME_WIDTH = 1280
FRAME_HEIGHT = 720

# (kind, symbology reported by the decoder). The kind names the label family in reports.
KINDS: dict[str, str] = {
    "GS1 DataMatrix": "DataMatrix",
    "GS1-128": "Code128",
    "QR": "QRCode",
    "EAN-13": "EAN13",
    "HIBC Code128": "Code128",
    "HIBC DataMatrix": "DataMatrix",
}

_HIBC_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
_ALNUM = string.ascii_uppercase + string.digits
_SUPERSAMPLE = 8  # pixels per module of the master rendering, before scaling into the frame


@dataclass(frozen=True)
class Sample:
    """One labelled frame: what the decoder should return for ``image``."""

    kind: str
    symbology: str
    expected: str  # decoder plain text, GS as "\x1d"
    image: np.ndarray = field(repr=False, compare=False)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)


# ---------------------------------------------------------------- payloads


def gs1_check_digit(digits: str) -> str:
    """Mod-10 check digit of a GTIN / GS1 key body (weights 3,1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def hibc_check_char(data: str) -> str:
    """HIBC LIC mod-43 check character over everything before it (leading '+' included)."""
    return _HIBC_CHARSET[sum(_HIBC_CHARSET.index(c) for c in data) % 43]


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, n))


def _alnum(rng: np.random.Generator, lo: int, hi: int) -> str:
    n = int(rng.integers(lo, hi + 1))
    return "".join(_ALNUM[int(i)] for i in rng.integers(0, len(_ALNUM), n))


def _gtin14(rng: np.random.Generator) -> str:
    body = str(int(rng.integers(0, 9))) + "69" + _digits(rng, 10)  # Chinese GS1 prefix 690–699
    return body + gs1_check_digit(body)


def _yymmdd(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(25, 32)):02d}{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"


def _gs1_payload(rng: np.random.Generator, *, long: bool) -> tuple[str, str]:
    """(HRI with parentheses for the encoder, plain decoder text with GS after variable fields)."""
    fixed = [("01", _gtin14(rng)), ("17", _yymmdd(rng))]
    if long and rng.random() < 0.5:
        fixed.insert(1, ("11", _yymmdd(rng)))
    variable = [("10", _alnum(rng, 4, 10))]
    if long:  # 2D only: a linear symbol at webcam resolution has room for GTIN, expiry and lot
        variable.append(("21", _alnum(rng, 6, 12)))
    elements = fixed + variable
    if rng.random() < 0.5:  # lot before expiry: the GS separator then sits mid-string
        elements = [fixed[0], variable[0], *fixed[1:], *variable[1:]]
    hri = "".join(f"({ai}){value}" for ai, value in elements)
    plain = ""
    for index, (ai, value) in enumerate(elements):
        plain += ai + value
        if ai in ("10", "21") and index < len(elements) - 1:
            plain += GS
    return hri, plain


def _hibc_payload(rng: np.random.Generator) -> str:
    lic = _ALNUM[int(rng.integers(0, 26))] + _alnum(rng, 3, 3)
    primary = "+" + lic + _alnum(rng, 4, 12) + str(int(rng.integers(0, 10)))
    choice = rng.random()
    if choice < 0.25:
        return primary + hibc_check_char(primary)
    lot = _alnum(rng, 4, 10)
    if choice < 0.6:
        secondary = "$$3" + _yymmdd(rng) + lot
    elif choice < 0.85:
        secondary = f"$${int(rng.integers(1, 13)):02d}{int(rng.integers(25, 32)):02d}" + lot
    else:
        secondary = "$" + lot
    data = primary + "/" + secondary
    return data + hibc_check_char(data)


def _ean13(rng: np.random.Generator) -> str:
    body = "69" + str(int(rng.integers(0, 10))) + _digits(rng, 9)
    return body + gs1_check_digit(body)


def make_payload(kind: str, rng: np.random.Generator) -> tuple[zxingcpp.Barcode, str]:
    """Encode a random, valid payload of ``kind``; returns the symbol and the expected plain text."""
    if kind == "GS1 DataMatrix":
        hri, plain = _gs1_payload(rng, long=True)
        return zxingcpp.create_barcode(hri, zxingcpp.DataMatrix, gs1=True, force_square=True), plain
    if kind == "GS1-128":
        hri, plain = _gs1_payload(rng, long=False)
        return zxingcpp.create_barcode(hri, zxingcpp.Code128, gs1=True), plain
    if kind == "QR":
        if rng.random() < 0.5:
            hri, plain = _gs1_payload(rng, long=True)
            return zxingcpp.create_barcode(hri, zxingcpp.QRCode, gs1=True, ec_level="M"), plain
        text = f"SN:{_alnum(rng, 8, 14)};MODEL:{_alnum(rng, 4, 8)}"
        return zxingcpp.create_barcode(text, zxingcpp.QRCode, ec_level="M"), text
    if kind == "EAN-13":
        text = _ean13(rng)
        return zxingcpp.create_barcode(text, zxingcpp.EAN13), text
    if kind == "HIBC Code128":
        text = _hibc_payload(rng)
        return zxingcpp.create_barcode(text, zxingcpp.Code128), text
    if kind == "HIBC DataMatrix":
        text = _hibc_payload(rng)
        return zxingcpp.create_barcode(text, zxingcpp.DataMatrix, force_square=True), text
    raise ValueError(kind)


# ---------------------------------------------------------------- rendering


def _module_matrix(barcode: zxingcpp.Barcode, *, linear: bool, rng: np.random.Generator) -> np.ndarray:
    """Ink (1) / paper (0) per module, quiet zone included; 1D symbols get a label-like bar height."""
    bitmap = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1, add_quiet_zones=True))
    ink = (bitmap < 128).astype(np.uint8)
    if linear:
        row = ink[ink.shape[0] // 2]
        height = max(24, int(len(row) * rng.uniform(0.15, 0.3)))
        ink = np.repeat(row[None, :], height, axis=0)
    return ink


def _label(
    ink_modules: np.ndarray, module_px: float, rng: np.random.Generator, paper: float, ink_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Grey label (symbol plus printed text lines) at frame scale, and its coverage mask."""
    big = np.kron(ink_modules, np.ones((_SUPERSAMPLE, _SUPERSAMPLE), np.uint8)).astype(np.float32)
    sh, sw = big.shape
    target = (max(1, round(sw * module_px / _SUPERSAMPLE)), max(1, round(sh * module_px / _SUPERSAMPLE)))
    symbol = cv2.resize(big, target, interpolation=cv2.INTER_AREA)
    h, w = symbol.shape
    text_rows = int(rng.integers(1, 4))
    line_h = max(10, int(h * 0.12), int(module_px * 6))
    margin = max(8, int(module_px * rng.uniform(3, 12)))
    label_h = h + 2 * margin + text_rows * line_h
    label_w = w + 2 * margin + int(rng.integers(0, max(2, w // 2)))
    label = np.full((label_h, label_w), paper, np.float32)
    text_layer = np.zeros(label.shape, np.uint8)
    for row in range(text_rows):
        words = f"{rng.choice(['REF', 'LOT', 'EXP', 'SN', 'STERILE', 'UDI', 'CE'])} {_alnum(rng, 3, 9)}"
        scale = line_h / 30.0
        y = margin + h + (row + 1) * line_h - line_h // 5
        cv2.putText(
            text_layer,
            words,
            (margin, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            255,
            max(1, int(scale * 2)),
            cv2.LINE_AA,
        )
    ink_layer = text_layer.astype(np.float32) / 255.0
    ink_layer[margin : margin + h, margin : margin + w] = symbol
    label = label * (1 - ink_layer) + ink_level * ink_layer
    return label, np.ones_like(label)


def _background(rng: np.random.Generator) -> np.ndarray:
    """Desk-like clutter: a gradient, some blocks and cables, low-frequency mottling."""
    yy, xx = np.ogrid[0:FRAME_HEIGHT, 0:FRAME_WIDTH]
    a, b = rng.uniform(60, 170, 2)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xx * math.cos(angle) + yy * math.sin(angle)) / (FRAME_WIDTH + FRAME_HEIGHT) + 0.5
    bg = (a + (b - a) * ramp).astype(np.float32)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, FRAME_WIDTH)), int(rng.integers(0, FRAME_HEIGHT))
        x1, y1 = x0 + int(rng.integers(40, 400)), y0 + int(rng.integers(20, 300))
        cv2.rectangle(bg, (x0, y0), (x1, y1), float(rng.uniform(30, 230)), -1)
    for _ in range(int(rng.integers(1, 4))):
        pts = rng.integers(0, [FRAME_WIDTH, FRAME_HEIGHT], size=(4, 2)).astype(np.int32)
        cv2.polylines(bg, [pts], False, float(rng.uniform(20, 240)), int(rng.integers(4, 18)), cv2.LINE_AA)
    mottle = cv2.resize(
        rng.normal(0, 12, (9, 16)).astype(np.float32),
        (FRAME_WIDTH, FRAME_HEIGHT),
        interpolation=cv2.INTER_CUBIC,
    )
    return bg + mottle


def _destination_quad(
    w: int, h: int, rotation_deg: float, perspective: float, rng: np.random.Generator
) -> np.ndarray:
    """Corners of the label in the frame: rotated, perspective-jittered, kept inside the frame."""
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32) - [w / 2, h / 2]
    theta = math.radians(rotation_deg)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]], np.float32)
    corners = corners @ rot.T
    size = max(w, h)
    corners += rng.uniform(-perspective, perspective, corners.shape).astype(np.float32) * size
    span = corners.max(axis=0) - corners.min(axis=0)
    room = np.maximum([FRAME_WIDTH, FRAME_HEIGHT] - span, 1)
    offset = rng.uniform(0, 1, 2) * room - corners.min(axis=0)
    return (corners + offset).astype(np.float32)


def _glare(frame: np.ndarray, quad: np.ndarray, strength: float, rng: np.random.Generator) -> None:
    """Add a specular blob centred near the label, saturating part of it."""
    centre = quad.mean(axis=0) + rng.uniform(-0.35, 0.35, 2) * (quad.max(axis=0) - quad.min(axis=0))
    radius = float(rng.uniform(0.1, 0.3) * np.linalg.norm(quad.max(axis=0) - quad.min(axis=0)))
    yy, xx = np.ogrid[0:FRAME_HEIGHT, 0:FRAME_WIDTH]
    dist2 = (xx - centre[0]) ** 2 + ((yy - centre[1]) * rng.uniform(1.0, 2.0)) ** 2
    frame += strength * np.exp(-dist2 / (2 * radius**2)).astype(np.float32)


def draw_params(kind: str, rng: np.random.Generator) -> dict[str, float]:
    """The degradations of one sample, drawn up front so a test can pin any of them."""
    linear = KINDS[kind] in ("Code128", "EAN13")
    small = rng.random() < 0.25
    if linear:
        module_px = rng.uniform(1.6, 2.2) if small else rng.uniform(2.2, 3.8)
        base = 0.0 if rng.random() < 0.75 else 90.0  # people mostly hold a bar code level
        rotation = base + float(rng.choice([0, 180])) + rng.normal(0, 4)
    else:
        module_px = rng.uniform(1.5, 2.5) if small else rng.uniform(2.5, 6.0)
        rotation = rng.uniform(0, 360)
    paper = rng.uniform(170, 245)
    return {
        "module_px": module_px,
        "rotation": rotation,
        "perspective": rng.uniform(0.0, 0.07),
        "paper": paper,
        "ink": rng.uniform(10, paper - 90),
        "glare": float(rng.uniform(50, 150)) if rng.random() < 0.3 else 0.0,
        "blur": float(rng.uniform(0.3, 1.3)) if rng.random() < 0.6 else 0.0,
        "motion": int(rng.integers(3, 6)) if rng.random() < 0.1 else 0,
        "noise": float(rng.uniform(1.5, 7)),
        "jpeg": int(rng.integers(35, 90)),
    }


def render_sample(
    kind: str, rng: np.random.Generator, *, sensor: np.random.Generator | None = None, **overrides: float
) -> Sample:
    """Render one degraded frame of ``kind``; ``overrides`` pin chosen entries of ``draw_params``.

    ``rng`` decides the scene (payload, label, pose, light, blur); ``sensor`` (default: ``rng``)
    decides the per-frame sensor noise, so the same scene seed with two sensor seeds gives two
    consecutive frames of a label held still in front of the camera.
    """
    sensor = rng if sensor is None else sensor
    barcode, expected = make_payload(kind, rng)
    linear = KINDS[kind] in ("Code128", "EAN13")
    modules = _module_matrix(barcode, linear=linear, rng=rng)
    params = draw_params(kind, rng) | overrides

    # keep the whole label in view: a real user frames the code, and a cropped symbol has no answer
    long_side = max(modules.shape) * 1.25 + 12
    if (
        linear
        and abs(math.sin(math.radians(params["rotation"]))) > 0.7
        and 0.8 * FRAME_HEIGHT / long_side < 2.0
        and "rotation" not in overrides
    ):
        params["rotation"] -= 90.0  # nobody holds a long GS1-128 upright in front of a 16:9 camera
    upright = abs(math.sin(math.radians(params["rotation"]))) > 0.7
    room = 0.8 * FRAME_HEIGHT if upright or not linear else 0.85 * FRAME_WIDTH
    params["module_px"] = min(params["module_px"], room / long_side)
    label, coverage = _label(modules, params["module_px"], rng, params["paper"], params["ink"])
    h, w = label.shape
    quad = _destination_quad(w, h, params["rotation"], params["perspective"], rng)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    homography = cv2.getPerspectiveTransform(src, quad)

    frame = _background(rng).astype(
        np.float32
    )  # float32 throughout (asarray below: no copy, says so to mypy)
    size = (FRAME_WIDTH, FRAME_HEIGHT)
    warped = cv2.warpPerspective(label, homography, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(coverage, homography, size, flags=cv2.INTER_LINEAR)
    frame = frame * (1 - alpha) + warped

    # uneven light: a smooth multiplicative field across the frame
    light = cv2.resize(rng.uniform(0.65, 1.1, (3, 4)).astype(np.float32), size, interpolation=cv2.INTER_CUBIC)
    frame *= light
    if params["glare"]:
        _glare(frame, quad, params["glare"], rng)
    if params["blur"] > 0.3:
        frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), params["blur"]), np.float32)
    motion = int(params["motion"])
    if motion:
        kernel = np.zeros((motion, motion), np.float32)
        kernel[motion // 2, :] = 1.0 / motion
        rot = cv2.getRotationMatrix2D(((motion - 1) / 2, (motion - 1) / 2), float(rng.uniform(0, 180)), 1)
        frame = np.asarray(cv2.filter2D(frame, -1, cv2.warpAffine(kernel, rot, (motion, motion))), np.float32)
    frame += sensor.standard_normal(frame.shape, dtype=np.float32) * np.float32(params["noise"])

    tint = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    bgr = np.clip(frame[:, :, None] * tint, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(params["jpeg"])])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 BGR image
        raise RuntimeError("JPEG encode failed")
    image = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    if image is None:  # pragma: no cover - it decodes what it just encoded
        raise RuntimeError("JPEG decode failed")
    rounded = {key: round(float(value), 2) for key, value in params.items()}
    return Sample(kind, KINDS[kind], expected, image, rounded)


DEFAULT_SEED = 20240611


def corpus_frame(index: int, kind: str, frame: int = 0, *, seed: int = DEFAULT_SEED) -> Sample:
    """Frame ``frame`` of scene ``index`` of ``kind``: the same scene for every ``frame``, each
    frame with its own sensor noise."""
    k = tuple(KINDS).index(kind)
    return render_sample(
        kind, np.random.default_rng([seed, index, k]), sensor=np.random.default_rng([seed, index, k, frame])
    )


def iter_corpus(
    per_kind: int, *, seed: int = DEFAULT_SEED, kinds: tuple[str, ...] = tuple(KINDS)
) -> Iterator[Sample]:
    """``per_kind`` scenes of every kind, interleaved, each as its frame 0 (see ``corpus_frame``)."""
    for index in range(per_kind):
        for kind in kinds:
            yield corpus_frame(index, kind, seed=seed)


def iter_sequences(
    per_kind: int, *, frames: int = 2, seed: int = DEFAULT_SEED, kinds: tuple[str, ...] = tuple(KINDS)
) -> Iterator[list[Sample]]:
    """Runs of ``frames`` consecutive frames of one still scene (only sensor noise differs)."""
    for index in range(per_kind):
        for kind in kinds:
            yield [corpus_frame(index, kind, frame, seed=seed) for frame in range(frames)]


def blank_frames(seed: int = 7) -> list[np.ndarray]:
    """Frames with no code at all: black, mid-grey, pure noise and an empty desk."""
    rng = np.random.default_rng(seed)
    desk = np.clip(_background(rng), 0, 255).astype(np.uint8)
    return [
        np.zeros((FRAME_HEIGHT, FRAME_WIDTH, 3), np.uint8),
        np.full((FRAME_HEIGHT, FRAME_WIDTH, 3), 128, np.uint8),
        rng.integers(0, 256, (FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=np.uint8),
        cv2.cvtColor(desk, cv2.COLOR_GRAY2BGR),
    ]
