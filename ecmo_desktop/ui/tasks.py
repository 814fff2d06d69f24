"""All database work runs on one serial worker; results come back by queued signal.

Why one thread: SQLite has one writer anyway, service calls then never interleave (the shared
``ServiceContext`` always sees a consistent logged-in user), and the GUI never freezes on a slow
disk or a far PostgreSQL server (DESIGN habits 6 and 8). Callbacks run on the GUI thread, so no
widget is ever touched from the worker.

``run_op`` is the one operation helper: it runs the call, sends failures to the standard error
path (or the caller's handler), and after a success broadcasts ``changed`` with the ``Change``
values (ui/changes.py) of what changed so open views refresh themselves.

Long work (a batch of a hundred archives) runs on the same serial worker through ``run_long``, in
steps: the work is a generator that yields between items, and between two steps the worker runs
every short job queued meanwhile, so the ward's saves wait one item at most, never the whole batch,
and still never run beside another service call. The work reports progress and asks whether to stop
through its ``Operation`` handle; progress reaches the widget by queued signal, cancel is honoured
between items. Work that touches neither the database nor a service (decoding a photo, probing
cameras, sending a stored PDF to the printer) runs on the CPU lane (``run_cpu``), beside the
serial worker.

Two failures never reach a message box, whoever asked (issue 11 §3, §5): the server out of reach
moves the ``connection`` state (shown in the status bar) to offline — background refreshes report
through ``background_error`` and stay silent; a session ended because the account was locked or
deactivated (possibly on another PC) is broadcast once as ``session_ended`` and the session
controller closes the window, keeping drafts.

The lanes are plain Python daemon threads, not QThreads: no C++ thread object can be destroyed
while it runs, the interpreter never waits for (or aborts on) a lane left running at exit, and the
only Qt object a lane touches is its own parentless mailbox, which the lane itself keeps alive.
A lane never holds a finished job while it waits for the next one: the job's callbacks (bound to
widgets) are released on the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from ecmo_desktop.domain.errors import EcmoError, NotAuthenticated, ServerUnreachable
from ecmo_desktop.log import log_exception, mark_logged
from ecmo_desktop.ui.changes import Change

log = logging.getLogger(__name__)

ONLINE, OFFLINE, RECONNECTING = "online", "offline", "reconnecting"
# what a handler returns is ignored (a slot may well return, e.g. the dialog it opened)
SuccessHandler = Callable[[Any], object]
ErrorHandler = Callable[[BaseException], object]
ProgressHandler = Callable[[int, int, str], None]
Steps = Generator[None, None, Any]  # long work: yields between items, returns the result


class Operation(QObject):
    """The handle of one piece of long work: progress out, cancel in (``services.documents.Progress``).

    It has no Qt parent on purpose: the worker emits ``progress`` on it, so it must outlive the
    widget that asked; the job holds it until its result is delivered on the GUI thread.
    """

    progress = Signal(int, int, str)  # done, total, text — emitted on the worker, received queued
    ended = Signal()  # on the GUI thread, after the success or failure callback

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()
        self.running = True

    def set_progress(self, done: int, total: int, text: str = "") -> None:
        self.progress.emit(done, total, text)

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()


@dataclass(eq=False)
class Job:
    id: int
    fn: Callable[[], Any] | None
    on_success: SuccessHandler | None
    on_error: ErrorHandler | None
    owner: QObject | None
    changes: frozenset[Change]
    steps: Steps | None = None  # long work: advanced one item per turn
    operation: Operation | None = None
    result: Any = None
    error: BaseException | None = None
    details: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _fail(job: Job, exc: Exception, log_failures: bool) -> None:
    job.error = exc
    if not log_failures:  # the GUI thread's handler decides (and the error box logs it once)
        return
    if isinstance(exc, EcmoError):
        log.info("refused: %s: %s", type(exc).__name__, exc.user_message())
    else:
        job.details = traceback.format_exc()
        log.error("operation failed\n%s", job.details)
        mark_logged(exc)


def _step(job: Job, log_failures: bool = True) -> bool:
    """Run a short job, or one item of a long one; True when the job is finished."""
    try:
        if job.steps is None:
            assert job.fn is not None
            job.result = job.fn()
            return True
        try:
            next(job.steps)
        except StopIteration as stop:  # the work returned: its value is the result
            job.result = stop.value
            return True
        return False
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the GUI thread
        _fail(job, exc, log_failures)
    return True


class _Mailbox(QObject):
    """The one Qt object a lane touches: lives on the GUI thread, emitted on from the lane.

    The lane sends only the finished job's id; the job itself is held here (``held``, filled by
    ``_Lane.put`` on the GUI thread) and released here, on the GUI thread. A job's callbacks hold
    widgets: were the worker to drop the last reference (the GUI thread having already delivered the
    job it was sent), the widgets' wrappers would be destroyed on the worker thread, which crashed
    PySide6 now and then (a segfault at the worker's ``del job``).
    """

    finished_job = Signal(int)

    def __init__(self, deliver: Callable[[Job], None]) -> None:
        super().__init__()
        self.held: dict[int, Job] = {}
        self._deliver = deliver
        self.finished_job.connect(self._arrived, Qt.ConnectionType.QueuedConnection)

    @Slot(int)
    def _arrived(self, job_id: int) -> None:
        job = self.held.pop(job_id, None)
        owner = getattr(self._deliver, "__self__", None)  # the runner or lane that delivers
        if job is not None and (not isinstance(owner, QObject) or shiboken6.isValid(owner)):
            self._deliver(job)  # (a deleted runner's results are dropped, as a Qt connection would)


class _Lane:
    """Worker threads taking jobs from one queue; long jobs step only when no short job waits."""

    def __init__(
        self, name: str, deliver: Callable[[Job], None], threads: int = 1, *, log_failures: bool = True
    ) -> None:
        self.name = name
        self.log_failures = log_failures
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.mailbox = _Mailbox(deliver)
        self.threads = [threading.Thread(target=self._run, name=name, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        jobs, mailbox = self.jobs, self.mailbox
        long: deque[Job] = deque()  # long work between two items, oldest first
        stopping = False
        job: Job | None  # None: the shutdown marker
        while True:
            if long and (stopping or jobs.empty()):
                job = long.popleft()
            elif stopping:
                return
            else:
                job = jobs.get()
                if job is None:
                    stopping = True  # finish the long work in hand first (shutdown cancelled it)
                    continue
            if _step(job, self.log_failures):
                if job.error is not None and job.error.__traceback__ is not None:
                    # the traceback's frames hold the job (and its widgets) in a cycle the garbage
                    # collector could break on this thread; their locals are not needed to print it
                    traceback.clear_frames(job.error.__traceback__)
                job_id = job.id
                del job  # before the GUI thread can have it: the last reference is always dropped there
                mailbox.finished_job.emit(job_id)
            else:
                long.append(job)  # its next item once no short job waits
                del job  # never wait for the next job holding this one (its callbacks hold widgets)

    def put(self, job: Job) -> None:
        """Queue ``job`` (GUI thread); the mailbox holds it until it is delivered there."""
        self.mailbox.held[job.id] = job
        self.jobs.put(job)

    def stop(self, timeout_s: float | None = None) -> bool:
        for _thread in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(timeout_s)
        return not any(thread.is_alive() for thread in self.threads)


def _owner_alive(job: Job) -> bool:
    return job.owner is None or shiboken6.isValid(job.owner)


def _ended(job: Job) -> None:
    if job.operation is not None:
        job.operation.running = False
        job.operation.ended.emit()


class TaskRunner(QObject):
    """The serial executor plus the ``changed`` broadcast; one per application session."""

    changed = Signal(object)  # frozenset[Change]: what a successful operation changed
    idle = Signal()  # no job queued or running any more
    connection_changed = Signal(str)  # ONLINE / OFFLINE / RECONNECTING
    session_ended = Signal(object)  # the NotAuthenticated/SessionEnded that ended the session

    def __init__(
        self,
        default_error: Callable[[QWidget | None, BaseException, str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._pending = 0
        self._default_error = default_error
        self._long: dict[int, Operation] = {}
        self._lane = _Lane("ecmo-db-worker", self._deliver)
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

    def run_op(
        self,
        fn: Callable[[], Any],
        on_success: SuccessHandler | None = None,
        on_error: ErrorHandler | None = None,
        *,
        parent: QObject | None = None,
        changes: Iterable[Change] = (),
    ) -> Job | None:
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
        job = Job(next(self._ids), fn, on_success, on_error, parent, _change_set(changes))
        self._submit(job)
        return job

    def run_long(
        self,
        work: Callable[[Operation], Steps],
        on_success: SuccessHandler | None = None,
        on_error: ErrorHandler | None = None,
        *,
        parent: QObject | None = None,
        on_progress: ProgressHandler | None = None,
        changes: Iterable[Change] = (),
    ) -> Operation | None:
        """Run long work on the serial worker, one item per turn; returns its handle (cancel, progress).

        ``work(operation)`` is a generator function: it does one item (one short transaction) between
        two ``yield``s, reports through ``operation.set_progress`` and checks ``operation.cancelled()``
        before each item; its ``return`` value goes to ``on_success``. Short jobs queued meanwhile run
        between items. Callbacks, ``on_progress`` included, are skipped once ``parent`` is deleted.
        """
        if self._closed:
            log.debug("task runner shut down; dropping %r", work)
            return None
        operation = Operation()
        if on_progress is not None:

            def progress(done: int, total: int, text: str) -> None:
                if parent is None or shiboken6.isValid(parent):
                    on_progress(done, total, text)

            operation.progress.connect(progress, Qt.ConnectionType.QueuedConnection)
        job = Job(
            next(self._ids),
            None,
            on_success,
            on_error,
            parent,
            _change_set(changes),
            work(operation),
            operation,
        )
        self._long[job.id] = operation
        self._submit(job)
        return operation

    def run_cpu(
        self,
        fn: Callable[[Operation], Any],
        on_success: SuccessHandler | None = None,
        on_error: ErrorHandler | None = None,
        *,
        parent: QObject | None = None,
    ) -> Operation:
        """Work that touches no database or service, beside the serial worker (see ``run_cpu``)."""
        return run_cpu(fn, on_success, on_error, parent=parent)

    def _submit(self, job: Job) -> None:
        self._pending += 1
        self._lane.put(job)

    def _deliver(self, job: Job) -> None:
        try:
            self._long.pop(job.id, None)
            owner_alive = _owner_alive(job)
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
            _ended(job)
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
        """Cancel long work (it stops before its next item), finish every queued job, then stop the
        worker (their callbacks are dropped)."""
        if self._closed:
            return
        self._closed = True
        for operation in list(self._long.values()):
            operation.cancel()
        self._lane.stop()


def _change_set(changes: Iterable[Change]) -> frozenset[Change]:
    names = frozenset(changes)
    wrong = [c for c in names if not isinstance(c, Change)]
    if wrong:
        raise TypeError(f"changes must be ui.changes.Change values, not {wrong!r}")
    return names


# ---- the CPU lane ------------------------------------------------------------------------------------
CPU_THREADS = 2  # a print job that takes a minute must not hold a photo's decoding behind it


class _CpuLane(QObject):
    """The process's lane for work that touches neither the database nor a service."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)
        self.running: dict[int, Job] = {}
        # a photo that is no image is the person's mistake, not a log entry: failures are logged only
        # when nobody handles them (or by the error box that shows them)
        self.lane = _Lane("ecmo-cpu-worker", self._deliver, threads=CPU_THREADS, log_failures=False)

    def submit(self, job: Job) -> None:
        self.running[job.id] = job
        self.lane.put(job)

    def _deliver(self, job: Job) -> None:
        self.running.pop(job.id, None)
        try:
            if not _owner_alive(job):
                log.info("dropped the result of a closed window's background work: %r", job.error)
            elif job.error is None:
                if job.on_success is not None:
                    job.on_success(job.result)
            elif job.on_error is not None:
                job.on_error(job.error)
            else:
                log_exception(job.error, "background work failed")
        finally:
            _ended(job)

    def stop(self, timeout_s: float = 60.0) -> bool:
        """At application exit: cancel what runs (a print job stops between pages) and wait for it."""
        for job in list(self.running.values()):
            if job.operation is not None:
                job.operation.cancel()
        return self.lane.stop(timeout_s)


_cpu: _CpuLane | None = None


def cpu_lane() -> _CpuLane:
    """The one CPU lane; at application exit it cancels what still runs and waits for it."""
    global _cpu
    if _cpu is None:
        _cpu = _CpuLane()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(_cpu.stop)
    return _cpu


def run_cpu(
    fn: Callable[[Operation], Any],
    on_success: SuccessHandler | None = None,
    on_error: ErrorHandler | None = None,
    *,
    parent: QObject | None = None,
) -> Operation:
    """Run ``fn(operation)`` on the CPU lane; callbacks on the GUI thread, skipped once ``parent`` is gone.

    Only for work that touches no database and no service (those go through ``TaskRunner``, serial).
    ``fn`` may check ``operation.cancelled()`` (set at application exit) to stop early. A failure
    without ``on_error`` is logged with its traceback.
    """
    operation = Operation()
    lane = cpu_lane()
    job = Job(
        next(lane._ids), lambda: fn(operation), on_success, on_error, parent, frozenset(), operation=operation
    )
    lane.submit(job)
    return operation
