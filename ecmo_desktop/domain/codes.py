"""Device codes (UDI) as scanned or typed on the ward, parsed into one structure.

Every device bound to a run is identified by what is printed on its label, so a misread code is a
wrong entry in the medical record. ``parse_code`` therefore either returns a ``ParsedCode`` whose
fields are certain, or raises ``CodeError`` with a stable ``reason`` and a Chinese message naming the
problem. It never guesses a field boundary it cannot prove.

Pipeline: ``normalise_scan`` (keyboard-wedge clean-up) → character screen → scheme by signature →
scheme parser. Schemes, in the order their signatures are tried:

* ISO/IEC 15434 envelope ``[)>␞05␝…␞␄`` → its format-05 payload is parsed as GS1; other formats are
  refused (``unrecognized``).
* ``http://`` / ``https://`` → a **GS1 Digital Link** (path ``/01/<GTIN>[/10/<lot>][/21/<serial>]``,
  AIs in the query) is parsed as ``gs1`` with the same checks as a scanned element string; any other
  URL is refused as ``unrecognized`` ("网址二维码，不是 UDI"), never taken as a plain code, because a
  URL identifies a web page, not a physical item.
* ``+`` (or ``*+…*`` as typed from the Code 39 text line) → **HIBC**: primary ``+LIC PCN U/M C``,
  secondary ``+$lot`` / ``+$$[flag]date lot`` / ``+$+serial`` / ``+$$+[flag]date serial`` /
  ``+YYJJJ lot`` with link and check characters, or both concatenated ``+LIC PCN U/M/$$…C``, plus
  the supplements ``/S`` serial, ``/16D`` production and ``/14D`` expiry dates. The mod-43 check
  character is always verified. ``product_id`` is ``LIC+PCN+U/M`` (no flag, no check character), so
  the primary-only and concatenated forms of one product agree.
* ``MA.<3-digit country>.`` → **MA (IDcode)**: DI ``MA.156.M0.<registrant>.<product>`` (five
  dot-separated parts, upper-cased), then PI segments ``.S`` serial, ``.L`` lot, ``.M`` production
  date, ``.E`` expiry date, ``.V`` 有效期 (used as expiry when ``.E`` is absent), ``.D`` sterilisation
  lot (checked, not kept) and ``.C`` check character, which is **never** verified (algorithm not
  public). Dates are ``YYMMDD`` or ``YYYYMMDD``.
* ``(`` → GS1 **bracketed human-readable form** ``(01)…(17)…(10)…``; spaces are dropped, each
  ``(NN)`` must be a known AI, and a GTIN-8/12/13 after ``(01)`` is zero-padded (the brackets make
  the boundary certain and the check digit still guards it).
* GS1 **element string** (the form scanners send) when there is a GS1 signal: a GS1 symbology
  identifier (``]d2 ]C1 ]Q3 ]e0 ]e1 ]e2 ]J1``), a GS separator anywhere, or a leading ``01`` plus
  14 digits. Without a signal a digit string is never read as AIs, so a typed serial such as
  ``10023456`` is not split into "(10) 023456".
* Digits only, 8/12/13/14 long → GTIN-8 (``gs1``), UPC-A (``upc``), EAN-13 (``ean13``), GTIN-14
  (``gs1``) with the check digit verified; ``gtin`` is padded to 14. Digits starting ``01`` of any
  other length below 16 are a cut-off GS1 scan (``truncated``).
* Otherwise **plain**: a label code typed by hand or a non-UDI barcode. Rules: 4–40 characters from
  ``A–Z 0–9 - . /`` (enclosing Code 39 ``*`` dropped), first and last character a letter or digit, at
  least one digit (which turns away words and pinyin), and not two structured codes glued together.
  Plain codes are upper-cased (see CapsLock) and returned as ``serial``; they carry no DI, so
  ``item_key`` is ``None`` and the caller pairs the serial with the product the user picked.

GS1 checks the project adds on top of ``biip`` (which has none of them): bracketed and Digital Link
input, an error (not a silent field) for a wrong GTIN/SSCC/GLN check digit, impossible dates
(month 13, 30 February; ``DD=00`` means the month's last day; two-digit years use the GS1 sliding
window of GenSpecs 7.12 around ``today``), a repeated AI (``duplicate_ai``; a repeated ``(01)`` or a
restart of the first AI is ``concatenated_scans``), a variable field longer than its maximum —
usually a missing GS between ``(10)`` and ``(21)`` — (``invalid_length``), a field that contains
``01`` + its own GTIN (a second scan swallowed by a lot or serial), and ``MAX_CODE_LENGTH``.
A missing separator whose run-on still fits in 20 characters cannot be detected by anyone and is
accepted as data.

Wedge input (``normalise_scan``): NFKC (full-width ``０１（）］`` become ASCII); CR, LF, TAB, spaces,
BOM trimmed at both ends; a leading symbology identifier ``]xy`` removed; GS substitutes
(``<GS> {GS} [GS] <FNC1> {FNC1} [FNC1] ^] ␝``, any case) become ASCII 29, and ``<RS> <EOT>`` become
30 and 4; separators at the ends are dropped (a leading FNC1 is not data).

CapsLock inverts the case of every letter a wedge types. It is undone only where the code proves
it: a symbology identifier ``]D2`` / ``]c1`` / ``]q3`` (the inverted GS1 ``]d2 ]C1 ]Q3``) or an MA
code starting ``ma.`` swaps the case of the whole scan; HIBC has no lower case, so it is
upper-cased and its check character confirms the result. GS1 lots and serials may legitimately be
lower case, so they are never changed without such proof. Plain codes are upper-cased: they are
compared by the single-use rule, and a case-only difference on a hand-typed label is a typing
artefact, not a different item.

Refused outright: any character outside printable ASCII after NFKC (Chinese characters and
full-width punctuation get "请切换到英文输入法后重新扫码"), control characters other than GS (and RS/EOT
inside an ISO/IEC 15434 envelope), and a CR/LF/TAB or a second symbology identifier inside the
text (two scans in one field).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from biip import ParseConfig, ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString

from ecmo_desktop.domain.errors import CodeError
from ecmo_desktop.i18n import N_

__all__ = [
    "MAX_CODE_LENGTH",
    "ParsedCode",
    "apply_gs_substitutes",
    "normalise_scan",
    "parse_code",
    "parse_code_json",
]

MAX_CODE_LENGTH = 512
"""Longest accepted code after clean-up; real UDI payloads stay under 150 characters."""

GS = "\x1d"
RS = "\x1e"
EOT = "\x04"

_EDGE_WHITESPACE = " \t\r\n\x0b\x0c\ufeff\u200b"
_SYMBOLOGY_RE = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_INNER_SYMBOLOGY_RE = re.compile(r"\][A-Za-z][0-9]")
_GS1_SYMBOLOGIES = frozenset({"d2", "C1", "Q3", "e0", "e1", "e2", "J1"})
_CAPSLOCK_SYMBOLOGIES = {"D2": "d2", "c1": "C1", "q3": "Q3"}
_SUBSTITUTES = {
    "<GS>": GS,
    "{GS}": GS,
    "[GS]": GS,
    "<FNC1>": GS,
    "{FNC1}": GS,
    "[FNC1]": GS,
    "^]": GS,
    "\u241d": GS,
    "<RS>": RS,
    "{RS}": RS,
    "[RS]": RS,
    "\u241e": RS,
    "<EOT>": EOT,
    "{EOT}": EOT,
    "[EOT]": EOT,
    "\u2404": EOT,
}
_SUBSTITUTE_RE = re.compile("|".join(re.escape(k) for k in _SUBSTITUTES), re.IGNORECASE)
_MA_INVERTED_RE = re.compile(r"ma\.\d{3}\.")
_MA_RE = re.compile(r"MA\.", re.IGNORECASE)
_URL_RE = re.compile(r"https?://", re.IGNORECASE)
_GTIN_FIRST_RE = re.compile(r"01\d{14}")
_HRI_AI_RE = re.compile(r"\((\d{2,4})\)")
_NOT_PRINTABLE_ASCII_RE = re.compile(r"[^\x20-\x7e]")
_LINE_BREAK_RE = re.compile(r"[\r\n\t]")
_SPLIT_POINT_RE = re.compile(r"(?=\+[A-Za-z0-9$]|[Mm][Aa]\.\d{3}\.|\(\d{2,4}\)|01\d{14})")
_FIXED_NUMERIC_RE = re.compile(r"N\d\+N(\d+)")
_MAX_LENGTH_RE = re.compile(r"\.\.(\d+)\]?$")
_PLAIN_RE = re.compile(r"[A-Z0-9](?:[A-Z0-9./-]*[A-Z0-9])?")
_PLAIN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./")

_GS1_CHARSET = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_DIGITS = frozenset("0123456789")
_DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
_CHECKED_AIS = {"00": "SSCC", "01": "GTIN", "02": "GTIN", "03": "GTIN"}
_BIIP_CONFIG = ParseConfig(separator_chars=(GS,))

_CODE39 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
_CODE39_VALUE = {c: i for i, c in enumerate(_CODE39)}
_HIBC_DATA_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-.")
_HIBC_MAX_DATA = 18

_MA_SEGMENTS = frozenset("SLMEVDC")
_MA_DATE_SEGMENTS = frozenset("MEV")

_GTIN_KINDS = {8: "GTIN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}
_GTIN_SCHEMES = {12: "upc", 13: "ean13"}
_PLAIN_MIN, _PLAIN_MAX = 4, 40
_MAX_SPLIT_TRIES = 40
# Failures that already name the problem exactly; looking for a doubled scan would only blur them.
_PRECISE_REASONS = frozenset({"concatenated_scans", "duplicate_ai"})
_IME_PUNCTUATION = frozenset("¥…—·‘’“”")
_CJK_RANGES = (
    (0x2E80, 0x9FFF),  # radicals, CJK punctuation (。、《》【】), kana, bopomofo, ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE6F),  # compatibility and small form variants
    (0xFF00, 0xFFEF),  # full-width forms NFKC leaves alone
    (0x20000, 0x3FFFF),  # ideograph extensions B and later
)


@dataclass(frozen=True)
class ParsedCode:
    """One scanned device code; the JSON contract of ``ecmo-desktop parse-code`` is ``to_json``."""

    scheme: str  # "gs1" | "hibc" | "ma" | "ean13" | "upc" | "plain"
    gtin: str | None  # GTIN-14
    product_id: str | None  # UDI-DI: the GTIN for GS1/EAN/UPC, LIC+PCN+U/M for HIBC, the MA DI
    lot: str | None
    serial: str | None
    expiry: date | None
    production_date: date | None
    raw: str  # the scan after wedge clean-up (normalise_scan), GS kept as ASCII 29

    def to_json(self) -> dict[str, str | None]:
        """Exactly the contract keys, dates as ISO text, so every consumer sees the same shape."""
        return {
            "scheme": self.scheme,
            "gtin": self.gtin,
            "product_id": self.product_id,
            "lot": self.lot,
            "serial": self.serial,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "production_date": self.production_date.isoformat() if self.production_date else None,
            "raw": self.raw,
        }

    @property
    def device_identifier(self) -> str | None:
        """The product (DI) whatever the scheme: the GTIN if any, else the scheme's own DI."""
        return self.gtin or self.product_id

    @property
    def item_key(self) -> str | None:
        """Identity of one physical item for the single-use rule (R6); ``None`` without DI+serial.

        A lot is shared by many items, so only a serial makes an item unique.
        """
        di = self.device_identifier
        if di and self.serial:
            return f"{self.scheme}:{di}:{self.serial}"
        return None

    @property
    def is_validated(self) -> bool:
        """True when the payload carried a check that passed at parse time.

        GS1 GTINs, EAN/UPC and HIBC are always verified by ``parse_code`` before a result exists;
        MA check characters cannot be verified and plain codes have none.
        """
        if self.scheme == "gs1":
            return self.gtin is not None
        return self.scheme in ("hibc", "ean13", "upc")


