"""Printing a stored document to a real CUPS queue (CUPS-PDF) through Qt's printer, as the tab does.

scripts/test.sh sets ECMO_TEST_PRINTER when a CUPS-PDF queue works (and ECMO_TEST_PRINTER_OUTDIR,
where CUPS-PDF writes each job); without it these tests are skipped with that reason.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pypdf import PdfReader
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPrintSupport import QPrintDialog
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox

from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.documents import DocumentsTab
from ecmo_desktop.ui.documents.printing import LoadedPdf, make_printer, print_pdf, printer_names
from tests.ui.conftest import login_as, wait_tasks

PRINTER = os.environ.get("ECMO_TEST_PRINTER")
pytestmark = pytest.mark.skipif(
    not PRINTER,
    reason="ECMO_TEST_PRINTER is not set: no CUPS-PDF queue to print to "
    "(scripts/test.sh sets one up when CUPS works)",
)


def jobs() -> set[str]:
    """Every job CUPS knows for the test queue, pending or completed."""
    if shutil.which("lpstat") is None:
        pytest.skip("lpstat (CUPS client) is not installed")
    out = subprocess.run(
        ["lpstat", "-W", "all", "-o", str(PRINTER)], capture_output=True, text=True, check=False
    )
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def pdfs(folder: str | None) -> set[Path]:
    return set(Path(folder).glob("*.pdf")) if folder and Path(folder).is_dir() else set()


def test_qt_print_to_the_cups_queue_makes_a_job(qtbot: Any, ui: UiContext, case: Any) -> None:
    assert PRINTER in printer_names()
    login_as(ui, qtbot, "chenjing")
    printed = ui.services.documents.generate("opnote", case.run_id)  # type: ignore[attr-defined]
    before, files_before = jobs(), pdfs(os.environ.get("ECMO_TEST_PRINTER_OUTDIR"))
    pages = print_pdf(printed.pdf, make_printer(PRINTER), title=printed.document.document_number)
    assert pages == printed.document.page_count
    qtbot.waitUntil(lambda: len(jobs() - before) >= 1, timeout=30_000)  # other workers may print too
    outdir = os.environ.get("ECMO_TEST_PRINTER_OUTDIR")
    if outdir:  # CUPS-PDF wrote the job out: the queue really processed it
        qtbot.waitUntil(lambda: len(pdfs(outdir) - files_before) >= 1, timeout=60_000)


def test_the_tab_prints_the_stored_original_on_a_worker(qtbot: Any, ui: UiContext, case: Any) -> None:
    login_as(ui, qtbot, "sunli")
    tab = DocumentsTab(ui, case.run_id)
    qtbot.addWidget(tab)
    wait_tasks(qtbot, ui.tasks)
    tab.kind.setCurrentIndex(tab.kind.findData("consent"))
    with qtbot.waitSignal(tab.generated, timeout=20_000) as generated:
        tab.generate_button.click()
    wait_tasks(qtbot, ui.tasks)
    before = jobs()
    with qtbot.waitSignal(tab.printed, timeout=60_000) as printed:
        tab.print_selected(make_printer(PRINTER))
    assert printed.args[0] == generated.args[0].document.page_count
    qtbot.waitUntil(lambda: len(jobs() - before) >= 1, timeout=30_000)  # other workers may print too
    with ui.services.uow(write=False) as uow:  # type: ignore[attr-defined]
        reprints = [e for e in uow.audit.iterate() if e.action == "reprint"]
    assert reprints and reprints[-1].actor_name == "孙丽"


# ---- through the real Print button and Qt's print dialog ----------------------------------------------
def answer_print_dialog(qtbot: Any, printer: str, seen: list[str]) -> None:
    """When the print dialog opens (modal, inside the click), choose ``printer`` in it and press 打印,
    as the person at the desk does; ``seen`` gets the dialog's title."""

    def answer() -> None:
        dialog = next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, QPrintDialog) and w.isVisible()), None
        )
        if dialog is None:
            QTimer.singleShot(20, answer)
            return
        seen.append(dialog.windowTitle())
        combo = dialog.findChild(QComboBox, "printers")
        assert combo is not None and combo.findText(printer) >= 0, [
            combo.itemText(i) for i in range(combo.count())
        ]
        combo.setCurrentIndex(combo.findText(printer))
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)


