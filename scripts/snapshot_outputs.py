"""Snapshot what the app prints and exports, to compare two versions of the code (a refactoring
must leave both unchanged).

    python scripts/snapshot_outputs.py make-db DB.sqlite3        # once, with the *old* code
    python scripts/snapshot_outputs.py dump DB.sqlite3 OUT_DIR   # with each version, on a copy
    diff -r OUT_OLD OUT_NEW

``dump`` works on a temporary copy of DB (printing adds document rows), at a fixed clock, and
writes the PDF text layer of every document kind of every run, each export format (identified and
de-identified) and the QC report. Lines carrying the audit-chain anchor are masked (printing moves it).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

PRINT_AT = datetime(2027, 1, 15, 2, 0, tzinfo=UTC)
PRINTER = "zhangwei"  # a doctor
RECORDS = "wuxia"  # 病案室: exports
CASES = 12
KINDS = ("consent", "opnote", "decision", "daily", "weaning", "followup", "archive")
ANCHOR = re.compile(r"审计链锚点：#\d+ [0-9a-f]{64}")


def make_db(target: Path, cases: int = CASES) -> None:
    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.demo import DEMO_PASSWORD, DemoGenerator

    c = build_container(str(target), workstation="snapshot")
    try:
        DemoGenerator(c, seed=2026).generate(cases, years=1)
        # the de-identification secret is made on the first such export and kept in the database:
        # make it now, so every dump of a copy pseudonymises alike
        c.auth.login(RECORDS, DEMO_PASSWORD)
        with tempfile.TemporaryDirectory() as tmp:
            c.exchange.export(
                date(2000, 1, 1), date(2000, 1, 2), "json", deidentify=True, out=Path(tmp) / "x.json"
            )
    finally:
        c.close()


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    return ANCHOR.sub("审计链锚点：#MASKED", "\n\f\n".join(pages))


def dump(db: Path, out: Path) -> None:
    from ecmo_desktop.container import build_container
    from ecmo_desktop.domain.errors import EcmoError
    from ecmo_desktop.services.clock import FakeClock
    from ecmo_desktop.services.demo import DEMO_PASSWORD

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        shutil.copyfile(db, copy)
        c = build_container(str(copy), clock=FakeClock(PRINT_AT), workstation="snapshot")
        try:
            c.auth.login(PRINTER, DEMO_PASSWORD)
            run_ids = list(range(1, CASES + 1))
            for run_id in run_ids:
                for kind in KINDS:
                    name = f"{kind}-{run_id:03d}.txt"
                    try:
                        text = _pdf_text(c.documents.generate(kind, run_id).pdf)
                    except EcmoError as exc:
                        text = f"ERROR {type(exc).__name__}: {exc}"
                    (out / name).write_text(text, encoding="utf-8")
            c.auth.logout()
            c.auth.login(RECORDS, DEMO_PASSWORD)
            first, last = date(2000, 1, 1), date(2030, 12, 31)
            for fmt in ("json", "csv", "xlsx"):
                for deid in (False, True):
                    folder = Path(tmp) / f"export-{fmt}-{deid}"
                    folder.mkdir()
                    result = c.exchange.export(
                        first, last, fmt, deidentify=deid, out=folder / f"export.{fmt}"
                    )
                    for f in sorted(result.files):
                        f = Path(f)
                        target = out / f"export-{'deid' if deid else 'full'}-{f.name}"
                        if f.suffix == ".xlsx":
                            target.write_text(_xlsx_text(f), encoding="utf-8")
                        else:
                            target.write_bytes(f.read_bytes())
            report = c.exchange.report(first, last)
            (out / "report.json").write_text(
                json.dumps(report.as_dict(), ensure_ascii=False, indent=1, default=str), encoding="utf-8"
            )
            path = c.exchange.save_report(report, "xlsx", Path(tmp) / "report.xlsx")
            (out / "report.xlsx.txt").write_text(_xlsx_text(path), encoding="utf-8")
        finally:
            c.close()


def _xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    lines = []
    for ws in wb.worksheets:
        lines.append(f"## {ws.title}")
        lines += [
            json.dumps(list(row), ensure_ascii=False, default=str) for row in ws.iter_rows(values_only=True)
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "make-db":
        make_db(Path(sys.argv[2]))
    else:
        dump(Path(sys.argv[2]), Path(sys.argv[3]))
