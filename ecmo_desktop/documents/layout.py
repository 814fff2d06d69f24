"""The page every ECMO Ward document is printed on, and the pieces documents are built from.

A4 with a header on every page (hospital, document title, patient identity) and a footer (page
"X / Y", print time in Beijing time, who printed it, document id, short content hash, optional
audit-chain anchor), so a single page taken out of a paper chart still says whose it is and can be
checked against the database. Each page's "X / Y" is a small PDF form drawn once the total is
known, at the end of the build, so one layout pass suffices and bookmarks keep pointing at the right
pages.

Output is deterministic: reportlab's invariant mode plus a creation date taken from ``printed_at``
make a reprint of the same content byte-identical, so an archived PDF can be verified by
regenerating it. The PDF cannot carry its own hash; the caller passes the SHA-256 of the document's
canonical content, and the footer shows its first 12 hex digits.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ecmo_desktop.documents.fonts import clean_text, draw_string, markup_with_fallback, register_fonts
from ecmo_desktop.domain.time import to_local
from ecmo_desktop.i18n import _

__all__ = [
    "PAGE_SIZE",
    "Bookmark",
    "DocumentHeader",
    "DocumentStyles",
    "beijing_time",
    "build_pdf",
    "data_table",
    "document_styles",
    "signature_block",
    "standard_table_style",
    "text_flowables",
    "text_paragraph",
]

PAGE_SIZE = A4
MARGIN_LEFT = MARGIN_RIGHT = 18 * mm
MARGIN_TOP = 30 * mm
MARGIN_BOTTOM = 24 * mm
SHORT_HASH_LENGTH = 12

_DOCUMENT_BOOKMARK = "ecmo-document"
_FOOTER_SIZE = 7.5


def beijing_time(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``moment`` shown in Beijing time; naive datetimes are refused (stored times are UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return to_local(moment).strftime(fmt)


@dataclass(frozen=True)
class DocumentHeader:
    """Who and what a document is about, repeated on every page."""

    hospital_name: str
    title: str
    patient_name: str
    mrn: str  # 住院号
    sex: str
    age: str  # as the ward writes it: "45岁", "3月", "12天"
    ward: str
    bed: str
    printed_at: datetime  # timezone-aware; shown in Beijing time, fixes the PDF creation date
    printed_by: str
    document_id: str
    content_hash: str  # hex SHA-256 of the document's canonical content, computed by the caller
    audit_anchor: str | None = None  # audit-chain head, e.g. "#10234 9f3ac2…"
    demo: bool = False  # printed from a demo database: every page says so (never mistaken for a record)

    def __post_init__(self) -> None:
        beijing_time(self.printed_at)  # refuse naive datetimes now, not halfway through a build

    @property
    def short_hash(self) -> str:
        return self.content_hash[:SHORT_HASH_LENGTH].lower()


@dataclass(frozen=True)
class DocumentStyles:
    """Paragraph styles in the embedded CJK font; ``wordWrap="CJK"`` breaks lines between any characters."""

    title: ParagraphStyle
    heading1: ParagraphStyle
    heading2: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    table_cell: ParagraphStyle
    table_header: ParagraphStyle
    signature: ParagraphStyle


@cache
def document_styles() -> DocumentStyles:
    font = register_fonts().main

    def style(name: str, size: float, leading: float, **kw: object) -> ParagraphStyle:
        return ParagraphStyle(
            name, fontName=font, fontSize=size, leading=leading, wordWrap="CJK", textColor=colors.black, **kw
        )

    return DocumentStyles(
        title=style("EcmoTitle", 15, 20, alignment=TA_CENTER, spaceAfter=4 * mm),
        heading1=style("EcmoHeading1", 12.5, 17, spaceBefore=3 * mm, spaceAfter=2 * mm, keepWithNext=1),
        heading2=style("EcmoHeading2", 11, 15, spaceBefore=2 * mm, spaceAfter=1.5 * mm, keepWithNext=1),
        body=style("EcmoBody", 10, 15, alignment=TA_LEFT, spaceAfter=1.5 * mm),
        small=style("EcmoSmall", 8, 11),
        table_cell=style("EcmoTableCell", 9, 12),
        table_header=style("EcmoTableHeader", 9, 12),
        signature=style("EcmoSignature", 9.5, 13),
    )


def text_paragraph(text: str, style: ParagraphStyle | None = None) -> Paragraph:
    """A Paragraph of arbitrary user text: escaped, cleaned, with font fallback.

    For free text of unbounded length (notes) use :func:`text_flowables`: reportlab re-wraps the
    rest of a Paragraph at every page break, so one 100 KB Paragraph took 44 s to lay out.
    """
    return Paragraph(markup_with_fallback(text), style or document_styles().body)


_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029\x85]")
_CHUNK = 2000  # characters per Paragraph: about one page, so splitting never re-wraps much
_BREAK_AFTER = frozenset(" \u3000，。；、！？：,.;!?:")


def _chunks(line: str, size: int) -> list[str]:
    """``line`` in pieces of at most ``size`` characters, cut after a space or punctuation if one is near."""
    pieces: list[str] = []
    while len(line) > size:
        cut = max(
            (i + 1 for i in range(size - 1, size * 9 // 10, -1) if line[i] in _BREAK_AFTER), default=size
        )
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def text_flowables(text: str, style: ParagraphStyle | None = None) -> list[Flowable]:
    """Free text of any length (notes) as flowables that lay out in linear time.

    One Paragraph per line, very long lines cut into page-sized pieces; inner pieces get no paragraph
    spacing, so the result looks like one Paragraph with line breaks. Blank lines inside are kept.
    """
    base = style or document_styles().body
    lines = _LINE_BREAK.split(text)
    while len(lines) > 1 and not lines[-1].strip():  # a note's trailing newlines add no blank space
        lines.pop()
    pieces = [piece for line in lines for piece in _chunks(line, _CHUNK)]
    inner = base.clone(f"{base.name}-inner", spaceBefore=0, spaceAfter=0)
    first = base.clone(f"{base.name}-first", spaceAfter=0)
    last = base.clone(f"{base.name}-last", spaceBefore=0)
    flowables: list[Flowable] = []
    for i, piece in enumerate(pieces):
        piece_style = (
            base if len(pieces) == 1 else first if i == 0 else last if i == len(pieces) - 1 else inner
        )
        if piece.strip():
            flowables.append(Paragraph(markup_with_fallback(piece), piece_style))
        else:
            flowables.append(
                Spacer(0, piece_style.leading + piece_style.spaceBefore + piece_style.spaceAfter)
            )
    return flowables


def standard_table_style(header_rows: int = 1) -> TableStyle:
    """Thin grid, shaded header rows, top-aligned cells; the font is the embedded CJK face."""
    commands: list[tuple[object, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), register_fonts().main),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header_rows > 0:
        commands.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.Color(0.88, 0.88, 0.88)))
    return TableStyle(commands)


def data_table(
    rows: Sequence[Sequence[str | Flowable | None]],
    col_widths: Sequence[float] | None = None,
    *,
    header_rows: int = 1,
) -> Table:
    """A table in the standard style; text cells become wrapping, escaped Paragraphs with fallback.

    Plain strings in a reportlab Table are drawn without fallback or wrapping, so they are never
    passed through. Header rows repeat on every page the table spans.
    """
    styles = document_styles()
    cells = [
        [
            cell
            if isinstance(cell, Flowable)
            else Paragraph(
                markup_with_fallback("" if cell is None else str(cell)),
                styles.table_header if r < header_rows else styles.table_cell,
            )
            for cell in row
        ]
        for r, row in enumerate(rows)
    ]
    return Table(
        cells,
        colWidths=list(col_widths) if col_widths else None,
        repeatRows=header_rows,
        style=standard_table_style(header_rows),
        hAlign="LEFT",
    )


def signature_block(name: str, time: datetime, meaning: str) -> Flowable:
    """A signature as SIG-1 requires: printed name, date and time, and meaning (书写/审阅/确认/审批)."""
    style = document_styles().signature
    cells = [
        [
            Paragraph(markup_with_fallback(f"{_('签名人')}：{name}"), style),
            Paragraph(markup_with_fallback(f"{_('签名时间')}：{beijing_time(time)}"), style),
            Paragraph(markup_with_fallback(f"{_('签名含义')}：{meaning}"), style),
        ]
    ]
    table = Table(
        cells,
        colWidths=[0.38 * _frame_width(), 0.34 * _frame_width(), 0.28 * _frame_width()],
        style=TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        ),
        hAlign="LEFT",
    )
    return KeepTogether([Spacer(0, 1.5 * mm), table])


def _frame_width() -> float:
    return PAGE_SIZE[0] - MARGIN_LEFT - MARGIN_RIGHT


class Bookmark(Flowable):
    """An invisible mark: a named destination here plus an outline (bookmark pane) entry.

    Kept with the next flowable so a heading is not separated from its bookmark at a page end.
    Outline levels cannot jump by more than one (reportlab refuses that), so deeper levels are
    clamped; under :func:`build_pdf` with ``bookmarks=True`` the entries nest below the document title.
    """

    def __init__(self, title: str, *, level: int = 0, key: str | None = None) -> None:
        super().__init__()
        self.title = title
        self.level = max(0, level)
        self.key = key
        self.width = self.height = 0
        self.keepWithNext = 1

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        canv = self.canv
        count = getattr(canv, "ecmo_bookmark_count", 0) + 1
        canv.ecmo_bookmark_count = count
        key = self.key or f"ecmo-bookmark-{count}"
        canv.bookmarkHorizontal(key, 0, 0)
        if not getattr(canv, "ecmo_outline", True):
            return
        offset = getattr(canv, "ecmo_outline_offset", 0)
        last = getattr(canv, "ecmo_last_level", -1)
        level = min(self.level + offset, last + 1)
        canv.addOutlineEntry(clean_text(self.title) or key, key, level=level, closed=False)
        canv.ecmo_last_level = level
        canv.showOutline()


class _DocumentCanvas(Canvas):
    """Canvas that fixes the creation date and fills in the total page count at the end."""

    def __init__(self, *args: object, pdf_date: str, outline: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.setDateFormatter(lambda *_parts: pdf_date)
        self.ecmo_outline = outline
        self.ecmo_outline_offset = 0
        self.ecmo_last_level = -1
        self.ecmo_page_count = 0

    def save(self) -> None:
        total = self.ecmo_page_count
        for page in range(1, total + 1):
            self.beginForm(_page_number_form(page), -60, -_FOOTER_SIZE, 60, 2 * _FOOTER_SIZE)
            draw_string(self, 0, 0, f"{page} / {total}", font_size=_FOOTER_SIZE, align="centre")
            self.endForm()
        super().save()


def _page_number_form(page: int) -> str:
    return f"ecmoPageNumber{page}"


def _pdf_date(moment: datetime) -> str:
    local = to_local(moment)
    return local.strftime("D:%Y%m%d%H%M%S+08'00'")


def _decorate_page(
    canv: _DocumentCanvas, doc: BaseDocTemplate, *, header: DocumentHeader, outline_title: str | None
) -> None:
    """Header and footer of one page (drawn before the page's flowables)."""
    page = canv.getPageNumber()
    canv.ecmo_page_count = max(canv.ecmo_page_count, page)
    if page == 1 and outline_title is not None:
        canv.bookmarkPage(_DOCUMENT_BOOKMARK)
        canv.addOutlineEntry(outline_title, _DOCUMENT_BOOKMARK, level=0, closed=False)
        canv.ecmo_outline_offset = 1
        canv.ecmo_last_level = 0

    width, height = PAGE_SIZE
    left, right = MARGIN_LEFT, width - MARGIN_RIGHT
    usable = right - left
    canv.saveState()
    canv.setStrokeColor(colors.black)
    canv.setFillColor(colors.black)

    y = height - 12 * mm
    if header.demo:
        mark = _("演示数据")
        draw_string(canv, left, y, mark, font_size=13, max_width=usable / 5)
        draw_string(canv, right, y, mark, font_size=13, align="right", max_width=usable / 5)
        draw_string(
            canv,
            width / 2,
            MARGIN_BOTTOM - 5 * mm + 1.5 * mm,
            _("演示数据，不是病历"),
            font_size=_FOOTER_SIZE,
            align="centre",
            max_width=usable,
        )
        usable_title = usable * 3 / 5
    else:
        usable_title = usable
    draw_string(
        canv, width / 2, y, header.hospital_name, font_size=13, align="centre", max_width=usable_title
    )
    y -= 6.5 * mm
    draw_string(canv, width / 2, y, header.title, font_size=11.5, align="centre", max_width=usable)
    y -= 6 * mm
    identity = "    ".join(
        f"{label}：{value}"
        for label, value in (
            (_("姓名"), header.patient_name),
            (_("住院号"), header.mrn),
            (_("性别"), header.sex),
            (_("年龄"), header.age),
            (_("病区"), header.ward),
            (_("床号"), header.bed),
        )
    )
    draw_string(canv, left, y, identity, font_size=9, max_width=usable)
    y -= 2.5 * mm
    canv.setLineWidth(0.6)
    canv.line(left, y, right, y)

    half = usable / 2 - 2 * mm
    rule_y = MARGIN_BOTTOM - 5 * mm
    canv.setLineWidth(0.4)
    canv.line(left, rule_y, right, rule_y)
    line1 = rule_y - 4 * mm
    printed = _("打印时间：{time}（北京时间）  打印人：{who}").format(
        time=beijing_time(header.printed_at), who=header.printed_by
    )
    draw_string(canv, left, line1, printed, font_size=_FOOTER_SIZE, max_width=half)
    ident = _("文档编号：{id}  内容校验：{hash}").format(id=header.document_id, hash=header.short_hash)
    draw_string(canv, right, line1, ident, font_size=_FOOTER_SIZE, align="right", max_width=half)
    line2 = line1 - 3.6 * mm
    if header.audit_anchor:
        draw_string(
            canv,
            left,
            line2,
            _("审计链锚点：{anchor}").format(anchor=header.audit_anchor),
            font_size=_FOOTER_SIZE,
            max_width=usable,
        )
    canv.translate(width / 2, line2 - 3.6 * mm)
    canv.doForm(_page_number_form(page))  # "X / Y", drawn when Y is known (see _DocumentCanvas.save)
    canv.restoreState()


def build_pdf(
    header: DocumentHeader,
    story: Sequence[Flowable],
    *,
    bookmarks: bool = True,
    title: str | None = None,
    subject: str | None = None,
    keywords: Sequence[str] = (),
) -> bytes:
    """Lay ``story`` out on the standard page and return the PDF bytes.

    ``bookmarks``: give the PDF an outline with the document title at the top and the story's
    :class:`Bookmark` entries beneath it (an archive built from several documents keeps one branch per
    document); when False, Bookmarks only set named destinations. ``title``/``subject``/``keywords``
    go into the PDF metadata (the title defaults to the header's); the document id and full content
    hash are always among the keywords so a file can be matched to its record without reading pages.
    """
    fonts = register_fonts()
    doc_title = clean_text(header.title if title is None else title)
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=PAGE_SIZE,
        leftMargin=MARGIN_LEFT,
        rightMargin=MARGIN_RIGHT,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=doc_title,
        author=clean_text(header.hospital_name),
        subject=clean_text(subject or ""),
        creator="ECMO Ward",
        keywords=[clean_text(k) for k in (header.document_id, f"sha256:{header.content_hash}", *keywords)],
        invariant=1,
        initialFontName=fonts.main,
        lang="zh-CN",
    )
    frame = Frame(
        doc.leftMargin,
        doc.bottomMargin,
        doc.width,
        doc.height,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    on_page = partial(_decorate_page, header=header, outline_title=doc_title if bookmarks else None)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    flowables = list(story) or [Spacer(0, 0)]  # reportlab consumes the list; an empty story still gets a page
    doc.build(
        flowables,
        canvasmaker=partial(_DocumentCanvas, pdf_date=_pdf_date(header.printed_at), outline=bookmarks),
    )
    return buf.getvalue()