@dataclass(frozen=True)
class _Scan:
    text: str
    symbology: str | None
    trailing_space: bool  # the wedge sent a space at the very end (an HIBC check character can be one)


def normalise_scan(text: str, *, gs_substitutes: Sequence[str] = ()) -> str:
    """Undo what keyboard-wedge scanners and IMEs do to a code, keeping its data intact.

    See the module docstring for the exact list; the result is what ``ParsedCode.raw`` holds.
    """
    return _clean(apply_gs_substitutes(text, gs_substitutes)).text


def apply_gs_substitutes(text: str, gs_substitutes: Sequence[str] = ()) -> str:
    """The workstation's configured stand-ins for GS (``Settings.scanner_gs_substitutes``, e.g. ``~``
    for a scanner set to send one) become ASCII 29; the built-in ``<GS>``-style forms always do."""
    for stand_in in gs_substitutes:
        if isinstance(stand_in, str) and stand_in:
            text = text.replace(stand_in, GS)
    return text


def parse_code(text: str, *, today: date | None = None, gs_substitutes: Sequence[str] = ()) -> ParsedCode:
    """Parse a scanned or typed device code; raise ``CodeError`` (and nothing else) if refused.

    ``today`` anchors the GS1 two-digit-year window; tests inject it, the app leaves it ``None``.
    ``gs_substitutes`` are the per-PC stand-ins for GS (optional; see ``apply_gs_substitutes``).
    """
    if not isinstance(text, str):
        raise CodeError("unrecognized", N_("条码内容不是文本，无法识别"))
    if len(text) > 4 * MAX_CODE_LENGTH:  # refuse a huge paste before any per-character work
        raise CodeError(
            "too_long",
            N_("条码内容过长（{length} 个字符，上限 {limit}），可能误粘贴了其他文本"),
            length=len(text),
            limit=MAX_CODE_LENGTH,
        )
    scan = _clean(apply_gs_substitutes(text, gs_substitutes))
    s = scan.text
    if not s:
        raise CodeError("empty", N_("条码内容为空，请重新扫码"))
    if len(s) > MAX_CODE_LENGTH:
        raise CodeError(
            "too_long",
            N_("条码内容过长（{length} 个字符，上限 {limit}），可能误粘贴了其他文本"),
            length=len(s),
            limit=MAX_CODE_LENGTH,
        )
    _screen_characters(s)
    reference = today or date.today()
    try:
        result = _parse_structured(scan, reference)
        if result is None:
            result = _parse_plain(s)
    except CodeError as err:
        if err.reason not in _PRECISE_REASONS and _holds_two_codes(s, reference):
            raise _concatenated() from err
        raise
    if result.scheme == "plain" and _holds_two_codes(s, reference):
        raise _concatenated()
    if result.scheme != "plain" and _holds_two_codes(s, reference, after=result.scheme):
        raise _concatenated()  # e.g. an MA code whose last segment swallowed a GS1 scan
    return result


