"""The device catalogue as CSV (import and export) and trace results as CSV. Pure: bytes in, values out.

Catalogue files come from suppliers' and purchasing departments' spreadsheets, so reading is
forgiving about *form* and strict about *content*:

* encoding: UTF-8 with or without BOM, UTF-16 with BOM ("Unicode text"), else GB18030 (a superset
  of GBK, what Chinese Excel writes); delimiter ``,`` ``;`` or TAB, sniffed from the header line;
* headers in Chinese or English (``COLUMNS``), in any order; unknown columns are ignored;
* an identical duplicate row is dropped with a notice; two rows with the same GTIN (or UDI-DI, or
  the same name + manufacturer + model when neither is given) but different content are an error;
* a blank NMPA number is accepted with a notice (the product can be catalogued, but every scan of it
  will warn and need a reason, R5);
* numbers Excel mangled are **refused**, never guessed back: ``6.90123E+12`` (scientific notation
  loses digits), ``6901234000016.0`` (stored as a number), a GTIN whose length shows lost leading
  zeros. GTIN-8/12/13 are legitimate and are padded to 14 after their check digit passes.

Any problem refuses the whole file (``CatalogueFile.ok`` is False) with one message per bad cell, so
a catalogue is never half-imported. Written files are UTF-8 with BOM (Excel opens them correctly)
and cells that a spreadsheet would run as a formula (``= + - @``) are prefixed with ``'``; reading
strips that prefix again, so export → import is lossless.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ecmo_desktop.domain.devices import Product, ProductInput, TraceRow, normalise_gtin
from ecmo_desktop.domain.enums import DeviceCategory
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _

# field → accepted header spellings (compared case-insensitively, spaces and underscores ignored)
COLUMNS: dict[str, tuple[str, ...]] = {
    "category": ("类别", "器械类别", "分类", "category"),
    "name": ("产品名称", "名称", "器械名称", "name", "product"),
    "manufacturer": ("生产企业", "生产厂家", "厂家", "注册人", "manufacturer"),
    "model": ("型号", "规格型号", "型号规格", "model"),
    "gtin": ("GTIN", "商品条码", "产品标识GTIN", "gtin"),
    "udi_di": ("UDI-DI", "UDI DI", "产品标识", "最小销售单元产品标识", "udi_di", "di"),
    "nmpa_number": ("注册证编号", "注册证号", "医疗器械注册证编号", "注册/备案编号", "nmpa_number", "nmpa"),
    "single_use": ("一次性", "一次性使用", "single_use", "single-use"),
}
REQUIRED = ("category", "name")
EXPORT_HEADERS = ("类别", "产品名称", "生产企业", "型号", "GTIN", "UDI-DI", "注册证编号", "一次性", "状态")

_TRUE = {"是", "y", "yes", "true", "1", "一次性", "一次性使用", "√"}
_FALSE = {"否", "n", "no", "false", "0", "可重复使用", "重复使用", "×"}
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_SCIENTIFIC_UNMISTAKABLE = re.compile(r"^[+-]?\d+[.,]\d+[eE][+-]\d+$")  # 6.90123E+12: only Excel writes this
_IDENTIFIER_COLUMNS = frozenset({"gtin", "udi_di"})
_FLOATY = re.compile(r"^\d+[.,]0+$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CsvProblem:
    """One finding about one cell (or the whole file when ``line`` is 0): a msgid and its params."""

    line: int  # line of the file (the header is line 1)
    column: str  # the header as written in the file ('' for the whole row/file)
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def user_message(self) -> str:
        text = _(self.message)
        with contextlib.suppress(KeyError, IndexError, ValueError):
            text = text.format(**self.params)
        where = _("第 {line} 行").format(line=self.line) if self.line else _("文件")
        return f"{where}{('“' + self.column + '”') if self.column else ''}：{text}"


@dataclass(frozen=True)
class CatalogueFile:
    rows: tuple[ProductInput, ...]
    problems: tuple[CsvProblem, ...]  # any problem refuses the file
    notices: tuple[CsvProblem, ...]  # accepted, but worth telling (blank NMPA, dropped duplicates)
    encoding: str
    delimiter: str

    @property
    def ok(self) -> bool:
        return not self.problems


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) — UTF-8(-BOM), UTF-16 with BOM, or GB18030 for what Chinese Excel writes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ValueError(_("文件编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）")) from exc


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header uses most, outside quotes: ``,`` ``;`` or TAB."""
    counts = {d: 0 for d in (",", ";", "\t")}
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _norm_header(text: str) -> str:
    return re.sub(r"[\s_]+", "", text.strip().lstrip("\ufeff")).casefold()


