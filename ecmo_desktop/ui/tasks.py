"""All database work runs on one serial worker thread; results come back by queued signal.

Why one thread: SQLite has one writer anyway, service calls then never interleave (the shared
``ServiceContext`` always sees a consistent logged-in user), and the GUI never freezes on a slow
disk or a far PostgreSQL server (DESIGN habits 6 and 8). Callbacks run on the GUI thread, so no
widget is ever touched from the worker.

``run_op`` is the one operation helper: it runs the call, sends failures to the standard error
path (or the caller's handler), and after a success broadcasts ``changed`` with the names of what
changed so open views refresh themselves.

Two failures never reach a message box, whoever asked (issue 11 §3, §5): the server out of reach
moves the ``connection`` state (shown in the status bar) to offline — background refreshes report
through ``background_error`` and stay silent; a session ended because the account was locked or
deactivated (possibly on another PC) is broadcast once as ``session_ended`` and the session
controller closes the window, keeping drafts.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QWidget

from ecmo_desktop.domain.errors import EcmoError, NotAuthenticated, ServerUnreachable
from ecmo_desktop.log import log_exception, mark_logged

log = logging.getLogger(__name__)

ONLINE, OFFLINE, RECONNECTING = "online", "offline", "reconnecting"
SuccessHandler = Callable[[Any], None]
ErrorHandler = Callable[[BaseException], None]


@dataclass(eq=False)
class Job:
    id: int
    fn: Callable[[], Any]
    on_success: SuccessHandler | None
    on_error: ErrorHandler | None
    owner: QObject | None
    changes: frozenset[str]
    result: Any = None
    error: BaseException | None = None
    details: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class _Worker(QThread):
    """Runs jobs in submission order until it meets the ``None`` sentinel."""

    finished_job = Signal(object)

    def __init__(self, jobs: queue.SimpleQueue[Job | None]) -> None:
        super().__init__()
        self._jobs = jobs
        self.setObjectName("ecmo-db-worker")

    def run(self) -> None:
        threading.current_thread().name = "ecmo-db-worker"  # named in the log
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job.result = job.fn()
            except Exception as exc:  # noqa: BLE001 - every failure goes back to the GUI thread
                job.error = exc
                if isinstance(exc, EcmoError):
                    log.info("refused: %s: %s", type(exc).__name__, exc.user_message())
                else:
                    job.details = traceback.format_exc()
                    log.error("operation failed\n%s", job.details)
                    mark_logged(exc)
            self.finished_job.emit(job)


class TaskRunner(QObject):
    """The serial executor plus the ``changed`` broadcast; one per application session."""

    changed = Signal(object)  # frozenset[str]: what a successful operation changed
    idle = Signal()  # no job queued or running any more
    connection_changed = Signal(str)  # ONLINE / OFFLINE / RECONNECTING
    session_ended = Signal(object)  # the NotAuthenticated/SessionEnded that ended the session

    def __init__(self, default_error: Callable[[QWidget | None, BaseException, str], None] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._pending = 0
        self._default_error = default_error
        self._worker = _Worker(self._jobs)
        self._worker.finished_job.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._worker.start()
        self._closed = False
        self.connection = ONLINE

    def set_connection(self, state: str) -> None:
        if state != self.connection:
            self.connection = state
            self.connection_changed.emit(state)

    def background_error(self, exc: BaseException) -> None:
        """A refresh nobody asked for failed: never a box; the status bar shows the connection."""
        if isinstance(exc, NotAuthenticated):
            self.session_ended.emit(exc)
        elif not isinstance(exc, ServerUnreachable):  # unreachable is already shown as offline
            log.warning("background refresh failed: %r", exc)

    @property
    def pending(self) -> int:
        """Jobs submitted whose callbacks have not run yet (tests wait until this is 0)."""
        return self._pending

    def run_op(self, fn: Callable[[], Any], on_success: SuccessHandler | None = None,
               on_error: ErrorHandler | None = None, *, parent: QObject | None = None,
               changes: Iterable[str] = ()) -> Job | None:
        """Run ``fn`` on the worker; then ``on_success(result)`` or ``on_error(exc)`` on the GUI thread.

        Without ``on_error`` the failure goes to the standard error path (a message box over
        ``parent``). When ``parent`` has been deleted by the time the result arrives, its callbacks
        are skipped — the window that asked is gone (closed, or sealed at a change of user) — but
        ``changed`` is still broadcast.
        After ``shutdown`` (the app is exiting) nothing runs and None is returned.
        """
        if self._closed:
            log.debug("task runner shut down; dropping %r", fn)
            return None
        job = Job(next(self._ids), fn, on_success, on_error, parent, frozenset(changes))
        self._pending += 1
        self._jobs.put(job)
        return job

    def _deliver(self, job: Job) -> None:
        try:
            owner_alive = job.owner is None or shiboken6.isValid(job.owner)
            if isinstance(job.error, ServerUnreachable):
                self.set_connection(OFFLINE)
            elif job.error is None:
                self.set_connection(ONLINE)  # the server answered
            if isinstance(job.error, NotAuthenticated):
                self.session_ended.emit(job.error)  # the window closes; no box, whoever asked
            elif job.error is None:
                if owner_alive and job.on_success is not None:
                    job.on_success(job.result)
                if job.changes:  # even when the asking window is gone, other views must refresh
                    self.changed.emit(job.changes)
            elif not owner_alive:
                log.info("dropped the failure of a closed window's operation: %r", job.error)
            elif job.on_error is not None:
                job.on_error(job.error)
            elif isinstance(job.error, ServerUnreachable):
                log.info("server unreachable (shown in the status bar): %r", job.error)  # never a box
            else:
                self.default_error(job.owner, job.error, job.details)
        finally:
            self._pending -= 1
            if self._pending == 0:
                self.idle.emit()

    def default_error(self, owner: QObject | None, exc: BaseException, details: str = "") -> None:
        """The standard error path: a translated message box; known errors never show a traceback."""
        parent = owner if isinstance(owner, QWidget) else None
        if self._default_error is not None:
            self._default_error(parent, exc, details)
        else:
            log_exception(exc, "unhandled operation error", details=details)

    def shutdown(self) -> None:
        """Finish every queued job, then stop the thread (their callbacks are dropped)."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._worker.wait()