def parse_code_json(
    text: str, *, today: date | None = None, gs_substitutes: Sequence[str] = ()
) -> tuple[int, dict[str, Any]]:
    """``(0, contract dict)`` or ``(2, {"error": {...}})`` for the CLI; never raises.

    It needs no blind ``except``: ``parse_code`` raises only ``CodeError``, which the property
    tests check over arbitrary text, lone surrogates included.
    """
    try:
        return 0, parse_code(text, today=today, gs_substitutes=gs_substitutes).to_json()
    except CodeError as err:
        return 2, {"error": {"reason": err.reason, "message": str(err)}}


# --- wedge clean-up and screening -------------------------------------------------------------


def _clean(text: str) -> _Scan:
    s = unicodedata.normalize("NFKC", text)
    trailing_space = s.rstrip("\r\n\t").endswith(" ")
    s = s.strip(_EDGE_WHITESPACE)
    symbology = None
    match = _SYMBOLOGY_RE.match(s)
    if match:
        symbology = s[1:3]
        s = s[3:]
        if symbology in _CAPSLOCK_SYMBOLOGIES:
            symbology = _CAPSLOCK_SYMBOLOGIES[symbology]
            s = s.swapcase()
    s = _SUBSTITUTE_RE.sub(lambda m: _SUBSTITUTES[m.group(0).upper()], s)
    s = s.strip(_EDGE_WHITESPACE + GS)
    if _MA_INVERTED_RE.match(s):
        s = s.swapcase()
    elif s.startswith(("+", "*+")) and not s.isupper():
        s = s.upper()  # HIBC has no lower case, so any lower case is CapsLock; its check confirms it
    return _Scan(s, symbology, trailing_space)


def _screen_characters(s: str) -> None:
    """Refuse what no scheme can hold, with the most helpful message for each kind of character."""
    if _LINE_BREAK_RE.search(s):
        raise CodeError(
            "concatenated_scans", N_("扫码内容包含换行或制表符，可能是两次扫码连在一起，请清空后逐个扫描")
        )
    if _INNER_SYMBOLOGY_RE.search(s):
        raise _concatenated()
    envelope = s.startswith("[)>" + RS)
    for match in _NOT_PRINTABLE_ASCII_RE.finditer(s):
        c = match.group(0)
        position = match.start() + 1
        if c == GS or (envelope and c in (RS, EOT)):
            continue
        if ord(c) < 0x20 or ord(c) == 0x7F:
            raise CodeError(
                "invalid_character",
                N_("条码第 {position} 个字符是不可见的控制字符 {code}，无法识别"),
                position=position,
                code=_show(c),
            )
        if _looks_like_ime(c):
            raise CodeError(
                "invalid_character",
                N_(
                    "条码中出现了中文或全角字符“{char}”（第 {position} 个字符），请切换到英文输入法后重新扫码"
                ),
                char=c,
                position=position,
            )
        raise CodeError(
            "invalid_character",
            N_("条码第 {position} 个字符{char}不是条码中允许的字符"),
            position=position,
            char=_show(c),
        )


