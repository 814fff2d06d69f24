"""Audit events as a paged table (run history tab, admin audit browser).

Rows are ``AuditEvent`` dataclasses fetched a page at a time from a service call given as
``fetch(offset, limit)``; the model keeps asking while full pages come back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from ecmo_desktop.domain.model import AuditEvent
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.labels import action_label, change_text, entity_label, reason_text
from ecmo_desktop.ui.tasks import TaskRunner

Fetch = Callable[[int, int], list[AuditEvent]]
_Index = QModelIndex | QPersistentModelIndex

SEQ, TIME, ACTOR, WORKSTATION, ACTION, ENTITY, CHANGE, REASON, RESULT = (
    "seq", "time", "actor", "workstation", "action", "entity", "change", "reason", "result")
HEADERS = {SEQ: N_("序号"), TIME: N_("时间"), ACTOR: N_("操作人"), WORKSTATION: N_("工作站"),
           ACTION: N_("操作"), ENTITY: N_("对象"), CHANGE: N_("变更（原值 → 新值）"), REASON: N_("原因"),
           RESULT: N_("结果")}
RUN_HISTORY_COLUMNS = (TIME, ACTOR, ACTION, ENTITY, CHANGE, REASON)
BROWSER_COLUMNS = (SEQ, TIME, ACTOR, WORKSTATION, ACTION, ENTITY, CHANGE, REASON, RESULT)
EVENT_ROLE = Qt.ItemDataRole.UserRole
_FAILED = QBrush(QColor("#b71c1c"))


class AuditEventModel(QAbstractTableModel):
    loaded = Signal()

    def __init__(self, tasks: TaskRunner, fetch: Fetch, *, columns: Sequence[str] = RUN_HISTORY_COLUMNS,
                 page_size: int = 200, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._fetch = fetch
        self._columns = tuple(columns)
        self._page = page_size
        self._rows: list[AuditEvent] = []
        self._changes: list[str] = []
        self._more = True
        self._loading = False
        self._generation = 0

    def set_fetch(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self.refresh()

    def refresh(self) -> None:
        self._generation += 1
        self.beginResetModel()
        self._rows, self._changes = [], []
        self._more = True
        self._loading = False
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def event_at(self, row: int) -> AuditEvent | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt override
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt override
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation, offset, limit, fetch = self._generation, len(self._rows), self._page, self._fetch
        self._tasks.run_op(lambda: fetch(offset, limit), lambda rows: self._arrived(generation, offset, rows),
                           lambda exc: self._failed(generation, exc), parent=self)

    def _arrived(self, generation: int, offset: int, rows: list[AuditEvent]) -> None:
        if generation != self._generation or offset != len(self._rows):
            return
        self._loading = False
        self._more = len(rows) >= self._page
        if rows:
            self.beginInsertRows(QModelIndex(), offset, offset + len(rows) - 1)
            self._rows.extend(rows)
            self._changes.extend(change_text(e.before, e.after) for e in rows)
            self.endInsertRows()
        self.loaded.emit()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._more = False
        self._tasks.background_error(exc)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self._columns):
            return _(HEADERS[self._columns[section]])
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        event = self._rows[index.row()]
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(event, index.row(), column, tooltip=False)
        if role == Qt.ItemDataRole.ToolTipRole and column in (CHANGE, REASON):
            return self._text(event, index.row(), column, tooltip=True)
        if role == Qt.ItemDataRole.ForegroundRole and not event.success:
            return _FAILED
        if role == EVENT_ROLE:
            return event
        return None

    def _text(self, event: AuditEvent, row: int, column: str, *, tooltip: bool) -> str | None:
        if column == SEQ:
            return str(event.seq)
        if column == TIME:
            return format_local(event.occurred_at, with_seconds=True)
        if column == ACTOR:
            return event.actor_name
        if column == WORKSTATION:
            return event.workstation
        if column == ACTION:
            return action_label(event.action)
        if column == ENTITY:
            return entity_label(event.entity) + (f" #{event.entity_id}" if event.entity_id else "")
        if column == CHANGE:
            return change_text(event.before, event.after, limit=4000) if tooltip else self._changes[row]
        if column == REASON:
            return reason_text(event.reason)
        if column == RESULT:
            return _("成功") if event.success else _("失败")
        return None
