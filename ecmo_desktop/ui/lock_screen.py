"""The lock screen: covers everything; the same user unlocks, another user may log in (ACC-5).

It is a frameless, stay-on-top, application-modal window filling the screen, so patient data on
the windows below is hidden and unreachable. It only collects the password; the session
controller decides what an unlock or a change of user does to the windows underneath.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.enums import Role
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.domain.validation import username_key
from ecmo_desktop.i18n import _, join_names
from ecmo_desktop.ui.widgets.form import error_label


def role_names(user: CurrentUser) -> str:
    return join_names(Role(r).label for r in sorted(user.roles) if r in Role._value2member_map_)


class LockScreen(QWidget):
    """Emits ``unlock_requested(password)`` or ``switch_requested(username, password)``."""

    unlock_requested = Signal(str)
    switch_requested = Signal(str, str)

    def __init__(self, user: CurrentUser, parent: QWidget | None = None) -> None:
        super().__init__(
            parent,
            Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint,
        )
        self.user = user
        self.setObjectName("lock_screen")
        self.setWindowTitle(_("屏幕已锁定"))
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            "#lock_screen { background: #263238; } #lock_card { background: #fafafa; border-radius: 8px; }"
        )
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        card = QFrame()
        card.setObjectName("lock_card")
        card.setFixedWidth(520)
        row = QHBoxLayout()  # not addWidget(alignment=…): an aligned item loses height-for-width
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        column = QVBoxLayout(card)
        column.setContentsMargins(28, 24, 28, 24)
        title = QLabel(_("屏幕已锁定"))
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        title.setFont(font)
        column.addWidget(title)
        who = QLabel(
            _(
                "{name}（{roles}）已离开。点击密码框输入密码即可解锁，打开的窗口和未保存的内容都保持原样。"
            ).format(name=user.full_name, roles=role_names(user))
        )
        who.setWordWrap(True)
        column.addWidget(who)
        self.message = error_label()
        column.addWidget(self.message)
        form = QFormLayout()
        self.username = QLineEdit(user.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_("用户名"), self.username)
        form.addRow(_("密码"), self.password)
        column.addLayout(form)
        other = QLabel(
            _(
                "其他工作人员可输入自己的用户名和密码登录：{name} 未保存的内容将被封存，"
                "只在其本人再次登录后恢复。"
            ).format(name=user.full_name)
        )
        other.setWordWrap(True)
        other.setStyleSheet("color: #555;")
        column.addWidget(other)
        self.button = QPushButton(_("解锁"))
        self.button.setDefault(True)
        self.button.clicked.connect(self.submit)
        column.addWidget(self.button, 0, Qt.AlignmentFlag.AlignRight)
        self.password.returnPressed.connect(self.submit)
        self.username.returnPressed.connect(self.password.setFocus)
        self.username.textChanged.connect(self._username_changed)
        self.busy = False
        self.releasable = False  # only the session controller may close it

    def cover(self) -> None:
        """Cover every screen (a second monitor must not keep showing a patient) and take the keyboard."""
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            self.setGeometry(screen.virtualGeometry())
        self.show()
        self.raise_()
        self.activateWindow()
        # Focus starts on the button, not in a text field: a wedge scanner "typing" a barcode plus
        # Enter at a locked PC reaches no field, so it can neither land in a form nor count as a
        # wrong password towards the account lock-out. A person clicks (or tabs) into the field.
        self.button.setFocus()

    def is_same_user(self) -> bool:
        return username_key(self.username.text()) == username_key(self.user.username)

    def _username_changed(self) -> None:
        self.button.setText(_("解锁") if self.is_same_user() else _("切换用户登录"))

    def submit(self) -> None:
        if self.busy:
            return
        password = self.password.text()
        if not password:
            self.password.setFocus()
            return
        self.busy = True
        self.button.setEnabled(False)
        self.message.hide()
        if self.is_same_user():
            self.unlock_requested.emit(password)
        else:
            self.switch_requested.emit(self.username.text(), password)

    def failed(self, exc: BaseException) -> None:
        self.busy = False
        self.button.setEnabled(True)
        text = exc.user_message() if isinstance(exc, EcmoError) else _("无法解锁，请重试")
        self.message.setText(text)
        self.message.show()
        self.password.clear()
        self.password.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:  # Esc must not close the lock screen
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.releasable:
            event.accept()
        else:  # Alt+F4 or the window manager must not unlock the PC
            event.ignore()
