"""ACC-2: roles are enforced in the service layer, whatever the UI shows.

Two checks: every public method of every service names its required action (so the allow-table in
services/permissions.py cannot fall behind), and representative calls per action are refused or
allowed for each role exactly as the table says — called directly, bypassing the UI.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest

import ecmo_desktop.services as services_pkg
from ecmo_desktop.domain.errors import EcmoError, NotAuthenticated, PermissionDenied
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import ALLOWED, Action
from ecmo_desktop.services.runs import PatientInput, RunInput
from tests.conftest import Seeded

ROLES = ["doctor", "nurse", "perfusionist", "records", "admin"]


def _service_classes() -> list[type[Service]]:
    classes: list[type[Service]] = []
    for info in pkgutil.iter_modules(services_pkg.__path__):
        module = importlib.import_module(f"ecmo_desktop.services.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Service) and obj is not Service and obj.__module__ == module.__name__:
                classes.append(obj)
    return classes


def test_every_public_service_method_declares_its_action() -> None:
    missing = []
    for cls in _service_classes():
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            if getattr(fn, "required_action", None) not in ALLOWED:
                missing.append(f"{cls.__name__}.{name}")
    assert missing == [], f"public service methods without @requires: {missing}"
    assert len(_service_classes()) >= 5


# one representative call per action: (action, callable(container, seeded) -> Any)
def _calls(s: Seeded) -> list[tuple[Action, Callable[[Any], Any]]]:
    return [
        (Action.VIEW_CASES, lambda c: c.runs.search_runs("")),
        (
            Action.REGISTER_PATIENT,
            lambda c: c.runs.register_patient(PatientInput(mrn="P9", name="甲", sex="M")),
        ),
        (Action.OPEN_RUN, lambda c: c.runs.open_run(999_999, RunInput(mode="VA", indication="ami"))),
        (Action.MANAGE_STAFF, lambda c: c.staff.unlock_account(s.nurse_id)),
        (Action.VERIFY, lambda c: c.audit.verify_chain()),
        (Action.VIEW_AUDIT, lambda c: c.audit.events_for_run(1)),
        (Action.BACKUP, lambda c: c.backups.digests()),
    ]


@pytest.mark.parametrize("role", [*ROLES, "anonymous", "deactivated"])
def test_role_matrix(seeded: Seeded, role: str) -> None:
    c = seeded.container
    ids = {
        "doctor": seeded.doctor_id,
        "nurse": seeded.nurse_id,
        "perfusionist": seeded.perfusionist_id,
        "records": seeded.records_id,
        "admin": seeded.admin_id,
    }
    if role == "deactivated":
        seeded.login("admin")
        c.staff.set_active(seeded.attending_id, False, reason="离职")
    for action, call in _calls(seeded):
        if role == "anonymous":
            c.ctx.user = None
        elif role == "deactivated":
            c.ctx.user = CurrentUser(
                seeded.attending_id, "liuyang", "刘洋", "attending", frozenset({"doctor"})
            )
        else:
            c.ctx.user = CurrentUser(ids[role], role, role, "other", frozenset({role}))
        expected_allowed = role not in ("anonymous", "deactivated") and any(
            r.value == role for r in ALLOWED[action]
        )
        try:
            call(c)
            outcome = "allowed"
        except NotAuthenticated:
            outcome = "denied"
        except PermissionDenied:
            outcome = "denied"
        except EcmoError:
            outcome = "allowed"  # got past the permission check, refused for another reason (e.g. not found)
        assert outcome == ("allowed" if expected_allowed else "denied"), (role, action)
