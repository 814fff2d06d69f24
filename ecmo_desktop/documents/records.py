"""The clinical records as documents: decision record (上机/撤机讨论记录), daily management sheet
(ECMO日常管理记录) with small trend charts, weaning note (撤机记录), follow-up record (随访记录) and the
complication list the archive carries.

Daily values are printed by the field catalogue (``domain/fields.py``: label, unit, decimals,
normal range), so the sheet shows exactly what the form asked for; a value outside its normal range
is marked ↑/↓ as on screen. Many entries in a day are split into tables of ``ENTRIES_PER_TABLE``
columns, so a day charted hourly still fits the page width and flows onto further pages.

The trend charts are drawn with reportlab graphics as vectors (flow, sweep, ACT/APTT, lactate over
the ``TREND_DAYS`` days ending on the sheet's day): a ward reads a tendency at a glance, and vectors
stay sharp on paper and small in the file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from reportlab.graphics.shapes import Circle, Drawing, Path, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Paragraph, Table, TableStyle

from ecmo_desktop.documents.content import plain
from ecmo_desktop.documents.fonts import markup_with_fallback, register_fonts
from ecmo_desktop.documents.layout import document_styles, standard_table_style, text_flowables
from ecmo_desktop.documents.parts import (
    DASH,
    FRAME_WIDTH,
    DocumentPlan,
    arrow,
    cell_font,
    day_text,
    field_label,
    field_value,
    grid,
    heading,
    kv_table,
    label,
    meaning_label,
    mode_label,
    number,
    numbered,
    paragraph,
    plain_fits,
    signature_state,
    signatures,
    title_block,
    title_label,
    values_table,
    when,
)
from ecmo_desktop.domain.case import CaseDossier, DailyEntryInfo, DecisionInfo
from ecmo_desktop.domain.complications import COMPLICATIONS
from ecmo_desktop.domain.enums import (
    DeciderRole,
    DecisionKind,
    DischargeDisposition,
    EndReason,
    FollowUpKind,
    FollowUpStatus,
    Indication,
    Location,
    ProcedureKind,
    Role,
    Severity,
    Technique,
    VitalStatus,
)
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.fields import (
    CHOICES,
    CONTRAINDICATIONS,
    DAILY,
    DERIVED,
    FIELDS,
    PRE,
    WEAN,
    choices_for,
    contraindications_assessed,
    derive_unchecked,
    fields_for,
)
from ecmo_desktop.domain.records import CauseOfDeath, ContactMethod, DecisionPhysician
from ecmo_desktop.domain.rules import (
    RuleResult,
    emergency_decider,
    joint_decision,
    supplement_deadline,
    supplement_result,
)
from ecmo_desktop.domain.time import BEIJING, local_date
from ecmo_desktop.i18n import N_, _, join_names

DECISION, DAILY_KIND, WEANING, FOLLOW_UP, COMPLICATIONS_KIND = (
    "decision",
    "daily",
    "weaning",
    "followup",
    "complications",
)
ENTRIES_PER_TABLE = 5
TREND_DAYS = 7


# ---- decision record ------------------------------------------------------------------------------------
def decision_title(decisions: Sequence[DecisionInfo]) -> str:
    kinds = {d.kind for d in decisions}
    if kinds == {"start"}:
        return _("ECMO上机讨论记录")
    if kinds == {"wean"}:
        return _("ECMO撤机讨论记录")
    return _("ECMO上机/撤机讨论记录")


def decision_plan(dossier: CaseDossier, decision_id: int | None = None, *, as_of: datetime) -> DocumentPlan:
    """One decision (``decision_id``) or all of the run's, with the physicians and the R1/R2 status as of
    ``as_of`` (an R2 supplement can turn overdue while nobody edits anything, so the time is part of it)."""
    if decision_id is not None:
        one = dossier.decision(decision_id)
        if one is None:
            raise EcmoError(N_("该病例没有编号为 {id} 的决策记录"), id=decision_id)
        chosen: tuple[DecisionInfo, ...] = (one,)
    else:
        chosen = dossier.decisions
    if not chosen:
        raise EcmoError(N_("该病例尚无上机/撤机决策记录"))
    title = decision_title(chosen)
    status = {d.id: [rule_line(r) for r in _rule_results(dossier, d, as_of)] for d in chosen}
    content = {
        "hospital": plain(dossier.hospital),
        "patient": plain(dossier.patient),
        "run": plain(dossier.run),
        "decisions": plain(chosen),
        "rules": {str(k): v for k, v in status.items()},
    }

    def story(level: int) -> list[Flowable]:
        out = [*title_block(title, level, key=f"decision-{dossier.run.id}-{decision_id or 0}")]
        for n, d in enumerate(chosen):
            if n:
                out.append(PageBreak())
            out += _decision_story(dossier, d, status[d.id], level)
        return out

    return DocumentPlan(DECISION, decision_id, title, content, story)


RULE_STATUS = {"pass": N_("符合"), "fail": N_("不符合"), "pending": N_("待完成"), "n/a": N_("不适用")}


def rule_line(result: RuleResult) -> str:
    """ "R1 符合：3 名医师共同决策…": the rule, its verdict and the reason, as the checklist shows it."""
    return f"{result.rule} {_(RULE_STATUS.get(result.status, result.status))}：{result.text()}"


def _physicians(d: DecisionInfo) -> list[DecisionPhysician]:
    return [p.decider() for p in d.physicians]


def _rule_results(dossier: CaseDossier, d: DecisionInfo, as_of: datetime) -> list[RuleResult]:
    if d.emergency and d.kind == "start":
        results = [emergency_decider(_physicians(d))]
        supplements = [
            s
            for s in dossier.decisions
            if s.supplement_of_id == d.id and joint_decision(_physicians(s)).passed
        ]
        first = min(supplements, key=lambda s: s.decided_at) if supplements else None
        deadline = d.supplement_deadline or supplement_deadline(dossier.run.started_at)
        results.append(
            supplement_result(
                deadline, first.decided_at if first else None, bool(first and first.signed), as_of
            )
        )
        return results
    if d.emergency:
        return []
    return [joint_decision(_physicians(d))]


def _decision_story(dossier: CaseDossier, d: DecisionInfo, rules: list[str], level: int) -> list[Flowable]:
    kind = label(DecisionKind, d.kind)
    out = heading(f"{kind}（{when(d.decided_at)}）", level)
    indication = (
        label(Indication, d.indication) if d.indication else label(Indication, dossier.run.indication)
    )
    if d.indication_other:
        indication += f"（{d.indication_other}）"
    pairs = [
        (_("决策类型"), kind),
        (_("紧急程度"), _("紧急") if d.emergency else _("非紧急")),
        (_("决策时间"), when(d.decided_at)),
        (_("拟行模式"), mode_label(d.mode_planned or dossier.run.mode)),
    ]
    if d.kind == "start":
        pairs.append((_("适应证"), indication))
        pairs.append((_("临床诊断"), dossier.run.diagnosis or DASH))
    if d.supplement_of_id is not None:
        source = dossier.decision(d.supplement_of_id)
        pairs.append((_("补充的紧急决策"), when(source.decided_at) if source else f"#{d.supplement_of_id}"))
    if d.emergency and d.kind == "start":
        pairs.append((_("补充决策截止（R2）"), when(d.supplement_deadline)))
    out.append(kv_table(pairs))
    out += heading(_("参与讨论的医师"), level, sub=True)
    out.append(
        grid(
            [_("姓名"), _("职称"), _("决策角色"), _("决策时是否专家组成员")],
            [
                [
                    p.name,
                    title_label(p.title) or DASH,
                    label(DeciderRole, p.role),
                    _("是") if p.expert_at_decision else _("否"),
                ]
                for p in d.physicians
            ]
            or [[DASH] * 4],
            [0.25, 0.25, 0.25, 0.25],
        )
    )
    out += heading(_("规范要求核对（R1/R2）"), level, sub=True)
    out += [paragraph(text) for text in rules] or [paragraph(_("紧急撤机：不适用多学科决策要求"))]
    if d.rationale.strip():
        out += heading(_("讨论意见与理由"), level, sub=True)
        out += text_flowables(d.rationale)
    if d.pre_ecmo:
        out += heading(_("上机前评估") if d.kind == "start" else _("撤机前评估"), level, sub=True)
        keys = [f.key for f in fields_for(PRE)] + [c.key for c in choices_for(PRE)]
        keys += sorted(k for k in d.pre_ecmo if k not in keys)
        table = values_table(d.pre_ecmo, keys)
        if table is not None:
            out.append(table)
    if (
        d.kind == "start"
        and d.supplement_of_id is None
        and not contraindications_assessed(d.contraindications)
    ):
        out += heading(_("禁忌证核查"), level, sub=True)
        out.append(paragraph(_("未评估")))
    if contraindications_assessed(d.contraindications):
        out += heading(_("禁忌证核查"), level, sub=True)
        known = dict(CONTRAINDICATIONS)
        out.append(
            grid(
                [_("禁忌证"), _("存在")],
                [[_(known.get(k, k)), _("是") if v else _("否")] for k, v in d.contraindications.items()],
                [0.75, 0.25],
            )
        )
    out += heading(_("签名"), level, sub=True)
    out += signatures(d)
    return out


# ---- daily management sheet -------------------------------------------------------------------------------
def day_subject(day: date) -> int:
    """A day as the stored document's subject id: ``20260302``."""
    return day.year * 10000 + day.month * 100 + day.day


