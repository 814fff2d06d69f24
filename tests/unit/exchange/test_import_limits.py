"""Issue 10 §6: hostile import files end in a message that names the limit — never a traceback,
never unbounded memory (a cell, an XML entity bomb, a zip bomb, deep JSON, a FIFO)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from ecmo_desktop.exchange.export import read_export
from ecmo_desktop.exchange.import_cases import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_JSON_DEPTH,
    MAX_XLSX_RATIO,
    FileUnreadable,
    read_table,
)

HEADER = "hospital,mrn,name,sex,ecmo_start,mode,indication\n"


def _message(path: Path) -> str:
    with pytest.raises(FileUnreadable) as info:
        read_table(path)
    return info.value.user_message()


def test_a_200000_character_csv_cell_names_the_cell_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "H,1," + "长" * 200_000 + ",M,2024-01-01,VA,ami\n", encoding="utf-8")
    assert str(MAX_CELL_CHARS) in _message(path)
    medium = tmp_path / "medium.csv"  # under the csv module's limit, over Excel's
    medium.write_text(
        HEADER + "H,1," + "x" * (MAX_CELL_CHARS + 1) + ",M,2024-01-01,VA,ami\n", encoding="utf-8"
    )
    assert str(MAX_CELL_CHARS) in _message(medium)


def test_too_many_columns_names_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(MAX_COLUMNS + 5)) + "\n", encoding="utf-8")
    assert str(MAX_COLUMNS) in _message(path)


def _xlsx_with_sheet(path: Path, sheet_xml: bytes, *, compression: int = zipfile.ZIP_DEFLATED) -> None:
    """A minimal workbook whose first sheet is ``sheet_xml``."""
    ct = (
        b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="rels" '
        b'ContentType="application/vnd.openxmlformats-package.relation'
        b'ships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/workbook.'
        b'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )
    rels = (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    wb = (
        b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    wb_rels = (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("xl/workbook.xml", wb)
        zf.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)


def test_xml_entity_expansion_in_an_xlsx_is_refused(tmp_path: Path) -> None:
    laughs = [b'<!ENTITY a0 "lol">'] + [
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">'.encode() for i in range(1, 9)
    ]
    sheet = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [' + b"".join(laughs) + b']><worksheet xmlns="http://'
        b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr">'
        b"<is><t>&a8;</t></is></c></row></sheetData></worksheet>"
    )
    path = tmp_path / "laughs.xlsx"
    _xlsx_with_sheet(path, sheet)
    assert "Excel" in _message(path)


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    sheet = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>" + row * 400_000 + b"</sheetData></worksheet>"
    )
    path = tmp_path / "bomb.xlsx"
    _xlsx_with_sheet(path, sheet)
    assert os.path.getsize(path) < 1_000_000
    assert f"{MAX_XLSX_RATIO}:1" in _message(path)


def test_a_fifo_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "不是普通文件" in _message(fifo)


def test_deeply_nested_json_names_the_nesting_limit() -> None:
    doc = read_export(b"[" * 100_000 + b"]" * 100_000)
    assert doc.errors and str(MAX_JSON_DEPTH) in doc.errors[0].text
    fine = read_export(b'{"schema": "x", "a": "' + b"[" * 500 + b'"}')  # brackets inside a string are text
    assert "嵌套" not in fine.errors[0].text
