"""The administration page (admin role): staff and privileges, expert group, audit trail.

The page is only registered for administrators, and ``StaffService`` refuses every one of these
actions to anyone else anyway (ACC-2): hiding is a convenience, not the protection.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.model import (
    ExpertMembership,
    Hospital,
    Privilege,
    Staff,
    TrainingRecord,
)
from ecmo_desktop.domain.rules import expert_group_complete
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.audit import RecordVerification
from ecmo_desktop.ui.admin.dialogs import (
    GrantPrivilegeDialog,
    ResetPasswordDialog,
    StaffChoiceDialog,
    StaffDialog,
    StaffReasonDialog,
    TrainingDialog,
)
from ecmo_desktop.ui.admin.settings_tab import SettingsTab
from ecmo_desktop.ui.admin.staffing_panel import StaffingPanel
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.models.audit_model import BROWSER_COLUMNS, CHANGE, AuditEventModel
from ecmo_desktop.ui.models.list_model import ListTableModel
from ecmo_desktop.ui.models.staff_model import StaffModel, title_label
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths


def _button(text: str, slot: object) -> QPushButton:
    button = QPushButton(text)
    button.clicked.connect(slot)
    return button


def _privilege_state(p: Privilege, now: datetime) -> str:
    if p.revoked_at is not None:
        return _("已撤销")
    if p.valid_at(now):
        return _("有效")
    if p.valid_until is not None and now >= p.valid_until:
        return _("已过期")
    return _("未生效")


class StaffTab(QWidget):
    """Accounts, with the selected person's ECMO privileges (R3) and training records (R14)."""

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.selected_id: int | None = None
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.new_button = _button(_("新建人员…"), self.new_staff)
        self.edit_button = _button(_("编辑…"), self.edit_staff)
        self.active_button = _button(_("停用…"), self.toggle_active)
        self.unlock_button = _button(_("解锁账户"), self.unlock)
        self.reset_button = _button(_("重置密码…"), self.reset_password)
        for b in (
            self.new_button,
            self.edit_button,
            self.active_button,
            self.unlock_button,
            self.reset_button,
        ):
            bar.addWidget(b)
        bar.addStretch(1)
        self.message = QLabel()
        self.message.setStyleSheet("color: #2e7d32;")
        bar.addWidget(self.message)
        layout.addLayout(bar)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.model = StaffModel(self)
        self.table = make_table(self.model)
        self.table.setObjectName("staff_table")
        set_column_widths(self.table, [12, 8, 10, 10, 7, 14, 8, 8, 6, 10])
        self.table.doubleClicked.connect(lambda _i: self.edit_staff())
        splitter.addWidget(self.table)

        details = QTabWidget()
        privileges = QWidget()
        pcol = QVBoxLayout(privileges)
        pbar = QHBoxLayout()
        self.grant_button = _button(_("授予权限…"), self.grant)
        self.revoke_button = _button(_("撤销权限…"), self.revoke)
        pbar.addWidget(self.grant_button)
        pbar.addWidget(self.revoke_button)
        pbar.addStretch(1)
        pcol.addLayout(pbar)
        now = ui.services.ctx.now
        self.privileges: ListTableModel[Privilege] = ListTableModel(
            [
                (N_("授权时间"), lambda p: format_local(p.granted_at)),
                (N_("有效期至"), lambda p: format_local(p.valid_until) or _("长期")),
                (N_("状态"), lambda p: _privilege_state(p, now())),
                (N_("撤销时间"), lambda p: format_local(p.revoked_at)),
                (N_("备注"), lambda p: p.note),
            ],
            self,
        )
        self.privilege_table = make_table(self.privileges)
        set_column_widths(self.privilege_table, [17, 17, 8, 17])
        pcol.addWidget(self.privilege_table)
        details.addTab(privileges, _("ECMO 手术权限"))
        trainings = QWidget()
        tcol = QVBoxLayout(trainings)
        tbar = QHBoxLayout()
        self.training_button = _button(_("添加培训记录…"), self.add_training)
        tbar.addWidget(self.training_button)
        tbar.addStretch(1)
        tcol.addLayout(tbar)
        self.trainings: ListTableModel[TrainingRecord] = ListTableModel(
            [
                (N_("培训机构"), lambda t: t.institution),
                (N_("开始日期"), lambda t: t.start_date.isoformat()),
                (N_("结束日期"), lambda t: t.end_date.isoformat()),
                (N_("考核"), lambda t: _("合格") if t.assessed else _("未考核/不合格")),
                (N_("备注"), lambda t: t.note),
            ],
            self,
        )
        self.training_table = make_table(self.trainings)
        set_column_widths(self.training_table, [20, 11, 11, 12])
        tcol.addWidget(self.training_table)
        details.addTab(trainings, _("培训记录"))
        self.details_box = QGroupBox()
        box_layout = QVBoxLayout(self.details_box)
        box_layout.addWidget(details)
        splitter.addWidget(self.details_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._select(cur.row()))
        self._update_buttons()

    # ---- loading --------------------------------------------------------------------------------
    def set_staff(self, staff: list[Staff]) -> None:
        keep = self.selected_id
        self.model.set_rows(staff)
        row = self.model.row_of(keep) if keep is not None else -1
        if row < 0 and staff:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
            self._select(row)
        else:
            self._select(-1)

    def current(self) -> Staff | None:
        return self.model.row(self.model.row_of(self.selected_id)) if self.selected_id is not None else None

    def _select(self, row: int) -> None:
        staff = self.model.row(row)
        self.selected_id = staff.id if staff else None
        self._update_buttons()
        if staff is None:
            self.details_box.setTitle(_("未选择人员"))
            self.privileges.set_rows([])
            self.trainings.set_rows([])
            return
        self.details_box.setTitle(
            _("{name}（{title}）").format(name=staff.full_name, title=title_label(staff.title))
        )
        service, staff_id = self.ui.services.staff, staff.id
        self.ui.tasks.run_op(
            lambda: (service.privileges(staff_id), service.trainings(staff_id)),
            lambda result: self._details(staff_id, result),
            parent=self,
        )

    def _details(self, staff_id: int, result: tuple[list[Privilege], list[TrainingRecord]]) -> None:
        if staff_id != self.selected_id:
            return
        privileges, trainings = result
        self.privileges.set_rows(sorted(privileges, key=lambda p: p.granted_at, reverse=True))
        self.trainings.set_rows(sorted(trainings, key=lambda t: t.start_date, reverse=True))

    def _update_buttons(self) -> None:
        staff = self.current()
        for b in (
            self.edit_button,
            self.active_button,
            self.unlock_button,
            self.reset_button,
            self.grant_button,
            self.revoke_button,
            self.training_button,
        ):
            b.setEnabled(staff is not None)
        if staff is not None:
            self.active_button.setText(_("停用…") if staff.active else _("启用…"))
            self.unlock_button.setEnabled(staff.locked)

    # ---- actions --------------------------------------------------------------------------------
    def new_staff(self) -> StaffDialog:
        dialog = StaffDialog(self.ui, None, self)
        dialog.accepted.connect(lambda: self._select_after_save(dialog))
        dialog.open()
        return dialog

    def _select_after_save(self, dialog: StaffDialog) -> None:
        if dialog.saved is not None:
            self.selected_id = dialog.saved.id
            self.message.setText(_("已保存 {name}").format(name=dialog.saved.full_name))

    def edit_staff(self) -> StaffDialog | None:
        staff = self.current()
        if staff is None:
            return None
        dialog = StaffDialog(self.ui, staff, self)
        dialog.accepted.connect(lambda: self._select_after_save(dialog))
        dialog.open()
        return dialog

    def toggle_active(self) -> StaffReasonDialog | None:
        staff = self.current()
        if staff is None:
            return None
        service, staff_id, activate = self.ui.services.staff, staff.id, not staff.active
        if activate:
            title, intro = _("启用账户"), _("重新启用 {name} 的账户。").format(name=staff.full_name)
        else:
            title = _("停用账户")
            intro = _("停用后 {name} 不能再登录；其已有的记录和签名保留（账户不会被删除）。").format(
                name=staff.full_name
            )
        dialog = StaffReasonDialog(
            self.ui,
            title,
            intro,
            lambda reason: service.set_active(staff_id, activate, reason=reason),
            self,
            ok_text=title,
        )
        dialog.open()
        return dialog

    def unlock(self) -> None:
        staff = self.current()
        if staff is None:
            return
        service, staff_id, name = self.ui.services.staff, staff.id, staff.full_name
        self.ui.tasks.run_op(
            lambda: service.unlock_account(staff_id),
            lambda _r: self.message.setText(_("已解锁 {name} 的账户").format(name=name)),
            parent=self,
            changes=(Change.staff(),),
        )

    def reset_password(self) -> ResetPasswordDialog | None:
        staff = self.current()
        if staff is None:
            return None
        dialog = ResetPasswordDialog(self.ui, staff, self)
        dialog.open()
        return dialog

    def grant(self) -> GrantPrivilegeDialog | None:
        staff = self.current()
        if staff is None:
            return None
        dialog = GrantPrivilegeDialog(self.ui, staff, self)
        dialog.open()
        return dialog

    def revoke(self) -> StaffReasonDialog | None:
        staff = self.current()
        if staff is None:
            return None
        now = self.ui.services.ctx.now()
        active = [p for p in self.privileges.rows() if p.revoked_at is None and p.valid_at(now)]
        if not active:
            self.message.setText(_("{name} 当前没有有效的 ECMO 手术权限").format(name=staff.full_name))
            return None
        service, privilege_id = self.ui.services.staff, active[0].id
        dialog = StaffReasonDialog(
            self.ui,
            _("撤销 ECMO 手术权限"),
            _("撤销 {name} 自 {since} 起的 ECMO 手术权限。").format(
                name=staff.full_name, since=format_local(active[0].granted_at)
            ),
            lambda reason: service.revoke_privilege(privilege_id, reason=reason),
            self,
            ok_text=_("撤销"),
        )
        dialog.open()
        return dialog

    def add_training(self) -> TrainingDialog | None:
        staff = self.current()
        if staff is None:
            return None
        dialog = TrainingDialog(self.ui, staff, self)
        dialog.open()
        return dialog


