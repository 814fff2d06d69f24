"""Quality control and data exchange: legacy imports, the QC report, case-level export (R9, R10, R15).

Imports are all-or-nothing by default: every row is checked first, and one bad row means nothing
is written and every bad row is listed (row, column, reason). Re-importing a file adds nothing
twice: a run is identified by hospital + MRN + first-flow time (the database's natural key), a
console by hospital + serial. A dry run does the same checks and counts on a read-only unit of work,
so it provably writes nothing. Hospitals other than the local one are created as non-local (a
regional centre imports several hospitals into one database).

Every import and export writes an audit row naming the file, its SHA-256 and the counts; a refused
import is audited as a failed attempt.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecmo_desktop import __version__
from ecmo_desktop.domain.case import EXTERNAL_STAFF_PREFIX, CaseFacts, StaffRef
from ecmo_desktop.domain.errors import EcmoError, FieldError, IntegrityConflict, NotFound, ValidationError
from ecmo_desktop.domain.model import Hospital, Patient
from ecmo_desktop.domain.policy import SecurityPolicy
from ecmo_desktop.domain.time import local_date
from ecmo_desktop.domain.validation import clean_text
from ecmo_desktop.exchange.export import (
    DATE_MODES,
    FORMATS,
    ExportSource,
    Pseudonymizer,
    build_export,
    read_export,
    report_tables,
    write_export,
    write_report_xlsx,
)
from ecmo_desktop.exchange.import_cases import (
    CaseRow,
    ParsedFile,
    RowError,
    check_import_file,
    norm_header,
    read_table,
    validate_cases,
)
from ecmo_desktop.exchange.import_equipment import EquipmentRow, validate_equipment
from ecmo_desktop.exchange.report import DEFINITIONS, Period, QcReport, compute_report
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.auth import DEMO_SETTING
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork

if TYPE_CHECKING:  # reportlab loads only when a PDF is written
    from ecmo_desktop.documents.qc_report import QcPrintout

log = logging.getLogger(__name__)

CASES, EQUIPMENT, EXPORT = "cases", "equipment", "export"
PREVIEW_ROWS = 500
_SETTINGS_KEY = "exchange"
_PSEUDONYM_KEY = "pseudonym_key"


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, for a dry run, would do); ``as_dict`` is the CLI's JSON answer."""

    kind: str
    imported: int
    skipped: int
    errors: tuple[RowError, ...]
    dry_run: bool
    rows: int
    hospitals_created: tuple[str, ...] = ()
    equipment_imported: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "skipped": self.skipped,
            "errors": [e.as_dict() for e in self.errors],
            "dry_run": self.dry_run,
            "rows": self.rows,
            "kind": self.kind,
            "hospitals_created": list(self.hospitals_created),
            "equipment_imported": self.equipment_imported,
        }


@dataclass(frozen=True)
class ImportPreview:
    """The import wizard's view of a file: its columns, the first rows and the dry-run outcome."""

    kind: str
    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (spreadsheet row, cells as text)
    ignored_columns: tuple[str, ...]
    result: ImportResult


@dataclass(frozen=True)
class ExportResult:
    files: tuple[Path, ...]
    runs: int
    format: str
    deidentified: bool
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [str(f) for f in self.files],
            "runs": self.runs,
            "format": self.format,
            "deidentified": self.deidentified,
            "sha256": self.sha256,
        }


