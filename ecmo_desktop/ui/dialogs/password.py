"""Changing one's own password; forced after an initial or reset password (C5, ACC-4)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QWidget

from ecmo_desktop.domain.errors import AccountLocked, AuthenticationFailed
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.widgets.form import FormDialog


def password_edit() -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


class ChangePasswordDialog(FormDialog):
    def __init__(self, ui: UiContext, parent: QWidget | None = None, *, forced: bool = False) -> None:
        super().__init__(ui, _("修改密码"), parent, ok_text=_("保存新密码"))
        self.forced = forced
        if forced:
            self.set_intro(_("这是初始密码或管理员重置的密码，请先设置您自己的新密码再继续使用。"))
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("注销"))
        self.old = self.add_field(N_("原密码"), password_edit())
        self.new = self.add_field(N_("新密码"), password_edit())
        self.repeat = self.add_field(N_("确认密码"), password_edit())
        self.errors.alias(N_("密码"), N_("新密码"))
        self.new.setToolTip(
            _("至少 {n} 位，须同时包含字母和数字，且不能包含用户名").format(
                n=ui.services.ctx.policy.min_password_length
            )
        )
        self.setMinimumWidth(420)

    def on_submit(self) -> None:
        old, new, repeat = self.old.text(), self.new.text(), self.repeat.text()
        auth = self.ui.services.auth
        self.submit(lambda: auth.change_password(old, new, repeat), lambda _r: self.accept())

    def show_failure(self, exc: BaseException) -> None:
        if isinstance(exc, AuthenticationFailed) and not isinstance(exc, AccountLocked):
            label = self.errors.label_for(N_("原密码"))
            if label is not None:
                self.errors.clear()
                label.setText(exc.user_message())
                label.show()
                self.old.selectAll()
                self.old.setFocus()
                return
        super().show_failure(exc)
