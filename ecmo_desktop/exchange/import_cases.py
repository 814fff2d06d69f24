"""Reading legacy spreadsheets (one row per ECMO run) and checking every row before anything is written.

Wards kept ECMO registers in Excel for years; a regional centre collects several hospitals' sheets.
This module turns such a file into validated rows, or into a list of errors that name the
spreadsheet row (as Excel numbers it: the header is row 1), the column (as written in the file) and
the reason — so a records officer can fix the sheet and import again. It never touches the
database: duplicates against existing runs, hospitals and patients are resolved by
``services/exchange.py``.

Limits (each refusal names its limit): a regular file (not a pipe or device) of at most
``MAX_IMPORT_BYTES``; at most ``MAX_ROWS`` rows, ``MAX_COLUMNS`` columns and ``MAX_CELL_CHARS``
characters per cell (Excel's own cell limit); an .xlsx whose parts unpack to at most
``MAX_XLSX_UNPACKED`` bytes, none compressed more than ``MAX_XLSX_RATIO``:1 (a "zip bomb"), parsed
with defusedxml (no entity expansion); a JSON export nested at most ``MAX_JSON_DEPTH`` levels.

Accepted files: ``.csv`` (UTF-8 with or without BOM, else GB18030 — what Chinese Excel writes) and
``.xlsx`` (first sheet). Headers may be the English names or the Chinese ones, in any order; unknown
columns are ignored. Times are Beijing time ("YYYY-MM-DD" or "YYYY-MM-DD HH:MM").
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ecmo_desktop.domain.case import CaseFacts
from ecmo_desktop.domain.enums import EndReason, Indication, Mode, RunStatus
from ecmo_desktop.domain.errors import EcmoError, ValidationError
from ecmo_desktop.domain.model import Patient, Run
from ecmo_desktop.domain.records import ecmo_day
from ecmo_desktop.domain.rules import survived_day_28
from ecmo_desktop.domain.time import BEIJING, local_date
from ecmo_desktop.domain.validation import clean_mrn, clean_text
from ecmo_desktop.i18n import N_, _

# ---- errors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in one cell: ``row`` as the spreadsheet numbers it, ``column`` as its header reads."""

    row: int
    column: str
    message: str  # msgid
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        try:
            return _(self.message).format(**self.params)
        except (KeyError, IndexError, ValueError):
            return _(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.text}


class FileUnreadable(EcmoError):
    default_message = N_("无法读取文件：{detail}")


# ---- reading files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A sheet as read: the header cells and each data row with its spreadsheet row number."""

    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[Any, ...]], ...]


_GUARDED = re.compile(r"^'[=+\-@\t\r]")


