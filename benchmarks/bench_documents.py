"""Document generation speed, beside a text-only reportlab floor; optionally the look of every document.

    .venv/bin/python benchmarks/bench_documents.py [--cases 100] [--db demo.sqlite3] [--screenshots
    docs/screenshots]

Builds (or reuses, with ``--db``) a demo database of ``--cases`` runs charted through the services
(``ecmo-desktop demo``: decisions, consent, procedures with bound devices, daily entries, weaning,
follow-up), then prints:

- **operation note**: ``DocumentService.generate`` (what the nurse waits for: dossier read, plan,
  layout, SHA-256, store, audit row) against its floor with the same content (plan and layout of the
  already loaded dossier), interleaved, medians and p95 per note and per page (goal ≤ 30 ms/page
  through the service), with the load average;
- **archive of every run**: ``DocumentService.batch_archive`` over all runs into a folder (with
  barcodes, trend charts, database and file writes), as milliseconds per page (goal < 30 ms/page),
  and the layout alone per page;
- **floors**, measured the same way (one document per run with the same number of pages): plain
  reportlab text (Helvetica, no tables), and the same text on the project's page (CJK font, header,
  footer, "X / Y"); the ratio says what tables, barcodes and charts cost over plain text.

With ``--screenshots DIR`` it also renders the first pages of one document of each kind (the demo
case with the most devices) to ``DIR/doc-<kind>-<page>.png`` with ``pdftoppm -r 80``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEMO_PASSWORD = "Ward2026demo"
LOREM = (
    "体外膜肺氧合（ECMO）是将静脉血引出体外，经膜式氧合器进行气体交换后再输回体内的生命支持技术。"
    "Extracorporeal membrane oxygenation supports the heart and lungs. "
) * 4


class _Quiet:
    def set_progress(self, done: int, total: int, text: str = "") -> None:
        if done and done % 20 == 0:
            print(f"  … {done}/{total}", file=sys.stderr, flush=True)

    def cancelled(self) -> bool:
        return False


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def demo_database(path: Path, cases: int) -> None:
    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.demo import DemoGenerator

    print(
        f"building a demo database of {cases} runs at {path} (about 1.7 s a run) …",
        file=sys.stderr,
        flush=True,
    )
    c = build_container(str(path))
    try:
        DemoGenerator(c, seed=2026).generate(cases)
    finally:
        c.close()


def text_floor(page_counts: list[int]) -> tuple[float, float]:
    """Seconds to lay out text-only documents of the given page counts: plain reportlab, our page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    from ecmo_desktop.documents.layout import DocumentHeader, build_pdf, document_styles

    body = getSampleStyleSheet()["BodyText"]
    cjk = document_styles().body
    header = DocumentHeader(
        hospital_name="某医院",
        title="文本",
        patient_name="王某",
        mrn="ZY1",
        sex="男",
        age="45岁",
        ward="EICU",
        bed="1",
        printed_at=datetime.now(UTC),
        printed_by="某人",
        document_id="DOC-1",
        content_hash="0" * 64,
        audit_anchor="#1 " + "0" * 64,
    )

    def story(pages: int, style: object, per_page: int) -> list[object]:
        out: list[object] = []
        for page in range(pages):
            if page:
                out.append(PageBreak())
            out += [Paragraph(LOREM, style) for _ in range(per_page)]
        return out

    import io

    start = time.perf_counter()
    for pages in page_counts:
        SimpleDocTemplate(io.BytesIO(), pagesize=A4).build(story(pages, body, 9))
    plain = time.perf_counter() - start
    start = time.perf_counter()
    for pages in page_counts:
        build_pdf(header, story(pages, cjk, 5))
    ours = time.perf_counter() - start
    return plain, ours


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--db", type=Path, help="demo SQLite database to use (made if missing)")
    parser.add_argument("--notes", type=int, default=50, help="operation notes to time")
    parser.add_argument("--no-archive", action="store_true", help="time the operation note only")
    parser.add_argument("--screenshots", type=Path, help="also render one document of each kind to PNG here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ecmo-bench-docs-"))
    os.environ.setdefault("ECMO_DATA_DIR", str(work / "data"))
    db = args.db or work / "demo.sqlite3"
    if not db.exists():
        demo_database(db, args.cases)

    t0 = time.perf_counter()
    from ecmo_desktop.documents.fonts import register_fonts

    register_fonts()
    font_load = time.perf_counter() - t0

    from ecmo_desktop.container import build_container
    from ecmo_desktop.documents.archive import plan_document, render
    from ecmo_desktop.documents.consent import load_consent_template
    from ecmo_desktop.documents.parts import PrintContext

    c = build_container(str(db))
    c.auth.login("wuxia", DEMO_PASSWORD)  # the demo's records staff
    runs = [r.run_id for r in c.runs.search_runs("", limit=1000)][: args.cases]
    with c.uow(write=False) as uow:
        dossiers = {run_id: uow.cases.load(run_id) for run_id in runs}
    busiest = max(
        dossiers.values(),
        key=lambda d: (
            d.run.end_reason == "weaned",
            sum(len(p.devices) for p in d.procedures),
            len(d.daily_entries),
        ),
    )
    note_proc = max(busiest.procedures, key=lambda p: len(p.devices))
    template = load_consent_template()
    ctx = PrintContext(datetime.now(UTC), "基准", "DOC-000001-v1", "#1 " + "0" * 64)

    t0 = time.perf_counter()
    first = render(plan_document("opnote", busiest, note_proc.id, as_of=ctx.printed_at), busiest, ctx)
    first_note = time.perf_counter() - t0
    c.ctx.user = None
    c.auth.login("zhaojing", DEMO_PASSWORD)  # a nurse prints the note through the service
    c.documents.generate("opnote", busiest.run.id, note_proc.id)  # warm: first queries, first font subset
    # interleaved: the service call the user waits for (read the dossier, plan, lay out, hash, store, audit)
    # and its floor with the same content (plan and layout of the loaded dossier), alternating
    times: list[float] = []
    service_times: list[float] = []
    pages_per_note = first.page_count
    for i in range(args.notes):
        for step in ("layout", "service") if i % 2 == 0 else ("service", "layout"):
            t0 = time.perf_counter()
            if step == "layout":
                render(plan_document("opnote", busiest, note_proc.id, as_of=ctx.printed_at), busiest, ctx)
                times.append(time.perf_counter() - t0)
            else:
                printed = c.documents.generate("opnote", busiest.run.id, note_proc.id)
                service_times.append(time.perf_counter() - t0)
                pages_per_note = printed.document.page_count

    print(f"\nfonts: first load {_ms(font_load)}; first operation note (cold) {_ms(first_note)}")
    print(
        f"\noperation note ({len(note_proc.devices)} devices, {pages_per_note} pages, {len(runs)}-run demo), "
        f"{args.notes} of each, interleaved; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs:"
    )
    for label, values in (("layout only (floor)", times), ("service generate", service_times)):
        print(
            f"  {label:<20} median {_ms(statistics.median(values))}  p95 {_ms(pct(values, 0.95))}   per page "
            f"median {_ms(statistics.median(values) / pages_per_note)}  p95 "
            f"{_ms(pct(values, 0.95) / pages_per_note)}"
        )
    print(
        f"  service / layout    ×{statistics.median(service_times) / statistics.median(times):.2f}   "
        f"(goal: ≤ 30 ms/page through the service; the service also reads the dossier, hashes, stores, "
        f"audits)"
    )
    if not args.no_archive:
        archive(c, runs, dossiers, template, ctx, work)
    if args.screenshots:
        screenshots(c, busiest, note_proc.id, args.screenshots, work)
    c.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


