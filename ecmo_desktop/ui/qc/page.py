"""The QC page (质控): the report's figures as tables and charts, each with its definition.

The tables are :func:`ecmo_desktop.exchange.export.report_tables` — the very rows the .xlsx and the
PDF print — so the screen, the workbook and the paper report cannot disagree. Charts (QtCharts)
show runs per year against R15's 20 a year, the mode mix and runs per hospital and year. All
service calls go through the task runner; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.rules import R15_MIN_RUNS
from ecmo_desktop.exchange.export import report_tables
from ecmo_desktop.exchange.report import DEFINITIONS, QcReport
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.permissions import ALLOWED, Action
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.qc.report_model import ReportTableModel
from ecmo_desktop.ui.widgets.dates import TypedDateEdit
from ecmo_desktop.ui.widgets.table import make_table

QC_ROLES = frozenset(
    role.value for role in ALLOWED[Action.VIEW_QC]
)  # who sees the page (the service checks too)

# tab → (sections of report_tables shown in it, the DEFINITIONS keys explained above them)
TABS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        N_("概览"),
        ("summary",),
        (
            "runs",
            "runs_charted",
            "weaning_success_rate",
            "survival_28d",
            "survival_to_discharge",
            "outcome_unknown",
        ),
    ),
    (N_("年度与医院"), ("by_year", "by_hospital_year"), ("by_year", "by_hospital_year", "by_city")),
    (N_("模式与适应证"), ("by_mode", "mode_indications"), ("by_mode", "indications")),
    (
        N_("设备"),
        ("equipment", "equipment_purchases"),
        ("equipment_by_city", "equipment_by_hospital", "equipment_by_hospital_year"),
    ),
    (N_("并发症"), ("complications",), ("complications", "complication_base")),
    (N_("质控指标"), ("indicators", "r15"), ("indicators", "r15")),
)


def _definitions_label(keys: Sequence[str]) -> QLabel:
    lines = [f"<b>{_(DEFINITIONS[k].label)}</b>：{_(DEFINITIONS[k].text)}" for k in keys if k in DEFINITIONS]
    label = QLabel("<br>".join(lines))
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setStyleSheet("color: #455a64;")
    return label


def _chart_view(chart: QChart) -> QChartView:
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(260)
    return view


class QcPage(QWidget):
    """Period and hospital filter, the figures in tabs with charts, export to .xlsx and PDF, import."""

    report_shown = Signal(object)  # QcReport

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.exchange = ui.services.exchange
        self.report: QcReport | None = None
        self.models: dict[str, ReportTableModel] = {}
        self.tables: dict[str, Any] = {}
        self.setObjectName("qc_page")
        layout = QVBoxLayout(self)

        bar = QHBoxLayout()
        today = QDate.currentDate()
        self.date_from = TypedDateEdit(date(today.year() - 4, 1, 1))
        self.date_to = TypedDateEdit(date(today.year(), 12, 31))
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.hospital = QComboBox()
        self.hospital.addItem(_("全部医院"), None)
        self.refresh_button = QPushButton(_("统计"))
        self.refresh_button.clicked.connect(self.refresh)
        self.xlsx_button = QPushButton(_("导出 Excel…"))
        self.xlsx_button.clicked.connect(lambda: self._ask_and_save("xlsx"))
        self.pdf_button = QPushButton(_("导出 PDF…"))
        self.pdf_button.clicked.connect(lambda: self._ask_and_save("pdf"))
        self.import_button = QPushButton(_("导入历史数据…"))
        self.import_button.clicked.connect(self.open_import_wizard)
        self.import_button.setVisible(ui.can(Action.IMPORT))
        for w in (
            QLabel(_("首次转流日期")),
            self.date_from,
            QLabel("–"),
            self.date_to,
            QLabel(_("医院")),
            self.hospital,
            self.refresh_button,
        ):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.import_button, self.xlsx_button, self.pdf_button):
            bar.addWidget(w)
        layout.addLayout(bar)
        self.status = QLabel(_("选择统计期后点击“统计”"))
        self.status.setObjectName("qc_status")
        layout.addWidget(self.status)

        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)
        self.year_chart = QChart()
        self.year_chart.setTitle(_("年度 ECMO 例数（R15：每年 ≥{n} 例）").format(n=R15_MIN_RUNS))
        self.mode_chart = QChart()
        self.mode_chart.setTitle(_("模式构成"))
        self.hospital_chart = QChart()
        self.hospital_chart.setTitle(_("各医院年度例数"))
        charts = {
            "summary": self.year_chart,
            "by_mode": self.mode_chart,
            "by_hospital_year": self.hospital_chart,
        }
        for title, sections, definitions in TABS:
            self.tabs.addTab(self._tab(sections, definitions, charts), _(title))
        self._set_enabled(False)
        self.ui.tasks.run_op(self.exchange.hospitals, self._hospitals_loaded, parent=self)

    def _tab(self, sections: Sequence[str], definitions: Sequence[str], charts: dict[str, QChart]) -> QWidget:
        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(_definitions_label(definitions))
        splitter = QSplitter(Qt.Orientation.Vertical)
        for key in sections:
            holder = QWidget()
            row = QHBoxLayout(holder)
            row.setContentsMargins(0, 0, 0, 0)
            model = ReportTableModel([], tooltip_column=5 if key == "indicators" else None)
            table = make_table(model, holder)
            model.setParent(table)
            table.setWordWrap(True)
            self.models[key], self.tables[key] = model, table
            row.addWidget(table, 3)
            if key in charts:
                row.addWidget(_chart_view(charts[key]), 2)
            splitter.addWidget(holder)
        column.addWidget(splitter, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        return scroll

    def _set_enabled(self, has_report: bool) -> None:
        self.xlsx_button.setEnabled(has_report)
        self.pdf_button.setEnabled(has_report)

    def _hospitals_loaded(self, names: list[str]) -> None:
        for name in names:
            self.hospital.addItem(name, name)

    # ---- the report ------------------------------------------------------------------------------
    def set_period(self, start: date, end: date, hospital: str | None = None) -> None:
        self.date_from.setDate(QDate(start.year, start.month, start.day))
        self.date_to.setDate(QDate(end.year, end.month, end.day))
        index = self.hospital.findData(hospital) if hospital else 0
        self.hospital.setCurrentIndex(max(index, 0))

    def refresh(self) -> None:
        first, last = self.date_from.date(), self.date_to.date()
        start = date(first.year(), first.month(), first.day())
        end = date(last.year(), last.month(), last.day())
        hospital = self.hospital.currentData()
        self.status.setText(_("正在统计…"))
        self.ui.tasks.run_op(
            lambda: self.exchange.report(start, end, hospital), self.show_report, self._failed, parent=self
        )

    def _failed(self, exc: BaseException) -> None:
        from ecmo_desktop.ui.errors import error_text

        self.status.setText(error_text(exc))

    def show_report(self, report: QcReport) -> None:
        self.report = report
        for key, (header, rows) in report_tables(report).items():
            model = self.models.get(key)
            if model is None:
                continue
            model.set_table(header, rows)
            table = self.tables[key]
            table.resizeColumnsToContents()
            for column in range(model.columnCount()):
                table.setColumnWidth(column, min(table.columnWidth(column), 360))
            if key == "indicators":
                table.setColumnHidden(0, True)  # the machine key: the JSON's name, not for the ward
        self._charts(report)
        rate = report.weaning_success_rate
        self.status.setText(
            _("{start} 至 {end}：{runs} 例，成功撤机率 {rate}（撤机后 {hours} 小时判定）").format(
                start=report.date_from.isoformat(),
                end=report.date_to.isoformat(),
                runs=report.runs,
                rate="-" if rate is None else f"{rate:.1%}",
                hours=report.weaning_window_hours,
            )
        )
        self._set_enabled(True)
        self.report_shown.emit(report)

    def _charts(self, report: QcReport) -> None:
        chart = self.year_chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        years = list(report.by_year)
        runs = QBarSet(_("例数"))
        runs.append([float(n) for n in report.by_year.values()])
        bars = QBarSeries()
        bars.append(runs)
        chart.addSeries(bars)
        threshold = QLineSeries()
        threshold.setName(_("R15 阈值（{n} 例）").format(n=R15_MIN_RUNS))
        for i in range(len(years)):
            threshold.append(i, R15_MIN_RUNS)
        chart.addSeries(threshold)
        x = QBarCategoryAxis()
        x.append(years)
        y = QValueAxis()
        y.setRange(0, max([R15_MIN_RUNS, *report.by_year.values()]) * 1.1)
        y.setLabelFormat("%d")
        y.applyNiceNumbers()
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        for series in (bars, threshold):
            series.attachAxis(x)
            series.attachAxis(y)

        self.mode_chart.removeAllSeries()
        pie = QPieSeries()
        for mode, figures in report.by_mode.items():
            pie.append(f"{mode} {figures['runs']}", float(figures["runs"]))
        self.mode_chart.addSeries(pie)

        chart = self.hospital_chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        grouped = QBarSeries()
        for name, per_year in report.by_hospital_year.items():
            bar_set = QBarSet(name)
            bar_set.append([float(per_year.get(y, 0)) for y in years])
            grouped.append(bar_set)
        chart.addSeries(grouped)
        x = QBarCategoryAxis()
        x.append(years)
        y = QValueAxis()
        y.setLabelFormat("%d")
        y.setRange(0, max([1, *(n for ys in report.by_hospital_year.values() for n in ys.values())]) * 1.1)
        y.applyNiceNumbers()
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        grouped.attachAxis(x)
        grouped.attachAxis(y)

    # ---- export and import -----------------------------------------------------------------------
    def _ask_and_save(self, fmt: str) -> None:
        if self.report is None:
            return
        suffix = {"xlsx": "Excel (*.xlsx)", "pdf": "PDF (*.pdf)"}[fmt]
        default = f"ECMO质控报告_{self.report.date_from.isoformat()}_{self.report.date_to.isoformat()}.{fmt}"
        path, _selected = QFileDialog.getSaveFileName(self, _("保存质控报告"), default, suffix)
        if path:
            self.save(Path(path), fmt)

    def save(self, path: Path, fmt: str) -> None:
        """Save the report on screen (the service audits it)."""
        report = self.report
        if report is None:
            return
        self.ui.tasks.run_op(
            lambda: self.exchange.save_report(report, fmt, path),
            lambda out: self.status.setText(_("已保存：{path}").format(path=out)),
            parent=self,
        )

    def open_import_wizard(self) -> Any:
        from ecmo_desktop.ui.qc.import_wizard import ImportWizard

        wizard = ImportWizard(self.ui, self)
        wizard.imported.connect(lambda _result: self.refresh())
        wizard.show()
        return wizard
