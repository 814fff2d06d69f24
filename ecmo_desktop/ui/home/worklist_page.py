"""The home screen: what is due across all runs, most urgent first, grouped by kind.

R2 supplements counting down (or overdue), missing consent, runs on ECMO without a daily entry
today, unsigned records and follow-ups due. The list is computed by ``WorklistService`` on the
injected clock, fetched again every minute (so a countdown moves and turns overdue on its own) and
after every change anywhere in the app. Each group's header shows the kind's true count for the whole
ward; a group shows its first page (``PAGE`` items) and ends in a "more" row that loads the next page
by key, so every item can be reached and none is silently left out. Double-click (or Enter) opens the
case at the tab where the work is, with the record selected. Below it, the runs on ECMO and waiting
to start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.devices import ProductRequest
from ecmo_desktop.domain.records import WorkItem, WorkKind
from ecmo_desktop.domain.time import format_local, to_local
from ecmo_desktop.domain.worklist import WorkKey
from ecmo_desktop.i18n import N_, _, ngettext
from ecmo_desktop.services.worklist import KIND_TITLES, PAGE, WorkOverview, WorkPage
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.devices.requests import ProductRequestDialog
from ecmo_desktop.ui.home.runs_overview import RunsOverview
from ecmo_desktop.ui.models.list_model import Column, ListTableModel, _Index
from ecmo_desktop.ui.records import show_record_tab
from ecmo_desktop.ui.records.display import GREY, ORANGE, RED, duration_text
from ecmo_desktop.ui.widgets.headings import page_heading
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

REFRESH_MS = 60_000
LINK = "#1565c0"
GROUP_TITLES = KIND_TITLES
GROUP_BACKGROUND = {
    WorkKind.SUPPLEMENT_OVERDUE.value: "#ffcdd2",
    WorkKind.SUPPLEMENT_DUE.value: "#ffe0b2",
    WorkKind.FOLLOW_UP_OVERDUE.value: "#ffe0b2",
}
# where in the case view the work is done
TAB_OF_KIND = {
    WorkKind.SUPPLEMENT_OVERDUE.value: "decision",
    WorkKind.SUPPLEMENT_DUE.value: "decision",
    WorkKind.MISSING_CONSENT.value: "decision",
    WorkKind.NO_DAILY_TODAY.value: "daily",
    WorkKind.FOLLOW_UP_OVERDUE.value: "followup",
    WorkKind.FOLLOW_UP_DUE.value: "followup",
}
TAB_OF_ENTITY = {
    "decision": "decision",
    "consent": "decision",
    "procedure": "cannulation",
    "daily_entry": "daily",
    "complication": "complications",
    "weaning_trial": "weaning",
    "follow_up": "followup",
}
COLUMNS = (N_("时限"), N_("患者"), N_("住院号"), N_("病区/床号"), N_("事项"))


def tab_for(item: WorkItem) -> str:
    if item.kind == WorkKind.UNSIGNED_RECORD.value:
        return TAB_OF_ENTITY.get(item.entity or "", "overview")
    return TAB_OF_KIND.get(item.kind, "overview")


def time_text(item: WorkItem) -> str:
    """ "剩余 3 小时 12 分" / "已超时 1 小时 5 分" / the due date."""
    if (
        item.kind
        in (WorkKind.SUPPLEMENT_DUE.value, WorkKind.SUPPLEMENT_OVERDUE.value, WorkKind.NO_DAILY_TODAY.value)
        and item.remaining is not None
    ):
        seconds = item.remaining.total_seconds()
        if seconds >= 0:
            return _("剩余 {t}").format(t=duration_text(seconds))
        return _("已超时 {t}").format(t=duration_text(-seconds))
    if (
        item.kind in (WorkKind.FOLLOW_UP_DUE.value, WorkKind.FOLLOW_UP_OVERDUE.value)
        and item.due_at is not None
    ):
        return _("应于 {d}").format(d=to_local(item.due_at).date().isoformat())
    if item.kind == WorkKind.UNSIGNED_RECORD.value and item.due_at is not None:
        return _("{at} 书写").format(at=format_local(item.due_at))
    return ""


@dataclass(frozen=True)
class Group:
    kind: str
    count: int  # the kind's true count for the whole ward, however many of its items are loaded


@dataclass(frozen=True)
class More:
    """The last row of a group with more items than loaded: clicking it (or Enter) loads the next page."""

    kind: str
    shown: int
    total: int


@dataclass
class _Loaded:
    """What the page holds of one kind: its items so far, its count and where the next page starts."""

    count: int
    items: list[WorkItem]
    next_after: WorkKey | None


def _deadline_colour(item: WorkItem) -> str:
    if item.remaining is not None and item.remaining.total_seconds() < 0:
        return RED
    return ORANGE if item.kind == WorkKind.SUPPLEMENT_DUE.value else GREY


def _open_tip(item: WorkItem) -> str:
    return _("双击打开病例（{what}）").format(what=item.text())


def _item_columns() -> list[Column[WorkItem]]:
    texts: tuple[Callable[[WorkItem], str], ...] = (
        time_text,
        lambda i: i.patient_name,
        lambda i: i.mrn,
        lambda i: " ".join(p for p in (i.ward, i.bed) if p),
        lambda i: i.text(),
    )
    return [
        Column(title, text, foreground=_deadline_colour if n == 0 else None, tooltip=_open_tip)
        for n, (title, text) in enumerate(zip(COLUMNS, texts, strict=True))
    ]


class WorkItemModel(ListTableModel[Any]):
    """Work items under one header row per kind (with its true count), in the service's urgency order;
    a kind with more items than loaded ends in a "more" row."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_item_columns(), parent)
        self.items: list[WorkItem] = []
        self.groups: dict[str, _Loaded] = {}

    def set_groups(self, groups: dict[str, _Loaded]) -> None:
        self.groups = groups
        rows: list[Group | WorkItem | More] = []
        for kind, loaded in groups.items():
            rows.append(Group(kind, loaded.count))
            rows.extend(loaded.items)
            if loaded.next_after is not None:
                rows.append(More(kind, len(loaded.items), loaded.count))
        self.items = [r for r in rows if isinstance(r, WorkItem)]
        self.set_rows(rows)

    def more_row(self, kind: str) -> int:
        """The row of a kind's "more" row (-1 when all its items are loaded)."""
        return next((i for i, r in enumerate(self._rows) if isinstance(r, More) and r.kind == kind), -1)

    def group_row(self, kind: str) -> int:
        return next((i for i, r in enumerate(self._rows) if isinstance(r, Group) and r.kind == kind), -1)

    def more(self, row: int) -> More | None:
        entry = self.row(row)
        return entry if isinstance(entry, More) else None

    def group_rows(self) -> list[int]:
        return [i for i, r in enumerate(self._rows) if isinstance(r, Group)]

    def header_rows(self) -> list[int]:
        """Rows spanning the whole width: group headers and "more" rows."""
        return [i for i, r in enumerate(self._rows) if isinstance(r, (Group, More))]

    def item(self, row: int) -> WorkItem | None:
        entry = self.row(row)
        return entry if isinstance(entry, WorkItem) else None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if index.isValid() and isinstance(self._rows[index.row()], Group):
            return Qt.ItemFlag.ItemIsEnabled
        if index.isValid() and isinstance(self._rows[index.row()], More):
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return super().flags(index)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self.row(index.row()) if index.isValid() else None
        if isinstance(entry, More):
            if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:
                return _("显示后 {n} 项…（已显示 {shown} 项，共 {total} 项）").format(
                    n=f"{min(PAGE, entry.total - entry.shown):,}",
                    shown=f"{entry.shown:,}",
                    total=f"{entry.total:,}",
                )
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(LINK))
            if role == Qt.ItemDataRole.ToolTipRole:
                return _("单击或按回车加载下一页")
            return None
        if not isinstance(entry, Group):
            return super().data(index, role)
        if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:
            return _("{title}（{n}）").format(
                title=_(GROUP_TITLES.get(entry.kind, entry.kind)), n=f"{entry.count:,}"
            )
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(GROUP_BACKGROUND.get(entry.kind, "#e3f2fd")))
        return None


