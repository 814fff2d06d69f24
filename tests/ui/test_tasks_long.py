"""The long-work lane of the serial task runner and the CPU lane (issue 12 part 2a).

Long work runs on the one serial worker, an item per turn: progress reaches the GUI thread by queued
signal, cancel stops it between items, and a short job submitted meanwhile runs between two items,
never beside one. Pauses here are gates the test opens, so what is proved does not rest on timing.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QDate, QObject, Qt

from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.documents import ArchivePage
from ecmo_desktop.ui.tasks import Operation, Steps, TaskRunner, run_cpu
from tests.ui.conftest import login_as, wait_tasks
from tests.ui.test_documents_tab import charted


class Calls:
    """Counts service calls in flight: two at once would be an interleaving."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.log: list[str] = []

    def enter(self, name: str) -> None:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.log.append(f"{name}+")

    def leave(self, name: str) -> None:
        with self.lock:
            self.active -= 1
            self.log.append(f"{name}-")


def test_progress_reaches_the_gui_thread_in_order_then_the_result(qtbot: Any, tasks: TaskRunner) -> None:
    seen: list[tuple[int, int, str, bool]] = []
    where: list[str] = []

    def work(op: Operation) -> Steps:
        for n in range(3):
            where.append(threading.current_thread().name)
            op.set_progress(n + 1, 3, f"item {n}")
            yield
        return "all three"

    results: list[str] = []
    with qtbot.waitSignal(tasks.changed) as changed:
        op = tasks.run_long(
            work,
            results.append,
            changes=(Change.runs(),),
            on_progress=lambda d, t, x: seen.append(
                (d, t, x, threading.current_thread() is threading.main_thread())
            ),
        )
    assert op is not None
    wait_tasks(qtbot, tasks)
    assert results == ["all three"] and changed.args == [frozenset({Change.runs()})]
    assert seen == [(1, 3, "item 0", True), (2, 3, "item 1", True), (3, 3, "item 2", True)]
    assert set(where) == {"ecmo-db-worker"} and not op.running


def test_cancel_stops_between_items(qtbot: Any, tasks: TaskRunner) -> None:
    done: list[int] = []
    connected = threading.Event()

    def work(op: Operation) -> Steps:
        assert connected.wait(10)  # the test's cancel hook is in place before the first item
        for n in range(10):
            if op.cancelled():
                return ("cancelled", list(done))
            done.append(n)
            op.set_progress(n + 1, 10)
            yield
        return ("finished", list(done))

    results: list[Any] = []
    op = tasks.run_long(work, results.append)
    assert op is not None
    # cancel from the worker the moment item 2 is reported: the item in hand completes, no third starts
    op.progress.connect(lambda d, _t, _x: d == 2 and op.cancel(), Qt.ConnectionType.DirectConnection)
    connected.set()
    wait_tasks(qtbot, tasks)
    assert results == [("cancelled", [0, 1])]


def test_a_write_never_interleaves_with_long_work(qtbot: Any, tasks: TaskRunner) -> None:
    calls = Calls()
    paused, release = threading.Event(), threading.Event()

    def work(op: Operation) -> Steps:
        for n in range(3):
            calls.enter(f"archive{n}")
            if n == 0:
                paused.set()
                assert release.wait(10)  # the test holds the first item here
            calls.leave(f"archive{n}")
            yield

    def write() -> str:
        calls.enter("write")
        calls.leave("write")
        return "saved"

    tasks.run_long(work)
    assert paused.wait(10)
    saved: list[str] = []
    tasks.run_op(write, saved.append, changes=(Change.patients(),))
    # the worker is inside the first item: the write must wait for it, however long that takes
    qtbot.wait(300)
    assert saved == [] and calls.log == ["archive0+"]
    release.set()
    wait_tasks(qtbot, tasks)
    assert saved == ["saved"] and calls.most == 1
    # the write ran between two items, not after the whole batch
    assert calls.log == [
        "archive0+",
        "archive0-",
        "write+",
        "write-",
        "archive1+",
        "archive1-",
        "archive2+",
        "archive2-",
    ]


