"""The records staff's page (病历归档): choose runs, batch-generate their archives into a folder or to
a printer, with a progress bar and a cancel button.

The batch is long work on the serial task runner (``TaskRunner.run_long``), one run per step: each
run is ``DocumentService.batch_archive`` of that one run (its own short transaction), and between two
runs the worker serves whatever the ward saved meanwhile, so a batch of a hundred archives holds
nobody up for more than one archive, and never writes beside another service call. Progress
reaches the page by queued signal; cancelling is honoured between runs, so no archive is ever half
stored. If the page goes away (logout, lock), the running batch is cancelled and finishes the run in
hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.documents import ArchiveCandidate, ArchiveQuery
from ecmo_desktop.domain.enums import Mode, RunStatus, Sex
from ecmo_desktop.domain.time import BEIJING, format_local, to_local
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.documents import BatchItem, BatchResult, DocumentService, PrintedDocument
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.documents.printing import make_printer, print_pdf, printer_names
from ecmo_desktop.ui.models.list_model import ListTableModel
from ecmo_desktop.ui.tasks import Operation, Steps
from ecmo_desktop.ui.widgets.dates import TypedDateEdit
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

PAGE_TITLE = N_("病历归档")
_Index = QModelIndex | QPersistentModelIndex


def _label(enum: Any, value: str | None) -> str:
    return enum(value).label if value in enum._value2member_map_ else (value or "")


COLUMNS: list[tuple[str, Any]] = [
    ("选择", lambda r: ""),
    ("住院号", lambda r: r.mrn),
    ("姓名", lambda r: r.patient_name),
    ("性别", lambda r: _label(Sex, r.sex)),
    ("第几次", lambda r: str(r.run_number)),
    ("模式", lambda r: _label(Mode, r.mode)),
    ("状态", lambda r: _label(RunStatus, r.status)),
    ("上机时间", lambda r: format_local(r.started_at)),
    ("撤机时间", lambda r: format_local(r.ended_at)),
    ("出院时间", lambda r: format_local(r.discharged_at)),
    ("最近归档", lambda r: f"v{r.archive_version} {format_local(r.archived_at)}" if r.archive_id else "—"),
]


class CandidateModel(ListTableModel[ArchiveCandidate]):
    """The run list with a check box per row: the runs to archive."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, parent)
        self.checked: set[int] = set()

    def set_rows(self, rows: Any) -> None:
        ids = {r.run_id for r in rows}
        self.checked &= ids
        super().set_rows(rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == 0 and role == Qt.ItemDataRole.CheckStateRole:
            row = self.row(index.row())
            return Qt.CheckState.Checked if row and row.run_id in self.checked else Qt.CheckState.Unchecked
        return super().data(index, role)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else base

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        row = self.row(index.row()) if index.isValid() else None
        if row is None or index.column() != 0 or role != Qt.ItemDataRole.CheckStateRole:
            return False
        if Qt.CheckState(value) == Qt.CheckState.Checked:
            self.checked.add(row.run_id)
        else:
            self.checked.discard(row.run_id)
        self.dataChanged.emit(index, index, [role])
        return True

    def set_all(self, on: bool) -> None:
        self.checked = {r.run_id for r in self.rows()} if on else set()
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, 0), self.index(self.rowCount() - 1, 0), [Qt.ItemDataRole.CheckStateRole]
            )

    def chosen(self) -> list[int]:
        return [r.run_id for r in self.rows() if r.run_id in self.checked]


class _OneRun:
    """The progress handle of one run of the batch: its report becomes the batch's ``n + 1`` of ``total``."""

    def __init__(self, batch: Operation, n: int, total: int) -> None:
        self.batch, self.n, self.total = batch, n, total

    def set_progress(self, done: int, _total: int, text: str = "") -> None:
        if done:
            self.batch.set_progress(self.n + done, self.total, text)

    def cancelled(self) -> bool:
        return False  # the batch checks before each run; the run in hand is always finished