def _unguard(value: Any) -> Any:
    """Undo the formula-injection guard our own export adds, so an exported sheet imports unchanged."""
    if isinstance(value, str) and _GUARDED.match(value):
        return value[1:]
    return value


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes, else GB18030 (Chinese Excel's "CSV" encoding).

    UTF-8 is tried first because it is strict: GB18030 decodes almost any byte string, so trying it
    first would turn every UTF-8 file into mojibake.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileUnreadable(detail=_("既不是 UTF-8 也不是 GB18030 编码")) from exc


MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 200
MAX_CELL_CHARS = 32_767  # what one Excel cell can hold
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
MAX_XLSX_RATIO = 200
MAX_JSON_DEPTH = 64


def check_import_file(path: Path) -> int:
    """Refuse what is not a regular file of bounded size (a FIFO would block the reader forever)."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise FileUnreadable(detail=_("文件不存在：{path}").format(path=path)) from exc
    except OSError as exc:
        raise FileUnreadable(detail=f"{path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise FileUnreadable(detail=_("{path} 不是普通文件（管道、设备或文件夹不能导入）").format(path=path))
    if st.st_size > MAX_IMPORT_BYTES:
        raise FileUnreadable(
            detail=_("文件过大（{size} MB，上限 {limit} MB）").format(
                size=round(st.st_size / 1048576, 1), limit=MAX_IMPORT_BYTES // 1048576
            )
        )
    return st.st_size


def _bounded(records: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """Collect rows, refusing too many rows, columns or characters in a cell (row numbers as Excel's)."""
    out: list[list[Any]] = []
    for number, rec in enumerate(records, start=1):
        if number > MAX_ROWS + 1:  # + the header row
            raise FileUnreadable(detail=_("行数超过上限 {limit} 行").format(limit=MAX_ROWS))
        row = list(rec)
        while row and (row[-1] is None or row[-1] == ""):
            row.pop()
        if len(row) > MAX_COLUMNS:
            raise FileUnreadable(
                detail=_("第 {row} 行有 {n} 列，超过上限 {limit} 列").format(
                    row=number, n=len(row), limit=MAX_COLUMNS
                )
            )
        for value in row:
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                raise FileUnreadable(
                    detail=_("第 {row} 行有一个单元格超过 {limit} 个字符").format(
                        row=number, limit=MAX_CELL_CHARS
                    )
                )
        out.append(row)
    return out


def _csv_records(text: str, delimiter: str) -> list[list[Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _bounded(reader)
    except csv.Error as exc:  # e.g. a cell beyond the csv module's own field limit
        if "field limit" in str(exc):
            raise FileUnreadable(
                detail=_("第 {row} 行有一个单元格超过 {limit} 个字符").format(
                    row=reader.line_num, limit=MAX_CELL_CHARS
                )
            ) from exc
        raise FileUnreadable(
            detail=_("CSV 第 {row} 行格式错误：{error}").format(row=reader.line_num, error=exc)
        ) from exc


def json_depth_ok(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when no array/object in ``text`` is nested deeper than ``limit`` (strings skipped)."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group(0)
        if token in "[{":
            depth += 1
            if depth > limit:
                return False
        elif token in "]}":
            depth -= 1
    return True


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _blank(values: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def read_table(path: Path) -> Table:
    """Read the first sheet of an .xlsx or a .csv file; blank rows are dropped (numbers kept)."""
    suffix = path.suffix.lower()
    check_import_file(path)
    if suffix == ".csv" or suffix == ".txt":
        text = decode_csv_bytes(path.read_bytes())
        first = text.split("\n", 1)[0]
        delimiter = "\t" if "\t" in first and "," not in first else ","
        records = _csv_records(text, delimiter)
    elif suffix in (".xlsx", ".xlsm"):
        records = _read_xlsx(path)
    else:
        raise FileUnreadable(detail=_("只支持 .csv 和 .xlsx 文件"))
    numbered = [(i + 1, tuple(_unguard(v) for v in rec)) for i, rec in enumerate(records)]
    while numbered and _blank(numbered[0][1]):
        numbered.pop(0)
    if not numbered:
        return Table((), ())
    header_row = numbered[0][1]
    headers = tuple("" if h is None else str(h) for h in header_row)
    rows = tuple((n, rec) for n, rec in numbered[1:] if not _blank(rec))
    return Table(headers, rows)


def _check_xlsx_parts(path: Path) -> None:
    """Refuse a zip bomb before openpyxl unpacks anything (sizes from the zip directory, which
    ``zipfile`` also enforces while reading)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileUnreadable(detail=_("不是有效的 Excel (.xlsx) 文件")) from exc
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNPACKED:
        raise FileUnreadable(
            detail=_("Excel 文件解压后过大（{size} MB，上限 {limit} MB）").format(
                size=total // 1048576, limit=MAX_XLSX_UNPACKED // 1048576
            )
        )
    for info in infos:
        if info.file_size > 1048576 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
            raise FileUnreadable(
                detail=_("Excel 文件的压缩比异常（超过 {limit}:1），可能是恶意构造的文件").format(
                    limit=MAX_XLSX_RATIO
                )
            )


def _read_xlsx(path: Path) -> list[list[Any]]:
    import openpyxl

    if not openpyxl.DEFUSEDXML:  # pragma: no cover - defusedxml is a declared dependency
        raise FileUnreadable(detail=_("缺少 defusedxml，出于安全原因不读取 Excel 文件"))
    _check_xlsx_parts(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl and defusedxml raise many types for a bad or hostile file
        raise FileUnreadable(
            detail=_("不是有效的 Excel (.xlsx) 文件（{error}）").format(error=type(exc).__name__)
        ) from exc
    try:
        if not workbook.worksheets:
            raise FileUnreadable(detail=_("Excel 文件中没有工作表"))
        sheet = workbook.worksheets[0]
        return _bounded(sheet.iter_rows(values_only=True))
    except FileUnreadable:
        raise
    except Exception as exc:  # a hostile sheet (entities, broken XML) fails while rows are read
        raise FileUnreadable(
            detail=_("不是有效的 Excel (.xlsx) 文件（{error}）").format(error=type(exc).__name__)
        ) from exc
    finally:
        workbook.close()


# ---- columns -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    aliases: tuple[str, ...]  # Chinese (and other) header names accepted besides ``key``
    required: bool = False

    @property
    def display(self) -> str:
        """How a missing column is named in an error: both names, so either kind of sheet can fix it."""
        return f"{self.key}（{self.aliases[0]}）" if self.aliases else self.key


def norm_header(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text).casefold())


_BRACKETED = re.compile(r"^(.*?)[(（\[](.*?)[)）\]]\s*$")


def map_headers(headers: Sequence[str], columns: Sequence[Column]) -> tuple[dict[str, int], list[RowError]]:
    """Which file column holds each field; errors for missing required and doubled columns."""
    lookup: dict[str, Column] = {}
    for col in columns:
        for name in (col.key, *col.aliases):
            lookup[norm_header(name)] = col
    found: dict[str, int] = {}
    errors: list[RowError] = []
    for index, raw in enumerate(headers):
        candidates = [raw]
        m = _BRACKETED.match(unicodedata.normalize("NFKC", raw).strip())
        if m:
            candidates.extend([m.group(1), m.group(2)])
        matched = next((lookup[k] for k in map(norm_header, candidates) if k in lookup), None)
        if matched is None:
            continue
        if matched.key in found:
            errors.append(
                RowError(
                    1,
                    raw,
                    N_("与第 {n} 列重复（都是“{field}”）"),
                    {"n": found[matched.key] + 1, "field": matched.key},
                )
            )
            continue
        found[matched.key] = index
    for col in columns:
        if col.required and col.key not in found:
            errors.append(RowError(1, col.display, N_("缺少必需的列")))
    return found, errors


# ---- values --------------------------------------------------------------------------------------


class CellError(Exception):
    """A cell's value is refused; carries the msgid and parameters for the RowError."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 123456 as 123456.0
    return unicodedata.normalize("NFKC", str(value)).strip()


_DATE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$"
)


def parse_local_datetime(value: Any, *, allow_time: bool = True) -> tuple[datetime, bool] | None:
    """A Beijing wall-clock value → (aware UTC datetime, whether a time of day was given); None if blank.

    Excel cells arrive as ``datetime``/``date`` objects, CSV cells as text.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        has_time = value.time() != time(0, 0)
        local = value.replace(tzinfo=BEIJING) if value.tzinfo is None else value
        if has_time and not allow_time:
            raise CellError(N_("应为日期（YYYY-MM-DD），不应包含时间"))
        return local.astimezone(UTC), has_time
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), BEIJING).astimezone(UTC), False
    text = cell_text(value)
    m = _DATE.match(text)
    if not m:
        raise CellError(N_("“{text}”不是有效的日期，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM"), text=text[:30])
    y, mo, d, hh, mm, ss = m.groups()
    if hh is not None and not allow_time:
        raise CellError(N_("应为日期（YYYY-MM-DD），不应包含时间"))
    try:
        moment = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=BEIJING)
    except ValueError as exc:
        raise CellError(
            N_("“{text}”不是有效的日期，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM"), text=text[:30]
        ) from exc
    return moment.astimezone(UTC), hh is not None


def parse_local_date(value: Any) -> date | None:
    parsed = parse_local_datetime(value, allow_time=True)
    return None if parsed is None else local_date(parsed[0])


def choice_table(pairs: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, names in pairs:
        for name in (code, *names):
            table[norm_header(name)] = code
    return table


def _labels_of(enum: Any) -> dict[str, str]:
    return dict(enum._label_ids())


_MODES = choice_table(
    [(m.value, [_labels_of(Mode).get(m.value, m.value)]) for m in Mode]
    + [
        ("VA", ["V-A", "VA-ECMO"]),
        ("VV", ["V-V", "VV-ECMO"]),
        ("VAV", ["V-AV"]),
        ("VVA", ["VV-A"]),
        ("other", ["其它"]),
    ]
)
_INDICATION_ALIASES: dict[str, tuple[str, ...]] = {
    "ami": ("AMI", "急性心肌梗死", "心肌梗死", "急性心梗"),
    "myocarditis": ("心肌炎",),
    "postcardiotomy": ("心脏术后", "心脏手术后", "PCS"),
    "cardiogenic_other": ("其他心源性", "心源性休克"),
    "cardiac_arrest": ("心脏骤停", "心跳骤停", "ECPR"),
    "ards": ("ARDS", "重症ARDS", "急性呼吸窘迫综合征"),
    "covid19": ("COVID-19", "COVID", "新冠", "新冠肺炎"),
    "pe": ("PE",),
    "bridge": ("过渡", "移植过渡"),
    "sepsis": ("感染性休克",),
    "other": ("其它",),
}
_INDICATIONS = choice_table(
    [
        (i.value, [_labels_of(Indication).get(i.value, i.value), *_INDICATION_ALIASES.get(i.value, ())])
        for i in Indication
    ]
)
_END_ALIASES: dict[str, tuple[str, ...]] = {
    "weaned": ("撤机", "成功撤机", "脱机"),
    "died": ("死亡", "ECMO期间死亡", "dead"),
    "withdrawn": ("放弃", "撤除", "放弃治疗"),
    "bridged": ("过渡", "bridge"),
    "transferred": ("转院", "带机转院", "transfer"),
    "complication": ("并发症",),
}
_END_REASONS = choice_table(
    [
        (e.value, [_labels_of(EndReason).get(e.value, e.value), *_END_ALIASES.get(e.value, ())])
        for e in EndReason
    ]
)
_SEXES = choice_table([("M", ["男", "male", "m"]), ("F", ["女", "female", "f"]), ("U", ["未知", "unknown"])])
_YES = {"yes", "y", "true", "1", "是", "存活", "alive"}
_NO = {"no", "n", "false", "0", "否", "死亡", "dead"}
_UNKNOWN = {"", "unknown", "未知", "不详", "u", "na", "n/a", "-"}


def coded(value: Any, table: dict[str, str], message: str) -> str:
    text = cell_text(value)
    code = table.get(norm_header(text))
    if code is None:
        raise CellError(message, value=text[:30])
    return code


def parse_yes_no(value: Any, *, allow_unknown: bool = True) -> bool | None:
    text = norm_header(cell_text(value))
    if text in _YES:
        return True
    if text in _NO:
        return False
    if allow_unknown and text in _UNKNOWN:
        return None
    if allow_unknown:
        raise CellError(
            N_("“{value}”无法识别，应为 yes/no/unknown（是/否/未知）"), value=cell_text(value)[:30]
        )
    raise CellError(N_("“{value}”无法识别，应为 yes/no（是/否）"), value=cell_text(value)[:30])


# ---- cases ---------------------------------------------------------------------------------------

CASE_COLUMNS: tuple[Column, ...] = (
    Column("hospital", ("医院", "医院名称"), required=True),
    Column("city", ("城市/盟市", "城市", "盟市")),
    Column("mrn", ("住院号", "病案号"), required=True),
    Column("name", ("姓名",), required=True),
    Column("sex", ("性别",), required=True),
    Column("birth_date", ("出生日期",)),
    Column("age", ("年龄",)),
    Column("ecmo_start", ("上机时间",), required=True),
    Column("mode", ("模式",), required=True),
    Column("ecpr", ("ECPR",)),
    Column("indication", ("适应证", "适应症"), required=True),
    Column("ecmo_end", ("撤机时间",)),
    Column("end_reason", ("结局",)),
    Column("survived_28d", ("28天存活",)),
    Column("discharged_alive", ("存活出院",)),
    Column("date_of_death", ("死亡日期",)),
)


@dataclass(frozen=True)
class CaseRow:
    """One valid spreadsheet row: a run of a patient at a hospital."""

    row: int
    hospital: str
    city: str
    mrn: str
    name: str
    sex: str
    birth_date: date | None
    age: int | None
    started_at: datetime
    mode: str
    ecpr: bool
    indication: str
    ended_at: datetime | None
    end_reason: str | None
    survived_28d: bool | None
    discharged_alive: bool | None
    date_of_death: datetime | None

    @property
    def natural_key(self) -> tuple[str, str, datetime]:
        return (norm_header(self.hospital), self.mrn, self.started_at)

    def to_facts(self, now: datetime) -> CaseFacts:
        """The row as case facts (no records), so one writer stores every kind of import."""
        status = RunStatus.ENDED.value if (self.ended_at or self.end_reason) else RunStatus.ON_ECMO.value
        patient = Patient(
            id=0,
            hospital_id=0,
            mrn=self.mrn,
            name=self.name,
            sex=self.sex,
            birth_date=self.birth_date,
            age_years=None if self.birth_date else self.age,
            height_cm=None,
            weight_kg=None,
            ward="",
            bed="",
            version=1,
        )
        run = Run(
            id=0,
            hospital_id=0,
            patient_id=0,
            run_number=1,
            mode=self.mode,
            ecpr=self.ecpr,
            indication=self.indication,
            indication_other="",
            diagnosis="",
            status=status,
            emergency=self.ecpr,
            attending_id=None,
            ward="",
            bed="",
            created_at=now,
            decided_at=None,
            started_at=self.started_at,
            ended_at=self.ended_at,
            end_reason=self.end_reason,
            version=1,
            survived_28d=self.survived_28d,
            discharged_alive=self.discharged_alive,
            date_of_death=self.date_of_death,
            source="import",
        )
        return CaseFacts(
            run=run, patient=patient, hospital_name=self.hospital, hospital_code="", hospital_city=self.city
        )


@dataclass(frozen=True)
class ParsedFile:
    """What a file holds: valid rows, every error found, and the columns that were ignored."""

    rows: tuple[Any, ...]
    errors: tuple[RowError, ...]
    total_rows: int
    ignored_columns: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()


class RowChecker:
    """Collects every error of a row (not only the first), each against its column's header."""

    def __init__(
        self, row: int, values: Sequence[Any], mapping: dict[str, int], headers: Sequence[str]
    ) -> None:
        self.row = row
        self.values = values
        self.mapping = mapping
        self.headers = headers
        self.errors: list[RowError] = []

    def header(self, key: str) -> str:
        index = self.mapping.get(key)
        return self.headers[index] if index is not None and index < len(self.headers) else key

    def raw(self, key: str) -> Any:
        index = self.mapping.get(key)
        if index is None or index >= len(self.values):
            return None
        return self.values[index]

    def get(self, key: str, parse: Callable[[Any], Any], *, required: bool = False) -> Any:
        raw = self.raw(key)
        if required and (raw is None or (isinstance(raw, str) and not raw.strip())):
            self.fail(key, N_("必填"))
            return None
        try:
            return parse(raw)
        except CellError as exc:
            self.errors.append(RowError(self.row, self.header(key), exc.message, exc.params))
        except ValidationError as exc:
            for err in exc.errors:
                self.errors.append(RowError(self.row, self.header(key), err.message, dict(err.params)))
        return None

    def fail(self, key: str, message: str, **params: Any) -> None:
        self.errors.append(RowError(self.row, self.header(key), message, params))


def _age(value: Any) -> int | None:
    text = cell_text(value).removesuffix("岁")
    if not text:
        return None
    if not re.fullmatch(r"\d{1,3}", text) or int(text) > 120:
        raise CellError(N_("“{value}”不是有效的年龄（0–120 岁的整数）"), value=cell_text(value)[:20])
    return int(text)


def validate_cases(table: Table, *, now: datetime) -> ParsedFile:
    """Check every row of a legacy register; the valid ones come back as :class:`CaseRow`."""
    if not table.headers:
        return ParsedFile((), (RowError(1, "", N_("文件为空：没有表头行")),), 0)
    mapping, header_errors = map_headers(table.headers, CASE_COLUMNS)
    ignored = tuple(h for i, h in enumerate(table.headers) if i not in mapping.values() and h.strip())
    if header_errors:
        return ParsedFile((), tuple(header_errors), len(table.rows), ignored, table.headers)
    errors: list[RowError] = []
    rows: list[CaseRow] = []
    seen: dict[tuple[str, str, datetime], int] = {}
    patients: dict[tuple[str, str], tuple[int, str]] = {}
    for number, values in table.rows:
        c = RowChecker(number, values, mapping, table.headers)
        hospital = c.get(
            "hospital", lambda v: clean_text(cell_text(v), N_("医院"), required=True), required=True
        )
        city = c.get("city", lambda v: clean_text(cell_text(v), N_("城市/盟市"), max_length=100)) or ""
        mrn = c.get("mrn", lambda v: clean_mrn(cell_text(v)), required=True)
        name = c.get(
            "name",
            lambda v: clean_text(cell_text(v), N_("姓名"), required=True, max_length=100),
            required=True,
        )
        sex = c.get(
            "sex", lambda v: coded(v, _SEXES, N_("“{value}”无法识别，应为 M/F（男/女）")), required=True
        )
        birth = c.get("birth_date", parse_local_date)
        age = c.get("age", _age)
        start_parsed = c.get("ecmo_start", parse_local_datetime, required=True)
        start = start_parsed[0] if start_parsed else None
        mode = c.get(
            "mode",
            lambda v: coded(v, _MODES, N_("未知的模式“{value}”，应为 VA、VV、VAV、VVA 或 other")),
            required=True,
        )
        ecpr_raw = c.raw("ecpr")
        ecpr = (
            bool(c.get("ecpr", lambda v: parse_yes_no(v, allow_unknown=False)))
            if cell_text(ecpr_raw)
            else False
        )
        indication = c.get(
            "indication", lambda v: coded(v, _INDICATIONS, N_("未知的适应证“{value}”")), required=True
        )
        end_parsed = c.get("ecmo_end", parse_local_datetime)
        end = end_parsed[0] if end_parsed else None
        end_reason = c.get(
            "end_reason",
            lambda v: (
                coded(
                    v,
                    _END_REASONS,
                    N_("未知的结局“{value}”，应为 weaned、died、withdrawn、bridged 或 transferred"),
                )
                if cell_text(v)
                else None
            ),
        )
        survived = c.get("survived_28d", parse_yes_no)
        discharged = c.get("discharged_alive", parse_yes_no)
        death_parsed = c.get("date_of_death", parse_local_datetime)
        death = death_parsed[0] if death_parsed else None

        today = local_date(now)
        if birth is not None and birth > today:
            c.fail("birth_date", N_("不能晚于今天"))
        elif birth is not None and start is not None and birth > local_date(start):
            c.fail("birth_date", N_("出生日期晚于上机时间"))
        elif birth is not None and today.year - birth.year > 120:
            c.fail("birth_date", N_("年龄超过 120 岁，请核对"))
        slack = now + timedelta(minutes=10)
        if start is not None and start > slack:
            c.fail("ecmo_start", N_("上机时间不能晚于当前时间"))
        if end is not None and end > slack:
            c.fail("ecmo_end", N_("撤机时间不能晚于当前时间"))
        if start is not None and end is not None and end < start:
            c.fail("ecmo_end", N_("撤机时间早于上机时间"))
        if start is not None and death is not None:
            if local_date(death) < local_date(start):
                c.fail("date_of_death", N_("死亡日期早于上机时间"))
            elif survived is True and not survived_day_28(start, death):
                c.fail(
                    "survived_28d",
                    N_("标为 28 天存活，但死亡日期在上机后第 {day} 天"),
                    day=ecmo_day(start, death),
                )
        if death is not None and death > slack:
            c.fail("date_of_death", N_("死亡日期不能晚于今天"))
        if end_reason == EndReason.DIED.value and discharged is True:
            c.fail("discharged_alive", N_("结局为 ECMO 期间死亡，不能同时为存活出院"))

        if not c.errors and hospital and mrn and start is not None:
            key = (norm_header(hospital), mrn, start)
            if key in seen:
                c.fail("ecmo_start", N_("与第 {row} 行重复（同一医院、住院号和上机时间）"), row=seen[key])
            else:
                seen[key] = number
            pkey = (norm_header(hospital), mrn)
            earlier = patients.get(pkey)
            if earlier is not None and earlier[1] != name:
                c.fail(
                    "name",
                    N_("住院号 {mrn} 在第 {row} 行的姓名为“{other}”，与本行不一致"),
                    mrn=mrn,
                    row=earlier[0],
                    other=earlier[1],
                )
            elif earlier is None:
                patients[pkey] = (number, name)
        if c.errors:
            errors.extend(c.errors)
            continue
        assert start is not None  # required: a blank start is an error above
        rows.append(
            CaseRow(
                row=number,
                hospital=hospital,
                city=city,
                mrn=mrn,
                name=name,
                sex=sex,
                birth_date=birth,
                age=age,
                started_at=start,
                mode=mode,
                ecpr=ecpr,
                indication=indication,
                ended_at=end,
                end_reason=end_reason,
                survived_28d=survived,
                discharged_alive=discharged,
                date_of_death=death,
            )
        )
    return ParsedFile(tuple(rows), tuple(errors), len(table.rows), ignored, table.headers)


def parse_cases_file(path: Path, *, now: datetime) -> ParsedFile:
    return validate_cases(read_table(path), now=now)
