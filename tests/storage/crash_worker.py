"""Child processes for the reliability tests (run with ``python -m tests.storage.crash_worker``)."""

from __future__ import annotations

import sys

from tests.kit.db import PASSWORD


def save_loop(url: str) -> None:
    """REL-1: save a patient + run through the real services forever, printing each acknowledged id."""
    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.runs import PatientInput, RunInput

    c = build_container(url, workstation="crash-pc")
    c.auth.login("zhangwei", PASSWORD)
    print("READY", flush=True)
    i = 0
    while True:
        i += 1
        p = c.runs.register_patient(
            PatientInput(mrn=f"K{c.ctx.now().timestamp():.0f}X{i}", name="崩溃测试", sex="M")
        )
        run = c.runs.open_run(p.id, RunInput(mode="VA", indication="ami"))
        print(f"{p.id} {run.id}", flush=True)  # acknowledged only after commit() returned


def busy_writer(url: str, n: int, deferred: str) -> None:
    """REL-6: n write transactions that read then write; with deferred=1 the negative control."""
    import sqlite3
    import time

    from sqlalchemy import text

    from ecmo_desktop.storage.engine import create_db_engine, write_intent

    engine = create_db_engine(url)
    ok = errors = 0
    for i in range(n):
        try:
            if deferred == "1":
                raw = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=5, isolation_level=None)
                raw.execute("PRAGMA busy_timeout = 5000")
                raw.execute("BEGIN DEFERRED")
                raw.execute("SELECT count(*) FROM hospital").fetchall()
                time.sleep(0.001)
                raw.execute(
                    "INSERT INTO hospital (name, code, city, is_local, settings, created_at) "
                    "VALUES ('x', ?, '', 0, '{}', '2026-01-01')",
                    (f"D{i}-{time.time_ns()}",),
                )
                raw.execute("COMMIT")
                raw.close()
            else:
                with write_intent(), engine.begin() as conn:
                    conn.execute(text("SELECT count(*) FROM hospital")).scalar()
                    conn.execute(
                        text(
                            "INSERT INTO hospital (name, code, city, is_local, settings, created_at) "
                            "VALUES ('x', :c, '', false, '{}', '2026-01-01')"
                        ),
                        {"c": f"I{i}-{time.time_ns()}"},
                    )
            ok += 1
        except Exception:  # noqa: BLE001 - counted and reported to the parent
            errors += 1
    print(f"{ok} {errors}", flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "save_loop":
        save_loop(args[0])
    else:
        busy_writer(args[0], int(args[1]), args[2])
