"""The QC report as a PDF (R9, R10, R15): the same tables as the QC page and the .xlsx, with definitions.

A QC report is about a hospital (or a region), not a patient, so it has its own page frame: the
hospital and title at the top, the period and page "X / Y" at the bottom, and no identity line. The
tables are the ones the workbook and the screen show (``exchange.export.report_tables``, put into a
:class:`QcPrintout` by the exchange service, so this package does not depend on ``exchange``), so
the PDF, the workbook and the screen can never disagree; every indicator is printed with its
definition, and the weaning window (24 or 48 h) is printed on the first page as DOMAIN.md requires.

Output is deterministic (reportlab's invariant mode, creation date from ``printed_at``), so the
same report printed twice is byte-identical.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph, Spacer

from ecmo_desktop.documents.fonts import clean_text, draw_string, markup_with_fallback, register_fonts
from ecmo_desktop.documents.layout import beijing_time, data_table, document_styles
from ecmo_desktop.fileio import atomic_write_bytes
from ecmo_desktop.i18n import N_, _

__all__ = ["QcPrintout", "build_qc_report_pdf", "write_qc_report_pdf"]

_MARGIN = 16 * mm
_SECTIONS: tuple[tuple[str, str], ...] = (
    ("by_year", N_("年度例数")),
    ("by_hospital_year", N_("各医院年度例数")),
    ("by_mode", N_("按模式（VA/VV/其他）")),
    ("mode_indications", N_("各模式的适应证")),
    ("equipment", N_("ECMO 主机数")),
    ("equipment_purchases", N_("年度购置主机")),
    ("complications", N_("并发症")),
    ("indicators", N_("质控指标")),
    ("r15", N_("R15：年度例数与成功撤机率")),
)


@dataclass(frozen=True)
class QcPrintout:
    """What the QC report PDF prints: the period and scope, the tables and the definitions (msgids)."""

    date_from: date
    date_to: date
    hospital: str | None  # the one hospital reported on, or None for all
    hospitals: int  # how many hospitals the figures cover
    as_of: date
    weaning_window_hours: int
    by_year: Mapping[str, int]
    tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]
    definitions: Sequence[tuple[str, str]]  # (label, text)


class _Canvas(Canvas):
    """Fixes the creation date and writes "X / Y" once the page count is known."""

    def __init__(self, *args: Any, pdf_date: str, footer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setDateFormatter(lambda *_a: pdf_date)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            width = A4[0]
            self.setLineWidth(0.4)
            self.line(_MARGIN, 14 * mm, width - _MARGIN, 14 * mm)
            draw_string(
                self, _MARGIN, 10 * mm, self._footer, font_size=7.5, max_width=width - 2 * _MARGIN - 30 * mm
            )
            draw_string(self, width - _MARGIN, 10 * mm, f"{number} / {total}", font_size=7.5, align="right")
            super().showPage()
        super().save()


def _header(canvas: Canvas, doc: BaseDocTemplate, *, hospital: str, title: str, demo: bool = False) -> None:
    width, height = A4
    canvas.saveState()
    if demo:  # figures of a demo database must never pass for a ward's QC report
        for x, align in ((_MARGIN, "left"), (width - _MARGIN, "right")):
            draw_string(
                canvas,
                x,
                height - 12 * mm,
                _("演示数据"),
                font_size=12.5,
                align=align,  # type: ignore[arg-type]
                max_width=(width - 2 * _MARGIN) / 5,
            )
    draw_string(
        canvas,
        width / 2,
        height - 12 * mm,
        hospital,
        font_size=12.5,
        align="centre",
        max_width=width - 2 * _MARGIN,
    )
    draw_string(
        canvas,
        width / 2,
        height - 18.5 * mm,
        title,
        font_size=11,
        align="centre",
        max_width=width - 2 * _MARGIN,
    )
    canvas.setLineWidth(0.6)
    canvas.line(_MARGIN, height - 21 * mm, width - _MARGIN, height - 21 * mm)
    canvas.restoreState()


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], width: float) -> Flowable:
    if not rows:
        return Paragraph(markup_with_fallback(_("（无数据）")), document_styles().small)
    cols = len(header)
    return data_table([list(header), *[[_cell(v) for v in row] for row in rows]], [width / cols] * cols)


def _year_chart(report: QcPrintout, width: float) -> Flowable | None:
    """Runs per year as bars: the one chart a paper report needs (volume against R15's 20 a year)."""
    if not report.by_year:
        return None
    drawing = Drawing(width, 55 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 8 * mm, width - 20 * mm, 42 * mm
    chart.data = [list(report.by_year.values())]
    chart.categoryAxis.categoryNames = list(report.by_year)
    chart.categoryAxis.labels.fontName = register_fonts().main
    chart.valueAxis.labels.fontName = register_fonts().main
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.Color(0.08, 0.40, 0.75)
    drawing.add(chart)
    return drawing


def build_qc_report_pdf(
    report: QcPrintout, *, printed_at: datetime, printed_by: str, hospital_name: str, demo: bool = False
) -> bytes:
    """The QC report as PDF bytes (A4, embedded CJK fonts, definitions included)."""
    fonts = register_fonts()
    styles = document_styles()
    title = _("ECMO 质量控制报告")
    period = f"{report.date_from.isoformat()} – {report.date_to.isoformat()}"
    scope = report.hospital or (hospital_name if report.hospitals <= 1 else _("全部医院"))
    footer = _("统计期：{period}  打印时间：{time}（北京时间）  打印人：{who}").format(
        period=period, time=beijing_time(printed_at), who=printed_by
    )
    width = A4[0] - 2 * _MARGIN
    tables = report.tables
    story: list[Flowable] = [
        Paragraph(markup_with_fallback(title), styles.title),
        Paragraph(
            markup_with_fallback(
                _("范围：{scope}；统计期：{period}（首次转流日期，北京时间）").format(
                    scope=scope, period=period
                )
            ),
            styles.body,
        ),
        Paragraph(
            markup_with_fallback(
                _("成功撤机判定窗口：撤机后 {hours} 小时内无死亡、无再次 ECMO；随访统计截至 {as_of}").format(
                    hours=report.weaning_window_hours, as_of=report.as_of.isoformat()
                )
            ),
            styles.body,
        ),
        _table(*tables["summary"], width),
    ]
    chart = _year_chart(report, width)
    if chart is not None:
        story += [Spacer(0, 3 * mm), chart]
    for key, heading in _SECTIONS:
        header, rows = tables[key]
        story.append(Paragraph(markup_with_fallback(_(heading)), styles.heading1))
        if key == "indicators":  # the definition is the last column; print it under the figures instead
            rows = [row[1:5] for row in rows]
            header = header[1:5]
        story.append(_table(header, rows, width))
    story.append(Paragraph(markup_with_fallback(_("指标定义")), styles.heading1))
    for label, text in report.definitions:
        story.append(Paragraph(markup_with_fallback(f"{_(label)}：{_(text)}"), styles.small))

    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=26 * mm,
        bottomMargin=20 * mm,
        title=clean_text(title),
        author=clean_text(hospital_name),
        subject=clean_text(period),
        creator="ECMO Ward",
        invariant=1,
        initialFontName=fonts.main,
        lang="zh-CN",
    )
    frame = Frame(
        doc.leftMargin,
        doc.bottomMargin,
        doc.width,
        doc.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates(
        [
            PageTemplate(
                id="qc",
                frames=[frame],
                onPage=partial(_header, hospital=hospital_name, title=title, demo=demo),
            )
        ]
    )
    pdf_date = printed_at.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    doc.build(story, canvasmaker=partial(_Canvas, pdf_date=pdf_date, footer=footer))
    return buf.getvalue()


def write_qc_report_pdf(
    report: QcPrintout,
    out: Path,
    *,
    printed_at: datetime,
    printed_by: str,
    hospital_name: str,
    demo: bool = False,
) -> Path:
    data = build_qc_report_pdf(
        report, printed_at=printed_at, printed_by=printed_by, hospital_name=hospital_name, demo=demo
    )
    return atomic_write_bytes(out, data)
