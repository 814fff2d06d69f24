"""A recall / trace result printed as a table from plain rows."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pypdf
import pytest

from ecmo_desktop.documents.archive import render
from ecmo_desktop.documents.parts import PrintContext
from ecmo_desktop.documents.recall import cell_text, column_widths, recall_plan
from ecmo_desktop.domain.errors import EcmoError

from .sample_dossier import HOSTILE_NAME, PRINTED
from .test_fonts import HOSTILE

COLUMNS = ["患者", "住院号", "器械", "批号", "序列号", "绑定时间", "在用"]


def rows(n: int) -> list[list[object]]:
    return [
        [
            f"患者{i}",
            f"ZY{i:06d}",
            "Quadrox-iD 成人氧合器",
            "LOT2024A",
            f"SN{i:06d}",
            datetime(2026, 3, 2, 2, i % 60, tzinfo=UTC),
            i % 2 == 0,
        ]
        for i in range(n)
    ]


def text_of(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def make(n: int, **kw: object) -> tuple[object, object]:
    plan = recall_plan("批号 LOT2024A 召回追溯", COLUMNS, rows(n), **kw)  # type: ignore[arg-type]
    return plan, render(
        plan, None, PrintContext(PRINTED, "陈静", "DOC-000009-v1", "#7 " + "ab" * 32, "示范医院")
    )


def test_every_row_is_printed_and_the_header_names_no_single_patient() -> None:
    _plan, rendered = make(12, description="国药监召回通知 2026-017")
    pages = text_of(rendered.pdf)  # type: ignore[attr-defined]
    text = "".join(pages)
    assert "批号 LOT2024A 召回追溯" in text and "国药监召回通知 2026-017" in text and "共 12 条" in text
    assert (
        "姓名：多名患者，见表" in pages[0]
        and "文档编号：DOC-000009-v1" in pages[0]
        and "示范医院" in pages[0]
    )
    for i in range(12):
        assert f"SN{i:06d}" in text and f"ZY{i:06d}" in text
    assert "2026-03-02 10:00" in text and "是" in text and "否" in text


def test_long_lists_flow_onto_pages_with_the_header_repeated() -> None:
    _, rendered = make(200)
    pages = text_of(rendered.pdf)  # type: ignore[attr-defined]
    assert len(pages) > 3
    assert all("序列号" in "".join(page.split()) for page in pages)  # the header row repeats
    assert all(f"SN{i:06d}" in "".join(pages) for i in range(200))


def test_rows_must_match_the_columns() -> None:
    with pytest.raises(EcmoError):
        recall_plan("x", COLUMNS, [["只有一列"]])
    with pytest.raises(EcmoError):
        recall_plan("x", [], [])


def test_cells_and_widths() -> None:
    assert (
        cell_text(None) == "—" and cell_text(date(2027, 12, 31)) == "2027-12-31" and cell_text(True) == "是"
    )
    widths = column_widths(["a", "很长的列名称很长的列名称"], [["1", "x"]])
    assert abs(sum(widths) - 1) < 1e-9 and widths[1] > widths[0]


@pytest.mark.parametrize("bad", [*HOSTILE, HOSTILE_NAME])
def test_bad_cell_text_never_breaks_the_list(bad: str) -> None:
    plan = recall_plan(bad, ["患者", "批号"], [[bad, bad], ["张三", None]], description=bad)
    rendered = render(plan, None, PrintContext(PRINTED, bad, "DOC-1"))
    assert rendered.page_count == 1
