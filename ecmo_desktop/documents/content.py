"""The canonical content of a printed document: what the footer's content hash covers.

The hash is computed from the values a document prints (``domain/case.py``), as canonical JSON, so
two printings of unchanged records carry the same hash on every backend.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from ecmo_desktop.domain.case import (
    CannulaInfo,
    ConsentInfo,
    DeviceInfo,
    PhysicianInfo,
    ProcedureInfo,
    RecordInfo,
    TeamMember,
)

# Fields of the case read model a document does not print as such, so not hashed: a record's signer
# is printed (and hashed) from its signatures, a device item by its label. Keeping them out keeps
# the hash of unchanged records what it has always been.
_NOT_PRINTED = frozenset(
    {"signed_at", "signed_by", "device_item_id", "run_id", "created_by_id", "updated_at"}
)
# Values that carry a member of staff are hashed as printed: the name and the title.
_AS_PRINTED: dict[type, tuple[str, ...]] = {
    PhysicianInfo: ("staff_id", "name", "title", "role", "expert_at_decision"),
    TeamMember: ("staff_id", "name", "title", "role", "privileged"),
    CannulaInfo: (
        "position",
        "role",
        "vessel",
        "side",
        "size_fr",
        "length_cm",
        "depth_cm",
        "tip_position",
        "device_usage_id",
        "removed_at",
    ),
    DeviceInfo: (
        "usage_id",
        "item_id",
        "procedure_id",
        "product_name",
        "category",
        "model",
        "manufacturer",
        "nmpa_number",
        "gtin",
        "udi_di",
        "lot",
        "serial",
        "expiry",
        "production_date",
        "raw_code",
        "scanned_text",
        "symbology",
        "single_use",
        "bound_at",
        "bound_by_name",
        "override_reason",
        "removed_at",
        "removal_reason",
    ),
    ProcedureInfo: (
        "id",
        "status",
        "version",
        "created_at",
        "created_by_name",
        "signatures",
        "kind",
        "started_at",
        "flow_at",
        "ended_at",
        "location",
        "technique",
        "guidance",
        "mode_before",
        "mode_after",
        "reason",
        "settings",
        "immediate_complications",
        "notes",
        "team",
        "cannulae",
        "devices",
        "inferred_device_ids",
    ),
    ConsentInfo: (
        "id",
        "status",
        "version",
        "created_at",
        "created_by_name",
        "signatures",
        "explained_by_name",
        "explained_by_title",
        "signer_name",
        "relationship",
        "signed_on_paper_at",
        "refused",
        "notes",
    ),
}


# ---- canonical content (what the footer's content hash covers) --------------------------------------
def plain(value: Any) -> Any:
    """A JSON value for any dossier part: times as UTC ISO strings, tuples as lists, keys sorted later."""
    if is_dataclass(value) and not isinstance(value, type):
        names = _AS_PRINTED.get(type(value))
        if names is None:
            skip = _NOT_PRINTED if isinstance(value, RecordInfo) else frozenset()
            names = tuple(f.name for f in fields(value) if f.name not in skip)
        return {name: plain(getattr(value, name)) for name in names}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 9)
    return value


def content_hash(content: Any) -> str:
    """SHA-256 of the canonical JSON of ``content``: equal content, equal hash, on every backend.

    Lone surrogates (possible in text from bad decodes) are kept as escapes, so hashing never fails.
    """
    text = json.dumps(plain(content), sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()