def qc_printout(report: QcReport) -> QcPrintout:
    """The QC report as the PDF prints it: the workbook's tables and every definition."""
    from ecmo_desktop.documents.qc_report import QcPrintout

    return QcPrintout(
        date_from=report.date_from,
        date_to=report.date_to,
        hospital=report.hospital,
        hospitals=len(report.by_hospital),
        as_of=report.as_of,
        weaning_window_hours=report.weaning_window_hours,
        by_year=report.by_year,
        tables=report_tables(report),
        definitions=[(d.label, d.text) for d in DEFINITIONS.values()],
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _derived_code(name: str) -> str:
    """A stable code for a hospital known only by name (legacy sheets carry no codes)."""
    return "IMP-" + hashlib.sha256(norm_header(name).encode()).hexdigest()[:10].upper()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M")
            if (value.hour, value.minute) != (0, 0)
            else value.date().isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class _Plan:
    """Running state of one import: caches, counts and per-row errors found against the database."""

    dry_run: bool
    hospitals: dict[str, Hospital | None] = field(default_factory=dict)
    new_hospitals: list[str] = field(default_factory=list)
    patients: dict[tuple[int | str, str], Patient | None] = field(default_factory=dict)
    planned_runs: set[tuple[str, str, datetime]] = field(default_factory=set)
    staff: dict[int, int] = field(default_factory=dict)
    imported: int = 0
    skipped: int = 0
    equipment: int = 0
    errors: list[RowError] = field(default_factory=list)


class ExchangeService(Service):
    # ---- imports ---------------------------------------------------------------------------------
    @requires(Action.IMPORT)
    def import_cases(self, path: Path, *, dry_run: bool = False, all_or_nothing: bool = True) -> ImportResult:
        """Import a legacy register (.csv/.xlsx, one row per run); a .json
        export goes to ``import_export``.
        """
        path = Path(path)
        if path.suffix.lower() == ".json":
            return self.import_export(path, dry_run=dry_run, all_or_nothing=all_or_nothing)
        parsed = validate_cases(read_table(path), now=self.ctx.now())
        return self._run_import(CASES, path, parsed, dry_run=dry_run, all_or_nothing=all_or_nothing)

    @requires(Action.IMPORT)
    def import_equipment(
        self, path: Path, *, dry_run: bool = False, all_or_nothing: bool = True
    ) -> ImportResult:
        """Import a console register (.csv/.xlsx): hospital, city, model, serial, purchase date."""
        path = Path(path)
        parsed = validate_equipment(read_table(path), now=self.ctx.now())
        return self._run_import(EQUIPMENT, path, parsed, dry_run=dry_run, all_or_nothing=all_or_nothing)

    @requires(Action.IMPORT)
    def import_export(
        self, path: Path, *, dry_run: bool = False, all_or_nothing: bool = True
    ) -> ImportResult:
        """Load another database's JSON export (a regional centre merging its hospitals)."""
        path = Path(path)
        check_import_file(path)
        document = read_export(path.read_bytes())
        parsed = ParsedFile(
            rows=(document,),
            errors=document.errors,
            total_rows=len(document.cases) + len({e.row for e in document.errors if e.row > 0}),
        )
        return self._run_import(EXPORT, path, parsed, dry_run=dry_run, all_or_nothing=all_or_nothing)

    @requires(Action.IMPORT)
    def preview_import(self, path: Path, kind: str) -> ImportPreview:
        """What the import wizard shows before anything is written: rows, ignored columns, every error.

        The counts are those of the valid rows (what "skip bad rows" would import); the wizard says
        that by default one error means nothing is imported.
        """
        path = Path(path)
        if kind == EXPORT or path.suffix.lower() == ".json":
            result = self.import_export(path, dry_run=True, all_or_nothing=False)
            check_import_file(path)
            document = read_export(path.read_bytes())
            rows: tuple[tuple[int, tuple[str, ...]], ...] = tuple(
                (
                    i,
                    (
                        c.hospital_name,
                        c.patient.mrn,
                        c.patient.name,
                        _cell(c.run.started_at),
                        c.run.mode,
                        c.run.indication,
                    ),
                )
                for i, c in document.cases[:PREVIEW_ROWS]
            )
            return ImportPreview(
                EXPORT, ("hospital", "mrn", "name", "ecmo_start", "mode", "indication"), rows, (), result
            )
        table = read_table(path)
        now = self.ctx.now()
        parsed = validate_equipment(table, now=now) if kind == EQUIPMENT else validate_cases(table, now=now)
        result = self._run_import(kind, path, parsed, dry_run=True, all_or_nothing=False)
        rows = tuple((n, tuple(_cell(v) for v in values)) for n, values in table.rows[:PREVIEW_ROWS])
        return ImportPreview(kind, table.headers, rows, parsed.ignored_columns, result)

    def _run_import(
        self, kind: str, path: Path, parsed: ParsedFile, *, dry_run: bool, all_or_nothing: bool
    ) -> ImportResult:
        user = self.ctx.require_user()
        digest = _sha256(path)
        # a file already known to be refused is only checked against the database, never written
        check_only = dry_run or (bool(parsed.errors) and all_or_nothing)

        def work(uow: UnitOfWork) -> ImportResult:
            plan = _Plan(dry_run=check_only)
            now = self.ctx.now()
            created_by = user.id or None
            if kind == CASES:
                for row in parsed.rows:
                    self._import_case_row(uow, plan, row, now, created_by)
            elif kind == EQUIPMENT:
                for row in parsed.rows:
                    self._import_equipment_row(uow, plan, row, now)
            else:
                for document in parsed.rows:
                    self._import_document(uow, plan, document, now, created_by)
            errors = sorted([*parsed.errors, *plan.errors], key=lambda e: (e.row, e.column))
            refused = bool(errors) and all_or_nothing
            result = ImportResult(
                kind=kind,
                imported=0 if refused else plan.imported,
                skipped=0 if refused else plan.skipped,
                errors=tuple(errors),
                dry_run=dry_run,
                rows=parsed.total_rows,
                hospitals_created=() if refused else tuple(plan.new_hospitals),
                equipment_imported=0 if refused else plan.equipment,
            )
            if check_only or refused:
                return result  # leaving without commit rolls back: nothing of a refused import stays
            self._audit(
                uow,
                "import",
                "exchange",
                None,
                after=self._audit_body(kind, path, digest, result),
                reason=_("导入 {file}").format(file=path.name),
            )
            uow.commit()
            return result

        result = self._transact(work, write=not check_only)
        log.info(
            "import %s %s%s: %d imported, %d skipped, %d errors",
            kind,
            path.name,
            " (dry run)" if dry_run else "",
            result.imported,
            result.skipped,
            len(result.errors),
        )
        if result.errors and all_or_nothing and not dry_run:
            self._audit_refusal(kind, path, digest, result)
        return result

    @staticmethod
    def _audit_body(kind: str, path: Path, digest: str, result: ImportResult) -> dict[str, Any]:
        return {
            "kind": kind,
            "file": path.name,
            "sha256": digest,
            "imported": result.imported,
            "skipped": result.skipped,
            "errors": len(result.errors),
            "rows": result.rows,
            "hospitals_created": list(result.hospitals_created),
            "equipment_imported": result.equipment_imported,
        }

    def _audit_refusal(self, kind: str, path: Path, digest: str, result: ImportResult) -> None:
        def work(uow: UnitOfWork) -> None:
            self._audit(
                uow,
                "import",
                "exchange",
                None,
                after=self._audit_body(kind, path, digest, result),
                reason=_("导入被拒绝：{n} 处错误，未写入任何数据").format(n=len(result.errors)),
                success=False,
            )
            uow.commit()

        self._transact(work)

    # ---- resolving hospitals and patients --------------------------------------------------------
    def _hospital(
        self, uow: UnitOfWork, plan: _Plan, name: str, city: str, code: str | None, now: datetime
    ) -> Hospital | None:
        """The hospital a row belongs to: by code, else by name; created (non-local) when new.

        In a dry run a new hospital is not created: ``None`` stands for "will be created".
        """
        key = code or norm_header(name)
        if key in plan.hospitals:
            return plan.hospitals[key]
        hospital = uow.exchange.hospital_by_code(code) if code else None
        if hospital is None:
            hospital = uow.hospitals.by_name(name)
        if hospital is None:
            plan.new_hospitals.append(name)
            if not plan.dry_run:
                new_code = code or _derived_code(name)
                while uow.exchange.hospital_by_code(new_code) is not None:
                    new_code = _derived_code(new_code + name)
                hospital = uow.hospitals.add(name=name, code=new_code, city=city, is_local=False, now=now)
        elif city and not hospital.city and not plan.dry_run:
            hospital = uow.hospitals.update(hospital.id, city=city)
        plan.hospitals[key] = hospital
        return hospital

    def _patient(
        self,
        uow: UnitOfWork,
        plan: _Plan,
        hospital: Hospital | None,
        facts: Patient,
        row: int,
        now: datetime,
        created_by: int | None,
        name_column: str,
    ) -> tuple[Patient | None, bool]:
        """(patient, ok): the registered patient with this MRN (created unless a dry run), or a row error
        when the MRN is registered under another name (two people, or a typing error: never merged)."""
        if hospital is None:  # a hospital a dry run will create: all its patients are new
            return None, True
        key = (hospital.id, facts.mrn)
        existing = plan.patients[key] if key in plan.patients else uow.patients.by_mrn(hospital.id, facts.mrn)
        if existing is not None and existing.name != facts.name:
            plan.errors.append(
                RowError(
                    row,
                    name_column,
                    N_("住院号 {mrn} 已登记为“{name}”，与本行姓名不一致"),
                    {"mrn": facts.mrn, "name": existing.name},
                )
            )
            return None, False
        if existing is None and not plan.dry_run:
            existing = uow.exchange.add_patient(
                hospital_id=hospital.id, patient=facts, now=now, created_by_id=created_by
            )
        plan.patients[key] = existing
        return existing, True

    def _add_case(
        self,
        uow: UnitOfWork,
        plan: _Plan,
        case: CaseFacts,
        row: int,
        *,
        hospital_code: str | None,
        staff: Callable[[StaffRef], int],
        now: datetime,
        created_by: int | None,
        name_column: str,
    ) -> None:
        started = case.run.started_at
        assert started is not None
        hospital = self._hospital(uow, plan, case.hospital_name, case.hospital_city, hospital_code, now)
        patient, ok = self._patient(uow, plan, hospital, case.patient, row, now, created_by, name_column)
        if not ok:
            return
        if (
            hospital is not None
            and patient is not None
            and uow.runs.find_natural(hospital.id, patient.id, started)
        ):
            plan.skipped += 1
            return
        if plan.dry_run or hospital is None or patient is None:
            plan.imported += 1
            return
        try:
            run = uow.exchange.add_case(
                case,
                hospital_id=hospital.id,
                patient_id=patient.id,
                run_number=uow.exchange.run_count(patient.id) + 1,
                staff=staff,
                created_by_id=created_by,
                now=now,
            )
        except IntegrityConflict as exc:
            plan.errors.append(RowError(row, "devices", exc.message, dict(exc.params)))
            return
        plan.imported += 1
        self._audit(
            uow,
            "import",
            "ecmo_run",
            run.id,
            run_id=run.id,
            patient_id=patient.id,
            after={
                "hospital": hospital.name,
                "mrn": patient.mrn,
                "started_at": started,
                "mode": run.mode,
                "source": run.source,
            },
        )

    def _import_case_row(
        self, uow: UnitOfWork, plan: _Plan, row: CaseRow, now: datetime, created_by: int | None
    ) -> None:
        self._add_case(
            uow,
            plan,
            row.to_facts(now),
            row.row,
            hospital_code=None,
            staff=_no_staff,
            now=now,
            created_by=created_by,
            name_column="name",
        )

    def _import_equipment_row(self, uow: UnitOfWork, plan: _Plan, row: EquipmentRow, now: datetime) -> None:
        hospital = self._hospital(uow, plan, row.hospital, row.city, None, now)
        if hospital is not None and uow.exchange.equipment_exists(hospital.id, row.serial):
            plan.skipped += 1
            return
        plan.imported += 1
        if hospital is not None and not plan.dry_run:
            uow.exchange.add_equipment(
                hospital_id=hospital.id,
                kind=row.kind,
                model=row.model,
                manufacturer=row.manufacturer,
                serial=row.serial,
                purchase_date=row.purchase_date,
                active=True,
                notes="",
                now=now,
            )

    def _import_document(
        self, uow: UnitOfWork, plan: _Plan, document: Any, now: datetime, created_by: int | None
    ) -> None:
        source = document.source.code if document.source else "unknown"
        source_name = document.source.name if document.source else ""
        for e in document.equipment:
            hospital = self._hospital(uow, plan, e.hospital_name, e.city, e.hospital_code, now)
            if hospital is not None and uow.exchange.equipment_exists(hospital.id, e.serial):
                continue
            plan.equipment += 1
            if hospital is not None and not plan.dry_run:
                uow.exchange.add_equipment(
                    hospital_id=hospital.id,
                    kind=e.kind,
                    model=e.model,
                    manufacturer=e.manufacturer,
                    serial=e.serial,
                    purchase_date=e.purchase_date,
                    active=e.active,
                    notes="",
                    now=now,
                )

        def staff(ref: StaffRef) -> int:
            """The placeholder account for the source's staff member ``ref.id`` (made once, found again)."""
            if ref.id in plan.staff:
                return plan.staff[ref.id]
            known = document.staff.get(ref.id, ref)
            username = (
                EXTERNAL_STAFF_PREFIX + hashlib.sha256(f"{source}\x1f{ref.id}".encode()).hexdigest()[:24]
            )
            plan.staff[ref.id] = uow.exchange.external_staff(
                username=username,
                full_name=known.name or _("外院人员"),
                title=known.title or "other",
                department=source_name,
                now=now,
            )
            return plan.staff[ref.id]

        for index, case in document.cases:
            self._add_case(
                uow,
                plan,
                case,
                index,
                hospital_code=case.hospital_code,
                staff=staff,
                now=now,
                created_by=created_by,
                name_column="patient.name",
            )

    # ---- the report ------------------------------------------------------------------------------
    @requires(Action.VIEW_QC)
    def report(self, date_from: date, date_to: date, hospital: str | None = None) -> QcReport:
        """The QC report for runs whose first flow is between the two dates (Beijing time, inclusive)."""
        if date_to < date_from:
            raise ValidationError(FieldError(N_("统计期"), N_("结束日期早于开始日期")))
        name = clean_text(hospital, N_("医院"), max_length=200) if hospital else None
        today = local_date(self.ctx.now())

        def work(uow: UnitOfWork) -> QcReport:
            hospital_id = None
            if name:
                found = uow.hospitals.by_name(name)
                if found is None:
                    raise NotFound(N_("找不到医院“{name}”"), name=name)
                hospital_id = found.id
            period = Period(date_from, date_to)
            start, end = period.bounds()
            cases = uow.cases.iter_case_facts(started_from=start, started_to=end, hospital_id=hospital_id)
            equipment = uow.exchange.equipment(hospital_id=hospital_id)
            return compute_report(
                cases,
                equipment,
                period=period,
                as_of=min(date_to, today),
                window_hours=self._window(uow),
                hospital=name,
            )

        return self._read(work)

    @requires(Action.VIEW_QC)
    def hospitals(self) -> list[str]:
        """Hospital names in this database (the QC page's hospital filter)."""
        return self._read(lambda uow: [h.name for h in uow.exchange.hospitals()])

    @staticmethod
    def _window(uow: UnitOfWork) -> int:
        local = uow.hospitals.local()
        return SecurityPolicy.from_settings(local.settings if local else {}).weaning_success_window_hours

    @requires(Action.VIEW_QC)
    def save_report(self, report: QcReport, fmt: str, out: Path) -> Path:
        """Save the QC figures as .xlsx or PDF (aggregates only: no patient appears in them)."""
        out = Path(out)
        if fmt == "xlsx":
            write_report_xlsx(report, out)
        elif fmt == "pdf":
            from ecmo_desktop.documents.qc_report import write_qc_report_pdf

            user = self.ctx.require_user()
            local = self._read(lambda uow: uow.hospitals.local() or _NO_HOSPITAL)
            write_qc_report_pdf(
                qc_printout(report),
                out,
                printed_at=self.ctx.now(),
                printed_by=user.full_name,
                hospital_name=local.name,
                demo=(local.settings or {}).get(DEMO_SETTING) is True,
            )
        else:
            raise ValidationError(FieldError(N_("格式"), N_("只支持 xlsx 或 pdf")))

        def work(uow: UnitOfWork) -> None:
            self._audit(
                uow,
                "export",
                "qc_report",
                None,
                after={
                    "format": fmt,
                    "file": out.name,
                    "sha256": _sha256(out),
                    "from": report.date_from,
                    "to": report.date_to,
                    "hospital": report.hospital,
                },
            )
            uow.commit()

        self._transact(work)
        return out

    # ---- export ----------------------------------------------------------------------------------
    @requires(Action.EXPORT)
    def export(
        self, date_from: date, date_to: date, fmt: str, *, deidentify: bool, out: Path, dates: str = "shift"
    ) -> ExportResult:
        """Case-level data of the runs started in the period, as json/csv/xlsx (docs/export-schema.md).

        ``dates`` (de-identified only): ``shift`` moves each patient's dates by a secret offset,
        ``month`` coarsens them to the month.
        """
        if fmt not in FORMATS:
            raise ValidationError(FieldError(N_("格式"), N_("只支持 json、csv 或 xlsx")))
        if dates not in DATE_MODES:
            raise ValidationError(FieldError(N_("日期处理"), N_("只支持 shift 或 month")))
        if date_to < date_from:
            raise ValidationError(FieldError(N_("统计期"), N_("结束日期早于开始日期")))
        out = Path(out)

        def work(uow: UnitOfWork) -> ExportResult:
            local = uow.hospitals.local()
            pseudonyms = Pseudonymizer(self._pseudonym_key(uow, local), dates=dates) if deidentify else None
            period = Period(date_from, date_to)
            start, end = period.bounds()
            cases = uow.cases.case_facts(started_from=start, started_to=end)
            attending = uow.cases.staff_refs(c.run.attending_id for c in cases if c.run.attending_id)
            document = build_export(
                cases,
                uow.exchange.equipment(),
                uow.exchange.hospitals(),
                period=period,
                exported_at=self.ctx.now(),
                window_hours=self._window(uow),
                pseudonyms=pseudonyms,
                extra_staff=attending,
                app_version=__version__,
                source=ExportSource(local.code, local.name, local.city) if local else None,
            )
            files = write_export(document, fmt, out)
            try:
                result = ExportResult(
                    files=tuple(files),
                    runs=len(cases),
                    format=fmt,
                    deidentified=deidentify,
                    sha256=_sha256(files[0]),
                )
                self._audit(
                    uow,
                    "export",
                    "exchange",
                    None,
                    after={
                        "format": fmt,
                        "files": [f.name for f in files],
                        "sha256": result.sha256,
                        "runs": result.runs,
                        "from": date_from,
                        "to": date_to,
                        "deidentified": deidentify,
                        "dates": dates if deidentify else None,
                    },
                    reason=_("导出病例数据"),
                )
                uow.commit()
            except BaseException:
                for f in files:  # an export the audit trail does not know about must not stay behind
                    f.unlink(missing_ok=True)
                raise
            return result

        return self._transact(work)

    @staticmethod
    def _pseudonym_key(uow: UnitOfWork, local: Hospital | None) -> bytes:
        """This database's secret for pseudonyms, made on first use and kept in the hospital settings."""
        if local is None:
            raise EcmoError(N_("请先完成医院设置，再导出去标识化数据"))
        settings = dict(local.settings or {})
        section = dict(settings.get(_SETTINGS_KEY) or {})
        key = section.get(_PSEUDONYM_KEY)
        if not isinstance(key, str) or len(key) < 32:
            key = secrets.token_hex(32)
            section[_PSEUDONYM_KEY] = key
            settings[_SETTINGS_KEY] = section
            uow.hospitals.update(local.id, settings=settings)
        return bytes.fromhex(key)


_NO_HOSPITAL = Hospital(id=0, name="", code="", city="")


def _no_staff(ref: StaffRef) -> int:
    raise AssertionError("legacy rows name no staff")
