"""Pieces every clinical document shares: the plan a builder returns, labels, headings, key–value
tables, signature lines (SIG-1) and blank lines for handwriting.

A builder (consent, operation note, decision record …) returns a ``DocumentPlan``: the header title,
the canonical content the footer's hash covers, and a function that makes the story. The story is
made fresh on every call because reportlab consumes flowables while laying them out, and a
standalone document and the whole-case archive lay out the same story at different outline levels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, cached_property
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from ecmo_desktop.documents.content import content_hash
from ecmo_desktop.documents.fonts import markup_with_fallback, register_fonts
from ecmo_desktop.documents.layout import (
    MARGIN_LEFT,
    MARGIN_RIGHT,
    PAGE_SIZE,
    Bookmark,
    DocumentHeader,
    document_styles,
    signature_block,
    standard_table_style,
)
from ecmo_desktop.domain.case import CaseDossier, PatientInfo, RecordInfo, SignatureInfo
from ecmo_desktop.domain.enums import Labelled, Mode, SignatureMeaning, Title
from ecmo_desktop.domain.fields import CHOICES, DERIVED, FIELDS
from ecmo_desktop.domain.time import local_date, to_local
from ecmo_desktop.i18n import _

FRAME_WIDTH = PAGE_SIZE[0] - MARGIN_LEFT - MARGIN_RIGHT
TABLE_SPACE = 2.5 * mm
CELL_PADDING = 6  # points: standard_table_style's left + right padding
HEADING_ROOM = 35 * mm  # a heading starts a new page when less than this is left below it
NUMERALS = "一二三四五六七八九十"
DASH = "—"

StoryMaker = Callable[[int], list[Flowable]]


@dataclass(frozen=True)
class DocumentPlan:
    """What one document will print; ``story(level)`` makes its flowables with outline entries at
    ``level`` (0 standalone, 1 inside the archive)."""

    kind: str
    subject_id: int | None
    title: str
    content: dict[str, Any]
    story: StoryMaker
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # translated notices for the person printing (e.g. template fell back)

    @cached_property
    def content_hash(self) -> str:
        """Computed once per plan: the footer, the stored row, its meta and the audit row all print it."""
        return content_hash({"kind": self.kind, "subject_id": self.subject_id, "content": self.content})


@dataclass(frozen=True)
class PrintContext:
    """Who prints, when, and the stored document's identity, for the page header and footer."""

    printed_at: datetime
    printed_by: str
    document_number: str
    audit_anchor: str | None = None
    hospital_name: str = ""  # for documents about no single run (trace lists); a run's dossier names its own
    demo: bool = False  # the database is demo data: every page is marked 演示数据


def make_header(
    dossier: CaseDossier | None, title: str, ctx: PrintContext, content_digest: str
) -> DocumentHeader:
    """The running header and footer of a document about ``dossier``'s patient (or none: lists)."""
    if dossier is None:
        return DocumentHeader(
            hospital_name=ctx.hospital_name,
            title=title,
            patient_name=_("多名患者，见表"),
            mrn=DASH,
            sex=DASH,
            age=DASH,
            ward=DASH,
            bed=DASH,
            printed_at=ctx.printed_at,
            printed_by=ctx.printed_by,
            document_id=ctx.document_number,
            content_hash=content_digest,
            audit_anchor=ctx.audit_anchor,
            demo=ctx.demo,
        )
    p, r = dossier.patient, dossier.run
    return DocumentHeader(
        hospital_name=dossier.hospital.name,
        title=title,
        patient_name=p.name,
        mrn=p.mrn,
        sex=sex_label(p.sex),
        age=age_text(p, local_date(r.started_at or ctx.printed_at)),
        ward=r.ward or p.ward or DASH,
        bed=r.bed or p.bed or DASH,
        printed_at=ctx.printed_at,
        printed_by=ctx.printed_by,
        document_id=ctx.document_number,
        content_hash=content_digest,
        audit_anchor=ctx.audit_anchor,
        demo=ctx.demo,
    )


# ---- values as printed ------------------------------------------------------------------------------
def label(enum: type[Labelled], value: str | None) -> str:
    """The translated label of a coded value; unknown codes print as stored (never lost)."""
    if value is None or value == "":
        return DASH
    return enum(value).label if value in enum._value2member_map_ else str(value)


