"""The QC page: the report's figures as tables and charts for a seeded database; export to xlsx and PDF;
and its place in the main window for the roles that may view QC figures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
from PySide6.QtCharts import QBarSeries, QPieSeries
from PySide6.QtCore import Qt

from ecmo_desktop.ui.main_window import NAV_QC, MainWindow
from ecmo_desktop.ui.qc.page import QcPage
from tests.ui.conftest import login_as, wait_tasks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"


def _page(qtbot, ui, user: str = "sunli") -> QcPage:
    login_as(ui, qtbot, user)
    ui.services.exchange.import_cases(FIXTURES / "regional_cases.csv")
    ui.services.exchange.import_equipment(FIXTURES / "regional_equipment.csv")
    page = QcPage(ui)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    wait_tasks(qtbot, ui.tasks)
    page.set_period(date(2020, 1, 1), date(2024, 12, 31))
    page.refresh()
    wait_tasks(qtbot, ui.tasks)
    return page


def _column(model, col: int) -> list[str]:
    return [model.index(r, col).data() for r in range(model.rowCount())]


def test_page_shows_the_figures_and_charts(qtbot, ui):
    page = _page(qtbot, ui)
    assert page.report is not None and page.report.runs == 20
    assert "20 例" in page.status.text() and "57.9%" in page.status.text() and "24 小时" in page.status.text()
    summary = {
        page.models["summary"].index(r, 0).data(): page.models["summary"].index(r, 1).data()
        for r in range(page.models["summary"].rowCount())
    }
    assert summary["ECMO 例数"] == "20" and summary["ECPR 例数"] == "3" and summary["成功撤机率"] == "57.9%"
    years = page.models["by_year"]
    assert _column(years, 0) == ["2020", "2021", "2022", "2023", "2024"]
    assert _column(years, 1) == ["3", "3", "4", "4", "6"]
    modes = page.models["by_mode"]
    assert _column(modes, 0) == ["VA", "VV", "VAV", "VVA", "other"] and _column(modes, 1) == [
        "13",
        "4",
        "1",
        "1",
        "1",
    ]
    assert modes.headerData(2, Qt.Orientation.Horizontal) == "占比"
    indicators = page.models["indicators"]
    keys = _column(indicators, 0)
    row = keys.index("weaning_success_rate")
    assert (
        indicators.index(row, 2).data() == "57.9%" and indicators.index(row, 3).data() == "11"
    )  # not 0.5789
    per_run = keys.index("circuit_changes_per_run")
    assert not indicators.index(per_run, 2).data().endswith("%")  # a count per run, not a proportion
    assert all(v.endswith("%") or v == "-" for v in _column(modes, 2))  # 占比
    tooltip = indicators.index(row, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith("成功撤机例数 ÷ 已结束例数")
    r15 = page.models["r15"]
    assert r15.rowCount() == 15 and "包头市中心医院" in _column(r15, 0)
    equipment = page.models["equipment"]
    assert ("呼和浩特", "4") in zip(_column(equipment, 1), _column(equipment, 2), strict=True)

    bars = next(s for s in page.year_chart.series() if isinstance(s, QBarSeries))
    assert [bars.barSets()[0].at(i) for i in range(5)] == [3.0, 3.0, 4.0, 4.0, 6.0]
    pie = page.mode_chart.series()[0]
    assert isinstance(pie, QPieSeries) and [s.value() for s in pie.slices()] == [13.0, 4.0, 1.0, 1.0, 1.0]
    grouped = page.hospital_chart.series()[0]
    assert len(grouped.barSets()) == 4
    # each tab says how its figures are computed
    assert page.tabs.count() == 6 and page.tabs.tabText(5) == "质控指标"


def test_hospital_filter_and_export_to_xlsx_and_pdf(qtbot, ui, tmp_path):
    page = _page(qtbot, ui)
    assert page.hospital.count() == 6  # "all hospitals", the local one (no runs) and the 4 imported
    page.set_period(date(2020, 1, 1), date(2024, 12, 31), "赤峰市医院")
    page.refresh()
    wait_tasks(qtbot, ui.tasks)
    assert page.report.runs == 4 and page.report.hospital == "赤峰市医院"
    page.save(tmp_path / "qc.xlsx", "xlsx")
    page.save(tmp_path / "qc.pdf", "pdf")
    wait_tasks(qtbot, ui.tasks)
    wb = openpyxl.load_workbook(tmp_path / "qc.xlsx")
    assert "by_year" in wb.sheetnames and "definitions" in wb.sheetnames
    assert list(wb["by_year"].iter_rows(values_only=True)) == [
        ("年份", "例数"),
        ("2022", 2),
        ("2023", 1),
        ("2024", 1),
    ]
    assert (tmp_path / "qc.pdf").read_bytes().startswith(b"%PDF")
    assert "已保存" in page.status.text()


def test_errors_show_in_the_status_line(qtbot, ui):
    page = _page(qtbot, ui)
    page.set_period(date(2024, 1, 1), date(2020, 1, 1))
    page.refresh()
    wait_tasks(qtbot, ui.tasks)
    assert page.status.text() == "统计期：结束日期早于开始日期"


def test_main_window_offers_the_page_to_qc_roles_only(qtbot, ui):
    for user, expected in (("zhangwei", True), ("sunli", True), ("chenjing", False)):
        login_as(ui, qtbot, user)
        window = MainWindow(ui, ui.user)
        qtbot.addWidget(window)
        assert window.has_page(NAV_QC) is expected
        if expected:
            page = window.show_page(NAV_QC)
            wait_tasks(qtbot, ui.tasks)
            assert isinstance(page, QcPage)
            assert page.import_button.isVisibleTo(page) is (user == "sunli")
        wait_tasks(qtbot, ui.tasks)
        window.closing_for_session = True
        window.close()
        ui.services.ctx.user = None