def subject_day(subject: int) -> date:
    return date(subject // 10000, subject // 100 % 100, subject % 100)


def daily_plan(dossier: CaseDossier, day: date | None = None) -> DocumentPlan:
    """One day's sheet (``day``, Beijing calendar day) or every day of the run, a page each."""
    days = (day,) if day is not None else dossier.days()
    if day is not None and not dossier.entries_on(day):
        raise EcmoError(N_("{day} 没有日常管理记录"), day=day.isoformat())
    if not days:
        raise EcmoError(N_("该病例尚无日常管理记录"))
    title = _("ECMO日常管理记录")
    window_entries = [
        e
        for e in dossier.daily_entries
        if days[0] - timedelta(days=TREND_DAYS - 1) <= local_date(e.recorded_at) <= days[-1]
    ]
    content = {
        "hospital": plain(dossier.hospital),
        "patient": plain(dossier.patient),
        "run": plain(dossier.run),
        "days": [d.isoformat() for d in days],
        "entries": plain(window_entries),
        "events": plain([c for c in dossier.complications if local_date(c.onset_at) in days]),
    }

    def story(level: int) -> list[Flowable]:
        out = [*title_block(title, level, key=f"daily-{dossier.run.id}-{day_subject(day) if day else 0}")]
        for n, d in enumerate(days):
            if n:
                out.append(PageBreak())
            out += _day_story(dossier, d, level)
        return out

    return DocumentPlan(
        DAILY_KIND,
        day_subject(day) if day else None,
        title,
        content,
        story,
        meta={"days": [d.isoformat() for d in days]},
    )


def _day_story(dossier: CaseDossier, day: date, level: int) -> list[Flowable]:
    entries = dossier.entries_on(day)
    ecmo_days = sorted({e.ecmo_day for e in entries})
    modes = [m for m in dict.fromkeys(e.mode for e in entries) if m]
    out = heading(
        _("{day}（ECMO 第 {n} 天）").format(
            day=day.isoformat(), n="/".join(str(n) for n in ecmo_days) or DASH
        ),
        level,
    )
    out.append(
        kv_table(
            [
                (_("日期"), day.isoformat()),
                (_("ECMO 天数"), "/".join(map(str, ecmo_days)) or DASH),
                (_("当日模式"), join_names(mode_label(m) for m in modes) or mode_label(dossier.run.mode)),
                (_("记录条数"), str(len(entries))),
            ]
        )
    )
    out += heading(_("趋势（近 {n} 天）").format(n=TREND_DAYS), level, sub=True)
    out.append(trend_panel(dossier.daily_entries, day))
    out += heading(_("记录明细"), level, sub=True)
    for start in range(0, len(entries), ENTRIES_PER_TABLE):
        out.append(_entries_table(entries[start : start + ENTRIES_PER_TABLE]))
    notes = [(e, e.notes) for e in entries if e.notes.strip()]
    if notes:
        out += heading(_("病情记录与计划"), level, sub=True)
        for e, text in notes:
            out.append(
                paragraph(
                    f"{when(e.recorded_at, '%H:%M')} {e.created_by_name}（{label(Role, e.author_role)}）："
                )
            )
            out += text_flowables(text)
    events = [c for c in dossier.complications if local_date(c.onset_at) == day]
    procedures = [p for p in dossier.procedures if local_date(p.started_at) == day]
    if events or procedures:
        out += heading(_("当日事件"), level, sub=True)
        for p in procedures:
            out.append(
                paragraph(
                    f"{when(p.started_at, '%H:%M')} {label(ProcedureKind, p.kind)}"
                    + (f"：{p.reason}" if p.reason.strip() else "")
                )
            )
        for c in events:
            out.append(
                paragraph(
                    f"{when(c.onset_at, '%H:%M')} {_complication_name(c.code, c.other_text)}"
                    f"（{label(Severity, c.severity)}）"
                )
            )
    out += heading(_("签名"), level, sub=True)
    rows = []
    for e in entries:
        if not e.signatures:
            rows.append(
                [when(e.recorded_at, "%H:%M"), f"{e.created_by_name}", DASH, _("未签名（草稿）"), DASH]
            )
        for s in e.signatures:
            rows.append(
                [
                    when(e.recorded_at, "%H:%M"),
                    f"{s.signer_name} {title_label(s.signer_title)}".strip(),
                    when(s.signed_at),
                    meaning_label(s.meaning),
                    signature_state(s),
                ]
            )
    out.append(
        grid(
            [_("记录时间"), _("签名人"), _("签名时间"), _("签名含义"), _("状态")],
            rows,
            [0.14, 0.28, 0.24, 0.14, 0.20],
        )
    )
    return out


def _entries_table(entries: Sequence[DailyEntryInfo]) -> Table:
    """Fields down, entries across; only fields with a value in at least one of these entries."""
    derived = [derive_unchecked(e.values) for e in entries]
    header = [_("项目")] + [f"{when(e.recorded_at, '%H:%M')}\n{label(Role, e.author_role)}" for e in entries]
    rows: list[list[str]] = []
    section_rows: list[int] = []
    sections: dict[str, list[list[str]]] = {}
    order: list[str] = []
    for spec in fields_for(DAILY):
        if any(spec.key in e.values for e in entries):
            cells = [field_label(spec.key)]
            for e in entries:
                value = e.values.get(spec.key)
                cells.append(
                    field_value(spec.key, value) + arrow(spec.key, value) if value is not None else ""
                )
            sections.setdefault(spec.section, []).append(cells)
            order.append(spec.section)
    for choice in choices_for(DAILY):
        if any(choice.key in e.checks for e in entries):
            sections.setdefault(choice.section, []).append(
                [field_label(choice.key)]
                + [
                    field_value(choice.key, e.checks[choice.key]) if choice.key in e.checks else ""
                    for e in entries
                ]
            )
            order.append(choice.section)
    for key in DERIVED:
        if any(key in d for d in derived):
            sections.setdefault(N_("计算值"), []).append(
                [field_label(key)]
                + [number(d[key], 1) + arrow(key, d[key]) if key in d else "" for d in derived]
            )
            order.append(N_("计算值"))
    extra = sorted(
        {k for e in entries for k in e.values if k not in FIELDS}
        | {k for e in entries for k in e.checks if k not in CHOICES}
    )
    if extra:
        for key in extra:
            sections.setdefault(N_("其他"), []).append(
                [key] + [str(e.values.get(key, e.checks.get(key, ""))) for e in entries]
            )
        order.append(N_("其他"))
    for section in dict.fromkeys(order):
        section_rows.append(len(rows) + 1)
        rows.append([_(section)] + [""] * len(entries))
        rows.extend(sections[section])
    if not rows:
        rows.append([_("（无数值记录）")] + [""] * len(entries))
    label_width = 0.30 * FRAME_WIDTH
    column = (FRAME_WIDTH - label_width) / ENTRIES_PER_TABLE
    style = _compact_style()
    fit = column - 6  # the cell's padding
    table_cells = [
        [
            text
            if r and c and plain_fits(text, fit, style.fontSize)
            else Paragraph(markup_with_fallback(text), style)
            for c, text in enumerate(row)
        ]
        for r, row in enumerate([header, *rows])
    ]
    table = Table(
        table_cells,
        colWidths=[label_width] + [column] * len(entries),
        repeatRows=1,
        hAlign="LEFT",
        style=standard_table_style(1),
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), style.fontSize),
                ("LEADING", (0, 0), (-1, -1), style.leading),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                *[
                    cmd
                    for r in section_rows
                    for cmd in (
                        ("SPAN", (0, r), (-1, r)),
                        ("NOSPLIT", (0, r), (-1, min(r + 1, len(rows)))),  # no section title alone
                        ("BACKGROUND", (0, r), (-1, r), colors.Color(0.93, 0.95, 0.98)),
                    )
                ],
            ]
        )
    )
    table.spaceAfter = 2 * mm
    return table


