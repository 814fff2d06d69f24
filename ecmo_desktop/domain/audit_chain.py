"""The audit hash chain (AUD-3): hash_i = SHA256(hash_{i-1} ‖ canonical_json(entry_i)).

Pure functions, so the storage layer, the ``verify`` command and the tests all compute the same
thing. The chain proves order and completeness; against someone who can rewrite the whole table
it is anchored outside the database (PDF footers, export and backup manifests).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ecmo_desktop.domain.model import AuditEvent, ChainVerification

GENESIS = "0" * 64

CHAINED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_name",
    "workstation",
    "action",
    "entity",
    "entity_id",
    "run_id",
    "patient_id",
    "before",
    "after",
    "reason",
    "success",
)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def jsonable(value: Any) -> Any:
    """What the database will give back for ``value`` (JSON round trip), so hashes match later."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def canonical_json(entry: Mapping[str, Any]) -> str:
    payload = {k: entry.get(k) for k in CHAINED_FIELDS}
    occurred = payload["occurred_at"]
    if isinstance(occurred, datetime):
        payload["occurred_at"] = occurred.isoformat(timespec="microseconds")
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default)


def chain_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


def event_fields(event: AuditEvent) -> dict[str, Any]:
    return {k: getattr(event, k) for k in CHAINED_FIELDS}


def verify_events(
    events: Iterable[AuditEvent], *, start_prev: str = GENESIS, start_seq: int = 1
) -> ChainVerification:
    """Walk the chain in seq order; report the first link that does not hold."""
    prev = start_prev
    expected_seq = start_seq
    checked = 0
    for event in events:
        if event.seq < 1:  # chain positions start at 1: a row below is forged, whatever its hash
            return ChainVerification(False, checked, prev, event.seq, "seq_not_positive")
        if event.seq != expected_seq:
            problem = "missing" if event.seq > expected_seq else "out_of_order"
            return ChainVerification(False, checked, prev, expected_seq, problem)
        if event.prev_hash != prev:
            return ChainVerification(False, checked, prev, event.seq, "broken_link")
        if chain_hash(prev, vars(event)) != event.hash:  # canonical_json picks CHAINED_FIELDS itself
            return ChainVerification(False, checked, prev, event.seq, "altered")
        prev = event.hash
        expected_seq += 1
        checked += 1
    return ChainVerification(True, checked, prev)
