"""ACC-5: the idle lock on a fake clock, input blocked while locked, drafts sealed per user."""

from __future__ import annotations

from datetime import timedelta

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ecmo_desktop.ui.dialogs.patient import PatientDialog
from tests.kit.ui import open_registration, sign_in
from tests.ui.conftest import PASSWORD, visible_texts, wait_tasks


def _audit_actions(ui, qtbot) -> list[tuple[str, str, str | None]]:
    ui.services.ctx.user, saved = None, ui.services.ctx.user
    ui.services.auth.login("admin", PASSWORD)
    events = ui.services.audit.recent(limit=50)
    ui.services.ctx.user = saved
    return [(e.action, e.actor_name, e.reason) for e in events]


def test_lock_appears_at_the_idle_timeout_and_not_before(qtbot, ui, clock, session_factory) -> None:
    session = session_factory(ui)
    sign_in(qtbot, session, "chenjing")
    timeout = ui.services.ctx.policy.idle_lock_minutes * 60
    assert timeout == 600
    clock.advance(timeout - 1)
    session.idle.check()
    assert not session.is_locked
    clock.advance(1)
    qtbot.waitUntil(lambda: session.is_locked)  # the monitor's own timer notices
    assert session.lock_screen.isVisible()
    wait_tasks(qtbot, ui.tasks)
    actions = _audit_actions(ui, qtbot)
    assert ("screen_lock", "陈静", "idle") in actions


def test_input_resets_the_idle_timer(qtbot, ui, clock, session_factory) -> None:
    session = session_factory(ui)
    sign_in(qtbot, session, "chenjing")
    clock.advance(500)
    qtbot.keyClick(session.main_window.cases.search, Qt.Key.Key_A)
    clock.advance(500)  # 1000 s since login, but only 500 s since the key
    session.idle.check()
    assert not session.is_locked


def test_keys_while_locked_go_nowhere_and_same_user_unlock_restores_everything(
    qtbot, ui, clock, session_factory
) -> None:
    session = session_factory(ui)
    sign_in(qtbot, session, "zhangwei")
    dialog = open_registration(qtbot, session)
    clock.advance(timedelta(minutes=11))
    qtbot.waitUntil(lambda: session.is_locked)
    screen = session.lock_screen

    # a wedge scanner "typing" a barcode + Enter at the locked PC reaches no form
    qtbot.keyClicks(dialog.mrn, "0104012345678901")
    qtbot.keyClick(dialog.mrn, Qt.Key.Key_Return)
    qtbot.keyClicks(session.main_window.cases.search, "SCAN")
    assert dialog.mrn.text() == "ZY20260001"
    assert session.main_window.cases.search.text() == ""
    assert dialog.isVisible()
    # the same burst at the lock screen itself reaches no field and is no failed unlock attempt
    focused = screen.focusWidget()
    assert focused is screen.button
    qtbot.keyClicks(focused, "0104012345678901")
    qtbot.keyClick(focused, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert (screen.username.text(), screen.password.text()) == ("zhangwei", "")
    assert screen.message.isHidden() and not screen.busy

    screen.password.setText("not-my-password1")
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert session.is_locked and screen.message.text() == "密码错误"

    qtbot.keyClicks(screen.password, PASSWORD)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not session.is_locked)
    wait_tasks(qtbot, ui.tasks)
    assert shiboken6.isValid(dialog) and dialog.isVisible()
    assert (dialog.mrn.text(), dialog.name.text(), dialog.weight.text()) == ("ZY20260001", "张三", "72")
    qtbot.keyClicks(dialog.bed, "12")  # input flows again
    assert dialog.bed.text() == "12"
    assert ui.user.username == "zhangwei"
    actions = _audit_actions(ui, qtbot)
    assert ("screen_unlock", "张伟", None) in actions
    assert [action for action, _name, _reason in actions].count("reauth_failed") == 1  # only the typed one


def test_other_user_login_seals_the_draft_and_its_author_gets_it_back(
    qtbot, ui, clock, session_factory
) -> None:
    session = session_factory(ui)
    sign_in(qtbot, session, "zhangwei")
    first_window = session.main_window
    author_id = ui.user.id
    dialog = open_registration(qtbot, session)
    clock.advance(timedelta(minutes=10))
    qtbot.waitUntil(lambda: session.is_locked)

    screen = session.lock_screen
    screen.username.setText("liuyang")
    assert screen.button.text() == "切换用户登录"
    screen.password.setText(PASSWORD)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.main_window is not None and session.main_window is not first_window)
    wait_tasks(qtbot, ui.tasks)
    assert ui.user.username == "liuyang"
    assert not session.is_locked
    assert not shiboken6.isValid(dialog) or not dialog.isVisible()
    assert "ZY20260001" not in visible_texts() and "张三" not in visible_texts()
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, PatientDialog) and w.isVisible()]
    assert ui.drafts.users() == {author_id}

    # the new user cannot reach the draft either by opening the same dialog
    fresh = session.main_window.register_patient()
    assert fresh is None or fresh.mrn.text() == ""
    if fresh is not None:
        fresh.reject()

    session.logout()
    qtbot.waitUntil(lambda: session.login_dialog is not None)
    wait_tasks(qtbot, ui.tasks)
    login = session.login_dialog
    login.username.setText("zhangwei")
    login.password.setText(PASSWORD)
    qtbot.keyClick(login.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.main_window is not None)
    wait_tasks(qtbot, ui.tasks)
    restored = [w for w in session.main_window.draftables() if isinstance(w, PatientDialog)]
    assert len(restored) == 1
    assert (restored[0].mrn.text(), restored[0].name.text(), restored[0].weight.text()) == (
        "ZY20260001",
        "张三",
        "72",
    )
    assert not ui.drafts.users()  # restored once, then gone from the sealed store

    actions = _audit_actions(ui, qtbot)
    assert ("login", "刘洋", None) in actions
    assert ("logout", "张伟", None) in actions


def test_a_failed_switch_leaves_the_locked_session_intact(qtbot, ui, clock, session_factory) -> None:
    session = session_factory(ui)
    sign_in(qtbot, session, "zhangwei")
    dialog = open_registration(qtbot, session)
    # Ctrl+L works inside the (modal) dialog too, where the main window's menu shortcut cannot fire
    qtbot.keyClick(dialog.name, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert session.is_locked
    assert dialog.name.text() == "张三"
    screen = session.lock_screen
    screen.username.setText("liuyang")
    screen.password.setText("wrong-password-9")
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert session.is_locked and screen.message.text() == "用户名或密码错误"
    assert ui.user.username == "zhangwei"
    screen.username.setText("zhangwei")
    screen.password.setText(PASSWORD)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not session.is_locked)
    assert dialog.isVisible() and dialog.name.text() == "张三"
