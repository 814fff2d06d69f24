"""The start/weaning decision form as a doctor fills it: the contraindication checklist is only
"assessed" when someone assessed it, the physician pickers read like a ward list (pinyin order,
nobody twice, the earlier team offered again), and dates typed by keys are the dates saved.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabWidget

from tests.ui.conftest import login_as
from tests.ui.test_records_support import (
    choose,
    click,
    dialog_of,
    new_run,
    open_case,
    save,
    tab,
    type_text,
)


def open_page(qtbot, dialog, title: str) -> None:
    """Click the title of one of the form's pages."""
    pages = dialog.findChild(QTabWidget, "decision_pages")
    index = next(i for i in range(pages.count()) if pages.tabText(i) == title)
    qtbot.mouseClick(pages.tabBar(), Qt.MouseButton.LeftButton, pos=pages.tabBar().tabRect(index).center())
    assert pages.currentIndex() == index


def _three_physicians(qtbot, dialog, seeded) -> None:
    click(qtbot, dialog.physicians.add_button)
    choose(dialog.physicians.rows[2][0], seeded.experts[1])


def test_unopened_contraindication_tab_is_saved_and_shown_as_not_assessed(qtbot, ui, seeded) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, mode="VA", attending_id=seeded.attending_id)
    view = open_case(qtbot, ui, run_id)
    decisions = tab(view, "decision")
    click(qtbot, decisions.new_button)
    dialog = dialog_of(decisions)
    _three_physicians(qtbot, dialog, seeded)
    type_text(qtbot, dialog.rationale, "心源性休克，药物治疗无效")
    save(qtbot, ui, dialog)  # the 禁忌证 page was never opened
    decision = c.records.chart(run_id).decisions[0]
    assert decision.contraindications == {}
    shown = decisions.panel.browser.toPlainText()
    assert "禁忌证\n未评估" in shown and "已评估，无" not in shown


def test_assessed_checklist_saves_every_item(qtbot, ui, seeded) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, mode="VA", attending_id=seeded.attending_id)
    view = open_case(qtbot, ui, run_id)
    decisions = tab(view, "decision")
    click(qtbot, decisions.new_button)
    dialog = dialog_of(decisions)
    _three_physicians(qtbot, dialog, seeded)
    open_page(qtbot, dialog, "禁忌证")
    qtbot.mouseClick(dialog.contraindications["severe_ar"], Qt.MouseButton.LeftButton)
    assert dialog.contra_assessed.isChecked()  # ticking an item is an assessment
    save(qtbot, ui, dialog)
    decision = c.records.chart(run_id).decisions[0]
    assert decision.contraindications["severe_ar"] is True
    assert decision.contraindications["aortic_dissection"] is False
    assert len(decision.contraindications) == 10
    assert "严重主动脉瓣关闭不全" in decisions.panel.browser.toPlainText()
