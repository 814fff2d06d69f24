"""CJK fonts for PDFs: embedded TrueType faces with a per-character fallback chain.

Archived records must look the same on any PC in thirty years and keep their Chinese text
extractable, so every glyph comes from an embedded TrueType (``glyf``) font; reportlab cannot embed
PostScript-outline CJK fonts (Noto/Source Han). Fonts are looked for in ``resources/fonts/`` first (a
frozen build carries its own files, so output does not depend on the PC), then the Debian system
paths, then the Windows font folders. The main face draws ordinary text; characters it lacks (CJK
Extension A/B+ surnames such as 𠀀 𡃁 𪚥, rare symbols) are drawn, one run at a time, with the first
fallback face that has them. Characters no face can draw are printed as ``[U+hhhh]`` (e.g.
``[U+1FAC0]``) so the record
keeps the information instead of an empty box; control and invisible format characters are dropped.

Fonts are parsed once per process (0.1–0.2 s each); fallback faces are only parsed when a
character first needs them.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_
from ecmo_desktop.paths import resource_path

__all__ = [
    "FontFace",
    "FontSet",
    "FontsMissingError",
    "TextRun",
    "clean_text",
    "draw_string",
    "font_search_dirs",
    "load_font_set",
    "markup_with_fallback",
    "register_fonts",
    "string_width",
]


class FontsMissingError(EcmoError):
    """No embeddable Chinese font exists on this PC, so no document can be printed."""

    default_message = N_(
        "找不到可嵌入 PDF 的中文字体，无法生成文档。请安装文泉驿微米黑字体"
        "（wqy-microhei.ttc）或将字体文件放入 resources/fonts/ 目录。已查找：{searched}"
    )


@dataclass(frozen=True)
class _Candidate:
    filename: str
    subfont: int = 0
    planes: tuple[int, ...] | None = None  # Unicode planes worth loading this face for; None = any


# Preference order for the face that draws ordinary text. Microsoft fonts are only ever used from the
# PC's own Windows folder: their licence forbids shipping them in resources/fonts/.
MAIN_FONTS: tuple[_Candidate, ...] = (
    _Candidate("wqy-microhei.ttc"),  # WenQuanYi Micro Hei, Apache-2.0 / GPL-3+ with font exception
    _Candidate("DroidSansFallbackFull.ttf"),  # Apache-2.0
    _Candidate("msyh.ttc"),  # Microsoft YaHei (Windows)
    _Candidate("simsun.ttc"),  # SimSun (Windows)
)

# Tried in order for characters the main face lacks.
FALLBACK_FONTS: tuple[_Candidate, ...] = (
    _Candidate("DroidSansFallbackFull.ttf"),  # sans, like the main face: full CJK Extension A
    _Candidate("HanaMinB.ttf", planes=(2,)),  # Hanazono (fonts-hanazono): CJK Extension B–F
    _Candidate("HanaMinA.ttf"),  # Hanazono: Extension A, compatibility ideographs, symbols
    _Candidate("simsun.ttc"),  # Windows: Extension A
    _Candidate("simsunb.ttf", planes=(2,)),  # Windows: SimSun-ExtB
    _Candidate("SimsunExtG.ttf", planes=(3,)),  # Windows 11: SimSun-ExtG
    _Candidate("DejaVuSans.ttf"),  # symbols, Latin/Greek/Cyrillic with combining marks
    _Candidate("seguisym.ttf"),  # Windows: Segoe UI Symbol
    _Candidate("arial.ttf"),  # Windows
)

_DEBIAN_DIRS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy",
    "/usr/share/fonts/truetype/droid",
    "/usr/share/fonts/truetype/hanazono",
    "/usr/share/fonts/truetype/dejavu",
)


def font_search_dirs() -> list[Path]:
    """Folders searched for font files, best first: bundled, Debian, Windows (system, then per-user)."""
    dirs: list[Path] = []
    with contextlib.suppress(
        FileNotFoundError
    ):  # a damaged install without resources/ still finds system fonts
        dirs.append(resource_path("fonts"))
    dirs.extend(Path(d) for d in _DEBIAN_DIRS)
    windir = os.environ.get("WINDIR") or os.environ.get("SYSTEMROOT") or r"C:\Windows"
    dirs.append(Path(windir) / "Fonts")
    local = os.environ.get("LOCALAPPDATA")
    if local:
        dirs.append(Path(local) / "Microsoft" / "Windows" / "Fonts")
    return dirs


class _Utf16TTFont(TTFont):
    """A TTFont whose ToUnicode CMap maps characters beyond U+FFFF correctly.

    reportlab writes ``<%04X>`` for each code point, which yields an odd-length, invalid hex string
    for Extension B+ characters, so 𠀀 could be seen but not searched or copied. After reportlab has
    made the subset objects, the CMaps of subsets holding such characters are rewritten with UTF-16BE
    surrogate pairs (PDF 32000-1 §9.10.3).
    """

    def addObjects(self, doc) -> None:
        state = self.state.get(doc)
        subsets = [list(s) for s in state.subsets] if state is not None else []
        super().addObjects(doc)
        for n, subset in enumerate(subsets):
            if all(cp <= 0xFFFF for cp in subset):
                continue
            base = b"".join((SUBSETN(n), b"+", self.face.name, self.face.subfontNameX)).decode("pdfdoc")
            stream = doc.idToObject["toUnicodeCMap:" + base]
            stream.content = _to_unicode_cmap(base, subset)


def _utf16_hex(cp: int) -> str:
    return chr(cp).encode("utf-16-be", "surrogatepass").hex().upper()


def _to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(f"<{i:02X}> <{_utf16_hex(cp)}>" for i, cp in enumerate(subset)),
        "endbfchar",
        "endcmap",
        "CMapName currentdict /CMap defineresource pop",
        "end",
        "end",
    ]
    return "\n".join(lines)


# What parsing a damaged or unsupported font file raises (truncated tables, bad offsets, CFF outlines).
_FONT_FILE_ERRORS = (TTFError, OSError, struct.error, ValueError, LookupError, ArithmeticError)

_register_lock = threading.RLock()
_registered: dict[tuple[Path, int], str] = {}  # (file, subfont) -> reportlab font name


def _register(path: Path, subfont: int) -> tuple[str, dict[int, int]]:
    """Parse and register one face (once per process); returns its name and character map."""
    key = (path, subfont)
    with _register_lock:
        name = _registered.get(key)
        if name is None:
            base = f"Ecmo-{path.stem}-{subfont}"
            taken = set(_registered.values())
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            font = _Utf16TTFont(name, str(path), subfontIndex=subfont)
            pdfmetrics.registerFont(font)
            # Paragraph looks up <b>/<i> variants: map them to the same face rather than fail.
            pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
            _registered[key] = name
        return name, pdfmetrics.getFont(name).face.charToGlyph


class FontFace:
    """One TrueType face; parsed on first use so unused fallbacks cost nothing."""

    def __init__(self, path: Path, subfont: int = 0, planes: tuple[int, ...] | None = None) -> None:
        self.path = path
        self.subfont = subfont
        self.planes = planes
        self._name: str | None = None
        self._cmap: dict[int, int] | None = None
        self._broken = False
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Parse and register the face; False if the file cannot be used (damaged, wrong format)."""
        with self._lock:
            if self._cmap is None and not self._broken:
                try:
                    self._name, self._cmap = _register(self.path, self.subfont)
                except _FONT_FILE_ERRORS:  # an unreadable font file just drops out of the chain
                    self._broken = True
            return not self._broken

    @property
    def name(self) -> str:
        """The reportlab font name (parses the face if needed)."""
        if not self.load() or self._name is None:
            raise FontsMissingError(searched=str(self.path))
        return self._name

    def covers(self, cp: int) -> bool:
        if self.planes is not None and cp >> 16 not in self.planes:
            return False
        return self.load() and self._cmap is not None and cp in self._cmap

    def __repr__(self) -> str:
        return f"FontFace({str(self.path)!r}, subfont={self.subfont})"