class WorklistPage(QWidget):
    """The ward's home page (navigation key "worklist")."""

    refreshed = Signal()

    def __init__(
        self, ui: UiContext, *, open_case: Callable[[int], Any], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ui = ui
        self._open_case = open_case
        self.setObjectName("records_worklist")
        self._loading = False
        self._again = False
        self.loads = 0
        self.more_loads = 0
        self._as_of: datetime | None = None  # the instant the shown counts were judged at
        self._paging: set[str] = set()  # kinds whose next page is on its way
        self.dialog: Any = None  # the last dialog opened here (tests reach it)
        outer = QVBoxLayout(self)
        bar = QHBoxLayout()
        bar.addWidget(page_heading(_("待办事项")))
        self.count_label = QLabel()
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        self.mine = QCheckBox(_("待签名记录只看本人书写的"))
        self.mine.setObjectName("mine_only")
        self.mine.toggled.connect(lambda _on: self.refresh())
        bar.addWidget(self.mine)
        self.updated_label = QLabel()
        self.updated_label.setStyleSheet(f"color: {GREY};")
        bar.addWidget(self.updated_label)
        refresh = QPushButton(_("刷新"))
        refresh.setToolTip(_("F5；列表每分钟自动刷新"))
        refresh.clicked.connect(self.refresh)
        bar.addWidget(refresh)
        outer.addLayout(bar)
        splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tcol = QVBoxLayout(top)
        tcol.setContentsMargins(0, 0, 0, 0)
        self.model = WorkItemModel(self)
        self.table = make_table(self.model)
        self.table.setObjectName("work_table")
        set_column_widths(self.table, [18, 8, 10, 12])
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._activated)
        self.table.clicked.connect(self._clicked)
        tcol.addWidget(self.table, 1)
        self.empty_label = QLabel(_("目前没有待办事项。"))
        self.empty_label.setStyleSheet(f"color: {GREY}; padding: 12px;")
        self.empty_label.hide()
        tcol.addWidget(self.empty_label)
        splitter.addWidget(top)
        self.runs = RunsOverview(ui, open_case=lambda run_id: self._open_case(run_id))
        splitter.addWidget(self.runs)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([700, 220])
        outer.addWidget(splitter, 1)
        shortcut = QShortcut(QKeySequence("F5"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.refresh)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        ui.tasks.changed.connect(self._changed)
        self.refresh()

    def _changed(self, changes: frozenset[Change]) -> None:
        if changes & {Change.records(), Change.runs(), Change.patients(), Change.devices()}:
            self.refresh()

    def refresh(self) -> None:
        """Fetch the list again; while a fetch is running, one more follows it (never a pile-up)."""
        if self.ui.user is None:
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        mine = self.mine.isChecked()
        # keep what the user had paged open in each group (at least one page each)
        limits = {kind: max(PAGE, len(g.items)) for kind, g in self.model.groups.items()}
        worklist = self.ui.services.worklist
        self.ui.tasks.run_op(
            lambda: worklist.overview(mine_only=mine, limit=PAGE, limits=limits),
            self._loaded,
            self._failed,
            parent=self,
        )

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self._again = False
        self.ui.tasks.background_error(exc)  # a refresh: the status bar shows an outage, no box

    def _loaded(self, overview: WorkOverview) -> None:
        self._loading = False
        self._paging.clear()
        self._as_of = overview.as_of
        current = self.table.currentIndex()
        scroll = self.table.verticalScrollBar().value()
        self.model.set_groups(
            {
                kind: _Loaded(page.total, list(page.items), page.next_after)
                for kind, page in overview.pages.items()
            }
        )
        self._spans()
        if current.isValid() and current.row() < self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(current.row(), 0))
        self.table.verticalScrollBar().setValue(scroll)
        total = overview.total
        self.count_label.setText(ngettext("共 {n} 项", "共 {n} 项", total).format(n=f"{total:,}"))
        self.empty_label.setVisible(not total)
        self.updated_label.setText(_("更新于 {t}").format(t=format_local(self.ui.services.ctx.now())[-5:]))
        self.loads += 1
        self.refreshed.emit()
        if self._again:
            self._again = False
            self.refresh()

    def _spans(self) -> None:
        self.table.clearSpans()
        for row in self.model.header_rows():
            self.table.setSpan(row, 0, 1, len(COLUMNS))

    def load_more(self, kind: str) -> None:
        """The next page of one group, after its last loaded item, judged at the same instant as its count."""
        loaded = self.model.groups.get(kind)
        if loaded is None or loaded.next_after is None or kind in self._paging or self.ui.user is None:
            return
        self._paging.add(kind)
        mine, after, as_of = self.mine.isChecked(), loaded.next_after, self._as_of
        worklist = self.ui.services.worklist
        self.ui.tasks.run_op(
            lambda: worklist.page(kind, after=after, limit=PAGE, mine_only=mine, as_of=as_of),
            lambda page: self._more_loaded(page, after),
            self._more_failed(kind),
            parent=self,
        )

    def _more_failed(self, kind: str) -> Callable[[BaseException], None]:
        def failed(exc: BaseException) -> None:
            self._paging.discard(kind)
            self.ui.tasks.background_error(exc)

        return failed

    def _more_loaded(self, page: WorkPage, after: WorkKey) -> None:
        loaded = self.model.groups.get(page.kind)
        if page.kind not in self._paging or loaded is None or loaded.next_after != after:
            return  # a refresh came in between: what it loaded replaces this page
        self._paging.discard(page.kind)
        scroll = self.table.verticalScrollBar().value()
        current = self.table.currentIndex()
        loaded.items.extend(page.items)
        loaded.count, loaded.next_after = page.total, page.next_after
        self.model.set_groups(self.model.groups)
        self._spans()
        if current.isValid() and current.row() < self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(current.row(), 0))
        self.table.verticalScrollBar().setValue(scroll)
        self.more_loads += 1
        self.refreshed.emit()

    def _clicked(self, index: QModelIndex) -> None:
        more = self.model.more(index.row())
        if more is not None:
            self.load_more(more.kind)

    def _activated(self, index: QModelIndex) -> None:
        more = self.model.more(index.row())
        if more is not None:
            self.load_more(more.kind)
            return
        item = self.model.item(index.row())
        if item is not None:
            self.open_item(item)

    def open_item(self, item: WorkItem) -> Any:
        """Open the case at the tab where the work is done, with the record selected; a product request
        opens its answer dialog (add the product, or decline) instead."""
        if item.kind == WorkKind.PRODUCT_REQUEST.value and item.entity_id is not None:
            return self.answer_request(item)
        view = self._open_case(item.run_id)
        if isinstance(view, QWidget):
            show_record_tab(view, tab_for(item), item.entity, item.entity_id)
        return view

    def answer_request(self, item: WorkItem) -> None:
        """Read the request (it may have been answered on another PC meanwhile), then open its dialog."""
        devices, request_id = self.ui.services.devices, item.entity_id
        patient = f"{item.patient_name}，{item.mrn}"

        def loaded(requests: list[ProductRequest]) -> None:
            request = next((r for r in requests if r.id == request_id), None)
            if request is None:
                self.refresh()
                return
            self.dialog = ProductRequestDialog(
                self.ui, request, patient=patient, on_done=self.refresh, parent=self
            )
            self.dialog.open()

        self.ui.tasks.run_op(lambda: devices.product_requests(open_only=True), loaded, parent=self)
