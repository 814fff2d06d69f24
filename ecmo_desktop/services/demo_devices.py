"""Demo devices: a realistic catalogue, deliveries as stock runs low, and the circuit of every case.

Everything goes through ``DeviceService`` / ``EquipmentService`` as a ward would use them (scans are
real GS1 element strings with valid check digits), so demo data exercises the same rules: R5 (one
product has no NMPA number and is bound with a reason), lot-only cannulae (bound with an
attestation), R6 (every item is bound once), recalls trace to real demo patients.

Devices follow the procedures the demo's records course writes:

* cannulation → the circuit is bound *at that procedure*: an oxygenator, a pump head, a tubing pack,
  a drainage and a return cannula, and a distal perfusion cannula in most VA runs; a console and a
  heater-cooler are linked to the run;
* circuit change → the oxygenator (sometimes the pump head too) is retired and a new one bound there;
* decannulation → everything still in the circuit is retired and the equipment unlinked.

The records course records a whole case (cannulation … end of support) inside its own course step,
so devices cannot wait for a later step: the run is closed by then. ``attach`` therefore observes
the three ``RecordService`` calls on the generator's own container while the generator's stepping
clock is in use, and is a plain pass-through at any other time (a GUI session can never trigger demo
bindings). Without a records course (or for a run it did not cannulate) the course step binds the
circuit at run level instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ecmo_desktop.domain.devices import (
    EquipmentInput,
    ProductInput,
    ScanVerdict,
    VerdictKind,
    gs1_check_digit,
)
from ecmo_desktop.domain.enums import Mode, RunStatus
from ecmo_desktop.domain.errors import EcmoError

GS = "\x1d"
ATTESTATION = "标签无序列号：已核对包装完好、未开封，系首次使用"
NO_NMPA_REASON = "科室应急备用库存，注册证复印件待供应商补交，经科主任同意使用"


@dataclass(frozen=True)
class DemoProduct:
    key: str
    category: str
    name: str
    manufacturer: str
    model: str
    gtin_body: str  # 13 digits; the check digit is computed
    nmpa: str
    serialised: bool
    supplier: str
    lot_prefix: str

    @property
    def gtin(self) -> str:
        return self.gtin_body + str(gs1_check_digit(self.gtin_body))


IMPORTER = "国药控股内蒙古有限公司"
DOMESTIC = "华润医药商业集团内蒙古有限公司"
PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        "quadrox",
        "oxygenator",
        "Quadrox-iD Adult 膜式氧合器",
        "Maquet Cardiopulmonary GmbH",
        "BE-PLS 2050",
        "0403769120501",
        "国械注进20173450123",
        True,
        IMPORTER,
        "QX",
    ),
    DemoProduct(
        "hilite",
        "oxygenator",
        "Hilite 7000LT 膜式氧合器",
        "Medos Medizintechnik AG",
        "HILITE 7000 LT",
        "0426011270002",
        "国械注进20163450456",
        True,
        IMPORTER,
        "HL",
    ),
    DemoProduct(
        "hanuo",
        "oxygenator",
        "一次性使用膜式氧合器",
        "汉诺医疗科技有限公司",
        "HN-OX-A",
        "0695812300011",
        "国械注准20233100456",
        True,
        DOMESTIC,
        "HN",
    ),
    DemoProduct(
        "rotaflow",
        "pump_head",
        "RotaFlow 一次性离心泵头",
        "Maquet Cardiopulmonary GmbH",
        "RF-32",
        "0403769120518",
        "国械注进20163451234",
        True,
        IMPORTER,
        "RF",
    ),
    DemoProduct(
        "saiteng",
        "pump_head",
        "一次性使用离心泵泵头",
        "赛腾医疗科技有限公司",
        "ST-CP-01",
        "0695733100025",
        "国械注准20213100456",
        True,
        DOMESTIC,
        "ST",
    ),
    DemoProduct(
        "tubing",
        "tubing_pack",
        "ECMO 体外循环管路套包（肝素涂层）",
        "山东威高新生医疗器械有限公司",
        "WG-ECMO-A",
        "0692090100033",
        "国械注准20153100789",
        True,
        DOMESTIC,
        "WG",
    ),
    DemoProduct(
        "drain25",
        "drainage_cannula",
        "Bio-Medicus NextGen 股静脉引流插管 25Fr",
        "Medtronic",
        "96880-125",
        "0064316901254",
        "国械注进20193770001",
        True,
        IMPORTER,
        "MV",
    ),
    DemoProduct(
        "drain23",
        "drainage_cannula",
        "HLS 股静脉引流插管 23Fr",
        "Maquet Cardiopulmonary GmbH",
        "BE-PVL 2355",
        "0403769123557",
        "国械注进20183770101",
        False,
        IMPORTER,
        "HV",
    ),
    DemoProduct(
        "return17",
        "return_cannula",
        "Bio-Medicus NextGen 股动脉插管 17Fr",
        "Medtronic",
        "96820-117",
        "0064316901179",
        "国械注进20193770002",
        True,
        IMPORTER,
        "MA",
    ),
    DemoProduct(
        "return15",
        "return_cannula",
        "HLS 股动脉插管 15Fr",
        "Maquet Cardiopulmonary GmbH",
        "BE-PAL 1515",
        "0403769115156",
        "国械注进20183770102",
        False,
        IMPORTER,
        "HA",
    ),
    DemoProduct(
        "distal8",
        "distal_perfusion_cannula",
        "远端灌注插管 8Fr",
        "宁波某医疗器械有限公司",
        "DP-08",
        "0695900108083",
        "",
        False,
        DOMESTIC,
        "DP",
    ),
)
EQUIPMENT = (
    EquipmentInput(kind="console", model="Cardiohelp", manufacturer="Maquet", serial="CH-90312"),
    EquipmentInput(kind="console", model="Rotaflow II", manufacturer="Maquet", serial="RF2-11873"),
    EquipmentInput(
        kind="console", model="HN-ECMO-1", manufacturer="汉诺医疗科技有限公司", serial="HN-2210045"
    ),
    EquipmentInput(kind="heater_cooler", model="HU 35", manufacturer="Maquet", serial="HU35-70021"),
)
DELIVERY_UNITS = 6


def demo_label(product: DemoProduct, lot: str, expiry: datetime, serial: str | None) -> str:
    text = f"01{product.gtin}17{expiry:%y%m%d}10{lot}"
    return text + (f"{GS}21{serial}" if serial else "")


@dataclass
class _Shelf:
    codes: list[tuple[str, date]] = field(default_factory=list)  # (label, expiry), first in first out
    deliveries: int = 0


class DeviceDemo:
    """Called by ``DemoGenerator`` (``services/demo.py``) once per case, after the case is opened."""

    def __init__(self, generator: Any) -> None:
        self.g = generator
        self.rng = random.Random(generator.rng.random())
        self.products: dict[str, DemoProduct] = {p.key: p for p in PRODUCTS}
        self.product_ids: dict[str, int] = {}
        self.shelves: dict[str, _Shelf] = {p.key: _Shelf() for p in PRODUCTS}
        self.equipment_ids: list[int] = []
        self.circuits: dict[
            int, dict[str, int | None]
        ] = {}  # run → usage ids of its oxygenator and pump head
        self.done: set[int] = set()
        self.ready = False
        self.attach()

    # ---- set-up ----------------------------------------------------------------------------------
    def setup(self) -> None:
        """Catalogue and equipment register, once per database (existing entries are kept)."""
        team = self.g.staff
        self.g.act_as(team.admin)
        s = self.g.s
        existing = {p.gtin: p for p in s.devices.list_products(include_inactive=True)}
        for product in PRODUCTS:
            found = existing.get(product.gtin)
            if found is None:
                found = s.devices.add_product(
                    ProductInput(
                        category=product.category,
                        name=product.name,
                        manufacturer=product.manufacturer,
                        model=product.model,
                        gtin=product.gtin,
                        nmpa_number=product.nmpa,
                        single_use=True,
                    )
                )
            self.product_ids[product.key] = found.id
        known = {e.serial: e for e in s.equipment.list_equipment(include_inactive=True)}
        for item in EQUIPMENT:
            eq = known.get(item.serial) or s.equipment.add_equipment(item)
            self.equipment_ids.append(eq.id)
        self.ready = True

    def _take(self, key: str) -> str:
        """The label of the next unit on the shelf; a delivery arrives when the shelf is empty.

        Units that expired on the shelf stay in stock unbound (the stock view shows them as
        expired), as on a real ward before they are written off.
        """
        shelf = self.shelves[key]
        today = self.g.ctx.now().date()
        shelf.codes = [(code, expiry) for code, expiry in shelf.codes if expiry > today]
        if not shelf.codes:
            self._deliver(key)
        return shelf.codes.pop(0)[0]

    def _deliver(self, key: str) -> None:
        product = self.products[key]
        shelf = self.shelves[key]
        shelf.deliveries += 1
        now = self.g.ctx.now()
        team = self.g.staff
        current = self.g.ctx.user
        self.g.act_as(team.nurses[0])
        try:
            s = self.g.s
            lot = f"{product.lot_prefix}{now:%y%m}{shelf.deliveries:02d}"
            expiry = now + timedelta(days=self.rng.randint(540, 1000))
            rec = s.devices.start_receiving(
                supplier=product.supplier, delivery_note=f"RK{now:%Y%m%d}{shelf.deliveries:03d}"
            )
            if product.serialised:
                for n in range(DELIVERY_UNITS):
                    serial = f"{product.lot_prefix}{now:%y%m}{shelf.deliveries:03d}{n + 1:02d}"
                    code = demo_label(product, lot, expiry, serial)
                    s.devices.receive_scan(rec.id, code)
                    shelf.codes.append((code, expiry.date()))
            else:
                code = demo_label(product, lot, expiry, None)
                s.devices.receive_scan(rec.id, code, quantity=DELIVERY_UNITS)
                shelf.codes.extend([(code, expiry.date())] * DELIVERY_UNITS)
        finally:
            self.g.ctx.user = current

    # ---- following the records course ----------------------------------------------------------
    def attach(self) -> None:
        """Observe cannulation, circuit change and decannulation on the generator's records service."""
        records = getattr(self.g.s, "records", None)
        if records is None or getattr(records, "_demo_devices_attached", False):
            return
        handlers = {
            "record_cannulation": self._at_cannulation,
            "record_circuit_change": self._at_circuit_change,
            "record_decannulation": self._at_decannulation,
            "end_ecmo": self._at_end,
        }
        for name, handler in handlers.items():
            original = getattr(records, name, None)
            if original is None:
                continue
            setattr(records, name, self._observer(original, handler))
        records._demo_devices_attached = True

    def _observer(self, original: Any, handler: Any) -> Any:
        def observed(run_id: int, *args: Any, **kwargs: Any) -> Any:
            result = original(run_id, *args, **kwargs)
            if self.g.ctx.clock is not self.g.real_clock:  # only while the demo is being generated
                user = self.g.ctx.user
                try:
                    handler(run_id, result)
                finally:
                    self.g.ctx.user = user
            return result

        return observed

    def _as_perfusionist(self) -> None:
        team = self.g.staff
        self.g.act_as(self.rng.choice(team.perfusionists + team.nurses))

    def _at_cannulation(self, run_id: int, procedure: Any) -> None:
        if not self.ready:
            self.setup()
        mode = Mode(self.g.s.runs.run_detail(run_id).run.mode)
        self._as_perfusionist()
        self._bind_circuit(run_id, mode, procedure.id, procedure.started_at)

    def _at_circuit_change(self, run_id: int, procedure: Any) -> None:
        circuit = self.circuits.get(run_id)
        if circuit is None:
            return
        self._as_perfusionist()
        self._change(run_id, circuit, procedure.id)

    def _at_decannulation(self, run_id: int, procedure: Any) -> None:
        self._take_down(run_id, procedure.ended_at, "撤机拔管")

    def _at_end(self, run_id: int, run: Any) -> None:
        """End of support without a decannulation note (death on ECMO, transfer on the circuit)."""
        self._take_down(run_id, run.ended_at, "ECMO 支持结束")

    def _take_down(self, run_id: int, at: datetime | None, reason: str) -> None:
        """Everything still in the circuit is retired and the equipment released."""
        if self.circuits.pop(run_id, None) is None:
            return
        self._as_perfusionist()
        s = self.g.s
        now = self.g.ctx.now()
        when = min(at or now, now)
        for row in s.devices.trace_run(run_id, include_voided=False):
            if row.removed_at is None:
                s.devices.retire_usage(row.usage_id, reason, removed_at=max(when, row.bound_at))
        for link in s.equipment.run_equipment(run_id):
            if link.current:
                s.equipment.unlink_equipment(link.id, at=max(when, link.from_at), reason="撤机后设备归位")

    # ---- per case --------------------------------------------------------------------------------
    def course_step(self, run_id: int, start: datetime, mode: Mode, indication: Any, clock: Any) -> None:
        """Runs after the records course: binds at run level only for a run it did not cannulate."""
        if not self.ready:
            self.setup()
        if run_id in self.circuits or run_id in self.done:
            return
        run = self.g.s.runs.run_detail(run_id).run
        if run.status in (RunStatus.ENDED.value, RunStatus.CANCELLED.value):
            return  # closed without a cannulation the records course told us about: nothing to bind now
        clock.set(start + timedelta(minutes=20))
        self._as_perfusionist()
        self._bind_circuit(run_id, mode, None, start)
        if (
            self.rng.random() < 0.25
            and start + timedelta(days=2) < self.g.real_clock.now()
            and self.g.course_steps
            and self.g.course_steps[-1] == self.g._devices_course
        ):
            clock.set(start + timedelta(days=self.rng.uniform(2, 6)))
            self._change(run_id, self.circuits[run_id], None)

    def _bind_circuit(self, run_id: int, mode: Mode, procedure_id: int | None, at: datetime) -> None:
        circuit = {
            "oxygenator": self._bind(
                run_id, self.rng.choice(["quadrox", "quadrox", "hilite", "hanuo"]), procedure_id
            ),
            "pump_head": self._bind(
                run_id, self.rng.choice(["rotaflow", "rotaflow", "saiteng"]), procedure_id
            ),
        }
        self._bind(run_id, "tubing", procedure_id)
        self._bind(run_id, self.rng.choice(["drain25", "drain23"]), procedure_id)
        if mode != Mode.VV or self.rng.random() < 0.9:
            self._bind(run_id, self.rng.choice(["return17", "return15"]), procedure_id)
        if mode in (Mode.VA, Mode.VAV) and self.rng.random() < 0.7:
            self._bind(run_id, "distal8", procedure_id)
        self.circuits[run_id] = circuit
        self.done.add(run_id)
        self._link_equipment(run_id, at)

    def _change(self, run_id: int, circuit: dict[str, int | None], procedure_id: int | None) -> None:
        s = self.g.s
        if circuit["oxygenator"] is not None:
            s.devices.retire_usage(circuit["oxygenator"], "更换氧合器：跨膜压差升高、氧合下降")
        circuit["oxygenator"] = self._bind(run_id, self.rng.choice(["quadrox", "hilite"]), procedure_id)
        if circuit["pump_head"] is not None and self.rng.random() < 0.4:
            s.devices.retire_usage(circuit["pump_head"], "更换泵头：泵头内血栓")
            circuit["pump_head"] = self._bind(run_id, self.rng.choice(["rotaflow", "saiteng"]), procedure_id)

    def _bind(self, run_id: int, key: str, procedure_id: int | None) -> int | None:
        code = self._take(key)
        product = self.products[key]
        reason = None
        if not product.nmpa:
            reason = NO_NMPA_REASON if product.serialised else NO_NMPA_REASON + "；" + ATTESTATION
        elif not product.serialised:
            reason = ATTESTATION
        verdict: ScanVerdict = self.g.s.devices.bind_scan(
            run_id,
            code,
            procedure_id=procedure_id,
            override_reason=reason,
            expected_category=product.category,
        )
        if verdict.kind is not VerdictKind.BOUND or verdict.usage is None:
            raise EcmoError(verdict.message, **verdict.params)
        return verdict.usage.id

    def _link_equipment(self, run_id: int, at: datetime) -> None:
        """Link a free console and a free heater-cooler; ones still on runs no decannulation ended
        (runs without records) are released after a plausible run length."""
        s = self.g.s
        now = self.g.ctx.now()
        for eq_id in self.equipment_ids:
            for link in s.equipment.equipment_history(eq_id):
                if link.current and link.run_id not in self.circuits:
                    release = link.from_at + timedelta(days=self.rng.uniform(3, 10))
                    if release <= now:
                        s.equipment.unlink_equipment(link.id, at=release, reason="撤机后设备归位")
        linked: set[str] = set()
        for eq in s.equipment.list_equipment():
            if eq.id not in self.equipment_ids or eq.kind in linked:
                continue
            try:
                s.equipment.link_equipment(run_id, eq.id, at=min(at, now))
            except EcmoError:
                continue  # on another run still: try the next one of its kind
            linked.add(eq.kind)