def _looks_like_ime(c: str) -> bool:
    """Chinese characters and the punctuation a Chinese IME produces instead of ASCII."""
    code = ord(c)
    return c in _IME_PUNCTUATION or any(low <= code <= high for low, high in _CJK_RANGES)


def _show(c: str) -> str:
    """A character as it can safely appear in a message (no spaces, controls or lone surrogates)."""
    if "!" <= c <= "~":
        return f"“{c}”"
    return f"U+{ord(c):04X}"


def _concatenated() -> CodeError:
    return CodeError("concatenated_scans", N_("检测到两个条码连在一起，请清空后逐个扫描"))


def _holds_two_codes(s: str, reference: date, *, after: str | None = None) -> bool:
    """True when ``s`` splits into two codes that each parse on their own (a doubled scan).

    ``after`` is the scheme ``s`` already parsed as. Such a text is valid on its own, so only
    splits that cannot be ordinary data count: the second code starts with its own scheme's
    signature (``MA.``, ``+``) or is a GS1 string after a non-GS1 code (a GS1 scan glued to an
    MA lot). A numeric GS1 serial that merely contains ``01``+14 digits is never refused.
    """
    points = [m.start() for m in _SPLIT_POINT_RE.finditer(s) if m.start() > 0]
    if s.isdigit() and after is None:
        points += [n for n in (8, 12, 13, 14) if n < len(s)]
    for point in sorted(set(points))[:_MAX_SPLIT_TRIES]:
        rest = s[point:]
        if after == "gs1" and (rest[:2] == "01" or rest[:1] == "("):
            continue  # inside GS1 data: a numeric serial, or the next bracketed AI
        try:
            first = _parse_structured(_Scan(s[:point], None, False), reference)
            second = _parse_structured(_Scan(rest, None, False), reference)
        except CodeError:
            continue
        if first is not None and second is not None:
            return True
    return False


def _parse_structured(scan: _Scan, reference: date) -> ParsedCode | None:
    """Dispatch on the scheme's signature; ``None`` means no structured scheme claims the text."""
    s = scan.text
    if s.startswith("[)>"):
        return _parse_envelope(s, reference)
    if _URL_RE.match(s):
        return _parse_digital_link(s, reference)
    if s.startswith(("+", "*+")):
        return _parse_hibc(s, scan.trailing_space, reference)
    if _MA_RE.match(s):
        return _parse_ma(s, reference)
    if s.startswith("("):
        return _parse_gs1_bracketed(s, reference)
    if scan.symbology in _GS1_SYMBOLOGIES or GS in s or _GTIN_FIRST_RE.match(s):
        return _parse_gs1(s, s, reference)
    if s.isdigit():
        if len(s) in _GTIN_KINDS:
            return _parse_gtin_digits(s)
        if s.startswith("01") and len(s) < 16:
            raise CodeError(
                "truncated",
                N_("条码不完整：GS1 (01) 后应有 14 位数字，只读到 {actual} 位，请重新扫码"),
                actual=len(s) - 2,
            )
    return None


# --- GS1 ----------------------------------------------------------------------------------------


@cache
def _ai_regex(ai: GS1ApplicationIdentifier) -> re.Pattern[str]:
    return re.compile(ai.pattern.removesuffix("$"))


def _exact_ai(digits: str) -> GS1ApplicationIdentifier | None:
    try:
        ai = GS1ApplicationIdentifier.extract(digits)
    except ParseError:
        return None
    return ai if ai.ai == digits else None


def _field_charset(ai: GS1ApplicationIdentifier) -> frozenset[str]:
    data_format = ai.format.split("+", 1)[1] if "+" in ai.format else ai.format
    return _GS1_CHARSET if re.search(r"[XYZ]", data_format) else _DIGITS


def _parse_gs1_bracketed(s: str, reference: date) -> ParsedCode:
    compact = s.replace(" ", "").replace(GS, "")
    matches = list(_HRI_AI_RE.finditer(compact))
    if not matches or matches[0].start() != 0:
        raise CodeError("unrecognized", N_("括号形式的 GS1 码应以应用标识符开头，例如 (01)06901234567892"))
    parts = []
    for i, match in enumerate(matches):
        digits = match.group(1)
        if _exact_ai(digits) is None:
            raise CodeError("unrecognized", N_("未知的 GS1 应用标识符 ({ai})"), ai=digits)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(compact)
        value = compact[match.end() : end]
        if not value:
            raise CodeError("truncated", N_("条码不完整：GS1 字段 ({ai}) 没有数据"), ai=digits)
        if digits == "01" and value.isdigit() and len(value) < 14:
            if len(value) in (8, 12, 13) and gs1_standard_check_digit(value[:-1]) == int(value[-1]):
                value = value.zfill(14)  # an unpadded GTIN-8/12/13 written by hand: its check digit proves it
            else:
                raise CodeError(
                    "invalid_length", N_("GS1 字段 (01) 应为 14 位数字，实为 {actual} 位"), actual=len(value)
                )
        parts.append(digits + value)
    return _parse_gs1(GS.join(parts), s, reference)