class ExpertTab(QWidget):
    """The ECMO expert group (R13) and the ECMO lead (R12)."""

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.staff: list[Staff] = []
        layout = QVBoxLayout(self)
        lead_row = QHBoxLayout()
        self.lead_label = QLabel()
        lead_row.addWidget(self.lead_label, 1)
        self.lead_button = _button(_("设定技术负责人…"), self.choose_lead)
        lead_row.addWidget(self.lead_button)
        layout.addLayout(lead_row)
        self.rule_label = QLabel()
        self.rule_label.setWordWrap(True)
        layout.addWidget(self.rule_label)
        bar = QHBoxLayout()
        self.add_button = _button(_("添加成员…"), self.add_member)
        self.remove_button = _button(_("移出专家组…"), self.remove_member)
        bar.addWidget(self.add_button)
        bar.addWidget(self.remove_button)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.members: ListTableModel[tuple[ExpertMembership, Staff]] = ListTableModel(
            [
                (N_("姓名"), lambda m: m[1].full_name),
                (N_("职称"), lambda m: title_label(m[1].title)),
                (N_("从业年限"), lambda m: str(m[1].years_in_practice)),
                (N_("科室"), lambda m: m[1].department),
                (N_("加入时间"), lambda m: format_local(m[0].joined_at)),
            ],
            self,
        )
        self.table = make_table(self.members)
        self.table.setObjectName("expert_table")
        set_column_widths(self.table, [10, 12, 8, 12])
        layout.addWidget(self.table, 1)

    def show_group(
        self, group: list[tuple[ExpertMembership, Staff]], staff: list[Staff], hospital: Hospital | None
    ) -> None:
        self.staff = staff
        self.members.set_rows(group)
        verdict = expert_group_complete([s for _m, s in group])
        color = "#2e7d32" if verdict.passed else "#b71c1c"
        self.rule_label.setText(f"<span style='color:{color}'>[{verdict.rule}] {verdict.text()}</span>")
        lead = next((s for s in staff if hospital and s.id == hospital.ecmo_lead_id), None)
        self.lead_label.setText(
            _("ECMO 技术负责人：{name}").format(
                name=f"{lead.full_name}（{title_label(lead.title)}）" if lead else _("未设定")
            )
        )
        self.remove_button.setEnabled(bool(group))

    def add_member(self) -> StaffChoiceDialog:
        members = {s.id for _m, s in self.members.rows()}
        candidates = [s for s in self.staff if s.active and s.id not in members]
        service = self.ui.services.staff
        dialog = StaffChoiceDialog(
            self.ui,
            _("添加专家组成员"),
            _("专家组成员须具有副高及以上职称且临床工作 8 年以上（R13）。"),
            candidates,
            service.add_expert,
            self,
            ok_text=_("添加"),
        )
        dialog.open()
        return dialog

    def remove_member(self) -> StaffReasonDialog | None:
        row = self.table.currentIndex().row()
        entry = self.members.row(row if row >= 0 else 0)
        if entry is None:
            return None
        membership, staff = entry
        service = self.ui.services.staff
        dialog = StaffReasonDialog(
            self.ui,
            _("移出专家组"),
            _("将 {name} 移出 ECMO 专家组。").format(name=staff.full_name),
            lambda reason: service.remove_expert(membership.id, reason=reason),
            self,
            ok_text=_("移出"),
        )
        dialog.open()
        return dialog

    def choose_lead(self) -> StaffChoiceDialog:
        candidates = [s for s in self.staff if s.active]
        service = self.ui.services.staff
        dialog = StaffChoiceDialog(
            self.ui,
            _("设定 ECMO 技术负责人"),
            _("技术负责人须为副主任医师及以上职称（R12）。"),
            candidates,
            service.set_ecmo_lead,
            self,
            ok_text=_("设定"),
        )
        dialog.open()
        return dialog


