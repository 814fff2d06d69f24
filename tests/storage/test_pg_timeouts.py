"""Timeouts on both sides of a PostgreSQL connection, and outages told in the user's language
(issue 11 §2, §3). The frozen-PC scenario itself is test_stalled_pc.py."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from sqlalchemy import select, text

from ecmo_desktop.domain.errors import ServerUnreachable, StorageError
from ecmo_desktop.storage.engine import LOCK_TIMEOUT_MS, create_db_engine
from ecmo_desktop.storage.unit_of_work import UnitOfWorkFactory

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def test_every_connection_carries_the_timeouts(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        for _ in range(2):
            with engine.connect() as conn:
                assert conn.execute(text("SHOW lock_timeout")).scalar() == "10s"
                assert conn.execute(text("SHOW statement_timeout")).scalar() == "2min"
                assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "1min"
                assert conn.execute(text("SHOW tcp_keepalives_idle")).scalar() == "10"
    finally:
        engine.dispose()


def test_a_url_option_of_the_site_wins(db_url: str) -> None:
    engine = create_db_engine(db_url + "?options=-c%20lock_timeout%3D2500")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "2500ms"
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "2min"
    finally:
        engine.dispose()


def test_a_lock_held_too_long_is_told_in_chinese_and_nothing_is_saved(db_url: str) -> None:
    engine = create_db_engine(db_url + "?options=-c%20lock_timeout%3D300")
    uow = UnitOfWorkFactory(engine)
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(4242)"))
            with pytest.raises(StorageError) as exc, uow() as u:
                u.session.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            assert exc.value.user_message().startswith("数据库正忙")
            holder.execute(text("SELECT pg_advisory_unlock(4242)"))
    finally:
        engine.dispose()
    assert LOCK_TIMEOUT_MS > 3000  # the audit lock's idle limit stays below the others' lock wait


def _silent_server() -> tuple[socket.socket, int]:
    """A port that accepts connections and never answers (a frozen server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    return server, server.getsockname()[1]


def test_an_unreachable_server_is_told_without_driver_text(db_url: str) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    silent, silent_port = _silent_server()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    try:
        for url in (
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/x",
            f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/x",
        ):
            engine = create_db_engine(url)
            try:
                with pytest.raises(ServerUnreachable) as exc, UnitOfWorkFactory(engine)() as u:
                    u.session.execute(select(1))
            finally:
                engine.dispose()
            message = exc.value.user_message()
            assert "数据未保存" in message
            assert not any(word in message for word in ("connection", "server", "failed", "timeout"))
    finally:
        silent.close()
        for s in accepted:
            s.close()


def test_stop_waiting_for_a_frozen_server_fails_the_call_at_once(db_url: str) -> None:
    """A frozen server (process stopped, its kernel still acknowledging TCP): nothing times out on its
    own, so the UI's "stop waiting" cuts the waiting thread's connection and the call fails cleanly."""
    import os
    import signal

    from ecmo_desktop.storage.engine import abort_connections

    engine = create_db_engine(db_url)
    uow = UnitOfWorkFactory(engine)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        outcome: list[BaseException | str] = []
        started = threading.Event()
        waiter: list[int] = []

        def save() -> None:
            waiter.append(threading.get_ident())
            try:
                with uow() as u:
                    pid = u.session.execute(text("SELECT pg_backend_pid()")).scalar()
                    started.set()
                    waiter.append(int(pid))  # type: ignore[arg-type]
                    u.session.execute(text("SELECT pg_sleep(0.5)"))  # the backend is frozen meanwhile
                outcome.append("returned")
            except Exception as exc:  # noqa: BLE001
                outcome.append(exc)

        t = threading.Thread(target=save, daemon=True)
        t.start()
        assert started.wait(30)
        backend = waiter[1]
        os.kill(backend, signal.SIGSTOP)
        try:
            t.join(2.0)
            assert t.is_alive()  # stuck on the frozen server, as a ward PC was
            assert abort_connections(engine) >= 1
            t.join(30)
            assert not t.is_alive()
        finally:
            os.kill(backend, signal.SIGCONT)
        assert isinstance(outcome[0], ServerUnreachable), outcome
        with engine.connect() as conn:  # the PC goes on with a fresh connection
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def _blip_proxy(target_port: int, drop_first: int) -> tuple[socket.socket, int]:
    """A TCP relay to the server that cuts the first ``drop_first`` connections at once (a network blip)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    count = [0]

    def pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            count[0] += 1
            if count[0] <= drop_first:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_a_read_is_retried_once_after_a_lost_connection(db_url: str) -> None:
    from sqlalchemy.engine import make_url

    from ecmo_desktop.container import build_container
    from ecmo_desktop.domain.errors import NotAuthenticated

    url = make_url(db_url)
    build_container(db_url).close()  # migrated
    listener, port = _blip_proxy(int(url.port or 5432), drop_first=2)  # the clock sync, then a read
    try:
        c = build_container(
            url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False), migrate=False
        )  # its first connection is cut: the start-up read is retried
        try:
            assert c.auth.is_initialised() is False
            c.ctx.user = None
            with pytest.raises(NotAuthenticated):
                c.runs.search_runs("")
        finally:
            c.close()
    finally:
        listener.close()
