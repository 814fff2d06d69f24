"""A save the server does not answer says so and can be abandoned, the data staying in the dialog
(issue 11 §3: the dialog sat at "正在保存…" with Save, Cancel and Esc disabled, no message, no end)."""

from __future__ import annotations

import os
import signal
import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from sqlalchemy import create_engine

from ecmo_desktop.ui.records import forms
from tests.kit.ui_records import (
    click,
    closed,
    dialog_of,
    new_run,
    open_case,
    start_run,
    tab,
    type_text,
)
from tests.ui.conftest import login_as, wait_tasks


def _daily_dialog(qtbot: Any, ui: Any, seeded: Any, clock: Any) -> Any:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, attending_id=seeded.attending_id)
    start_run(seeded, run_id)
    clock.advance(timedelta(hours=1))
    view = open_case(qtbot, ui, run_id)
    daily = tab(view, "daily")
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    type_text(qtbot, dialog.number_field("blood_flow").edit, "3.4")
    return dialog


def test_a_save_waiting_on_a_busy_database_says_so(
    qtbot, ui, seeded, clock, seeded_db_url, monkeypatch
) -> None:
    monkeypatch.setattr(forms, "SLOW_SAVE_MS", 200)
    dialog = _daily_dialog(qtbot, ui, seeded, clock)
    holder = sqlite3.connect(seeded_db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        click(qtbot, dialog.ok_button)
        qtbot.waitUntil(lambda: dialog.general_error.isVisible(), timeout=8_000)
        assert "仍在等待保存结果" in dialog.general_error.text()
        assert dialog.number_field("blood_flow").text() == "3.4"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    qtbot.waitUntil(lambda: closed(dialog), timeout=15_000)  # the lock went away: saved after all
    wait_tasks(qtbot, ui.tasks)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_save_on_a_frozen_server_can_be_abandoned_keeping_the_data(
    qtbot, ui, seeded, clock, seeded_db_url, monkeypatch
) -> None:
    monkeypatch.setattr(forms, "SLOW_SAVE_MS", 300)
    dialog = _daily_dialog(qtbot, ui, seeded, clock)
    wait_tasks(qtbot, ui.tasks)
    admin = create_engine(seeded_db_url)
    with admin.connect() as conn:  # freeze every server process of this database: no answer, no refusal
        pids = [
            int(r[0])
            for r in conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
                "pg_backend_pid()"
            )
        ]
    assert pids
    with open(f"/proc/{pids[0]}/status", encoding="ascii") as status:  # … and the postmaster: no new ones
        pids.append(int(next(line.split()[1] for line in status if line.startswith("PPid:"))))
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        click(qtbot, dialog.ok_button)
        cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        qtbot.waitUntil(lambda: cancel.isEnabled() and cancel.text() == "停止等待", timeout=8_000)
        assert "服务器长时间没有响应" in dialog.general_error.text()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Esc, as a person would
        qtbot.waitUntil(lambda: not dialog.busy, timeout=15_000)
    finally:
        for pid in reversed(pids):
            os.kill(pid, signal.SIGCONT)
        admin.dispose()
    assert dialog.isVisible()
    assert "数据未保存" in dialog.general_error.text()
    assert dialog.number_field("blood_flow").text() == "3.4"
    assert dialog.ok_button.isEnabled()  # and it can be saved again now the server is back
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: closed(dialog), timeout=15_000)
    wait_tasks(qtbot, ui.tasks)