def sex_label(code: str) -> str:
    from ecmo_desktop.domain.enums import Sex

    return label(Sex, code)


def mode_label(mode: str | None) -> str:
    if not mode:
        return DASH
    text = label(Mode, mode)
    return f"{text}-ECMO" if mode in Mode._value2member_map_ and mode not in ("other", "ECCO2R") else text


def title_label(title: str | None) -> str:
    return label(Title, title) if title else ""


def when(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as the ward reads it: Beijing time."""
    return to_local(moment).strftime(fmt) if moment is not None else DASH


def day_text(day: date | None) -> str:
    return day.isoformat() if day is not None else DASH


def age_text(patient: PatientInfo, on: date) -> str:
    """The age as a ward writes it: years, or months / days for infants."""
    if patient.birth_date is None:
        return _("{n}岁").format(n=patient.age_years) if patient.age_years is not None else DASH
    b = patient.birth_date
    years = on.year - b.year - ((on.month, on.day) < (b.month, b.day))
    if years >= 1:
        return _("{n}岁").format(n=years)
    months = (on.year - b.year) * 12 + on.month - b.month - (on.day < b.day)
    if months >= 1:
        return _("{n}月").format(n=months)
    return _("{n}天").format(n=max(0, (on - b).days))


def number(value: Any, decimals: int = 1) -> str:
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, (int, float)):
        text = f"{float(value):.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def field_value(key: str, value: Any) -> str:
    """A catalogue value as printed: numbers with the field's decimals, coded values by label."""
    if key in CHOICES:
        return CHOICES[key].label_of(str(value)) if value not in (None, "") else DASH
    if key in FIELDS:
        return number(value, FIELDS[key].decimals)
    if key in DERIVED:
        return number(value, 1)
    return number(value)


def field_label(key: str, *, with_unit: bool = True) -> str:
    if key in FIELDS:
        spec = FIELDS[key]
        unit = _(spec.unit) if spec.unit else ""
        return f"{_(spec.label)}（{unit}）" if with_unit and unit else _(spec.label)
    if key in CHOICES:
        return _(CHOICES[key].label)
    if key in DERIVED:
        rng = DERIVED[key]
        return f"{_(rng.field)}（{rng.unit}）" if with_unit and rng.unit else _(rng.field)
    return key


def is_abnormal(key: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    spec = FIELDS.get(key)
    rng = spec.range if spec is not None else DERIVED.get(key)
    return rng is not None and rng.is_abnormal(float(value))


# ---- flowables ----------------------------------------------------------------------------------------
def title_block(title: str, level: int, *, key: str | None = None) -> list[Flowable]:
    """The document's title in the body, with its outline entry when inside the archive."""
    out: list[Flowable] = []
    if level > 0:
        out.append(Bookmark(title, level=level - 1, key=key))
    out.append(Paragraph(markup_with_fallback(title), document_styles().title))
    return out


def heading(text: str, level: int, *, sub: bool = False) -> list[Flowable]:
    """A section heading with its outline entry (the bookmark pane lists every section).

    Not kept with what follows (reportlab moves a heading kept with a table taller than the rest of
    the page to the next page, leaving the page half empty); a conditional page break keeps it from
    being stranded at the foot of a page instead.
    """
    return [
        CondPageBreak(HEADING_ROOM),
        Bookmark(text, level=level + (1 if sub else 0)),
        Paragraph(markup_with_fallback(text), _heading_styles()[1 if sub else 0]),
    ]


@cache
def _heading_styles() -> tuple[ParagraphStyle, ParagraphStyle]:
    styles = document_styles()
    return (
        styles.heading1.clone("EcmoSection", keepWithNext=0),
        styles.heading2.clone("EcmoSubsection", keepWithNext=0),
    )


def numbered(index: int, text: str) -> str:
    return f"{NUMERALS[index] if index < len(NUMERALS) else index + 1}、{text}"


def paragraph(text: str, *, small: bool = False, align: str = "left") -> Paragraph:
    styles = document_styles()
    style = styles.small if small else styles.body
    if align == "right":
        style = _right(style)
    return Paragraph(markup_with_fallback(text), style)


@cache
def _right(style: ParagraphStyle) -> ParagraphStyle:
    return style.clone(f"{style.name}-right", alignment=TA_RIGHT)


def kv_table(pairs: Sequence[tuple[str, str]], *, columns: int = 2, label_width: float = 26 * mm) -> Table:
    """Label–value pairs in ``columns`` column pairs: the header block of a record."""
    rows: list[list[str | Flowable | None]] = []
    for start in range(0, len(pairs), columns):
        chunk = list(pairs[start : start + columns])
        chunk += [("", "")] * (columns - len(chunk))
        rows.append([part for pair in chunk for part in pair])
    value_width = FRAME_WIDTH / columns - label_width
    table = spaced(table_of(rows, [label_width, value_width] * columns, header_rows=0))
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (c, 0), (c, -1), colors.Color(0.94, 0.94, 0.94))
                for c in range(0, 2 * columns, 2)
            ]
        )
    )
    return table


