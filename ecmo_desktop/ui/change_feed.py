"""Every PC sees what the others did (issue 11 §4).

While someone is logged in, ``ChangeFeed`` reads the audit trail's new rows (``AuditService.changes_since``)
and broadcasts them on ``TaskRunner.changed`` with the same ``Change`` values this PC's own saves use,
so the case
list, the worklist, the running-and-planned panel and open cases refresh themselves (each keeps the
user's place and selection). PostgreSQL wakes the feed by LISTEN/NOTIFY the moment another PC commits
(with a slow poll as a safety net); SQLite is polled. Each read is a service call, so it also checks the
account: a session locked or deactivated elsewhere ends at the next read.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from ecmo_desktop.services.audit import ChangeBatch
from ecmo_desktop.ui.changes import EVERYTHING, Change, record_changes
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.tasks import OFFLINE, RECONNECTING

POLL_MS = 2_000  # SQLite, and PostgreSQL while the server is out of reach
SAFETY_POLL_MS = 15_000  # PostgreSQL with LISTEN/NOTIFY: in case a notification was lost
RECORD_ENTITIES = frozenset(
    {
        "decision",
        "consent",
        "procedure",
        "daily_entry",
        "complication",
        "weaning_trial",
        "follow_up",
        "record_version",
        "signature",
    }
)


def changes_for(batch: ChangeBatch) -> frozenset[Change]:
    """What a batch of other PCs' changes changed, in this PC's vocabulary."""
    if batch.more:
        return EVERYTHING
    changes: set[Change] = set()
    for entity, _entity_id, run_id in batch.changes:
        changes.update(_changes(entity, run_id))
    return frozenset(changes)


def _changes(entity: str, run_id: int | None) -> Iterable[Change]:
    this_run = (Change.run(run_id),) if run_id is not None else ()
    if entity in RECORD_ENTITIES:
        return record_changes(run_id) if run_id is not None else (Change.records(), Change.runs())
    if entity == "patient":
        return (Change.patients(), Change.runs())
    if entity == "ecmo_run":
        return (Change.runs(), Change.records(), *this_run)
    if entity in ("staff", "expert_membership", "privilege", "staff_privilege"):
        return (Change.staff(),)
    if entity == "hospital":
        return (Change.hospital(),)
    if entity == "generated_document":
        return (Change.documents(run_id),) if run_id is not None else ()
    if entity.startswith(("device", "lot_", "equipment", "run_equipment")):
        return (Change.devices(), *this_run)
    return (Change.runs(), *this_run)


class _Bell(QObject):
    rang = Signal()  # emitted on the listener thread


class ChangeFeed(QObject):
    applied = Signal(object)  # the changes just broadcast (tests, latency benchmark)

    def __init__(self, ui: UiContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self._seq: int | None = None
        self._busy = self._again = False
        # another PC committed: the listener thread rings a parentless bell its closure keeps alive,
        # never the feed, which a closing window deletes while a notification may be arriving (an
        # emit on a deleted object crashes); the queued connection ends with the feed
        bell = _Bell()
        bell.rang.connect(self.poll, Qt.ConnectionType.QueuedConnection)
        stop = ui.services.watch_changes(lambda: bell.rang.emit())
        self.listening = stop is not None
        if stop is not None:
            self.destroyed.connect(lambda *_: stop())
        self.timer = QTimer(self)
        self.timer.setInterval(SAFETY_POLL_MS if self.listening else POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        ui.tasks.connection_changed.connect(self._connection)
        self.poll()

    def _connection(self, state: str) -> None:
        offline = state in (OFFLINE, RECONNECTING)
        self.timer.setInterval(POLL_MS if offline or not self.listening else SAFETY_POLL_MS)

    def poll(self) -> None:
        if self.ui.user is None:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        tasks = self.ui.tasks
        if tasks.connection == OFFLINE:
            tasks.set_connection(RECONNECTING)
        audit, seq = self.ui.services.audit, self._seq
        tasks.run_op(lambda: audit.changes_since(seq), self._arrived, self._failed, parent=self)

    def _failed(self, exc: BaseException) -> None:
        self._busy = self._again = False
        self.ui.tasks.background_error(exc)

    def _arrived(self, batch: ChangeBatch) -> None:
        self._busy = False
        first = self._seq is None
        self._seq = batch.head
        if not first and (batch.changes or batch.more):
            changes = changes_for(batch)
            if changes:
                self.ui.tasks.changed.emit(changes)
                self.applied.emit(changes)
        if self._again:
            self._again = False
            self.poll()
