"""Staff accounts as a table (a hospital has tens to hundreds: one fetch, no paging)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from ecmo_desktop.domain.enums import Role, Title
from ecmo_desktop.domain.model import Staff
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.ui.models.list_model import Column, ListTableModel

INACTIVE_TEXT = "#9e9e9e"


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


def _yes(flag: bool) -> str:
    return _("是") if flag else ""


def _greyed(staff: Staff) -> str | None:
    return None if staff.active else INACTIVE_TEXT


def _column(title: str, text: Callable[[Staff], str]) -> Column[Staff]:
    return Column(title, text, foreground=_greyed)


COLUMNS: tuple[Column[Staff], ...] = (
    _column(N_("用户名"), lambda s: s.username),
    _column(N_("姓名"), lambda s: s.full_name),
    _column(N_("职称"), lambda s: title_label(s.title)),
    _column(N_("科室"), lambda s: s.department),
    _column(N_("从业年限"), lambda s: str(s.years_in_practice)),
    _column(N_("角色"), lambda s: roles_label(s.roles)),
    _column(N_("ECMO培训"), lambda s: _yes(s.ecmo_trained)),
    _column(N_("ECMO权限"), lambda s: _("有效") if s.has_privilege else ""),
    _column(N_("专家组"), lambda s: _yes(s.is_expert)),
    _column(N_("状态"), status_label),
)


class StaffModel(ListTableModel[Staff]):
    """Inactive accounts greyed; a row is found again by the account's id."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, parent, key=lambda s: s.id)
