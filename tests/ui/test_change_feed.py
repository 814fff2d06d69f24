"""The change feed speaks the ``Change`` vocabulary, and its listener thread never emits on a deleted feed."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest
import shiboken6

from ecmo_desktop.services.audit import ChangeBatch
from ecmo_desktop.ui.change_feed import ChangeFeed, changes_for
from ecmo_desktop.ui.changes import EVERYTHING, Change
from ecmo_desktop.ui.tasks import TaskRunner


def test_other_pcs_changes_in_the_vocabulary_local_saves_use() -> None:
    batch = ChangeBatch(
        head=9,
        changes=(
            ("daily_entry", 1, 7),
            ("generated_document", 2, 7),
            ("staff", 3, None),
            ("lot_recall", 4, None),
            ("patient", 5, None),
        ),
    )
    assert changes_for(batch) == {
        Change.records(),
        Change.run(7),
        Change.runs(),
        Change.documents(7),
        Change.staff(),
        Change.devices(),
        Change.patients(),
    }
    assert changes_for(ChangeBatch(head=9, changes=(), more=True)) == EVERYTHING


def test_a_free_string_is_refused(tasks: TaskRunner) -> None:
    with pytest.raises(TypeError):
        tasks.run_op(lambda: None, changes=("runs",))  # type: ignore[arg-type]
    assert tasks.pending == 0


def test_a_notification_after_the_feed_is_gone_is_harmless(qtbot: Any, tasks: TaskRunner) -> None:
    """The listener thread may ring while a closing window deletes the feed: nothing runs, nothing crashes."""
    bells: list[Any] = []
    stopped: list[bool] = []

    def watch_changes(wake: Any) -> Any:
        bells.append(wake)
        return lambda: stopped.append(True)

    reads: list[Any] = []

    def changes_since(seq: Any) -> ChangeBatch:
        reads.append(seq)
        return ChangeBatch(head=1, changes=())

    services = SimpleNamespace(
        watch_changes=watch_changes, audit=SimpleNamespace(changes_since=changes_since)
    )
    ui = SimpleNamespace(services=services, tasks=tasks, user=object())
    feed = ChangeFeed(ui)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: tasks.pending == 0 and len(reads) == 1)
    ring = threading.Thread(target=bells[0])
    ring.start()
    ring.join()
    qtbot.waitUntil(lambda: tasks.pending == 0 and len(reads) == 2)  # a ring reads the feed again
    shiboken6.delete(feed)
    assert stopped == [True]
    errors: list[BaseException] = []

    def late_ring() -> None:
        try:
            bells[0]()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    ring = threading.Thread(target=late_ring)
    ring.start()
    ring.join()
    qtbot.wait(50)
    assert errors == [] and len(reads) == 2
