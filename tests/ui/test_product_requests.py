"""Unknown product at the bedside (issue 9, point 9): a real path for the nurse and the administrator.

The nurse gets a button that records a request on the administrator's worklist and says to call;
the administrator opens it from the worklist and adds the product (the request closes) or declines
with a reason. An administrator at the bedside gets "add to catalogue" directly.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import Qt

from ecmo_desktop.domain.devices import VerdictKind
from ecmo_desktop.domain.records import WorkKind
from ecmo_desktop.ui.devices.common import ProductDialog, ReasonDialog
from ecmo_desktop.ui.devices.requests import ProductRequestDialog
from ecmo_desktop.ui.home.worklist_page import WorklistPage
from ecmo_desktop.ui.scan_bar import Level
from tests.kit.devices import UNKNOWN_GTIN, gtin, label
from tests.kit.ui_devices import (
    click,
    finish_dialog,
    last_verdict,
    log_in,
    make_ward,
    open_tab,
    wait_banner,
)
from tests.kit.ui_scan import scan_keys
from tests.ui.conftest import wait_tasks

EXPIRY = date(2027, 3, 31)


def _worklist(qtbot: Any, ui: Any) -> WorklistPage:
    page = WorklistPage(ui, open_case=lambda run_id: None)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    qtbot.waitUntil(lambda: page.loads >= 1, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    return page


def _request_rows(page: WorklistPage) -> list[int]:
    return [
        r
        for r in range(page.model.rowCount())
        if (i := page.model.item(r)) is not None and i.kind == WorkKind.PRODUCT_REQUEST.value
    ]


def _open_row(qtbot: Any, page: WorklistPage, row: int) -> None:
    """Click the row, then Enter (the worklist opens an item on Enter or a double-click)."""
    rect = page.table.visualRect(page.model.index(row, 4))
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClick(page.table, Qt.Key.Key_Return)


def _nurse_requests(qtbot: Any, ui: Any, ward: Any, code: str) -> Any:
    log_in(ui, qtbot, "chenjing")
    tab = open_tab(qtbot, ui, ward.run1)
    clock_ms = [10_000.0]
    tab.scan_bar.clock = lambda: clock_ms[0]
    tab.clock_ms = clock_ms  # the test moves it on before scanning the same label again
    scan_keys(tab.scan_bar.field, code)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    banner = tab.scan_bar.banner
    assert banner.title_text() == "⚠ 器械目录中没有此产品"
    assert "是否添加到器械目录" not in banner.message.text()  # no question without an answer
    assert "电话联系管理员" in banner.detail.text()
    assert banner.action("action_add_product") is None
    click(qtbot, banner.action("action_request_product"))
    qtbot.waitUntil(lambda: banner.title_text() == "⚠ 已通知管理员，请电话联系", timeout=10_000)
    assert "请电话联系管理员把它加入器械目录" in banner.message.text()
    wait_tasks(qtbot, ui.tasks)
    return tab


def test_the_nurse_requests_and_the_admin_adds_it_from_the_worklist(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    code = label(UNKNOWN_GTIN, serial="REQ1", lot="LR", expiry=EXPIRY)
    tab = _nurse_requests(qtbot, ui, ward, code)

    log_in(ui, qtbot, "admin")
    page = _worklist(qtbot, ui)
    titles = [page.model.index(r, 0).data() for r in page.model.group_rows()]
    assert "床旁请求添加到器械目录的产品（1）" in titles
    [row] = _request_rows(page)
    assert UNKNOWN_GTIN in page.model.index(row, 4).data() and "陈静" in page.model.index(row, 4).data()
    _open_row(qtbot, page, row)
    qtbot.waitUntil(lambda: isinstance(page.dialog, ProductRequestDialog) and page.dialog.isVisible())
    answer = page.dialog
    assert answer.ok_button.isDefault() and "王建国" in answer.intro.text()
    click(qtbot, answer.ok_button)  # 添加到器械目录…
    qtbot.waitUntil(lambda: isinstance(answer.child, ProductDialog) and answer.child.isVisible())
    form = answer.child
    assert form.gtin.text() == UNKNOWN_GTIN  # pre-filled from the scanned label
    form.category.setCurrentIndex(form.category.findData("tubing_pack"))
    form.name.setText("ECMO 管路套包")
    form.nmpa.setText("国械注准20203100001")
    finish_dialog(qtbot, ui, form)
    qtbot.waitUntil(lambda: not answer.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: _request_rows(page) == [], timeout=10_000)

    log_in(ui, qtbot, "chenjing")
    tab.clock_ms[0] += 60_000  # a minute later, not a repeat of the same presentation
    scan_keys(tab.scan_bar.field, code, start=9_000_000.0)
    wait_banner(qtbot, ui, tab.scan_bar, Level.WARN)
    assert (
        last_verdict(tab, code).kind is VerdictKind.NOT_RECEIVED
    )  # in the catalogue now: receive, then bind


def test_the_admin_declines_a_request_with_a_reason(qtbot: Any, ui: Any, seeded: Any) -> None:
    ward = make_ward(seeded)
    other = gtin("0690123488888")
    _nurse_requests(qtbot, ui, ward, label(other, serial="REQ2", lot="LR", expiry=EXPIRY))
    log_in(ui, qtbot, "admin")
    page = _worklist(qtbot, ui)
    [row] = _request_rows(page)
    _open_row(qtbot, page, row)
    qtbot.waitUntil(lambda: isinstance(page.dialog, ProductRequestDialog) and page.dialog.isVisible())
    answer = page.dialog
    click(qtbot, answer.dismiss_button)
    qtbot.waitUntil(lambda: isinstance(answer.child, ReasonDialog) and answer.child.isVisible())
    reason = answer.child
    reason.reason.setPlainText("非 ECMO 耗材，由普通库房管理")
    finish_dialog(qtbot, ui, reason)
    qtbot.waitUntil(lambda: not answer.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: _request_rows(page) == [], timeout=10_000)
    [done] = [
        r for r in ui.services.devices.product_requests(open_only=False) if r.device_identifier == other
    ]
    assert (done.status, done.resolution_note) == ("dismissed", "非 ECMO 耗材，由普通库房管理")
