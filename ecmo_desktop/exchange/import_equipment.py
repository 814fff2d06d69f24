"""Reading equipment registers (ECMO consoles per hospital) for the QC report's device counts.

Regional surveys count consoles per hospital and per city and purchases per year; hospitals keep
these lists in spreadsheets. Same file rules as :mod:`ecmo_desktop.exchange.import_cases` (CSV in
UTF-8/GB18030 or XLSX, English or Chinese headers, every bad row reported); a console is identified
by hospital + serial number, so importing the same list twice adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ecmo_desktop.domain.enums import EquipmentKind
from ecmo_desktop.domain.time import local_date
from ecmo_desktop.domain.validation import clean_text
from ecmo_desktop.exchange.import_cases import (
    Column,
    ParsedFile,
    RowChecker,
    RowError,
    Table,
    cell_text,
    choice_table,
    coded,
    map_headers,
    norm_header,
    parse_local_date,
    read_table,
)
from ecmo_desktop.i18n import N_

EQUIPMENT_COLUMNS: tuple[Column, ...] = (
    Column("hospital", ("医院", "医院名称"), required=True),
    Column("city", ("城市/盟市", "城市", "盟市")),
    Column("model", ("型号", "设备型号"), required=True),
    Column("serial", ("序列号", "设备序列号", "SN"), required=True),
    Column("purchase_date", ("购置日期", "购买日期")),
    Column("kind", ("类型", "设备类型")),
    Column("manufacturer", ("厂家", "生产厂家", "制造商")),
)

_KINDS = choice_table(
    [
        ("console", ["ECMO主机", "主机", "ECMO"]),
        ("heater_cooler", ["变温水箱", "水箱"]),
        ("other", ["其他设备", "其他"]),
    ]
)


@dataclass(frozen=True)
class EquipmentRow:
    row: int
    hospital: str
    city: str
    kind: str
    model: str
    manufacturer: str
    serial: str
    purchase_date: date | None

    @property
    def natural_key(self) -> tuple[str, str]:
        return (norm_header(self.hospital), self.serial)


def validate_equipment(table: Table, *, now: datetime) -> ParsedFile:
    if not table.headers:
        return ParsedFile((), (RowError(1, "", N_("文件为空：没有表头行")),), 0)
    mapping, header_errors = map_headers(table.headers, EQUIPMENT_COLUMNS)
    ignored = tuple(h for i, h in enumerate(table.headers) if i not in mapping.values() and h.strip())
    if header_errors:
        return ParsedFile((), tuple(header_errors), len(table.rows), ignored, table.headers)
    rows: list[EquipmentRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    today = local_date(now)
    for number, values in table.rows:
        c = RowChecker(number, values, mapping, table.headers)
        hospital = c.get(
            "hospital", lambda v: clean_text(cell_text(v), N_("医院"), required=True), required=True
        )
        city = c.get("city", lambda v: clean_text(cell_text(v), N_("城市/盟市"), max_length=100)) or ""
        model = c.get(
            "model",
            lambda v: clean_text(cell_text(v), N_("型号"), required=True, max_length=100),
            required=True,
        )
        serial = c.get(
            "serial",
            lambda v: clean_text(cell_text(v), N_("序列号"), required=True, max_length=60),
            required=True,
        )
        purchase = c.get("purchase_date", parse_local_date)
        kind = c.get(
            "kind",
            lambda v: (
                coded(v, _KINDS, N_("未知的设备类型“{value}”"))
                if cell_text(v)
                else EquipmentKind.CONSOLE.value
            ),
        )
        manufacturer = (
            c.get("manufacturer", lambda v: clean_text(cell_text(v), N_("厂家"), max_length=200)) or ""
        )
        if purchase is not None and purchase > today:
            c.fail("purchase_date", N_("购置日期不能晚于今天"))
        if not c.errors:
            key = (norm_header(hospital), serial)
            if key in seen:
                c.fail("serial", N_("与第 {row} 行重复（同一医院和序列号）"), row=seen[key])
            else:
                seen[key] = number
        if c.errors:
            errors.extend(c.errors)
            continue
        rows.append(
            EquipmentRow(
                row=number,
                hospital=hospital,
                city=city,
                kind=kind or EquipmentKind.CONSOLE.value,
                model=model,
                manufacturer=manufacturer,
                serial=serial,
                purchase_date=purchase,
            )
        )
    return ParsedFile(tuple(rows), tuple(errors), len(table.rows), ignored, table.headers)


def parse_equipment_file(path: Path, *, now: datetime) -> ParsedFile:
    return validate_equipment(read_table(path), now=now)
