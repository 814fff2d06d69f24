"""The worklist as the home page, opening cases at the right tab; the staffing panel (R11–R14)."""

from __future__ import annotations

from datetime import date, timedelta

from ecmo_desktop.domain.records import DailyEntryInput, WorkKind
from ecmo_desktop.ui.admin.page import AdminPage
from ecmo_desktop.ui.admin.staffing_panel import StaffingPanel
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.home.runs_overview import RunsOverview
from ecmo_desktop.ui.home.worklist_page import WorklistPage
from ecmo_desktop.ui.main_window import NAV_ADMIN, NAV_WORKLIST, MainWindow
from ecmo_desktop.ui.records import record_tab
from tests.kit.ui_records import click, new_run, start_run
from tests.ui.conftest import login_as, wait_tasks


def test_worklist_is_home_and_opens_the_case_at_the_unsigned_record(qtbot, ui, seeded, clock) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    run_id = new_run(c, attending_id=seeded.attending_id)
    start_run(seeded, run_id)
    clock.advance(timedelta(hours=1))
    seeded.login("chenjing")
    c.records.record_daily_entry(run_id, DailyEntryInput(recorded_at=clock.now(), values={"act": "180"}))
    c.ctx.user = None
    login_as(ui, qtbot, "zhangwei")
    window = MainWindow(ui, ui.user)
    qtbot.addWidget(window)
    window.show()
    page = window.show_page(NAV_WORKLIST)
    assert isinstance(page, WorklistPage) and window.page_keys()[0] == "worklist"
    assert isinstance(page.runs, RunsOverview)  # the runs on ECMO stay on the home page, below
    qtbot.waitUntil(lambda: page.loads >= 1)
    wait_tasks(qtbot, ui.tasks)
    titles = [page.model.index(r, 0).data() for r in page.model.group_rows()]
    assert titles == ["待签名的记录（3）"]  # consent, cannulation, the nurse's entry; the decision is signed
    click(qtbot, page.mine)  # only what I wrote
    qtbot.waitUntil(
        lambda: [page.model.index(r, 0).data() for r in page.model.group_rows()] == ["待签名的记录（2）"]
    )
    row = next(
        r
        for r in range(page.model.rowCount())
        if (i := page.model.item(r)) is not None and i.entity == "consent"
    )
    item = page.model.item(row)
    assert item is not None and item.kind == WorkKind.UNSIGNED_RECORD.value
    assert page.model.index(row, 4).data() == "知情同意未签名"
    page.table.doubleClicked.emit(page.model.index(row, 2))
    view = window.case_views[run_id]
    qtbot.addWidget(view)
    decisions = record_tab(view, "decision")
    assert view.tabs.currentWidget() is decisions
    qtbot.waitUntil(lambda: decisions.current() is not None)
    assert decisions.current().entity == "consent" and decisions.current().id == item.entity_id
    assert decisions.sign_button.isEnabled()
    wait_tasks(qtbot, ui.tasks)


def test_staffing_panel_on_the_admin_page(qtbot, ui, seeded, clock) -> None:
    login_as(ui, qtbot, "admin")
    window = MainWindow(ui, ui.user)
    qtbot.addWidget(window)
    page = window.show_page(NAV_ADMIN)
    assert isinstance(page, AdminPage)
    titles = [page.tabs.tabText(i) for i in range(page.tabs.count())]
    assert titles[-1] == "资质达标（R11–R14）"
    panel = page.tabs.widget(page.tabs.count() - 1)
    assert isinstance(panel, StaffingPanel)
    qtbot.waitUntil(lambda: panel.status is not None)
    wait_tasks(qtbot, ui.tasks)
    text = panel.rules_label.text()
    assert "R11 培训合格人员" in text and "经培训考核合格人员 7 名，其中医师 4 名" in text
    assert "尚未指定 ECMO 技术负责人" in text and "专家组共 3 名合格成员" in text
    names = {panel.training.index(r, 0).data() for r in range(panel.training.rowCount())}
    assert names == {"张伟", "李娜", "王芳", "刘洋"}
    staff = ui.services.staff
    ui.tasks.run_op(
        lambda: staff.add_training(
            seeded.doctor_id,
            institution="ECMO 培训中心",
            start_date=date(2025, 6, 1),
            end_date=date(2025, 9, 30),
            assessed=True,
        ),
        changes=(Change.staff(),),
    )
    qtbot.waitUntil(lambda: panel.training.index(panel.training.row_of(seeded.doctor_id), 2).data() == "4")
    wait_tasks(qtbot, ui.tasks)
    row = panel.training.row_of(seeded.doctor_id)
    assert panel.training.index(row, 4).data() == "不符合"
    assert "全程参与 0 例，须至少 5 例" in panel.training.index(row, 5).data()
