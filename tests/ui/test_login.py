"""First run, login messages, lock-out, forced password change (ACC-1, ACC-4)."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt

from ecmo_desktop.ui.dialogs.first_run import PAGE_ADMIN, PAGE_HOSPITAL, FirstRunWizard
from ecmo_desktop.ui.dialogs.login import LoginDialog
from ecmo_desktop.ui.dialogs.password import ChangePasswordDialog
from ecmo_desktop.ui.main_window import MainWindow
from tests.ui.conftest import PASSWORD, wait_tasks


def _submit_login(qtbot, dialog: LoginDialog, username: str, password: str) -> None:
    dialog.username.setText(username)
    dialog.password.setText(password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    wait_tasks(qtbot, dialog.ui.tasks)


def test_first_run_wizard_creates_hospital_and_admin_then_shows_login(
    qtbot, empty_ui, session_factory
) -> None:
    session = session_factory(empty_ui)
    session.start()
    qtbot.waitUntil(lambda: session.wizard is not None and session.wizard.isVisible())
    wizard: FirstRunWizard = session.wizard
    wizard.next()
    assert wizard.currentId() == PAGE_HOSPITAL
    wizard.hospital_name.setText("内蒙古示范医院")
    wizard.hospital_code.setText("NM-001")
    wizard.city.setCurrentText("兴安盟")
    wizard.next()
    assert wizard.currentId() == PAGE_ADMIN
    wizard.username.setText("admin")
    wizard.full_name.setText("系统管理员")
    wizard.password.setText(PASSWORD)
    wizard.password_repeat.setText(PASSWORD + "x")
    wizard.next()  # Finish: the service refuses the mismatch, shown beside the field
    wait_tasks(qtbot, empty_ui.tasks)
    assert wizard.isVisible()
    message = wizard.errors.label_for("确认密码")
    assert message is not None and message.text() == "两次输入的密码不一致"
    assert wizard.password.text() == PASSWORD  # nothing typed was lost

    wizard.password_repeat.setText(PASSWORD)
    wizard.next()
    qtbot.waitUntil(lambda: session.login_dialog is not None and session.login_dialog.isVisible())
    assert empty_ui.services.auth.is_initialised()
    login = session.login_dialog
    assert login.username.text() == "admin"
    _submit_login(qtbot, login, "admin", PASSWORD)
    qtbot.waitUntil(lambda: session.main_window is not None)
    window = session.main_window
    assert window.hospital_label.text() == "内蒙古示范医院"
    assert "admin" in window.page_keys()


def test_first_run_error_on_an_earlier_page_goes_back_to_that_field(qtbot, empty_ui, session_factory) -> None:
    session = session_factory(empty_ui)
    session.start()
    qtbot.waitUntil(lambda: session.wizard is not None)
    wizard = session.wizard
    wizard.next()
    wizard.hospital_code.setText("NM-001")
    wizard.city.setCurrentText("呼和浩特市")
    wizard.next()
    wizard.username.setText("admin")
    wizard.full_name.setText("系统管理员")
    wizard.password.setText(PASSWORD)
    wizard.password_repeat.setText(PASSWORD)
    wizard.next()
    wait_tasks(qtbot, empty_ui.tasks)
    assert wizard.currentId() == PAGE_HOSPITAL
    assert wizard.errors.label_for("医院名称").text() == "必填"
    assert wizard.username.text() == "admin"
    assert not empty_ui.services.auth.is_initialised()


def test_login_success_opens_main_window_and_remembers_username(qtbot, ui, session_factory) -> None:
    session = session_factory(ui)
    session.start()
    qtbot.waitUntil(lambda: session.login_dialog is not None)
    # the login screen says whose database this is before anyone is logged in
    qtbot.waitUntil(lambda: session.login_dialog.hospital.text() == "示范医院")
    _submit_login(qtbot, session.login_dialog, "chenjing", PASSWORD)
    qtbot.waitUntil(lambda: session.main_window is not None)
    assert ui.user is not None and ui.user.username == "chenjing"
    assert ui.settings.load().last_username == "chenjing"
    assert "陈静" in session.main_window.user_label.text()
    assert "护士" in session.main_window.user_label.text()


def test_wrong_password_message_and_lockout_after_five_failures(qtbot, ui, session_factory) -> None:
    session = session_factory(ui)
    session.start()
    qtbot.waitUntil(lambda: session.login_dialog is not None)
    dialog = session.login_dialog
    _submit_login(qtbot, dialog, "zhangwei", "wrong-pass-1")
    assert dialog.general_error.text() == "用户名或密码错误"
    assert dialog.password.text() == ""
    for attempt in range(2, 6):
        _submit_login(qtbot, dialog, "zhangwei", f"wrong-pass-{attempt}")
    assert "15 分钟" in dialog.general_error.text()  # the fifth failure locks the account
    _submit_login(qtbot, dialog, "zhangwei", PASSWORD)  # even the right password is refused now
    assert "锁定" in dialog.general_error.text() and "分钟" in dialog.general_error.text()
    assert dialog.isVisible() and session.main_window is None
    assert ui.user is None


def test_deactivated_account_gets_its_own_message(qtbot, ui, seeded, session_factory) -> None:
    seeded.login("admin")
    ui.services.staff.set_active(seeded.nurse_id, False, reason="离职")
    ui.services.ctx.user = None
    dialog = LoginDialog(ui)
    qtbot.addWidget(dialog)
    dialog.show()
    _submit_login(qtbot, dialog, "chenjing", PASSWORD)
    assert dialog.general_error.text() == "账户已停用，请联系管理员"


def test_initial_password_must_be_changed_before_the_main_window(qtbot, ui, seeded, session_factory) -> None:
    seeded.login("admin")
    ui.services.staff.reset_password(seeded.doctor_id, "Temp2026abc")
    ui.services.ctx.user = None
    session = session_factory(ui)
    session.start()
    qtbot.waitUntil(lambda: session.login_dialog is not None)
    _submit_login(qtbot, session.login_dialog, "zhangwei", "Temp2026abc")
    qtbot.waitUntil(lambda: session.password_dialog is not None)
    dialog: ChangePasswordDialog = session.password_dialog
    assert session.main_window is None
    dialog.old.setText("wrong-old-1")
    dialog.new.setText("NewPass2026x")
    dialog.repeat.setText("NewPass2026x")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("原密码").text() == "密码错误"
    dialog.old.setText("Temp2026abc")
    dialog.new.setText("short1")
    dialog.repeat.setText("short1")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("新密码").text() == "至少 8 位"
    dialog.new.setText("NewPass2026x")
    dialog.repeat.setText("NewPass2026x")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(session.main_window, MainWindow))
    assert not ui.user.must_change_password
    ui.services.ctx.user = None
    assert ui.services.auth.login("zhangwei", "NewPass2026x").username == "zhangwei"


def test_refusing_the_forced_change_logs_out(qtbot, ui, seeded, session_factory) -> None:
    seeded.login("admin")
    ui.services.staff.reset_password(seeded.nurse_id, "Temp2026abc")
    ui.services.ctx.user = None
    session = session_factory(ui)
    session.start()
    qtbot.waitUntil(lambda: session.login_dialog is not None)
    _submit_login(qtbot, session.login_dialog, "chenjing", "Temp2026abc")
    qtbot.waitUntil(lambda: session.password_dialog is not None)
    first_login = session.login_dialog
    session.password_dialog.reject()
    qtbot.waitUntil(lambda: session.login_dialog is not None and session.login_dialog is not first_login)
    wait_tasks(qtbot, ui.tasks)
    assert ui.user is None and session.main_window is None
    assert shiboken6.isValid(session.login_dialog)
