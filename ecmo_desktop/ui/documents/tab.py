"""The case view's 文书 tab: generate a run's documents, see every version printed, preview, print, save.

Everything that touches the database — generating (which lays the PDF out, inside its transaction),
listing, reading stored bytes — goes through the serial task runner; sending the stored bytes to the
printer touches no database and runs on the CPU lane (``tasks.run_cpu``), since rendering a long
archive for the printer takes seconds. Printing and
"save as PDF" hand out the *stored original* through ``reprint`` (audited), never a new rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QStandardPaths, Qt, Signal
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.documents.archive import KINDS
from ecmo_desktop.domain.documents import GeneratedDocument
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import _
from ecmo_desktop.services.documents import PrintedDocument, R8Status, write_pdf
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.documents.printing import LoadedPdf, make_printer, print_pdf
from ecmo_desktop.ui.models.list_model import ListTableModel
from ecmo_desktop.ui.tasks import Operation
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

TAB_TITLE = "文书"
# kinds that print one record of several (the subject combo lists them); others print the run's whole set
SUBJECT_KINDS = ("opnote", "decision", "consent", "daily", "followup")


DOCUMENT_COLUMNS: list[tuple[str, Any]] = [
    ("文档编号", lambda d: d.document_number),
    ("文档", lambda d: d.title),
    ("版本", lambda d: str(d.version)),
    ("页数", lambda d: str(d.page_count)),
    ("打印人", lambda d: d.created_by_name),
    ("打印时间", lambda d: format_local(d.created_at)),
    ("SHA-256", lambda d: d.sha256[:12]),
]


def documents_folder() -> Path:
    """Where "save as" starts: the user's documents folder (never the program's folder)."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(folder) if folder and Path(folder).is_dir() else Path.home()


def r8_text(status: R8Status) -> str:
    if status.complete is None:
        return _("R8：尚未生成手术记录（已绑定器械 {n} 件）").format(n=len(status.bound))
    if status.complete:
        return _("R8：已绑定的 {n} 件器械均已打印在手术记录中（含条码）").format(n=len(status.bound))
    return _("R8：{m} 件已绑定器械尚未打印在手术记录中，请重新生成手术记录").format(m=len(status.missing))


def print_stored(data: bytes, printer: QPrinter, title: str) -> Callable[[Operation], int]:
    """Printing a stored PDF as CPU-lane work: pages printed; it stops between pages at application exit."""
    return lambda operation: print_pdf(data, printer, title=title, cancelled=operation.cancelled)