def test_a_failing_item_ends_the_work_through_the_error_path(
    qtbot: Any, tasks: TaskRunner, error_sink: Any
) -> None:
    def work(_op: Operation) -> Steps:
        yield
        raise ZeroDivisionError("item 2")

    ok: list[Any] = []
    op = tasks.run_long(work, ok.append)
    wait_tasks(qtbot, tasks)
    assert (
        ok == [] and isinstance(error_sink.errors[0], ZeroDivisionError) and op is not None and not op.running
    )


def test_no_callback_once_the_owner_is_gone(qtbot: Any, tasks: TaskRunner) -> None:
    owner = QObject()
    gate = threading.Event()
    called: list[Any] = []

    def work(_op: Operation) -> Steps:
        assert gate.wait(10)
        yield
        return 1

    tasks.run_long(work, called.append, parent=owner, on_progress=lambda *a: called.append(a))
    shiboken6.delete(owner)
    gate.set()
    wait_tasks(qtbot, tasks)
    assert called == []


def test_shutdown_cancels_long_work_before_its_next_item(qtbot: Any, qapp: Any) -> None:
    runner = TaskRunner()
    items: list[int] = []
    started = threading.Event()

    def work(op: Operation) -> Steps:
        n = 0
        while not op.cancelled():
            items.append(n)
            started.set()
            n += 1
            yield

    runner.run_long(work)
    assert started.wait(10)
    runner.shutdown()  # returns only once the worker has stopped
    count = len(items)
    qtbot.wait(50)
    assert len(items) == count and not runner._lane.threads[0].is_alive()


def test_cpu_lane_runs_beside_the_serial_worker(qtbot: Any, tasks: TaskRunner) -> None:
    """A photo's decoding (no database) does not wait for a database call in progress."""
    gate = threading.Event()
    tasks.run_op(lambda: gate.wait(10))  # the serial worker is busy until the gate opens
    got: list[tuple[str, bool]] = []
    run_cpu(
        lambda _op: threading.current_thread().name,
        lambda name: got.append((name, threading.current_thread() is threading.main_thread())),
    )
    qtbot.waitUntil(lambda: bool(got), timeout=5_000)
    assert got == [("ecmo-cpu-worker", True)] and tasks.pending == 1
    gate.set()
    wait_tasks(qtbot, tasks)


def test_cpu_lane_skips_a_gone_owner_and_reports_failures(qtbot: Any, qapp: Any) -> None:
    owner = QObject()
    gate = threading.Event()
    called: list[Any] = []
    op = run_cpu(lambda _op: gate.wait(10), called.append, called.append, parent=owner)
    shiboken6.delete(owner)
    gate.set()
    qtbot.waitUntil(lambda: not op.running, timeout=5_000)
    failures: list[BaseException] = []
    op = run_cpu(lambda _op: 1 / 0, called.append, failures.append)
    qtbot.waitUntil(lambda: not op.running, timeout=5_000)
    assert called == [] and isinstance(failures[0], ZeroDivisionError)


