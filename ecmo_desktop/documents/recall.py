"""A recall or trace result (lot → patients, patient → items) printed as a table.

The rows arrive as plain data (column names and cell values), so any trace query of the device pages
can be printed without this module knowing its dataclasses. The list concerns several patients, so
the running header names none ("多名患者，见表"); the footer still carries the document id, content
hash and audit anchor of the stored copy. Column widths follow the longest text in each column
(within limits), and long tables repeat their header row on every page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from reportlab.platypus import Flowable

from ecmo_desktop.documents.fonts import string_width
from ecmo_desktop.documents.parts import DASH, DocumentPlan, grid, heading, paragraph, title_block, when
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_, _, ngettext

RECALL = "recall"
MAX_COLUMNS = 12
_MIN_SHARE, _MAX_SHARE = 0.05, 0.35


def cell_text(value: object) -> str:
    """A cell as printed: times in Beijing time, dates ISO, booleans in words, None as a dash."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def column_widths(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[float]:
    """Fractions of the frame width, proportional to each column's longest text (at 9 pt)."""
    widest = []
    for c, name in enumerate(columns):
        texts = [name, *(row[c] for row in rows[:500])]
        widest.append(max(string_width(t[:60], 9) for t in texts) + 8)
    total = sum(widest) or 1.0
    shares = [min(_MAX_SHARE, max(_MIN_SHARE, w / total)) for w in widest]
    scale = sum(shares)
    return [s / scale for s in shares]


def recall_plan(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], *, description: str = ""
) -> DocumentPlan:
    """A stored, printable trace table; every row must have one value per column."""
    if not columns or len(columns) > MAX_COLUMNS:
        raise EcmoError(N_("追溯清单应有 1–{n} 列"), n=MAX_COLUMNS)
    bad = next((i for i, row in enumerate(rows, start=1) if len(row) != len(columns)), None)
    if bad is not None:
        raise EcmoError(N_("追溯清单第 {n} 行的列数与表头不一致"), n=bad)
    header = [str(c) for c in columns]
    body = [[cell_text(v) for v in row] for row in rows]
    heading_text = title.strip() or _("器械追溯清单")
    content = {"title": heading_text, "description": description, "columns": header, "rows": body}

    def story(level: int) -> list[Flowable]:
        out: list[Flowable] = [*title_block(heading_text, level, key="recall")]
        if description.strip():
            out.append(paragraph(description))
        out += heading(ngettext("共 {n} 条", "共 {n} 条", len(body)).format(n=len(body)), level)
        if body:
            out.append(grid(header, body, column_widths(header, body)))
        else:
            out.append(paragraph(_("没有符合条件的记录。")))
        return out

    return DocumentPlan(RECALL, None, heading_text, content, story, meta={"rows": len(body)})
