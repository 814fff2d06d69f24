"""The case list: lazy paging (200 a page), search, opening a case; the worklist."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtTest import QAbstractItemModelTester

from ecmo_desktop.container import build_container
from ecmo_desktop.services.clock import FakeClock
from ecmo_desktop.services.runs import PatientInput, RunInput
from ecmo_desktop.ui.case_list import CaseListPage
from ecmo_desktop.ui.case_view import CaseView
from ecmo_desktop.ui.home.runs_overview import RunsOverview
from ecmo_desktop.ui.models.run_list_model import COL_NAME, COL_SEX, COL_STATUS, RunListModel
from tests.kit.db import fast_hashing, passwords_already_changed
from tests.ui.conftest import PASSWORD, login_as, make_ui, wait_tasks

N_RUNS = 450
WANG = {7, 123, 301}  # patients named 王… (the name search must find exactly these)


@pytest.fixture(scope="module")
def case_db(sqlite_template: Path) -> Iterator[Path]:
    """450 patients, each with one run, entered through the services once for the module."""
    with fast_hashing():  # module scope: the autouse fast-hash fixture is not active yet
        yield from _seed(sqlite_template)


def _seed(sqlite_template: Path) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ecmo-ui-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    path = folder / "cases.sqlite3"
    shutil.copyfile(sqlite_template, path)
    c = build_container(
        f"sqlite:///{path}", clock=FakeClock(datetime(2026, 3, 1, 0, 0, tzinfo=UTC)), workstation="seed"
    )
    c.auth.first_run_setup(
        hospital_name="示范医院",
        hospital_code="H001",
        city="呼和浩特市",
        admin_username="admin",
        admin_full_name="系统管理员",
        admin_password=PASSWORD,
        admin_password_repeat=PASSWORD,
    )
    c.auth.login("admin", PASSWORD)
    c.staff.create_staff(
        username="liuyang",
        full_name="刘洋",
        title="attending",
        years_in_practice=6,
        roles=["doctor"],
        initial_password=PASSWORD,
    )
    c.staff.create_staff(
        username="chenjing",
        full_name="陈静",
        title="nurse",
        years_in_practice=6,
        roles=["nurse"],
        initial_password=PASSWORD,
    )
    c.ctx.user = None
    passwords_already_changed(c)
    c.auth.login("liuyang", PASSWORD)
    for i in range(N_RUNS):
        name = f"王{i}号" if i in WANG else f"患者{i:03d}"
        patient = c.runs.register_patient(
            PatientInput(
                mrn=f"ZY{i:06d}", name=name, sex="MF"[i % 2], weight_kg="70", ward="EICU", bed=str(i % 30 + 1)
            )
        )
        c.runs.open_run(patient.id, RunInput(mode="VA" if i % 3 else "VV", indication="ami"))
    c.close()
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def case_ui(case_db: Path, tmp_path: Path, tasks, settings_store) -> Iterator:
    target = tmp_path / "cases.sqlite3"
    shutil.copyfile(case_db, target)
    c = build_container(
        f"sqlite:///{target}", clock=FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)), workstation="test-pc"
    )
    yield make_ui(c, tasks, settings_store)
    wait_tasks_quiet(tasks)
    c.close()


def wait_tasks_quiet(tasks) -> None:
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer

    deadline = QDeadlineTimer(10_000)
    while tasks.pending and not deadline.hasExpired():
        QCoreApplication.processEvents()


def _page(qtbot, ui) -> CaseListPage:
    page = CaseListPage(
        ui, open_case=lambda run_id: None, register_patient=lambda: None, new_run=lambda: None
    )
    qtbot.addWidget(page)
    page.resize(1000, 600)
    page.show()
    wait_tasks(qtbot, ui.tasks)
    return page


def test_first_page_is_200_rows_and_more_come_on_fetch(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "chenjing")
    model = RunListModel(case_ui.tasks, case_ui.services.runs)
    with qtbot.waitSignal(model.loaded):
        model.refresh()
    assert model.rowCount() == 200
    assert model.total == N_RUNS
    assert model.canFetchMore(QModelIndex())
    with qtbot.waitSignal(model.loaded):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 400
    with qtbot.waitSignal(model.loaded):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == N_RUNS
    assert not model.canFetchMore(QModelIndex())
    ids = [model.item(row).run_id for row in range(model.rowCount())]  # type: ignore[union-attr]
    assert ids == sorted(set(ids), reverse=True)  # pages by key: no row twice, none skipped, newest first
    newest = model.item(0)
    assert newest is not None and newest.mrn == f"ZY{N_RUNS - 1:06d}"  # newest run first
    index = model.index(0, COL_STATUS)
    assert index.data() == "待上机"
    assert model.index(0, COL_SEX).data() in ("男", "女")


def test_scrolling_the_view_fetches_the_next_page(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "chenjing")
    page = _page(qtbot, case_ui)
    assert page.model.rowCount() == 200
    assert page.count_label.text() == f"共 {N_RUNS} 例"
    page.table.scrollToBottom()
    qtbot.waitUntil(lambda: page.model.rowCount() >= 400)
    wait_tasks(qtbot, case_ui.tasks)


def test_search_by_mrn_prefix_and_by_name_fragment(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "chenjing")
    page = _page(qtbot, case_ui)
    with qtbot.waitSignal(page.model.loaded, timeout=5000):
        qtbot.keyClicks(page.search, "zy0001")  # debounced: one query after typing stops
    assert page.model.total == 100
    assert all(page.model.item(r).mrn.startswith("ZY0001") for r in range(page.model.rowCount()))
    page.search.clear()
    page.search.setText("王")
    with qtbot.waitSignal(page.model.loaded, timeout=5000):
        qtbot.keyClick(page.search, Qt.Key.Key_Return)
    names = sorted(page.model.index(r, COL_NAME).data() for r in range(page.model.rowCount()))
    assert names == sorted(f"王{i}号" for i in WANG)
    assert page.count_label.text() == "共 3 例"
    assert page.empty_label.isHidden()
    page.search.setText("不存在的病人")
    with qtbot.waitSignal(page.model.loaded, timeout=5000):
        qtbot.keyClick(page.search, Qt.Key.Key_Return)
    assert page.model.rowCount() == 0
    assert page.empty_label.text() == "没有住院号以“不存在的病人”开头或姓名包含“不存在的病人”的病例。"
    assert not page.empty_label.isHidden()


def test_enter_on_a_row_opens_that_case(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "chenjing")
    opened: list[int] = []
    page = CaseListPage(case_ui, open_case=opened.append, register_patient=lambda: None, new_run=lambda: None)
    qtbot.addWidget(page)
    page.show()
    wait_tasks(qtbot, case_ui.tasks)
    page.table.setFocus()
    page.table.setCurrentIndex(page.model.index(2, 0))
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert opened == [page.model.item(2).run_id]


def test_model_is_sound_for_views_and_proxies(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "chenjing")
    model = RunListModel(case_ui.tasks, case_ui.services.runs)
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    with qtbot.waitSignal(model.loaded):
        model.refresh()
    assert proxy.rowCount() == 200
    with qtbot.waitSignal(model.loaded):
        model.fetchMore(QModelIndex())
    assert proxy.rowCount() == 400


def test_worklist_lists_planned_and_running_runs(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "chenjing")
    page = RunsOverview(case_ui, open_case=lambda run_id: None)
    qtbot.addWidget(page)
    page.show()
    wait_tasks(qtbot, case_ui.tasks)
    assert page.model.total == N_RUNS  # every seeded run is still "待上机"
    assert page.model.rowCount() == 200
    assert not page.empty_label.isVisibleTo(page)


def test_case_view_banner_and_history_for_records_staff(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "admin")
    run_id = case_ui.services.runs.search_runs("ZY000005")[0].run_id
    view = CaseView(case_ui, run_id)
    qtbot.addWidget(view)
    view.show()
    wait_tasks(qtbot, case_ui.tasks)
    assert view.name_label.text() == "患者005"
    assert "住院号 ZY000005" in view.facts_label.text()
    assert "70 kg" in view.facts_label.text() and "VA-ECMO" in view.facts_label.text()
    assert view.status_label.text() == "待上机"
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert titles[-1] == "历史（审计）"  # the record's own tabs (added by later features) come first
    # newest first: the run's creation, then the patient's registration (patient events carry no run id)
    assert view.history is not None and view.history.rowCount() == 2
    assert view.history.index(0, 2).data() == "新建"
    assert view.history.index(0, 3).data().startswith("ECMO病例")
    assert view.history.index(1, 3).data().startswith("患者")
    assert "模式：VA" in view.history.index(0, 4).data()
    assert view.history.index(0, 1).data() == "刘洋"


def test_case_view_hides_history_from_clinical_roles_and_accepts_tabs(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "chenjing")
    run_id = case_ui.services.runs.search_runs("ZY000006")[0].run_id
    view = CaseView(case_ui, run_id)
    qtbot.addWidget(view)
    wait_tasks(qtbot, case_ui.tasks)
    assert view.history is None
    from PySide6.QtWidgets import QLabel

    before = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert "历史（审计）" not in before
    view.add_tab(QLabel("x"), "测试页")
    assert [view.tabs.tabText(i) for i in range(view.tabs.count())] == [*before, "测试页"]
    assert view.summary.value("started") == "尚未上机"


def test_ecmo_day_counts_beijing_calendar_days() -> None:
    from ecmo_desktop.ui.case_view.view import ecmo_day

    started = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 Beijing, 1 March: day 0 (first flow)
    assert ecmo_day(None, None, started) is None
    assert ecmo_day(started, None, datetime(2026, 3, 1, 15, 50, tzinfo=UTC)) == 0
    assert ecmo_day(started, None, datetime(2026, 3, 1, 16, 5, tzinfo=UTC)) == 1  # 00:05 Beijing, 2 March
    ended = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    assert ecmo_day(started, ended, datetime(2026, 5, 1, tzinfo=UTC)) == 3  # frozen at decannulation


def test_tabs_added_later_go_before_the_history(qtbot, case_ui) -> None:
    from PySide6.QtWidgets import QLabel

    login_as(case_ui, qtbot, "admin")
    run_id = case_ui.services.runs.search_runs("ZY000007")[0].run_id
    view = CaseView(case_ui, run_id)
    qtbot.addWidget(view)
    wait_tasks(qtbot, case_ui.tasks)
    view.add_tab(QLabel("x"), "测试页")
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert titles[-2:] == ["测试页", "历史（审计）"]


def test_enter_in_the_search_opens_the_case_it_finds(qtbot, case_ui) -> None:
    login_as(case_ui, qtbot, "chenjing")
    opened: list[int] = []
    page = CaseListPage(case_ui, open_case=opened.append, register_patient=lambda: None, new_run=lambda: None)
    qtbot.addWidget(page)
    page.show()
    wait_tasks(qtbot, case_ui.tasks)
    qtbot.keyClicks(page.search, "ZY000123")  # a whole 住院号, typed (or scanned) and Enter at once
    qtbot.keyClick(page.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=5000)
    assert page.model.total == 1 and opened == [page.model.item(0).run_id]
    # several found: Enter selects the first in the list; Enter there opens it
    page.search.setText("王")  # as the input method commits it
    qtbot.keyClick(page.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.table.currentIndex().isValid(), timeout=5000)
    assert len(opened) == 1 and page.model.total == len(WANG)
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert opened[1] == page.model.item(0).run_id
