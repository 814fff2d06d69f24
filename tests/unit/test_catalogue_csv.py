"""Catalogue CSV: round trip, and each bad-input class of RELIABILITY.md §1 "Import files"."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ecmo_desktop.domain.devices import Product, TraceRow, gs1_check_digit
from ecmo_desktop.exchange.catalogue_csv import read_catalogue, write_catalogue, write_trace

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def gtin(body13: str) -> str:
    return body13 + str(gs1_check_digit(body13))


G1 = gtin("0690123400001")
G2 = gtin("0690123400002")
EAN13 = G2[1:]  # the same GTIN as a 13-digit EAN, as Excel leaves it after stripping the leading 0


def product(i: int, **kw: object) -> Product:
    base: dict[str, object] = dict(
        id=i,
        category="oxygenator",
        name=f"氧合器{i}",
        manufacturer="Maquet",
        model=f"M-{i}",
        gtin=None,
        udi_di=None,
        nmpa_number="国械注进20173450123",
        single_use=True,
        active=True,
        version=1,
        created_at=NOW,
    )
    base.update(kw)
    return Product(**base)  # type: ignore[arg-type]


HEADER = "类别,产品名称,生产企业,型号,GTIN,注册证编号,一次性\n"


def read(text: str, encoding: str = "utf-8") -> object:
    return read_catalogue(text.encode(encoding))


def messages(result: object) -> str:
    return " | ".join(p.user_message() for p in result.problems)  # type: ignore[attr-defined]


def test_round_trip_keeps_every_field_and_guards_formulas() -> None:
    products = [
        product(1, gtin=G1),
        product(
            2,
            category="drainage_cannula",
            name='=HYPERLINK("http://x")',
            manufacturer="美敦力",
            model="-25Fr",
            gtin=None,
            udi_di="+H123PCN1",
            nmpa_number="",
            single_use=False,
        ),
        product(
            3, category="tubing_pack", name="管路套包，含接头", manufacturer='厂"家"', model="T 1", gtin=G2
        ),
    ]
    data = write_catalogue(products)
    assert data.startswith("\ufeff".encode())
    assert b"'=HYPERLINK" in data and b"'-25Fr" in data and b"'+H123PCN1" in data
    result = read_catalogue(data)
    assert result.ok, messages(result)
    assert list(result.rows) == [p.as_input() for p in products]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_encodings_chinese_excel_writes(encoding: str) -> None:
    result = read(HEADER + f"氧合器,膜式氧合器,汉诺医疗,HN-1,{G1},国械注准20213100456,是\n", encoding)
    assert result.ok, messages(result)  # type: ignore[attr-defined]
    assert result.rows[0].name == "膜式氧合器" and result.rows[0].manufacturer == "汉诺医疗"  # type: ignore[attr-defined]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_sniffed_and_english_headers_work(delimiter: str) -> None:
    header = ["category", "name", "manufacturer", "model", "gtin", "nmpa_number", "single_use"]
    values = ["pump_head", "RotaFlow", "Maquet", '"RF-32, 2nd; gen"', G1, "国械注进20163451234", "no"]
    result = read(delimiter.join(header) + "\n" + delimiter.join(values) + "\n")
    assert result.ok, messages(result)  # type: ignore[attr-defined]
    row = result.rows[0]  # type: ignore[attr-defined]
    assert (row.category, row.model, row.single_use) == ("pump_head", "RF-32, 2nd; gen", False)
    assert result.delimiter == delimiter  # type: ignore[attr-defined]


def test_identical_duplicates_are_dropped_and_conflicting_ones_refused() -> None:
    row = f"氧合器,A,厂,M,{G1},国械注进20173450123,是\n"
    same = read(HEADER + row + row)
    assert same.ok and len(same.rows) == 1  # type: ignore[attr-defined]
    assert "第 2 行" in same.notices[0].user_message() and "完全相同" in same.notices[0].user_message()  # type: ignore[attr-defined]
    clash = read(HEADER + row + f"氧合器,B,厂,M,{G1},国械注进20173450123,是\n")
    assert not clash.ok and "同一产品" in messages(clash)  # type: ignore[attr-defined]


def test_blank_nmpa_number_is_accepted_with_a_notice() -> None:
    result = read(HEADER + f"接头,Y 型接头,厂,Y,{G1},,是\n")
    assert result.ok and result.rows[0].nmpa_number == ""  # type: ignore[attr-defined]
    assert "R5" in result.notices[0].user_message()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("gtin_cell", "words"),
    [
        ("6.90123E+12", "科学计数法"),
        ("6.90123E12", "科学计数法"),
        ("6901234000016.0", "当作数字"),
        ("12345678905", "前导零"),
        (G1[:-1] + str((int(G1[-1]) + 1) % 10), "校验位"),
        ("69012A", "只能包含数字"),
    ],
)
def test_excel_mangled_and_wrong_gtins_are_refused_with_a_message(gtin_cell: str, words: str) -> None:
    result = read(HEADER + f"氧合器,A,厂,M,{gtin_cell},国械注进20173450123,是\n")
    assert not result.ok and result.rows == ()  # type: ignore[attr-defined]
    text = messages(result)
    assert words in text and "第 2 行" in text and "GTIN" in text


def test_short_legitimate_gtins_are_padded_after_their_check_digit() -> None:
    result = read(HEADER + f"氧合器,A,厂,M,{EAN13},国械注进20173450123,是\n")
    assert result.ok and result.rows[0].gtin == G2  # type: ignore[attr-defined]


def test_a_model_that_looks_like_a_number_is_kept_but_excel_notation_is_not() -> None:
    ok = read(HEADER + f"氧合器,A,厂,2E10,{G1},国械注进20173450123,是\n")
    assert ok.ok and ok.rows[0].model == "2E10"  # type: ignore[attr-defined]
    bad = read(HEADER + f"氧合器,A,厂,7.1E+03,{G1},国械注进20173450123,是\n")
    assert not bad.ok and "科学计数法" in messages(bad)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "文件为空"),
        ("产品名称,型号\n氧合器,M\n", "缺少必需的列“类别”"),
        (HEADER, "没有产品行"),
        (HEADER + "膜肺,A,厂,M,,,是\n", "不是有效的器械类别"),
        (HEADER + "氧合器,,厂,M,,,是\n", "必填"),
        (HEADER + "氧合器,A,厂,M,,,也许\n", "应为“是”或“否”"),
    ],
)
def test_structural_problems_refuse_the_file(text: str, words: str) -> None:
    result = read(text)
    assert not result.ok and words in messages(result)  # type: ignore[attr-defined]


def test_one_bad_row_refuses_the_whole_file() -> None:
    result = read(HEADER + f"氧合器,A,厂,M,{G1},国械注进1,是\n氧合器,B,厂,M,6.9E+12,国械注进2,是\n")
    assert not result.ok and result.rows == ()  # type: ignore[attr-defined]
    assert "第 3 行" in messages(result)


def test_undecodable_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="编码"):
        read_catalogue(b"\x81\x30\xff\xff\x80")


def test_trace_csv_has_one_line_per_use_and_guards_cells() -> None:
    row = TraceRow(
        usage_id=1,
        bound_at=NOW,
        bound_by_name="陈静",
        procedure_id=None,
        override_reason="急用",
        warnings=("warn_no_nmpa",),
        removed_at=None,
        removal_reason=None,
        voided_at=None,
        void_reason=None,
        item_id=1,
        item_key="gs1:x:1",
        serial="SN1",
        lot="L1",
        expiry=date(2027, 12, 31),
        raw_code="x",
        symbology="gs1",
        product_id=1,
        product_name="氧合器",
        category="oxygenator",
        manufacturer="Maquet",
        model="M",
        gtin=G1,
        udi_di=None,
        nmpa_number="",
        run_id=1,
        run_number=1,
        run_status="on_ecmo",
        patient_id=1,
        patient_name="=王建国",
        mrn="A1001",
    )
    text = write_trace([row]).decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert len(lines) == 2 and lines[0].startswith("患者姓名,住院号")
    assert "'=王建国" in lines[1] and "2026-03-02 09:00" in lines[1] and "warn_no_nmpa：急用" in lines[1]
