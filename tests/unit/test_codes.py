"""UDI parser: a table of real-shaped scans (every scheme, every wedge form) and the contract.

Expected results are written out in full, so a field the parser should have left empty but
filled (a wrong binding) fails just like a missing one. ``today`` is fixed for the GS1 year window.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from ecmo_desktop.domain.codes import (
    MAX_CODE_LENGTH,
    ParsedCode,
    normalise_scan,
    parse_code,
    parse_code_json,
)
from ecmo_desktop.domain.errors import CodeError

TODAY = date(2025, 6, 1)
GTIN = "06901234567892"  # EAN-13 6901234567892 padded; check digit 2
IME_HINT = "请切换到英文输入法后重新扫码"
REASONS = {
    "empty",
    "too_long",
    "invalid_character",
    "invalid_check_digit",
    "invalid_date",
    "invalid_length",
    "truncated",
    "duplicate_ai",
    "concatenated_scans",
    "unrecognized",
}
CONTRACT_KEYS = ["scheme", "gtin", "product_id", "lot", "serial", "expiry", "production_date", "raw"]


def gs1(
    gtin: str | None = GTIN,
    *,
    lot: str | None = None,
    serial: str | None = None,
    expiry: str | None = None,
    production: str | None = None,
) -> dict[str, Any]:
    return {
        "scheme": "gs1",
        "gtin": gtin,
        "product_id": gtin,
        "lot": lot,
        "serial": serial,
        "expiry": expiry,
        "production_date": production,
    }


def hibc(
    product_id: str | None = "A123PROD1",
    *,
    lot: str | None = None,
    serial: str | None = None,
    expiry: str | None = None,
    production: str | None = None,
) -> dict[str, Any]:
    return {
        "scheme": "hibc",
        "gtin": None,
        "product_id": product_id,
        "lot": lot,
        "serial": serial,
        "expiry": expiry,
        "production_date": production,
    }


def ma(
    *,
    lot: str | None = None,
    serial: str | None = None,
    expiry: str | None = None,
    production: str | None = None,
    product_id: str = "MA.156.M0.100001.1001",
) -> dict[str, Any]:
    return {
        "scheme": "ma",
        "gtin": None,
        "product_id": product_id,
        "lot": lot,
        "serial": serial,
        "expiry": expiry,
        "production_date": production,
    }


def gtin_only(scheme: str, gtin: str) -> dict[str, Any]:
    return {
        "scheme": scheme,
        "gtin": gtin,
        "product_id": gtin,
        "lot": None,
        "serial": None,
        "expiry": None,
        "production_date": None,
    }


def plain(serial: str) -> dict[str, Any]:
    return {
        "scheme": "plain",
        "gtin": None,
        "product_id": None,
        "lot": None,
        "serial": serial,
        "expiry": None,
        "production_date": None,
    }


FULL = gs1(lot="12345", serial="ABC", expiry="2025-12-31")

CASES: list[tuple[str, str, dict[str, Any] | str]] = [
    # --- GS1 element strings as wedges type them -------------------------------------------------
    ("gs1-raw", "0106901234567892172512311012345\x1d21ABC", FULL),
    ("gs1-]d2", "]d20106901234567892172512311012345\x1d21ABC", FULL),
    ("gs1-]C1-leading-fnc1", "]C1\x1d0106901234567892172512311012345\x1d21ABC", FULL),
    ("gs1-]Q3", "]Q30106901234567892172512311012345\x1d21ABC", FULL),
    ("gs1-]e0", "]e00106901234567892", gs1()),
    ("gs1-<GS>", "0106901234567892172512311012345<GS>21ABC", FULL),
    ("gs1-<gs>-lowercase", "0106901234567892172512311012345<gs>21ABC", FULL),
    ("gs1-{FNC1}", "{FNC1}0106901234567892172512311012345{FNC1}21ABC", FULL),
    ("gs1-[GS]", "0106901234567892172512311012345[GS]21ABC", FULL),
    ("gs1-caret", "0106901234567892172512311012345^]21ABC", FULL),
    ("gs1-symbol-for-gs", "0106901234567892172512311012345\u241d21ABC", FULL),
    ("gs1-crlf-suffix", "0106901234567892172512311012345\x1d21ABC\r\n", FULL),
    ("gs1-double-enter", "0106901234567892172512311012345\x1d21ABC\r\n\r\n", FULL),
    ("gs1-tab-and-spaces", "\t  0106901234567892172512311012345\x1d21ABC  \t", FULL),
    ("gs1-trailing-gs", "0106901234567892172512311012345\x1d21ABC\x1d", FULL),
    ("gs1-lf-prefix", "\n]d20106901234567892172512311012345\x1d21ABC", FULL),
    ("gs1-gtin-only", "0106901234567892", gs1()),
    ("gs1-fullwidth-digits", "０１０６９０１２３４５６７８９２", gs1()),
    ("gs1-gtin8-padded", "0100000096385074", gs1("00000096385074")),
    ("gs1-gtin12-padded", "0100036000291452", gs1("00036000291452")),
    ("gs1-gtin14-indicator", "011069012345678417261130", gs1("10690123456784", expiry="2026-11-30")),
    (
        "gs1-production-and-expiry",
        "0106901234567892112401151727011510L1",
        gs1(lot="L1", expiry="2027-01-15", production="2024-01-15"),
    ),
    ("gs1-dd00-month-end", "010690123456789217250200", gs1(expiry="2025-02-28")),
    ("gs1-dd00-leap-february", "010690123456789217240200", gs1(expiry="2024-02-29")),
    ("gs1-leap-day", "010690123456789211240229", gs1(production="2024-02-29")),
    ("gs1-already-expired", "010690123456789217200101", gs1(expiry="2020-01-01")),
    ("gs1-window-plus-50", "010690123456789217750101", gs1(expiry="2075-01-01")),
    ("gs1-window-plus-51-is-past", "010690123456789217760101", gs1(expiry="1976-01-01")),
    ("gs1-lot-gs1-charset", "010690123456789210A-b/c.d%&'*+,:;=?_!\"", gs1(lot="A-b/c.d%&'*+,:;=?_!\"")),
    ("gs1-lot-20-chars", "010690123456789210ABCDEFGHIJKLMNOPQRST", gs1(lot="ABCDEFGHIJKLMNOPQRST")),
    ("gs1-serial-lowercase-kept", "]d20106901234567892\x1d21abc123", gs1(serial="abc123")),
    ("gs1-other-ai-ignored", "0106901234567892240REF-77\x1d10L9", gs1(lot="L9")),
    ("gs1-secondary-barcode-only", "]C117251231\x1d10LOT7", gs1(None, lot="LOT7", expiry="2025-12-31")),
    ("gs1-capslock-]D2", "]D20106901234567892172512311012345\x1d21abc", FULL),
    ("gs1-capslock-]c1", "]c10106901234567892\x1d21XYZ", gs1(serial="xyz")),
    ("gs1-iso15434-envelope", "[)>\x1e05\x1d0106901234567892\x1d17251231\x1e\x04", gs1(expiry="2025-12-31")),
    ("gs1-iso15434-substitutes", "[)><RS>05<GS>0106901234567892<GS>10A1<RS><EOT>", gs1(lot="A1")),
    # --- GS1 bracketed human-readable form ---------------------------------------------------------
    ("hri", "(01)06901234567892(17)251231(10)12345(21)ABC", FULL),
    ("hri-spaces", "(01) 06901234567892 (17) 251231 (10) 12345 (21) ABC", FULL),
    (
        "hri-fullwidth",
        "（０１）０６９０１２３４５６７８９２（１７）２５１２３１（１０）１２３４５（２１）ＡＢＣ",
        FULL,
    ),
    ("hri-]Q3", "]Q3(01)06901234567892(21)S1", gs1(serial="S1")),
    ("hri-capslock-]q3", "]q3(01)06901234567892(21)s1", gs1(serial="S1")),
    ("hri-gtin13-unpadded", "(01)6901234567892(10)X", gs1(lot="X")),
    ("hri-gtin12-unpadded", "(01)036000291452", gs1("00036000291452")),
    ("hri-gtin8-unpadded", "(01)96385074", gs1("00000096385074")),
    ("hri-lot-with-parenthesis", "(01)06901234567892(10)A(B)", gs1(lot="A(B)")),
    ("hri-run-on-fixed-fields", "(01)0690123456789217251231", gs1(expiry="2025-12-31")),
    # --- GS1 Digital Link (QR with a URL) ----------------------------------------------------------
    (
        "digital-link",
        "https://id.gs1.org/01/09506000134352/10/ABC?17=251231",
        gs1("09506000134352", lot="ABC", expiry="2025-12-31"),
    ),
    (
        "digital-link-short-gtin-serial",
        "https://example.com/dl/01/9506000134352/21/S%2F1?11=240101&x=1",
        gs1("09506000134352", serial="S/1", production="2024-01-01"),
    ),
    # --- EAN / UPC / bare GTIN --------------------------------------------------------------------
    ("ean13", "6901234567892", gtin_only("ean13", GTIN)),
    ("ean13-]E0", "]E06901234567892", gtin_only("ean13", GTIN)),
    ("ean13-fullwidth", "６９０１２３４５６７８９２", gtin_only("ean13", GTIN)),
    ("upc-a", "036000291452", gtin_only("upc", "00036000291452")),
    ("gtin8", "96385074", gtin_only("gs1", "00000096385074")),
    ("gtin14-itf", "]I110690123456784", gtin_only("gs1", "10690123456784")),
    # --- HIBC -------------------------------------------------------------------------------------
    ("hibc-primary", "+A123BJC5D6E71G", hibc("A123BJC5D6E71")),
    (
        "hibc-concatenated-julian",
        "+A123BJC5D6E71/$$52001510X3C",
        hibc("A123BJC5D6E71", lot="10X3", expiry="2020-01-15"),
    ),
    (
        "hibc-yymmdd-serial-mfg",
        "+A123PROD1/$$3251231LOT1/S999/16D202401016",
        hibc(lot="LOT1", serial="999", expiry="2025-12-31", production="2024-01-01"),
    ),
    ("hibc-$+serial", "+A123PROD1/$+SER123+", hibc(serial="SER123")),
    ("hibc-$lot", "+A123PROD1/$LOT98", hibc(lot="LOT9")),
    ("hibc-$$+dated-serial", "+A123PROD1/$$+3270315SN0042/", hibc(serial="SN0042", expiry="2027-03-15")),
    ("hibc-mmyy", "+A123PROD1/$$0126LOT4", hibc(lot="LOT", expiry="2026-01-31")),
    ("hibc-mmddyy", "+A123PROD1/$$2123125LOTB", hibc(lot="LOT", expiry="2025-12-31")),
    ("hibc-yymmddhh", "+A123PROD1/$$425123123LOTI", hibc(lot="LOT", expiry="2025-12-31")),
    ("hibc-yyjjjhh", "+A123PROD1/$$62503210LOTE", hibc(lot="LOT", expiry="2025-02-01")),
    ("hibc-no-date", "+A123PROD1/$$7LOT2", hibc(lot="LOT")),
    ("hibc-quantity-2", "+A123PROD1/$$8103251231LOTL", hibc(lot="LOT", expiry="2025-12-31")),
    ("hibc-quantity-5", "+A123PROD1/$$9000103251231LOTM", hibc(lot="LOT", expiry="2025-12-31")),
    ("hibc-14D-agrees", "+A123PROD1/$LOT/14D20261231V", hibc(lot="LOT", expiry="2026-12-31")),
    ("hibc-secondary-only", "+$$3251231LOT9IM", hibc(None, lot="LOT9", expiry="2025-12-31")),
    ("hibc-secondary-julian", "+25001LOTXI2", hibc(None, lot="LOTX", expiry="2025-01-01")),
    ("hibc-code39-asterisks", "*+A123PROD1I*", hibc()),
    ("hibc-capslock", "+a123bjc5d6e71/$$52001510x3c", hibc("A123BJC5D6E71", lot="10X3", expiry="2020-01-15")),
    ("hibc-space-check-char", "+A123PRODK1 \r\n", hibc("A123PRODK1")),
    ("hibc-]A0", "]A0+A123PROD1I", hibc()),
    # --- MA (IDcode) ------------------------------------------------------------------------------
    (
        "ma-full",
        "MA.156.M0.100001.1001.S12345.M210101.L2101.E230101.C3",
        ma(lot="2101", serial="12345", expiry="2023-01-01", production="2021-01-01"),
    ),
    (
        "ma-8-digit-dates",
        "MA.156.M0.100001.1001.L88A.M20240131.E20270131",
        ma(lot="88A", expiry="2027-01-31", production="2024-01-31"),
    ),
    ("ma-di-only", "MA.156.M0.100001.1001", ma()),
    ("ma-validity-as-expiry", "MA.156.M0.100001.1001.V20240101", ma(expiry="2024-01-01")),
    ("ma-expiry-wins-over-validity", "MA.156.M0.100001.1001.E20230228.V20240101", ma(expiry="2023-02-28")),
    ("ma-check-char-never-verified", "MA.156.M0.100001.1001.S9.CZ", ma(serial="9")),
    ("ma-sterilisation-lot", "MA.156.M0.100001.1001.D77.L5", ma(lot="5")),
    ("ma-capslock", "ma.156.m0.100001.1001.s12345.lab", ma(serial="12345", lot="AB")),
    ("ma-fullwidth", "ＭＡ．１５６．Ｍ０．１００００１．１００１．Ｓ１", ma(serial="1")),
    ("ma-qr-]Q1", "]Q1MA.156.M0.100001.1001.S7", ma(serial="7")),
    # --- plain label codes ------------------------------------------------------------------------
    ("plain-serial", "SN-2024-0001", plain("SN-2024-0001")),
    ("plain-lowercase-folded", "abc123", plain("ABC123")),
    ("plain-code39-asterisks", "*ABC123*", plain("ABC123")),
    ("plain-dots-slashes", "a1b2/c3.d4", plain("A1B2/C3.D4")),
    ("plain-7-digits", "1234567", plain("1234567")),
    ("plain-fullwidth", "ａｂｃ１２３", plain("ABC123")),
    ("plain-40-chars", "A" * 39 + "1", plain("A" * 39 + "1")),
    # --- empty and size ---------------------------------------------------------------------------
    ("empty", "", "empty"),
    ("spaces", "   ", "empty"),
    ("whitespace-mix", "\t\r\n \r\n", "empty"),
    ("ideographic-space", "\u3000\u3000", "empty"),
    ("only-symbology-id", "]d2", "empty"),
    ("only-gs-substitute", "<GS>", "empty"),
    ("paste-10kb", "0106901234567892" * 640, "too_long"),
    ("paste-1mb", "A" * 1_048_576, "too_long"),
    ("just-over-limit", "1" * (MAX_CODE_LENGTH + 1), "too_long"),
    # --- characters -------------------------------------------------------------------------------
    ("chinese", "请扫码", "invalid_character"),
    ("chinese-in-gs1", "0106901234567892批号12345", "invalid_character"),
    ("ime-full-stop", "MA。156", "invalid_character"),
    ("ime-yen", "￥12", "invalid_character"),
    ("accented", "é123", "invalid_character"),
    ("emoji", "😀123", "invalid_character"),
    ("lone-surrogate", "0106901234567892\ud800", "invalid_character"),
    ("nul", "0106901234567892\x00", "invalid_character"),
    ("rs-outside-envelope", "0106901234567892\x1e", "invalid_character"),
    ("eot-suffix", "0106901234567892\x04", "invalid_character"),
    ("del", "ABC\x7f123", "invalid_character"),
    ("gs1-lot-hash", "010690123456789210ABC#1", "invalid_character"),
    ("gs1-lot-space", "010690123456789210AB CD", "invalid_character"),
    ("gs1-date-letter", "010690123456789217251O31", "invalid_character"),
    ("plain-space", "SN 123", "invalid_character"),
    ("plain-hash", "SN#123", "invalid_character"),
    ("text-before-bracket", "X(01)06901234567892", "invalid_character"),
    ("hibc-underscore", "+A123PR_D1U", "invalid_character"),
    ("hibc-pcn-dash", "+A123PR-D1U", "invalid_character"),
    ("ma-dash", "MA.156.M0.100001.1001.S1-2", "invalid_character"),
    ("digital-link-encoded-gs", "https://id.gs1.org/01/09506000134352/10/AB%1DC", "invalid_character"),
    # --- check digits -----------------------------------------------------------------------------
    ("gs1-wrong-check", "0106901234567893172512311012345", "invalid_check_digit"),
    ("hri-wrong-check", "(01)06901234567891(10)A", "invalid_check_digit"),
    ("gs1-gtin13-unpadded-raw", "01690123456789217251231", "invalid_check_digit"),
    ("ean13-wrong-check", "6901234567893", "invalid_check_digit"),
    ("upc-wrong-check", "036000291453", "invalid_check_digit"),
    ("gtin8-shaped-serial", "10023456", "invalid_check_digit"),
    ("gtin14-wrong-check", "10690123456785", "invalid_check_digit"),
    ("sscc-wrong-check", "]C100106141411234567891", "invalid_check_digit"),
    ("digital-link-wrong-check", "https://id.gs1.org/01/09506000134353", "invalid_check_digit"),
    ("hibc-wrong-check", "+A123BJC5D6E71X", "invalid_check_digit"),
    ("hibc-concatenated-wrong-check", "+A123BJC5D6E71/$$52001510X3D", "invalid_check_digit"),
    # --- dates ------------------------------------------------------------------------------------
    ("gs1-month-13", "010690123456789217991301", "invalid_date"),
    ("gs1-february-30", "(01)06901234567892(17)250230", "invalid_date"),
    ("gs1-february-29-non-leap", "010690123456789211250229", "invalid_date"),
    ("gs1-month-00", "010690123456789217250001", "invalid_date"),
    ("gs1-april-31", "010690123456789217250431", "invalid_date"),
    ("hibc-julian-366-non-leap", "+A123PROD1/$$5253660LOTM", "invalid_date"),
    ("hibc-february-30", "+A123PROD1/$$3250230LOTA", "invalid_date"),
    ("hibc-hour-25", "+A123PROD1/$$425123125LOTK", "invalid_date"),
    ("ma-month-13", "MA.156.M0.100001.1001.E231301", "invalid_date"),
    ("ma-short-date", "MA.156.M0.100001.1001.E2302", "invalid_date"),
    ("ma-february-29-non-leap", "MA.156.M0.100001.1001.M20230229", "invalid_date"),
    # --- lengths ----------------------------------------------------------------------------------
    ("gs1-lot-21", "010690123456789210ABCDEFGHIJKLMNOPQRSTU", "invalid_length"),
    ("hri-serial-21", "(01)06901234567892(21)ABCDEFGHIJKLMNOPQRSTU", "invalid_length"),
    (
        "gs1-missing-gs-between-lot-and-serial",
        "010690123456789210LOT1234567890121SERIAL123",
        "invalid_length",
    ),
    ("hibc-lot-19", "+A123PROD1/$$3251231ABCDEFGHIJKLMNOPQRS+", "invalid_length"),
    ("plain-too-short", "A1", "invalid_length"),
    ("plain-41-chars", "A" * 40 + "1", "invalid_length"),
    # --- truncated --------------------------------------------------------------------------------
    ("gs1-gtin-cut", "0106901234", "truncated"),
    ("gs1-15-digits", "010690123456789", "truncated"),
    ("gs1-date-cut", "0106901234567892172512", "truncated"),
    ("gs1-stray-digit", "01069012345678921", "truncated"),
    ("gs1-ai-without-data", "0106901234567892\x1d10ABC\x1d21", "truncated"),
    ("hri-ai-without-data", "(01)06901234567892(17)", "truncated"),
    ("hibc-too-short", "+A1", "truncated"),
    ("hibc-space-check-lost", "+A123PRODK1", "truncated"),
    ("ma-di-incomplete", "MA.156.M0.100001", "truncated"),
    ("ma-trailing-dot", "MA.156.M0.100001.1001.", "truncated"),
    ("iso15434-empty", "[)>\x1e05\x1d\x1e\x04", "truncated"),
    # --- repeated fields and doubled scans --------------------------------------------------------
    ("gs1-repeated-lot", "0106901234567892\x1d10A\x1d10B", "duplicate_ai"),
    ("hri-repeated-lot", "(01)06901234567892(10)ABC(10)DEF", "duplicate_ai"),
    ("hri-repeated-expiry", "(01)06901234567892(17)251231(17)261231", "duplicate_ai"),
    ("hibc-serial-twice", "+A123PROD1/$+SER1/SSER23", "duplicate_ai"),
    ("hibc-14D-conflicts", "+A123PROD1/$$3251231LOT/14D20260101$", "duplicate_ai"),
    ("ma-serial-twice", "MA.156.M0.100001.1001.S1.S2", "duplicate_ai"),
    ("gs1-twice-with-gs", "0106901234567892\x1d0106901234567892", "concatenated_scans"),
    (
        "gs1-twice-no-gs",
        "01069012345678921725123110123450106901234567892172512311012345",
        "concatenated_scans",
    ),
    ("gs1-twice-swallowed-by-lot", "010690123456789210AB0106901234567892", "concatenated_scans"),
    ("gs1-secondary-twice", "17251231\x1d10A\x1d17251231\x1d10A", "concatenated_scans"),
    ("hri-twice", "(01)06901234567892(10)A(01)06901234567892(10)A", "concatenated_scans"),
    ("ean13-twice", "69012345678926901234567892", "concatenated_scans"),
    ("ean13-then-gs1", "69012345678920106901234567892", "concatenated_scans"),
    ("hibc-primary-then-secondary", "+A123PROD1I+$$3251231LOT9IM", "concatenated_scans"),
    ("ma-twice", "MA.156.M0.100001.1001.S1MA.156.M0.100001.1001.S2", "concatenated_scans"),
    ("two-lines", "0106901234567892\r\n0106901234567892", "concatenated_scans"),
    ("inner-tab", "6901234567892\t6901234567892", "concatenated_scans"),
    ("inner-symbology-id", "0106901234567892]d20106901234567892", "concatenated_scans"),
    # --- not a device code ------------------------------------------------------------------------
    ("url", "https://www.example.com/product?id=42", "unrecognized"),
    ("url-with-date-path", "https://example.com/2024/01/05/news", "unrecognized"),
    ("gs1-unknown-ai-raw", "0106901234567892231234", "unrecognized"),
    ("hri-unknown-ai", "(01)06901234567892(23)X", "unrecognized"),
    ("gs1-symbology-garbage", "]d2HELLO", "unrecognized"),
    ("gtin-all-zero", "0100000000000000", "unrecognized"),
    ("iso15434-format-06", "[)>\x1e06\x1dPABC\x1e\x04", "unrecognized"),
    ("hibc-bad-date-flag", "+A123PROD1/$$A251231LOTJ", "unrecognized"),
    ("hibc-unknown-supplement", "+A123PROD1/$LOT/Q5R", "unrecognized"),
    ("hibc-lic-starts-with-digit", "+1234PROD1C", "unrecognized"),
    ("ma-unknown-segment", "MA.156.M0.100001.1001.X9", "unrecognized"),
    ("ma-bad-country", "MA.15.M0.100001.1001", "unrecognized"),
    ("pinyin", "nihao", "unrecognized"),
    ("plain-trailing-dash", "ABC-", "unrecognized"),
    ("punctuation-only", "----", "unrecognized"),
]


def _fields(result: ParsedCode) -> dict[str, Any]:
    data = result.to_json()
    del data["raw"]
    return data


def test_table_is_large_and_ids_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) >= 100
    assert len(set(ids)) == len(ids)
    assert {e for _, _, e in CASES if isinstance(e, str)} == REASONS


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_table(text: str, expected: dict[str, Any] | str) -> None:
    status, payload = parse_code_json(text, today=TODAY)
    if isinstance(expected, str):
        assert status == 2, payload
        assert payload["error"]["reason"] == expected, payload
        with pytest.raises(CodeError) as caught:
            parse_code(text, today=TODAY)
        assert caught.value.reason == expected
        assert payload["error"]["message"] == str(caught.value)
    else:
        assert status == 0, payload
        assert {k: v for k, v in payload.items() if k != "raw"} == expected
        assert _fields(parse_code(text, today=TODAY)) == expected


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("]C1<GS>0106901234567892{FNC1}10ABC<gs>21xyz\r\n", "0106901234567892\x1d10ABC\x1d21xyz"),
        ("]D20106901234567892\x1d21abc", "0106901234567892\x1d21ABC"),
        ("０１０６９０１２３４５６７８９２", "0106901234567892"),
        ("  (01)06901234567892(10)A \t", "(01)06901234567892(10)A"),
        ("+a123prod1i", "+A123PROD1I"),
        ("ma.156.m0.100001.1001.s1", "MA.156.M0.100001.1001.S1"),
        ("abc123\n", "abc123"),
    ],
)
def test_raw_is_the_cleaned_scan(text: str, raw: str) -> None:
    assert parse_code(text, today=TODAY).raw == raw
    assert normalise_scan(text) == raw


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\ufeff]d2{FNC1}0106901234567892<GS>10A\r\n", "0106901234567892\x1d10A"),
        ("\x1d\x1d0106901234567892\x1d", "0106901234567892"),
        ("<RS><EOT>", "\x1e\x04"),
        ("ＡＢＣ\u3000", "ABC"),
        ("]E06901234567892", "6901234567892"),
        ("plain text", "plain text"),
    ],
)
def test_normalise_scan(text: str, expected: str) -> None:
    assert normalise_scan(text) == expected


def test_json_contract_shape() -> None:
    status, payload = parse_code_json("0106901234567892172512311012345\x1d21ABC", today=TODAY)
    assert status == 0
    assert list(payload) == CONTRACT_KEYS
    assert json.loads(json.dumps(payload)) == payload
    assert payload["raw"] == "0106901234567892172512311012345\x1d21ABC"


def test_json_error_shape_carries_chinese_message() -> None:
    status, payload = parse_code_json("0106901234567893", today=TODAY)
    assert status == 2
    assert list(payload) == ["error"]
    assert list(payload["error"]) == ["reason", "message"]
    assert payload["error"]["message"] == "GTIN 校验位错误：应为 2，实为 3"


@pytest.mark.parametrize("text", ["请扫码", "0106901234567892批号", "MA。156", "￥12"])
def test_ime_characters_ask_to_switch_input_method(text: str) -> None:
    with pytest.raises(CodeError) as caught:
        parse_code(text, today=TODAY)
    assert caught.value.reason == "invalid_character"
    assert IME_HINT in str(caught.value)


@pytest.mark.parametrize("text", ["é123", "😀123", "\ud800", "0106901234567892\x00"])
def test_other_characters_do_not_blame_the_input_method(text: str) -> None:
    with pytest.raises(CodeError) as caught:
        parse_code(text, today=TODAY)
    assert IME_HINT not in str(caught.value)
    assert str(caught.value).encode("utf-8")  # no lone surrogate leaks into the message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0106901234567893", "应为 2，实为 3"),
        ("01690123456789217251231", "补一个前导 0"),
        ("6901234567893", "EAN-13"),
        ("+A123BJC5D6E71X", "应为“G”"),
        ("010690123456789217991301", "月份 13"),
        ("(01)06901234567892(17)250230", "2025 年 2 月只有 28 天"),
        ("010690123456789210ABCDEFGHIJKLMNOPQRSTU", "缺少分隔符"),
        ("0106901234567892\x1d10A\x1d10B", "(10)"),
        ("(01)06901234567892(23)X", "(23)"),
        ("0106901234", "只读到 8 位"),
        ("https://www.example.com/", "网址"),
        ("x" * 20_000, "20000"),
    ],
)
def test_messages_name_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(CodeError) as caught:
        parse_code(text, today=TODAY)
    assert fragment in str(caught.value)


def test_item_key_needs_device_identifier_and_serial() -> None:
    assert parse_code("0106901234567892\x1d21S1", today=TODAY).item_key == f"gs1:{GTIN}:S1"
    assert parse_code("+A123PROD1/$+SER123+", today=TODAY).item_key == "hibc:A123PROD1:SER123"
    assert parse_code("MA.156.M0.100001.1001.S9", today=TODAY).item_key == "ma:MA.156.M0.100001.1001:9"
    assert parse_code("0106901234567892\x1d10L1", today=TODAY).item_key is None  # a lot is not an item
    assert parse_code("SN-2024-0001", today=TODAY).item_key is None  # no DI: the caller adds the product
    assert parse_code("]C117251231\x1d21S1", today=TODAY).item_key is None


def test_same_item_same_key_whatever_the_form() -> None:
    forms = [
        "0106901234567892\x1d21S1",
        "]d20106901234567892<GS>21S1\r\n",
        "(01)06901234567892(21)S1",
        "(01)6901234567892(21)S1",
        "https://id.gs1.org/01/06901234567892/21/S1",
    ]
    assert {parse_code(f, today=TODAY).item_key for f in forms} == {f"gs1:{GTIN}:S1"}
    # HIBC: the primary alone and the concatenated form name the same product
    assert (
        parse_code("+A123PROD1I", today=TODAY).device_identifier
        == parse_code("+A123PROD1/$+SER123+", today=TODAY).device_identifier
    )


@pytest.mark.parametrize(
    ("text", "validated", "identifier"),
    [
        ("0106901234567892", True, GTIN),
        ("]C117251231", False, None),
        ("+A123PROD1I", True, "A123PROD1"),
        ("MA.156.M0.100001.1001.C3", False, "MA.156.M0.100001.1001"),
        ("6901234567892", True, GTIN),
        ("036000291452", True, "00036000291452"),
        ("SN-2024-0001", False, None),
    ],
)
def test_validation_flag_and_device_identifier(text: str, validated: bool, identifier: str | None) -> None:
    result = parse_code(text, today=TODAY)
    assert result.is_validated is validated
    assert result.device_identifier == identifier


def test_window_moves_with_today() -> None:
    assert parse_code("010690123456789217500101", today=date(2000, 1, 1)).expiry == date(2050, 1, 1)
    assert parse_code("010690123456789217510101", today=date(2000, 1, 1)).expiry == date(1951, 1, 1)
    assert parse_code("010690123456789217010101", today=date(2099, 1, 1)).expiry == date(2101, 1, 1)


def test_default_today_is_used_when_not_given() -> None:
    yy = date.today().year % 100
    result = parse_code(f"0106901234567892\x1d17{yy:02d}0101")
    assert result.expiry == date(date.today().year, 1, 1)


def test_non_text_is_refused_not_crashed() -> None:
    status, payload = parse_code_json(b"0106901234567892", today=TODAY)  # type: ignore[arg-type]
    assert status == 2
    assert payload["error"]["reason"] == "unrecognized"


def test_huge_paste_is_refused() -> None:
    status, payload = parse_code_json("0" * 1_048_576, today=TODAY)
    assert payload["error"]["reason"] == "too_long"
    assert status == 2