_HEADER_LOOKUP = {_norm_header(alias): key for key, aliases in COLUMNS.items() for alias in aliases}


def _unescape(cell: str) -> str:
    """Undo the export's formula guard (a ``'`` before ``= + - @``)."""
    text = cell.strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


def _category(value: str) -> str | None:
    if value in DeviceCategory._value2member_map_:
        return value
    for member in DeviceCategory:
        if value in (member._label_ids().get(member.value), member.label):
            return member.value
    return None


def _excel_damage(key: str, value: str) -> str | None:
    """The msgid for a number a spreadsheet already destroyed, or None.

    Identifier columns refuse any exponent form (``69E12``); free-text columns only the form Excel
    itself writes, so a model called ``2E10`` is not mistaken for damage.
    """
    pattern = _SCIENTIFIC if key in _IDENTIFIER_COLUMNS else _SCIENTIFIC_UNMISTAKABLE
    if pattern.match(value):
        return N_(
            "“{value}”是被 Excel "
            "改成科学计数法的数字，原来的位数已丢失；请把该列设为“文本”格式，重新填写后再导出"
        )
    if key in _IDENTIFIER_COLUMNS and _FLOATY.match(value):
        return N_("“{value}”被 Excel 当作数字保存（带小数点）；请把该列设为“文本”格式后重新导出")
    return None


def read_catalogue(data: bytes) -> CatalogueFile:
    """Parse a catalogue CSV; see the module docstring for what is accepted and refused."""
    text, encoding = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[CsvProblem] = []
    notices: list[CsvProblem] = []
    try:
        header = next(reader)
    except StopIteration:
        return CatalogueFile((), (CsvProblem(0, "", N_("文件为空")),), (), encoding, delimiter)
    except csv.Error as exc:
        return CatalogueFile(
            (),
            (CsvProblem(1, "", N_("无法读取表头：{detail}"), {"detail": str(exc)}),),
            (),
            encoding,
            delimiter,
        )
    columns: dict[str, int] = {}
    names: dict[str, str] = {}
    for index, title in enumerate(header):
        key = _HEADER_LOOKUP.get(_norm_header(title))
        if key is None:
            continue
        if key in columns:
            problems.append(
                CsvProblem(1, title.strip(), N_("列重复：与“{other}”是同一字段"), {"other": names[key]})
            )
            continue
        columns[key] = index
        names[key] = title.strip()
    for key in REQUIRED:
        if key not in columns:
            problems.append(CsvProblem(1, "", N_("缺少必需的列“{column}”"), {"column": COLUMNS[key][0]}))
    if problems:
        return CatalogueFile((), tuple(problems), (), encoding, delimiter)

    rows: list[ProductInput] = []
    seen: dict[tuple[str, ...], tuple[int, ProductInput]] = {}
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(CsvProblem(reader.line_num, "", N_("无法读取：{detail}"), {"detail": str(exc)}))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        cells = {key: _unescape(record[i]) if i < len(record) else "" for key, i in columns.items()}
        row_problems: list[CsvProblem] = []
        for key, value in cells.items():
            damage = _excel_damage(key, value)
            if damage:
                row_problems.append(CsvProblem(line, names[key], damage, {"value": value}))
        category = _category(cells["category"])
        if category is None and not any(p.column == names["category"] for p in row_problems):
            row_problems.append(
                CsvProblem(
                    line, names["category"], N_("“{value}”不是有效的器械类别"), {"value": cells["category"]}
                )
            )
        if not cells["name"]:
            row_problems.append(CsvProblem(line, names["name"], N_("必填")))
        gtin: str | None = None
        raw_gtin = cells.get("gtin", "")
        if raw_gtin and not any(p.column == names["gtin"] for p in row_problems):
            digits = raw_gtin.replace(" ", "")
            try:
                gtin = normalise_gtin(digits)
            except ValueError as exc:
                message = str(exc)
                if digits.isdigit() and len(digits) < 14 and len(digits) not in (8, 12, 13):
                    message = N_(
                        "GTIN“{value}”只有 {n} 位：可能被 Excel "
                        "去掉了前导零；请把该列设为“文本”格式后重新导出"
                    )
                row_problems.append(
                    CsvProblem(line, names["gtin"], message, {"value": raw_gtin, "n": len(digits)})
                )
        single_use = True
        raw_single = cells.get("single_use", "").casefold()
        if raw_single:
            if raw_single in _TRUE:
                single_use = True
            elif raw_single in _FALSE:
                single_use = False
            else:
                row_problems.append(
                    CsvProblem(
                        line,
                        names["single_use"],
                        N_("应为“是”或“否”，实为“{value}”"),
                        {"value": cells["single_use"]},
                    )
                )
        if row_problems:
            problems.extend(row_problems)
            continue
        product = ProductInput(
            category=category or "",
            name=cells["name"],
            manufacturer=cells.get("manufacturer", ""),
            model=cells.get("model", ""),
            gtin=gtin,
            udi_di=cells.get("udi_di", "").upper() or None,
            nmpa_number=cells.get("nmpa_number", ""),
            single_use=single_use,
        )
        product_key: tuple[str, ...]
        if product.gtin:
            product_key = ("gtin", product.gtin)
        elif product.udi_di:
            product_key = ("udi", product.udi_di)
        else:
            product_key = ("name", product.name, product.manufacturer, product.model)
        if product_key in seen:
            first_row, first_product = seen[product_key]
            if first_product == product:
                notices.append(
                    CsvProblem(line, "", N_("与第 {first} 行完全相同，已忽略"), {"first": first_row})
                )
            else:
                problems.append(
                    CsvProblem(
                        line,
                        "",
                        N_("与第 {first} 行是同一产品（同一产品标识）但内容不同，请合并后再导入"),
                        {"first": first_row},
                    )
                )
            continue
        seen[product_key] = (line, product)
        if not product.nmpa_number:
            notices.append(
                CsvProblem(
                    line,
                    names.get("nmpa_number", ""),
                    N_("“{name}”没有注册证编号：床旁扫码时会提示并要求填写理由（R5）"),
                    {"name": product.name},
                )
            )
        rows.append(product)
    if not rows and not problems:
        problems.append(CsvProblem(0, "", N_("文件中没有产品行")))
    # a file with any problem yields no rows at all: a catalogue is never half-imported
    return CatalogueFile(
        () if problems else tuple(rows), tuple(problems), tuple(notices), encoding, delimiter
    )


