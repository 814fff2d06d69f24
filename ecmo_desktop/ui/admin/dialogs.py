"""Dialogs of the administration page; every check and refusal comes from ``StaffService``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from ecmo_desktop.domain.enums import Role, Title
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.domain.model import Staff
from ecmo_desktop.domain.time import BEIJING, to_local
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.dialogs.password import password_edit
from ecmo_desktop.ui.dialogs.patient import choice_combo, select_value
from ecmo_desktop.ui.models.staff_model import title_label
from ecmo_desktop.ui.widgets.dates import TypedDateEdit
from ecmo_desktop.ui.widgets.form import FormDialog

STAFF_CHANGES = (Change.staff(),)  # what the staff dialogs' operations change


def date_edit(value: date) -> QDateEdit:
    return TypedDateEdit(value)


def to_date(edit: QDateEdit) -> date:
    d = edit.date()
    return date(d.year(), d.month(), d.day())


def end_of_day_utc(day: date) -> datetime:
    """ "Valid until 3 March" means through the whole of that day, Beijing time."""
    return datetime.combine(day + timedelta(days=1), time(0), BEIJING).astimezone(UTC)


class StaffDialog(FormDialog):
    """Create an account (with an initial password) or edit one (optimistic version check)."""

    def __init__(self, ui: UiContext, staff: Staff | None = None, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("编辑人员") if staff else _("新建人员"), parent, ok_text=_("保存"))
        self.setObjectName("staff_dialog")
        self.staff = staff
        self.saved: Staff | None = None
        self.username = self.add_field(N_("用户名"), QLineEdit(staff.username if staff else ""))
        if staff is not None:
            self.username.setReadOnly(True)
        self.full_name = self.add_field(N_("姓名"), QLineEdit(staff.full_name if staff else ""))
        self.title = self.add_field(N_("职称"), choice_combo(Title.choices(), _("请选择")))
        self.department = self.add_field(N_("科室"), QLineEdit(staff.department if staff else ""))
        self.years = self.add_field(N_("从业年限"), QLineEdit(str(staff.years_in_practice) if staff else ""))
        self.years.setPlaceholderText(_("年"))
        roles_box = QWidget()
        grid = QGridLayout(roles_box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.role_checks: dict[str, QCheckBox] = {}
        for i, (value, label) in enumerate(Role.choices()):
            check = QCheckBox(label)
            check.setChecked(staff is not None and value in staff.roles)
            grid.addWidget(check, i // 3, i % 3)
            self.role_checks[value] = check
        self.add_field(N_("角色"), roles_box)
        self.trained = QCheckBox(_("已通过 ECMO 培训考核"))
        self.trained.setChecked(bool(staff and staff.ecmo_trained))
        self.form.addRow("", self.trained)
        self.password: QLineEdit | None = None
        self.password_repeat: QLineEdit | None = None
        if staff is None:
            self.password = self.add_field(N_("初始密码"), password_edit())
            self.password_repeat = self.add_field(N_("确认密码"), password_edit())
            self.errors.alias(N_("密码"), N_("初始密码"))
            self.set_intro(_("新账户首次登录时必须修改初始密码。"))
        else:
            select_value(self.title, staff.title)
        self.setMinimumWidth(480)

    def selected_roles(self) -> list[str]:
        return [value for value, check in self.role_checks.items() if check.isChecked()]

    def on_submit(self) -> None:
        staff_service = self.ui.services.staff
        values: dict[str, Any] = {
            "full_name": self.full_name.text(),
            "title": str(self.title.currentData() or ""),
            "department": self.department.text(),
            "years_in_practice": self.years.text(),
            "roles": self.selected_roles(),
            "ecmo_trained": self.trained.isChecked(),
        }
        if self.staff is None:
            assert self.password is not None and self.password_repeat is not None
            if self.password.text() != self.password_repeat.text():
                self.show_failure(ValidationError(FieldError(N_("确认密码"), N_("两次输入的密码不一致"))))
                return
            username, password = self.username.text(), self.password.text()
            self.submit(
                lambda: staff_service.create_staff(username=username, initial_password=password, **values),
                self._saved,
                changes=STAFF_CHANGES,
            )
        else:
            staff_id, version = self.staff.id, self.staff.version
            self.submit(
                lambda: staff_service.update_staff(staff_id, expected_version=version, **values),
                self._saved,
                changes=STAFF_CHANGES,
            )

    def _saved(self, staff: Staff) -> None:
        self.saved = staff
        self.accept()


class StaffReasonDialog(FormDialog):
    """Asks for the reason an action needs (deactivation, revocation, removal) and runs it."""

    def __init__(
        self,
        ui: UiContext,
        title: str,
        intro: str,
        action: Callable[[str], Any],
        parent: QWidget | None = None,
        *,
        ok_text: str | None = None,
        changes: tuple[Change, ...] = STAFF_CHANGES,
    ) -> None:
        super().__init__(ui, title, parent, ok_text=ok_text)
        self.setObjectName("reason_dialog")
        self._action = action
        self._changes = changes
        self.set_intro(intro)
        self.reason = self.add_field(N_("原因"), QLineEdit())
        self.setMinimumWidth(440)

    def on_submit(self) -> None:
        reason, action = self.reason.text(), self._action
        self.submit(lambda: action(reason), lambda _r: self.accept(), changes=self._changes)


class ResetPasswordDialog(FormDialog):
    def __init__(self, ui: UiContext, staff: Staff, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("重置密码"), parent, ok_text=_("重置"))
        self.staff = staff
        self.set_intro(_("为 {name} 设置临时密码。其下次登录时必须修改。").format(name=staff.full_name))
        self.password = self.add_field(N_("临时密码"), password_edit())
        self.repeat = self.add_field(N_("确认密码"), password_edit())
        self.errors.alias(N_("密码"), N_("临时密码"))
        self.setMinimumWidth(420)

    def on_submit(self) -> None:
        if self.password.text() != self.repeat.text():
            self.show_failure(ValidationError(FieldError(N_("确认密码"), N_("两次输入的密码不一致"))))
            return
        staff_service, staff_id, password = self.ui.services.staff, self.staff.id, self.password.text()
        self.submit(
            lambda: staff_service.reset_password(staff_id, password),
            lambda _r: self.accept(),
            changes=STAFF_CHANGES,
        )


class GrantPrivilegeDialog(FormDialog):
    """R3: ECMO operating privilege for a physician, optionally until a date."""

    def __init__(self, ui: UiContext, staff: Staff, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("授予 ECMO 手术权限"), parent, ok_text=_("授予"))
        self.staff = staff
        self.set_intro(
            _("授予 {name}（{title}）ECMO 置管/撤机手术权限。").format(
                name=staff.full_name, title=title_label(staff.title)
            )
        )
        today = to_local(ui.services.ctx.now()).date()
        self.limited = QCheckBox(_("设定有效期"))
        self.limited.setChecked(True)
        self.form.addRow("", self.limited)
        self.valid_until = self.add_field(
            N_("有效期至"),
            date_edit(
                today.replace(year=today.year + 1)
                if not (today.month == 2 and today.day == 29)
                else today + timedelta(days=365)
            ),
        )
        self.note = self.add_field(N_("备注"), QLineEdit())
        self.note.setPlaceholderText(_("例如：院内资质审核文号"))
        self.limited.toggled.connect(self.valid_until.setEnabled)
        self.setMinimumWidth(440)

    def on_submit(self) -> None:
        until = end_of_day_utc(to_date(self.valid_until)) if self.limited.isChecked() else None
        staff_service, staff_id, note = self.ui.services.staff, self.staff.id, self.note.text()
        self.submit(
            lambda: staff_service.grant_privilege(staff_id, valid_until=until, note=note),
            lambda _r: self.accept(),
            changes=STAFF_CHANGES,
        )


class TrainingDialog(FormDialog):
    """R14: an ECMO training course a person attended, and whether they passed its assessment."""

    def __init__(self, ui: UiContext, staff: Staff, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("添加培训记录"), parent, ok_text=_("保存"))
        self.staff = staff
        self.set_intro(_("{name} 的 ECMO 培训").format(name=staff.full_name))
        today = to_local(ui.services.ctx.now()).date()
        self.institution = self.add_field(N_("培训机构"), QLineEdit())
        self.start = self.add_field(N_("开始日期"), date_edit(today - timedelta(days=7)))
        self.end = self.add_field(N_("结束日期"), date_edit(today))
        self.assessed = QCheckBox(_("考核合格"))
        self.assessed.setChecked(True)
        self.form.addRow("", self.assessed)
        self.note = self.add_field(N_("备注"), QPlainTextEdit())
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(70)
        self.setMinimumWidth(460)

    def on_submit(self) -> None:
        staff_service, staff_id = self.ui.services.staff, self.staff.id
        add = partial(
            staff_service.add_training,
            staff_id,
            institution=self.institution.text(),
            start_date=to_date(self.start),
            end_date=to_date(self.end),
            assessed=self.assessed.isChecked(),
            note=self.note.toPlainText(),
        )
        self.submit(add, lambda _r: self.accept(), changes=STAFF_CHANGES)


class StaffChoiceDialog(FormDialog):
    """Pick a person and run an action on them (add to the expert group, make ECMO lead)."""

    def __init__(
        self,
        ui: UiContext,
        title: str,
        intro: str,
        staff: list[Staff],
        action: Callable[[int], Any],
        parent: QWidget | None = None,
        *,
        ok_text: str | None = None,
    ) -> None:
        super().__init__(ui, title, parent, ok_text=ok_text)
        self.setObjectName("staff_choice_dialog")
        self._action = action
        self.set_intro(intro)
        self.choice = QComboBox()
        for s in staff:
            self.choice.addItem(
                _("{name}（{title}，{years} 年）").format(
                    name=s.full_name, title=title_label(s.title), years=s.years_in_practice
                ),
                s.id,
            )
        self.add_field(N_("人员"), self.choice)
        self.setMinimumWidth(460)

    def select_staff(self, staff_id: int) -> None:
        select_value(self.choice, staff_id)

    def on_submit(self) -> None:
        staff_id = self.choice.currentData()
        if staff_id is None:
            return
        action = self._action
        self.submit(lambda: action(int(staff_id)), lambda _r: self.accept(), changes=STAFF_CHANGES)
