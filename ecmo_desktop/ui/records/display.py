"""How records read on screen: values with units, coded values as words, times in Beijing time.

One place turns stored values into text so the tables, the detail panes, the sign dialog and the
version history describe a record in the same words. Out-of-normal values are shown amber
everywhere (the same colour the forms use while typing).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from ecmo_desktop.domain.complications import COMPLICATIONS
from ecmo_desktop.domain.enums import (
    CannulaRole,
    DeciderRole,
    DecisionKind,
    DischargeDisposition,
    FollowUpKind,
    FollowUpStatus,
    Guidance,
    Indication,
    Labelled,
    Location,
    Mode,
    ProcedureKind,
    Severity,
    Side,
    SignatureMeaning,
    StaffRoleInProcedure,
    Technique,
    Title,
    Vessel,
    VitalStatus,
)
from ecmo_desktop.domain.fields import (
    CHOICES,
    CONTRAINDICATIONS,
    DERIVED,
    FIELDS,
    IMMEDIATE_COMPLICATIONS,
    contraindications_assessed,
)
from ecmo_desktop.domain.model import Staff
from ecmo_desktop.domain.records import (
    ENTITY_LABELS,
    AnyRecord,
    CauseOfDeath,
    Complication,
    Consent,
    ConsentRelationship,
    ContactMethod,
    DailyEntry,
    Decision,
    FollowUp,
    Procedure,
    Signature,
    WeaningTrial,
)
from ecmo_desktop.domain.rules import FAIL, NOT_APPLICABLE, PASS, PENDING
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.paths import resource_path
from ecmo_desktop.ui.models.list_model import Column

AMBER = "#ffe08a"  # out of the normal range: accepted, highlighted
RED_BG = "#ffebee"  # refused (out of the plausible range)
GREEN, RED, ORANGE, GREY = "#2e7d32", "#b71c1c", "#e65100", "#757575"

STATUS_TEXT = {PASS: N_("通过"), FAIL: N_("不符合"), PENDING: N_("待完成"), NOT_APPLICABLE: N_("不适用")}
STATUS_COLOR = {PASS: GREEN, FAIL: RED, PENDING: ORANGE, NOT_APPLICABLE: GREY}


# ---- words for values ----------------------------------------------------------------------------------
def label_of(enum: type[Labelled], value: str | None) -> str:
    if value is None or value == "":
        return "—"
    return enum(value).label if value in enum._value2member_map_ else str(value)


def number_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, (int, float)):
        number = float(value)
        return str(int(number)) if number.is_integer() else f"{number:.6g}"
    return str(value)


def with_unit(value: Any, unit: str) -> str:
    text = number_text(value)
    return f"{text} {_(unit)}" if unit and text != "—" else text


def field_value_text(key: str, value: Any) -> str:
    """A catalogue value (numeric or coded) as read on the ward: "3.5 L/min", "普通肝素"."""
    if key in FIELDS:
        return with_unit(value, FIELDS[key].unit)
    if key in CHOICES:
        return _(CHOICES[key].label_of(str(value)))
    if key in DERIVED:
        return with_unit(value, DERIVED[key].unit)
    return number_text(value)


def field_label(key: str) -> str:
    if key in FIELDS:
        return _(FIELDS[key].label)
    if key in CHOICES:
        return _(CHOICES[key].label)
    if key in DERIVED:
        return _(DERIVED[key].field)
    return key


def local_time(moment: datetime | None) -> str:
    return format_local(moment) if moment else "—"


def staff_name(staff: Sequence[Staff], staff_id: int | None) -> str:
    person = next((s for s in staff if s.id == staff_id), None)
    return person.full_name if person else ("—" if staff_id is None else f"#{staff_id}")


def title_text(code: str) -> str:
    return label_of(Title, code)


def entity_text(entity: str) -> str:
    return _(ENTITY_LABELS.get(entity, entity))


def complication_text(code: str, other: str = "") -> str:
    spec = COMPLICATIONS.get(code)
    text = _(spec.label) if spec else code
    return f"{text}：{other}" if other else text


def duration_text(seconds: float) -> str:
    """ "3 小时 12 分" for a span; the sign is the caller's business."""
    minutes = int(abs(seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        days, hours = divmod(hours, 24)
        return _("{d} 天 {h} 小时").format(d=days, h=hours)
    return _("{h} 小时 {m} 分").format(h=hours, m=minutes)


def decision_kind_text(record: Decision) -> str:
    """上机决策 / 上机决策（紧急） / 补充多学科决策 / 撤机决策."""
    kind = label_of(DecisionKind, record.kind)
    if record.supplement_of_id is not None:
        return _("补充多学科决策")
    if record.emergency:
        return _("{kind}（紧急）").format(kind=kind)
    return kind


def record_title(record: AnyRecord) -> str:
    """A record in one line, for the sign dialog, the history and the timeline."""
    if isinstance(record, Decision):
        return f"{decision_kind_text(record)} {local_time(record.decided_at)}"
    if isinstance(record, Consent):
        what = _("拒绝 ECMO 治疗") if record.refused else _("知情同意")
        return f"{what} {local_time(record.signed_on_paper_at)}（{record.signer_name}）"
    if isinstance(record, Procedure):
        return f"{label_of(ProcedureKind, record.kind)} {local_time(record.started_at)}"
    if isinstance(record, DailyEntry):
        return _("日常管理记录 {at}（ECMO 第 {n} 天）").format(
            at=local_time(record.recorded_at), n=record.ecmo_day
        )
    if isinstance(record, Complication):
        return f"{complication_text(record.code, record.other_text)} {local_time(record.onset_at)}"
    if isinstance(record, WeaningTrial):
        return _("撤机试验 {at}").format(at=local_time(record.started_at))
    if isinstance(record, FollowUp):
        return _("{kind}随访（应于 {date}）").format(
            kind=label_of(FollowUpKind, record.kind), date=record.due_date.isoformat()
        )
    return entity_text(record.entity)


# ---- icons ---------------------------------------------------------------------------------------------
_icons: dict[str, QIcon] = {}


def lock_icon() -> QIcon:
    """The padlock shown on every signed (locked) record."""
    if "lock" not in _icons:
        path = resource_path("icons", "lock.svg")
        _icons["lock"] = QIcon(str(path)) if path.exists() else QIcon()
    return _icons["lock"]


def lock_pixmap(size: int = 16) -> QPixmap:
    return lock_icon().pixmap(size, size)


# ---- HTML for detail panes -------------------------------------------------------------------------------
def esc(text: Any) -> str:
    return html.escape(str(text))


@dataclass(frozen=True)
class Line:
    """One row of a detail pane: label, value, and whether the value is out of its normal range."""

    label: str
    value: str
    abnormal: bool = False


def lines_html(lines: Iterable[Line], heading: str | None = None) -> str:
    rows = []
    for line in lines:
        style = f" style='background:{AMBER}'" if line.abnormal else ""
        value = esc(line.value).replace("\n", "<br>")
        rows.append(
            f"<tr><td style='color:#555;padding-right:12px;white-space:nowrap'>{esc(line.label)}</td>"
            f"<td{style}>{value}</td></tr>"
        )
    head = f"<h4 style='margin:8px 0 2px 0'>{esc(heading)}</h4>" if heading else ""
    return head + "<table cellspacing='0' cellpadding='2'>" + "".join(rows) + "</table>" if rows else head


_ORDER = {k: i for i, k in enumerate([*FIELDS, *CHOICES, *DERIVED])}


def _ordered(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=lambda k: _ORDER.get(k, len(_ORDER)))


def values_lines(values: Mapping[str, Any], abnormal: Iterable[str] = ()) -> list[Line]:
    """Catalogue values in catalogue order, each with its unit, abnormal ones flagged."""
    flagged = set(abnormal)
    return [Line(field_label(k), field_value_text(k, values[k]), k in flagged) for k in _ordered(values)]


def grouped_values_html(values: Mapping[str, Any], abnormal: Iterable[str] = ()) -> str:
    """Values grouped by their catalogue section (循环管路, 抗凝 …), abnormal ones amber."""
    flagged = set(abnormal)
    sections: dict[str, list[Line]] = {}
    for key in _ordered(values):
        spec = FIELDS.get(key) or CHOICES.get(key)
        heading = _(spec.section) if spec else _("计算值")
        sections.setdefault(heading, []).append(
            Line(field_label(key), field_value_text(key, values[key]), key in flagged)
        )
    return "".join(lines_html(lines, heading) for heading, lines in sections.items())


def signature_text(record: AnyRecord, signatures: Sequence[Signature] = ()) -> str:
    """ "已由 张伟 于 2026-03-02 09:05 签名（书写）" or what is still missing."""
    if record.locked:
        valid = [s for s in signatures if s.state == "valid"]
        meaning = label_of(SignatureMeaning, valid[-1].meaning) if valid else ""
        text = _("已由 {name} 于 {at} 签名").format(
            name=record.signed_by_name or "—", at=local_time(record.signed_at)
        )
        return f"{text}（{meaning}）" if meaning else text
    amended = any(s.state == "superseded" for s in signatures)
    return _("已更正，待重新签名") if amended else _("未签名（草稿，可修改）")


def record_key(record: Any) -> tuple[str, int]:
    """How a record is recognised across reloads (its kind and id)."""
    return (record.entity, record.id)


def status_column(title: str = N_("签名"), applies: Callable[[Any], bool] | None = None) -> Column[Any]:
    """The lock column every record list shows: 已签名 with the padlock, or 未签名.

    ``applies`` says whether a row is signable at all yet (a follow-up not yet done is not).
    """

    def open_(r: Any) -> bool:
        return applies is None or applies(r) or r.locked

    return Column(
        title,
        lambda r: (_("已签名") if r.locked else _("未签名")) if open_(r) else "",
        icon=lambda r: lock_icon() if r.locked else None,
        foreground=lambda r: None if r.locked else ORANGE,
        tooltip=lambda r: signature_text(r) if open_(r) else "",
    )


def rule_phase(results: Sequence[Any], index: int) -> str:
    """ "（上机）" / "（撤机）" for R1, judged twice (start, then weaning, in that order); else ""."""
    if results[index].rule != "R1":
        return ""
    position = [i for i, r in enumerate(results) if r.rule == "R1"].index(index)
    return _("（上机）") if position == 0 else _("（撤机）")


def rule_label(results: Sequence[Any], index: int) -> str:
    return results[index].rule + rule_phase(results, index)


# ---- the detail pane -----------------------------------------------------------------------------------
class RecordPanel(QWidget):
    """The selected record, read-only: a lock line ("signed by X at T (meaning)") and its content."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.lock = QLabel()
        self.lock.setPixmap(lock_pixmap(18))
        self.lock.hide()
        row.addWidget(self.lock)
        self.status = QLabel()
        self.status.setObjectName("record_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.status, 1)
        column.addLayout(row)
        self.browser = QTextBrowser()
        self.browser.setObjectName("record_text")
        self.browser.setOpenLinks(False)
        column.addWidget(self.browser, 1)
        self.shown: AnyRecord | None = None
        self.clear()

    def clear(self, hint: str | None = None) -> None:
        self.shown = None
        self.lock.hide()
        self.status.setText("")
        self.status.setStyleSheet("")
        text = hint or _("请在左侧选择一条记录")  # outside the f-string, where the extractor sees it
        self.browser.setHtml(f"<p style='color:{GREY}'>{esc(text)}</p>")

    def show_record(self, record: AnyRecord, body_html: str, signatures: Sequence[Signature] = ()) -> None:
        self.shown = record
        self.lock.setVisible(record.locked)
        self.status.setText(signature_text(record, signatures))
        self.status.setStyleSheet(f"color: {GREEN if record.locked else ORANGE}; font-weight: bold;")
        title = f"<h3 style='margin:0 0 6px 0'>{esc(record_title(record))}</h3>"
        author = _("记录人：{name}，{at}").format(
            name=record.created_by_name or "—", at=local_time(record.created_at)
        )
        self.browser.setHtml(
            title + f"<p style='color:{GREY};margin:0 0 6px 0'>{esc(author)}</p>" + body_html
        )

    def text(self) -> str:
        return self.browser.toPlainText()


# ---- words for the stored content of any record (version history) ----------------------------------------
_CONTENT_LABELS: dict[str, str] = {
    "kind": N_("类型"),
    "emergency": N_("紧急"),
    "decided_at": N_("决策时间"),
    "mode_planned": N_("计划模式"),
    "indication": N_("适应证"),
    "indication_other": N_("其他适应证"),
    "rationale": N_("决策依据"),
    "physicians": N_("决策医师"),
    "pre_ecmo": N_("上机前状态"),
    "contraindications": N_("禁忌证"),
    "supplement_of_id": N_("补充的决策"),
    "explained_by_id": N_("谈话医师"),
    "signer_name": N_("签字人"),
    "relationship": N_("与患者关系"),
    "signed_on_paper_at": N_("签署时间"),
    "refused": N_("拒绝"),
    "notes": N_("备注"),
    "started_at": N_("开始时间"),
    "flow_at": N_("首次转流时间"),
    "ended_at": N_("结束时间"),
    "location": N_("操作地点"),
    "technique": N_("置管方式"),
    "guidance": N_("引导方式"),
    "mode_before": N_("原模式"),
    "mode_after": N_("模式"),
    "reason": N_("原因"),
    "settings": N_("参数"),
    "immediate_complications": N_("即刻并发症"),
    "staff": N_("操作人员"),
    "cannulae": N_("插管"),
    "recorded_at": N_("记录时间"),
    "author_role": N_("记录人身份"),
    "mode": N_("当日模式"),
    "values": N_("数值"),
    "checks": N_("检查"),
    "code": N_("并发症"),
    "other_text": N_("并发症描述"),
    "onset_at": N_("发生时间"),
    "severity": N_("严重程度"),
    "treatment": N_("处理"),
    "resolved_at": N_("缓解时间"),
    "resolution": N_("转归"),
    "adverse_event": N_("不良事件"),
    "device_item_id": N_("相关器械"),
    "procedure_id": N_("相关操作"),
    "flow_to": N_("血流量降至"),
    "sweep_to": N_("气流量降至"),
    "fdo2_to": N_("FdO2 降至"),
    "passed": N_("试验结果"),
    "due_date": N_("应随访日期"),
    "fu_status": N_("随访状态"),
    "done_at": N_("随访时间"),
    "contact_method": N_("随访方式"),
    "vital_status": N_("生存状态"),
    "date_of_death": N_("死亡日期"),
    "cause_of_death": N_("死亡原因"),
    "discharge_disposition": N_("出院去向"),
    "cpc": "CPC",
    "mrs": "mRS",
    "eq5d_index": N_("EQ-5D 指数"),
    "created_at": N_("建立时间"),
}
_CONTENT_ENUMS: dict[str, type[Labelled]] = {
    "mode_planned": Mode,
    "mode_before": Mode,
    "mode_after": Mode,
    "mode": Mode,
    "indication": Indication,
    "relationship": ConsentRelationship,
    "location": Location,
    "technique": Technique,
    "guidance": Guidance,
    "severity": Severity,
    "fu_status": FollowUpStatus,
    "vital_status": VitalStatus,
    "discharge_disposition": DischargeDisposition,
    "cause_of_death": CauseOfDeath,
    "contact_method": ContactMethod,
}
_HIDDEN_CONTENT = {"entity", "id", "run_id", "created_by_id", "device_usage_id"}


def _plain_value(key: str, value: Any, entity: str, staff: Sequence[Staff]) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if key == "kind":
        enum: type[Labelled] = {
            "decision": DecisionKind,
            "procedure": ProcedureKind,
            "follow_up": FollowUpKind,
        }.get(entity, DecisionKind)
        return label_of(enum, value)
    if key in _CONTENT_ENUMS:
        return label_of(_CONTENT_ENUMS[key], value)
    if key == "code":
        return complication_text(str(value))
    if key == "passed":
        return _("通过") if value else _("未通过")
    if key == "explained_by_id":
        return staff_name(staff, value)
    if key in ("values", "settings", "pre_ecmo", "checks") and isinstance(value, Mapping):
        return "；".join(f"{field_label(k)} {field_value_text(k, v)}" for k, v in value.items())
    if key == "contraindications" and isinstance(value, Mapping):
        names = dict(CONTRAINDICATIONS)
        present = [_(names.get(str(k), str(k))) for k, v in value.items() if v]
        if not contraindications_assessed(value):
            return _("未评估")
        return join_names(present) or _("无")
    if key == "immediate_complications" and isinstance(value, list):
        names = dict(IMMEDIATE_COMPLICATIONS)
        return join_names(_(names.get(str(k), str(k))) for k in value) or _("无")
    if key == "physicians" and isinstance(value, list):
        return join_names(
            f"{staff_name(staff, p.get('staff_id'))}（{label_of(DeciderRole, p.get('role'))}）" for p in value
        )
    if key == "staff" and isinstance(value, list):
        return join_names(
            f"{staff_name(staff, p.get('staff_id'))}（{label_of(StaffRoleInProcedure, p.get('role'))}）"
            for p in value
        )
    if key == "cannulae" and isinstance(value, list):
        return "；".join(cannula_text(c) for c in value)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, (datetime, date)):
        return format_local(value) if isinstance(value, datetime) else value.isoformat()
    return number_text(value)


def cannula_text(c: Mapping[str, Any]) -> str:
    parts = [
        label_of(CannulaRole, c.get("role")),
        label_of(Vessel, c.get("vessel")),
        label_of(Side, c.get("side")),
        with_unit(c.get("size_fr"), "Fr"),
    ]
    if c.get("length_cm") is not None:
        parts.append(_("长 {v} cm").format(v=number_text(c.get("length_cm"))))
    if c.get("depth_cm") is not None:
        parts.append(_("深 {v} cm").format(v=number_text(c.get("depth_cm"))))
    if c.get("tip_position"):
        parts.append(str(c.get("tip_position")))
    return " ".join(parts)


def content_lines(content: Mapping[str, Any], staff: Sequence[Staff]) -> list[Line]:
    """A stored version's content (``canonical_content``) as labelled lines."""
    entity = str(content.get("entity", ""))
    return [
        Line(_(_CONTENT_LABELS.get(k, k)), _plain_value(k, v, entity, staff))
        for k, v in content.items()
        if k not in _HIDDEN_CONTENT
    ]
