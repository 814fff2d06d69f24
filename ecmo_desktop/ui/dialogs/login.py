"""Login: each person with their own account (ACC-1); wrong password, lock-out and deactivated
accounts each get their own message from the service (ACC-4)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QLineEdit, QWidget

from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.widgets.form import FormDialog


class LoginDialog(FormDialog):
    confirm_discard = False  # closing the log-in loses no record

    def __init__(self, ui: UiContext, parent: QWidget | None = None, *, username: str = "") -> None:
        super().__init__(ui, _("ECMO Ward 登录"), parent, ok_text=_("登录"))
        self.user: CurrentUser | None = None
        heading = QLabel(_("ECMO Ward"))
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        heading.setFont(font)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.insertWidget(0, heading)
        self.hospital = QLabel()
        self.hospital.setObjectName("login_hospital")
        self.hospital.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.insertWidget(1, self.hospital)
        # which hospital's database this is, before anyone logs in (read off the GUI thread, once the
        # database is open: it may still be opening behind this window, app.py)
        self.hospital.setText(_("正在打开数据库…"))
        services = ui.services
        ui.tasks.run_op(lambda: services.auth.hospital_name(), self.hospital.setText, parent=self)
        self.set_intro(_("请使用您本人的账户登录。账户不得借给他人使用。"))
        self.username = QLineEdit(username or ui.settings.load().last_username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_field(N_("用户名"), self.username)
        self.add_field(N_("密码"), self.password)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("退出"))
        if ui.database_label:
            where = QLabel(_("数据库：{db}").format(db=ui.database_label))
            where.setStyleSheet("color: #777;")
            where.setWordWrap(True)
            self.add_body(where)
        self.setMinimumWidth(420)
        (self.password if self.username.text() else self.username).setFocus()

    def on_submit(self) -> None:
        username, password = self.username.text(), self.password.text()
        services = self.ui.services  # looked up on the worker: queued behind the opening of the database
        self.submit(lambda: services.auth.login(username, password), self._logged_in)

    def _logged_in(self, user: CurrentUser) -> None:
        self.user = user
        self.ui.settings.update(last_username=user.username)
        self.accept()

    def show_failure(self, exc: BaseException) -> None:
        if isinstance(exc, EcmoError):
            self.errors.show_general(exc.user_message())
            self.password.clear()
            self.password.setFocus()
            return
        super().show_failure(exc)
