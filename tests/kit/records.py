"""Shared set-up for the clinical-record tests: one seeded database per test module and backend.

Creating a PostgreSQL database costs seconds, so test modules share one (``rec_db``) and each test
gets its own patients and runs (``rw``) with the clock back at ``WARD_TIME``. Assertions are taken
per run, never over the whole database; tests about the whole hospital use the ``seeded`` fixture.
The seed is conftest's: three expert physicians who joined the group at ``START`` (when the
database was seeded), privileges granted a year earlier, one attending, nurse, perfusionist, records.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from tests.conftest import PASSWORD, _pg_admin_url, _pg_exec, _seed

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing: seeding (expert memberships) happens here
WARD_TIME = START + timedelta(hours=3)  # 12:00 in Beijing: where each test's clock starts
_counter = itertools.count(1)


@dataclass
class RecDB:
    c: Any
    clock: Any
    backend: str
    ids: dict[str, int]
    users: dict[str, Any] = field(default_factory=dict)

    def login(self, username: str) -> None:
        """A real login once per user; afterwards the same session user (hashing is the slow part)."""
        if username in self.users:
            self.c.ctx.user = self.users[username]
            return
        self.c.ctx.user = None
        self.c.auth.login(username, PASSWORD)
        self.users[username] = self.c.ctx.user


@pytest.fixture(name="rec_db", scope="module", params=["sqlite", "postgresql"])
def rec_db_fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecDB]:
    from ecmo_desktop.container import build_container
    from ecmo_desktop.services.clock import FakeClock

    backend = str(request.param)
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path_factory.mktemp("records") / "ecmo.sqlite3"
        shutil.copyfile(template, target)
        url = f"sqlite:///{target}"
        name = None
    else:
        tpl = request.getfixturevalue("pg_template")
        admin = _pg_admin_url()
        assert admin is not None
        from sqlalchemy.engine import make_url

        name = f"ecmo_rec_{uuid.uuid4().hex[:10]}"
        _pg_exec(admin, f"CREATE DATABASE {name} TEMPLATE {tpl}")
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    clock = FakeClock(START)
    c = build_container(url, clock=clock, workstation="test-pc")
    with pytest.MonkeyPatch.context() as mp:  # the same fast argon2 profile as conftest's _fast_hashing
        from argon2 import PasswordHasher

        from ecmo_desktop.services import auth

        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1))
        admin_id, doctor, nurse, perf, records, e2, e3, attending = _seed(c)
    ids = {"admin": admin_id, "doctor": doctor, "nurse": nurse, "perfusionist": perf, "records": records,
           "expert2": e2, "expert3": e3, "attending": attending}
    yield RecDB(c, clock, backend, ids)
    c.close()
    if name is not None:
        admin = _pg_admin_url()
        assert admin is not None
        _pg_exec(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class RecWard:
    db: RecDB

    @property
    def c(self) -> Any:
        return self.db.c

    @property
    def clock(self) -> Any:
        return self.db.clock

    @property
    def ids(self) -> dict[str, int]:
        return self.db.ids

    def login(self, username: str) -> None:
        self.db.login(username)

    def at(self, **delta: float) -> datetime:
        return WARD_TIME + timedelta(**delta)

    # ---- building blocks ---------------------------------------------------------------------------------
    def team(self) -> tuple[PhysicianInput, ...]:
        """A team meeting R1: the patient's attending and two expert-group members."""
        return (PhysicianInput(self.ids["attending"], "attending"), PhysicianInput(self.ids["expert2"], "expert"),
                PhysicianInput(self.ids["expert3"], "expert"))

    def new_run(self, *, mode: str = "VA", emergency: bool = False, indication: str = "ami") -> Any:
        self.login("zhangwei")
        n = next(_counter)
        patient = self.c.runs.register_patient(PatientInput(mrn=f"R{n:05d}{uuid.uuid4().hex[:4]}", name=f"患者{n}",
                                                            sex="M", weight_kg=70, height_cm=172, bed=str(n % 30)))
        return self.c.runs.open_run(patient.id, RunInput(mode=mode, indication=indication, emergency=emergency,
                                                         attending_id=self.ids["attending"]))

    def decide(self, run_id: int, *, emergency: bool = False, at: datetime | None = None,
               physicians: tuple[PhysicianInput, ...] | None = None, kind: str = "start",
               supplement_of_id: int | None = None, mode: str | None = None) -> Any:
        self.login("zhangwei")
        if physicians is None:
            physicians = (PhysicianInput(self.ids["doctor"], "expert"),) if emergency else self.team()
        return self.c.records.record_decision(run_id, DecisionInput(
            kind=kind, decided_at=at or self.at(hours=-2), physicians=physicians, emergency=emergency,
            mode_planned=mode if kind == "start" else None, supplement_of_id=supplement_of_id,
            pre_ecmo={"ph": 7.21, "lactate": 6.5, "pao2": 58, "vent_fio2": 1.0, "vent_mode": "pc"}))

    def consent(self, run_id: int, *, at: datetime | None = None, refused: bool = False) -> Any:
        self.login("zhangwei")
        return self.c.records.record_consent(run_id, ConsentInput(
            explained_by_id=self.ids["doctor"], signer_name="王某", relationship="spouse",
            signed_at=at or self.at(hours=-1, minutes=-30), refused=refused))

    def procedure_input(self, *, started: datetime, flow: datetime | None = None, operator: str = "doctor",
                        **extra: Any) -> ProcedureInput:
        values: dict[str, Any] = {
            "started_at": started, "flow_at": flow, "location": "icu", "technique": "percutaneous",
            "guidance": "ultrasound",
            "staff": (StaffInput(self.ids[operator], "operator"), StaffInput(self.ids["attending"], "assistant"),
                      StaffInput(self.ids["perfusionist"], "perfusionist")),
            "cannulae": (CannulaInput("drainage", "femoral_vein", "R", 23, 55, 45),
                         CannulaInput("return", "femoral_artery", "L", "17", 23, 15),
                         CannulaInput("distal_perfusion", "superficial_femoral", "L", 8)),
            "settings": {"rpm": 3200, "blood_flow": "3.8", "sweep": 3.5, "fdo2": 1.0, "heparin_bolus": 80},
        }
        values.update(extra)
        return ProcedureInput(**values)

    def cannulate(self, run_id: int, *, at: datetime | None = None, operator: str = "doctor", **extra: Any) -> Any:
        self.login("zhangwei")
        started = at or self.at(hours=-1)
        data = self.procedure_input(started=started, flow=started + timedelta(minutes=25), operator=operator, **extra)
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
