"""Replaying the audit trail against the record (AUD-1, AUD-3): does the database say what the
trail says it should?

The hash chain proves the *trail* was not edited; it says nothing about a clinical row edited
behind the app's back (a patient renamed, a draft changed, a device usage moved to another run).
Every change the app makes writes an after-image of the fields it changed; folding those images
in sequence order gives each audited row's expected current state. ``compare`` sets that against
the rows as stored and reports, by table, row and field, what differs, which rows have no create
event, and which events name a row that no longer exists.

Pure functions over plain values: the storage layer hands in the rows, the service wires it up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ecmo_desktop.domain.model import AuditEvent


@dataclass(frozen=True)
class TableSpec:
    """How one audited entity is replayed: its table, the actions that create a row, the fields
    of its after-images that are not stored as written (derived, looked up, or kept elsewhere)."""

    table: str
    creates: frozenset[str]
    skip: frozenset[str] = frozenset()


BASELINE_ACTION = "baseline"  # migration 0002's record of rows older releases changed without a trace
_RECORD_SKIP = frozenset({"entity", "physicians", "staff", "cannulae", "run_number"})
_RECORD_CREATES = frozenset({"create"})

# entity name in the trail → how to replay it. Of an account (staff) only what the app audits as
# an edit is compared: login counters and lock times are events, not record edits.
TRACKED: dict[str, TableSpec] = {
    "hospital": TableSpec(
        "hospital", frozenset({"create"}), frozenset({"settings"})
    ),  # holds secrets: not logged
    "staff": TableSpec(
        "staff", frozenset({"create"}), frozenset({"failed_logins", "until", "username", "roles"})
    ),
    "expert_membership": TableSpec("expert_membership", frozenset({"add_expert"})),
    "training_record": TableSpec("training_record", frozenset({"create"})),
    "device_product": TableSpec("device_product", frozenset({"create"})),
    "device_receiving": TableSpec("device_receiving", frozenset({"create"})),
    "equipment": TableSpec("equipment", frozenset({"create"})),
    "run_equipment": TableSpec("run_equipment", frozenset({"link"})),
    "patient": TableSpec("patient", frozenset({"create"})),
    "ecmo_run": TableSpec("ecmo_run", frozenset({"create", "import"})),
    "decision": TableSpec("decision", _RECORD_CREATES, _RECORD_SKIP),
    "consent": TableSpec("consent", _RECORD_CREATES, _RECORD_SKIP),
    "procedure": TableSpec("procedure", _RECORD_CREATES, _RECORD_SKIP),
    "daily_entry": TableSpec("daily_entry", _RECORD_CREATES, _RECORD_SKIP),
    "complication": TableSpec("complication", _RECORD_CREATES, _RECORD_SKIP),
    "weaning_trial": TableSpec("weaning_trial", _RECORD_CREATES, _RECORD_SKIP),
    "follow_up": TableSpec("follow_up", _RECORD_CREATES, _RECORD_SKIP),
    "device_item": TableSpec("device_item", frozenset({"receive"})),
    "device_usage": TableSpec(
        "device_usage",
        frozenset({"bind"}),
        frozenset({"product", "lot", "serial", "item_key", "single_use_item"}),
    ),
    "ecmo_privilege": TableSpec("ecmo_privilege", frozenset({"grant_privilege"})),
    "lot_recall": TableSpec("lot_recall", frozenset({"recall"})),
}

# the optimistic-lock counter moves with every save: it is not content
_ALWAYS_SKIP = frozenset({"version"})

# failed attempts (bind_refused, login_failed …) change nothing; these actions carry no field state
_NOT_STATE = frozenset({"sign", "print", "reprint", "bind_refused"})


@dataclass
class Replayed:
    """One row as the trail describes it: the folded after-images and where they came from."""

    fields: dict[str, Any] = field(default_factory=dict)
    seq_of: dict[str, int] = field(default_factory=dict)  # field → seq of the event that last set it
    created: bool = False
    first_seq: int = 0


@dataclass(frozen=True)
class TrailProblem:
    """``kind``: ``changed`` (field differs from its last after-image), ``no_create_event`` (a row the
    trail never saw created), ``row_missing`` (the trail names a row that is gone)."""

    table: str
    row_id: int
    kind: str
    field: str | None = None
    expected: Any = None
    actual: Any = None
    seq: int | None = None


class TrailReplay:
    """Folds events one at a time (so ``verify`` reads the trail once for chain and replay)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], Replayed] = {}
        self.imported_runs: set[int] = set()
        self.imported_patients: set[int] = set()

    def feed(self, event: AuditEvent) -> None:
        spec = TRACKED.get(event.entity)
        if event.action == "import" and event.entity == "ecmo_run" and event.entity_id is not None:
            self.imported_runs.add(event.entity_id)
            if event.patient_id is not None:
                self.imported_patients.add(event.patient_id)
        if spec is None or event.entity_id is None or not event.success or event.action in _NOT_STATE:
            return
        row = self.rows.get((event.entity, event.entity_id))
        if row is None:
            row = self.rows[(event.entity, event.entity_id)] = Replayed(first_seq=event.seq)
        if event.action in spec.creates or event.action == BASELINE_ACTION:
            row.created = True
        if isinstance(event.after, Mapping):
            for key, value in event.after.items():
                if key not in spec.skip and key not in _ALWAYS_SKIP:
                    row.fields[key] = value
                    row.seq_of[key] = event.seq

    def feed_all(self, events: Iterable[AuditEvent]) -> None:
        for event in events:
            self.feed(event)


