"""Vector barcodes: what is drawn must scan back to exactly what was scanned in."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pypdf
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.platypus import Spacer

from ecmo_desktop.documents.barcodes import (
    GS,
    BarcodeError,
    Code128Barcode,
    DataMatrixBarcode,
    barcode_for_scanned_code,
    gs1_elements,
    gs1_human_readable,
)
from ecmo_desktop.documents.layout import build_pdf

from .conftest import make_header

# GTIN 06901234567892 has a valid check digit; (17) is an expiry date YYMMDD.
UDI = "01069012345678921727123110LOT2024A" + GS + "21SN000123"
UDI_SHORT = "01069012345678921727123110L1"
UDI_LONG = "0106901234567892112401051729010510LOT-2024-0105-A-ECMO" + GS + "21SN000123456789ABCD"


def decode_all(image: np.ndarray) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)


def raster_code128(modules: str, px: int = 3) -> np.ndarray:
    """Module pattern to an image, bypassing the PDF: a fast check of the encoding itself."""
    row = np.array([0 if m == "1" else 255 for m in "0" * 12 + modules + "0" * 12], dtype=np.uint8)
    return np.repeat(np.tile(np.repeat(row, px), (60, 1)), 1, axis=0)


def raster_matrix(matrix: tuple[tuple[bool, ...], ...], px: int = 4) -> np.ndarray:
    image = np.pad(
        np.array([[0 if dark else 255 for dark in row] for row in matrix], dtype=np.uint8),
        2,
        constant_values=255,
    )
    return np.kron(image, np.ones((px, px), dtype=np.uint8))


# --- GS1 element strings ---


def test_gs1_elements_split_fixed_and_variable_fields() -> None:
    assert gs1_elements(UDI) == (
        ("01", "06901234567892"),
        ("17", "271231"),
        ("10", "LOT2024A"),
        ("21", "SN000123"),
    )
    assert gs1_human_readable(gs1_elements(UDI)) == "(01)06901234567892(17)271231(10)LOT2024A(21)SN000123"


def test_gs1_bracketed_form_is_the_same_as_the_scanned_form() -> None:
    assert gs1_elements("(01)06901234567892(17)271231(10)LOT2024A(21)SN000123") == gs1_elements(UDI)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0106901234567",
        "01069012345678921",
        "99",
        "10" + GS + "21X",
        "0506901234567892",
        "１０ABC",
        "10ABC\x00",
        "10批号",
        "(01)069012(10",
        "0１06901234567892",
    ],
)
def test_malformed_gs1_is_refused(bad: str) -> None:
    with pytest.raises(BarcodeError):
        gs1_elements(bad)


# --- encoding, without rendering ---


@pytest.mark.parametrize(
    "text",
    [
        "99",
        "990",
        "9912345678",
        "ECMO-123abc",
        "1",
        "12",
        "123",
        "12345",
        "123456A",
        "A1234567B",
        "a1b2c3",
        "00000000000000",
        "+H123ABC0123456789/$$3271231LOT1D",
        "tab\there",
        "\x00\x01\x1f\x7f",
        "MA.156.M0.100000.12345",
    ],
)
def test_code128_module_pattern_decodes_to_the_text(text: str) -> None:
    (result,) = decode_all(raster_code128(Code128Barcode(text).modules))
    assert (result.text, result.symbology_identifier) == (text, "]C0")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), min_size=1, max_size=30))
def test_code128_any_ascii_round_trips(text: str) -> None:
    (result,) = decode_all(raster_code128(Code128Barcode(text).modules))
    assert result.bytes == text.encode("ascii")


@pytest.mark.parametrize(
    "udi",
    [
        UDI,
        "0106901234567892",
        "10A" + GS + "21B",
        "10123" + GS + "21456",
        "01069012345678921012345" + GS + "17271231",
    ],
)
def test_gs1_128_starts_with_fnc1_and_separates_with_fnc1(udi: str) -> None:
    (result,) = decode_all(raster_code128(Code128Barcode(udi, gs1=True).modules))
    assert result.symbology_identifier == "]C1"
    assert result.text == udi


def test_gs1_redundant_separator_is_dropped() -> None:
    symbol = Code128Barcode("0106901234567892" + GS + "10LOT", gs1=True)
    assert symbol.text == "010690123456789210LOT"


@pytest.mark.parametrize("text", ["Mañana", "ó", "器械", "\u00f1"])
def test_code128_refuses_non_ascii(text: str) -> None:
    with pytest.raises(BarcodeError):  # python-barcode alone would print "ñ" as an FNC1
        Code128Barcode(text)


def test_gs1_128_longer_than_48_characters_is_refused() -> None:
    with pytest.raises(BarcodeError):
        Code128Barcode(UDI_LONG, gs1=True)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_datamatrix_any_text_round_trips(text: str) -> None:
    (result,) = decode_all(raster_matrix(DataMatrixBarcode(text).matrix))
    assert result.text == text


@pytest.mark.parametrize("text", ["×", "é", "氧合器", "𠀀🫀", "\x1d\x00"])
def test_datamatrix_non_ascii_is_not_misread_as_another_code_page(text: str) -> None:
    (result,) = decode_all(raster_matrix(DataMatrixBarcode(text).matrix))
    assert result.text == text  # without ECI 26, "×" came back as Shift-JIS "ﾗ"


def test_datamatrix_is_square() -> None:
    symbol = DataMatrixBarcode("ABCDEFGHIJKLM")  # zint would pick an 8x32 rectangle here
    assert len(symbol.matrix) == len(symbol.matrix[0])


def test_datamatrix_errors_are_project_errors() -> None:
    with pytest.raises(BarcodeError):
        DataMatrixBarcode("010690123456789210" + "A" * 21, gs1=True)  # (10) holds at most 20
    with pytest.raises(BarcodeError):
        DataMatrixBarcode("")


# --- choosing the symbol for a scanned code ---


@pytest.mark.parametrize(
    ("raw", "hint", "kind", "gs1", "text"),
    [
        (UDI_SHORT, None, Code128Barcode, True, UDI_SHORT),
        (UDI, None, DataMatrixBarcode, True, UDI),  # as GS1-128 it would be 102 mm wide
        (UDI_SHORT, "]d2", DataMatrixBarcode, True, UDI_SHORT),
        (UDI_SHORT, "DataMatrix", DataMatrixBarcode, True, UDI_SHORT),
        ("]d2" + UDI_SHORT, None, DataMatrixBarcode, True, UDI_SHORT),
        ("]C1" + UDI_SHORT + "\r\n", None, Code128Barcode, True, UDI_SHORT),
        (GS + UDI_SHORT, None, Code128Barcode, True, UDI_SHORT),
        ("(01)06901234567892(17)271231(10)L1", None, Code128Barcode, True, UDI_SHORT),
        (UDI_LONG, "]C1", DataMatrixBarcode, True, UDI_LONG),  # over the 48-character GS1-128 limit
        ("12345678", None, Code128Barcode, False, "12345678"),  # not read as GS1 (12) due date
        ("10ABC", None, Code128Barcode, False, "10ABC"),  # parses as (10) but carries no GS1 signal
        ("10ABC", "gs1", Code128Barcode, True, "10ABC"),  # ParsedCode.scheme passed as the hint
        ("0106901234567892", "]C0", Code128Barcode, False, "0106901234567892"),
        ("+H123ABC01231", None, Code128Barcode, False, "+H123ABC01231"),
        (
            "+H123ABC0123456789/$$3271231LOT1D",
            None,
            DataMatrixBarcode,
            False,
            "+H123ABC0123456789/$$3271231LOT1D",
        ),
        ("+H123ABC01231", "]d1", DataMatrixBarcode, False, "+H123ABC01231"),
        (
            "MA.156.M0.100000.1234567890.S1234567890123.P20240101.E20260101.L1234567",
            None,
            DataMatrixBarcode,
            False,
            "MA.156.M0.100000.1234567890.S1234567890123.P20240101.E20260101.L1234567",
        ),
        ("器械编号123", None, DataMatrixBarcode, False, "器械编号123"),
        # zint refuses a (10) longer than 20: the code is still reproduced, as a plain DataMatrix
        ("010690123456789210" + "A" * 21, "]d2", DataMatrixBarcode, False, "010690123456789210" + "A" * 21),
    ],
)
def test_barcode_for_scanned_code_picks_the_symbol(
    raw: str, hint: str | None, kind: type, gs1: bool, text: str
) -> None:
    symbol = barcode_for_scanned_code(raw, hint)
    assert type(symbol) is kind
    assert (symbol.gs1, symbol.text) == (gs1, text)


def test_wider_slot_allows_a_longer_linear_symbol() -> None:
    symbol = barcode_for_scanned_code(UDI, None, max_linear_width_mm=120)
    assert isinstance(symbol, Code128Barcode)
    assert symbol.gs1


@pytest.mark.parametrize("raw", ["", "\r\n", "]d2", GS])
def test_empty_scans_are_refused(raw: str) -> None:
    with pytest.raises(BarcodeError):
        barcode_for_scanned_code(raw, None)


# --- in a real PDF, rendered the way a printer would ---


def test_barcodes_in_a_pdf_scan_back_exactly(render_page: Callable[..., np.ndarray]) -> None:
    wanted = [
        (Code128Barcode("ECMO-2024-0105abc"), "Code128", "]C0", "ECMO-2024-0105abc"),
        (Code128Barcode(UDI, gs1=True), "Code128", "]C1", UDI),
        (DataMatrixBarcode(UDI_LONG, gs1=True), "DataMatrix", "]d2", UDI_LONG),
        (DataMatrixBarcode("氧合器 批号ABC-123"), "DataMatrix", "]d1", "氧合器 批号ABC-123"),
    ]
    story = []
    for symbol, *_ in wanted:
        story += [symbol, Spacer(0, 20)]
    pdf = build_pdf(make_header(), story)
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert "/XObject" not in page["/Resources"] or not any(
        x.get_object()["/Subtype"] == "/Image" for x in page["/Resources"]["/XObject"].values()
    ), "not vector"

    found = {(r.format.name, r.symbology_identifier, r.text) for r in decode_all(render_page(pdf))}
    assert found == {(fmt, sid, text) for _, fmt, sid, text in wanted}


def test_gs1_human_readable_line_is_printed() -> None:
    pdf = build_pdf(make_header(), [Code128Barcode(UDI, gs1=True)])
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "(01)06901234567892(17)271231(10)LOT2024A(21)SN000123" in text