def _parse_digital_link(s: str, reference: date) -> ParsedCode:
    not_udi = CodeError("unrecognized", N_("这是一个网址二维码，不是医疗器械唯一标识（UDI）"))
    try:
        url = urlsplit(s)
    except ValueError:
        raise not_udi from None
    segments = url.path.split("/")
    if "01" not in segments:
        raise not_udi
    pairs = segments[segments.index("01") :]
    gtin = unquote(pairs[1]) if len(pairs) > 1 else ""
    if not (gtin.isdigit() and len(gtin) in _GTIN_KINDS):
        raise not_udi
    if len(pairs) % 2:
        raise CodeError("truncated", N_("GS1 数字链接网址不完整：({ai}) 后缺少数据"), ai=pairs[-1][:8])
    elements = [(pairs[i], unquote(pairs[i + 1])) for i in range(0, len(pairs), 2)]
    elements += [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k.isdigit()]
    parts = []
    for key, value in elements:
        if _exact_ai(key) is None:
            raise CodeError("unrecognized", N_("未知的 GS1 应用标识符 ({ai})"), ai=key)
        if not value:
            raise CodeError("truncated", N_("条码不完整：GS1 字段 ({ai}) 没有数据"), ai=key)
        for c in value:
            if c not in _GS1_CHARSET:
                raise CodeError(
                    "invalid_character",
                    N_("GS1 字段 ({ai}) 中的字符{char}不在 GS1 字符集内"),
                    ai=key,
                    char=_show(c),
                )
        parts.append(key + (value.zfill(14) if key == "01" else value))
    return _parse_gs1(GS.join(parts), s, reference)


def _parse_envelope(s: str, reference: date) -> ParsedCode:
    """ISO/IEC 15434 ``[)>␞05␝…␞␄``: format 05 carries GS1 element strings."""
    if not s.startswith("[)>" + RS) or len(s) < 6:
        raise CodeError("unrecognized", N_("无法识别的 ISO/IEC 15434 条码信封"))
    data_format = s[4:6]
    if data_format != "05":
        raise CodeError(
            "unrecognized",
            N_("不支持 ISO/IEC 15434 格式 {format}（只支持格式 05，即 GS1 应用标识符）"),
            format=data_format,
        )
    inner = s[6:].removesuffix(EOT).removesuffix(RS)
    if RS in inner or EOT in inner:
        raise CodeError("unrecognized", N_("ISO/IEC 15434 信封中含有多段数据，无法识别"))
    inner = inner.strip(GS)
    if not inner:
        raise CodeError("truncated", N_("条码不完整：ISO/IEC 15434 信封中没有数据"))
    return _parse_gs1(inner, s, reference)


def _parse_gs1(data: str, raw: str, reference: date) -> ParsedCode:
    """Validate a GS-separated element string through biip, adding the checks biip lacks."""
    values: dict[str, str] = {}
    first_ai: str | None = None
    for ai, value in _gs1_elements(data, reference):
        if ai in values:
            if ai == "01" or ai == first_ai:
                raise _concatenated()
            raise CodeError(
                "duplicate_ai",
                N_("GS1 字段 ({ai}) 出现了两次：“{first}”与“{second}”"),
                ai=ai,
                first=values[ai],
                second=value,
            )
        values[ai] = value
        first_ai = first_ai or ai
    gtin = values.get("01")
    if gtin is not None:
        if gtin == "0" * 14:
            raise CodeError("unrecognized", N_("GTIN 全为 0，不是有效的产品标识"))
        swallowed = "01" + gtin
        if any(swallowed in v for ai, v in values.items() if ai != "01"):
            raise _concatenated()
    expiry = _gs1_date("17", values["17"], reference) if "17" in values else None
    produced = _gs1_date("11", values["11"], reference) if "11" in values else None
    return ParsedCode("gs1", gtin, gtin, values.get("10"), values.get("21"), expiry, produced, raw)


def _gs1_elements(data: str, reference: date) -> list[tuple[str, str]]:
    elements: list[tuple[str, str]] = []
    pos = 0
    while pos < len(data):
        if data[pos] == GS:
            pos += 1
            continue
        rest = data[pos:]
        segment = rest.split(GS, 1)[0]
        ai = _lookup_ai(segment, pos, pos + len(segment) == len(data))
        body = segment[len(ai.ai) :]
        _precheck_field(ai, body, reference)
        match = _ai_regex(ai).match(segment)
        if match is None:
            raise _field_mismatch(ai, body)
        consumed = match.end()
        if ai.separator_required and consumed < len(segment):
            raise _field_overflow(ai, segment[consumed])
        try:
            element = GS1ElementString.extract(rest, config=_BIIP_CONFIG)
        except (ParseError, ValueError, ArithmeticError):
            raise _field_mismatch(ai, body) from None
        _check_identifier(ai.ai, element)
        elements.append((ai.ai, segment[len(ai.ai) : consumed]))
        pos += consumed
    return elements


def _lookup_ai(segment: str, pos: int, last: bool) -> GS1ApplicationIdentifier:
    try:
        return GS1ApplicationIdentifier.extract(segment)
    except ParseError:
        pass
    lead = re.match(r"\d{1,4}", segment)
    if lead and last and len(segment) < 4 and segment.isdigit():
        raise CodeError("truncated", N_("条码不完整：末尾的“{text}”不是完整的 GS1 字段"), text=segment)
    if lead:
        raise CodeError(
            "unrecognized",
            N_("未知的 GS1 应用标识符：第 {position} 个字符起为“{text}…”"),
            position=pos + 1,
            text=segment[:4],
        )
    raise CodeError(
        "unrecognized",
        N_("GS1 条码第 {position} 个字符起的内容“{text}”无法识别"),
        position=pos + 1,
        text=segment[:8],
    )


def _precheck_field(ai: GS1ApplicationIdentifier, body: str, reference: date) -> None:
    """Classify a bad fixed-length numeric field precisely before biip's pattern rejects it."""
    if not body:
        raise CodeError("truncated", N_("条码不完整：GS1 字段 ({ai}) 没有数据"), ai=ai.ai)
    fixed = _FIXED_NUMERIC_RE.fullmatch(ai.format)
    if not fixed:
        return
    length = int(fixed.group(1))
    head = body[:length]
    for i, c in enumerate(head):
        if c not in _DIGITS:
            raise CodeError(
                "invalid_character",
                N_("GS1 字段 ({ai}) 应为 {length} 位数字，但第 {position} 位是{char}"),
                ai=ai.ai,
                length=length,
                position=i + 1,
                char=_show(c),
            )
    if len(head) < length:
        raise CodeError(
            "truncated",
            N_("条码不完整：GS1 字段 ({ai}) 应有 {expected} 位数字，只读到 {actual} 位"),
            ai=ai.ai,
            expected=length,
            actual=len(head),
        )
    if ai.ai in _DATE_AIS:
        _gs1_date(ai.ai, head, reference)


