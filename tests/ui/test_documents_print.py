"""Printing a stored document to a real CUPS queue (CUPS-PDF) through Qt's printer, as the tab does.

scripts/test.sh sets ECMO_TEST_PRINTER when a CUPS-PDF queue works (and ECMO_TEST_PRINTER_OUTDIR,
where CUPS-PDF writes each job); without it these tests are skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.documents import DocumentsTab
from ecmo_desktop.ui.documents.printing import make_printer, print_pdf, printer_names
from tests.ui.conftest import login_as, wait_tasks
from tests.ui.test_documents_tab import case as case_fixture

__all__ = ["case_fixture"]
case = case_fixture

PRINTER = os.environ.get("ECMO_TEST_PRINTER")
pytestmark = pytest.mark.skipif(not PRINTER, reason="ECMO_TEST_PRINTER is not set: no CUPS-PDF queue to print to "
                                                    "(scripts/test.sh sets one up when CUPS works)")


def jobs() -> set[str]:
    """Every job CUPS knows for the test queue, pending or completed."""
    if shutil.which("lpstat") is None:
        pytest.skip("lpstat (CUPS client) is not installed")
    out = subprocess.run(["lpstat", "-W", "all", "-o", str(PRINTER)], capture_output=True, text=True, check=False)
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
