"""Whole ECMO cases charted through the real services, for the document tests.

One migrated, seeded database per test module and backend (``doc_db``); each test charts its own
case (``DocWard.chart_case``): decision, consent, cannulation with devices received and bound at the
bedside, daily entries, a complication, weaning decision and trial, decannulation, end of ECMO and
a follow-up — every step through the record and device services, signed where a ward signs. Labels
are GS1 element strings with computed check digits, exactly as a scanner sends them, so the printed
barcodes can be decoded back and compared.
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pypdf
import pytest

from ecmo_desktop.domain.devices import ProductInput
from ecmo_desktop.domain.records import (
    CannulaInput,
    ComplicationInput,
    ConsentInput,
    DailyEntryInput,
    DecisionInput,
    EndInput,
    FollowUpInput,
    PhysicianInput,
    ProcedureInput,
    StaffInput,
    WeaningTrialInput,
)
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.kit import devices
from tests.kit.db import ALL_BACKENDS, PASSWORD, START, OnSharedDB, SharedDB, fast_hashing, shared_hospital
from tests.kit.devices import LATER, gtin

EXPIRY = LATER
_cases = itertools.count(1)

PRODUCTS = {  # category -> (name, model, gtin)
    "oxygenator": ("Quadrox-iD 成人氧合器", "BE-PLS 2050", gtin("0690123450001")),
    "pump_head": ("RotaFlow 离心泵头", "RF-32", gtin("0690123450002")),
    "drainage_cannula": ("HLS 股静脉引流插管 23Fr", "BE-PVL 2355", gtin("0690123450003")),
    "return_cannula": ("HLS 股动脉回输插管 17Fr", "BE-PAS 1723", gtin("0690123450004")),
    "tubing_pack": ("ECMO 预连接管路套包", "HLS Set 7.0", gtin("0690123450005")),
}


def label(gtin14: str, *, lot: str, serial: str) -> str:
    """GS1 element string: (01) GTIN (17) expiry (10) lot GS (21) serial — as the scanner sends it."""
    return devices.label(gtin14, lot=lot, serial=serial, expiry=EXPIRY)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def squeeze(text: str) -> str:
    """Text without whitespace: a value wrapped onto two lines of a table cell is still one value."""
    return "".join(text.split())


@dataclass(kw_only=True)
class DocDB(SharedDB):
    """The module's seeded database and its catalogue (category -> product)."""

    products: dict[str, Any] = field(default_factory=dict)

    def add_catalogue(self, manufacturer: str = "") -> None:
        """The ``PRODUCTS``, entered by the administrator."""
        self.login("admin")
        for category, (product, model, code) in PRODUCTS.items():
            self.products[category] = self.c.devices.add_product(
                ProductInput(
                    category=category,
                    name=product,
                    manufacturer=manufacturer,
                    model=model,
                    gtin=code,
                    nmpa_number=f"国械注进2017345{code[-4:]}",
                )
            )


@dataclass
class Case:
    run_id: int
    patient_id: int
    mrn: str
    name: str
    cannulation_id: int
    decannulation_id: int | None
    labels: list[str]  # device labels bound at the cannulation, in binding order
    lots: list[str]
    serials: list[str]
    entry_times: list[datetime]


@pytest.fixture(name="doc_db", scope="module", params=ALL_BACKENDS)
def doc_db_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DocDB]:
    with shared_hospital(request, tmp_path_factory.mktemp("documents"), prefix="ecmo_doc") as (c, clock, ids):
        db = DocDB(c, clock, str(request.param), ids)
        with fast_hashing():  # module scope: the autouse fast-hash fixture is not active
            db.add_catalogue(manufacturer="迈柯唯（Maquet）")
            yield db


