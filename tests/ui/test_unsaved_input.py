"""Esc, 取消 or the close button on a form with unsaved input asks first (issue 9.12).

Driven with real key presses and clicks: type, Esc → the question; 继续编辑 → still open with the
text; 放弃并关闭 → closed. (That an untouched dialog closes on Esc without a question is checked
for every dialog class in test_screen_fit.py.)
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from ecmo_desktop.ui.dialogs.patient import PatientDialog
from ecmo_desktop.ui.widgets.form import DISCARD_QUESTION
from tests.kit.ui_records import click, closed, dialog_of, new_run, open_case, start_run, tab
from tests.ui.conftest import login_as, wait_tasks


def question(qtbot: Any, dialog: QWidget) -> QMessageBox:
    qtbot.waitUntil(lambda: dialog.findChild(QMessageBox, DISCARD_QUESTION) is not None)
    box = dialog.findChild(QMessageBox, DISCARD_QUESTION)
    assert box.isVisible() and box.text() == "本窗口中有尚未保存的内容，关闭后这些内容将丢失。"
    return box


def answer(qtbot: Any, box: QMessageBox, text: str) -> None:
    button = next(b for b in box.findChildren(QPushButton) if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.isVisible())


def test_esc_on_a_half_typed_daily_record_asks_before_discarding(qtbot: Any, ui: Any, seeded: Any) -> None:
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(seeded.container, attending_id=seeded.attending_id)
    start_run(seeded, run_id)
    view = open_case(qtbot, ui, run_id)
    daily = tab(view, "daily")
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    flow = dialog.number_field("blood_flow").edit
    flow.setFocus()
    qtbot.keyClicks(flow, "3.6")

    qtbot.keyClick(flow, Qt.Key.Key_Escape)
    answer(qtbot, question(qtbot, dialog), "继续编辑")
    assert dialog.isVisible() and flow.text() == "3.6"

    qtbot.keyClick(flow, Qt.Key.Key_Escape)
    box = question(qtbot, dialog)
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # Esc on the question keeps the text too
    qtbot.waitUntil(lambda: not box.isVisible())
    assert dialog.isVisible() and flow.text() == "3.6"

    qtbot.keyClick(flow, Qt.Key.Key_Escape)
    answer(qtbot, question(qtbot, dialog), "放弃并关闭")
    qtbot.waitUntil(lambda: closed(dialog))
    wait_tasks(qtbot, ui.tasks)
    assert seeded.container.records.chart(run_id).daily_entries == ()


def test_cancel_and_close_on_a_typed_patient_form_ask_first(qtbot: Any, ui: Any) -> None:
    login_as(ui, qtbot, "zhangwei")
    dialog = PatientDialog(ui)
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.mrn.setFocus()
    qtbot.keyClicks(dialog.mrn, "ZY20260302")

    cancel = next(b for b in dialog.buttons.buttons() if b.text() == "取消")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    answer(qtbot, question(qtbot, dialog), "继续编辑")
    assert dialog.isVisible() and dialog.mrn.text() == "ZY20260302"

    dialog.close()  # the window's close button
    answer(qtbot, question(qtbot, dialog), "放弃并关闭")
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_typing_back_what_was_there_is_no_change(qtbot: Any, ui: Any) -> None:
    login_as(ui, qtbot, "zhangwei")
    dialog = PatientDialog(ui)
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.ward.setFocus()
    qtbot.keyClicks(dialog.ward, "EICU")
    for _ in "EICU":
        qtbot.keyClick(dialog.ward, Qt.Key.Key_Backspace)
    qtbot.keyClick(dialog.ward, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and dialog.findChild(QMessageBox, DISCARD_QUESTION) is None
