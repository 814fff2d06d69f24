"""Font discovery, per-glyph fallback and cleaning of user text before it reaches reportlab."""

from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph

from ecmo_desktop.documents.fonts import (
    FontsMissingError,
    clean_text,
    font_search_dirs,
    load_font_set,
    markup_with_fallback,
    register_fonts,
    string_width,
)

EXT_B = "𠀀𡃁𪚥"
HOSTILE = [
    "<b>粗体</b>",
    "a & b",
    "]]>",
    "<![CDATA[x]]>",
    "&amp;",
    "&#0;",
    "<font name='x'>",
    "<br/>",
    "<para>",
    "\x00NUL",
    "\ud800",
    "\udfff孤",
    "🫀",
    "\u202e反向",
    "\u200b\u200c\ufeff",
    "%s {0} {{",
    "'; DROP TABLE --",
    "e\u0301",
    "\t制表\r\n换行\r",
    "\x1d\x1e\x04",
    "\U000f0000私用",
    "\ufffe\uffff",
    "葛\U000e0100",
]


def test_register_fonts_is_cached_and_registered() -> None:
    fonts = register_fonts()
    assert register_fonts() is fonts
    assert fonts.main in pdfmetrics.getRegisteredFontNames()
    assert fonts.fallbacks, "no fallback face: Extension B names would print as boxes"
    assert all(name in pdfmetrics.getRegisteredFontNames() for name in fonts.fallbacks)


def test_main_face_draws_ordinary_chinese() -> None:
    fonts = register_fonts()
    assert {fonts.font_for(ch) for ch in "张三住院号病区床号知情同意书ECMO0123"} == {fonts.main}


@pytest.mark.parametrize("char", list(EXT_B))
def test_extension_b_surnames_come_from_a_fallback_face(char: str) -> None:
    fonts = register_fonts()
    name = fonts.font_for(char)
    assert name is not None and name != fonts.main
    assert ord(char) in pdfmetrics.getFont(name).face.charToGlyph


def test_a_character_no_face_has_is_reported_as_missing() -> None:
    assert register_fonts().font_for("🫀") is None


def test_markup_wraps_only_the_fallback_run() -> None:
    fonts = register_fonts()
    ext_font = fonts.font_for("𠀀")
    assert markup_with_fallback("张𠀀𡃁三") == f'张<font name="{ext_font}">𠀀𡃁</font>三'


def test_markup_escapes_reportlab_markup() -> None:
    markup = markup_with_fallback("<b>x</b> & ]]>")
    assert markup == "&lt;b&gt;x&lt;/b&gt; &amp; ]]&gt;"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_parses_as_a_paragraph(text: str) -> None:
    style = ParagraphStyle("t", fontName=register_fonts().main, fontSize=10, leading=12, wordWrap="CJK")
    paragraph = Paragraph(markup_with_fallback(text), style)
    paragraph.wrap(200, 1000)
    shown = "".join(getattr(frag, "text", "") for frag in paragraph.frags)
    assert "".join(shown.split()) == "".join(clean_text(text).split())  # Paragraph collapses whitespace


@pytest.mark.parametrize(
    ("raw", "printed"),
    [
        ("张\x00三\x07", "张三"),
        ("\ud800", "[U+D800]"),
        ("心🫀", "心[U+1FAC0]"),
        ("\u200b\u200c\ufeff\u202e名", "名"),
        ("葛\U000e0100\ufe00", "葛"),
        ("a\tb", "a b"),
        ("a\r\nb\rc\nd", "a b c d"),
        ("\U000f0000", "[U+F0000]"),
        (EXT_B, EXT_B),
    ],
)
def test_clean_text(raw: str, printed: str) -> None:
    assert clean_text(raw) == printed


def test_line_breaks_kept_as_br_in_markup() -> None:
    assert markup_with_fallback("第一行\r\n第二行\n") == "第一行<br/>第二行<br/>"


def test_string_width_counts_fallback_runs() -> None:
    main = register_fonts().main
    assert string_width("张三", 10) == pytest.approx(pdfmetrics.stringWidth("张三", main, 10))
    assert string_width("张𠀀", 10) > string_width("张", 10)


def test_no_cjk_font_raises_a_chinese_error(tmp_path: Path) -> None:
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"")  # a fallback alone is not enough
    with pytest.raises(FontsMissingError) as info:
        load_font_set([tmp_path])
    message = info.value.user_message()
    assert "中文字体" in message
    assert str(tmp_path) in message


def test_bundled_font_folder_wins_over_system_fonts(tmp_path: Path) -> None:
    droid = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
    if not droid.is_file():
        pytest.skip("fonts-droid-fallback is not installed")
    (tmp_path / droid.name).symlink_to(droid)
    fonts = load_font_set([tmp_path, *font_search_dirs()])
    assert fonts.main_face.path == tmp_path / droid.name  # though the system WenQuanYi ranks higher
    assert all(face.path != droid for face in fonts.fallback_faces)


def test_damaged_font_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "wqy-microhei.ttc").write_bytes(b"not a font at all" * 100)
    fonts = load_font_set([tmp_path, *font_search_dirs()])
    assert fonts.main_face.path.parent != tmp_path
    assert fonts.font_for("张") == fonts.main
