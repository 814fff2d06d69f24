"""The shared page: header and footer on every page, embedded fonts, determinism, bookmarks, SIG-1."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pypdf
import pytest
from pypdf.generic import DictionaryObject
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph

from ecmo_desktop.documents.fonts import draw_string, markup_with_fallback, register_fonts
from ecmo_desktop.documents.layout import (
    Bookmark,
    build_pdf,
    data_table,
    document_styles,
    signature_block,
    text_flowables,
    text_paragraph,
)

from .conftest import PATIENT_NAME, make_header, page_texts
from .test_fonts import HOSTILE

EXT_B = "𠀀𡃁𪚥"


def three_pages() -> list:
    return [
        text_paragraph("第一页内容"),
        PageBreak(),
        text_paragraph("第二页内容"),
        PageBreak(),
        text_paragraph("第三页内容"),
    ]


def test_header_and_footer_on_every_page() -> None:
    header = make_header()
    texts = page_texts(build_pdf(header, three_pages()))
    assert len(texts) == 3
    for number, text in enumerate(texts, start=1):
        for expected in (
            "某某大学附属第一医院",
            "ECMO 治疗知情同意书",
            f"姓名：{PATIENT_NAME}",
            "住院号：ZY20240105001",
            "性别：男",
            "年龄：45岁",
            "病区：心脏重症监护病区",
            "床号：12",
            "打印时间：2024-01-05 14:30（北京时间）",
            "打印人：李医生",
            "文档编号：DOC-2024-000123",
            f"内容校验：{header.content_hash[:12]}",
            "审计链锚点：#10234 9f3ac2d1e0b7",
            f"{number} / 3",
        ):
            assert expected in text, (number, expected)
    assert "第二页内容" in texts[1]


def test_demo_data_is_marked_on_every_page() -> None:
    texts = page_texts(build_pdf(make_header(demo=True), three_pages()))
    assert len(texts) == 3 and all("演示数据" in t and "不是病历" in t for t in texts)
    assert not any("演示数据" in t for t in page_texts(build_pdf(make_header(), three_pages())))


def test_footer_without_audit_anchor() -> None:
    (text,) = page_texts(build_pdf(make_header(audit_anchor=None), [text_paragraph("正文")]))
    assert "审计链锚点" not in text
    assert "1 / 1" in text


def test_long_story_flows_onto_more_pages() -> None:
    story = [
        text_paragraph(f"第{n}段：体外膜肺氧合治疗记录，血流量、转速、气流量与氧浓度均在范围内。" * 3)
        for n in range(1, 121)
    ]
    texts = page_texts(build_pdf(make_header(), story))
    total = len(texts)
    assert total > 3
    joined = "".join(texts)
    assert all(f"第{n}段" in joined for n in range(1, 121))
    assert all(f"{i} / {total}" in text for i, text in enumerate(texts, start=1))


def _fonts(pdf: bytes) -> Iterator[DictionaryObject]:
    """Every font dictionary reachable from the pages, including those used inside forms."""

    def walk(resources: DictionaryObject) -> Iterator[DictionaryObject]:
        for font in resources.get("/Font", {}).values():
            yield font.get_object()
        for xobject in resources.get("/XObject", {}).values():
            xobject = xobject.get_object()
            if "/Resources" in xobject:
                yield from walk(xobject["/Resources"].get_object())

    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        yield from walk(page["/Resources"].get_object())


def test_every_font_is_embedded_and_the_fallback_is_used() -> None:
    pdf = build_pdf(
        make_header(),
        [text_paragraph(f"患者{EXT_B}，备注。"), data_table([["姓名", "器械"], [PATIENT_NAME, "氧合器"]])],
    )
    fonts = list(_fonts(pdf))
    assert fonts
    for font in fonts:
        assert "/FontFile2" in font["/FontDescriptor"].get_object(), font["/BaseFont"]
    ext_face = pdfmetrics.getFont(register_fonts().font_for("𠀀")).face.name.decode()
    assert any(str(font["/BaseFont"]).endswith(ext_face) for font in fonts)


def test_extension_b_text_is_extractable() -> None:
    pdf = build_pdf(make_header(), [text_paragraph(f"备注：{EXT_B}"), data_table([["姓名"], [PATIENT_NAME]])])
    (text,) = page_texts(pdf)
    assert f"备注：{EXT_B}" in text
    assert text.count(PATIENT_NAME) >= 2  # the header and the table


def _glyphs(image: np.ndarray, dpi: int, bottom_pt: float, top_pt: float) -> list[np.ndarray]:
    """The glyphs inked in a horizontal band of the page, each cropped to its ink and scaled to 32x32."""
    scale = dpi / 72
    height = image.shape[0]
    band = image[int(height - top_pt * scale) : int(height - bottom_pt * scale)] < 128
    columns = band.any(axis=0)
    glyphs, x = [], 0
    while x < len(columns):
        if not columns[x]:
            x += 1
            continue
        end = x
        while end < len(columns) and columns[end : end + 4].any():  # a glyph may have gaps of a few pixels
            end += 1
        part = band[:, x:end]
        rows = np.flatnonzero(part.any(axis=1))
        crop = part[rows[0] : rows[-1] + 1].astype(np.uint8) * 255
        glyphs.append(cv2.resize(crop, (32, 32), interpolation=cv2.INTER_AREA) > 127)
        x = end
    return glyphs


def _three_distinct_glyphs(glyphs: list[np.ndarray]) -> bool:
    """Three inked glyphs, no two alike: rules out blanks and identical "tofu" boxes."""
    if len(glyphs) != 3 or any(glyph.sum() < 20 for glyph in glyphs):
        return False
    return all(np.logical_xor(a, b).sum() > 60 for a, b in itertools.combinations(glyphs, 2))


def test_extension_b_glyphs_are_really_drawn(render_page: Callable[..., np.ndarray]) -> None:
    size, dpi = 28.0, 150
    fonts = register_fonts()
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(200, 260), invariant=1, initialFontName=fonts.main)
    for i, char in enumerate(EXT_B):  # the canvas path (headers, footers)
        draw_string(canvas, 20 + i * 50, 210, char, font_size=size)
    canvas.setFont(fonts.main, size)  # negative control 1: the main face has no such glyphs
    for i, char in enumerate(EXT_B):
        canvas.drawString(20 + i * 50, 160, char)
    for i in range(3):  # negative control 2: what a font's "missing glyph" box looks like
        canvas.rect(20 + i * 50, 105, 20, 25, stroke=1, fill=0)
    style = document_styles().body.clone("big", fontSize=size, leading=size * 1.2)
    paragraph = Paragraph(markup_with_fallback("   ".join(EXT_B)), style)  # the Paragraph path (story)
    paragraph.wrap(180, 100)
    paragraph.drawOn(canvas, 20, 20)
    canvas.showPage()
    canvas.save()

    image = render_page(buf.getvalue(), dpi=dpi)
    assert _three_distinct_glyphs(_glyphs(image, dpi, 200, 250))
    assert _three_distinct_glyphs(_glyphs(image, dpi, 15, 60))
    assert not _three_distinct_glyphs(_glyphs(image, dpi, 150, 195)), "blank glyphs went unnoticed"
    assert not _three_distinct_glyphs(_glyphs(image, dpi, 100, 140)), "identical boxes went unnoticed"


def test_hostile_text_everywhere_builds() -> None:
    nasty = "".join(HOSTILE)
    header = make_header(
        patient_name=f"<b>{nasty}",
        hospital_name="&医院]]>",
        printed_by="\x00\ud800🫀",
        ward="\u202e病区",
        bed="<",
        document_id="DOC\x1d1",
        audit_anchor="]]>&",
    )
    story = [
        Bookmark(nasty),
        text_paragraph(nasty),
        data_table([["列<1>", "列&2"], [nasty, "\ud800"]]),
        signature_block(nasty, datetime(2024, 1, 5, tzinfo=UTC), "<审阅>"),
        *text_flowables(nasty + "x" * 20_000),
    ]
    pdf = build_pdf(header, story, subject=nasty, keywords=[nasty])
    (first, *_rest) = page_texts(pdf)
    for fragment in ("<b>粗体</b>", "a & b", "]]>", "[U+1FAC0]", "[U+D800]", "&医院]]>"):
        assert fragment in first, fragment


def test_reprint_is_byte_identical() -> None:
    def story() -> list:
        return [
            Bookmark("概要"),
            text_paragraph(f"内容 {EXT_B}"),
            data_table([["a", "b"], ["1", "2"]]),
            signature_block("王医生", datetime(2024, 1, 5, 6, 0, tzinfo=UTC), "确认"),
            *three_pages(),
        ]

    first = build_pdf(make_header(), story())
    assert build_pdf(make_header(), story()) == first
    later = make_header(printed_at=datetime(2024, 1, 5, 6, 31, tzinfo=UTC))
    assert build_pdf(later, story()) != first  # negative control: the print time is part of the page


def test_creation_date_is_the_print_time_in_beijing() -> None:
    pdf = build_pdf(make_header(), [text_paragraph("x")])
    info = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert info is not None
    assert info["/CreationDate"] == "D:20240105143000+08'00'"
    assert info["/Title"] == "ECMO 治疗知情同意书"
    assert make_header().content_hash in info["/Keywords"]


def test_naive_print_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_header(printed_at=datetime(2024, 1, 5, 14, 30))


@pytest.mark.parametrize("meaning", ["书写", "审阅", "确认", "审批"])
def test_signature_shows_name_time_and_meaning(meaning: str) -> None:
    signed = datetime(2024, 1, 5, 15, 59, tzinfo=UTC) + timedelta(seconds=30)
    (text,) = page_texts(build_pdf(make_header(), [signature_block(PATIENT_NAME, signed, meaning)]))
    assert f"签名人：{PATIENT_NAME}" in text
    assert "签名时间：2024-01-05 23:59" in text
    assert f"签名含义：{meaning}" in text


def test_outline_nests_bookmarks_under_the_document_title() -> None:
    story = [
        Bookmark("一、概要"),
        text_paragraph("概要"),
        PageBreak(),
        Bookmark("二、器械", level=0),
        text_paragraph("器械"),
        Bookmark("2.1 氧合器", level=3),
        text_paragraph("氧合器"),
    ]
    reader = pypdf.PdfReader(io.BytesIO(build_pdf(make_header(), story)))
    title, children = reader.outline
    assert title.title == "ECMO 治疗知情同意书"
    assert [c.title for c in children if not isinstance(c, list)] == ["一、概要", "二、器械"]
    assert children[2][0].title == "2.1 氧合器"  # level 3 clamped to one below its parent
    assert reader.get_destination_page_number(children[1]) == 1  # page 2, zero-based


def test_outline_can_be_left_out() -> None:
    pdf = build_pdf(make_header(), [Bookmark("一、概要"), text_paragraph("概要")], bookmarks=False)
    assert pypdf.PdfReader(io.BytesIO(pdf)).outline == []


def test_table_header_repeats_on_each_page() -> None:
    rows = [["器械名称", "批号"]] + [[f"氧合器{n}", f"LOT{n:04d}"] for n in range(150)]
    texts = page_texts(build_pdf(make_header(), [data_table(rows, [60 * mm, 40 * mm])]))
    assert len(texts) > 1
    assert all("器械名称" in text for text in texts)
    assert "LOT0149" in texts[-1]


def test_empty_story_still_prints_one_page() -> None:
    texts = page_texts(build_pdf(make_header(), []))
    assert len(texts) == 1
    assert "1 / 1" in texts[0]


def test_long_note_is_laid_out_in_pieces_without_losing_text() -> None:
    line = "体外膜肺氧合治疗记录，血流量与转速稳定。ECMO flow 3.5 L/min; sweep 2 L/min. "
    note = "开始\n\n" + line * 1500 + "\n结束标记"  # about 100 KB; one Paragraph would take most of a minute
    story = text_flowables(note)
    assert len(story) > 10
    texts = page_texts(build_pdf(make_header(), story))
    assert "开始" in texts[0]
    assert "结束标记" in texts[-1]
    total = len(texts)  # the body follows the page number in the text of each page
    body = "".join(text.split(f"{i} / {total}", 1)[1] for i, text in enumerate(texts, start=1))
    assert "".join(body.split()).count("体外膜肺氧合治疗记录，血流量与转速稳定。") == 1500


def test_note_lines_and_blank_lines_are_kept() -> None:
    story = text_flowables("第一行\r\n\r\n第三行<b>\n\n")
    kinds = [type(f).__name__ for f in story]
    assert kinds == ["Paragraph", "Spacer", "Paragraph"]
    assert "第三行&lt;b&gt;" in story[2].text