@cache
def _compact_style() -> ParagraphStyle:
    """Daily values in 8 pt: a day has dozens of fields, and one sheet per day is what wards file."""
    return document_styles().table_cell.clone("EcmoDailyCell", fontSize=8, leading=10)


# (title, unit, [(series key, colour)], normal band key)
TRENDS: tuple[tuple[str, str, tuple[tuple[str, Any], ...], str | None], ...] = (
    (N_("血流量"), "L/min", (("blood_flow", colors.Color(0.08, 0.40, 0.75)),), "blood_flow"),
    (N_("气流量"), "L/min", (("sweep", colors.Color(0.18, 0.55, 0.34)),), "sweep"),
    (
        "ACT / APTT",
        "s",
        (("act", colors.Color(0.75, 0.22, 0.17)), ("aptt", colors.Color(0.45, 0.30, 0.65))),
        None,
    ),
    (N_("乳酸"), "mmol/L", (("lactate", colors.Color(0.80, 0.45, 0.05)),), "lactate"),
)


def trend_panel(entries: Sequence[DailyEntryInfo], day: date) -> Flowable:
    """Four small charts, two by two, over the ``TREND_DAYS`` days ending on ``day``."""
    first = min((local_date(e.recorded_at) for e in entries), default=day)
    start = datetime.combine(max(first, day - timedelta(days=TREND_DAYS - 1)), time(0), BEIJING)
    end = datetime.combine(day + timedelta(days=1), time(0), BEIJING)
    width, height = FRAME_WIDTH / 2 - 2 * mm, 40 * mm
    charts = []
    for title, unit, series, band in TRENDS:
        points = [
            (
                key,
                colour,
                [
                    (e.recorded_at, float(e.values[key]))
                    for e in entries
                    if start <= e.recorded_at < end
                    and isinstance(e.values.get(key), (int, float))
                    and not isinstance(e.values.get(key), bool)
                ],
            )
            for key, colour in series
        ]
        normal = None
        if band is not None:
            rng = FIELDS[band].range
            normal = (rng.normal_low, rng.normal_high)
        charts.append(trend_chart(_(title), unit, points, start, end, normal, width, height))
    table = Table(
        [[charts[0], charts[1]], [charts[2], charts[3]]],
        colWidths=[FRAME_WIDTH / 2] * 2,
        style=TableStyle(
            [
                cell_font(),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        ),
        hAlign="LEFT",
    )
    return KeepTogether([table])


def trend_chart(
    title: str,
    unit: str,
    series: Sequence[tuple[str, Any, Sequence[tuple[datetime, float]]]],
    start: datetime,
    end: datetime,
    normal: tuple[float | None, float | None] | None,
    width: float,
    height: float,
) -> Drawing:
    """One small line chart: shaded normal range, one line per series, day ticks along the bottom."""
    font = register_fonts().main
    drawing = Drawing(width, height)
    drawing.initialFontName, drawing.initialFontSize = font, 7  # not Helvetica: every font is embedded
    left, right, bottom, top = 9 * mm, width - 2 * mm, 6 * mm, height - 6 * mm
    drawing.add(
        Rect(0, 0, width, height, strokeColor=colors.Color(0.7, 0.7, 0.7), strokeWidth=0.4, fillColor=None)
    )
    drawing.add(String(2 * mm, height - 4 * mm, f"{title}（{unit}）", fontName=font, fontSize=7.5))
    values = [v for _key, _colour, points in series for _t, v in points]
    span = (end - start).total_seconds()
    lo = min(values) if values else 0.0
    hi = max(values) if values else 1.0
    bounds = [x for x in (normal or ()) if x is not None]
    if bounds:
        lo, hi = min(lo, *bounds), max(hi, *bounds)
    ticks = nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]

    def x_of(moment: datetime) -> float:
        return left + (right - left) * (moment - start).total_seconds() / span

    def y_of(value: float) -> float:
        return bottom + (top - bottom) * (value - lo) / (hi - lo)

    if normal is not None and (normal[0] is not None or normal[1] is not None):
        band_lo = y_of(normal[0] if normal[0] is not None else lo)
        band_hi = y_of(normal[1] if normal[1] is not None else hi)
        drawing.add(
            Rect(
                left,
                band_lo,
                right - left,
                max(0.0, band_hi - band_lo),
                strokeColor=None,
                fillColor=colors.Color(0.88, 0.95, 0.88),
            )
        )
    axes = Path(strokeWidth=0.4, strokeColor=colors.black, fillColor=None)  # one path: axes and every tick
    axes.moveTo(left, top)
    axes.lineTo(left, bottom)
    axes.lineTo(right, bottom)
    for value in ticks:
        axes.moveTo(left - 1, y_of(value))
        axes.lineTo(left, y_of(value))
        drawing.add(
            String(
                left - 1.5, y_of(value) - 2, number(value, 2), fontName=font, fontSize=5.5, textAnchor="end"
            )
        )
    days = max(1, round(span / 86400))
    for n in range(days + 1):
        x = left + (right - left) * n / days
        axes.moveTo(x, bottom)
        axes.lineTo(x, bottom - 1)
        if n < days:
            tick_day = (start + timedelta(days=n)).date()
            drawing.add(
                String(
                    x + (right - left) / days / 2,
                    bottom - 4.5,
                    tick_day.strftime("%m-%d"),
                    fontName=font,
                    fontSize=5.5,
                    textAnchor="middle",
                )
            )
    drawing.add(axes)
    legend_x = width - 2 * mm
    for key, colour, points in series:
        coords = [c for t, v in sorted(points) for c in (x_of(t), y_of(v))]
        if len(points) > 1:
            drawing.add(PolyLine(coords, strokeColor=colour, strokeWidth=0.9))
        for t, v in points:
            drawing.add(Circle(x_of(t), y_of(v), 1.3, fillColor=colour, strokeColor=None))
        if len(series) > 1:
            name = key.upper()
            drawing.add(
                String(
                    legend_x,
                    height - 4 * mm,
                    name,
                    fontName=font,
                    fontSize=6,
                    fillColor=colour,
                    textAnchor="end",
                )
            )
            legend_x -= 9 * mm
    if not values:
        drawing.add(
            String(
                (left + right) / 2,
                (bottom + top) / 2,
                _("无数据"),
                fontName=font,
                fontSize=7,
                textAnchor="middle",
                fillColor=colors.Color(0.5, 0.5, 0.5),
            )
        )
    return drawing


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round axis ticks (steps of 1, 2, 2.5 or 5 × 10ⁿ) covering [lo, hi], about ``count`` of them."""
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step) * step
    ticks = [first]
    while ticks[-1] < hi - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


# ---- weaning note ----------------------------------------------------------------------------------------
def weaning_plan(dossier: CaseDossier, *, as_of: datetime) -> DocumentPlan:
    """Weaning decisions, trials, decannulation and the run's outcome (撤机记录)."""
    title = _("ECMO撤机记录")
    weans = tuple(d for d in dossier.decisions if d.kind == "wean")
    decannulations = tuple(p for p in dossier.procedures if p.kind == "decannulation")
    if not (weans or dossier.weaning_trials or decannulations or dossier.run.ended_at):
        raise EcmoError(N_("该病例尚无撤机相关记录"))
    status = {d.id: [rule_line(r) for r in _rule_results(dossier, d, as_of)] for d in weans}
    content = {
        "hospital": plain(dossier.hospital),
        "patient": plain(dossier.patient),
        "run": plain(dossier.run),
        "decisions": plain(weans),
        "trials": plain(dossier.weaning_trials),
        "decannulations": plain(decannulations),
        "rules": {str(k): v for k, v in status.items()},
        "complications": plain(_after_decannulation(dossier)),
    }

    def story(level: int) -> list[Flowable]:
        return _weaning_story(dossier, title, weans, status, decannulations, level)

    return DocumentPlan(WEANING, None, title, content, story)


