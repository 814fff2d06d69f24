"""Audit events as a paged table (run history tab, admin audit browser).

Rows are ``AuditEvent`` dataclasses fetched a page at a time from a service call given as
``fetch(offset, limit)``; the model keeps asking while full pages come back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QModelIndex, QObject, Signal

from ecmo_desktop.domain.model import AuditEvent
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.labels import action_label, change_text, entity_label, reason_text
from ecmo_desktop.ui.models.list_model import ROW_ROLE, Column, ListTableModel, _Index
from ecmo_desktop.ui.tasks import TaskRunner

Fetch = Callable[[int, int], list[AuditEvent]]

SEQ, TIME, ACTOR, WORKSTATION, ACTION, ENTITY, CHANGE, REASON, RESULT = (
    "seq",
    "time",
    "actor",
    "workstation",
    "action",
    "entity",
    "change",
    "reason",
    "result",
)
HEADERS = {
    SEQ: N_("序号"),
    TIME: N_("时间"),
    ACTOR: N_("操作人"),
    WORKSTATION: N_("工作站"),
    ACTION: N_("操作"),
    ENTITY: N_("对象"),
    CHANGE: N_("变更（原值 → 新值）"),
    REASON: N_("原因"),
    RESULT: N_("结果"),
}
RUN_HISTORY_COLUMNS = (TIME, ACTOR, ACTION, ENTITY, CHANGE, REASON)
BROWSER_COLUMNS = (SEQ, TIME, ACTOR, WORKSTATION, ACTION, ENTITY, CHANGE, REASON, RESULT)
EVENT_ROLE = ROW_ROLE


FAILED_TEXT = "#b71c1c"


def _failed_colour(event: AuditEvent) -> str | None:
    return None if event.success else FAILED_TEXT


def _entity_text(event: AuditEvent) -> str:
    return entity_label(event.entity) + (f" #{event.entity_id}" if event.entity_id else "")


class AuditEventModel(ListTableModel[AuditEvent]):
    loaded = Signal()

    def __init__(
        self,
        tasks: TaskRunner,
        fetch: Fetch,
        *,
        columns: Sequence[str] = RUN_HISTORY_COLUMNS,
        page_size: int = 200,
        parent: QObject | None = None,
    ) -> None:
        super().__init__([self._column(key) for key in columns], parent, key=lambda e: e.seq)
        self._tasks = tasks
        self._fetch = fetch
        self._page = page_size
        self._changes: dict[
            int, str
        ] = {}  # seq → the change, shortened (computed once per row, not per paint)
        self._more = True
        self._loading = False
        self._generation = 0

    def _column(self, key: str) -> Column[AuditEvent]:
        texts: dict[str, Callable[[AuditEvent], str]] = {
            SEQ: lambda e: str(e.seq),
            TIME: lambda e: format_local(e.occurred_at, with_seconds=True),
            ACTOR: lambda e: e.actor_name,
            WORKSTATION: lambda e: e.workstation,
            ACTION: lambda e: action_label(e.action),
            ENTITY: _entity_text,
            CHANGE: lambda e: self._changes[e.seq],
            REASON: lambda e: reason_text(e.reason),
            RESULT: lambda e: _("成功") if e.success else _("失败"),
        }
        tooltips: dict[str, Callable[[AuditEvent], str]] = {
            CHANGE: lambda e: change_text(e.before, e.after, limit=4000),
            REASON: lambda e: reason_text(e.reason),
        }
        return Column(HEADERS[key], texts[key], foreground=_failed_colour, tooltip=tooltips.get(key))

    def set_fetch(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self.refresh()

    def refresh(self) -> None:
        self._generation += 1
        self._changes = {}
        self._more = True
        self._loading = False
        self.set_rows([])
        self.fetchMore(QModelIndex())

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt override
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt override
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation, offset, limit, fetch = self._generation, len(self._rows), self._page, self._fetch
        self._tasks.run_op(
            lambda: fetch(offset, limit),
            lambda rows: self._arrived(generation, offset, rows),
            lambda exc: self._failed(generation, exc),
            parent=self,
        )

    def _arrived(self, generation: int, offset: int, rows: list[AuditEvent]) -> None:
        if generation != self._generation or offset != len(self._rows):
            return
        self._loading = False
        self._more = len(rows) >= self._page
        if rows:
            self.beginInsertRows(QModelIndex(), offset, offset + len(rows) - 1)
            self._rows.extend(rows)
            self._changes.update((e.seq, change_text(e.before, e.after)) for e in rows)
            self.endInsertRows()
        self.loaded.emit()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._more = False
        self._tasks.background_error(exc)
