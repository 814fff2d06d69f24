"""Stored PDFs on screen and on paper, through Qt only (QtPdf renders, QPrinter prints).

Printing goes through Qt, not a shell command, so it works the same with any printer Windows or CUPS
knows. Each page is rendered by QPdfDocument at the printer's resolution, capped at
``MAX_PRINT_DPI`` (a 1200-dpi printer would otherwise need a 500 MB bitmap per page; at 300 dpi a
0.25 mm barcode module is three dots, which scanners read), and painted onto the page's printable
area, scaled to fit without distortion. Painting on a QPrinter is allowed outside the GUI thread,
so callers run ``print_pdf`` on a worker and the window never freezes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_

MAX_PRINT_DPI = 300


class PrintFailed(EcmoError):
    default_message = N_("打印失败：{detail}")


class LoadedPdf:
    """A QPdfDocument over bytes held in memory (the buffer must live as long as the document)."""

    def __init__(self, data: bytes) -> None:
        self.buffer = QBuffer()
        self.buffer.setData(QByteArray(data))
        self.buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document = QPdfDocument()
        self.document.load(self.buffer)
        if self.document.status() != QPdfDocument.Status.Ready or self.document.pageCount() < 1:
            raise PrintFailed(detail=N_("文档无法读取"))

    def close(self) -> None:
        self.document.close()
        self.buffer.close()


def printer_names() -> list[str]:
    """Installed printers, the default first."""
    default = QPrinterInfo.defaultPrinterName()
    names = [p.printerName() for p in QPrinterInfo.availablePrinters()]
    return sorted(names, key=lambda n: (n != default, n))


def make_printer(name: str | None = None) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    if name:
        printer.setPrinterName(name)
    printer.setFullPage(False)
    return printer


def print_pdf(
    data: bytes, printer: QPrinter, *, title: str = "", cancelled: Callable[[], bool] = lambda: False
) -> int:
    """Print every page of ``data`` on ``printer``; returns the pages printed.

    Raises ``PrintFailed`` when the printer cannot be opened (offline, no driver). ``cancelled`` is
    asked before each page: a cancelled job is aborted, not half-printed into the queue.
    """
    pdf = LoadedPdf(data)
    try:
        if title:
            printer.setDocName(title)
        painter = QPainter()
        if not painter.begin(printer):
            raise PrintFailed(detail=printer.printerName() or N_("打印机"))
        printed = 0
        try:
            dpi = min(printer.resolution(), MAX_PRINT_DPI)
            for page in range(pdf.document.pageCount()):
                if cancelled():
                    printer.abort()
                    return printed
                if page and not printer.newPage():
                    raise PrintFailed(detail=N_("打印机拒绝新页"))
                area = printer.pageLayout().paintRectPixels(printer.resolution())
                points = pdf.document.pagePointSize(page)
                pixels = QSize(
                    max(1, round(points.width() * dpi / 72)), max(1, round(points.height() * dpi / 72))
                )
                image = pdf.document.render(page, pixels)
                scale = min(area.width() / pixels.width(), area.height() / pixels.height())
                width, height = round(pixels.width() * scale), round(pixels.height() * scale)
                target = QRect((area.width() - width) // 2, (area.height() - height) // 2, width, height)
                painter.drawImage(target, image)
                printed += 1
        finally:
            painter.end()
        return printed
    finally:
        pdf.close()