def normalise(value: Any) -> Any:
    """One comparable form for a stored value and its JSON after-image (times in UTC, numbers
    without float noise, tuples as lists, empty text and None alike)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return str(number)
        return int(number) if number.is_integer() else round(number, 6)
    if isinstance(value, str):
        if len(value) >= 19 and value[4:5] == "-" and value[10:11] in ("T", " ") and value[13:14] == ":":
            try:
                return normalise(datetime.fromisoformat(value))
            except ValueError:
                return value
        try:
            if value[:1].isdigit() or value[:1] == "-":
                return (
                    normalise(float(value))
                    if any(ch in value for ch in ".eE") or value.lstrip("-").isdigit()
                    else value
                )
        except ValueError:
            return value
        return value
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in value.items() if normalise(v) is not None}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [normalise(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return str(value)


_SIMPLE = (str, int, float, bool, type(None), dict, list)


def _same(expected: Any, actual: Any) -> bool:
    if type(expected) is type(actual) and type(expected) in _SIMPLE and expected == actual:
        return True  # the common case, without normalising: equal values of one type normalise alike
    a, b = normalise(expected), normalise(actual)
    if a == b:
        return True
    if isinstance(a, list) and isinstance(b, str):  # a tuple stored as comma-separated text
        return ",".join(str(x) for x in a) == b
    if isinstance(a, (list, dict)) and not a and b is None:
        return True
    return bool(isinstance(b, (list, dict)) and not b and a is None)


def compare(
    replay: TrailReplay,
    current: Mapping[str, Mapping[int, Mapping[str, Any]]],
    *,
    run_of: Mapping[str, Mapping[int, int | None]] | None = None,
) -> list[TrailProblem]:
    """What differs between the trail's replay and the stored rows (``current``: table → id → columns).

    ``run_of`` (table → id → run id) lets rows written by a case import count as created by it.
    """
    problems: list[TrailProblem] = []
    by_table = {spec.table: entity for entity, spec in TRACKED.items()}
    for (entity, row_id), row in sorted(replay.rows.items(), key=lambda kv: kv[1].first_seq):
        spec = TRACKED[entity]
        stored = current.get(spec.table, {}).get(row_id)
        if stored is None:
            problems.append(TrailProblem(spec.table, row_id, "row_missing", seq=row.first_seq))
            continue
        for key, expected in row.fields.items():
            if key not in stored:
                continue  # an after-image field the table does not keep (looked up or derived)
            if not _same(expected, stored[key]):
                problems.append(
                    TrailProblem(
                        spec.table,
                        row_id,
                        "changed",
                        key,
                        normalise(expected),
                        normalise(stored[key]),
                        row.seq_of[key],
                    )
                )
    for table, rows in current.items():
        table_entity = by_table.get(table)
        if table_entity is None:
            continue
        runs = (run_of or {}).get(table, {})
        for row_id in rows:
            seen = replay.rows.get((table_entity, row_id))
            if seen is not None and seen.created:
                continue
            if table == "patient" and row_id in replay.imported_patients:
                continue
            if runs.get(row_id) in replay.imported_runs:
                continue
            problems.append(TrailProblem(table, row_id, "no_create_event"))
    return problems


def replay_tables() -> tuple[str, ...]:
    return tuple(spec.table for spec in TRACKED.values())


def baseline_changes(
    problems: Iterable[TrailProblem], current: Mapping[str, Mapping[int, Mapping[str, Any]]]
) -> list[tuple[str, int, dict[str, Any] | None, dict[str, Any]]]:
    """(entity, row id, before, after) per row whose stored state the trail does not explain.

    Used once, by the upgrade that introduced replay (0002): releases before it changed some rows
    without an after-image (scheduled follow-ups, outcome fields). The upgrade appends one
    ``baseline`` event per such row, trail value as *before* and stored value as *after*, so the
    difference is written into the trail where anyone can read it, and later edits are checked.
    """
    entity_of = {spec.table: entity for entity, spec in TRACKED.items()}
    out: dict[tuple[str, int], tuple[dict[str, Any], dict[str, Any]]] = {}
    for p in problems:
        entity = entity_of.get(p.table)
        stored = current.get(p.table, {}).get(p.row_id)
        if entity is None or stored is None:
            # a row the trail names but the table lost cannot be baselined: verify keeps reporting it
            continue
        before, after = out.setdefault((entity, p.row_id), ({}, {}))
        if p.kind == "no_create_event":
            after.update({k: v for k, v in stored.items()})
        elif p.kind == "changed" and p.field is not None:
            before[p.field] = p.expected
            after[p.field] = stored[p.field]
    return [(entity, row_id, before or None, after) for (entity, row_id), (before, after) in out.items()]