def _field_mismatch(ai: GS1ApplicationIdentifier, body: str) -> CodeError:
    allowed = _field_charset(ai)
    for c in body:
        if c not in allowed:
            return CodeError(
                "invalid_character",
                N_("GS1 字段 ({ai}) 中的字符{char}不允许（格式 {format}）"),
                ai=ai.ai,
                char=_show(c),
                format=ai.format,
            )
    return CodeError(
        "unrecognized",
        N_("GS1 字段 ({ai}) 的内容“{value}”不符合格式 {format}"),
        ai=ai.ai,
        value=body[:30],
        format=ai.format,
    )


def _field_overflow(ai: GS1ApplicationIdentifier, following: str) -> CodeError:
    if following in _field_charset(ai):
        limit = _MAX_LENGTH_RE.search(ai.format)
        return CodeError(
            "invalid_length",
            N_("GS1 字段 ({ai}) 超过最大长度 {limit} 个字符；若其后还有其他字段，可能缺少分隔符 GS"),
            ai=ai.ai,
            limit=limit.group(1) if limit else "?",
        )
    return CodeError(
        "invalid_character",
        N_("GS1 字段 ({ai}) 中的字符{char}不在 GS1 字符集内"),
        ai=ai.ai,
        char=_show(following),
    )


def _check_identifier(ai: str, element: GS1ElementString) -> None:
    """biip only records a bad check digit on the element; the project refuses the scan."""
    error = element.gtin_error or element.sscc_error or element.gln_error
    if not error:
        return
    value = element.value
    kind = _CHECKED_AIS.get(ai, "GLN")
    expected = gs1_standard_check_digit(value[:-1])
    if expected != int(value[-1]):
        if ai == "01" and gs1_standard_check_digit(value[:12]) == int(value[12]):
            raise CodeError(
                "invalid_check_digit",
                N_(
                    "GTIN 校验位错误：应为 {expected}，实为 {actual}（13 位的 EAN 码在 (01) 后应补一个前导 "
                    "0）"
                ),
                expected=expected,
                actual=value[-1],
            )
        raise CodeError(
            "invalid_check_digit",
            N_("{kind} 校验位错误：应为 {expected}，实为 {actual}"),
            kind=kind,
            expected=expected,
            actual=value[-1],
        )
    raise CodeError("unrecognized", N_("{kind} {value} 无效"), kind=kind, value=value)


def _parse_gtin_digits(s: str) -> ParsedCode:
    expected = gs1_standard_check_digit(s[:-1])
    if expected != int(s[-1]):
        raise CodeError(
            "invalid_check_digit",
            N_("{kind} 校验位错误：应为 {expected}，实为 {actual}"),
            kind=_GTIN_KINDS[len(s)],
            expected=expected,
            actual=s[-1],
        )
    gtin = s.zfill(14)
    if gtin == "0" * 14:
        raise CodeError("unrecognized", N_("GTIN 全为 0，不是有效的产品标识"))
    return ParsedCode(_GTIN_SCHEMES.get(len(s), "gs1"), gtin, gtin, None, None, None, None, s)


# --- dates --------------------------------------------------------------------------------------


def _window_year(yy: int, reference: date) -> int:
    """GS1 GenSpecs 7.12: a two-digit year lies from 49 years back to 50 years ahead of today."""
    century = reference.year - reference.year % 100
    difference = yy - reference.year % 100
    if 51 <= difference <= 99:
        return century - 100 + yy
    if -99 <= difference <= -50:
        return century + 100 + yy
    return century + yy


def _make_date(where: str, value: str, year: int, month: int, day: int, *, day_zero: bool) -> date:
    if not 1 <= month <= 12:
        raise CodeError(
            "invalid_date",
            N_("日期无效：{where} {value} 的月份 {month:02d} 不在 01–12 之间"),
            where=where,
            value=value,
            month=month,
        )
    if year < 1:
        raise CodeError(
            "invalid_date", N_("日期无效：{where} {value} 的年份不能为 0000"), where=where, value=value
        )
    last = calendar.monthrange(year, month)[1]
    if day == 0 and day_zero:
        return date(year, month, last)
    if day == 0:
        raise CodeError(
            "invalid_date", N_("日期无效：{where} {value} 的日不能为 00"), where=where, value=value
        )
    if day > last:
        raise CodeError(
            "invalid_date",
            N_("日期无效：{where} {value}，{year} 年 {month} 月只有 {days} 天"),
            where=where,
            value=value,
            year=year,
            month=month,
            days=last,
        )
    return date(year, month, day)


def _gs1_date(ai: str, value: str, reference: date) -> date:
    """``YYMMDD`` where ``DD=00`` means the last day of the month (GS1 GenSpecs)."""
    year = _window_year(int(value[:2]), reference)
    return _make_date(f"({ai})", value, year, int(value[2:4]), int(value[4:6]), day_zero=True)


def _digits(where: str, value: str, length: int) -> str:
    head = value[:length]
    if len(head) < length:
        raise CodeError(
            "truncated",
            N_("条码不完整：{where} 的日期应有 {expected} 位数字，只有 {actual} 位"),
            where=where,
            expected=length,
            actual=len(head),
        )
    if not head.isdigit():
        raise CodeError(
            "invalid_date",
            N_("日期无效：{where} 的日期“{value}”应为 {expected} 位数字"),
            where=where,
            value=head,
            expected=length,
        )
    return head


