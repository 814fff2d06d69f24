"""R6 at the database: two processes bind the same single-use item at once — exactly one wins.

The binding here bypasses all application checks (REL-4 (ii)): the partial unique index alone
must decide, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from sqlalchemy import func, select

from ecmo_desktop.storage.engine import create_db_engine
from ecmo_desktop.storage.orm.devices import ItemRow, ProductRow, UsageRow
from ecmo_desktop.storage.orm.people import HospitalRow, PatientRow, StaffRow
from ecmo_desktop.storage.orm.runs import RunRow
from ecmo_desktop.storage.unit_of_work import UnitOfWorkFactory
from tests.storage.race_worker import bind_raw

TRIALS = 8


def _setup(url: str, items: int) -> tuple[list[int], list[int], int]:
    engine = create_db_engine(url)
    factory = UnitOfWorkFactory(engine)
    now = datetime.now(UTC)
    with factory() as uow:
        s = uow.session
        h = HospitalRow(name="医院", code="H", city="市", created_at=now, settings={})
        staff = StaffRow(
            username="n", username_key="n", full_name="护士", title="nurse", password_hash="x", created_at=now
        )
        s.add_all([h, staff])
        s.flush()
        runs = []
        for i in range(2):
            p = PatientRow(hospital_id=h.id, mrn=f"M{i}", name=f"患者{i}", sex="M", created_at=now)
            s.add(p)
            s.flush()
            r = RunRow(
                hospital_id=h.id,
                patient_id=p.id,
                mode="VA",
                indication="ami",
                status="on_ecmo",
                created_at=now,
            )
            s.add(r)
            runs.append(r)
        prod = ProductRow(
            category="oxygenator", name="氧合器", gtin="06901234567892", single_use=True, created_at=now
        )
        s.add(prod)
        s.flush()
        ids = []
        for i in range(items):
            it = ItemRow(
                product_id=prod.id,
                item_key=f"gs1:06901234567892:SN{i}",
                serial=f"SN{i}",
                raw_code="x",
                created_at=now,
            )
            s.add(it)
            s.flush()
            ids.append(it.id)
        uow.commit()
        result = (ids, [r.id for r in runs], staff.id)
    engine.dispose()
    return result


def test_two_processes_binding_the_same_item_exactly_one_wins(db_url: str) -> None:
    items, runs, staff = _setup(db_url, TRIALS)
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for item in items:
        barrier = ctx.Barrier(2)
        results = ctx.Queue()
        procs = [
            ctx.Process(target=bind_raw, args=(db_url, item, run, staff, barrier, results)) for run in runs
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        got = sorted(results.get(timeout=5) for _ in procs)
        outcomes.append(got)
        assert got[0].startswith("refused") and got[1] == "won", got
        assert "device_usage" in got[0]
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(UsageRow))
        distinct = conn.scalar(select(func.count(func.distinct(UsageRow.item_id))))
    engine.dispose()
    assert total == distinct == TRIALS  # acked > 0: every trial bound exactly one


def test_voided_binding_frees_the_item_and_reusable_items_bind_twice(db_url: str) -> None:
    items, runs, staff = _setup(db_url, 1)
    engine = create_db_engine(db_url)
    factory = UnitOfWorkFactory(engine)
    now = datetime.now(UTC)
    with factory() as uow:
        first = UsageRow(
            item_id=items[0],
            run_id=runs[0],
            single_use=True,
            bound_at=now,
            bound_by_id=staff,
            scanned_text="x",
            voided_at=now,
            void_reason="扫错患者",
        )
        uow.session.add(first)
        uow.session.add(
            UsageRow(
                item_id=items[0],
                run_id=runs[1],
                single_use=True,
                bound_at=now,
                bound_by_id=staff,
                scanned_text="x",
            )
        )
        uow.session.add(
            UsageRow(
                item_id=items[0],
                run_id=runs[0],
                single_use=False,
                bound_at=now,
                bound_by_id=staff,
                scanned_text="x",
            )
        )
        uow.commit()
    engine.dispose()