class AuditTab(QWidget):
    """The whole audit trail, newest first, and a check of its hash chain (AUD-3, AUD-4)."""

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.verify_button = _button(_("验证审计链"), self.verify)
        refresh = _button(_("刷新"), lambda: self.model.refresh())
        bar.addWidget(self.verify_button)
        bar.addWidget(refresh)
        self.result_label = QLabel()
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.result_label, 1)
        layout.addLayout(bar)
        audit = ui.services.audit
        self.model: AuditEventModel = AuditEventModel(
            ui.tasks,
            lambda offset, limit: audit.recent(offset=offset, limit=limit),
            columns=BROWSER_COLUMNS,
            parent=self,
        )
        self.table = make_table(self.model, stretch_column=BROWSER_COLUMNS.index(CHANGE))
        self.table.setObjectName("audit_table")
        set_column_widths(self.table, [6, 19, 9, 9, 11, 12, 40, 12, 5])
        layout.addWidget(self.table, 1)
        self.loaded_once = False

    def showEvent(self, event: QShowEvent) -> None:
        if not self.loaded_once:  # the trail can be long: read it when first looked at
            self.loaded_once = True
            self.model.refresh()
        super().showEvent(event)

    def verify(self) -> None:
        """The same check as ``ecmo-desktop verify``: chain, trail replayed against the record, signatures."""
        self.verify_button.setEnabled(False)
        self.result_label.setText(_("正在核对…"))
        audit = self.ui.services.audit
        self.ui.tasks.run_op(audit.verify_record, self._verified, self._verify_failed, parent=self)

    def _verified(self, result: RecordVerification) -> None:
        self.verify_button.setEnabled(True)
        chain = result.chain
        details: list[str] = []
        if not chain.ok:
            text = _("审计链被破坏：第 {seq} 条起不一致（{problem}）").format(
                seq=chain.first_bad_seq if chain.first_bad_seq is not None else "?",
                problem=chain.problem or "",
            )
        elif result.trail or not result.signatures.ok:
            details = [
                f"{p.table} #{p.row_id}" + (f" {p.field}" if p.field else "") for p in result.trail[:20]
            ]
            details += [f"{p.entity} #{p.entity_id}: {_(p.message)}" for p in result.signatures.problems[:20]]
            text = _("记录与审计轨迹不符：{n} 处（{first}）").format(
                n=len(result.trail) + len(result.signatures.problems), first=details[0]
            )
        else:
            text = _("审计链完整：已核对 {n} 条，末条哈希 {head}…；{rows} 行记录与审计轨迹一致").format(
                n=chain.checked, head=chain.head_hash[:16], rows=result.rows_checked
            )
        self.result_label.setStyleSheet(
            "color: #2e7d32;" if result.ok else "color: #b71c1c; font-weight: bold;"
        )
        self.result_label.setText(text)
        self.result_label.setToolTip("\n".join(details))

    def _verify_failed(self, exc: BaseException) -> None:
        self.verify_button.setEnabled(True)
        self.result_label.setText("")
        self.ui.tasks.default_error(self, exc)


