"""An emergency VV start: R2's 12-hour clock on the worklist and in the case, turning overdue."""

from __future__ import annotations

from datetime import timedelta

from ecmo_desktop.domain.records import WorkKind
from ecmo_desktop.ui.home.worklist_page import WorklistPage, time_text
from ecmo_desktop.ui.records import case_records, record_tab
from tests.kit.ui_records import (
    choose,
    click,
    dialog_of,
    new_run,
    open_case,
    save,
    select_record,
    sign_current,
    tab,
    type_text,
)
from tests.ui.conftest import login_as, wait_tasks


def test_emergency_vv_supplement_countdown_turns_overdue(qtbot, ui, seeded, clock) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")  # 副主任医师, expert group member
    run_id = new_run(c, mode="VV", indication="ards", attending_id=seeded.attending_id)
    view = open_case(qtbot, ui, run_id)

    decisions = tab(view, "decision")
    click(qtbot, decisions.new_button)
    dialog = dialog_of(decisions)
    click(qtbot, dialog.emergency)
    for row in list(dialog.physicians.rows)[1:]:  # the emergency decider alone
        click(qtbot, row[3])
    assert dialog.verdict.text() == "[R2] 紧急上机由专家组成员 张伟（副主任医师及以上）决定"
    save(qtbot, ui, dialog)
    select_record(qtbot, decisions, decisions.decision_table, lambda r: r.emergency)
    sign_current(qtbot, ui, decisions)
    assert decisions.countdown.text() == "R2：紧急上机，首次转流后 12 小时内须补充多学科决策（尚未上机）"

    clock.advance(timedelta(minutes=20))
    procedures = tab(view, "cannulation")
    click(qtbot, procedures.kind_buttons["cannulation"])
    dialog = dialog_of(procedures)
    assert [r["vessel"].value() for r in dialog.cannulae.rows] == ["femoral_vein", "internal_jugular"]
    for row, size in zip(dialog.cannulae.rows, ("25", "19"), strict=True):
        choose(row["side"], "R")
        type_text(qtbot, row["size"].edit, size)
    save(qtbot, ui, dialog)  # no consent yet: allowed for an emergency start, flagged (R4)
    flow = c.runs.run_detail(run_id).run.started_at
    decisions = tab(view, "decision")
    assert decisions.countdown.text() == "R2：须在 12 小时 0 分 内（2026-03-02 21:20 前）补充多学科决策"

    opened: list[int] = []
    page = WorklistPage(ui, open_case=lambda rid: (opened.append(rid), view)[1])
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.loads >= 1)
    wait_tasks(qtbot, ui.tasks)

    def supplement_item():
        return next(i for i in page.model.items if i.run_id == run_id and i.kind.startswith("supplement"))

    item = supplement_item()
    assert item.kind == WorkKind.SUPPLEMENT_DUE.value
    assert page.model.index(0, 0).data() == "紧急上机：待补充多学科决策（R2）（1）"  # most urgent group first
    assert time_text(item) == "剩余 12 小时 0 分"
    kinds = {i.kind for i in page.model.items if i.run_id == run_id}
    assert WorkKind.MISSING_CONSENT.value in kinds  # emergency start without consent is flagged (R4)

    clock.advance(timedelta(hours=11, minutes=15))
    page.timer.setInterval(10)  # the minute timer, made quick: the page re-reads on its own
    loads = page.loads
    qtbot.waitUntil(lambda: page.loads > loads)
    assert time_text(supplement_item()) == "剩余 0 小时 45 分"
    clock.set(flow + timedelta(hours=12, minutes=5))
    qtbot.waitUntil(lambda: supplement_item().kind == WorkKind.SUPPLEMENT_OVERDUE.value)
    page.timer.stop()
    wait_tasks(qtbot, ui.tasks)
    item = supplement_item()
    assert time_text(item) == "已超时 0 小时 5 分"
    assert page.model.index(0, 0).data() == "紧急上机后 12 小时补充决策已超时（R2）（1）"
    row = next(r for r in range(page.model.rowCount()) if page.model.item(r) == item)
    assert page.model.index(row, 4).data() == "紧急上机后 12 小时内补充多学科决策已超时 0 小时 5 分钟"

    case = case_records(view)
    assert case is not None
    case.timer.setInterval(10)  # the case view's minute timer: its checklist moves with the clock too
    loads = case.loads
    qtbot.waitUntil(lambda: case.loads > loads)
    case.timer.stop()
    wait_tasks(qtbot, ui.tasks)
    assert decisions.countdown.text() == "R2：补充多学科决策已超时 0 小时 5 分（期限 2026-03-02 21:20）"
    overview = record_tab(view, "overview")
    assert overview is not None and overview.status_of("R2") == "fail"

    # double-click on the worklist opens the case at the decision tab
    tab(view, "daily")
    page.table.doubleClicked.emit(page.model.index(row, 1))
    assert opened == [run_id] and view.tabs.currentWidget() is decisions

    # the late supplement: R1 met, R2 stays failed (it was not within 12 hours)
    click(qtbot, decisions.supplement_button)
    dialog = dialog_of(decisions)
    assert "补充完整的多学科决策" in dialog.intro.text()
    click(qtbot, dialog.physicians.add_button)
    choose(dialog.physicians.rows[-1][0], seeded.experts[1])
    save(qtbot, ui, dialog)
    select_record(qtbot, decisions, decisions.decision_table, lambda r: r.supplement_of_id is not None)
    sign_current(qtbot, ui, decisions)
    qtbot.waitUntil(
        lambda: all(
            i.kind not in ("supplement_due", "supplement_overdue") or i.run_id != run_id
            for i in page.model.items
        )
    )
    assert overview.status_of("R2") == "fail"