def _guard(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write(headers: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(headers))
    for row in rows:
        writer.writerow([_guard(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_catalogue(products: Iterable[Product]) -> bytes:
    """The catalogue as UTF-8-BOM CSV with Chinese headers that ``read_catalogue`` reads back."""

    def row(p: Product) -> list[object]:
        label = (
            DeviceCategory(p.category)._label_ids().get(p.category, p.category)
            if p.category in DeviceCategory._value2member_map_
            else p.category
        )
        return [
            label,
            p.name,
            p.manufacturer,
            p.model,
            p.gtin or "",
            p.udi_di or "",
            p.nmpa_number,
            "是" if p.single_use else "否",
            "在用" if p.active else "停用",
        ]

    return _write(EXPORT_HEADERS, (row(p) for p in products))


TRACE_HEADERS = (
    "患者姓名",
    "住院号",
    "ECMO次序",
    "病例状态",
    "产品名称",
    "类别",
    "生产企业",
    "型号",
    "GTIN/UDI-DI",
    "注册证编号",
    "批号",
    "序列号",
    "有效期",
    "绑定时间（北京时间）",
    "绑定人",
    "撤除时间",
    "撤除原因",
    "作废时间",
    "作废原因",
    "警示及理由",
)


def trace_table(rows: Iterable[TraceRow]) -> list[list[str]]:
    """Trace rows as display cells (the same columns as ``TRACE_HEADERS``), for CSV and PDF alike."""
    table = []
    for r in rows:
        category = (
            DeviceCategory(r.category).label
            if r.category in DeviceCategory._value2member_map_
            else r.category
        )
        warnings = ",".join(r.warnings)
        table.append(
            [
                r.patient_name,
                r.mrn,
                str(r.run_number),
                r.run_status,
                r.product_name,
                category,
                r.manufacturer,
                r.model,
                r.gtin or r.udi_di or "",
                r.nmpa_number,
                r.lot or "",
                r.serial or "",
                r.expiry.isoformat() if r.expiry else "",
                format_local(r.bound_at),
                r.bound_by_name,
                format_local(r.removed_at),
                r.removal_reason or "",
                format_local(r.voided_at),
                r.void_reason or "",
                f"{warnings}：{r.override_reason}" if warnings else "",
            ]
        )
    return table


def write_trace(rows: Iterable[TraceRow]) -> bytes:
    """A trace or recall result as UTF-8-BOM CSV (one line per use of one item on one run)."""
    return _write(TRACE_HEADERS, trace_table(rows))
