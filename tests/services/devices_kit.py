"""Shared set-up for the device tests: a small catalogue, received stock, two patients on ECMO.

Label texts are built the way a scanner sends them (GS1 element strings with GS separators), with
GTINs whose check digits are computed, so the parser accepts them exactly as at the bedside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ecmo_desktop.domain.devices import ProductInput, gs1_check_digit
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.conftest import Seeded

GS = "\x1d"


def gtin(body13: str) -> str:
    """A GTIN-14 from its first 13 digits, check digit computed."""
    return body13 + str(gs1_check_digit(body13))


OXY_GTIN = gtin("0690123400001")
PUMP_GTIN = gtin("0690123400002")
NO_NMPA_GTIN = gtin("0690123400003")
CANNULA_GTIN = gtin("0690123400004")  # lot-only labels
UNKNOWN_GTIN = gtin("0690123499999")


def label(gtin14: str, *, serial: str | None = None, lot: str | None = None, expiry: date | None = None) -> str:
    """A GS1 element string: (01) GTIN, (17) expiry, (10) lot, (21) serial, GS after variable fields."""
    text = "01" + gtin14
    if expiry is not None:
        text += "17" + expiry.strftime("%y%m%d")
    if lot is not None:
        text += "10" + lot + (GS if serial is not None else "")
    if serial is not None:
        text += "21" + serial
    return text


LATER = date(2027, 12, 31)


@dataclass
class Ward:
    seeded: Seeded
    c: Any
    oxy: Any
    pump: Any
    no_nmpa: Any
    cannula: Any
    receiving: Any
    run1: Any
    run2: Any
    patient1: Any
    patient2: Any

    def login(self, username: str) -> None:
        self.seeded.login(username)


def make_ward(seeded: Seeded, *, set_on_ecmo: bool = True) -> Ward:
    c: Any = seeded.container
    seeded.login("admin")
    oxy = c.devices.add_product(ProductInput(category="oxygenator", name="Quadrox-iD Adult 氧合器",
                                             manufacturer="Maquet", model="BE-PLS 2050", gtin=OXY_GTIN,
                                             nmpa_number="国械注进20173450123"))
    pump = c.devices.add_product(ProductInput(category="pump_head", name="RotaFlow 离心泵头", manufacturer="Maquet",
                                              model="RF-32", gtin=PUMP_GTIN, nmpa_number="国械注进20163451234"))
    no_nmpa = c.devices.add_product(ProductInput(category="connector", name="Y 型连接管", manufacturer="某厂",
                                                 model="Y-38", gtin=NO_NMPA_GTIN, nmpa_number=""))
    cannula = c.devices.add_product(ProductInput(category="drainage_cannula", name="股静脉引流插管 25Fr",
                                                 manufacturer="Medtronic", model="96670-125", gtin=CANNULA_GTIN,
                                                 nmpa_number="国械注进20193770001"))
    seeded.login("chenjing")
    receiving = c.devices.start_receiving(supplier="国药控股内蒙古有限公司", delivery_note="DN-001")
    seeded.login("zhangwei")
    p1 = c.runs.register_patient(PatientInput(mrn="A1001", name="王建国", sex="M"))
    p2 = c.runs.register_patient(PatientInput(mrn="A1002", name="李秀英", sex="F"))
    r1 = c.runs.open_run(p1.id, RunInput(mode="VA", indication="ami"))
    r2 = c.runs.open_run(p2.id, RunInput(mode="VV", indication="ards"))
    if set_on_ecmo:
        set_status(c, r1.id, "on_ecmo")
        set_status(c, r2.id, "on_ecmo")
    seeded.login("chenjing")
    return Ward(seeded, c, oxy, pump, no_nmpa, cannula, receiving, r1, r2, p1, p2)


def set_status(c: Any, run_id: int, status: str) -> None:
    """Run status belongs to the records workflow; tests set it directly."""
    with c.uow() as uow:
        uow.runs.update(run_id, status=status)
        uow.commit()


def receive(w: Ward, text: str, **kwargs: Any) -> Any:
    return w.c.devices.receive_scan(w.receiving.id, text, **kwargs)


def audit_rows(c: Any, *, action: str | None = None, entity: str | None = None) -> list[Any]:
    with c.uow(write=False) as uow:
        events = list(uow.audit.iterate())
    return [e for e in events if (action is None or e.action == action) and (entity is None or e.entity == entity)]