class DocumentsTab(QWidget):
    """Generated documents of one run; ``generated`` fires with each new ``PrintedDocument``."""

    generated = Signal(object)
    preview_loaded = Signal(object)  # GeneratedDocument
    printed = Signal(int)

    def __init__(self, ui: UiContext, run_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.run_id = run_id
        self.setObjectName("documents_tab")
        self.service = ui.services.documents
        self.subjects: dict[str, list[tuple[int, str]]] = {}
        self._pdf: LoadedPdf | None = None
        self._select_after: int | None = None  # the document just generated, selected once listed

        self.kind = QComboBox()
        for kind, label in KINDS.items():
            self.kind.addItem(_(label), kind)
        self.kind.currentIndexChanged.connect(self._fill_subjects)
        self.subject = QComboBox()
        self.subject.setMinimumContentsLength(18)
        self.generate_button = QPushButton(_("生成并保存"))
        self.generate_button.clicked.connect(self.generate)
        self.generate_button.setEnabled(ui.can(Action.PRINT))
        self.print_button = QPushButton(_("打印…"))
        # clicked(bool) would arrive as the optional argument (printer=False, path=False): no-arg slots
        self.print_button.clicked.connect(self._print_clicked)
        self.save_button = QPushButton(_("另存为 PDF…"))
        self.save_button.clicked.connect(self._save_clicked)
        for button in (self.print_button, self.save_button):
            button.setEnabled(False)
        self.r8_label = QLabel()
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b71c1c;")

        top = QHBoxLayout()
        for widget in (QLabel(_("文档：")), self.kind, self.subject, self.generate_button):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.print_button)
        top.addWidget(self.save_button)

        self.model: ListTableModel[GeneratedDocument] = ListTableModel(DOCUMENT_COLUMNS, self)
        self.table = make_table(self.model, stretch_column=1)
        set_column_widths(self.table, [16, 22, 4, 4, 8, 15, 13])
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.view = QPdfView()
        self.view.setObjectName("documents_preview")
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table, 1)
        column.addWidget(self.r8_label)
        splitter.addWidget(left)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addWidget(splitter, 1)
        ui.tasks.changed.connect(self._changed)
        self.reload()

    # ---- data ----------------------------------------------------------------------------------------
    def reload(self) -> None:
        service, run_id = self.service, self.run_id

        def work() -> tuple[list[GeneratedDocument], dict[str, list[tuple[int, str]]], R8Status]:
            return service.documents_for_run(run_id), service.subjects(run_id), service.r8_status(run_id)

        self.ui.tasks.run_op(work, lambda result: self._show(*result), parent=self)

    def _show(
        self, documents: list[GeneratedDocument], subjects: dict[str, list[tuple[int, str]]], r8: R8Status
    ) -> None:
        current = self.current()
        selected = self._select_after or (current.id if current else None)
        self._select_after = None
        subject = self.subject.currentData()
        self.model.set_rows(documents)
        self.subjects = subjects
        self._fill_subjects()
        self.subject.setCurrentIndex(max(0, self.subject.findData(subject)) if subject is not None else 0)
        self.r8_label.setText(r8_text(r8))
        if selected is not None:
            self.select(selected)

    def _changed(self, changes: frozenset[Change]) -> None:
        if changes & {
            Change.run(self.run_id),
            Change.documents(self.run_id),
            Change.devices(),
            Change.records(),
        }:
            self.reload()

    def _fill_subjects(self) -> None:
        kind = self.kind.currentData()
        self.subject.clear()
        if kind in SUBJECT_KINDS:
            all_label = {"opnote": _("置管手术记录（默认）"), "consent": _("最新一份")}.get(kind, _("全部"))
            self.subject.addItem(all_label, None)
            for subject_id, text in self.subjects.get(kind, []):
                self.subject.addItem(text, subject_id)
        else:
            self.subject.addItem(_("全部"), None)
        self.subject.setEnabled(self.subject.count() > 1)

    def current(self) -> GeneratedDocument | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def select(self, document_id: int) -> None:
        for row, doc in enumerate(self.model.rows()):
            if doc.id == document_id:
                self.table.selectRow(row)
                return

    # ---- actions -------------------------------------------------------------------------------------
    def generate(self) -> None:
        kind, subject = self.kind.currentData(), self.subject.currentData()
        service, run_id = self.service, self.run_id
        self.generate_button.setEnabled(False)
        self.notice.clear()

        def done(printed: PrintedDocument) -> None:
            self.generate_button.setEnabled(True)
            self.notice.setText("\n".join(printed.warnings))
            self._select_after = printed.document.id
            self.generated.emit(printed)
            self._show_pdf(printed.document, printed.pdf)
            self.reload()

        def failed(exc: BaseException) -> None:
            self.generate_button.setEnabled(True)
            self.ui.tasks.default_error(self, exc)

        self.ui.tasks.run_op(
            lambda: service.generate(kind, run_id, subject),
            done,
            failed,
            parent=self,
            changes=(Change.documents(run_id),),
        )

    def _selected(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        doc = self.current()
        for button in (self.print_button, self.save_button):
            button.setEnabled(doc is not None and self.ui.can(Action.PRINT))
        if doc is None:
            return
        service = self.service
        self.ui.tasks.run_op(
            lambda: service.document_pdf(doc.id), lambda data: self._show_pdf(doc, data), parent=self
        )

    def _show_pdf(self, doc: GeneratedDocument, data: bytes) -> None:
        old = self._pdf
        self._pdf = LoadedPdf(data)
        self.view.setDocument(self._pdf.document)
        if old is not None:
            old.close()
        self.preview_loaded.emit(doc)

    def preview_document(self) -> QPdfDocument | None:
        return self._pdf.document if self._pdf else None

    def _print_clicked(self) -> None:
        self.print_selected()

    def _save_clicked(self) -> None:
        self.save_selected()

    def print_selected(self, printer: QPrinter | None = None) -> None:
        """Ask for a printer (unless given one), then print the stored original on a worker."""
        doc = self.current()
        if doc is None:
            return
        if printer is None:
            printer = make_printer()
            dialog = QPrintDialog(printer, self)
            dialog.setWindowTitle(_("打印 {title}").format(title=doc.title))
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
        service = self.service

        def send(data: bytes) -> None:
            self.notice.setText(_("正在打印 {number}…").format(number=doc.document_number))
            self.ui.tasks.run_cpu(
                print_stored(data, printer, f"{doc.title} {doc.document_number}"),
                self._printed,
                self._print_failed,
                parent=self,
            )

        self.ui.tasks.run_op(lambda: service.reprint(doc.id), send, parent=self)

    def _print_failed(self, exc: BaseException) -> None:
        self.notice.setText(_("打印未完成"))
        self.ui.tasks.default_error(self, exc)

    def _printed(self, pages: int) -> None:
        self.notice.setText(_("已发送到打印机：{n} 页").format(n=pages))
        self.printed.emit(pages)

    def save_selected(self, path: str | None = None) -> None:
        """Save the stored original; without ``path`` ask where, proposing a name that says what it is."""
        doc = self.current()
        if doc is None:
            return
        service = self.service
        if path:
            self._write(doc, Path(path))
            return
        self.ui.tasks.run_op(
            lambda: service.suggested_file_name(doc.id), lambda name: self._ask_where(doc, name), parent=self
        )

    def _ask_where(self, doc: GeneratedDocument, name: str) -> None:
        dialog = QFileDialog(self, _("另存为 PDF"), str(documents_folder() / name), _("PDF 文件 (*.pdf)"))
        dialog.setObjectName("save_pdf_dialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("pdf")
        if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
            return
        self._write(doc, Path(dialog.selectedFiles()[0]))

    def _write(self, doc: GeneratedDocument, target: Path) -> None:
        service = self.service
        self.ui.tasks.run_op(
            lambda: write_pdf(target, service.reprint(doc.id)),
            lambda written: self.notice.setText(_("已保存：{path}").format(path=written)),
            parent=self,
        )
