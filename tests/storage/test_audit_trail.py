"""AUD-2 (append-only) and AUD-3 (hash chain detects tampering, reporting the first bad link)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from ecmo_desktop.domain.audit_chain import GENESIS, chain_hash, event_fields, verify_events
from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.services.runs import PatientInput
from tests.conftest import Seeded


def _fill(seeded: Seeded, n: int) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    for i in range(n):
        c.runs.register_patient(PatientInput(mrn=f"T{i:04d}", name=f"患者{i}", sex="F", weight_kg="60"))


def _raw(c, sql: str, **params) -> None:  # type: ignore[no-untyped-def]
    """Tamper 'outside the app': switch the append-only trigger off first, as an intruder would."""
    with c.uow.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)


def test_audit_rows_cannot_be_updated_or_deleted(seeded: Seeded) -> None:
    c = seeded.container
    for sql in (
        "UPDATE audit_event SET actor_name = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
    ):
        with pytest.raises(Exception, match="append-only"), c.uow.engine.begin() as conn:
            conn.execute(text(sql))
    with c.uow() as uow:  # and through the ORM
        from ecmo_desktop.storage.orm.audit import AuditRow

        row = uow.session.get(AuditRow, 1)
        row.actor_name = "x"
        with pytest.raises(StorageError):
            uow.commit()
    seeded.login("admin")
    assert c.audit.verify_chain().ok


def test_untouched_chain_verifies(seeded: Seeded) -> None:
    _fill(seeded, 5)
    seeded.login("admin")
    result = seeded.container.audit.verify_chain()
    assert result.ok and result.checked > 10


@pytest.mark.parametrize("tamper", ["edit_field", "edit_json", "delete_middle", "swap", "insert_forged"])
def test_tampering_is_detected_at_the_first_bad_link(seeded: Seeded, tamper: str) -> None:
    _fill(seeded, 6)
    c = seeded.container
    seeded.login("admin")
    total = c.audit.verify_chain().checked
    victim = total // 2
    if tamper == "edit_field":
        _raw(c, "UPDATE audit_event SET actor_name = '某人' WHERE seq = :s", s=victim)
        expected = victim
    elif tamper == "edit_json":
        _raw(c, "UPDATE audit_event SET reason = 'changed' WHERE seq = :s", s=victim)
        expected = victim
    elif tamper == "delete_middle":
        _raw(c, "DELETE FROM audit_event WHERE seq = :s", s=victim)
        expected = victim
    elif tamper == "swap":
        parked = 999_999_999  # seq >= 1 is a constraint now: park the row above the chain, not below 0
        _raw(c, "UPDATE audit_event SET seq = :p WHERE seq = :a", a=victim, p=parked)
        _raw(c, "UPDATE audit_event SET seq = :a WHERE seq = :b", a=victim, b=victim + 1)
        _raw(c, "UPDATE audit_event SET seq = :b WHERE seq = :p", b=victim + 1, p=parked)
        expected = victim
    else:  # a forged row appended with a made-up hash
        _raw(
            c,
            "INSERT INTO audit_event (seq, occurred_at, actor_name, workstation, action, entity, success, "
            "prev_hash, hash) VALUES (:s, '2026-01-01 00:00:00', 'x', 'x', 'delete', 'patient', true, :p, "
            ":h)",
            s=total + 1,
            p=GENESIS,
            h="f" * 64,
        )
        expected = total + 1
    result = c.audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == expected


def test_truncated_tail_is_caught_by_the_external_anchor(seeded: Seeded) -> None:
    _fill(seeded, 3)
    c = seeded.container
    seeded.login("admin")
    anchor = c.audit.head_hash()  # as printed in a PDF footer or backup manifest
    assert c.audit.verify_chain(expected_head=anchor).ok
    last = c.audit.verify_chain().checked
    _raw(c, "DELETE FROM audit_event WHERE seq >= :s", s=last - 1)
    assert c.audit.verify_chain().ok  # the chain alone cannot see a cut tail …
    result = c.audit.verify_chain(expected_head=anchor)
    assert not result.ok and result.problem == "anchor_mismatch"  # … the anchor can


def test_random_tamperings_all_detected() -> None:
    """AUD-3 in memory: 1,000 random single-field tamperings of a 300-event chain, all caught."""
    from datetime import UTC, datetime, timedelta

    from ecmo_desktop.domain.model import AuditEvent

    prev = GENESIS
    events: list[AuditEvent] = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, 301):
        fields = {
            "seq": seq,
            "occurred_at": start + timedelta(minutes=seq),
            "actor_id": seq % 7,
            "actor_name": "张伟",
            "workstation": "pc",
            "action": "update",
            "entity": "patient",
            "entity_id": seq,
            "run_id": None,
            "patient_id": seq,
            "before": {"w": seq},
            "after": {"w": seq + 1},
            "reason": None,
            "success": True,
        }
        h = chain_hash(prev, fields)
        events.append(AuditEvent(**fields, prev_hash=prev, hash=h))
        prev = h
    assert verify_events(events).ok
    rng = random.Random(11)
    from dataclasses import replace

    for _ in range(1000):
        i = rng.randrange(len(events))
        field = rng.choice(["actor_name", "action", "entity_id", "after", "occurred_at", "success"])
        value = {
            "actor_name": "某人",
            "action": "delete",
            "entity_id": -1,
            "after": {"w": -1},
            "occurred_at": events[i].occurred_at + timedelta(seconds=1),
            "success": False,
        }[field]
        tampered = list(events)
        tampered[i] = replace(events[i], **{field: value})
        result = verify_events(tampered)
        assert not result.ok and result.first_bad_seq == i + 1
    assert event_fields(events[0])["seq"] == 1


@pytest.mark.parametrize("seq", [0, -5])
def test_rows_below_seq_1_are_refused_by_the_schema(seeded: Seeded, seq: int) -> None:
    """Migration 0002: the chain starts at 1 (SQLite trigger, PostgreSQL CHECK), triggers off or not."""
    c = seeded.container
    with pytest.raises(Exception, match=r"seq|check"):
        _raw(
            c,
            "INSERT INTO audit_event (seq, occurred_at, actor_name, workstation, action, entity, success, "
            "prev_hash, hash) VALUES (:s, '2026-01-01 00:00:00', 'x', 'x', 'create', 'patient', true, :p, "
            ":h)",
            s=seq,
            p=GENESIS,
            h="e" * 64,
        )


def test_a_row_below_seq_1_left_from_before_is_verified_and_reported(seeded: Seeded) -> None:
    """A database forged before the constraint existed: ``verify`` reads that row too."""
    _fill(seeded, 2)
    c = seeded.container
    with c.uow.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_seq_positive"))
        else:
            conn.execute(text("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_seq_positive"))
        conn.execute(
            text(
                "INSERT INTO audit_event (seq, occurred_at, actor_name, workstation, action, entity, "
                "success, prev_hash, hash) VALUES (0, '2026-01-01 00:00:00', 'x', 'x', 'create', "
                "'patient', true, :p, :h)"
            ),
            {"p": GENESIS, "h": "e" * 64},
        )
    seeded.login("admin")
    result = c.audit.verify_chain()
    assert not result.ok and result.first_bad_seq == 0 and result.problem == "seq_not_positive"