@dataclass(frozen=True)
class TextRun:
    """A stretch of text drawn with one font; ``text == "\\n"`` marks a line break."""

    font: str
    text: str


# Invisible characters that fonts do not draw and reportlab would print as boxes: variation
# selectors and Mongolian free variation selectors (category Mn, so not caught by Cf).
_IGNORABLE = frozenset([*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), *range(0x180B, 0x1810)])
_LINE_BREAKS = frozenset("\n\u2028\u2029\x85")


@dataclass(frozen=True)
class FontSet:
    """The main face and its fallback chain, as registered with reportlab."""

    main_face: FontFace
    fallback_faces: tuple[FontFace, ...]
    _memo: dict[int, str | None] = field(default_factory=dict, repr=False, compare=False)

    @property
    def main(self) -> str:
        return self.main_face.name

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """Names of the usable fallback faces (parses them all; meant for diagnostics and tests)."""
        return tuple(f.name for f in self.fallback_faces if f.load())

    def font_for(self, ch: str) -> str | None:
        """The first face able to draw ``ch``, or None if none can."""
        cp = ord(ch)
        try:
            return self._memo[cp]
        except KeyError:
            pass
        found: str | None = None
        for face in (self.main_face, *self.fallback_faces):
            if face.covers(cp):
                found = face.name
                break
        self._memo[cp] = found
        return found

    def runs(self, text: str, *, keep_newlines: bool = True) -> list[TextRun]:
        """Split arbitrary user text into drawable runs, cleaning it on the way (see module doc)."""
        runs: list[TextRun] = []
        main = self.main
        cur_font = main
        buf: list[str] = []

        def push(font: str, piece: str) -> None:
            nonlocal cur_font, buf
            if font != cur_font and buf:
                runs.append(TextRun(cur_font, "".join(buf)))
                buf = []
            cur_font = font
            buf.append(piece)

        for ch in text.replace("\r\n", "\n").replace("\r", "\n"):
            cp = ord(ch)
            if ch in _LINE_BREAKS:
                if keep_newlines:
                    if buf:
                        runs.append(TextRun(cur_font, "".join(buf)))
                        buf = []
                    runs.append(TextRun(main, "\n"))
                else:
                    push(main, " ")
                continue
            if ch == "\t":
                push(main, " ")
                continue
            category = unicodedata.category(ch)
            if category in ("Cc", "Cf") or cp in _IGNORABLE:
                continue
            font = None if category == "Cs" else self.font_for(ch)
            if font is not None:
                push(font, ch)
            elif category == "Zs":
                push(main, " ")
            else:
                push(main, f"[U+{cp:04X}]")
        if buf:
            runs.append(TextRun(cur_font, "".join(buf)))
        return runs


