"""The start/weaning decision form as a doctor fills it: the contraindication checklist is only
"assessed" when someone assessed it, the physician pickers read like a ward list (pinyin order,
nobody twice, the earlier team offered again), and dates typed by keys are the dates saved.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QPushButton, QTabWidget, QVBoxLayout

from ecmo_desktop.domain.time import BEIJING
from ecmo_desktop.ui.widgets.dates import TypedDateEdit
from tests.kit.ui_records import (
    choose,
    click,
    dialog_of,
    new_run,
    open_case,
    save,
    start_run,
    tab,
    type_text,
)
from tests.ui.conftest import login_as


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


def focus_window(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)


def test_decision_time_typed_by_keys_is_the_time_saved(qtbot, ui, seeded) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, mode="VA", attending_id=seeded.attending_id)
    view = open_case(qtbot, ui, run_id)
    decisions = tab(view, "decision")
    click(qtbot, decisions.new_button)
    dialog = dialog_of(decisions)
    focus_window(qtbot, dialog)
    _three_physicians(qtbot, dialog, seeded)
    qtbot.mouseClick(dialog.decided_at.lineEdit(), Qt.MouseButton.LeftButton)
    assert dialog.decided_at.hasFocus()
    qtbot.keyClicks(dialog.decided_at, "2026-3-2 7:45")  # Beijing time, typed as people type it
    assert dialog.decided_at.text() == "2026-3-2 7:45"  # shown as typed, not mangled section by section
    save(qtbot, ui, dialog)  # the Save click is what moves the focus
    decision = c.records.chart(run_id).decisions[0]
    assert decision.decided_at == datetime(2026, 3, 2, 7, 45, tzinfo=BEIJING)


@pytest.mark.parametrize("typed", ["2026-03-01", "2026-3-1", "20260301", "2026/3/1"])
@pytest.mark.parametrize("finish", ["tab", "enter", "click"])
def test_a_typed_date_is_kept_when_focus_moves_or_save_is_pressed(qtbot, typed: str, finish: str) -> None:
    window = QDialog()
    column = QVBoxLayout(window)
    before = QLineEdit()
    box = TypedDateEdit(date(2025, 12, 31))
    save_button = QPushButton("保存")
    save_button.setDefault(True)
    for widget in (before, box, save_button):
        column.addWidget(widget)
    saved: list[date] = []
    save_button.clicked.connect(lambda: saved.append(box.date().toPython()))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    focus_window(qtbot, window)
    before.setFocus()
    qtbot.keyClick(before, Qt.Key.Key_Tab)
    assert box.hasFocus()
    qtbot.keyClicks(box, typed)
    if finish == "tab":
        qtbot.keyClick(box, Qt.Key.Key_Tab)
        assert not box.hasFocus()
        qtbot.mouseClick(save_button, Qt.MouseButton.LeftButton)
    elif finish == "enter":
        qtbot.keyClick(box, Qt.Key.Key_Return)  # the default button saves
    else:
        qtbot.mouseClick(save_button, Qt.MouseButton.LeftButton)
    assert saved == [date(2026, 3, 1)]
    assert box.text() == "2026-03-01"


def picker_names(combo) -> list[str]:
    """The names a person can pick in the open list (hidden and disabled entries are not offered)."""
    view = combo.view()
    model = combo.model()
    return [
        combo.itemText(i).split("（")[0]
        for i in range(combo.count())
        if combo.itemData(i) and not view.isRowHidden(i) and model.item(i).isEnabled()
    ]


def test_physician_pickers_are_in_pinyin_order_and_offer_nobody_twice(qtbot, ui, seeded) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, mode="VA", attending_id=seeded.attending_id)
    view = open_case(qtbot, ui, run_id)
    decisions = tab(view, "decision")
    click(qtbot, decisions.new_button)
    dialog = dialog_of(decisions)
    # 张伟 and 刘洋 are pre-filled; code-point order would be 刘 张 李 王, pinyin is 李 刘 王 张
    click(qtbot, dialog.physicians.add_button)
    third = dialog.physicians.rows[2][0]
    assert picker_names(third) == ["李娜", "王芳"]  # the two already in the team are not offered again
    first = dialog.physicians.rows[0][0]
    assert picker_names(first) == ["李娜", "王芳", "张伟"]  # its own pick stays, in pinyin order
    focus_window(qtbot, dialog)
    third.setFocus()
    qtbot.keyClick(third, Qt.Key.Key_Down)  # the keyboard steps over the people already picked
    qtbot.keyClick(third, Qt.Key.Key_Down)
    assert third.currentText().startswith("王芳")
    qtbot.keyClick(third, Qt.Key.Key_Down)
    assert third.currentText().startswith("王芳")  # 张伟 (taken) is not reachable either
    assert picker_names(dialog.physicians.rows[1][0]) == ["李娜", "刘洋"]


def test_weaning_decision_starts_with_the_start_decisions_team(qtbot, ui, seeded) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, mode="VA", attending_id=seeded.attending_id)
    start_run(seeded, run_id)
    view = open_case(qtbot, ui, run_id)
    weaning = tab(view, "weaning")
    click(qtbot, weaning.decision_button)
    dialog = dialog_of(weaning)
    team = [(row[0].value(), row[1].value()) for row in dialog.physicians.rows]
    assert team == [
        (seeded.attending_id, "attending"),
        (seeded.doctor_id, "expert"),
        (seeded.experts[1], "expert"),
    ]
    assert dialog.verdict.text().startswith("[R1]") and "签名时将被拒绝" not in dialog.verdict.text()


def test_a_typed_text_that_is_no_date_keeps_the_old_date_visibly(qtbot) -> None:
    window = QDialog()
    column = QVBoxLayout(window)
    box = TypedDateEdit(date(2025, 12, 31))
    after = QLineEdit()
    column.addWidget(box)
    column.addWidget(after)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    focus_window(qtbot, window)
    qtbot.mouseClick(box.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.keyClicks(box, "2026-13-45")
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    assert box.date().toPython() == date(2025, 12, 31) and box.text() == "2025-12-31"
    assert "2026-13-45" in box.toolTip() and box.lineEdit().styleSheet()  # said, not silently dropped
    qtbot.mouseClick(box.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.keyClicks(box, "2026-1-5")
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    assert (
        box.date().toPython() == date(2026, 1, 5)
        and box.toolTip() == ""
        and box.lineEdit().styleSheet() == ""
    )