def grid(
    header: Sequence[str], rows: Sequence[Sequence[str | Flowable | None]], widths: Sequence[float]
) -> Table:
    """A data table whose widths are given as fractions of the frame (they must add up to 1)."""
    return spaced(table_of([list(header), *[list(r) for r in rows]], [w * FRAME_WIDTH for w in widths]))


def table_of(
    rows: Sequence[Sequence[str | Flowable | None]], widths: Sequence[float], *, header_rows: int = 1
) -> Table:
    """``layout.data_table``'s look, faster: a cell that ``plain_fits`` is drawn as a plain string.

    Most cells of a record are short values and labels in the main face; a Paragraph for each (markup
    parsing, CJK line breaking) was most of the time of a long archive. Everything else — long text
    that wraps, user text with characters only a fallback face has, anything multi-line — still
    becomes an escaped Paragraph with font fallback, so no text is lost or misdrawn.
    """
    styles = document_styles()
    cells: list[list[str | Flowable]] = []
    for r, row in enumerate(rows):
        style = styles.table_header if r < header_rows else styles.table_cell
        out: list[str | Flowable] = []
        for c, cell in enumerate(row):
            if isinstance(cell, Flowable):
                out.append(cell)
                continue
            text = "" if cell is None else str(cell)
            out.append(
                text
                if plain_fits(text, widths[c] - CELL_PADDING, style.fontSize)
                else Paragraph(markup_with_fallback(text), style)
            )
        cells.append(out)
    table = Table(
        cells,
        colWidths=list(widths),
        repeatRows=header_rows,
        style=standard_table_style(header_rows),
        hAlign="LEFT",
    )
    table.setStyle(TableStyle([("LEADING", (0, 0), (-1, -1), styles.table_cell.leading)]))
    return table


def plain_fits(text: str, width: float, font_size: float) -> bool:
    """Whether reportlab can draw ``text`` as a plain table string: one line that fits ``width``, and
    every character printable and in the main face (plain strings get no font fallback)."""
    if "\n" in text or len(text) > 80:
        return False
    fonts = register_fonts()
    main = fonts.main
    return (
        all(ch.isprintable() and fonts.font_for(ch) == main for ch in text)
        and pdfmetrics.stringWidth(text, main, font_size) <= width
    )


def spaced(table: Table) -> Table:
    """A little air below a table, so the paragraph that follows does not touch its bottom rule."""
    table.spaceAfter = TABLE_SPACE
    return table


def cell_font() -> tuple[Any, ...]:
    """A Table's own font: reportlab selects Helvetica for every cell unless told otherwise, which
    puts a non-embedded font into the PDF even when no text is drawn with it (PDF-1: all embedded)."""
    return ("FONTNAME", (0, 0), (-1, -1), register_fonts().main)


def embed_table_fonts(flowable: Flowable) -> Flowable:
    """``flowable`` (or the Tables inside a KeepTogether, e.g. layout.signature_block) with ``cell_font``."""
    if isinstance(flowable, Table):
        flowable.setStyle(TableStyle([cell_font()]))
    for inner in getattr(flowable, "_content", ()):
        embed_table_fonts(inner)
    return flowable


