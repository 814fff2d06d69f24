"""日常管理: the day's entries of a run and the entry form, grouped the way a ward charts.

Every number shows its unit; a value outside its normal range turns amber while it is typed, a
value outside the plausible range is refused right under the field (and by the service on
save, by name); ΔP, P/F, driving pressure and VIS are shown as computed, read-only. Nurses and
perfusionists chart and sign their own entries; doctors any.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QTabWidget, QVBoxLayout, QWidget

from ecmo_desktop.domain.enums import Mode, Role
from ecmo_desktop.domain.fields import (
    DAILY,
    DERIVED,
    FIELDS,
    ChoiceSpec,
    FieldSpec,
    choices_for,
    derive_unchecked,
    fields_for,
)
from ecmo_desktop.domain.records import AnyRecord, DailyEntry, DailyEntryInput, ecmo_day
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.base import RecordTab, tool_button
from ecmo_desktop.ui.records.case_data import ARTERIAL_MODES, CaseRecords
from ecmo_desktop.ui.records.display import (
    AMBER,
    GREY,
    ORANGE,
    Line,
    esc,
    field_value_text,
    grouped_values_html,
    label_of,
    lines_html,
    local_time,
    number_text,
    record_key,
    status_column,
)
from ecmo_desktop.ui.records.forms import (
    ABNORMAL_STYLE,
    CatalogueFields,
    ChoiceCombo,
    DateTimeField,
    NumberField,
    RecordDialog,
    text_edit,
)

# the form's pages: (title msgid, catalogue sections on it)
PAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (N_("循环管路"), (N_("循环管路"),)),
    (N_("抗凝"), (N_("抗凝"),)),
    (N_("溶血"), (N_("溶血"),)),
    (N_("血流动力学"), (N_("血流动力学"), N_("血管活性药物"))),
    (N_("呼吸与血气"), (N_("呼吸"), N_("血气"))),
    (N_("实验室检查"), (N_("实验室检查"), N_("输血与血制品"))),
    (N_("肾脏与CRRT"), (N_("肾脏与液体"),)),
    (N_("心脏超声"), (N_("心脏超声"),)),
    (N_("检查与评估"), (N_("神经系统"), N_("插管"))),
)
CHECKS_PAGE = N_("检查与评估")
# bedside checks gathered on one page, whatever their catalogue section
CHECK_KEYS = frozenset(
    {
        "circuit_check",
        "oxygenator_check",
        "cannula_site",
        "limb_perfusion",
        "differential_hypoxaemia",
        "urine_colour",
        "pupils",
        "seizure",
    }
)
# computed values and the page they are shown on
DERIVED_PAGES = {
    "delta_p": N_("循环管路"),
    "vis": N_("血流动力学"),
    "pf_ratio": N_("呼吸与血气"),
    "driving_pressure": N_("呼吸与血气"),
}
TABLE_KEYS = ("blood_flow", "rpm", "sweep", "act", "aptt", "lactate", "hb", "plt", "delta_p")


def page_of(spec: FieldSpec | ChoiceSpec) -> str:
    if isinstance(spec, ChoiceSpec) and spec.key in CHECK_KEYS:
        return CHECKS_PAGE
    return next((title for title, sections in PAGES if spec.section in sections), CHECKS_PAGE)


def day_text(day: int) -> str:
    return _("第 {n} 天（上机当日）").format(n=day) if day == 0 else _("第 {n} 天").format(n=day)


class DailyEntryDialog(RecordDialog):
    """日常管理记录 (new, edit a draft, or amend)."""

    entity = "daily_entry"

    def __init__(
        self,
        case: CaseRecords,
        parent: QWidget | None = None,
        *,
        record: DailyEntry | None = None,
        amend: bool = False,
    ) -> None:
        super().__init__(case, _("日常管理记录"), parent, record=record, amend=amend)
        self.setObjectName("daily_dialog")
        head = self.section()
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        self.recorded_at = DateTimeField(case.services.ctx.now())
        self.recorded_at.setObjectName("recorded_at")
        line.addWidget(self.recorded_at)
        self.day_label = QLabel()
        self.day_label.setObjectName("ecmo_day")
        self.day_label.setStyleSheet("font-weight: bold; color: #1565c0; padding-left: 12px;")
        line.addWidget(self.day_label)
        line.addStretch(1)
        self.add_row(head, N_("记录时间"), row, focus=self.recorded_at)
        self.mode = ChoiceCombo.of_enum(Mode, blank=None)
        self.mode.setObjectName("daily_mode")
        self.mode.set_value(case.run_mode)
        self.mode.setMinimumContentsLength(8)
        self.mode.setSizeAdjustPolicy(ChoiceCombo.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.add_row(head, N_("当日模式"), self.mode)
        legend = QLabel(_("黄色：超出正常范围（可保存）；红色：超出允许范围（不能保存）。计算值自动得出。"))
        legend.setStyleSheet("color: #555;")
        self.body.addWidget(legend)
        self.pages = QTabWidget()
        self.pages.setObjectName("daily_pages")
        self.body.addWidget(self.pages, 1)
        self.fields = CatalogueFields(self)
        layouts: dict[str, QVBoxLayout] = {}
        for title, _sections in PAGES:
            page = QWidget()
            column = QVBoxLayout(page)
            layouts[title] = column
            self.pages.addTab(page, _(title))
        specs: list[FieldSpec | ChoiceSpec] = [*fields_for(DAILY), *choices_for(DAILY)]
        for title, _sections in PAGES:
            members = [s for s in specs if page_of(s) == title]
            self.fields.add_sections(layouts[title], members, columns=2)
        self.derived: dict[str, QLineEdit] = {}
        derived_forms = {
            title: self.section(_("计算值"), layouts[title])
            for title in dict.fromkeys(DERIVED_PAGES.values())
        }
        for key, title in DERIVED_PAGES.items():
            rng = DERIVED[key]
            shown = QLineEdit()
            shown.setObjectName(f"derived_{key}")
            shown.setReadOnly(True)
            shown.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            shown.setFixedWidth(shown.fontMetrics().horizontalAdvance("−300.000") + 16)
            holder = QWidget()
            hl = QHBoxLayout(holder)
            hl.setContentsMargins(0, 0, 0, 0)
            hl.addWidget(shown)
            hl.addWidget(QLabel(_(rng.unit) if rng.unit else ""))
            hl.addStretch(1)
            self.derived[key] = shown
            self.add_row(derived_forms[title], rng.field, holder, focus=shown)
        self.flow_index = QLabel()
        self.flow_index.setObjectName("flow_index")
        self.flow_index.setStyleSheet("color: #555;")
        derived_forms[N_("循环管路")].addRow(_("血流量（按体重）"), self.flow_index)
        for column in layouts.values():
            column.addStretch(1)
        notes = self.section(None)
        self.notes = text_edit(2)
        self.notes.setObjectName("daily_notes")
        self.add_row(notes, N_("备注"), self.notes)
        for widget in self.fields.numbers.values():
            widget.changed.connect(self._recompute)
        self.recorded_at.dateTimeChanged.connect(lambda _d: self._update_day())
        self.mode.currentIndexChanged.connect(lambda _i: self._mode_changed())
        if record is not None:
            self.fill(record)
        self._mode_changed()
        self._update_day()
        self._recompute()
        self.resize(1060, 780)
        self.recorded_at.setFocus()

    # ---- live parts -----------------------------------------------------------------------------
    def _update_day(self) -> None:
        detail = self.case.detail
        started = detail.run.started_at if detail else None
        if started is None:
            self.day_label.setText(_("尚未上机"))
            return
        self.day_label.setText(
            _("ECMO {day}").format(day=day_text(ecmo_day(started, self.recorded_at.value())))
        )

    def _mode_changed(self) -> None:
        arterial = (self.mode.value() or "") in ARTERIAL_MODES
        for spec in fields_for(DAILY):
            if spec.va_only:
                self.fields.set_row_visible(spec.key, arterial)

    def _recompute(self) -> None:
        numbers = {k: w.number() for k, w in self.fields.numbers.items() if w.number() is not None}
        derived = derive_unchecked(numbers)
        for key, shown in self.derived.items():
            value = derived.get(key)
            shown.setText("" if value is None else number_text(value))
            rng = DERIVED[key]
            bad = value is not None and (value < rng.low or value > rng.high)
            shown.setStyleSheet(
                "QLineEdit { background: #ffebee; }"
                if bad
                else ABNORMAL_STYLE
                if value is not None and rng.is_abnormal(value)
                else ""
            )
        detail = self.case.detail
        weight = detail.patient.weight_kg if detail else None
        flow = numbers.get("blood_flow")
        self.flow_index.setText(
            _("{v} mL/kg/min").format(v=round(flow * 1000 / weight)) if flow is not None and weight else "—"
        )
        self._mark_pages()

    def _mark_pages(self) -> None:
        """Pages holding amber or refused values get coloured tab titles, so nothing hides behind a tab."""
        states: dict[int, str] = {}
        for widget in self.fields.numbers.values():
            if widget.state in ("abnormal", "invalid"):
                index = self._page_index(widget)
                if index >= 0 and states.get(index) != "invalid":
                    states[index] = widget.state
        bar = self.pages.tabBar()
        for i in range(self.pages.count()):
            state = states.get(i)
            bar.setTabTextColor(
                i,
                QColor("#c62828")
                if state == "invalid"
                else QColor(ORANGE)
                if state
                else self.palette().windowText().color(),
            )

    def _page_index(self, widget: QWidget) -> int:
        for i in range(self.pages.count()):
            page = self.pages.widget(i)
            if page is not None and page.isAncestorOf(widget):
                return i
        return -1

    # ---- in and out -----------------------------------------------------------------------------
    def fill(self, record: AnyRecord) -> None:
        assert isinstance(record, DailyEntry)
        self.recorded_at.set_value(record.recorded_at)
        self.mode.set_value(record.mode or self.case.run_mode)
        self.fields.fill({**record.values, **record.checks})
        self.notes.setPlainText(record.notes)

    def data(self) -> DailyEntryInput:
        return DailyEntryInput(
            recorded_at=self.recorded_at.value(),
            values=self.fields.raw_numbers(),
            checks=self.fields.raw_choices(),
            mode=self.mode.value(),
            notes=self.notes.toPlainText(),
        )

    def build(self) -> Callable[[], Any]:
        records, data, run_id = self.case.services.records, self.data(), self.case.run_id
        if self.record is None:
            return lambda: records.record_daily_entry(run_id, data)
        record_id, version, reason = self.record.id, self.expected_version, self.reason_text
        if self.amend:
            return lambda: records.amend_daily_entry(record_id, data, reason=reason, expected_version=version)
        assert version is not None
        return lambda: records.update_daily_entry(record_id, data, expected_version=version)

    def number_field(self, key: str) -> NumberField:
        return self.fields.numbers[key]


# ---- the table -----------------------------------------------------------------------------------------
def _value_column(key: str) -> Column[DailyEntry]:
    def text(entry: DailyEntry) -> str:
        value = entry.derived.get(key) if key in DERIVED else entry.values.get(key)
        return number_text(value) if value is not None else ""

    def background(entry: DailyEntry) -> str | None:
        return AMBER if key in entry.abnormal else None

    title = "ΔP" if key == "delta_p" else FIELDS[key].label
    return Column(
        title,
        text,
        background=background,
        tooltip=lambda e: field_value_text(key, e.derived.get(key) if key in DERIVED else e.values.get(key)),
    )


def author_text(entry: DailyEntry) -> str:
    return f"{entry.created_by_name}（{label_of(Role, entry.author_role)}）"


def describe_entry(entry: DailyEntry) -> str:
    lines = [
        Line(_("记录时间"), local_time(entry.recorded_at)),
        Line(_("ECMO 天数"), day_text(entry.ecmo_day)),
        Line(_("当日模式"), label_of(Mode, entry.mode)),
        Line(_("记录人"), author_text(entry)),
    ]
    body = lines_html(lines)
    values = {**entry.values, **entry.checks}
    if values:
        body += grouped_values_html(values, entry.abnormal)
    if entry.derived:
        body += grouped_values_html(entry.derived, entry.abnormal)
    if entry.notes:
        body += lines_html([Line(_("备注"), entry.notes)])
    if entry.abnormal:
        legend = _("黄色底色：超出正常范围")
        body += f"<p style='color:{GREY}'>{esc(legend)}</p>"
    return body


class DailyTab(RecordTab):
    key = "daily"
    title = N_("日常管理")

    def __init__(self, case: CaseRecords, parent: QWidget | None = None) -> None:
        super().__init__(case, parent)
        self.new_button = tool_button(
            _("新建日常记录…"), self.new_entry, name="new_daily_button", tip=_("Ctrl+N")
        )
        self.new_button.setVisible(case.can(Action.CHART_DAILY))
        self.toolbar.addWidget(self.new_button)
        self.toolbar.addStretch(1)
        self.day_label = QLabel()
        self.day_label.setObjectName("daily_summary")
        self.status_area.addWidget(self.day_label)
        self.entries: ListTableModel[DailyEntry] = ListTableModel(
            [
                Column(
                    N_("记录时间"),
                    lambda e: local_time(e.recorded_at)[5:],
                    tooltip=lambda e: local_time(e.recorded_at),
                ),
                Column(
                    N_("天"),
                    lambda e: str(e.ecmo_day),
                    tooltip=lambda e: _("ECMO {day}").format(day=day_text(e.ecmo_day)),
                ),
                Column(N_("模式"), lambda e: label_of(Mode, e.mode)),
                Column(N_("记录人"), author_text, tooltip=author_text),
                *[_value_column(k) for k in TABLE_KEYS],
                status_column(),
            ],
            key=record_key,
            parent=self,
        )
        self.table = self.add_list(
            None, self.entries, [11, 3, 4, 14, *[5] * len(TABLE_KEYS)], name="daily_table"
        )
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setSizes([1000, 480])  # the entries table needs the width, the pane scrolls
        shortcut = QShortcut(QKeySequence("Ctrl+N"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.new_entry)

    def refresh(self) -> None:
        chart = self.case.chart
        if chart is None:
            return
        entries: Sequence[DailyEntry] = sorted(chart.daily_entries, key=lambda e: e.recorded_at, reverse=True)
        self.entries.set_rows(entries)
        self.new_button.setEnabled(self.case.on_ecmo())
        detail = self.case.detail
        if detail is None or detail.run.started_at is None:
            self.day_label.setText(_("尚未上机，上机后才能记录日常管理"))
            return
        unsigned = sum(1 for e in entries if not e.locked)
        if detail.run.ended_at is not None:
            when = _("ECMO 已结束（第 0–{n} 天）").format(
                n=ecmo_day(detail.run.started_at, detail.run.ended_at)
            )
        else:
            now: datetime = self.case.services.ctx.now()
            when = _("今天是 ECMO {day}").format(day=day_text(ecmo_day(detail.run.started_at, now)))
        text = _("{when}；共 {n} 条记录，未签名 {u} 条（上机当日为第 0 天）").format(
            when=when, n=len(entries), u=unsigned
        )
        self.day_label.setText(text)
        self.day_label.setStyleSheet(f"color: {ORANGE};" if unsigned else "")

    def describe(self, record: AnyRecord) -> str:
        return describe_entry(record) if isinstance(record, DailyEntry) else ""

    def editor(self, record: AnyRecord, *, amend: bool) -> RecordDialog | None:
        if isinstance(record, DailyEntry):
            return DailyEntryDialog(self.case, self, record=record, amend=amend)
        return None

    def new_entry(self) -> DailyEntryDialog | None:
        if self.new_button.isHidden() or not self.new_button.isEnabled():
            return None
        dialog = DailyEntryDialog(self.case, self)
        self.show_dialog(dialog)
        return dialog
