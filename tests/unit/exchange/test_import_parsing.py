"""Reading and checking legacy registers without a database: encodings, headers, every error class."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from ecmo_desktop.exchange.import_cases import (
    FileUnreadable,
    Table,
    decode_csv_bytes,
    read_table,
    validate_cases,
)
from ecmo_desktop.exchange.import_equipment import validate_equipment
from ecmo_desktop.i18n import set_language

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "legacy"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
HEADER = (
    "hospital,city,mrn,name,sex,birth_date,age,ecmo_start,mode,ecpr,indication,ecmo_end,end_reason,"
    "survived_28d,discharged_alive,date_of_death"
)
GOOD = "甲医院,呼和浩特,A001,王五,M,,50,2024-01-01 10:00,VA,no,ami,2024-01-05 10:00,weaned,yes,yes,"


@pytest.fixture(autouse=True)
def _chinese():
    set_language("zh_CN")


def parse_text(tmp_path: Path, *lines: str, name: str = "f.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return validate_cases(read_table(path), now=NOW)


def simple(rows):
    return [
        (
            r.hospital,
            r.city,
            r.mrn,
            r.name,
            r.sex,
            r.birth_date,
            r.age,
            r.started_at,
            r.mode,
            r.ecpr,
            r.indication,
            r.ended_at,
            r.end_reason,
            r.survived_28d,
            r.discharged_alive,
            r.date_of_death,
        )
        for r in rows
    ]


# ---- the three encodings of the regional fixture --------------------------------------------------
def test_utf8_gb18030_and_xlsx_fixtures_read_to_the_same_rows():
    utf8 = validate_cases(read_table(FIXTURES / "regional_cases.csv"), now=NOW)
    gb = validate_cases(read_table(FIXTURES / "regional_cases_zh.gb18030.csv"), now=NOW)
    xlsx = validate_cases(read_table(FIXTURES / "regional_cases.xlsx"), now=NOW)
    assert utf8.errors == gb.errors == xlsx.errors == ()
    assert len(utf8.rows) == 20
    assert simple(utf8.rows) == simple(gb.rows) == simple(xlsx.rows)
    first = utf8.rows[0]
    assert first.row == 2  # the header is row 1, as Excel numbers it
    assert first.started_at == datetime(2020, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    assert first.birth_date == date(1970, 5, 1)
    assert utf8.rows[4].started_at == datetime(2022, 2, 1, 16, 0, tzinfo=UTC)  # date only: 00:00 Beijing


def test_the_gb18030_fixture_really_is_not_utf8():
    data = (FIXTURES / "regional_cases_zh.gb18030.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert decode_csv_bytes(data).startswith("医院,")


def test_utf8_with_and_without_bom(tmp_path):
    for name, prefix in (("bom.csv", b"\xef\xbb\xbf"), ("plain.csv", b"")):
        (tmp_path / name).write_bytes(prefix + f"{HEADER}\r\n{GOOD}\r\n".encode())
        parsed = validate_cases(read_table(tmp_path / name), now=NOW)
        assert parsed.errors == ()
        assert parsed.rows[0].hospital == "甲医院"


def test_headers_in_any_order_chinese_bracketed_and_extra_columns_ignored(tmp_path):
    parsed = parse_text(
        tmp_path,
        "备注,上机时间,医院,住院号,姓名,性别,模式,适应症,Mode Extra,结局",
        "随便写,2024-01-01 10:00,甲医院,a-9,王五,女,V-A,暴发性心肌炎,x,成功撤机",
    )
    assert parsed.errors == ()
    row = parsed.rows[0]
    assert (row.mrn, row.sex, row.mode, row.indication, row.end_reason) == (
        "A-9",
        "F",
        "VA",
        "myocarditis",
        "weaned",
    )
    assert parsed.ignored_columns == ("备注", "Mode Extra")
    bracketed = parse_text(
        tmp_path,
        "hospital (医院),mrn（住院号）,name,sex,ecmo_start,mode,indication",
        "甲医院,A1,王五,M,2024-01-01,VV,ARDS",
    )
    assert bracketed.errors == () and bracketed.rows[0].indication == "ards"


def test_values_are_read_the_way_wards_write_them(tmp_path):
    parsed = parse_text(
        tmp_path,
        HEADER,
        "甲医院,,００７,王五,男,,45岁,2024/1/2 8:05,vv,是,新冠,2024年1月9日,死亡,否,否,2024-01-09",
        "甲医院,,8,赵六,F,,,2024-01-02T09:00,VVA,,cardiac_arrest,,,unknown,未知,",
    )
    assert parsed.errors == ()
    a, b = parsed.rows
    assert (a.mrn, a.sex, a.age, a.mode, a.ecpr, a.indication, a.end_reason) == (
        "007",
        "M",
        45,
        "VV",
        True,
        "covid19",
        "died",
    )
    assert a.started_at == datetime(2024, 1, 2, 0, 5, tzinfo=UTC)
    assert (a.survived_28d, a.discharged_alive) == (False, False)
    assert (b.ecpr, b.ended_at, b.end_reason, b.survived_28d, b.discharged_alive) == (
        False,
        None,
        None,
        None,
        None,
    )


# ---- every error class, with row, column and message ---------------------------------------------
def test_missing_required_column(tmp_path):
    parsed = parse_text(tmp_path, "hospital,mrn,name,sex,mode,indication", "甲医院,A1,王五,M,VA,ami")
    assert [e.as_dict() for e in parsed.errors] == [
        {"row": 1, "column": "ecmo_start（上机时间）", "message": "缺少必需的列"}
    ]
    assert parsed.rows == ()


def test_doubled_column(tmp_path):
    parsed = parse_text(
        tmp_path, "hospital,医院,mrn,name,sex,ecmo_start,mode,indication", "甲,甲,A1,王五,M,2024-01-01,VA,ami"
    )
    assert [e.as_dict() for e in parsed.errors] == [
        {"row": 1, "column": "医院", "message": "与第 1 列重复（都是“hospital”）"}
    ]


def test_bad_dates(tmp_path):
    parsed = parse_text(
        tmp_path,
        HEADER,
        GOOD.replace("2024-01-01 10:00", "2024-13-01 10:00"),
        GOOD.replace("2024-01-01 10:00", "昨天"),
        GOOD.replace(",50,", ",200,").replace("A001", "A002"),
    )
    assert [e.as_dict() for e in parsed.errors] == [
        {
            "row": 2,
            "column": "ecmo_start",
            "message": "“2024-13-01 10:00”不是有效的日期，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM",
        },
        {
            "row": 3,
            "column": "ecmo_start",
            "message": "“昨天”不是有效的日期，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM",
        },
        {"row": 4, "column": "age", "message": "“200”不是有效的年龄（0–120 岁的整数）"},
    ]


def test_unknown_mode_and_indication(tmp_path):
    parsed = parse_text(tmp_path, HEADER, GOOD.replace(",VA,", ",ECMO-X,"), GOOD.replace(",ami,", ",感冒,"))
    assert [e.as_dict() for e in parsed.errors] == [
        {"row": 2, "column": "mode", "message": "未知的模式“ECMO-X”，应为 VA、VV、VAV、VVA 或 other"},
        {"row": 3, "column": "indication", "message": "未知的适应证“感冒”"},
    ]


def test_end_before_start_and_other_impossible_times(tmp_path):
    parsed = parse_text(
        tmp_path,
        HEADER,
        GOOD.replace("2024-01-05 10:00", "2023-12-31 10:00"),
        GOOD.replace("A001", "A2")
        .replace("2024-01-01 10:00", "2027-01-01 10:00")
        .replace("2024-01-05 10:00", ""),
        GOOD.replace("A001", "A3").replace(",yes,yes,", ",yes,yes,2023-12-30"),
        GOOD.replace("A001", "A4").replace(",yes,yes,", ",yes,no,2024-01-29"),
    )
    assert [e.as_dict() for e in parsed.errors] == [
        {"row": 2, "column": "ecmo_end", "message": "撤机时间早于上机时间"},
        {"row": 3, "column": "ecmo_start", "message": "上机时间不能晚于当前时间"},
        {"row": 4, "column": "date_of_death", "message": "死亡日期早于上机时间"},
        {"row": 5, "column": "survived_28d", "message": "标为 28 天存活，但死亡日期在上机后第 28 天"},
    ]


def test_duplicate_rows_and_one_mrn_with_two_names(tmp_path):
    parsed = parse_text(
        tmp_path,
        HEADER,
        GOOD,
        GOOD.replace("甲医院", " 甲医院 "),
        GOOD.replace("2024-01-01 10:00", "2024-02-01 10:00")
        .replace("2024-01-05", "2024-02-05")
        .replace("王五", "王六"),
    )
    assert [e.as_dict() for e in parsed.errors] == [
        {"row": 3, "column": "ecmo_start", "message": "与第 2 行重复（同一医院、住院号和上机时间）"},
        {"row": 4, "column": "name", "message": "住院号 A001 在第 2 行的姓名为“王五”，与本行不一致"},
    ]
    assert [r.row for r in parsed.rows] == [2]


def test_every_problem_of_a_row_is_listed_and_blank_rows_are_skipped(tmp_path):
    parsed = parse_text(tmp_path, HEADER, ",,,,,,,,,,,,,,,", ",,A 1,,X,,,,,,,,,maybe,,")
    assert [(e.row, e.column, e.text) for e in parsed.errors] == [
        (3, "hospital", "必填"),
        (3, "mrn", "只能包含字母、数字和“-”，最长 40 位"),
        (3, "name", "必填"),
        (3, "sex", "“X”无法识别，应为 M/F（男/女）"),
        (3, "ecmo_start", "必填"),
        (3, "mode", "必填"),
        (3, "indication", "必填"),
        (3, "survived_28d", "“maybe”无法识别，应为 yes/no/unknown（是/否/未知）"),
    ]
    assert parsed.total_rows == 1


def test_unreadable_files(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(FileUnreadable):
        read_table(tmp_path / "a.pdf")
    (tmp_path / "b.xlsx").write_bytes(b"not a zip")
    with pytest.raises(FileUnreadable):
        read_table(tmp_path / "b.xlsx")
    with pytest.raises(FileUnreadable):
        read_table(tmp_path / "missing.csv")
    empty = validate_cases(Table((), ()), now=NOW)
    assert [e.text for e in empty.errors] == ["文件为空：没有表头行"]


def test_formula_guard_from_our_export_is_undone(tmp_path):
    parsed = parse_text(tmp_path, HEADER, GOOD.replace("王五", "'=王五"))
    assert parsed.rows[0].name == "=王五"


def test_xlsx_cells_numbers_and_dates(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["医院", "住院号", "姓名", "性别", "上机时间", "模式", "适应证", "出生日期"])
    ws.append(
        ["甲医院", 123456, "王五", "男", datetime(2024, 1, 1, 8, 30), "VA", "ami", datetime(1970, 1, 2)]
    )
    wb.save(tmp_path / "x.xlsx")
    parsed = validate_cases(read_table(tmp_path / "x.xlsx"), now=NOW)
    assert parsed.errors == ()
    row = parsed.rows[0]
    assert (row.mrn, row.started_at, row.birth_date) == (
        "123456",
        datetime(2024, 1, 1, 0, 30, tzinfo=UTC),
        date(1970, 1, 2),
    )


# ---- equipment -----------------------------------------------------------------------------------
def test_equipment_register(tmp_path):
    parsed = validate_equipment(read_table(FIXTURES / "regional_equipment.csv"), now=NOW)
    assert parsed.errors == ()
    assert [(r.hospital, r.serial, r.kind) for r in parsed.rows][5:7] == [
        ("赤峰市医院", "BC-201", "console"),
        ("赤峰市医院", "HCU-201", "heater_cooler"),
    ]
    path = tmp_path / "e.csv"
    path.write_text(
        "医院,型号,序列号,购置日期\n甲,M,S1,2020-01-01\n甲,M,S1,2020-01-01\n甲,,S2,2030-01-01\n",
        encoding="utf-8",
    )
    bad = validate_equipment(read_table(path), now=NOW)
    assert [e.as_dict() for e in bad.errors] == [
        {"row": 3, "column": "序列号", "message": "与第 2 行重复（同一医院和序列号）"},
        {"row": 4, "column": "型号", "message": "必填"},
        {"row": 4, "column": "购置日期", "message": "购置日期不能晚于今天"},
    ]
