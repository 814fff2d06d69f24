"""The idle-lock timeout set by an administrator on the admin page: typed, saved, audited, refused
out of bounds with the bounds named, and taken up by the running window (also when set elsewhere)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ecmo_desktop.ui.main_window import NAV_ADMIN
from ecmo_desktop.ui.session import SessionController
from tests.kit.ui import sign_in
from tests.ui.conftest import PASSWORD, wait_tasks


def _settings_tab(qtbot, session: SessionController):
    window = session.main_window
    page = window.show_page(NAV_ADMIN)
    wait_tasks(qtbot, session.ui.tasks)
    bar = page.tabs.tabBar()
    index = page.tabs.indexOf(page.settings_tab)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert page.tabs.currentWidget() is page.settings_tab
    return page.settings_tab


def _type(qtbot, edit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)


def test_admin_sets_the_idle_lock_and_the_running_window_uses_it(qtbot, ui, clock, session_factory) -> None:
    session = session_factory(ui)
    sign_in(qtbot, session, "admin")
    tab = _settings_tab(qtbot, session)
    assert tab.idle_minutes.text() == "10"
    _type(qtbot, tab.idle_minutes, "45")
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    wait_tasks(qtbot, ui.tasks)
    assert tab.message.isVisible() and "1–30" in tab.message.text()  # the bounds, beside the field
    assert ui.services.ctx.policy.idle_lock_minutes == 10
    _type(qtbot, tab.idle_minutes, "3")
    qtbot.keyClick(tab.idle_minutes, Qt.Key.Key_Return)  # Enter saves too
    wait_tasks(qtbot, ui.tasks)
    assert not tab.message.isVisible() and "3 分钟" in tab.status.text()
    assert ui.services.auth.policy().idle_lock_minutes == 3
    events = [e for e in ui.services.audit.recent(limit=20) if e.action == "set_policy"]
    assert [(e.actor_name, e.before, e.after) for e in events] == [
        ("系统管理员", {"idle_lock_minutes": 10}, {"idle_lock_minutes": 3})
    ]
    clock.advance(timedelta(minutes=3) - timedelta(seconds=1))
    session.idle.check()
    assert not session.is_locked
    clock.advance(timedelta(seconds=1))
    qtbot.waitUntil(lambda: session.is_locked)  # the new timeout, without a restart


def test_a_timeout_set_elsewhere_reaches_the_running_window(qtbot, ui, seeded, clock, tasks) -> None:
    session = SessionController(ui, idle_interval_ms=20, policy_refresh_ms=30)
    try:
        sign_in(qtbot, session, "chenjing")
        assert ui.services.ctx.policy.idle_lock_minutes == 10
        from ecmo_desktop.container import build_container  # another PC (or the CLI) on the same database

        other = build_container(seeded.container.url, workstation="other-pc", clock=clock)
        try:
            other.auth.login("admin", PASSWORD)
            other.auth.set_idle_lock_minutes(2)
        finally:
            other.close()
        qtbot.waitUntil(lambda: ui.services.ctx.policy.idle_lock_minutes == 2, timeout=5_000)
        clock.advance(timedelta(minutes=2))
        qtbot.waitUntil(lambda: session.is_locked)
    finally:
        wait_tasks(qtbot, tasks)
        session.shutdown()
        QApplication.processEvents()
