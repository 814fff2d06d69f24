"""First start on a new database: the hospital's profile and the first administrator.

The wizard only collects text; ``AuthService.first_run_setup`` validates everything and refuses
once the hospital exists. A refused field is shown beside the field, on its page.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.model import Hospital
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.widgets.fit import ScreenFit
from ecmo_desktop.ui.widgets.form import FieldErrors, error_label

# Inner Mongolia's leagues and cities; any other city can be typed in.
CITIES = (
    "呼和浩特市",
    "包头市",
    "乌海市",
    "赤峰市",
    "通辽市",
    "鄂尔多斯市",
    "呼伦贝尔市",
    "巴彦淖尔市",
    "乌兰察布市",
    "兴安盟",
    "锡林郭勒盟",
    "阿拉善盟",
)

PAGE_INTRO, PAGE_HOSPITAL, PAGE_ADMIN = 0, 1, 2


if TYPE_CHECKING:  # the services module (and its ports) load behind the login window (issue 15)
    from ecmo_desktop.services.auth import SetupResult


class _Page(QWizardPage):
    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.column = QVBoxLayout(self)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.column.addLayout(self.form)


class FirstRunWizard(ScreenFit, QWizard):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.result_value: SetupResult | None = None
        self._done = False
        self._busy = False
        self.setWindowTitle(_("ECMO Ward 初始设置"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.NextButton, _("下一步"))
        self.setButtonText(QWizard.WizardButton.BackButton, _("上一步"))
        self.setButtonText(QWizard.WizardButton.FinishButton, _("完成"))
        self.setButtonText(QWizard.WizardButton.CancelButton, _("取消"))
        self.general_error = error_label()
        self.errors = FieldErrors(self.general_error)
        self._field_pages: dict[str, int] = {}

        intro = _Page(_("欢迎使用 ECMO Ward"), _("这台电脑上的数据库还没有设置。"))
        text = QLabel(
            _(
                "接下来请：\n"
                "1. 填写本院信息；\n"
                "2. 创建第一位系统管理员；\n"
                "3. 以管理员登录，在“管理”中为医生、护士等创建各自的账户，授予 ECMO "
                "手术权限并设置专家组。\n\n"
                "每位工作人员都应使用自己的账户登录，不得共用账户。"
            )
        )
        text.setWordWrap(True)
        intro.column.addWidget(text)
        intro.column.addSpacing(16)
        where = QLabel(_("数据将保存在：{db}").format(db=ui.database_label or "—"))
        where.setWordWrap(True)
        where.setStyleSheet("color: #555;")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        intro.column.addWidget(where)
        intro.column.addStretch(1)

        hospital = _Page(_("医院信息"), _("这些信息会出现在知情同意书、手术记录和质控报表中。"))
        self.hospital_name = QLineEdit()
        self.hospital_code = QLineEdit()
        self.hospital_code.setPlaceholderText(_("医疗机构代码"))
        self.city = QComboBox()
        self.city.setEditable(True)
        self.city.addItems(CITIES)
        self.city.setCurrentIndex(-1)
        city_edit = self.city.lineEdit()
        assert city_edit is not None  # an editable combo has its line edit
        city_edit.setPlaceholderText(_("选择或输入"))
        self._row(hospital, PAGE_HOSPITAL, N_("医院名称"), self.hospital_name)
        self._row(hospital, PAGE_HOSPITAL, N_("医院代码"), self.hospital_code)
        self._row(hospital, PAGE_HOSPITAL, N_("城市/盟市"), self.city)
        hospital.column.addStretch(1)

        admin = _Page(_("首位管理员"), _("密码至少 8 位，须同时包含字母和数字，且不能包含用户名。"))
        self.username = QLineEdit()
        self.username.setPlaceholderText(_("英文字母、数字或 . _ -"))
        self.full_name = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_repeat = QLineEdit()
        self.password_repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self._row(admin, PAGE_ADMIN, N_("用户名"), self.username)
        self._row(admin, PAGE_ADMIN, N_("姓名"), self.full_name)
        self._row(admin, PAGE_ADMIN, N_("密码"), self.password)
        self._row(admin, PAGE_ADMIN, N_("确认密码"), self.password_repeat)
        admin.column.addWidget(self.general_error)
        admin.column.addStretch(1)

        self.setPage(PAGE_INTRO, intro)
        self.setPage(PAGE_HOSPITAL, hospital)
        self.setPage(PAGE_ADMIN, admin)
        self.resize(600, 430)

    def _row(self, page: _Page, page_id: int, label: str, widget: QWidget) -> None:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        message = error_label()
        column.addWidget(message)
        page.form.addRow(_(label), box)
        self.errors.bind(label, widget, message)
        self._field_pages[label] = page_id

    @property
    def hospital(self) -> Hospital | None:
        return self.result_value.hospital if self.result_value else None

    def validateCurrentPage(self) -> bool:
        if self.currentId() != PAGE_ADMIN or self._done:
            return True
        self._submit()
        return False  # the wizard closes itself when the service has accepted

    def _submit(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        self.errors.clear()
        setup = partial(
            self.ui.services.auth.first_run_setup,
            hospital_name=self.hospital_name.text(),
            hospital_code=self.hospital_code.text(),
            city=self.city.currentText(),
            admin_username=self.username.text(),
            admin_full_name=self.full_name.text(),
            admin_password=self.password.text(),
            admin_password_repeat=self.password_repeat.text(),
        )
        self.ui.tasks.run_op(
            setup, self._succeeded, self._failed, parent=self, changes=(Change.hospital(), Change.staff())
        )

    def _succeeded(self, result: SetupResult) -> None:
        self._busy = False
        self.result_value = result
        self._done = True
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        if not isinstance(exc, EcmoError):
            self.ui.tasks.default_error(self, exc)
            return
        widget = self.errors.show(exc)
        if widget is None:
            return
        field = self.errors.field_of(widget)
        target = self._field_pages.get(field or "", PAGE_ADMIN)
        while self.currentId() > target:
            self.back()
        widget.setFocus()