def page_image(data: bytes, width: int = 300) -> np.ndarray:
    """Page 1 in grey, cropped to its ink and scaled to a fixed size (printer margins move and scale it)."""
    pdf = LoadedPdf(data)
    try:
        points = pdf.document.pagePointSize(0)
        rendered = pdf.document.render(0, QSize(width, round(width * points.height() / points.width())))
    finally:
        pdf.close()
    paper = QImage(rendered.size(), QImage.Format.Format_RGB32)  # the render is transparent where not inked
    paper.fill(Qt.GlobalColor.white)
    painter = QPainter(paper)
    painter.drawImage(0, 0, rendered)
    painter.end()
    grey = paper.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.array(grey.constBits(), dtype=np.uint8).reshape(grey.height(), grey.bytesPerLine())[
        :, : grey.width()
    ]
    rows, cols = np.where(pixels < 160)
    assert rows.size, "the page is blank"
    crop = grey.copy(
        int(cols.min()), int(rows.min()), int(cols.max() - cols.min() + 1), int(rows.max() - rows.min() + 1)
    ).scaled(60, 85, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    crop = crop.convertToFormat(QImage.Format.Format_Grayscale8)
    return np.array(crop.constBits(), dtype=np.uint8).reshape(85, crop.bytesPerLine())[:, :60].astype(float)


def same_page(a: bytes, b: bytes) -> float:
    """How alike page 1 of two PDFs looks: the correlation of their ink (1.0 = identical)."""
    return float(np.corrcoef(page_image(a).ravel(), page_image(b).ravel())[0, 1])


def test_print_button_prints_through_the_print_dialog_to_the_cups_pdf_queue(
    qtbot: Any, ui: UiContext, case: Any
) -> None:
    """Issue 9.7: the button used to hand ``checked=False`` to ``print_selected`` as its printer."""
    outdir = os.environ.get("ECMO_TEST_PRINTER_OUTDIR")
    if not outdir:
        pytest.skip("ECMO_TEST_PRINTER_OUTDIR is not set: cannot see what CUPS-PDF wrote")
    login_as(ui, qtbot, "sunli")
    tab = DocumentsTab(ui, case.run_id)
    qtbot.addWidget(tab)
    tab.show()
    wait_tasks(qtbot, ui.tasks)
    tab.kind.setCurrentIndex(tab.kind.findData("opnote"))
    with qtbot.waitSignal(tab.generated, timeout=20_000) as generated:
        qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)
    wait_tasks(qtbot, ui.tasks)
    printed = generated.args[0]
    assert tab.print_button.isEnabled()
    before = pdfs(outdir)
    titles: list[str] = []
    answer_print_dialog(qtbot, str(PRINTER), titles)
    with qtbot.waitSignal(tab.printed, timeout=60_000) as sent:
        qtbot.mouseClick(tab.print_button, Qt.MouseButton.LeftButton)
    assert titles == [f"打印 {printed.document.title}"]
    assert sent.args[0] == printed.document.page_count
    assert tab.notice.text() == f"已发送到打印机：{printed.document.page_count} 页"

    number = printed.document.document_number

    def ours() -> list[Path]:  # other test workers print to the same queue: find this job by its title
        found = []
        for path in pdfs(outdir) - before:
            try:
                title = str(PdfReader(path).metadata.title or "")
            except Exception:  # noqa: BLE001 - CUPS-PDF may still be writing it
                continue
            if number in title:
                found.append(path)
        return found

    qtbot.waitUntil(lambda: any(same_page(p.read_bytes(), printed.pdf) > 0.6 for p in ours()), timeout=90_000)
    # the comparison tells documents apart (the same page printed scores about 0.8, another about 0.1)
    login_as(ui, qtbot, "sunli")
    other = ui.services.documents.generate("consent", case.run_id)  # type: ignore[attr-defined]
    assert same_page(other.pdf, printed.pdf) < 0.6


def test_an_unexpected_print_failure_is_in_the_log_the_box_names(
    qtbot: Any, seeded: Any, case: Any, settings_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The print thread's failure reached the error box ("details are in the log") but never the log."""
    from ecmo_desktop.log import setup_logging
    from ecmo_desktop.ui.documents import tab as tab_module
    from ecmo_desktop.ui.errors import ERROR_BOX_NAME, show_error_from_task
    from ecmo_desktop.ui.tasks import TaskRunner
    from tests.ui.conftest import make_ui

    log_path = setup_logging(tmp_path / "logs", console=False)

    def driver_crash(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("the printer driver crashed (simulated)")

    monkeypatch.setattr(tab_module, "print_pdf", driver_crash)
    runner = TaskRunner(default_error=show_error_from_task)
    try:
        ui = make_ui(seeded.container, runner, settings_store)
        login_as(ui, qtbot, "sunli")
        ui.services.documents.generate("consent", case.run_id)  # type: ignore[attr-defined]
        tab = DocumentsTab(ui, case.run_id)
        qtbot.addWidget(tab)
        tab.show()
        wait_tasks(qtbot, runner)
        tab.table.selectRow(0)
        wait_tasks(qtbot, runner)
        answer_print_dialog(qtbot, str(PRINTER), [])
        qtbot.mouseClick(tab.print_button, Qt.MouseButton.LeftButton)

        def box() -> Any:
            return next(
                (
                    w
                    for w in QApplication.topLevelWidgets()
                    if w.objectName() == ERROR_BOX_NAME and w.isVisible()
                ),
                None,
            )

        qtbot.waitUntil(lambda: box() is not None, timeout=30_000)
        assert "详细信息已写入日志" in box().text() and tab.notice.text() == "打印未完成"
        box().close()
        for handler in logging.getLogger().handlers:
            handler.flush()
        text = log_path.read_text(encoding="utf-8")
        assert (
            "Traceback" in text
            and "driver_crash" in text
            and "the printer driver crashed (simulated)" in text
        )
    finally:
        wait_tasks(qtbot, runner)
        runner.shutdown()