def archive_batch(
    service: DocumentService, run_ids: Sequence[int], out_dir: Path | None, printer_name: str | None
) -> Callable[[Operation], Steps]:
    """The batch as long work for ``TaskRunner.run_long``: one run per step, cancel checked before each."""

    def work(operation: Operation) -> Steps:
        ids = list(dict.fromkeys(run_ids))
        total = len(ids)
        deliver: Callable[[PrintedDocument], None] | None = None
        if printer_name:

            def deliver(printed: PrintedDocument) -> None:
                print_pdf(
                    printed.pdf,
                    make_printer(printer_name),
                    title=f"{printed.document.title} {printed.document.document_number}",
                    cancelled=operation.cancelled,
                )

        # the whole batch's refusals (too many runs, no output folder) come before any run
        service.batch_archive(ids, out_dir, _Refused(), deliver=deliver)
        items: list[BatchItem] = []
        operation.set_progress(0, total, "")
        for n, run_id in enumerate(ids):
            if operation.cancelled():
                return BatchResult(tuple(items), True, total)
            items.extend(
                service.batch_archive([run_id], out_dir, _OneRun(operation, n, total), deliver=deliver).items
            )
            yield
        return BatchResult(tuple(items), False, total)

    return work


class _Refused:
    """A handle that stops the batch before its first run: the service then only checks the batch."""

    def set_progress(self, done: int, total: int, text: str = "") -> None:
        pass

    def cancelled(self) -> bool:
        return True