class AdminPage(QWidget):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.staff_tab = StaffTab(ui)
        self.expert_tab = ExpertTab(ui)
        self.audit_tab = AuditTab(ui)
        self.tabs.addTab(self.staff_tab, _("人员与权限"))
        self.tabs.addTab(self.expert_tab, _("专家组"))
        self.tabs.addTab(self.audit_tab, _("审计日志"))
        self.settings_tab = SettingsTab(ui)
        self.tabs.addTab(self.settings_tab, _("安全设置"))
        self.tabs.addTab(StaffingPanel(ui), _("资质达标（R11–R14）"))
        layout.addWidget(self.tabs)
        ui.tasks.changed.connect(self._changed)
        self.reload()

    def _changed(self, changes: frozenset[Change]) -> None:
        if Change.staff() in changes or Change.hospital() in changes:
            self.reload()
        if self.audit_tab.loaded_once:
            self.audit_tab.model.refresh()

    def reload(self) -> None:
        staff = self.ui.services.staff
        runs = self.ui.services.runs

        def work() -> tuple[list[Staff], list[tuple[ExpertMembership, Staff]], Hospital | None]:
            return staff.list_staff(include_inactive=True), staff.expert_group(), runs.hospital()

        self.ui.tasks.run_op(work, self._loaded, parent=self)

    def _loaded(
        self, result: tuple[list[Staff], list[tuple[ExpertMembership, Staff]], Hospital | None]
    ) -> None:
        staff, group, hospital = result
        self.staff_tab.set_staff(staff)
        self.expert_tab.show_group(group, staff, hospital)
