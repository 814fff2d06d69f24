"""Barcodes drawn as vector shapes inside PDFs (R8: every bound device's code is printed).

Embedding rendered PNGs made a 200-page archive 9.7 MB and 251 MiB of RAM, SVG conversion was 2.6x
slower and reportlab's own DataMatrix took ~110 ms a symbol, so the symbols are computed by proven
encoders and drawn here as filled rectangles: python-barcode gives the Code 128 module pattern
(``Code128.build()``), zxing-cpp (zint inside) gives the DataMatrix module matrix. Adjacent dark modules
are merged into one rectangle and each symbol is a single filled path, which keeps files small and
prints sharp at any resolution.

GS1 payloads are given as a scanner returns them: the element string with GS (``\\x1d``) between
fields, no leading FNC1. They are re-encoded canonically: FNC1 first, FNC1 only after a
variable-length field that is not the last.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import cast

import zxingcpp
from barcode.charsets import code128 as code128_charset
from barcode.codex import Code128, Gs1_128
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from ecmo_desktop.documents.fonts import draw_string
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_

__all__ = [
    "GS",
    "BarcodeError",
    "Code128Barcode",
    "DataMatrixBarcode",
    "barcode_for_scanned_code",
    "gs1_elements",
    "gs1_human_readable",
]

GS = "\x1d"
_FNC1 = Gs1_128.FNC1_CHAR  # python-barcode's stand-in character for FNC1

GS1_128_MAX_DATA = 48  # GS1 General Specifications: at most 48 data characters per GS1-128 symbol


class BarcodeError(EcmoError):
    """The content cannot be put into the requested barcode."""

    default_message = N_("条码无法生成")


# --- GS1 element strings -----------------------------------------------------------------------

# Length of the AI itself, by its first two digits (GS1 General Specifications, section 3).
_AI_LENGTH: dict[str, int] = {
    **{
        p: 2
        for p in (
            "00",
            "01",
            "02",
            "03",
            "04",
            "10",
            "11",
            "12",
            "13",
            "14",
            "15",
            "16",
            "17",
            "18",
            "19",
            "20",
            "21",
            "22",
            "30",
            "37",
        )
    },
    **{f"{n}": 2 for n in range(90, 100)},
    **{p: 3 for p in ("23", "24", "25", "40", "41", "42", "71")},
    **{p: 4 for p in ("31", "32", "33", "34", "35", "36", "39", "43", "70", "72", "80", "81", "82")},
}
# Data length of the AIs with a predefined length (GS1 General Specifications, figure 7.8.5-1);
# every other field is variable and ends at a GS or at the end of the string.
_FIXED_DATA: dict[str, int] = {
    "00": 18,
    "01": 14,
    "02": 14,
    "03": 14,
    "04": 16,
    **{f"{n}": 6 for n in range(11, 20)},
    "20": 2,
    **{f"{n}": 6 for n in range(31, 37)},
    "41": 13,
}
# GS1 AI encodable character set 82.
_CSET82 = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
_PAREN_FORM = re.compile(r"\((\d{2,4})\)([^()]*)")


def _gs1_error(position: int) -> BarcodeError:
    return BarcodeError(N_("GS1 条码内容格式不正确（第 {position} 个字符）"), position=position)


def gs1_elements(text: str) -> tuple[tuple[str, str], ...]:
    """Split a GS1 element string into (AI, data) pairs, or raise BarcodeError.

    Accepts the scanned form (``0106901234567892\\x1d10LOT``) and the printed form with brackets
    (``(01)06901234567892(10)LOT``). Checks the structure (known AI prefix, fixed lengths, character set),
    not the meaning of each field; zint checks more when a GS1 DataMatrix is made.
    """
    if text.startswith("("):
        pairs = _PAREN_FORM.findall(text)
        if "".join(f"({ai}){data}" for ai, data in pairs) != text:
            raise _gs1_error(1)
        text = GS.join(ai + data for ai, data in pairs)
    elements: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        prefix = text[pos : pos + 2]
        ai_len = _AI_LENGTH.get(prefix)
        ai = text[pos : pos + ai_len] if ai_len else ""
        if not ai_len or len(ai) != ai_len or not (ai.isascii() and ai.isdigit()):
            raise _gs1_error(pos + 1)
        pos += ai_len
        fixed = _FIXED_DATA.get(prefix)
        if fixed:
            data = text[pos : pos + fixed]
            if len(data) != fixed or not (data.isascii() and data.isdigit()):
                raise _gs1_error(pos + 1)
            pos += fixed
            if text.startswith(GS, pos):  # a redundant separator after a fixed field is tolerated
                pos += 1
        else:
            end = text.find(GS, pos)
            end = len(text) if end < 0 else end
            data = text[pos:end]
            pos = end + 1
        if not data or len(data) > 90 or any(ch not in _CSET82 for ch in data):
            raise _gs1_error(pos)
        elements.append((ai, data))
    if not elements:
        raise _gs1_error(1)
    return tuple(elements)


def _gs1_canonical(elements: Sequence[tuple[str, str]]) -> str:
    parts: list[str] = []
    for i, (ai, data) in enumerate(elements):
        parts.append(ai + data)
        if i < len(elements) - 1 and ai[:2] not in _FIXED_DATA:
            parts.append(GS)
    return "".join(parts)


def gs1_human_readable(elements: Sequence[tuple[str, str]]) -> str:
    """The interpretation line printed under a GS1 symbol: ``(01)06901234567892(10)LOT``."""
    return "".join(f"({ai}){data}" for ai, data in elements)


# --- Code 128 encoding --------------------------------------------------------------------------

_TO_A_OR_B = (code128_charset.C["TO_A"], code128_charset.C["TO_B"])


class _StartCodeFix:
    """Mixin fixing python-barcode 0.16 dropping a leading "99" (issue #251, fixed upstream in PR #263).

    Its optimiser folds START C + a charset switch into one start code, but also took the data pair
    "99" (value 99, the same number as "switch to C") for a switch, so "990" printed as "0". Only a
    real switch to A or B is folded here.
    """

    def _try_to_optimize(self, encoded: list[int]) -> list[int]:
        if len(encoded) > 1 and encoded[0] == code128_charset.START_CODES["C"] and encoded[1] in _TO_A_OR_B:
            encoded[:2] = [code128_charset.TO[encoded[1]]]
        return encoded


class _Code128(_StartCodeFix, Code128):
    pass


class _Gs1_128(_StartCodeFix, Gs1_128):
    pass


# --- drawing -----------------------------------------------------------------------------------


def _runs(bits: Sequence[bool]) -> Iterator[tuple[int, int]]:
    """(start, length) of each run of dark modules."""
    start = -1
    for i, dark in enumerate(bits):
        if dark and start < 0:
            start = i
        elif not dark and start >= 0:
            yield start, i - start
            start = -1
    if start >= 0:
        yield start, len(bits) - start


class Code128Barcode(Flowable):
    """A Code 128 or GS1-128 symbol drawn as bars, with a 10-module quiet zone on each side."""

    def __init__(
        self,
        text: str,
        *,
        gs1: bool = False,
        bar_height_mm: float = 12.0,
        module_mm: float = 0.25,
        human_readable: bool = True,
        font_size: float = 7.0,
        quiet_zone_modules: int = 10,
    ) -> None:
        super().__init__()
        if not text:
            raise BarcodeError(N_("条码内容为空"))
        if gs1:
            elements = gs1_elements(text)
            data = _gs1_canonical(elements)
            data_len = len(data.replace(GS, ""))
            if data_len > GS1_128_MAX_DATA:
                raise BarcodeError(
                    N_("GS1-128 条码最多容纳 {limit} 个字符，实际 {count} 个"),
                    limit=GS1_128_MAX_DATA,
                    count=data_len,
                )
            self.text = data
            self.hri = gs1_human_readable(elements)
            self.modules = _Gs1_128(data.replace(GS, _FNC1)).build()[0]
        else:
            bad = next((ch for ch in text if ord(ch) > 0x7F), None)
            if bad is not None:  # python-barcode would silently read some Latin-1 letters as FNC codes
                raise BarcodeError(
                    N_("条码内容含有 Code 128 无法编码的字符：{char}"), char=f"U+{ord(bad):04X}"
                )
            self.text = text
            self.hri = text
            self.modules = _Code128(text).build()[0]
        self.gs1 = gs1
        self.module = module_mm * mm
        self.bar_height = bar_height_mm * mm
        self.human_readable = human_readable
        self.font_size = font_size
        self.quiet = quiet_zone_modules
        self.text_height = font_size * 1.3 if human_readable else 0.0
        self.width = (len(self.modules) + 2 * self.quiet) * self.module
        self.height = self.bar_height + self.text_height

    @property
    def width_mm(self) -> float:
        return self.width / mm

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setFillColor(colors.black)
        path = canv.beginPath()
        x0 = self.quiet * self.module
        bits = [b == "1" for b in self.modules]
        for start, length in _runs(bits):
            path.rect(x0 + start * self.module, self.text_height, length * self.module, self.bar_height)
        canv.drawPath(path, stroke=0, fill=1)
        if self.human_readable:
            draw_string(
                canv,
                self.width / 2,
                self.font_size * 0.25,
                self.hri,
                font_size=self.font_size,
                align="centre",
                max_width=self.width,
            )
        canv.restoreState()


class DataMatrixBarcode(Flowable):
    """A square ECC 200 DataMatrix (GS1 or plain) drawn module by module, with a quiet zone.

    Square sizes only: zint would otherwise choose rectangular DMRE sizes that many scanners in
    hospitals cannot read.
    """

    def __init__(
        self, text: str, *, gs1: bool = False, module_mm: float = 0.5, quiet_zone_modules: int = 2
    ) -> None:
        super().__init__()
        if not text:
            raise BarcodeError(N_("条码内容为空"))
        if gs1:
            elements = gs1_elements(text)
            self.text = _gs1_canonical(elements)
            content = "".join(f"[{ai}]{data}" for ai, data in elements)
        else:
            self.text = content = text
        # Non-ASCII text is marked as UTF-8 (ECI 26): left to itself zint writes Latin-1 without ECI
        # when it can, and readers then guess a code page ("×" came back as Shift-JIS "ﾗ").
        options = {} if content.isascii() else {"eci": "UTF-8"}
        try:
            symbol = zxingcpp.create_barcode(
                content, zxingcpp.BarcodeFormat.DataMatrix, gs1=gs1, force_square=True, **options
            )
            # zxingcpp's stub gives Image only __array_interface__; it also has the buffer protocol
            image = memoryview(symbol.to_image(scale=1, add_quiet_zones=False))  # type: ignore[arg-type]
        except (ValueError, RuntimeError, UnicodeError) as exc:
            raise BarcodeError(N_("DataMatrix 条码无法生成：{detail}"), detail=str(exc)) from exc
        self.matrix: tuple[tuple[bool, ...], ...] = tuple(
            tuple(v < 128 for v in row) for row in cast("list[list[int]]", image.tolist())
        )  # 2-D: rows
        self.gs1 = gs1
        self.module = module_mm * mm
        self.quiet = quiet_zone_modules
        rows, cols = len(self.matrix), len(self.matrix[0])
        self.width = (cols + 2 * self.quiet) * self.module
        self.height = (rows + 2 * self.quiet) * self.module

    @property
    def width_mm(self) -> float:
        return self.width / mm

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setFillColor(colors.black)
        path = canv.beginPath()
        m = self.module
        top = self.height - self.quiet * m
        for r, row in enumerate(self.matrix):
            y = top - (r + 1) * m
            for start, length in _runs(row):
                path.rect((self.quiet + start) * m, y, length * m, m)
        canv.drawPath(path, stroke=0, fill=1)
        canv.restoreState()


# --- choosing a symbol for a scanned code ------------------------------------------------------

_SYMBOLOGY_ID = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_TWO_D_IDS = (
    "]d",
    "]Q",
    "]z",
    "]L",
    "]U",
    "]J",
    "]h",
)  # DataMatrix, QR, Aztec, PDF417, MaxiCode, DotCode, Han Xin
_GS1_IDS = frozenset({"]C1", "]d2", "]Q3", "]e0", "]e1", "]e2", "]J1", "]z1"})
_TWO_D_NAMES = ("matrix", "qr", "aztec", "pdf417", "maxi", "dotcode", "hanxin", "han xin")
_GTIN_FIRST = re.compile(r"01\d{14}")


def _hint_is_two_d(hint: str | None) -> bool:
    if not hint:
        return False
    if hint.startswith("]"):
        return hint.startswith(_TWO_D_IDS)
    low = hint.lower().replace("_", "").replace("-", "")
    return any(name in low for name in _TWO_D_NAMES)


def _hint_gs1(hint: str | None) -> bool | None:
    """True/False when the hint says whether the symbol was GS1, None when it does not tell."""
    if not hint:
        return None
    if _SYMBOLOGY_ID.fullmatch(hint):
        return hint in _GS1_IDS
    return True if "gs1" in hint.lower() else None


def barcode_for_scanned_code(
    raw: str, symbology_hint: str | None = None, *, max_linear_width_mm: float = 80.0
) -> Flowable:
    """A symbol that reproduces a scanned device code, chosen the way the code came in.

    ``raw`` is the code as stored (``ParsedCode.raw``: GS as ASCII 29). ``symbology_hint`` is an AIM
    symbology identifier (``]d2``, ``]C1``…), a zxing format name (``DataMatrix``, ``Code128``) or a
    scheme name (``gs1``); a leading identifier in ``raw`` is used the same way. A GS1 element string
    becomes a GS1 DataMatrix when it was scanned from a 2-D symbol or does not fit as GS1-128 (over 48
    characters or wider than ``max_linear_width_mm``), otherwise GS1-128. HIBC, Chinese MA codes and
    other text become Code 128 when plain ASCII and narrow enough, else DataMatrix. Without a hint a
    string counts as GS1 only with a GS1 signal, as in ``domain.codes``: a GS, the bracketed form, or
    ``01`` + 14 digits first, so a serial like ``12345678`` is not printed as a GS1 "(12) due date".
    Only the structure is checked, never dates against today, so a code once accepted always prints.
    """
    text = raw.strip("\r\n")
    if _SYMBOLOGY_ID.match(text):
        symbology_hint = symbology_hint or text[:3]
        text = text[3:]
    two_d = _hint_is_two_d(symbology_hint)
    gs1_hint = _hint_gs1(symbology_hint)
    if text.startswith(GS):  # FNC1 in first position, passed on by some scanners as GS
        text = text[1:]
        gs1_hint = True if gs1_hint is None else gs1_hint
    if not text:
        raise BarcodeError(N_("条码内容为空"))

    elements: tuple[tuple[str, str], ...] | None = None
    if gs1_hint is not False:
        try:
            elements = gs1_elements(text)
        except BarcodeError:
            elements = None
        if (
            elements
            and gs1_hint is None
            and not (GS in text or text.startswith("(") or _GTIN_FIRST.match(text))
        ):
            elements = None

    if elements:
        canonical = _gs1_canonical(elements)
        if not two_d and len(canonical.replace(GS, "")) <= GS1_128_MAX_DATA:
            linear = Code128Barcode(canonical, gs1=True)
            if linear.width_mm <= max_linear_width_mm:
                return linear
        try:
            return DataMatrixBarcode(canonical, gs1=True)
        except BarcodeError:  # zint rejects what the label says (bad check digit, date): keep the data
            return DataMatrixBarcode(text, gs1=False)

    if not two_d and text.isascii():
        linear = Code128Barcode(text, gs1=False)
        if linear.width_mm <= max_linear_width_mm:
            return linear
    return DataMatrixBarcode(text, gs1=False)
