"""The import wizard: pick a file, preview it, see every bad row, then import (all or nothing).

A records officer importing years of Excel registers needs to see *before* anything is written
what the file holds, which rows are wrong and why (row as Excel numbers it, column as the header
reads, reason) — and that a second import of the same sheet adds nothing. The preview is the
service's dry run, so what it promises is exactly what the import does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.models.list_model import ListTableModel
from ecmo_desktop.ui.qc.report_model import ReportTableModel
from ecmo_desktop.ui.widgets.fit import ScreenFit
from ecmo_desktop.ui.widgets.table import make_table

KINDS: tuple[tuple[str, str], ...] = (
    ("cases", N_("ECMO 病例登记表（每行一例，.csv/.xlsx）")),
    ("equipment", N_("ECMO 主机登记表（.csv/.xlsx）")),
    ("export", N_("其他医院的导出文件（.json）")),
)
FILTERS = {"cases": "*.csv *.xlsx", "equipment": "*.csv *.xlsx", "export": "*.json"}


class ImportWizard(ScreenFit, QDialog):
    """Choose → preview (dry run: rows, ignored columns, errors) → import."""

    imported = Signal(object)  # ImportResult

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.exchange = ui.services.exchange
        self.preview: Any = None
        self.result: Any = None
        self.setWindowTitle(_("导入历史数据"))
        self.resize(980, 640)
        layout = QVBoxLayout(self)

        row = QHBoxLayout()
        self.kind = QComboBox()
        for key, label in KINDS:
            self.kind.addItem(_(label), key)
        self.path = QLineEdit()
        self.path.setPlaceholderText(_("选择要导入的文件"))
        browse = QPushButton(_("浏览…"))
        browse.clicked.connect(self.browse)
        self.preview_button = QPushButton(_("预览"))
        self.preview_button.clicked.connect(self.run_preview)
        row.addWidget(self.kind)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        row.addWidget(self.preview_button)
        layout.addLayout(row)
        self.kind.currentIndexChanged.connect(lambda _i: self._clear())
        self.path.textChanged.connect(lambda _t: self._clear())

        self.summary = QLabel(_("先预览：检查全部行，不写入任何数据"))
        self.summary.setWordWrap(True)
        self.summary.setObjectName("import_summary")
        layout.addWidget(self.summary)

        splitter = QSplitter(Qt.Orientation.Vertical)
        self.rows_model = ReportTableModel([])
        self.rows_table = make_table(self.rows_model)
        self.rows_model.setParent(self.rows_table)
        self.errors_model: ListTableModel[Any] = ListTableModel(
            [(N_("行"), lambda e: str(e.row)), (N_("列"), lambda e: e.column), (N_("原因"), lambda e: e.text)]
        )
        self.errors_table = make_table(self.errors_model)
        self.errors_model.setParent(self.errors_table)
        self.errors_table.setStyleSheet("QTableView { color: #b71c1c; }")
        splitter.addWidget(self.rows_table)
        splitter.addWidget(self.errors_table)
        layout.addWidget(splitter, 1)

        self.partial = QCheckBox(_("跳过有错误的行，导入其余各行（默认：有任何错误则全部不导入）"))
        self.partial.toggled.connect(lambda _on: self._update_buttons())
        layout.addWidget(self.partial)
        buttons = QDialogButtonBox()
        self.import_button = buttons.addButton(_("导入"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.clicked.connect(self.run_import)
        close = buttons.addButton(_("关闭"), QDialogButtonBox.ButtonRole.RejectRole)
        close.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self._update_buttons()

    # ---- steps -----------------------------------------------------------------------------------
    def set_file(self, path: Path, kind: str | None = None) -> None:
        if kind is None:
            kind = "export" if path.suffix.lower() == ".json" else self.kind.currentData()
        self.kind.setCurrentIndex(max(self.kind.findData(kind), 0))
        self.path.setText(str(path))

    def browse(self) -> None:
        kind = self.kind.currentData()
        path, _selected = QFileDialog.getOpenFileName(self, _("选择文件"), "", FILTERS[kind])
        if path:
            self.set_file(Path(path), kind)

    def _clear(self) -> None:
        self.preview = None
        self.result = None
        self.rows_model.set_table([], [])
        self.errors_model.set_rows([])
        self._update_buttons()

    def _update_buttons(self) -> None:
        p = self.preview
        ready = p is not None and (
            p.result.imported > 0 and (not p.result.errors or self.partial.isChecked())
        )
        self.import_button.setEnabled(bool(ready) and self.result is None)

    def run_preview(self) -> None:
        text = self.path.text().strip()
        if not text:
            return
        path, kind = Path(text), self.kind.currentData()
        self.summary.setText(_("正在检查…"))
        self.ui.tasks.run_op(
            lambda: self.exchange.preview_import(path, kind), self.show_preview, self._failed, parent=self
        )

    def show_preview(self, preview: Any) -> None:
        self._clear()
        self.preview = preview
        self.rows_model.set_table([_("行"), *preview.headers], [(n, *cells) for n, cells in preview.rows])
        self.errors_model.set_rows(list(preview.result.errors))
        r = preview.result
        text = _("共 {rows} 行：可导入 {imported} 条，已存在将跳过 {skipped} 条，错误 {errors} 处。").format(
            rows=r.rows, imported=r.imported, skipped=r.skipped, errors=len(r.errors)
        )
        if r.errors:
            text += _("有错误时默认不导入任何数据；请修改文件后重新预览，或勾选下方选项只导入正确的行。")
        if preview.ignored_columns:
            text += _("以下列不会导入：{columns}").format(columns=join_names(preview.ignored_columns))
        if r.hospitals_created:
            text += _("将新建医院：{names}").format(names=join_names(r.hospitals_created))
        self.summary.setText(text)
        self._update_buttons()

    def run_import(self) -> None:
        if self.preview is None:
            return
        path, kind = Path(self.path.text().strip()), self.preview.kind
        method = {
            "cases": self.exchange.import_cases,
            "equipment": self.exchange.import_equipment,
            "export": self.exchange.import_export,
        }[kind]
        partial = self.partial.isChecked()
        self.import_button.setEnabled(False)
        self.ui.tasks.run_op(
            lambda: method(path, all_or_nothing=not partial),
            self.show_result,
            self._failed,
            parent=self,
            changes=(Change.runs(),),
        )

    def show_result(self, result: Any) -> None:
        self.result = result
        self.errors_model.set_rows(list(result.errors))
        if result.errors and not result.imported:
            self.summary.setText(_("未导入：{n} 处错误").format(n=len(result.errors)))
        else:
            self.summary.setText(
                _("已导入 {imported} 条，已存在跳过 {skipped} 条，错误 {errors} 处").format(
                    imported=result.imported, skipped=result.skipped, errors=len(result.errors)
                )
            )
            self.imported.emit(result)
        self._update_buttons()

    def _failed(self, exc: BaseException) -> None:
        from ecmo_desktop.ui.errors import error_text

        self.summary.setText(error_text(exc))
        self._update_buttons()