def archive(c: Any, runs: list[int], dossiers: dict[int, Any], template: Any, ctx: Any, work: Path) -> None:
    """Every run's archive through ``batch_archive``, per page, against the layout alone and text floors."""
    from ecmo_desktop.documents.archive import plan_document, render

    c.ctx.user = None
    c.auth.login("wuxia", DEMO_PASSWORD)
    out = work / "archives"
    t0 = time.perf_counter()
    result = c.documents.batch_archive(runs, out, _Quiet())
    batch_seconds = time.perf_counter() - t0
    pages = [item.document.page_count for item in result.done if item.document]
    total_pages = sum(pages)

    t0 = time.perf_counter()
    for run_id in runs:
        d = dossiers[run_id]
        render(plan_document("archive", d, None, as_of=ctx.printed_at, template=template), d, ctx)
    layout_seconds = time.perf_counter() - t0
    plain, ours = text_floor(pages)

    print(f"\narchive of {len(result.done)} runs ({total_pages} pages, {len(result.failed)} failed):")
    print(
        f"  batch_archive       {batch_seconds:.1f} s = {batch_seconds * 1000 / total_pages:.1f} ms/page   "
        f"(goal < 30 ms/page)"
    )
    print(f"  layout only         {layout_seconds * 1000 / total_pages:.1f} ms/page")
    print(
        f"  floor, plain text   {plain * 1000 / total_pages:.1f} ms/page   (reportlab, Helvetica, same page "
        f"counts)"
    )
    print(f"  floor, our page     {ours * 1000 / total_pages:.1f} ms/page   (CJK text on the project's page)")
    print(
        f"  ratio archive/plain {batch_seconds / plain:.1f}×   layout/plain {layout_seconds / plain:.1f}×   "
        f"layout/our page {layout_seconds / ours:.1f}×"
    )


