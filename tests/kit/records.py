"""Shared set-up for the clinical-record tests: one seeded database per test module and backend.

Creating a PostgreSQL database costs seconds, so test modules share one (``rec_db``) and each test
gets its own patients and runs (``rw``) with the clock back at ``WARD_TIME``. Assertions are taken
per run, never over the whole database; tests about the whole hospital use the ``seeded`` fixture.
The seed is ``tests.kit.db.seed``: three expert physicians who joined the group at ``START`` (when the
database was seeded), privileges granted a year earlier, one attending, nurse, perfusionist, records.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from ecmo_desktop.domain.records import (
    CannulaInput,
    ConsentInput,
    DecisionInput,
    PhysicianInput,
    ProcedureInput,
    StaffInput,
)
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.kit.db import ALL_BACKENDS, START, OnSharedDB, SharedDB, shared_hospital

# START (09:00 in Beijing): seeding (expert memberships) happens there
WARD_TIME = START + timedelta(hours=3)  # 12:00 in Beijing: where each test's clock starts
_counter = itertools.count(1)


class RecDB(SharedDB):
    """The module's seeded database (``tests.kit.db.SharedDB``)."""


@pytest.fixture(name="rec_db", scope="module", params=ALL_BACKENDS)
def rec_db_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RecDB]:
    with shared_hospital(request, tmp_path_factory.mktemp("records"), prefix="ecmo_rec") as (c, clock, ids):
        yield RecDB(c, clock, str(request.param), ids)


@dataclass
class RecWard(OnSharedDB):
    """One test's view of the module's database: its own patients and runs, built step by step."""

    db: RecDB

    def at(self, **delta: float) -> datetime:
        return WARD_TIME + timedelta(**delta)

    # ---- building blocks ---------------------------------------------------------------------------------
    def team(self) -> tuple[PhysicianInput, ...]:
        """A team meeting R1: the patient's attending and two expert-group members."""
        return (
            PhysicianInput(self.ids["attending"], "attending"),
            PhysicianInput(self.ids["expert2"], "expert"),
            PhysicianInput(self.ids["expert3"], "expert"),
        )

    def new_run(self, *, mode: str = "VA", emergency: bool = False, indication: str = "ami") -> Any:
        self.login("zhangwei")
        n = next(_counter)
        patient = self.c.runs.register_patient(
            PatientInput(
                mrn=f"R{n:05d}{uuid.uuid4().hex[:4]}",
                name=f"患者{n}",
                sex="M",
                weight_kg=70,
                height_cm=172,
                bed=str(n % 30),
            )
        )
        return self.c.runs.open_run(
            patient.id,
            RunInput(
                mode=mode, indication=indication, emergency=emergency, attending_id=self.ids["attending"]
            ),
        )

    def decide(
        self,
        run_id: int,
        *,
        emergency: bool = False,
        at: datetime | None = None,
        physicians: tuple[PhysicianInput, ...] | None = None,
        kind: str = "start",
        supplement_of_id: int | None = None,
        mode: str | None = None,
    ) -> Any:
        self.login("zhangwei")
        if physicians is None:
            physicians = (PhysicianInput(self.ids["doctor"], "expert"),) if emergency else self.team()
        return self.c.records.record_decision(
            run_id,
            DecisionInput(
                kind=kind,
                decided_at=at or self.at(hours=-2),
                physicians=physicians,
                emergency=emergency,
                mode_planned=mode if kind == "start" else None,
                supplement_of_id=supplement_of_id,
                pre_ecmo={"ph": 7.21, "lactate": 6.5, "pao2": 58, "vent_fio2": 1.0, "vent_mode": "pc"},
            ),
        )

    def consent(self, run_id: int, *, at: datetime | None = None, refused: bool = False) -> Any:
        self.login("zhangwei")
        return self.c.records.record_consent(
            run_id,
            ConsentInput(
                explained_by_id=self.ids["doctor"],
                signer_name="王某",
                relationship="spouse",
                signed_at=at or self.at(hours=-1, minutes=-30),
                refused=refused,
            ),
        )

    def procedure_input(
        self, *, started: datetime, flow: datetime | None = None, operator: str = "doctor", **extra: Any
    ) -> ProcedureInput:
        values: dict[str, Any] = {
            "started_at": started,
            "flow_at": flow,
            "location": "icu",
            "technique": "percutaneous",
            "guidance": "ultrasound",
            "staff": (
                StaffInput(self.ids[operator], "operator"),
                StaffInput(self.ids["attending"], "assistant"),
                StaffInput(self.ids["perfusionist"], "perfusionist"),
            ),
            "cannulae": (
                CannulaInput("drainage", "femoral_vein", "R", 23, 55, 45),
                CannulaInput("return", "femoral_artery", "L", "17", 23, 15),
                CannulaInput("distal_perfusion", "superficial_femoral", "L", 8),
            ),
            "settings": {"rpm": 3200, "blood_flow": "3.8", "sweep": 3.5, "fdo2": 1.0, "heparin_bolus": 80},
        }
        values.update(extra)
        return ProcedureInput(**values)

    def cannulate(
        self, run_id: int, *, at: datetime | None = None, operator: str = "doctor", **extra: Any
    ) -> Any:
        self.login("zhangwei")
        started = at or self.at(hours=-1)
        data = self.procedure_input(
            started=started, flow=started + timedelta(minutes=25), operator=operator, **extra
        )
        return self.c.records.record_cannulation(run_id, data)

    def on_ecmo(self, *, emergency: bool = False, mode: str = "VA", at: datetime | None = None) -> Any:
        """A run decided, consented (unless emergency) and cannulated; returns the run as it now is."""
        run = self.new_run(mode=mode, emergency=emergency)
        started = at or self.at(hours=-1)
        self.decide(run.id, emergency=emergency, at=started - timedelta(minutes=40), mode=mode)
        if not emergency:
            self.consent(run.id, at=started - timedelta(minutes=20))
        self.cannulate(run.id, at=started)
        return self.c.runs.run_detail(run.id).run


@pytest.fixture(name="rw")
def rw_fixture(rec_db: RecDB) -> RecWard:
    rec_db.clock.set(WARD_TIME)
    rec_db.c.ctx.user = None
    return RecWard(rec_db)