class ArchivePage(QWidget):
    """Records-staff view: find runs, archive the checked ones; ``finished`` carries the BatchResult."""

    finished = Signal(object)

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.setObjectName("archive_page")
        self.service = ui.services.documents
        self.operation: Operation | None = None  # the batch running

        today = to_local(ui.services.ctx.now()).date()
        self.date_from = TypedDateEdit(date(today.year, 1, 1))
        self.date_to = TypedDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.status = QComboBox()
        self.status.addItem(_("全部状态"), None)
        for value, text in RunStatus.choices():
            self.status.addItem(text, value)
        self.status.setCurrentIndex(self.status.findData(RunStatus.ENDED.value))
        self.discharged = QCheckBox(_("仅已出院"))
        self.not_archived = QCheckBox(_("仅未归档"))
        self.find_button = QPushButton(_("查询"))
        self.find_button.clicked.connect(self.search)
        filters = QHBoxLayout()
        for widget in (
            QLabel(_("上机日期")),
            self.date_from,
            QLabel("—"),
            self.date_to,
            self.status,
            self.discharged,
            self.not_archived,
            self.find_button,
        ):
            filters.addWidget(widget)
        filters.addStretch(1)

        self.model = CandidateModel(self)
        self.table = make_table(self.model, stretch_column=2)
        set_column_widths(self.table, [4, 14, 10, 4, 5, 6, 8, 15, 15, 15, 20])
        self.count_label = QLabel()
        select_all = QPushButton(_("全选"))
        select_all.clicked.connect(lambda: self._check_all(True))
        select_none = QPushButton(_("全不选"))
        select_none.clicked.connect(lambda: self._check_all(False))
        selection = QHBoxLayout()
        selection.addWidget(select_all)
        selection.addWidget(select_none)
        selection.addWidget(self.count_label)
        selection.addStretch(1)

        output = QGroupBox(_("输出"))
        self.to_folder = QRadioButton(_("保存到文件夹"))
        self.to_folder.setChecked(True)
        self.folder = QLineEdit()
        browse = QPushButton(_("浏览…"))
        browse.clicked.connect(self._browse)
        self.to_printer = QRadioButton(_("发送到打印机"))
        self.printer = QComboBox()
        self.printer.addItems(printer_names())
        grid = QVBoxLayout(output)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.to_folder)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        printer_row = QHBoxLayout()
        printer_row.addWidget(self.to_printer)
        printer_row.addWidget(self.printer, 1)
        grid.addLayout(folder_row)
        grid.addLayout(printer_row)

        self.start_button = QPushButton(_("开始归档"))
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(_("取消"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label = QLabel()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        run_row = QHBoxLayout()
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 3)
        layout.addLayout(selection)
        layout.addWidget(output)
        layout.addLayout(run_row)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.log, 1)
        self.model.dataChanged.connect(self._count)
        self.model.modelReset.connect(self._count)
        self.search()

    # ---- query ---------------------------------------------------------------------------------------
    def query(self) -> ArchiveQuery:
        first = self.date_from.date().toPython()
        last = self.date_to.date().toPython()
        assert isinstance(first, date) and isinstance(last, date)
        status = self.status.currentData()
        return ArchiveQuery(
            started_from=datetime.combine(first, time(0), BEIJING),
            started_to=datetime.combine(last + timedelta(days=1), time(0), BEIJING),
            statuses=(status,) if status else (),
            discharged_only=self.discharged.isChecked(),
            not_archived_only=self.not_archived.isChecked(),
        )

    def search(self) -> None:
        query, service = self.query(), self.service
        self.ui.tasks.run_op(lambda: service.archive_candidates(query), self.model.set_rows, parent=self)

    def _check_all(self, on: bool) -> None:
        self.model.set_all(on)
        self._count()

    def _count(self, *_args: object) -> None:
        self.count_label.setText(
            _("共 {n} 例，已选 {m} 例").format(n=self.model.rowCount(), m=len(self.model.chosen()))
        )

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("选择归档文件夹"), self.folder.text())
        if folder:
            self.folder.setText(folder)

    # ---- the batch -----------------------------------------------------------------------------------
    def start(self) -> None:
        runs = self.model.chosen()
        if not runs or self.operation is not None:
            self.progress_label.setText(_("请先勾选要归档的病例") if not runs else _("归档正在进行"))
            return
        out_dir: Path | None = None
        printer: str | None = None
        if self.to_printer.isChecked():
            printer = self.printer.currentText() or None
            if printer is None:
                self.progress_label.setText(_("没有可用的打印机"))
                return
        else:
            if not self.folder.text().strip():
                self._browse()
            if not self.folder.text().strip():
                return
            out_dir = Path(self.folder.text().strip())
        operation = self.ui.tasks.run_long(
            archive_batch(self.service, runs, out_dir, printer),
            self._done,
            self._failed,
            parent=self,
            on_progress=self._progress,
        )
        if operation is None:
            return
        self.operation = operation
        self.destroyed.connect(operation.cancel)  # logout, lock: finish the run in hand, then stop
        self.progress.setRange(0, len(runs))
        self.progress.setValue(0)
        self.log.clear()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress_label.setText(_("正在归档 {n} 个病例…").format(n=len(runs)))

    def cancel(self) -> None:
        if self.operation is not None:
            self.operation.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText(_("正在取消：完成当前病例后停止…"))

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if text:
            self.log.appendPlainText(f"[{done}/{total}] {text}")

    def _done(self, result: BatchResult) -> None:
        self._ended()
        failed = len(result.failed)
        text = _("已完成 {n}/{total} 个病例").format(n=len(result.done), total=result.total)
        if result.cancelled:
            text = _("已取消：{text}").format(text=text)
        if failed:
            text += _("，{m} 个失败（见下方记录）").format(m=failed)
            for item in result.failed:
                self.log.appendPlainText(_("病例 {run}：{error}").format(run=item.run_id, error=item.error))
        self.progress_label.setText(text)
        self.finished.emit(result)
        self.search()

    def _failed(self, exc: BaseException) -> None:
        self._ended()
        self.progress_label.setText(_("归档未完成"))
        self.ui.tasks.default_error(self, exc)

    def _ended(self) -> None:
        self.operation = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    @property
    def running(self) -> bool:
        return self.operation is not None