def _after_decannulation(dossier: CaseDossier) -> list[Any]:
    ends = [p.ended_at or p.started_at for p in dossier.procedures if p.kind == "decannulation"]
    if not ends:
        return []
    return [c for c in dossier.complications if c.onset_at >= min(ends)]


def _weaning_story(
    d: CaseDossier,
    title: str,
    weans: Sequence[DecisionInfo],
    status: dict[int, list[str]],
    decannulations: Sequence[Any],
    level: int,
) -> list[Flowable]:
    r = d.run
    out = [*title_block(title, level, key=f"weaning-{r.id}")]
    section = iter(range(20))
    out += heading(numbered(next(section), _("撤机决策")), level)
    if not weans:
        out.append(paragraph(_("未记录撤机决策。")))
    for w in weans:
        names = join_names(f"{p.name}（{label(DeciderRole, p.role)}）" for p in w.physicians) or DASH
        out.append(
            kv_table(
                [
                    (_("决策时间"), when(w.decided_at)),
                    (_("紧急程度"), _("紧急") if w.emergency else _("非紧急")),
                    (_("参与医师"), names),
                    (_("规范核对"), "；".join(status[w.id]) or DASH),
                ],
                columns=1,
                label_width=30 * mm,
            )
        )
        if w.rationale.strip():
            out += text_flowables(w.rationale)
        out += signatures(w, compact=True)
    out += heading(numbered(next(section), _("撤机试验")), level)
    if not d.weaning_trials:
        out.append(paragraph(_("未记录撤机试验。")))
    for n, t in enumerate(d.weaning_trials, start=1):
        result = DASH if t.passed is None else (_("通过") if t.passed else _("未通过"))
        out += heading(_("第 {n} 次撤机试验（{t}）").format(n=n, t=when(t.started_at)), level, sub=True)
        out.append(
            kv_table(
                [
                    (_("开始时间"), when(t.started_at)),
                    (_("结束时间"), when(t.ended_at)),
                    (_("血流量降至（L/min）"), number(t.flow_to, 2)),
                    (_("气流量降至（L/min）"), number(t.sweep_to)),
                    (_("膜肺氧浓度降至"), number(t.fdo2_to, 2)),
                    (_("试验结果"), result),
                ]
            )
        )
        keys = [f.key for f in fields_for(WEAN)] + [c.key for c in choices_for(WEAN)]
        table = values_table(t.values, keys + sorted(k for k in t.values if k not in keys))
        if table is not None:
            out.append(table)
        if t.notes.strip():
            out += text_flowables(t.notes)
        out += signatures(t, compact=True)
    out += heading(numbered(next(section), _("撤机拔管")), level)
    if not decannulations:
        out.append(paragraph(_("未记录撤机拔管操作。")))
    for p in decannulations:
        operators = join_names(m.name for m in p.team if m.role == "operator") or DASH
        out.append(
            kv_table(
                [
                    (_("拔管时间"), when(p.started_at)),
                    (_("结束时间"), when(p.ended_at)),
                    (_("地点"), label(Location, p.location)),
                    (_("术者"), operators),
                    (_("拔管技术"), label(Technique, p.technique)),
                    (_("详见"), _("ECMO撤机拔管手术记录")),
                ]
            )
        )
    out += heading(numbered(next(section), _("撤机结局")), level)
    hours = DASH
    if r.started_at and r.ended_at:
        hours = number((r.ended_at - r.started_at).total_seconds() / 3600, 1)
    out.append(
        kv_table(
            [
                (_("上机时间"), when(r.started_at)),
                (_("撤机时间"), when(r.ended_at)),
                (_("ECMO 持续时间（小时）"), hours),
                (_("撤机结局"), label(EndReason, r.end_reason)),
            ]
        )
    )
    later = _after_decannulation(d)
    out += heading(numbered(next(section), _("拔管后并发症")), level)
    if not later:
        out.append(paragraph(_("无")))
    for c in later:
        out.append(
            paragraph(
                f"{when(c.onset_at)} "
                f"{_complication_name(c.code, c.other_text)}（{label(Severity, c.severity)}）"
            )
        )
    return out


