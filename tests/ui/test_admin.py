"""Administration: staff accounts, R13/R12 refusals shown with their rule id, audit browser,
and that pages hidden from a role are refused by the services as well (ACC-2)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ecmo_desktop.domain.errors import PermissionDenied
from ecmo_desktop.ui.admin.dialogs import StaffChoiceDialog, StaffDialog, StaffReasonDialog
from ecmo_desktop.ui.admin.page import AdminPage
from ecmo_desktop.ui.main_window import NAV_ADMIN, MainWindow
from tests.ui.conftest import PASSWORD, login_as, wait_tasks


def _admin_page(qtbot, ui) -> AdminPage:
    login_as(ui, qtbot, "admin")
    page = AdminPage(ui)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    wait_tasks(qtbot, ui.tasks)
    return page


def _select(qtbot, page: AdminPage, username: str) -> None:
    tab = page.staff_tab
    row = next(r for r in range(tab.model.rowCount()) if tab.model.row(r).username == username)
    tab.table.selectRow(row)
    wait_tasks(qtbot, page.ui.tasks)


def test_admin_creates_a_user_who_can_then_log_in(qtbot, ui) -> None:
    page = _admin_page(qtbot, ui)
    assert page.staff_tab.model.rowCount() == 8
    dialog: StaffDialog = page.staff_tab.new_staff()
    dialog.username.setText("zhouqiang")
    dialog.full_name.setText("周强")
    dialog.title.setCurrentIndex(dialog.title.findData("attending"))
    dialog.department.setText("重症医学科")
    dialog.years.setText("abc")
    dialog.role_checks["doctor"].setChecked(True)
    dialog.trained.setChecked(True)
    dialog.password.setText("Init2026pass")
    dialog.password_repeat.setText("Init2026pass")
    qtbot.keyClick(dialog.password_repeat, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("从业年限").text() == "“abc”不是有效数字"
    dialog.years.setText("7")
    qtbot.keyClick(dialog.password_repeat, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert not dialog.isVisible()
    assert page.staff_tab.model.rowCount() == 9
    assert page.staff_tab.current().username == "zhouqiang"
    row = page.staff_tab.model.row_of(page.staff_tab.selected_id)
    assert page.staff_tab.model.index(row, 9).data() == "待修改初始密码"

    ui.services.ctx.user = None
    user = ui.services.auth.login("zhouqiang", "Init2026pass")
    assert user.full_name == "周强" and user.must_change_password


def test_duplicate_username_differing_in_width_and_case_is_refused(qtbot, ui) -> None:
    page = _admin_page(qtbot, ui)
    dialog = page.staff_tab.new_staff()
    dialog.username.setText("ＺＨＡＮＧＷＥＩ")
    dialog.full_name.setText("张伟二")
    dialog.title.setCurrentIndex(dialog.title.findData("resident"))
    dialog.role_checks["doctor"].setChecked(True)
    dialog.password.setText("Init2026pass")
    dialog.password_repeat.setText("Init2026pass")
    dialog.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("用户名").text() == "用户名“zhangwei”已被使用"


def test_unqualified_expert_is_refused_with_rule_r13(qtbot, ui, seeded) -> None:
    page = _admin_page(qtbot, ui)
    tab = page.expert_tab
    assert tab.members.rowCount() == 3
    assert tab.rule_label.text().count("R13") == 1
    dialog: StaffChoiceDialog = tab.add_member()
    dialog.select_staff(seeded.attending_id)
    dialog.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert dialog.general_error.text() == "[R13] 刘洋 的职称为主治医师，专家组成员须具有副高及以上职称"
    assert dialog.isVisible() and tab.members.rowCount() == 3


def test_ecmo_lead_must_be_associate_chief_physician_r12(qtbot, ui, seeded) -> None:
    page = _admin_page(qtbot, ui)
    tab = page.expert_tab
    assert tab.lead_label.text() == "ECMO 技术负责人：未设定"
    dialog = tab.choose_lead()
    dialog.select_staff(seeded.nurse_id)
    dialog.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert dialog.general_error.text().startswith("[R12] ECMO 技术负责人须具有副主任医师及以上职称")
    dialog.select_staff(seeded.doctor_id)
    dialog.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert tab.lead_label.text() == "ECMO 技术负责人：张伟（副主任医师）"


def test_deactivate_needs_a_reason_and_account_stays_listed(qtbot, ui) -> None:
    page = _admin_page(qtbot, ui)
    _select(qtbot, page, "chenjing")
    dialog: StaffReasonDialog = page.staff_tab.toggle_active()
    dialog.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("原因").text() == "必填"
    dialog.reason.setText("调离本科室")
    dialog.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    row = page.staff_tab.model.row_of(page.staff_tab.selected_id)
    assert page.staff_tab.model.index(row, 9).data() == "已停用"
    assert page.staff_tab.active_button.text() == "启用…"


def test_locked_account_is_unlocked_by_the_admin(qtbot, ui) -> None:
    for _ in range(5):
        with pytest.raises(Exception):  # noqa: B017 - AuthenticationFailed, then AccountLocked
            ui.services.auth.login("chenjing", "wrong-password1")
    page = _admin_page(qtbot, ui)
    _select(qtbot, page, "chenjing")
    assert page.staff_tab.unlock_button.isEnabled()
    page.staff_tab.unlock_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert page.staff_tab.message.text() == "已解锁 陈静 的账户"
    ui.services.ctx.user = None
    assert ui.services.auth.login("chenjing", PASSWORD).username == "chenjing"


def test_grant_and_revoke_privilege_and_add_training(qtbot, ui) -> None:
    page = _admin_page(qtbot, ui)
    _select(qtbot, page, "wangfang")
    tab = page.staff_tab
    assert tab.privileges.rowCount() == 1
    revoke = tab.revoke()
    revoke.reason.setText("资质复审未通过")
    revoke.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert tab.privileges.index(0, 2).data() == "已撤销"
    grant = tab.grant()
    grant.note.setText("医务处〔2026〕3号")
    grant.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert tab.privileges.rowCount() == 2 and tab.privileges.index(0, 2).data() == "有效"
    training = tab.add_training()
    training.institution.setText("国家ECMO培训基地")
    training.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert tab.trainings.rowCount() == 1 and tab.trainings.index(0, 3).data() == "合格"


def test_audit_browser_lists_events_and_verifies_the_chain(qtbot, ui) -> None:
    page = _admin_page(qtbot, ui)
    page.tabs.setCurrentWidget(page.audit_tab)
    wait_tasks(qtbot, ui.tasks)
    model = page.audit_tab.model
    assert model.rowCount() > 10
    actions = {model.index(r, 4).data() for r in range(model.rowCount())}
    assert {"登录", "新建", "加入专家组", "授予ECMO权限"} <= actions
    page.audit_tab.verify_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert page.audit_tab.result_label.text().startswith("审计链完整：已核对")


def test_audit_browser_verify_names_a_row_edited_behind_the_apps_back(qtbot, ui, seeded) -> None:
    from sqlalchemy import text

    page = _admin_page(qtbot, ui)
    page.tabs.setCurrentWidget(page.audit_tab)
    wait_tasks(qtbot, ui.tasks)
    with seeded.container.uow.engine.begin() as conn:  # an insider renames an account in the database
        conn.execute(text("UPDATE staff SET full_name = '某人' WHERE id = :i"), {"i": seeded.nurse_id})
    qtbot.mouseClick(page.audit_tab.verify_button, Qt.MouseButton.LeftButton)
    wait_tasks(qtbot, ui.tasks)
    label = page.audit_tab.result_label
    assert label.text().startswith("记录与审计轨迹不符：1 处")
    assert f"staff #{seeded.nurse_id} full_name" in label.text()


def test_nurse_sees_no_admin_page_and_the_service_refuses_anyway(qtbot, ui) -> None:
    login_as(ui, qtbot, "chenjing")
    window = MainWindow(ui, ui.user)
    qtbot.addWidget(window)
    wait_tasks(qtbot, ui.tasks)
    keys = window.page_keys()
    assert keys[:2] == ["worklist", "cases"]  # the home page first
    assert not {"admin", "qc", "archive"} & set(keys)  # pages of other roles are not even listed
    assert window.show_page(NAV_ADMIN) is None
    assert not window.cases.register_button.isHidden()
    assert window.cases.new_run_button.isHidden()  # only doctors open runs
    with pytest.raises(PermissionDenied):
        ui.services.staff.create_staff(
            username="sneaky",
            full_name="某人",
            title="other",
            roles=["admin"],
            initial_password="Sneaky2026x",
        )
    with pytest.raises(PermissionDenied):
        ui.services.audit.recent()


def test_admin_sees_the_admin_page(qtbot, ui) -> None:
    login_as(ui, qtbot, "admin")
    window = MainWindow(ui, ui.user)
    qtbot.addWidget(window)
    keys = window.page_keys()
    assert keys[:2] == ["worklist", "cases"] and keys[-1] == "admin"
    assert {"qc", "archive"} <= set(keys)
    page = window.show_page(NAV_ADMIN)
    assert isinstance(page, AdminPage)
    wait_tasks(qtbot, ui.tasks)


def test_pages_register_through_add_page_with_roles(qtbot, ui) -> None:
    from PySide6.QtWidgets import QLabel

    login_as(ui, qtbot, "chenjing")
    window = MainWindow(ui, ui.user)
    qtbot.addWidget(window)
    before = window.page_keys()
    assert window.add_page("ward_extra", "附加", QLabel("extra"), {"nurse", "perfusionist"})
    assert not window.add_page("extra_admin", "管理附加", QLabel("x"), {"doctor", "records", "admin"})
    assert window.page_keys() == [*before, "ward_extra"]
    with pytest.raises(ValueError):
        window.add_page("ward_extra", "附加", QLabel("again"))
    wait_tasks(qtbot, ui.tasks)