def stack(flowables: Sequence[Flowable], *, align: str = "LEFT") -> Table:
    """Several flowables in one table cell (reportlab cells take one flowable; a list is printed as text)."""
    table = Table(
        [[f] for f in flowables],
        hAlign=align,
        style=TableStyle(
            [
                cell_font(),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("ALIGN", (0, 0), (-1, -1), align),
            ]
        ),
    )
    return table


def meaning_label(code: str) -> str:
    return label(SignatureMeaning, code)


def signature_state(sig: SignatureInfo) -> str:
    return _("有效") if sig.state == "valid" else _("已失效")


def signatures(record: RecordInfo, *, compact: bool = False) -> list[Flowable]:
    """SIG-1: each signature's printed name, date and time, and meaning; a draft says it is unsigned.

    Superseded signatures (the record was amended afterwards) are printed too, marked as such:
    earlier signatures stay visible, they are never silently dropped.
    """
    if not record.signatures:
        return [
            paragraph(
                _("【未签名】本记录为草稿，尚未电子签名（记录人：{name}，{time}）").format(
                    name=record.created_by_name or DASH, time=when(record.created_at)
                ),
                small=compact,
            )
        ]
    if compact:
        rows = [
            [
                f"{s.signer_name} {title_label(s.signer_title)}".strip(),
                when(s.signed_at),
                meaning_label(s.meaning),
                signature_state(s),
            ]
            for s in record.signatures
        ]
        return [grid([_("签名人"), _("签名时间"), _("签名含义"), _("状态")], rows, [0.34, 0.26, 0.16, 0.24])]
    out: list[Flowable] = []
    for s in record.signatures:
        meaning = meaning_label(s.meaning)
        if s.state != "valid":
            meaning = f"{meaning}（{signature_state(s)}）"
        name = f"{s.signer_name} {title_label(s.signer_title)}".strip()
        out.append(embed_table_fonts(signature_block(name, s.signed_at, meaning)))
        if s.state != "valid":
            out.append(
                paragraph(
                    _("该签名针对本记录第 {n} 版，记录其后已更正，签名随之失效（原签名保留可查）。").format(
                        n=s.record_version
                    ),
                    small=True,
                )
            )
    return out


def handwriting_lines(rows: Sequence[Sequence[str]], widths: Sequence[float]) -> Flowable:
    """A form block for handwriting: label cells followed by blank, underlined cells.

    ``rows`` hold alternating label / prefilled-value cells; an empty value cell is left blank with
    a line under it, tall enough for a pen signature.
    """
    styles = document_styles()
    cells = [[Paragraph(markup_with_fallback(text), styles.signature) for text in row] for row in rows]
    commands: list[tuple[Any, ...]] = [
        cell_font(),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("TOPPADDING", (0, 0), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    for r, row in enumerate(rows):
        for c in range(1, len(row), 2):
            commands.append(("LINEBELOW", (c, r), (c, r), 0.6, colors.black))
    table = Table(
        cells,
        colWidths=[w * FRAME_WIDTH for w in widths],
        rowHeights=[11 * mm] * len(rows),
        style=TableStyle(commands),
        hAlign="LEFT",
    )
    return KeepTogether([Spacer(0, 2 * mm), table])


def values_table(values: dict[str, Any], keys: Iterable[str], *, columns: int = 2) -> Table | None:
    """Catalogue values (numbers and coded choices) that are present, as label–value pairs."""
    pairs = [
        (field_label(key), field_value(key, values[key]) + arrow(key, values[key]))
        for key in keys
        if key in values and values[key] not in (None, "")
    ]
    if not pairs:
        return None
    return kv_table(pairs, columns=columns, label_width=44 * mm if columns == 2 else 50 * mm)


def arrow(key: str, value: Any) -> str:
    """ " ↑" / " ↓" after a value outside its normal range, as the screen highlights it."""
    if not is_abnormal(key, value):
        return ""
    spec = FIELDS.get(key)
    rng = spec.range if spec is not None else DERIVED[key]
    return " ↑" if rng.normal_high is not None and float(value) > rng.normal_high else " ↓"