# ---- follow-up record --------------------------------------------------------------------------------------
def follow_up_plan(dossier: CaseDossier, follow_up_id: int | None = None) -> DocumentPlan:
    """The follow-up schedule and every result (随访记录), or one follow-up."""
    chosen = (
        dossier.follow_ups
        if follow_up_id is None
        else tuple(f for f in dossier.follow_ups if f.id == follow_up_id)
    )
    if follow_up_id is not None and not chosen:
        raise EcmoError(N_("该病例没有编号为 {id} 的随访记录"), id=follow_up_id)
    if not chosen:
        raise EcmoError(N_("该病例尚未建立随访计划"))
    title = _("ECMO随访记录")
    content = {
        "hospital": plain(dossier.hospital),
        "patient": plain(dossier.patient),
        "run": plain(dossier.run),
        "follow_ups": plain(chosen),
    }

    def story(level: int) -> list[Flowable]:
        p, r = dossier.patient, dossier.run
        out = [*title_block(title, level, key=f"followup-{r.id}-{follow_up_id or 0}")]
        out += heading(numbered(0, _("出院情况")), level)
        out.append(
            kv_table(
                [
                    (_("撤机时间"), when(r.ended_at)),
                    (_("撤机结局"), label(EndReason, r.end_reason)),
                    (_("出院时间"), when(p.discharged_at)),
                    (_("出院去向"), label(DischargeDisposition, p.discharge_disposition)),
                ]
            )
        )
        out += heading(numbered(1, _("随访计划")), level)
        out.append(
            grid(
                [_("随访节点"), _("应随访日期"), _("状态"), _("完成时间"), _("方式"), _("生存状态")],
                [
                    [
                        label(FollowUpKind, f.kind),
                        day_text(f.due_date),
                        label(FollowUpStatus, f.fu_status),
                        when(f.done_at),
                        label(ContactMethod, f.contact_method),
                        label(VitalStatus, f.vital_status),
                    ]
                    for f in chosen
                ],
                [0.14, 0.16, 0.12, 0.22, 0.16, 0.20],
            )
        )
        for n, f in enumerate(x for x in chosen if x.fu_status != "due"):
            out += heading(
                numbered(2 + n, _("{kind}随访结果").format(kind=label(FollowUpKind, f.kind))), level
            )
            pairs = [
                (_("随访时间"), when(f.done_at)),
                (_("方式"), label(ContactMethod, f.contact_method)),
                (_("生存状态"), label(VitalStatus, f.vital_status)),
                (_("状态"), label(FollowUpStatus, f.fu_status)),
            ]
            if f.vital_status == "dead":
                pairs += [
                    (_("死亡日期"), day_text(f.date_of_death)),
                    (_("死亡原因"), label(CauseOfDeath, f.cause_of_death)),
                ]
            if f.discharge_disposition:
                pairs.append((_("出院去向"), label(DischargeDisposition, f.discharge_disposition)))
            pairs += [
                (field_label("cpc"), field_value("cpc", f.cpc) if f.cpc is not None else DASH),
                (field_label("mrs"), field_value("mrs", f.mrs) if f.mrs is not None else DASH),
                (
                    field_label("eq5d_index"),
                    field_value("eq5d_index", f.eq5d_index) if f.eq5d_index is not None else DASH,
                ),
            ]
            out.append(kv_table(pairs))
            if f.notes.strip():
                out += text_flowables(f.notes)
            out += signatures(f)
        return out

    return DocumentPlan(FOLLOW_UP, follow_up_id, title, content, story)


