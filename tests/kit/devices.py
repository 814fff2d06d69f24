"""Shared set-up for the device tests: a small catalogue, received stock, two patients on ECMO.

Test modules import ``ward_db_fixture`` and ``ward_fixture`` (registered as ``ward_db`` and
``ward``). A fresh PostgreSQL database costs about two seconds to create and drop, so the device tests share
one migrated database per test module and backend (``ward_db``), and every test gets its own
patients, runs, delivery and a unique tag that it appends to serials and lots (``ward``). Tests
therefore never see each other's items; counts are taken per run or as before/after deltas.

Label texts are built the way a scanner sends them (GS1 element strings with GS separators), with
GTINs whose check digits are computed, so the parser accepts them exactly as at the bedside.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from ecmo_desktop.domain.devices import ProductInput, gs1_check_digit
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.kit.db import ALL_BACKENDS, PASSWORD, START, OnSharedDB, SharedDB, shared_hospital

GS = "\x1d"
TODAY = date(2026, 3, 2)
LATER = date(2027, 12, 31)


def gtin(body13: str) -> str:
    """A GTIN-14 from its first 13 digits, check digit computed."""
    return body13 + str(gs1_check_digit(body13))


OXY_GTIN = gtin("0690123400001")
PUMP_GTIN = gtin("0690123400002")
NO_NMPA_GTIN = gtin("0690123400003")
CANNULA_GTIN = gtin("0690123400004")  # lot-only labels
UNKNOWN_GTIN = gtin("0690123499999")


def label(
    gtin14: str, *, serial: str | None = None, lot: str | None = None, expiry: date | None = None
) -> str:
    """A GS1 element string: (01) GTIN, (17) expiry, (10) lot, (21) serial, GS after variable fields."""
    text = "01" + gtin14
    if expiry is not None:
        text += "17" + expiry.strftime("%y%m%d")
    if lot is not None:
        text += "10" + lot + (GS if serial is not None else "")
    if serial is not None:
        text += "21" + serial
    return text


@dataclass(kw_only=True)
class WardDB(SharedDB):
    """One migrated database with accounts and the catalogue, shared by a test module."""

    oxy: Any
    pump: Any
    no_nmpa: Any
    cannula: Any
    counter: Iterator[int]


@dataclass
class Ward(OnSharedDB):
    """One test's patients, runs on ECMO and open delivery, and its tag for serials and lots."""

    db: WardDB
    tag: str
    receiving: Any
    run1: Any
    run2: Any
    patient1: Any
    patient2: Any

    @property
    def oxy(self) -> Any:
        return self.db.oxy

    @property
    def pump(self) -> Any:
        return self.db.pump

    @property
    def cannula(self) -> Any:
        return self.db.cannula

    @property
    def no_nmpa(self) -> Any:
        return self.db.no_nmpa

    def t(self, text: str) -> str:
        """``text`` made unique to this test (serials, lots)."""
        return f"{text}{self.tag}"


def _catalogue(c: Any) -> dict[str, Any]:
    add = c.devices.add_product
    return {
        "oxy": add(
            ProductInput(
                category="oxygenator",
                name="Quadrox-iD Adult 氧合器",
                manufacturer="Maquet",
                model="BE-PLS 2050",
                gtin=OXY_GTIN,
                nmpa_number="国械注进20173450123",
            )
        ),
        "pump": add(
            ProductInput(
                category="pump_head",
                name="RotaFlow 离心泵头",
                manufacturer="Maquet",
                model="RF-32",
                gtin=PUMP_GTIN,
                nmpa_number="国械注进20163451234",
            )
        ),
        "no_nmpa": add(
            ProductInput(
                category="connector",
                name="Y 型连接管",
                manufacturer="某厂",
                model="Y-38",
                gtin=NO_NMPA_GTIN,
                nmpa_number="",
            )
        ),
        "cannula": add(
            ProductInput(
                category="drainage_cannula",
                name="股静脉引流插管 25Fr",
                manufacturer="Medtronic",
                model="96670-125",
                gtin=CANNULA_GTIN,
                nmpa_number="国械注进20193770001",
            )
        ),
    }


@pytest.fixture(name="ward_db", scope="module", params=ALL_BACKENDS)
def ward_db_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WardDB]:
    with shared_hospital(request, tmp_path_factory.mktemp("devices"), prefix="ecmo_dev") as (c, clock, ids):
        c.auth.login("admin", PASSWORD)
        products = _catalogue(c)
        yield WardDB(c, clock, str(request.param), ids, counter=itertools.count(1), **products)


@pytest.fixture(name="ward")
def ward_fixture(ward_db: WardDB) -> Ward:
    """Fresh patients, runs (on ECMO) and a delivery for one test, the clock back at START."""
    db = ward_db
    db.clock.set(START)
    n = next(db.counter)
    tag = f"Q{n}"
    c = db.c
    db.login("zhangwei")
    p1 = c.runs.register_patient(PatientInput(mrn=f"A{n}01", name="王建国", sex="M"))
    p2 = c.runs.register_patient(PatientInput(mrn=f"A{n}02", name="李秀英", sex="F"))
    r1 = c.runs.open_run(p1.id, RunInput(mode="VA", indication="ami"))
    r2 = c.runs.open_run(p2.id, RunInput(mode="VV", indication="ards"))
    set_status(c, r1.id, "on_ecmo")
    set_status(c, r2.id, "on_ecmo")
    db.login("chenjing")
    receiving = c.devices.start_receiving(supplier="国药控股内蒙古有限公司", delivery_note=f"DN-{tag}")
    return Ward(db, tag, receiving, r1, r2, p1, p2)


def set_status(c: Any, run_id: int, status: str) -> None:
    """Run status belongs to the records workflow; tests set it directly."""
    with c.uow() as uow:
        uow.runs.update(run_id, status=status)
        uow.commit()


def receive(w: Ward, text: str, **kwargs: Any) -> Any:
    return w.c.devices.receive_scan(w.receiving.id, text, **kwargs)


def received_while_valid(c: Any, receiving_id: int, text: str, **kwargs: Any) -> Any:
    """Receive an item that expires before today as it was received: a year ago, while still valid
    (receiving refuses an expired item), then bring the clock back — it expired on the shelf."""
    clock = c.ctx.clock
    now = clock.now()
    clock.set(now - timedelta(days=365))
    try:
        return c.devices.receive_scan(receiving_id, text, **kwargs)
    finally:
        clock.set(now)


def audit_rows(
    c: Any, *, action: str | None = None, entity: str | None = None, run_id: int | None = None, since: int = 0
) -> list[Any]:
    """Audit events after sequence ``since`` matching the filters."""
    with c.uow(write=False) as uow:
        events = [e for e in uow.audit.iterate() if e.seq > since]
    return [
        e
        for e in events
        if (action is None or e.action == action)
        and (entity is None or e.entity == entity)
        and (run_id is None or e.run_id == run_id)
    ]


def audit_head(c: Any) -> int:
    with c.uow(write=False) as uow:
        head = uow.audit.head()
    return head.seq if head else 0


def run_usages(c: Any, run_id: int) -> int:
    """Bindings of a run that are not voided."""
    with c.uow(write=False) as uow:
        return len(uow.devices.trace(run_id=run_id, include_voided=False))
