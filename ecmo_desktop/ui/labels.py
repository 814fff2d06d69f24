"""Display words for coded values the audit trail stores (actions, entities, field names).

The audit keeps stable ASCII codes; people read Chinese. Codes without a label (added by later
features before their label is) are shown as they are rather than hidden.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ecmo_desktop.domain.enums import Indication, Labelled, Mode, Role, RunStatus, Sex, Title
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _, join_names

ACTION_LABELS: dict[str, str] = {
    "create": N_("新建"),
    "update": N_("修改"),
    "login": N_("登录"),
    "login_failed": N_("登录失败"),
    "logout": N_("注销"),
    "screen_lock": N_("锁定屏幕"),
    "screen_unlock": N_("解锁屏幕"),
    "reauth_failed": N_("密码验证失败"),
    "password_changed": N_("修改密码"),
    "password_reset": N_("重置密码"),
    "account_locked": N_("账户锁定"),
    "account_unlocked": N_("解锁账户"),
    "activate": N_("启用账户"),
    "deactivate": N_("停用账户"),
    "grant_privilege": N_("授予ECMO权限"),
    "revoke_privilege": N_("撤销ECMO权限"),
    "add_expert": N_("加入专家组"),
    "set_policy": N_("修改安全设置"),
    "remove_expert": N_("移出专家组"),
    "set_ecmo_lead": N_("设定ECMO技术负责人"),
}

ENTITY_LABELS: dict[str, str] = {
    "patient": N_("患者"),
    "ecmo_run": N_("ECMO病例"),
    "staff": N_("人员"),
    "hospital": N_("医院"),
    "ecmo_privilege": N_("ECMO权限"),
    "expert_membership": N_("专家组"),
    "training_record": N_("培训记录"),
}

FIELD_LABELS: dict[str, str] = {
    "mrn": N_("住院号"),
    "name": N_("姓名"),
    "sex": N_("性别"),
    "birth_date": N_("出生日期"),
    "height_cm": N_("身高"),
    "weight_kg": N_("体重"),
    "ward": N_("病区"),
    "bed": N_("床号"),
    "mode": N_("模式"),
    "status": N_("状态"),
    "indication": N_("适应证"),
    "indication_other": N_("其他适应证"),
    "diagnosis": N_("诊断"),
    "ecpr": "ECPR",
    "emergency": N_("紧急"),
    "run_number": N_("第几次"),
    "username": N_("用户名"),
    "full_name": N_("姓名"),
    "title": N_("职称"),
    "department": N_("科室"),
    "years_in_practice": N_("从业年限"),
    "roles": N_("角色"),
    "active": N_("在用"),
    "failed_logins": N_("失败次数"),
    "until": N_("锁定至"),
    "ecmo_lead_id": N_("ECMO技术负责人"),
    "valid_until": N_("有效期至"),
    "granted_at": N_("授权时间"),
    "revoked_at": N_("撤销时间"),
    "note": N_("备注"),
    "institution": N_("培训机构"),
    "start_date": N_("开始日期"),
    "end_date": N_("结束日期"),
    "assessed": N_("考核合格"),
    "idle_lock_minutes": N_("自动锁屏时间（分钟）"),
    "code": N_("医院代码"),
    "city": N_("城市/盟市"),
    "started_at": N_("上机时间"),
    "ended_at": N_("撤机时间"),
    "end_reason": N_("撤机原因"),
    "joined_at": N_("加入时间"),
    "left_at": N_("退出时间"),
    "ecmo_trained": N_("ECMO培训合格"),
}

# reasons the services record as codes rather than typed text
REASON_LABELS: dict[str, str] = {
    "bad_password": N_("密码错误"),
    "locked": N_("账户已锁定"),
    "inactive": N_("账户已停用"),
    "idle": N_("空闲超时自动锁定"),
    "manual": N_("手动锁定"),
}

_ENUM_FIELDS: dict[str, type[Labelled]] = {
    "sex": Sex,
    "status": RunStatus,
    "mode": Mode,
    "indication": Indication,
    "title": Title,
}
_HIDDEN = {
    "id",
    "version",
    "hospital_id",
    "patient_id",
    "staff_id",
    "created_by_id",
    "granted_by_id",
    "revoked_by_id",
    "recorded_by_id",
    "attending_id",
    "settings",
    "source",
    "created_at",
}


def action_label(code: str) -> str:
    return _(ACTION_LABELS[code]) if code in ACTION_LABELS else code


def entity_label(code: str) -> str:
    return _(ENTITY_LABELS[code]) if code in ENTITY_LABELS else code


def reason_text(reason: str | None) -> str:
    if not reason:
        return ""
    return _(REASON_LABELS[reason]) if reason in REASON_LABELS else reason


def field_label(key: str) -> str:
    return _(FIELD_LABELS[key]) if key in FIELD_LABELS else key


def value_text(key: str, value: Any) -> str:
    """A stored value as words: enum labels, Beijing times, yes/no, role names."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    enum = _ENUM_FIELDS.get(key)
    if enum is not None and isinstance(value, str) and value in enum._value2member_map_:
        return enum(value).label
    if key == "roles" and isinstance(value, (list, tuple)):
        return join_names(Role(r).label if r in Role._value2member_map_ else str(r) for r in value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, (datetime, date)):
        return format_local(value) if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def change_text(before: dict[str, Any] | None, after: dict[str, Any] | None, *, limit: int = 240) -> str:
    """Compact "field: old → new" (or "field: value" for a creation); long text is cut."""
    before = before or {}
    after = after or {}
    parts: list[str] = []
    for key in list(dict.fromkeys([*before, *after])):
        if key in _HIDDEN:
            continue
        if key in before and key in after:
            if before[key] == after[key]:
                continue
            parts.append(
                f"{field_label(key)}：{value_text(key, before[key])} → {value_text(key, after[key])}"
            )
        elif key in after:
            if after[key] in (None, "", False, [], {}):
                continue
            parts.append(f"{field_label(key)}：{value_text(key, after[key])}")
        else:
            parts.append(f"{field_label(key)}：{value_text(key, before[key])} → —")
    text = "；".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
