"""Staff accounts as a table (a hospital has tens to hundreds: one fetch, no paging)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ecmo_desktop.domain.enums import Role, Title
from ecmo_desktop.domain.model import Staff
from ecmo_desktop.i18n import N_, _, join_names

COLUMNS = (N_("用户名"), N_("姓名"), N_("职称"), N_("科室"), N_("从业年限"), N_("角色"), N_("ECMO培训"),
           N_("ECMO权限"), N_("专家组"), N_("状态"))
STAFF_ROLE = Qt.ItemDataRole.UserRole
_INACTIVE = QBrush(QColor("#9e9e9e"))
_Index = QModelIndex | QPersistentModelIndex


def title_label(code: str) -> str:
    return Title(code).label if code in Title._value2member_map_ else code


def roles_label(roles: frozenset[str]) -> str:
    return join_names(Role(r).label for r in Role if r.value in roles)


def status_label(staff: Staff) -> str:
    if not staff.active:
        return _("已停用")
    if staff.locked:
        return _("已锁定")
    if staff.must_change_password:
        return _("待修改初始密码")
    return _("在用")


class StaffModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Staff] = []

    def set_staff(self, staff: list[Staff]) -> None:
        self.beginResetModel()
        self._rows = list(staff)
        self.endResetModel()

    def staff(self, row: int) -> Staff | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, staff_id: int) -> int:
        return next((i for i, s in enumerate(self._rows) if s.id == staff_id), -1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(COLUMNS):
            return _(COLUMNS[section])
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        s = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            yes, no = _("是"), ""
            return (s.username, s.full_name, title_label(s.title), s.department, str(s.years_in_practice),
                    roles_label(s.roles), yes if s.ecmo_trained else no, _("有效") if s.has_privilege else no,
                    yes if s.is_expert else no, status_label(s))[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and not s.active:
            return _INACTIVE
        if role == STAFF_ROLE:
            return s
        return None
