"""安全设置: the hospital-wide idle-lock timeout (ACC-5), set by an administrator.

Typed into a plain field (not a spin box, which would silently keep "4" of a typed "45"); the
service checks the bounds and its refusal, naming them, appears under the field.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.errors import ValidationError
from ecmo_desktop.domain.policy import IDLE_LOCK_FIELD, IDLE_LOCK_MINUTES, SecurityPolicy
from ecmo_desktop.i18n import _
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.errors import error_text
from ecmo_desktop.ui.widgets.form import error_label, field_message


class SettingsTab(QWidget):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        layout = QVBoxLayout(self)
        box = QGroupBox(_("安全设置"))
        form = QFormLayout(box)
        row = QHBoxLayout()
        self.idle_minutes = QLineEdit()
        self.idle_minutes.setObjectName("idle_lock_minutes")
        self.idle_minutes.setMaximumWidth(self.idle_minutes.fontMetrics().horizontalAdvance("0000") + 24)
        row.addWidget(self.idle_minutes)
        row.addWidget(QLabel(_("分钟")))
        self.save_button = QPushButton(_("保存"))
        self.save_button.setObjectName("save_idle_lock")
        row.addWidget(self.save_button)
        row.addStretch(1)
        column = QVBoxLayout()
        column.addLayout(row)
        self.message = error_label()
        self.message.setObjectName("idle_lock_message")
        column.addWidget(self.message)
        low, high = IDLE_LOCK_MINUTES
        hint = QLabel(
            _("无人操作超过此时间，本院所有电脑自动锁屏（可设 {low}–{high} 分钟；修改记入审计日志）").format(
                low=low, high=high
            )
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        column.addWidget(hint)
        form.addRow(_(IDLE_LOCK_FIELD), column)
        layout.addWidget(box)
        self.status = QLabel()
        self.status.setObjectName("settings_status")
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.save_button.clicked.connect(self.save)
        self.idle_minutes.returnPressed.connect(self.save)
        self.idle_minutes.textEdited.connect(lambda _t: self.message.hide())
        self.reload()

    def reload(self) -> None:
        self.ui.tasks.run_op(self.ui.services.auth.policy, self._show, parent=self)

    def _show(self, policy: SecurityPolicy) -> None:
        self.idle_minutes.setText(str(policy.idle_lock_minutes))

    def save(self) -> None:
        text = self.idle_minutes.text()
        auth = self.ui.services.auth
        self.save_button.setEnabled(False)
        self.message.hide()
        self.ui.tasks.run_op(
            lambda: auth.set_idle_lock_minutes(text),
            self._saved,
            self._failed,
            parent=self,
            changes=(Change.hospital(),),
        )

    def _saved(self, policy: SecurityPolicy) -> None:
        self.save_button.setEnabled(True)
        self._show(policy)
        self.status.setText(_("已保存：无人操作 {n} 分钟后自动锁屏").format(n=policy.idle_lock_minutes))

    def _failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(exc, ValidationError) and exc.errors:
            self.message.setText(field_message(exc.errors[0]))
        else:
            self.message.setText(error_text(exc))
        self.message.show()
        self.idle_minutes.setFocus()
