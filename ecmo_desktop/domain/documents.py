"""Printed documents as stored values: what was printed, by whom, and the runs the records staff archive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class GeneratedDocument:
    """A stored PDF (without its bytes): what was printed, by whom, when, and how to check a copy.

    ``document_number`` is what the footer prints; ``sha256`` is the hash of the stored bytes (a
    file or reprint is genuine when it matches), ``content_hash`` the hash of the printed content
    (equal for two printings of unchanged records), ``audit_anchor`` the audit-chain head when it
    was generated (AUD-3: ``ecmo-desktop verify --anchor`` checks it is still in the chain).
    """

    id: int
    run_id: int | None
    kind: str
    subject_id: int | None
    version: int
    title: str
    size_bytes: int
    sha256: str
    content_hash: str
    page_count: int
    audit_anchor: str | None
    created_at: datetime
    created_by_id: int
    created_by_name: str
    meta: dict[str, Any]

    @property
    def document_number(self) -> str:
        return document_number(self.id, self.version)


@dataclass(frozen=True)
class ArchiveCandidate:
    """A run on the records-staff page: who, when, and whether (and when) it was last archived."""

    run_id: int
    run_number: int
    mrn: str
    patient_name: str
    sex: str
    mode: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    discharged_at: datetime | None
    archive_id: int | None  # the latest archive document of the run
    archive_version: int | None
    archived_at: datetime | None


@dataclass(frozen=True)
class ArchiveQuery:
    """Which runs the records staff want: ECMO start in [started_from, started_to), status, discharge."""

    started_from: datetime | None = None
    started_to: datetime | None = None
    statuses: tuple[str, ...] = ()
    discharged_only: bool = False
    not_archived_only: bool = False


def document_number(document_id: int, version: int) -> str:
    """The number printed in the footer: database id and version, e.g. ``DOC-000123-v2``."""
    return f"DOC-{document_id:06d}-v{version}"
