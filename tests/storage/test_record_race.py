"""Two ward PCs saving, or one signing while the other saves, the same record at the same moment
(REL-11, SIG-2): exactly one wins, the other is told, nothing is silently overwritten and a signature
binds exactly the content its signer was shown. Real processes; the overlap of the two transactions is
forced by a barrier inside the update path (see record_race_worker.py). The 1,000-per-kind run is
``benchmarks/record_race.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Seeded
from tests.storage.record_race_worker import check, plan, prepare, race

COLLISIONS = 20


@pytest.mark.parametrize("kind", ["edit-edit", "sign-edit"])
def test_two_pcs_on_one_record_exactly_one_wins(seeded_db_url: str, seeded: Seeded, kind: str) -> None:
    c: Any = seeded.container
    entries = prepare(c, COLLISIONS, seeded.login)
    seeded.login("lina")
    other = c.ctx.user
    seeded.login("zhangwei")
    me = c.ctx.user
    c.uow.engine.dispose()  # children must not inherit live connections
    steps = plan(entries, kind, pg=c.uow.backend == "postgresql")
    got = race(seeded_db_url, (me, other), steps)
    tally, notes = check(seeded_db_url, steps, got)
    assert tally.clean(), (tally, notes[:10])
    assert tally.collisions == COLLISIONS
    seeded.login("admin")
    assert c.audit.verify_chain().ok