def _find(dirs: Iterable[Path], candidates: Sequence[_Candidate]) -> list[tuple[Path, _Candidate]]:
    """Existing candidate files, folder-major so a bundled font beats any system font."""
    found: list[tuple[Path, _Candidate]] = []
    seen: set[str] = set()
    for directory in dirs:
        for cand in candidates:
            key = cand.filename.lower()
            path = directory / cand.filename
            if key not in seen and path.is_file():
                seen.add(key)
                found.append((path, cand))
    return found


def load_font_set(dirs: Sequence[Path]) -> FontSet:
    """Build a FontSet from the given folders; raise FontsMissingError when no main face loads."""
    main: FontFace | None = None
    for path, cand in _find(dirs, MAIN_FONTS):
        face = FontFace(path, cand.subfont)
        if face.load():
            main = face
            break
    if main is None:
        raise FontsMissingError(searched="; ".join(str(d) for d in dirs))
    fallbacks = tuple(
        FontFace(path, cand.subfont, cand.planes)
        for path, cand in _find(dirs, FALLBACK_FONTS)
        if (path, cand.subfont) != (main.path, main.subfont)
    )
    return FontSet(main, fallbacks)


_default_lock = threading.Lock()


@cache
def _default_font_set() -> FontSet:
    return load_font_set(font_search_dirs())


def register_fonts() -> FontSet:
    """The process-wide FontSet, found and registered on first call (thread-safe)."""
    with _default_lock:
        return _default_font_set()


def clean_text(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` as it will print: controls dropped, undrawable characters as ``[U+hhhh]`` (e.g.
    ``[U+1FAC0]``).
    """
    return "".join(run.text for run in register_fonts().runs(text, keep_newlines=keep_newlines))


def markup_with_fallback(text: str) -> str:
    """Paragraph markup for arbitrary user text: XML-escaped, fallback runs in ``<font>`` tags.

    reportlab's Paragraph parses its input as markup, so a note containing ``<``, ``&`` or ``]]>``
    would otherwise break (or restyle) the PDF. Line breaks become ``<br/>``.
    """
    fonts = register_fonts()
    main = fonts.main
    parts: list[str] = []
    for run in fonts.runs(text, keep_newlines=True):
        if run.text == "\n":
            parts.append("<br/>")
        elif run.font == main:
            parts.append(escape(run.text))
        else:
            parts.append(f'<font name="{run.font}">{escape(run.text)}</font>')
    return "".join(parts)


def string_width(text: str, font_size: float) -> float:
    """Width in points of ``text`` as :func:`draw_string` would draw it."""
    return sum(
        pdfmetrics.stringWidth(run.text, run.font, font_size)
        for run in register_fonts().runs(text, keep_newlines=False)
    )


def draw_string(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    *,
    font_size: float,
    align: Literal["left", "right", "centre"] = "left",
    max_width: float | None = None,
    min_font_size: float = 5.0,
) -> float:
    """Draw one line of user text on a canvas with font fallback; returns the width drawn.

    For canvas-drawn headers and footers, where no Paragraph does the work. With ``max_width`` the
    font shrinks (not below ``min_font_size``) so long names still fit their slot.
    """
    runs = register_fonts().runs(text, keep_newlines=False)

    def width_at(size: float) -> float:
        return sum(pdfmetrics.stringWidth(r.text, r.font, size) for r in runs)

    size = font_size
    width = width_at(size)
    if max_width is not None and width > max_width > 0:
        size = max(min_font_size, font_size * max_width / width)
        width = width_at(size)
    if align == "right":
        x -= width
    elif align == "centre":
        x -= width / 2
    text_object = canvas.beginText(x, y)  # one text object, so extraction keeps the runs on one line
    for run in runs:
        text_object.setFont(run.font, size)
        text_object.textOut(run.text)
    canvas.drawText(text_object)
    return width