# ---- complications (archive part) --------------------------------------------------------------------------
def complications_plan(dossier: CaseDossier) -> DocumentPlan:
    title = _("ECMO并发症记录")
    content = {
        "hospital": plain(dossier.hospital),
        "patient": plain(dossier.patient),
        "run": plain(dossier.run),
        "complications": plain(dossier.complications),
    }

    def story(level: int) -> list[Flowable]:
        out = [*title_block(title, level, key=f"complications-{dossier.run.id}")]
        if not dossier.complications:
            return [*out, paragraph(_("本次 ECMO 未记录并发症。"))]
        rows = []
        for c in dossier.complications:
            spec = COMPLICATIONS.get(c.code)
            rows.append(
                [
                    c.code,
                    _complication_name(c.code, c.other_text),
                    _(spec.group) if spec else DASH,
                    when(c.onset_at),
                    label(Severity, c.severity),
                    f"{c.treatment or DASH}\n{_('转归')}：{c.resolution or DASH}（{when(c.resolved_at)}）",
                    _("是") if c.adverse_event else _("否"),
                    c.device_label or DASH,
                ]
            )
        out.append(
            grid(
                [
                    _("编码"),
                    _("并发症"),
                    _("分组"),
                    _("发生时间"),
                    _("程度"),
                    _("处理/转归"),
                    _("不良事件"),
                    _("关联器械"),
                ],
                rows,
                [0.1, 0.16, 0.09, 0.13, 0.08, 0.22, 0.08, 0.14],
            )
        )
        out += heading(_("签名"), level, sub=True)
        sig_rows = []
        for c in dossier.complications:
            name = _complication_name(c.code, c.other_text)
            if not c.signatures:
                sig_rows.append([name, c.created_by_name, DASH, _("未签名（草稿）"), DASH])
            for s in c.signatures:
                sig_rows.append(
                    [
                        name,
                        f"{s.signer_name} {title_label(s.signer_title)}".strip(),
                        when(s.signed_at),
                        meaning_label(s.meaning),
                        signature_state(s),
                    ]
                )
        out.append(
            grid(
                [_("记录"), _("签名人"), _("签名时间"), _("签名含义"), _("状态")],
                sig_rows,
                [0.26, 0.24, 0.2, 0.12, 0.18],
            )
        )
        return out

    return DocumentPlan(COMPLICATIONS_KIND, None, title, content, story)


def _complication_name(code: str, other: str) -> str:
    spec = COMPLICATIONS.get(code)
    name = _(spec.label) if spec else code
    return f"{name}：{other}" if other.strip() else name
