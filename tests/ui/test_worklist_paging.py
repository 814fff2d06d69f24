"""The home worklist shows every group's true count and pages through a group (issue 15: no silent caps).

A small page (monkeypatched) and more items than a page in two groups: a person reads the headers,
clicks a group's "more" row until the group is complete, pages another with the keyboard, and every
item of the ward is on screen once — the counts shown are the service's exact counts.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from ecmo_desktop.ui.home import worklist_page
from ecmo_desktop.ui.home.worklist_page import WorklistPage
from ecmo_desktop.ui.main_window import NAV_WORKLIST, MainWindow
from tests.kit.ui_records import new_run, start_run
from tests.ui.conftest import login_as, wait_tasks

PAGE = 4


def _headers(page: WorklistPage) -> list[str]:
    return [page.model.index(r, 0).data() for r in page.model.group_rows()]


def _click_more(qtbot: Any, page: WorklistPage, kind: str) -> None:
    """Scroll to the group's "more" row and click it, then wait for the page to arrive."""
    index = page.model.index(page.model.more_row(kind), 0)
    page.table.scrollTo(index)
    before = page.more_loads
    qtbot.mouseClick(
        page.table.viewport(), Qt.MouseButton.LeftButton, pos=page.table.visualRect(index).center()
    )
    qtbot.waitUntil(lambda: page.more_loads > before, timeout=10_000)


def test_groups_show_true_counts_and_page_to_the_last_item(qtbot, ui, seeded, clock, monkeypatch) -> None:
    monkeypatch.setattr(worklist_page, "PAGE", PAGE)
    c = seeded.container
    seeded.login("zhangwei")
    planned = [new_run(c, attending_id=seeded.attending_id) for _ in range(10)]
    running = [new_run(c, attending_id=seeded.attending_id) for _ in range(3)]
    for run_id in running:
        start_run(seeded, run_id)  # consent and cannulation unsigned: 6 records waiting for a signature
    c.ctx.user = None
    login_as(ui, qtbot, "zhangwei")
    window = MainWindow(ui, ui.user)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    page = window.show_page(NAV_WORKLIST)
    assert isinstance(page, WorklistPage)
    qtbot.waitUntil(lambda: page.loads >= 1, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)

    assert _headers(page) == ["知情同意未记录（R4）（10）", "今日尚无日常管理记录（3）", "待签名的记录（6）"]
    assert page.count_label.text() == "共 19 项"
    consent_more = page.model.index(page.model.more_row("missing_consent"), 0).data()
    assert consent_more == "显示后 4 项…（已显示 4 项，共 10 项）"
    assert page.model.more_row("no_daily_today") == -1  # 3 items: the whole group is on screen

    # click "more" until the group is complete: 4 + 4 + 2, each run once, in order
    _click_more(qtbot, page, "missing_consent")
    assert (
        page.model.index(page.model.more_row("missing_consent"), 0).data()
        == "显示后 2 项…（已显示 8 项，共 10 项）"
    )
    _click_more(qtbot, page, "missing_consent")
    assert page.model.more_row("missing_consent") == -1
    shown = [i.run_id for i in page.model.items if i.kind == "missing_consent"]
    assert shown == sorted(planned)
    assert _headers(page)[0] == "知情同意未记录（R4）（10）"

    # the unsigned records by keyboard: click the group's last item, arrow down to "more", Enter
    more = page.model.more_row("unsigned_record")
    last = page.model.index(more - 1, 4)
    page.table.scrollTo(last)
    qtbot.mouseClick(
        page.table.viewport(), Qt.MouseButton.LeftButton, pos=page.table.visualRect(last).center()
    )
    qtbot.keyClick(page.table, Qt.Key.Key_Down)
    assert page.table.currentIndex().row() == more
    before = page.more_loads
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.more_loads > before, timeout=10_000)
    assert page.model.more_row("unsigned_record") == -1
    qtbot.waitUntil(lambda: page.model.more_row("unsigned_record") == -1, timeout=10_000)
    unsigned = [(i.entity, i.run_id) for i in page.model.items if i.kind == "unsigned_record"]
    assert sorted(unsigned) == sorted((e, r) for r in running for e in ("consent", "procedure"))

    # every item of the ward is on screen once, and the counts are the service's
    counts = ui.services.worklist.counts()
    assert len(page.model.items) == sum(counts.values()) == 19
    assert len({(i.kind, i.run_id, i.entity, i.entity_id) for i in page.model.items}) == 19

    # a refresh keeps the groups paged open (same rows), and a new run shows up in the count
    seeded.login("zhangwei")
    extra = new_run(c, attending_id=seeded.attending_id)
    c.ctx.user = ui.user
    loads = page.loads
    qtbot.keyClick(page.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: page.loads > loads, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    assert _headers(page)[0] == "知情同意未记录（R4）（11）"
    assert page.count_label.text() == "共 20 项"
    assert [i.run_id for i in page.model.items if i.kind == "missing_consent"][:10] == sorted(planned)
    assert page.model.more_row("missing_consent") != -1  # the 11th is one click away
    _click_more(qtbot, page, "missing_consent")
    assert [i.run_id for i in page.model.items if i.kind == "missing_consent"][-1] == extra
