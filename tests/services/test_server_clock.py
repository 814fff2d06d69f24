"""Shared mode stamps records and audit rows with the database server's clock, and the audit trail's
times never go backwards (issue 11 §3: 14 audit rows were earlier than the row before them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecmo_desktop.container import build_container
from ecmo_desktop.services.clock import FakeClock, ServerClock, SystemClock
from ecmo_desktop.services.runs import PatientInput
from ecmo_desktop.storage.engine import server_time
from tests.conftest import PASSWORD, Seeded


class SkewedClock(SystemClock):
    """A PC whose clock is wrong by ``skew``."""

    def __init__(self, skew: timedelta) -> None:
        self.skew = skew

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew


def _audit_times(c: Any) -> list[datetime]:
    return [e.occurred_at for e in reversed(c.audit.recent(limit=500))]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_pcs_with_wrong_clocks_stamp_with_the_servers(seeded_db_url: str, seeded: Seeded) -> None:
    plain = build_container(seeded_db_url, migrate=False)
    try:
        assert isinstance(plain.ctx.clock, ServerClock)  # shared mode uses the server's clock by default
    finally:
        plain.close()
    pcs = []
    for skew in (timedelta(hours=-2), timedelta(minutes=7)):
        c = build_container(seeded_db_url, migrate=False, workstation=f"pc{skew}")
        c.ctx.clock = ServerClock(lambda c=c: server_time(c.uow.engine), local=SkewedClock(skew))
        c.auth.login("zhangwei", PASSWORD)
        pcs.append(c)
    try:
        for i in range(6):
            pcs[i % 2].runs.register_patient(PatientInput(mrn=f"CLK{i}", name=f"患者{i}", sex="M"))
        server_now = server_time(pcs[0].uow.engine)
        seeded.login("admin")
        events = [e for e in seeded.container.audit.recent(limit=50) if e.workstation.startswith("pc")]
        assert len(events) >= 8  # two logins, six registrations
        for e in events:  # each within a minute of the server (the PCs are 2 h and 7 min off)
            assert abs(e.occurred_at - server_now) < timedelta(minutes=1), (e.workstation, e.occurred_at)
        times = _audit_times(seeded.container)
        assert times == sorted(times)
    finally:
        for c in pcs:
            c.close()


def test_audit_times_never_go_backwards_between_pcs(seeded_db_url: str, seeded: Seeded) -> None:
    ahead = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    behind = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # an hour slow, e.g. SQLite on a PC in transit
    pcs = [
        build_container(seeded_db_url, clock=clock, migrate=False, workstation=name)
        for clock, name in ((ahead, "a"), (behind, "b"))
    ]
    try:
        for c in pcs:
            c.auth.login("zhangwei", PASSWORD)
        for i in range(4):
            pcs[i % 2].runs.register_patient(PatientInput(mrn=f"BW{i}", name=f"患者{i}", sex="M"))
        seeded.login("admin")
        times = _audit_times(seeded.container)
        assert times == sorted(times)
        assert seeded.container.audit.verify_chain().ok
    finally:
        for c in pcs:
            c.close()