def _julian(where: str, value: str, reference: date) -> date:
    year = _window_year(int(value[:2]), reference)
    day_of_year = int(value[2:5])
    days = 366 if calendar.isleap(year) else 365
    if not 1 <= day_of_year <= days:
        raise CodeError(
            "invalid_date",
            N_("日期无效：{where} {value}，{year} 年只有 {days} 天"),
            where=where,
            value=value,
            year=year,
            days=days,
        )
    return date(year, 1, 1) + timedelta(days=day_of_year - 1)


def _hour(where: str, value: str) -> None:
    if int(value) > 23:
        raise CodeError(
            "invalid_date", N_("日期无效：{where} 的小时 {hour} 不在 00–23 之间"), where=where, hour=value
        )


# --- HIBC ---------------------------------------------------------------------------------------


def _mod43(data: str) -> str:
    return _CODE39[sum(_CODE39_VALUE[c] for c in data) % 43]


def _parse_hibc(s: str, trailing_space: bool, reference: date) -> ParsedCode:
    t = s[1:-1] if s.startswith("*+") and s.endswith("*") and len(s) > 2 else s
    for i, c in enumerate(t):
        if c not in _CODE39_VALUE:
            raise CodeError(
                "invalid_character",
                N_("HIBC 条码中不允许字符{char}（第 {position} 个字符）"),
                char=_show(c),
                position=i + 1,
            )
    if len(t) < 4:
        raise CodeError("truncated", N_("HIBC 条码不完整，请重新扫码"))
    data, check = t[:-1], t[-1]
    if _mod43(data) != check:
        if _mod43(t) == " " and trailing_space:  # the check character was a space the trim removed
            data, s = t, s + " "
        elif _mod43(t) == " ":
            raise CodeError(
                "truncated", N_("HIBC 条码不完整：末尾的校验字符应为空格，可能在输入时被删除，请重新扫码")
            )
        else:
            raise CodeError(
                "invalid_check_digit",
                N_("HIBC 校验字符错误：应为{expected}，实为{actual}"),
                expected=_show(_mod43(data)),
                actual=_show(check),
            )
    body = data[1:]
    if body[:1].isalpha():
        primary, separator, secondary = body.partition("/")
        product_id = _hibc_primary(primary)
        fields = _hibc_secondary(secondary, reference) if separator else (None, None, None, None)
    elif body[:1] == "$" or body[:1].isdigit():
        product_id = None
        fields = _hibc_secondary(body[:-1], reference)  # last character links to the primary
    else:
        raise CodeError("unrecognized", N_("无法识别的 HIBC 条码结构"))
    lot, serial, expiry, produced = fields
    return ParsedCode("hibc", None, product_id, lot, serial, expiry, produced, s)


def _hibc_primary(primary: str) -> str:
    if len(primary) < 6:
        raise CodeError("truncated", N_("HIBC 主数据不完整：应为 厂商代码(4) + 产品编号 + 包装单位(1)"))
    lic, pcn, unit = primary[:4], primary[4:-1], primary[-1]
    if not (lic[0].isalpha() and lic.isalnum()):
        raise CodeError(
            "unrecognized",
            N_("HIBC 厂商代码 {lic} 无效：应为 1 个字母加 3 个字母或数字"),
            lic=_show_text(lic),
        )
    if not unit.isdigit():
        raise CodeError(
            "unrecognized", N_("HIBC 主数据最后一位（包装单位）应为数字，实为{char}"), char=_show(unit)
        )
    for c in pcn:
        if not c.isalnum():
            raise CodeError("invalid_character", N_("HIBC 产品编号中不允许字符{char}"), char=_show(c))
    if len(pcn) > _HIBC_MAX_DATA:
        raise CodeError("invalid_length", N_("HIBC 产品编号超过 {limit} 个字符"), limit=_HIBC_MAX_DATA)
    return lic + pcn + unit


def _hibc_secondary(
    secondary: str, reference: date
) -> tuple[str | None, str | None, date | None, date | None]:
    main, *supplements = secondary.split("/")
    expiry: date | None = None
    if main.startswith("$$"):
        is_serial = main.startswith("$$+")
        expiry, value = _hibc_dated(main[3:] if is_serial else main[2:], reference)
    elif main.startswith("$"):
        is_serial = main.startswith("$+")
        value = main[2:] if is_serial else main[1:]
    elif main[:5].isdigit() and len(main) >= 5:
        is_serial = False
        expiry, value = _julian("HIBC", main[:5], reference), main[5:]
    else:
        raise CodeError("unrecognized", N_("无法识别的 HIBC 次要数据“{text}”"), text=_show_text(main[:10]))
    _hibc_value(value)
    lot, serial = (None, value or None) if is_serial else (value or None, None)
    produced: date | None = None
    for item in supplements:
        if item.startswith("S") and len(item) > 1:
            if serial is not None:
                raise CodeError("duplicate_ai", N_("HIBC 条码中的数据项 {what} 重复出现"), what="/S")
            _hibc_value(item[1:])
            serial = item[1:]
        elif item.startswith(("16D", "14D")):
            digits = _digits("HIBC /" + item[:3], item[3:], 8)
            if len(item) != 11:
                raise CodeError(
                    "invalid_length", N_("HIBC 数据项 {what} 应为 8 位日期 YYYYMMDD"), what="/" + item[:3]
                )
            when = _make_date(
                "HIBC /" + item[:3],
                digits,
                int(digits[:4]),
                int(digits[4:6]),
                int(digits[6:]),
                day_zero=False,
            )
            if item.startswith("16D"):
                produced = when
            elif expiry is not None and expiry != when:
                raise CodeError("duplicate_ai", N_("HIBC 条码中的数据项 {what} 重复出现"), what="/14D")
            else:
                expiry = when
        else:
            raise CodeError("unrecognized", N_("HIBC 附加数据“/{text}”无法识别"), text=_show_text(item[:10]))
    return lot, serial, expiry, produced


