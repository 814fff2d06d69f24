"""Two ward PCs saving or signing the same record at the same moment, with the overlap forced.

Used by ``test_record_race.py`` (a few collisions per kind) and ``benchmarks/record_race.py`` (1,000 per
kind). Each PC is a real process with its own engine and container, calling ``RecordService`` as the
record dialogs do, with the version the screen showed. Both PCs load the record ("the screen"), then:

* PostgreSQL: a hook in the repository's update path (``records.before_update``) holds each PC's
  transaction right after the service read and checked the row, until both are there (barrier). Then
  either one PC commits first and the other continues only afterwards (``ordered``: the READ COMMITTED
  lost-update interleaving), or both continue at once (``together``: the row lock decides).
* SQLite: writers are serialised by ``BEGIN IMMEDIATE``, so transactions cannot overlap; both PCs are
  released at once with the same screen version.

Every collision must end with exactly one winner, the other told (conflict or record locked), and the
stored record exactly as the winner left it (no silent overwrite, no signature on other content).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tests.kit.db import PASSWORD

WAIT = 60.0
KINDS = ("edit-edit", "sign-edit")


@dataclass(frozen=True)
class Step:
    """One PC's part in one collision."""

    trial: int
    kind: str
    action: str  # "edit" | "sign"
    entry_id: int
    version: int  # what the screen showed
    shown_hash: str  # the content hash of what the screen showed (signing binds it)
    recorded_at: datetime
    hr: int  # the value this PC saves (edit)
    order: str  # "first" | "second" | "together"


def workstation(url: str, user: Any, steps: list[Step], barriers: tuple[Any, Any, Any], results: Any) -> None:
    """One ward PC (child process)."""
    from ecmo_desktop.container import build_container
    from ecmo_desktop.domain.errors import ConcurrencyConflict
    from ecmo_desktop.domain.records import DailyEntryInput, RecordLocked
    from ecmo_desktop.storage.repositories import records as repo

    start, inside, after = barriers
    c = build_container(url, workstation=f"pc-{os.getpid()}", migrate=False)
    c.ctx.user = user
    pg = c.uow.backend == "postgresql"
    state: dict[str, Any] = {"step": None, "held": False}

    def hold(entity: str, record_id: int) -> None:
        step: Step | None = state["step"]
        if not pg or step is None or state["held"] or record_id != step.entry_id:
            return
        state["held"] = True
        gc.collect(1)  # the row object of the first read may be gone; correctness must not depend on it
        inside.wait(timeout=WAIT)  # both PCs have read the row and checked the version
        if step.order == "second":
            after.wait(timeout=WAIT)  # … and this one goes on only after the other has committed

    repo.before_update = hold
    try:
        for step in steps:
            state.update(step=step, held=False)
            start.wait(timeout=WAIT)
            t0 = time.monotonic()
            try:
                if step.action == "edit":
                    c.records.update_daily_entry(
                        step.entry_id,
                        DailyEntryInput(recorded_at=step.recorded_at, values={"hr": step.hr}),
                        expected_version=step.version,
                    )
                else:
                    c.records.sign(
                        "daily_entry",
                        step.entry_id,
                        PASSWORD,
                        expected_version=step.version,
                        shown_hash=step.shown_hash,
                    )
                outcome, detail = "ok", ""
            except ConcurrencyConflict:
                outcome, detail = "conflict", ""
            except RecordLocked:
                outcome, detail = "locked", ""
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails
                outcome, detail = "error", f"{type(exc).__name__}: {exc}"
            finally:
                if pg and step.order == "first":
                    after.wait(timeout=WAIT)
            results.put((step.trial, step.action, step.hr, outcome, detail, time.monotonic() - t0))
    finally:
        repo.before_update = None
        c.close()


def prepare(c: Any, trials: int, login: Any, mrn: str = "RACE1") -> list[tuple[int, int, datetime, str]]:
    """A run on ECMO and one draft daily entry per collision: (id, version, recorded_at, hash)."""
    from datetime import timedelta

    from ecmo_desktop.domain.records import DailyEntryInput, content_hash
    from ecmo_desktop.services.runs import PatientInput, RunInput
    from ecmo_desktop.storage.orm.runs import RunRow

    login("zhangwei")
    p = c.runs.register_patient(PatientInput(mrn=mrn, name="竞争患者", sex="M"))
    run = c.runs.open_run(p.id, RunInput(mode="VA", indication="ami"))
    started = c.ctx.now() - timedelta(days=1)
    with c.uow() as uow:  # on ECMO since yesterday (the cannulation's own rules are tested elsewhere)
        uow.session.get(RunRow, run.id).started_at = started
        uow.session.get(RunRow, run.id).status = "on_ecmo"
        uow.commit()
    out = []
    for i in range(trials):
        e = c.records.record_daily_entry(
            run.id, DailyEntryInput(recorded_at=started + timedelta(seconds=i + 1), values={"hr": 80})
        )
        out.append((e.id, e.version, e.recorded_at, content_hash(e)))
    return out


