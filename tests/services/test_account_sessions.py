"""An account's open sessions follow its state in the database, whatever PC changed it
(issue 10 §2, issue 11 §5, ACC-2, C5): checked in the permission path before every service call.

Two containers on one database are two ward PCs.
"""

from __future__ import annotations

from typing import Any

import pytest

from ecmo_desktop.container import build_container
from ecmo_desktop.domain.errors import (
    AccountLocked,
    AuthenticationFailed,
    NotAuthenticated,
    PasswordChangeRequired,
    SessionEnded,
)
from ecmo_desktop.services.runs import PatientInput
from tests.conftest import PASSWORD, Seeded


@pytest.fixture
def other_pc(seeded_db_url: str, seeded: Seeded, clock: Any) -> Any:
    c = build_container(seeded_db_url, clock=clock, workstation="pc-2", migrate=False)
    yield c
    c.close()


def test_an_initial_password_must_be_changed_before_any_write(seeded: Seeded) -> None:
    c = seeded.container
    seeded.login("admin")
    c.staff.create_staff(
        username="newdoc",
        full_name="新医生",
        title="resident",
        roles=["doctor"],
        initial_password="Initial2026a",
    )
    c.ctx.user = None
    c.auth.login("newdoc", "Initial2026a")
    with pytest.raises(PasswordChangeRequired) as exc:
        c.runs.register_patient(PatientInput(mrn="MC1", name="甲", sex="M"))
    assert "修改初始密码" in exc.value.user_message()
    with pytest.raises(PasswordChangeRequired):
        c.runs.search_runs("")  # reading patients too
    c.auth.change_password("Initial2026a", "Better2026pw", "Better2026pw")
    assert c.runs.register_patient(PatientInput(mrn="MC1", name="甲", sex="M")).mrn == "MC1"


def test_a_password_reset_on_another_pc_applies_at_the_next_action(seeded: Seeded, other_pc: Any) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    c.runs.search_runs("")
    other_pc.auth.login("admin", PASSWORD)
    other_pc.staff.reset_password(seeded.doctor_id, "Reset2026pass1")
    with pytest.raises(PasswordChangeRequired):
        c.runs.register_patient(PatientInput(mrn="MC2", name="乙", sex="M"))


def test_locked_out_on_another_pc_ends_this_session(seeded: Seeded, other_pc: Any) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    c.runs.register_patient(PatientInput(mrn="LK1", name="甲", sex="M"))
    for _ in range(10):  # someone mistypes zhangwei's password on another PC until the account locks
        try:
            other_pc.auth.login("zhangwei", "wrong-password")
        except AccountLocked:
            break
        except AuthenticationFailed:
            continue
    with pytest.raises(SessionEnded) as exc:
        c.runs.register_patient(PatientInput(mrn="LK2", name="乙", sex="M"))
    assert "锁定" in exc.value.user_message()
    assert c.ctx.user is None  # ended: nothing more runs as zhangwei on this PC
    with pytest.raises(NotAuthenticated):
        c.runs.search_runs("")


def test_deactivated_on_another_pc_ends_this_session_for_good(seeded: Seeded, other_pc: Any) -> None:
    c = seeded.container
    seeded.login("chenjing")
    me = c.ctx.user
    c.runs.search_runs("")
    other_pc.auth.login("admin", PASSWORD)
    other_pc.staff.set_active(seeded.nurse_id, False, reason="调离")
    with pytest.raises(SessionEnded) as exc:
        c.runs.search_runs("")  # a background refresh ends it as well as a save would
    assert "停用" in exc.value.user_message()
    other_pc.staff.set_active(seeded.nurse_id, True, reason="返岗")
    with pytest.raises(NotAuthenticated):  # reactivation does not silently revive the old session
        c.runs.search_runs("")
    c.ctx.user = me  # even a stale copy of the session user is checked against the database
    assert c.runs.search_runs("") is not None  # active again: a fresh login would be allowed