def _hibc_dated(rest: str, reference: date) -> tuple[date | None, str]:
    """``$$`` forms: optional quantity (8QQ / 9QQQQQ), then a date flag and the date."""
    if rest[:1] in ("8", "9"):
        quantity = 2 if rest[0] == "8" else 5
        if not rest[1 : 1 + quantity].isdigit() or len(rest) < 1 + quantity:
            raise CodeError("unrecognized", N_("HIBC 数量字段应为 {length} 位数字"), length=quantity)
        rest = rest[1 + quantity :]
    flag = rest[:1]
    if not flag:
        raise CodeError("truncated", N_("HIBC 条码不完整：缺少有效期"))
    where = "HIBC"
    if flag in "01":
        v = _digits(where, rest, 4)
        year = _window_year(int(v[2:]), reference)
        return _make_date(where, v, year, int(v[:2]), 0, day_zero=True), rest[4:]
    if flag == "2":
        v = _digits(where, rest[1:], 6)
        year = _window_year(int(v[4:]), reference)
        return _make_date(where, v, year, int(v[:2]), int(v[2:4]), day_zero=False), rest[7:]
    if flag in "34":
        length = 6 if flag == "3" else 8
        v = _digits(where, rest[1:], length)
        if flag == "4":
            _hour(where, v[6:])
        year = _window_year(int(v[:2]), reference)
        return _make_date(where, v, year, int(v[2:4]), int(v[4:6]), day_zero=False), rest[1 + length :]
    if flag in "56":
        length = 5 if flag == "5" else 7
        v = _digits(where, rest[1:], length)
        if flag == "6":
            _hour(where, v[5:])
        return _julian(where, v[:5], reference), rest[1 + length :]
    if flag == "7":
        return None, rest[1:]
    raise CodeError("unrecognized", N_("HIBC 有效期格式标志{flag}无法识别"), flag=_show(flag))


def _hibc_value(value: str) -> None:
    for c in value:
        if c not in _HIBC_DATA_CHARS:
            raise CodeError("invalid_character", N_("HIBC 批号/序列号中不允许字符{char}"), char=_show(c))
    if len(value) > _HIBC_MAX_DATA:
        raise CodeError("invalid_length", N_("HIBC 批号/序列号超过 {limit} 个字符"), limit=_HIBC_MAX_DATA)


def _show_text(text: str) -> str:
    return "".join(c if "!" <= c <= "~" else "␠" for c in text)


# --- MA (IDcode) --------------------------------------------------------------------------------


def _parse_ma(s: str, reference: date) -> ParsedCode:
    parts = s.split(".")
    for part in parts:
        for c in part:
            if not (c.isascii() and c.isalnum()):
                raise CodeError("invalid_character", N_("MA 码中不允许字符{char}"), char=_show(c))
    if len(parts) < 5 or not all(parts[:5]):
        raise CodeError("truncated", N_("MA 码不完整：产品标识应为 MA.国家代码.行业代码.注册人代码.产品代码"))
    head = [p.upper() for p in parts[:5]]
    if not (len(head[1]) == 3 and head[1].isdigit()):
        raise CodeError("unrecognized", N_("MA 码的国家代码应为 3 位数字，实为“{value}”"), value=head[1])
    segments: dict[str, str] = {}
    for part in parts[5:]:
        if not part:
            raise CodeError("truncated", N_("MA 码不完整：有空的数据段"))
        letter, value = part[0].upper(), part[1:]
        if letter not in _MA_SEGMENTS:
            raise CodeError("unrecognized", N_("MA 码中的数据段“.{segment}”无法识别"), segment=part[:12])
        if letter in segments:
            raise CodeError("duplicate_ai", N_("MA 码中的数据段 .{letter} 出现了两次"), letter=letter)
        if not value:
            raise CodeError("truncated", N_("MA 码不完整：数据段 .{letter} 没有内容"), letter=letter)
        segments[letter] = value
    dates = {k: _ma_date(k, v, reference) for k, v in segments.items() if k in _MA_DATE_SEGMENTS}
    return ParsedCode(
        "ma",
        None,
        ".".join(head),
        segments.get("L"),
        segments.get("S"),
        dates.get("E") or dates.get("V"),
        dates.get("M"),
        s,
    )


def _ma_date(letter: str, value: str, reference: date) -> date:
    where = f"MA .{letter}"
    if not value.isdigit() or len(value) not in (6, 8):
        raise CodeError(
            "invalid_date",
            N_("日期无效：{where} 的日期“{value}”应为 6 位（YYMMDD）或 8 位（YYYYMMDD）数字"),
            where=where,
            value=value[:12],
        )
    if len(value) == 6:
        year, rest = _window_year(int(value[:2]), reference), value[2:]
    else:
        year, rest = int(value[:4]), value[4:]
    return _make_date(where, value, year, int(rest[:2]), int(rest[2:]), day_zero=False)


# --- plain --------------------------------------------------------------------------------------


def _parse_plain(s: str) -> ParsedCode:
    code = s[1:-1] if len(s) > 2 and s.startswith("*") and s.endswith("*") else s
    code = code.upper()
    for i, c in enumerate(code):
        if c not in _PLAIN_CHARS:
            raise CodeError(
                "invalid_character",
                N_(
                    "无法识别的条码：第 {position} "
                    "个字符{char}不属于任何条码格式（手工输入的编码只能包含字母、数字和 - . /）"
                ),
                position=i + 1,
                char=_show(c),
            )
    if not _PLAIN_MIN <= len(code) <= _PLAIN_MAX:
        raise CodeError(
            "invalid_length",
            N_("手工输入的编码应为 {low}–{high} 个字符，实为 {length} 个"),
            low=_PLAIN_MIN,
            high=_PLAIN_MAX,
            length=len(code),
        )
    if not _PLAIN_RE.fullmatch(code) or not any(c in _DIGITS for c in code):
        raise CodeError(
            "unrecognized", N_("无法识别的条码：不是 GS1、HIBC、MA 或 EAN/UPC 码，也不像器械标签上的编号")
        )
    return ParsedCode("plain", None, None, None, code, None, None, s)
