"""Helpers for the device UI tests: a small catalogue, a delivery, two patients on runs.

Set-up goes through the services on the test thread (as admin, doctor and nurse, like
``tests/kit/devices.py``), then the person under test logs in on the task runner the way
the UI does. Labels are GS1 element strings with computed check digits (``tests.kit.devices.label``).
``click`` and ``closed`` are ``tests.kit.ui``'s, re-exported for the device UI tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ecmo_desktop.domain.devices import Product, ProductInput, Receiving, ScanVerdict
from ecmo_desktop.services.runs import PatientInput, RunInput
from ecmo_desktop.ui.devices import DevicesPage
from ecmo_desktop.ui.devices.run_devices_tab import RunDevicesTab
from ecmo_desktop.ui.scan_bar import Level, ScanBar
from tests.kit.devices import CANNULA_GTIN, LATER, NO_NMPA_GTIN, OXY_GTIN, label
from tests.kit.ui import click, closed, login_as, wait_tasks


@dataclass
class Ward:
    c: Any
    oxy: Product
    no_nmpa: Product
    cannula: Product
    receiving: Receiving
    run1: int
    run2: int
    patient1: Any
    patient2: Any


def make_ward(seeded: Any, *, admin_also_nurse: bool = False) -> Ward:
    """Catalogue (as admin), two patients with planned runs (as doctor), a delivery (as nurse)."""
    c = seeded.container
    seeded.login("admin")
    add = c.devices.add_product
    oxy = add(
        ProductInput(
            category="oxygenator",
            name="Quadrox-iD 氧合器",
            manufacturer="Maquet",
            model="BE-PLS 2050",
            gtin=OXY_GTIN,
            nmpa_number="国械注进20173450123",
        )
    )
    no_nmpa = add(
        ProductInput(
            category="connector",
            name="Y 型连接管",
            manufacturer="某厂",
            model="Y-38",
            gtin=NO_NMPA_GTIN,
            nmpa_number="",
        )
    )
    cannula = add(
        ProductInput(
            category="drainage_cannula",
            name="股静脉引流插管 25Fr",
            manufacturer="Medtronic",
            model="96670-125",
            gtin=CANNULA_GTIN,
            nmpa_number="国械注进20193770001",
        )
    )
    if admin_also_nurse:
        me = c.staff.get_staff(seeded.admin_id)
        c.staff.update_staff(
            me.id,
            expected_version=me.version,
            full_name=me.full_name,
            title=me.title,
            department=me.department,
            years_in_practice=me.years_in_practice,
            roles=["admin", "nurse"],
            ecmo_trained=True,
        )
    seeded.login("zhangwei")
    p1 = c.runs.register_patient(PatientInput(mrn="ZY100001", name="王建国", sex="M"))
    p2 = c.runs.register_patient(PatientInput(mrn="ZY100002", name="李秀英", sex="F"))
    r1 = c.runs.open_run(p1.id, RunInput(mode="VA", indication="ami")).id
    r2 = c.runs.open_run(p2.id, RunInput(mode="VV", indication="ards")).id
    seeded.login("chenjing")
    receiving = c.devices.start_receiving(supplier="国药控股内蒙古有限公司", delivery_note="DN-1")
    return Ward(c, oxy, no_nmpa, cannula, receiving, r1, r2, p1, p2)


def oxy_label(serial: str = "SN1", lot: str = "L2401", expiry: date = LATER) -> str:
    return label(OXY_GTIN, serial=serial, lot=lot, expiry=expiry)


def receive(ward: Ward, text: str, **kwargs: Any) -> Any:
    """Receive through the service as whoever is logged in (the nurse after ``make_ward``)."""
    return ward.c.devices.receive_scan(ward.receiving.id, text, **kwargs)


def log_in(ui: Any, qtbot: Any, username: str) -> None:
    ui.services.ctx.user = None
    login_as(ui, qtbot, username)


def open_tab(qtbot: Any, ui: Any, run_id: int) -> RunDevicesTab:
    tab = RunDevicesTab(ui, run_id)
    qtbot.addWidget(tab)
    tab.resize(1200, 800)
    tab.show()
    qtbot.waitUntil(lambda: tab.loads >= 1, timeout=10_000)
    tab.scan_bar.sound = lambda level: None
    return tab


class Sounds:
    def __init__(self, bar: ScanBar) -> None:
        self.levels: list[Level] = []
        bar.sound = self.levels.append


def wait_banner(qtbot: Any, ui: Any, bar: ScanBar, level: Level) -> None:
    """Until the bar shows a final answer of ``level`` (not the "checking …" note) and all jobs ran."""
    qtbot.waitUntil(lambda: bar.banner.level is level, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)


def last_verdict(tab: RunDevicesTab, text: str) -> ScanVerdict:
    return tab._verdicts[text]


def finish_dialog(qtbot: Any, ui: Any, dialog: Any) -> None:
    """Press OK and wait until the dialog has closed after its service call succeeded."""
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    wait_tasks(qtbot, ui.tasks)


def run_rows(ui: Any, run_id: int) -> list[Any]:
    """The run's bindings as the service reads them (the record, not the screen)."""
    return ui.services.devices.trace_run(run_id, include_voided=True)


def open_page(qtbot: Any, ui: Any, tab: str) -> tuple[DevicesPage, Any]:
    """The page (kept by the caller: qtbot only holds widgets weakly) and its sub-tab ``tab``."""
    page = DevicesPage(ui)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    page.show()
    widget = page.show_tab(tab)
    assert widget is not None, tab
    if hasattr(widget, "scan_bar"):
        widget.scan_bar.sound = lambda level: None
    wait_tasks(qtbot, ui.tasks)
    return page, widget
