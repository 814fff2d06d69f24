"""The main window: navigation on the left, one page at a time, who/where in the status bar.

Pages are registered with ``add_page(key, title, widget, roles)``; a page whose roles the user
lacks is simply not added (and its services refuse anyway). Features that land later (devices,
QC) register their page the same way.

The status bar also shows the connection to the database (在线 / 离线 / 正在重新连接): background
refreshes that fail go there, never into message boxes; ``ChangeFeed`` keeps every list and open case
current with what the other ward PCs save.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QByteArray, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop import __version__
from ecmo_desktop.domain.enums import Role
from ecmo_desktop.domain.model import CurrentUser, Hospital, Patient, Run
from ecmo_desktop.i18n import LANGUAGES, N_, _, current_language
from ecmo_desktop.paths import resource_path
from ecmo_desktop.services.auth import DEMO_SETTING
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.admin.page import AdminPage
from ecmo_desktop.ui.case_list import CaseListPage
from ecmo_desktop.ui.case_view import CaseView
from ecmo_desktop.ui.change_feed import ChangeFeed
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices import DEVICES_PAGE_ROLES, DevicesPage
from ecmo_desktop.ui.dialogs.new_run import NewRunDialog
from ecmo_desktop.ui.dialogs.patient import PatientDialog
from ecmo_desktop.ui.dialogs.workstation import WorkstationSettingsDialog
from ecmo_desktop.ui.documents import ArchivePage
from ecmo_desktop.ui.drafts import Draft, DraftCapable
from ecmo_desktop.ui.home.worklist_page import WorklistPage  # due items + the shell's run list
from ecmo_desktop.ui.lock_screen import role_names
from ecmo_desktop.ui.qc import QC_ROLES, QcPage
from ecmo_desktop.ui.tasks import OFFLINE, ONLINE, RECONNECTING
from ecmo_desktop.ui.widgets.fit import ScreenFit

NAV_WORKLIST, NAV_CASES, NAV_DEVICES, NAV_QC, NAV_ADMIN = "worklist", "cases", "devices", "qc", "admin"
NAV_TITLES = {
    NAV_WORKLIST: N_("工作列表"),
    NAV_CASES: N_("病例"),
    NAV_DEVICES: N_("器械"),
    NAV_QC: N_("质控"),
    NAV_ADMIN: N_("管理"),
}


def icon(name: str) -> QIcon:
    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.exists() else QIcon()


class MainWindow(ScreenFit, QMainWindow):
    lock_requested = Signal()
    logout_requested = Signal()
    change_password_requested = Signal()
    quit_requested = Signal()

    def __init__(self, ui: UiContext, user: CurrentUser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.user = user
        self.closing_for_session = False
        self.hospital: Hospital | None = None
        self.case_views: dict[int, CaseView] = {}
        self._pages: dict[str, tuple[QListWidgetItem, QWidget]] = {}
        self.setObjectName("main_window")
        self.setWindowTitle(_("ECMO Ward"))
        self.setWindowIcon(icon("app"))
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setIconSize(QSize(22, 22))
        self.nav.setFixedWidth(max(132, self.nav.fontMetrics().horizontalAdvance("工作列表") + 72))
        self.nav.setStyleSheet(
            "#nav { background: #eceff1; border: none; border-right: 1px solid #cfd8dc;"
            " outline: 0; }"
            "#nav::item { padding: 10px 8px; border-left: 4px solid transparent; }"
            "#nav::item:selected { background: #d0e2f7; color: #0d47a1;"
            " border-left: 4px solid #1565c0; }"
            "#nav::item:hover:!selected { background: #e1e8ed; }"
        )
        self.stack = QStackedWidget()
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(self._nav_changed)

        self.worklist = WorklistPage(ui, open_case=self.open_case)
        self.cases = CaseListPage(
            ui, open_case=self.open_case, register_patient=self.register_patient, new_run=self.new_run
        )
        self.add_page(NAV_WORKLIST, _(NAV_TITLES[NAV_WORKLIST]), self.worklist, None, icon_name="worklist")
        self.add_page(NAV_CASES, _(NAV_TITLES[NAV_CASES]), self.cases, None, icon_name="cases")
        self.add_page(
            NAV_DEVICES,
            _(NAV_TITLES[NAV_DEVICES]),
            LazyPage(lambda: DevicesPage(ui)),
            DEVICES_PAGE_ROLES,
            icon_name="devices",
        )
        self.add_page(NAV_QC, _(NAV_TITLES[NAV_QC]), LazyPage(lambda: QcPage(ui)), QC_ROLES, icon_name="qc")
        self.add_page(
            "archive",
            _("病历归档"),
            LazyPage(lambda: ArchivePage(ui)),
            {Role.RECORDS.value, Role.ADMIN.value},
            icon_name="archive",
        )
        self.add_page(
            NAV_ADMIN,
            _(NAV_TITLES[NAV_ADMIN]),
            LazyPage(lambda: AdminPage(ui)),
            {Role.ADMIN.value},
            icon_name="admin",
        )
        self._build_menus()
        self._build_status_bar()
        geometry = ui.settings.load().window_geometry
        if not geometry or not self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii"))):
            self._default_geometry()
        runs = ui.services.runs
        ui.tasks.run_op(runs.hospital, self._hospital_loaded, parent=self)
        self.feed = ChangeFeed(ui, parent=self)

    def _default_geometry(self) -> None:
        """First start on this PC: most of the screen, centred (ward PCs have 1366×768 and up)."""
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 800)
            return
        area = screen.availableGeometry()
        width, height = min(1400, int(area.width() * 0.9)), min(900, int(area.height() * 0.9))
        self.setGeometry(
            area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2, width, height
        )

    # ---- pages ----------------------------------------------------------------------------------
    def add_page(
        self,
        key: str,
        title: str,
        widget: QWidget,
        roles: Iterable[str] | None = None,
        *,
        icon_name: str | None = None,
    ) -> bool:
        """Register a navigation page; returns False (page not added) when the user's roles lack it."""
        if key in self._pages:
            raise ValueError(f"page {key!r} registered twice")
        if roles is not None and not (set(roles) & set(self.user.roles)):
            widget.deleteLater()
            return False
        item = QListWidgetItem(icon(icon_name) if icon_name else QIcon(), title)
        item.setData(Qt.ItemDataRole.UserRole, key)
        self.nav.addItem(item)
        self.stack.addWidget(widget)
        self._pages[key] = (item, widget)
        if self.nav.currentRow() < 0:
            self.nav.setCurrentRow(0)
        return True

    def has_page(self, key: str) -> bool:
        return key in self._pages

    def page(self, key: str) -> QWidget | None:
        entry = self._pages.get(key)
        if entry is None:
            return None
        widget = entry[1]
        return widget.content() if isinstance(widget, LazyPage) else widget

    def page_keys(self) -> list[str]:
        return [str(self.nav.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.nav.count())]

    def show_page(self, key: str) -> QWidget | None:
        entry = self._pages.get(key)
        if entry is None:
            return None
        self.nav.setCurrentItem(entry[0])
        return self.page(key)

    def _nav_changed(self, row: int) -> None:
        if row < 0:
            return
        key = str(self.nav.item(row).data(Qt.ItemDataRole.UserRole))
        widget = self._pages[key][1]
        if isinstance(widget, LazyPage):
            widget.content()
        self.stack.setCurrentWidget(widget)

    # ---- menus and status -----------------------------------------------------------------------
    def _build_menus(self) -> None:
        system = self.menuBar().addMenu(_("系统(&S)"))
        self.lock_action = QAction(_("锁定屏幕"), self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.triggered.connect(self.lock_requested.emit)
        system.addAction(self.lock_action)
        password = QAction(_("修改密码…"), self)
        password.triggered.connect(self.change_password_requested.emit)
        system.addAction(password)
        logout = QAction(_("注销"), self)
        logout.triggered.connect(self.logout_requested.emit)
        system.addAction(logout)
        system.addSeparator()
        self.workstation_action = QAction(_("本机设置…"), self)
        self.workstation_action.setObjectName("workstation_settings_action")
        self.workstation_action.triggered.connect(lambda _checked=False: self.workstation_settings())
        system.addAction(self.workstation_action)
        language = system.addMenu(_("切换语言 / Language"))
        group = QActionGroup(self)
        for code, name in LANGUAGES.items():
            action = QAction(name, self, checkable=True)
            action.setChecked(code == current_language())
            action.triggered.connect(lambda _checked=False, c=code: self.set_language(c))
            group.addAction(action)
            language.addAction(action)
        system.addSeparator()
        quit_action = QAction(_("退出"), self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        system.addAction(quit_action)

        cases = self.menuBar().addMenu(_("病例(&C)"))
        find = QAction(_("查找病例"), self)
        find.setShortcut(QKeySequence("Ctrl+F"))
        find.triggered.connect(self.focus_search)
        cases.addAction(find)
        self.register_action = QAction(_("登记患者…"), self)
        self.register_action.setShortcut(QKeySequence("Ctrl+N"))
        self.register_action.triggered.connect(lambda: self.register_patient())
        self.register_action.setEnabled(self.ui.can(Action.REGISTER_PATIENT))
        cases.addAction(self.register_action)
        new_run = QAction(_("新建ECMO病例…"), self)
        new_run.triggered.connect(lambda: self.new_run())
        new_run.setEnabled(self.ui.can(Action.OPEN_RUN))
        cases.addAction(new_run)

        help_menu = self.menuBar().addMenu(_("帮助(&H)"))
        about = QAction(_("关于 ECMO Ward"), self)
        about.triggered.connect(self.about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.user_label = QLabel(
            _("用户：{name}（{roles}）").format(name=self.user.full_name, roles=role_names(self.user))
        )
        self.db_label = QLabel(_("数据库：{db}").format(db=self.ui.database_label))
        self.hospital_label = QLabel()
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connection_status")
        for label in (self.connection_label, self.user_label, self.db_label, self.hospital_label):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)
        self._show_connection(self.ui.tasks.connection)
        self.ui.tasks.connection_changed.connect(self._show_connection)

    def _show_connection(self, state: str) -> None:
        text, color = {
            ONLINE: (_("● 在线"), "#2e7d32"),
            OFFLINE: (_("● 离线：无法连接数据库"), "#c62828"),
            RECONNECTING: (_("● 正在重新连接…"), "#ef6c00"),
        }.get(state, (state, "#555"))
        self.connection_label.setText(text)
        self.connection_label.setStyleSheet(f"color: {color};")

    def _hospital_loaded(self, hospital: Hospital | None) -> None:
        self.hospital = hospital
        if hospital is not None:
            self.hospital_label.setText(hospital.name)
            title = _("ECMO Ward — {hospital}").format(hospital=hospital.name)
            if (hospital.settings or {}).get(DEMO_SETTING) is True:
                title += " — " + _("演示数据")  # nobody mistakes demo cases for the ward's record
            self.setWindowTitle(title)

    def set_language(self, code: str) -> None:
        self.ui.settings.update(language=code)
        if code == current_language():
            return
        box = QMessageBox(
            QMessageBox.Icon.Information,
            _("切换语言"),
            _("界面语言已设为 {name}，重新启动程序后生效。").format(name=LANGUAGES[code]),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def workstation_settings(self) -> WorkstationSettingsDialog:
        """This PC's own settings (the scanner's burst gap); non-blocking like every dialog here."""
        dialog = WorkstationSettingsDialog(self.ui, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def about(self) -> QMessageBox:
        """Non-blocking: a nested event loop must not be running when the session changes hands."""
        box = QMessageBox(
            QMessageBox.Icon.Information,
            _("关于 ECMO Ward"),
            _("ECMO Ward {version}\n\nECMO 病例记录与一次性耗材追溯（离线桌面版）。\n数据库：{db}").format(
                version=__version__, db=self.ui.database_label
            ),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setIconPixmap(self.windowIcon().pixmap(64, 64))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    # ---- cases and dialogs ----------------------------------------------------------------------
    def focus_search(self) -> None:
        self.show_page(NAV_CASES)
        self.cases.focus_search()

    def open_case(self, run_id: int) -> CaseView:
        view = self.case_views.get(run_id)
        if view is None:
            view = CaseView(self.ui, run_id, self)
            self.case_views[run_id] = view
            frame = self.geometry()
            offset = 28 * (len(self.case_views) - 1)
            view.move(
                frame.x() + max(0, (frame.width() - view.width()) // 2) + offset,
                frame.y() + max(0, (frame.height() - view.height()) // 2) + offset,
            )
            view.destroyed.connect(lambda _o=None, r=run_id: self.case_views.pop(r, None))
        view.show()
        view.raise_()
        view.activateWindow()
        return view

    def register_patient(self, draft: Draft | None = None) -> PatientDialog | None:
        if not self.ui.can(Action.REGISTER_PATIENT):
            return None
        dialog = PatientDialog(self.ui, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if draft:
            dialog.restore_draft(draft)
        dialog.registered.connect(self._registered)
        dialog.open()
        return dialog

    def _registered(self, patient: Patient, then_new_run: bool) -> None:
        self.statusBar().showMessage(
            _("已登记患者 {name}（{mrn}）").format(name=patient.name, mrn=patient.mrn), 8000
        )
        if then_new_run:
            self.new_run(patient)

    def new_run(self, patient: Patient | None = None, draft: Draft | None = None) -> NewRunDialog | None:
        if not self.ui.can(Action.OPEN_RUN):
            return None
        dialog = NewRunDialog(self.ui, self, patient=patient)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if draft:
            dialog.restore_draft(draft)
        dialog.opened.connect(lambda run: self._run_opened(run))
        dialog.open()
        return dialog

    def _run_opened(self, run: Run) -> None:
        self.open_case(run.id)

    def draftables(self) -> list[DraftCapable]:
        """Open dialogs whose typed input is kept as a draft when the session changes hands."""
        return [w for w in self.findChildren(QWidget) if isinstance(w, DraftCapable) and w.isVisible()]

    def restore_drafts(self, drafts: dict[str, Draft]) -> None:
        openers = {
            PatientDialog.draft_key: lambda d: self.register_patient(d),
            NewRunDialog.draft_key: lambda d: self.new_run(None, d),
        }
        for key, data in drafts.items():
            opener = openers.get(key)
            if opener is not None:
                opener(data)

    # ---- closing --------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        self.ui.settings.update(window_geometry=geometry)
        self.feed.timer.stop()
        event.accept()
        if not self.closing_for_session:
            self.quit_requested.emit()


class LazyPage(QWidget):
    """Builds its content the first time it is shown (the admin page reads staff and audit)."""

    def __init__(self, build: Callable[[], QWidget]) -> None:
        super().__init__()
        self._build = build
        self._content: QWidget | None = None
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)

    def content(self) -> QWidget:
        if self._content is None:
            self._content = self._build()
            self._column.addWidget(self._content)
        return self._content
