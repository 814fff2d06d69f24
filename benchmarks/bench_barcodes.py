"""Cost of vector barcodes in PDFs: per symbol against reportlab's own, and per page of a document.

Prints milliseconds per symbol for this project's vector Code 128 / DataMatrix flowables and for
reportlab's Code128 and pure-Python ECC200DataMatrix widgets (its only DataMatrix without
pylibdmtx: fixed 44x44, no GS1), then milliseconds per page, file size and peak
Python memory for a 100-page document with three barcodes per page against the same pages without
barcodes. Run: ``.venv/bin/python benchmarks/bench_barcodes.py [--pages 100] [--symbols 300]``.
"""

from __future__ import annotations

import argparse
import io
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, PageBreak, Spacer

from ecmo_desktop.documents.barcodes import GS, Code128Barcode, DataMatrixBarcode
from ecmo_desktop.documents.fonts import register_fonts
from ecmo_desktop.documents.layout import DocumentHeader, build_pdf, data_table, text_paragraph

T = TypeVar("T")

UDI = "01069012345678921727123110LOT2024A" + GS + "21SN000123"
UDI_PLAIN = UDI.replace(GS, "")  # reportlab's encoders take no FNC1: same length, plain text
SERIAL = "ECMO-2024-0105-000123"


def best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """Fastest wall time of ``runs`` runs in seconds (the least disturbed
    by other processes), and a result.
    """
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def symbols_pdf(make: Callable[[int], Flowable], count: int) -> bytes:
    """A PDF with ``count`` symbols, 24 per page: creation, drawing and serialisation all counted."""
    buf = io.BytesIO()
    canvas = Canvas(buf, invariant=1, initialFontName=register_fonts().main)
    for i in range(count):
        symbol = make(i)
        symbol.wrapOn(canvas, 180 * mm, 250 * mm)
        symbol.drawOn(canvas, 20 * mm + (i % 2) * 95 * mm, 20 * mm + (i // 2 % 12) * 21 * mm)
        if i % 24 == 23:
            canvas.showPage()
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def header() -> DocumentHeader:
    return DocumentHeader(
        hospital_name="某某大学附属第一医院",
        title="ECMO 器械使用记录",
        patient_name="张三",
        mrn="ZY20240105001",
        sex="男",
        age="45岁",
        ward="心脏重症监护病区",
        bed="12",
        printed_at=datetime(2024, 1, 5, 6, 30, tzinfo=UTC),
        printed_by="李医生",
        document_id="DOC-2024-000123",
        content_hash="0" * 64,
        audit_anchor="#10234 9f3ac2",
    )


def document_story(pages: int, with_barcodes: bool) -> list[Flowable]:
    story: list[Flowable] = []
    for page in range(pages):
        story.append(
            text_paragraph(
                f"第 {page + 1} 件器械：膜式氧合器，型号 HLS 7.0，注册证号 国械注进20173452024，"
                f"批号 LOT2024A，序列号 SN{page:06d}，有效期至 2027-12-31。"
            )
        )
        story.append(
            data_table(
                [["项目", "内容"], ["名称", "膜式氧合器"], ["批号", "LOT2024A"], ["序列号", f"SN{page:06d}"]],
                [40 * mm, 80 * mm],
            )
        )
        if with_barcodes:
            story += [
                Spacer(0, 3 * mm),
                Code128Barcode(f"SN{page:06d}"),
                Spacer(0, 3 * mm),
                Code128Barcode("010690123456789210L" + f"{page:04d}", gs1=True),
                Spacer(0, 3 * mm),
                DataMatrixBarcode(UDI + f"{page:04d}", gs1=True),
            ]
        story.append(PageBreak())
    return story


def peak_memory_mib(work: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--symbols", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = args.symbols
    register_fonts()
    symbols_pdf(lambda i: DataMatrixBarcode(UDI, gs1=True), 2)  # warm up imports and font subsets

    print(f"Per symbol (up to {n} symbols in one PDF, 24 a page, best of {args.runs}):")
    cases: list[tuple[str, int, Callable[[int], Flowable]]] = [
        ("vector Code128 (this project)", n, lambda i: Code128Barcode(f"{SERIAL}{i}", human_readable=False)),
        (
            "vector GS1-128 (this project)",
            n,
            lambda i: Code128Barcode(f"010690123456789210L{i:04d}", gs1=True, human_readable=False),
        ),
        (
            "reportlab Code128 widget",
            n,
            lambda i: createBarcodeDrawing(
                "Code128", value=f"{SERIAL}{i}", barWidth=0.25 * mm, barHeight=12 * mm, humanReadable=False
            ),
        ),
        ("vector GS1 DataMatrix (this project)", n, lambda i: DataMatrixBarcode(f"{UDI}{i:04d}", gs1=True)),
        ("vector DataMatrix (this project)", n, lambda i: DataMatrixBarcode(f"{UDI_PLAIN}{i:04d}")),
        (
            "reportlab ECC200DataMatrix widget",
            max(1, n // 10),
            lambda i: createBarcodeDrawing(
                "ECC200DataMatrix", value=f"{UDI_PLAIN}{i:04d}", barWidth=0.5 * mm
            ),
        ),
    ]
    for label, count, make in cases:
        seconds, pdf = best_of(args.runs, lambda make=make, count=count: symbols_pdf(make, count))
        print(
            f"  {label:<38} {seconds / count * 1000:8.3f} ms/symbol   {len(pdf) / count:8.0f} bytes/symbol"
            f"   (n={count})"
        )

    pages = args.pages
    print(f"\n{pages}-page document through build_pdf (best of {args.runs}):")
    results = {}
    for with_barcodes in (False, True):
        label = "3 barcodes per page" if with_barcodes else "text only"
        seconds, pdf = best_of(
            args.runs, lambda wb=with_barcodes: build_pdf(header(), document_story(pages, wb))
        )
        peak = peak_memory_mib(lambda wb=with_barcodes: build_pdf(header(), document_story(pages, wb)))
        results[with_barcodes] = seconds
        print(
            f"  {label:<22} {seconds / pages * 1000:7.2f} ms/page   {len(pdf) / 1024:8.1f} KiB   "
            f"peak Python memory {peak:6.1f} MiB"
        )
    print(f"  ratio with/without barcodes: {results[True] / results[False]:.2f}x")


if __name__ == "__main__":
    main()
