"""Fewer round trips on the PostgreSQL scan path (issue 15), without giving up what they were for:
a pooled connection the server closed is still replaced, and the audit chain stays strictly sequential
when the head read with the lock is stale."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from ecmo_desktop.domain.model import AuditEvent
from ecmo_desktop.storage.engine import create_db_engine
from ecmo_desktop.storage.unit_of_work import UnitOfWorkFactory

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


@contextmanager
def server_round_trips(engine: Engine) -> Iterator[Callable[[], int]]:
    """Counts what the server answered with ReadyForQuery (one per round trip), from libpq's trace."""
    trace = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in the finally below

    def checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.pgconn.trace(trace.fileno())

    def checkin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.pgconn.untrace()

    def count() -> int:
        trace.flush()
        trace.seek(0)
        return sum("\tB\t" in line and "ReadyForQuery" in line for line in trace)

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine.pool, "checkin", checkin)
    try:
        yield count
    finally:
        event.remove(engine.pool, "checkout", checkout)
        event.remove(engine.pool, "checkin", checkin)
        trace.close()


def _append(uow: Any, name: str) -> AuditEvent:
    return uow.audit.append(
        occurred_at=datetime.now(UTC),
        actor_id=None,
        actor_name=name,
        workstation="pc",
        action="test",
        entity="test",
        entity_id=None,
        run_id=None,
        patient_id=None,
        before=None,
        after={"who": name},
        reason=None,
        success=True,
    )


def test_the_account_check_is_one_round_trip_and_an_audit_append_two(container: Any) -> None:
    engine = container.uow.engine
    with container.uow(write=False) as uow:  # warm the pool: a new connection's handshake is not a check
        uow.session.execute(text("SELECT 1"))
    with server_round_trips(engine) as trips:
        assert container._account_state(1) is None  # no such account yet: still asked, still one trip
        assert trips() == 1
    with server_round_trips(engine) as trips, container.uow() as uow:
        uow.session.execute(text("SELECT 1"))  # BEGIN + this
        before = trips()
        _append(uow, "a")
        assert trips() - before == 2  # lock with head, guarded insert
        uow.commit()


def test_a_stale_head_under_the_lock_is_read_again_and_the_chain_stays_sequential(db_url: str) -> None:
    engine = create_db_engine(db_url)
    uows = UnitOfWorkFactory(engine)
    try:
        first = uows().__enter__()
        a = _append(first, "a")  # holds the audit lock, not committed yet
        result: dict[str, AuditEvent | BaseException] = {}

        def other_pc() -> None:
            try:
                with uows() as uow:
                    result["b"] = _append(uow, "b")  # waits for the lock with a snapshot from before it
                    uow.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                result["b"] = exc

        thread = threading.Thread(target=other_pc)
        thread.start()
        with engine.connect() as probe:  # until b is really waiting for the lock
            deadline = time.monotonic() + 10
            while not probe.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar():
                assert time.monotonic() < deadline
                time.sleep(0.02)
        first.commit()
        first.__exit__(None, None, None)
        thread.join(10)
        b = result["b"]
        assert isinstance(b, AuditEvent), b
        assert (a.seq, b.seq) == (1, 2) and b.prev_hash == a.hash
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, prev_hash, hash FROM audit_event ORDER BY seq")).all()
        assert [r.seq for r in rows] == [1, 2] and rows[1].prev_hash == rows[0].hash
    finally:
        engine.dispose()


def test_a_pooled_connection_the_server_closed_is_replaced_without_a_ping(db_url: str) -> None:
    engine = create_db_engine(db_url)
    uows = UnitOfWorkFactory(engine)
    try:
        with uows(write=False) as uow:
            pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar()
        admin = create_db_engine(db_url)
        with admin.connect() as other:  # e.g. the server restarting, or an administrator ending it
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        admin.dispose()
        time.sleep(0.3)  # the goodbye reaches the idle pooled connection's socket
        statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        with uows() as uow:  # a save: never retried blindly, so it must get a live connection
            _append(uow, "after restart")
            new_pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar()
            uow.commit()
        assert new_pid != pid
        assert not any(s.strip().upper() == "SELECT 1" for s in statements)  # no pre-ping
    finally:
        engine.dispose()