def plan(
    entries: list[tuple[int, int, datetime, str]], kind: str, pg: bool, first_trial: int = 0
) -> tuple[list[Step], list[Step]]:
    """Both PCs' steps: roles and who goes first alternate; PostgreSQL alternates ordered/together."""
    a: list[Step] = []
    b: list[Step] = []
    for n, (entry_id, version, at, shown) in enumerate(entries):
        trial = first_trial + n
        if kind == "edit-edit":
            actions = ("edit", "edit")
        else:
            actions = ("sign", "edit") if n % 2 == 0 else ("edit", "sign")
        if pg and n % 4 in (0, 3):
            orders = ("first", "second") if (n // 2) % 2 == 0 else ("second", "first")
        else:
            orders = ("together", "together")
        a.append(Step(trial, kind, actions[0], entry_id, version, shown, at, 101, orders[0]))
        b.append(Step(trial, kind, actions[1], entry_id, version, shown, at, 102, orders[1]))
    return a, b


def race(url: str, users: tuple[Any, Any], steps: tuple[list[Step], list[Step]]) -> list[tuple[Any, ...]]:
    """Run both PCs to the end; returns every (trial, action, hr, outcome, detail, seconds)."""
    ctx = multiprocessing.get_context("fork")
    barriers = (ctx.Barrier(2), ctx.Barrier(2), ctx.Barrier(2))
    results = ctx.Queue()
    procs = [
        ctx.Process(target=workstation, args=(url, user, s, barriers, results))
        for user, s in zip(users, steps, strict=True)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=WAIT * 3) for _ in range(sum(len(s) for s in steps))]
    for p in procs:
        p.join(WAIT)
    return got


@dataclass
class Tally:
    collisions: int = 0
    one_winner: int = 0
    both_won: int = 0
    none_won: int = 0
    silent_overwrites: int = 0
    bad_signatures: int = 0
    errors: int = 0

    def clean(self) -> bool:
        return (
            self.one_winner == self.collisions
            and not self.both_won
            and not self.none_won
            and not self.silent_overwrites
            and not self.bad_signatures
            and not self.errors
        )


def check(
    url: str, steps: tuple[list[Step], list[Step]], got: list[tuple[Any, ...]]
) -> tuple[Tally, list[str]]:
    """Compare every collision's outcome with what is stored."""
    from ecmo_desktop.domain.records import content_hash
    from ecmo_desktop.storage.engine import create_db_engine
    from ecmo_desktop.storage.orm.audit import AuditRow
    from ecmo_desktop.storage.orm.records import SignatureRow
    from ecmo_desktop.storage.unit_of_work import UnitOfWorkFactory

    by_trial: dict[int, dict[str, Any]] = {}
    for s in steps[0] + steps[1]:
        by_trial.setdefault(s.trial, {"steps": [], "out": []})["steps"].append(s)
    for g in got:
        by_trial[g[0]]["out"].append(g)
    tally, notes = Tally(), []
    engine = create_db_engine(url)
    factory = UnitOfWorkFactory(engine)
    try:
        with factory(write=False) as uow:
            for trial, t in sorted(by_trial.items()):
                tally.collisions += 1
                outs = {(g[1], g[2]): g[3] for g in t["out"]}
                if len(t["out"]) != 2 or any(g[3] not in ("ok", "conflict", "locked") for g in t["out"]):
                    tally.errors += 1
                    notes.append(f"trial {trial}: {t['out']}")
                    continue
                winners = [k for k, v in outs.items() if v == "ok"]
                step = t["steps"][0]
                rec = uow.records.get("daily_entry", step.entry_id)
                sigs = [
                    x
                    for x in uow.session.scalars(
                        select(SignatureRow).where(
                            SignatureRow.entity == "daily_entry",
                            SignatureRow.entity_id == step.entry_id,
                            SignatureRow.state == "valid",
                        )
                    )
                ]
                events = list(
                    uow.session.scalars(
                        select(AuditRow.action).where(
                            AuditRow.entity == "daily_entry",
                            AuditRow.entity_id == step.entry_id,
                            AuditRow.action.in_(("update", "sign")),
                        )
                    )
                )
                if len(winners) == 2:
                    tally.both_won += 1
                elif not winners:
                    tally.none_won += 1
                else:
                    tally.one_winner += 1
                action, hr = winners[0] if winners else ("", 0)
                # what is stored must be exactly the winner's save (or the original when nobody won)
                expected_hr = hr if action == "edit" else 80
                expected_status = "signed" if action == "sign" else "draft"
                if (
                    rec.values.get("hr") != expected_hr
                    or rec.status != expected_status
                    or rec.version != step.version + len(winners)
                    or len(events) != len(winners)
                ):
                    tally.silent_overwrites += 1
                    notes.append(
                        f"trial {trial} {outs}: stored hr={rec.values.get('hr')} status={rec.status} "
                        f"v{rec.version} events={events}"
                    )
                if action == "sign":
                    if (
                        len(sigs) != 1
                        or sigs[0].content_hash != step.shown_hash
                        or sigs[0].content_hash != content_hash(rec)
                        or sigs[0].record_version != rec.version
                    ):
                        tally.bad_signatures += 1
                        notes.append(f"trial {trial}: signature does not bind what the signer saw")
                elif sigs:
                    tally.bad_signatures += 1
                    notes.append(f"trial {trial}: a valid signature on a record that was not signed")
    finally:
        engine.dispose()
    return tally, notes