def screenshots(c: object, dossier: object, procedure_id: int, folder: Path, work: Path) -> None:
    """The first pages of one document of each kind, as PNG, for looking at the layout."""
    from ecmo_desktop.documents.records import day_subject

    if shutil.which("pdftoppm") is None:
        print("pdftoppm not installed: no screenshots", file=sys.stderr)
        return
    folder.mkdir(parents=True, exist_ok=True)
    docs = c.documents  # type: ignore[attr-defined]
    run_id = dossier.run.id  # type: ignore[attr-defined]
    days = dossier.days()  # type: ignore[attr-defined]
    wanted = [
        ("consent", None, 2),
        ("opnote", procedure_id, 2),
        ("decision", None, 1),
        ("daily", day_subject(days[min(2, len(days) - 1)]) if days else None, 2),
        ("weaning", None, 1),
        ("followup", None, 1),
        ("archive", None, 3),
    ]
    for kind, subject, page_count in wanted:
        try:
            printed = docs.generate(kind, run_id, subject)
        except Exception as exc:  # noqa: BLE001 - a kind this demo case lacks is reported and skipped
            print(f"{kind}: {exc}", file=sys.stderr)
            continue
        _png(printed.pdf, folder / f"doc-{kind}", page_count, work)
    lot = next((d.lot for d in dossier.devices if d.lot), None)  # type: ignore[attr-defined]
    if lot:
        rows = [
            [r.patient_name, r.mrn, r.product_name, r.lot or "", r.serial or "", r.bound_at]
            for r in c.devices.trace_lot(lot)
        ][:40]  # type: ignore[attr-defined]
        printed = docs.export_trace(
            f"批号 {lot} 追溯清单",
            ["患者", "住院号", "器械", "批号", "序列号", "绑定时间"],
            rows,
            description="按批号查询：该批号器械绑定的全部患者（召回时通知）",
        )
        _png(printed.pdf, folder / "doc-recall", 1, work)
    print(f"screenshots in {folder}")


def _png(pdf: bytes, prefix: Path, pages: int, work: Path) -> None:
    source = work / "shot.pdf"
    source.write_bytes(pdf)
    for old in prefix.parent.glob(prefix.name + "-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", str(pages), str(source), str(prefix)], check=True
    )
    for png in sorted(prefix.parent.glob(prefix.name + "-*.png")):  # pdftoppm pads page numbers: -01, -1 …
        number = int(png.stem.rsplit("-", 1)[1])
        png.rename(prefix.parent / f"{prefix.name}-{number}.png")


if __name__ == "__main__":
    raise SystemExit(main())
