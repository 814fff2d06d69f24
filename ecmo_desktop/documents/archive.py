"""The whole-case archive (病历归档) and the registry of every document kind.

How the archive is built — one layout pass over the parts' own stories, not a merge of PDFs:
the cover page, a table of contents, then each part (decision records, consent form, every
operation note, the daily sheets, complications, weaning note, follow-up record) starting on a new
page, exactly the story its standalone document lays out. So a part has the same pages in the
archive as alone (the tests check it), and the archive is one document with one id, one content
hash and one audit anchor in every footer. Page "X / Y" counts the **whole archive**, because a
paper archive is filed, cited and checked as one bundle; each part's first page is in the table of
contents and the bookmark pane. Merging separately built PDFs with pypdf was rejected: the pages
would carry the parts' ids and page counts instead of the archive's, and copying outlines and
re-stamping footers costs more than laying the parts out again.

The table of contents needs the parts' page numbers before they are known. Each number is a PDF
form XObject: the contents page draws "the form of part 3", and the form itself is written when
part 3's first page is laid out (``_PartStart``) — the trick the shared page uses for "X / Y". One
pass, no second build.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pypdf
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from ecmo_desktop.documents.consent import LoadedTemplate, consent_plan
from ecmo_desktop.documents.content import plain
from ecmo_desktop.documents.fonts import draw_string, markup_with_fallback
from ecmo_desktop.documents.layout import build_pdf, document_styles
from ecmo_desktop.documents.opnote import opnote_plan
from ecmo_desktop.documents.parts import (
    DASH,
    FRAME_WIDTH,
    DocumentPlan,
    PrintContext,
    age_text,
    cell_font,
    day_text,
    kv_table,
    label,
    make_header,
    mode_label,
    number,
    sex_label,
    when,
)
from ecmo_desktop.documents.records import (
    complications_plan,
    daily_plan,
    decision_plan,
    follow_up_plan,
    subject_day,
    weaning_plan,
)
from ecmo_desktop.domain.case import CaseDossier
from ecmo_desktop.domain.enums import DischargeDisposition, EndReason, Indication, RunStatus
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.time import local_date
from ecmo_desktop.i18n import N_, _, join_names, ngettext

ARCHIVE = "archive"
# kinds a person can print for a run, with their label (the CLI and the documents tab offer these)
KINDS: dict[str, str] = {
    "consent": N_("知情同意书"),
    "opnote": N_("手术记录"),
    "decision": N_("上机/撤机讨论记录"),
    "daily": N_("日常管理记录"),
    "weaning": N_("撤机记录"),
    "followup": N_("随访记录"),
    ARCHIVE: N_("病历归档"),
}
_TOC_FONT = 9


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    page_count: int
    parts: tuple[dict[str, object], ...] = ()  # archive only: kind, subject_id, title, first page


def plan_document(
    kind: str,
    dossier: CaseDossier,
    subject_id: int | None,
    *,
    as_of: datetime,
    template: LoadedTemplate | None = None,
) -> DocumentPlan:
    """The plan of one document kind for ``dossier``; ``subject_id`` picks the record (or day) when
    the kind has several, and ``as_of`` is the time rule statuses (R2's 12 hours) are judged at."""
    if kind == "consent":
        if template is None:
            raise ValueError("the consent form needs its template")
        return consent_plan(dossier, template, subject_id)
    if kind == "opnote":
        return opnote_plan(dossier, subject_id)
    if kind == "decision":
        return decision_plan(dossier, subject_id, as_of=as_of)
    if kind == "daily":
        return daily_plan(dossier, subject_day(subject_id) if subject_id else None)
    if kind == "weaning":
        return weaning_plan(dossier, as_of=as_of)
    if kind == "followup":
        return follow_up_plan(dossier, subject_id)
    if kind == ARCHIVE:
        if template is None:
            raise ValueError("the archive contains the consent form and needs its template")
        return archive_plan(dossier, template, as_of=as_of)
    raise EcmoError(N_("未知的文档类型：{kind}"), kind=kind)


def archive_parts(dossier: CaseDossier, template: LoadedTemplate, *, as_of: datetime) -> list[DocumentPlan]:
    """The parts of the archive, in filing order; parts a run does not have are left out."""
    parts: list[DocumentPlan] = []
    if dossier.decisions:
        parts.append(decision_plan(dossier, None, as_of=as_of))
    parts.extend(consent_plan(dossier, template, c.id) for c in dossier.consents)
    if not dossier.consents:
        parts.append(consent_plan(dossier, template, None))  # the blank form shows consent was not recorded
    parts.extend(opnote_plan(dossier, p.id) for p in dossier.procedures)
    if dossier.daily_entries:
        parts.append(daily_plan(dossier, None))
    parts.append(complications_plan(dossier))
    with contextlib.suppress(EcmoError):  # no weaning yet: nothing to file
        parts.append(weaning_plan(dossier, as_of=as_of))
    if dossier.follow_ups:
        parts.append(follow_up_plan(dossier, None))
    return parts


def archive_plan(dossier: CaseDossier, template: LoadedTemplate, *, as_of: datetime) -> ArchivePlan:
    parts = tuple(archive_parts(dossier, template, as_of=as_of))
    title = _("ECMO病历归档")
    content = {
        "dossier": plain(dossier),
        "parts": [
            {"kind": p.kind, "subject_id": p.subject_id, "content_hash": p.content_hash} for p in parts
        ],
    }
    warnings = tuple(dict.fromkeys(w for p in parts for w in p.warnings))
    device_ids = [u for p in parts if p.kind == "opnote" for u in p.meta.get("device_usage_ids", ())]
    pages: dict[int, int] = {}

    def story(level: int) -> list[Flowable]:
        pages.clear()
        return _archive_story(dossier, parts, pages)

    return ArchivePlan(
        ARCHIVE,
        None,
        title,
        content,
        story,
        meta={"device_usage_ids": device_ids},
        warnings=warnings,
        parts=parts,
        pages=pages,
    )


@dataclass(frozen=True)
class ArchivePlan(DocumentPlan):
    """An archive: its parts, and (after a layout) the page each part starts on."""

    parts: tuple[DocumentPlan, ...] = ()
    pages: dict[int, int] = field(default_factory=dict)  # part index -> first page, filled while laying out


def render(plan: DocumentPlan, dossier: CaseDossier | None, ctx: PrintContext) -> RenderedDocument:
    """Lay the plan out on the standard page (the archive's story brings its cover and contents)."""
    header = make_header(dossier, plan.title, ctx, plan.content_hash)
    pdf = build_pdf(header, plan.story(0), bookmarks=True, subject=plan.title, keywords=[plan.kind])
    parts: tuple[dict[str, object], ...] = ()
    if isinstance(plan, ArchivePlan):
        parts = tuple(
            {"kind": p.kind, "subject_id": p.subject_id, "title": p.title, "page": plan.pages.get(i)}
            for i, p in enumerate(plan.parts)
        )
    return RenderedDocument(pdf, count_pages(pdf), parts)


def count_pages(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


# ---- the archive's own pages ---------------------------------------------------------------------------
def _archive_story(
    dossier: CaseDossier, parts: tuple[DocumentPlan, ...], pages: dict[int, int]
) -> list[Flowable]:
    out = _cover(dossier)
    out.append(PageBreak())
    out += _contents(parts)
    for i, part in enumerate(parts):
        out.append(PageBreak())
        out.append(_PartStart(i, pages.__setitem__))
        out += part.story(1)
    return out


def _cover(d: CaseDossier) -> list[Flowable]:
    styles = document_styles()
    p, r = d.patient, d.run
    indication = label(Indication, r.indication) + (f"（{r.indication_other}）" if r.indication_other else "")
    hours = (
        number((r.ended_at - r.started_at).total_seconds() / 3600, 1) if r.started_at and r.ended_at else DASH
    )
    flags = join_names(t for on, t in ((r.ecpr, "ECPR"), (r.emergency, _("紧急上机"))) if on) or _("无")
    big = styles.title.clone(
        "EcmoCoverTitle", fontSize=22, leading=30, spaceBefore=18 * mm, spaceAfter=4 * mm
    )
    sub = styles.title.clone("EcmoCoverSub", fontSize=13, leading=18, spaceAfter=12 * mm)
    return [
        Paragraph(markup_with_fallback(_("ECMO病历归档")), big),
        Paragraph(markup_with_fallback(d.hospital.name), sub),
        kv_table(
            [
                (_("姓名"), p.name),
                (_("性别"), sex_label(p.sex)),
                (_("年龄"), age_text(p, local_date(r.started_at or r.created_at))),
                (_("住院号"), p.mrn),
                (_("出生日期"), day_text(p.birth_date)),
                (_("病区/床号"), " ".join(x for x in (r.ward or p.ward, r.bed or p.bed) if x) or DASH),
            ]
        ),
        Spacer(0, 6 * mm),
        kv_table(
            [
                (_("第几次 ECMO"), str(r.run_number)),
                (_("ECMO 模式"), mode_label(r.mode)),
                (_("适应证"), indication),
                (_("特殊情况"), flags),
                (_("临床诊断"), r.diagnosis or DASH),
                (_("经治医师"), r.attending_name or DASH),
                (_("上机时间"), when(r.started_at)),
                (_("撤机时间"), when(r.ended_at)),
                (_("ECMO 持续时间（小时）"), hours),
                (_("撤机结局"), label(EndReason, r.end_reason)),
                (_("病例状态"), label(RunStatus, r.status)),
                (_("出院时间"), when(p.discharged_at)),
                (_("出院去向"), label(DischargeDisposition, p.discharge_disposition)),
                (_("绑定器械"), ngettext("{n} 件", "{n} 件", len(d.devices)).format(n=len(d.devices))),
            ]
        ),
    ]


def _contents(parts: tuple[DocumentPlan, ...]) -> list[Flowable]:
    styles = document_styles()
    rows = [
        [
            Paragraph(markup_with_fallback(_("序号")), styles.table_header),
            Paragraph(markup_with_fallback(_("内容")), styles.table_header),
            Paragraph(
                markup_with_fallback(_("页码")),
                styles.table_header.clone("EcmoTocPageHead", alignment=TA_RIGHT),
            ),
        ]
    ]
    for i, part in enumerate(parts):
        rows.append(
            [
                Paragraph(str(i + 1), styles.table_cell),
                _Link(Paragraph(markup_with_fallback(_part_title(part)), styles.table_cell), i),
                _TocPageNumber(i),
            ]
        )
    table = Table(
        rows,
        colWidths=[14 * mm, FRAME_WIDTH - 34 * mm, 20 * mm],
        repeatRows=1,
        hAlign="LEFT",
        style=TableStyle(
            [
                cell_font(),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.Color(0.6, 0.6, 0.6)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        ),
    )
    return [Paragraph(markup_with_fallback(_("目录")), styles.title), table]


def _part_title(part: DocumentPlan) -> str:
    """The contents line: the part's title, with what tells two parts of one kind apart."""
    when_text = part.meta.get("when")
    if when_text:
        return f"{part.title}（{when_text}）"
    days = part.meta.get("days") or []
    if part.kind == "daily" and days:
        return _("{title}（{first} 至 {last}，共 {n} 天）").format(
            title=part.title, first=days[0], last=days[-1], n=len(days)
        )
    return part.title


def _toc_form(index: int) -> str:
    return f"ecmoTocPage{index}"


def _part_key(index: int) -> str:
    return f"ecmo-part-{index}"


class _PartStart(Flowable):
    """Zero-size mark at a part's first page: names the destination the contents link to and writes
    the form holding that page's number (the contents page already refers to it)."""

    def __init__(self, index: int, record: Callable[[int, int], None]) -> None:
        super().__init__()
        self.index = index
        self.record = record
        self.width = self.height = 0
        self.keepWithNext = 1

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        canv = self.canv
        page = canv.getPageNumber()
        self.record(self.index, page)
        canv.bookmarkHorizontal(_part_key(self.index), 0, 0)
        canv.beginForm(_toc_form(self.index), -40 * mm, -2, 0, _TOC_FONT + 2)
        draw_string(canv, 0, 0, str(page), font_size=_TOC_FONT, align="right")
        canv.endForm()


class _TocPageNumber(Flowable):
    """A part's page number on the contents page, right-aligned: a form filled in when known."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, _TOC_FONT + 2

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.translate(self.width, 1)
        canv.doForm(_toc_form(self.index))
        canv.restoreState()
        canv.linkRect("", _part_key(self.index), (0, 0, self.width, _TOC_FONT + 2), relative=1, thickness=0)


class _Link(Flowable):
    """A contents line that jumps to its part when clicked in a PDF viewer."""

    def __init__(self, inner: Flowable, index: int) -> None:
        super().__init__()
        self.inner = inner
        self.index = index

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width, self.height = self.inner.wrap(availWidth, availHeight)
        return self.width, self.height

    def draw(self) -> None:
        self.inner.drawOn(self.canv, 0, 0)
        self.canv.linkRect(
            "", _part_key(self.index), (0, 0, self.width, self.height), relative=1, thickness=0
        )
