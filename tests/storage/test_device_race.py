"""R6 through the service, across processes (REL-4, REL-5): ward PCs scanning at the same moment.

Each child process is one workstation with its own engine and container, calling
``DeviceService.bind_scan`` exactly as the scan bar does; a ``Barrier`` releases them together.

* Two processes, the same item, ~10 trials per backend: exactly one ``bound``, the other
  ``blocked_reused`` naming the first patient. In half the trials the service's friendly pre-check
  is removed in the children (the negative control): the partial unique index alone must decide,
  and the loser must have come through the constraint-violation path.
* REL-5 contention on PostgreSQL: 4 processes × 25 bindings drawn from a pool of 30 items; bound
  rows equal distinct items, no process sees an unhandled error, every refusal is R6.
"""

from __future__ import annotations

import multiprocessing
import os
import random
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from ecmo_desktop.domain.devices import ProductInput
from ecmo_desktop.services.runs import PatientInput, RunInput
from ecmo_desktop.storage.orm.devices import UsageRow
from tests.conftest import Seeded
from tests.kit.devices import OXY_GTIN, audit_rows, label, set_status

FAR = date(2049, 12, 31)  # children use the real clock: keep every label far from expiry
TRIALS = 10
JOIN_TIMEOUT = 120


def _ward(seeded: Seeded, runs: int, items: int) -> tuple[list[int], list[str], list[str], Any]:
    """Runs on ECMO (one per workstation), received items; returns run ids, patient names, codes."""
    c: Any = seeded.container
    seeded.login("admin")
    c.devices.add_product(
        ProductInput(
            category="oxygenator",
            name="Quadrox-iD Adult 氧合器",
            manufacturer="Maquet",
            gtin=OXY_GTIN,
            nmpa_number="国械注进20173450123",
        )
    )
    seeded.login("zhangwei")
    run_ids, names = [], []
    for i in range(runs):
        p = c.runs.register_patient(PatientInput(mrn=f"R{i:03d}", name=f"患者{i}", sex="M"))
        run_ids.append(c.runs.open_run(p.id, RunInput(mode="VA", indication="ami")).id)
        set_status(c, run_ids[-1], "on_ecmo")
        names.append(p.name)
    seeded.login("chenjing")
    rec = c.devices.start_receiving(supplier="供应商")
    codes = [label(OXY_GTIN, serial=f"RACE{i:03d}", lot="LR1", expiry=FAR) for i in range(items)]
    for code in codes:
        c.devices.receive_scan(rec.id, code)
    user = c.ctx.user
    c.uow.engine.dispose()  # children must not inherit live connections
    return run_ids, names, codes, user


def _workstation(
    url: str, run_id: int, user: Any, plan: list[tuple[str, bool]], barrier: Any, results: Any
) -> None:
    """One ward PC: for each (code, bypass_precheck), wait for the others, then scan."""
    from ecmo_desktop.container import build_container

    c = build_container(url, workstation=f"pc-{os.getpid()}", migrate=False)
    c.ctx.user = user
    service = c.devices
    via_index: list[bool] = []
    real_after_conflict = service._reused_after_conflict

    def after_conflict(*args: Any, **kwargs: Any) -> Any:
        via_index.append(True)
        return real_after_conflict(*args, **kwargs)

    service._reused_after_conflict = after_conflict  # type: ignore[method-assign]
    try:
        for step, (code, bypass) in enumerate(plan):
            if bypass:
                service._precheck_reuse = lambda holder: None  # type: ignore[method-assign]
            else:
                service.__dict__.pop("_precheck_reuse", None)
            via_index.clear()
            barrier.wait(timeout=60)
            try:
                verdict = service.bind_scan(run_id, code)
                holder = verdict.holder.patient_name if verdict.holder else None
                holder_run = verdict.holder.run_id if verdict.holder else None
                results.put((step, code, run_id, verdict.kind.value, holder, holder_run, bool(via_index), ""))
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
                results.put((step, code, run_id, "error", None, None, False, f"{type(exc).__name__}: {exc}"))
    finally:
        c.close()


def _run(
    url: str, run_ids: list[int], user: Any, plans: list[list[tuple[str, bool]]]
) -> list[tuple[Any, ...]]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(run_ids))
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_workstation, args=(url, run_id, user, plan, barrier, results))
        for run_id, plan in zip(run_ids, plans, strict=True)
    ]
    for p in procs:
        p.start()
    expected = sum(len(plan) for plan in plans)
    got = [results.get(timeout=JOIN_TIMEOUT) for _ in range(expected)]
    for p in procs:
        p.join(JOIN_TIMEOUT)
        assert p.exitcode == 0
    return got


def _bound_rows(url: str) -> tuple[int, int]:
    from ecmo_desktop.storage.engine import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.scalar(
                select(func.count()).select_from(UsageRow).where(UsageRow.voided_at.is_(None))
            )
            distinct = conn.scalar(
                select(func.count(func.distinct(UsageRow.item_id))).where(UsageRow.voided_at.is_(None))
            )
    finally:
        engine.dispose()
    return int(total or 0), int(distinct or 0)


def test_two_workstations_scanning_the_same_item_exactly_one_binds(
    seeded_db_url: str, seeded: Seeded
) -> None:
    run_ids, names, codes, user = _ward(seeded, runs=2, items=TRIALS)
    plan = [(code, i % 2 == 1) for i, code in enumerate(codes)]  # odd trials: no pre-check (negative control)
    got = _run(seeded_db_url, run_ids, user, [plan, plan])
    assert [g[7] for g in got if g[3] == "error"] == []
    by_code: dict[str, list[tuple[Any, ...]]] = {}
    for g in got:
        by_code.setdefault(g[1], []).append(g)
    for i, code in enumerate(codes):
        pair = sorted(by_code[code], key=lambda g: g[3])
        assert [g[3] for g in pair] == ["blocked_reused", "bound"], pair
        loser, winner = pair
        assert loser[5] == winner[2]  # the refusal names the run that won …
        assert loser[4] == names[run_ids.index(winner[2])]  # … and its patient
        if i % 2 == 1:
            assert loser[6], "without the pre-check the unique index must be what refused"
    assert _bound_rows(seeded_db_url) == (TRIALS, TRIALS)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_contention_four_workstations_binding_from_a_shared_pool(seeded_db_url: str, seeded: Seeded) -> None:
    run_ids, _names, codes, user = _ward(seeded, runs=4, items=30)
    plans = []
    for w in range(4):
        rng = random.Random(1000 + w)
        plans.append([(rng.choice(codes), rng.random() < 0.5) for _ in range(25)])
    got = _run(seeded_db_url, run_ids, user, plans)
    assert [g[7] for g in got if g[3] == "error"] == []
    kinds = {g[3] for g in got}
    assert kinds <= {"bound", "blocked_reused"}, kinds
    bound_codes = [g[1] for g in got if g[3] == "bound"]
    assert len(bound_codes) == len(set(bound_codes))  # no item bound twice
    assert all(
        g[5] in run_ids and g[4] for g in got if g[3] == "blocked_reused"
    )  # every refusal names a holder
    assert _bound_rows(seeded_db_url) == (len(bound_codes), len(bound_codes))
    assert len(set(bound_codes)) == len({g[1] for g in got})  # every item that was tried ended up bound once
    c: Any = seeded.container
    seeded.login("admin")
    assert c.audit.verify_chain().ok
    assert len(audit_rows(c, action="bind")) == len(bound_codes)  # one audit row per binding, none for losers
    assert len(audit_rows(c, action="bind_refused")) == len(got) - len(bound_codes)