def test_a_ward_save_during_a_batch_runs_between_two_archives(
    qtbot: Any, ui: Any, seeded: Any, clock: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """The records staff click 开始归档; a nurse's save waits for the archive in hand, not the batch."""
    charted(seeded, clock, 2)
    login_as(ui, qtbot, "sunli")
    page = ArchivePage(ui)
    qtbot.addWidget(page)
    page.date_from.setDate(QDate(2026, 1, 1))
    page.date_to.setDate(QDate(2026, 12, 31))
    page.status.setCurrentIndex(0)
    qtbot.mouseClick(page.find_button, Qt.MouseButton.LeftButton)
    wait_tasks(qtbot, ui.tasks)
    page.model.set_all(True)
    page.folder.setText(str(tmp_path))

    calls = Calls()
    paused, release = threading.Event(), threading.Event()
    service = page.service
    real = service.batch_archive
    runs: list[str] = []

    def batch_archive(run_ids: Any, out_dir: Any, progress: Any, **kwargs: Any) -> Any:
        if progress.cancelled():  # the batch-wide check before the first run: no service work
            return real(run_ids, out_dir, progress, **kwargs)
        name = f"archive{len(runs)}"
        runs.append(name)
        calls.enter(name)
        if not paused.is_set():
            paused.set()
            assert release.wait(30)
        try:
            return real(run_ids, out_dir, progress, **kwargs)
        finally:
            calls.leave(name)

    monkeypatch.setattr(service, "batch_archive", batch_archive)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert paused.wait(30)

    def save() -> Any:
        calls.enter("save")
        try:
            return ui.services.staff.list_staff()
        finally:
            calls.leave("save")

    saved: list[Any] = []
    ui.tasks.run_op(save, saved.append)
    qtbot.wait(300)
    assert saved == [] and calls.log == ["archive0+"]
    with qtbot.waitSignal(page.finished, timeout=120_000) as finished:
        release.set()
    assert len(finished.args[0].done) == 2 and saved and calls.most == 1
    assert calls.log[:4] == ["archive0+", "archive0-", "save+", "save-"]
    assert page.progress.value() == 2 and not page.running


def test_a_batch_whose_page_goes_away_finishes_the_run_in_hand_and_stops(
    qtbot: Any, ui: Any, seeded: Any, clock: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """Logout or lock deletes the page mid-batch: the archive in hand is completed, no further one starts."""
    charted(seeded, clock, 3)
    login_as(ui, qtbot, "sunli")
    page = ArchivePage(ui)
    page.date_from.setDate(QDate(2026, 1, 1))
    page.date_to.setDate(QDate(2026, 12, 31))
    page.status.setCurrentIndex(0)
    qtbot.mouseClick(page.find_button, Qt.MouseButton.LeftButton)
    wait_tasks(qtbot, ui.tasks)
    page.model.set_all(True)
    page.folder.setText(str(tmp_path))
    paused, release = threading.Event(), threading.Event()
    real = page.service.batch_archive
    archived: list[Any] = []

    def batch_archive(run_ids: Any, out_dir: Any, progress: Any, **kwargs: Any) -> Any:
        if progress.cancelled():
            return real(run_ids, out_dir, progress, **kwargs)
        paused.set()
        assert release.wait(30)
        result = real(run_ids, out_dir, progress, **kwargs)
        archived.append(result)
        return result

    monkeypatch.setattr(page.service, "batch_archive", batch_archive)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert paused.wait(30)
    shiboken6.delete(page)
    release.set()
    wait_tasks(qtbot, ui.tasks)
    assert len(archived) == 1 and len(archived[0].done) == 1
    assert len(list(tmp_path.glob("*.pdf"))) == 1


def test_a_runner_deleted_mid_job_leaves_the_worker_nothing_deleted_to_touch(qtbot: Any, qapp: Any) -> None:
    """The worker emits on its own mailbox, which it keeps alive: the runner's deletion cannot crash it."""
    runner = TaskRunner()
    gate = threading.Event()
    called: list[Any] = []
    runner.run_op(lambda: gate.wait(10), called.append)
    lane = runner._lane
    shiboken6.delete(runner)
    gate.set()
    lane.stop(10)
    qtbot.wait(50)  # the queued result has no receiver any more: dropped, not delivered
    assert called == [] and not lane.threads[0].is_alive()


def test_the_last_reference_to_a_finished_job_is_dropped_on_the_gui_thread(qtbot: Any, qapp: Any) -> None:
    """A job's callbacks hold widgets; were the worker to drop the last reference, their wrappers would
    be destroyed on the worker thread (an intermittent PySide6 segfault). Forced: the worker's emit
    returns only once the GUI thread has delivered the job, so the worker is the last to let go of
    anything it still holds."""
    runner = TaskRunner()
    delivered = threading.Event()
    died_on: list[str] = []

    class Sentinel:
        def __del__(self) -> None:
            died_on.append(threading.current_thread().name)

    class EmitThenWaitForDelivery:
        def __init__(self, signal: Any) -> None:
            self.signal = signal

        def emit(self, *args: Any) -> None:
            self.signal.emit(*args)
            delivered.wait(10)

    mailbox = runner._lane.mailbox
    mailbox.finished_job = EmitThenWaitForDelivery(mailbox.finished_job)  # type: ignore[assignment]
    sentinel = Sentinel()
    runner.run_op(lambda: None, lambda _result, held=sentinel: delivered.set())
    del sentinel
    qtbot.waitUntil(lambda: bool(died_on), timeout=10_000)
    assert died_on == [threading.main_thread().name]
    runner.shutdown()