@dataclass
class DocWard(OnSharedDB):
    """One test's view of the module's database: it charts whole cases."""

    db: DocDB

    def sign(self, entity: str, record_id: int) -> None:
        self.c.records.sign(entity, record_id, PASSWORD)

    def chart_case(
        self,
        *,
        devices: int = 5,
        daily: int = 6,
        name: str | None = None,
        notes: str = "超声引导下经皮穿刺置管，预充排气后转流，过程顺利。",
        finish: bool = True,
    ) -> Case:
        """A whole run, charted in ward order with the clock moving forward."""
        n = next(_cases)
        t0 = START + timedelta(hours=6 * n)  # well before the labels expire
        self.clock.set(t0)
        c = self.c
        team = (
            PhysicianInput(self.ids["attending"], "attending"),
            PhysicianInput(self.ids["expert2"], "expert"),
            PhysicianInput(self.ids["expert3"], "expert"),
        )
        self.login("zhangwei")
        patient = c.runs.register_patient(
            PatientInput(
                mrn=f"ZY{n:04d}{uuid.uuid4().hex[:4].upper()}",
                name=name or f"王建国{n}",
                sex="M",
                birth_date=date(1978, 4, 9),
                weight_kg=72,
                height_cm=175,
                ward="EICU",
                bed=str(n % 30 + 1),
            )
        )
        run = c.runs.open_run(
            patient.id,
            RunInput(
                mode="VA",
                indication="ami",
                diagnosis="急性前壁心肌梗死 心源性休克",
                attending_id=self.ids["attending"],
            ),
        )
        self.clock.set(t0 + timedelta(hours=1))
        decision = c.records.record_decision(
            run.id,
            DecisionInput(
                kind="start",
                decided_at=t0 + timedelta(minutes=10),
                physicians=team,
                indication="ami",
                mode_planned="VA",
                rationale="药物及 IABP 支持下仍休克，乳酸进行性升高。",
                pre_ecmo={
                    "ph": 7.18,
                    "lactate": 7.4,
                    "map": 52,
                    "vent_fio2": 1.0,
                    "pao2": 61,
                    "vent_mode": "pc",
                },
            ),
        )
        self.sign("decision", decision.id)
        consent = c.records.record_consent(
            run.id,
            ConsentInput(
                explained_by_id=self.ids["doctor"],
                signer_name="李秀英",
                relationship="spouse",
                signed_at=t0 + timedelta(minutes=20),
            ),
        )
        self.sign("consent", consent.id)
        self.clock.set(t0 + timedelta(hours=2))
        cannulation = c.records.record_cannulation(
            run.id,
            ProcedureInput(
                started_at=t0 + timedelta(minutes=30),
                flow_at=t0 + timedelta(minutes=50),
                ended_at=t0 + timedelta(minutes=75),
                location="icu",
                technique="percutaneous",
                guidance="ultrasound",
                staff=(
                    StaffInput(self.ids["doctor"], "operator"),
                    StaffInput(self.ids["attending"], "assistant"),
                    StaffInput(self.ids["perfusionist"], "perfusionist"),
                ),
                cannulae=(
                    CannulaInput("drainage", "femoral_vein", "R", 23, 55, 45, "RA/IVC"),
                    CannulaInput("return", "femoral_artery", "L", 17, 23, 15),
                ),
                settings={"rpm": 3300, "blood_flow": "3.8", "sweep": 3.5, "fdo2": 1.0, "heparin_bolus": 80},
                immediate_complications=("site_bleeding",),
                notes=notes,
            ),
        )
        self.sign("procedure", cannulation.id)

        labels, lots, serials = [], [], []
        self.login("chenjing")
        delivery = c.devices.start_receiving(supplier="国药控股内蒙古有限公司", delivery_note=f"DN-{n}")
        categories = list(PRODUCTS)
        for k in range(devices):
            category = categories[k % len(categories)]
            lot, serial = f"L{n:03d}{k:02d}A", f"SN{n:03d}{k:03d}X"
            text = label(PRODUCTS[category][2], lot=lot, serial=serial)
            c.devices.receive_scan(delivery.id, text)
            verdict = c.devices.bind_scan(run.id, text, procedure_id=cannulation.id)
            assert verdict.kind == "bound", verdict
            labels.append(text)
            lots.append(lot)
            serials.append(serial)

        entry_times = []
        for k in range(daily):
            at = t0 + timedelta(hours=3 + k * (120 / max(daily, 1)))
            self.clock.set(at + timedelta(minutes=5))
            entry = c.records.record_daily_entry(
                run.id,
                DailyEntryInput(
                    recorded_at=at,
                    values={
                        "blood_flow": round(3.2 + (k % 4) * 0.3, 2),
                        "sweep": 3 + k % 3,
                        "rpm": 3200,
                        "act": 170 + (k % 5) * 10,
                        "aptt": 50 + k % 9,
                        "lactate": max(1.0, 7 - k),
                        "map": 68,
                        "hr": 96,
                        "p_pre_oxy": 210,
                        "p_post_oxy": 175,
                    },
                    checks={"limb_perfusion": "normal", "circuit_check": "ok"},
                    notes=f"第{k + 1}次记录：循环稳定。",
                ),
            )
            if k % 2 == 0:
                self.sign("daily_entry", entry.id)
            entry_times.append(at)
        if not finish:
            return Case(
                run.id,
                patient.id,
                patient.mrn,
                patient.name,
                cannulation.id,
                None,
                labels,
                lots,
                serials,
                entry_times,
            )
        self.login("zhangwei")
        day5 = t0 + timedelta(days=5)
        self.clock.set(day5)
        c.records.record_complication(
            run.id,
            ComplicationInput(
                code="B-CANN", onset_at=t0 + timedelta(days=1), severity="mild", treatment="局部压迫止血"
            ),
        )
        wean = c.records.record_decision(
            run.id,
            DecisionInput(
                kind="wean", decided_at=day5 - timedelta(hours=2), physicians=team, rationale="心功能恢复。"
            ),
        )
        self.sign("decision", wean.id)
        trial = c.records.record_weaning_trial(
            run.id,
            WeaningTrialInput(
                started_at=day5 - timedelta(hours=4),
                ended_at=day5 - timedelta(hours=3),
                flow_to="1.5",
                values={"map": 74, "lactate": 1.1, "lvef": 45},
                passed=True,
                notes="流量 1.5 L/min 观察 1 小时稳定。",
            ),
        )
        self.sign("weaning_trial", trial.id)
        self.clock.set(day5 + timedelta(hours=2))
        decannulation = c.records.record_decannulation(
            run.id,
            ProcedureInput(
                started_at=day5,
                ended_at=day5 + timedelta(minutes=40),
                location="icu",
                technique="cutdown",
                staff=(StaffInput(self.ids["doctor"], "operator"),),
                reason="撤机试验通过",
            ),
        )
        self.sign("procedure", decannulation.id)
        c.records.end_ecmo(run.id, EndInput(ended_at=day5 + timedelta(minutes=30), reason="weaned"))
        self.clock.set(t0 + timedelta(days=31))
        follow = {f.kind: f for f in c.records.chart(run.id).follow_ups}
        c.records.record_follow_up(
            follow["d28"].id,
            FollowUpInput(
                status="done",
                done_at=t0 + timedelta(days=30),
                vital_status="alive",
                contact_method="phone",
                cpc=1,
                mrs=1,
            ),
        )
        return Case(
            run.id,
            patient.id,
            patient.mrn,
            patient.name,
            cannulation.id,
            decannulation.id,
            labels,
            lots,
            serials,
            entry_times,
        )


@pytest.fixture(name="dw")
def dw_fixture(doc_db: DocDB) -> DocWard:
    doc_db.c.ctx.user = None
    return DocWard(doc_db)


def charted(seeded: Any, clock: Any, n: int = 1) -> list[Case]:
    """``n`` short cases (3 devices, 2 daily entries) charted in the ``seeded`` hospital, for the UI tests;
    the catalogue is entered by its administrator, and nobody stays logged in."""
    c = seeded.container
    db = DocDB(c, clock, "sqlite", seeded.ids)
    db.add_catalogue()
    cases = [DocWard(db).chart_case(devices=3, daily=2) for _ in range(n)]
    c.ctx.user = None
    return cases
