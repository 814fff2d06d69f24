"""Generated documents: stored once, never changed afterwards, read back byte for byte.

A document row is inserted first (its id is printed in the PDF's own footer), then completed with
the bytes and hashes in the same transaction, so no half-written row is ever visible to another PC.
The PDF bytes are a deferred column: listing a run's documents never reads megabytes of PDF.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text

from ecmo_desktop.domain.documents import ArchiveCandidate, ArchiveQuery, GeneratedDocument
from ecmo_desktop.domain.errors import NotFound
from ecmo_desktop.i18n import N_
from ecmo_desktop.storage.orm.devices import UsageRow
from ecmo_desktop.storage.orm.documents import DocumentRow
from ecmo_desktop.storage.orm.people import PatientRow, StaffRow
from ecmo_desktop.storage.orm.runs import RunRow
from ecmo_desktop.storage.repositories.base import Repository

ARCHIVE_KIND = "archive"
OPERATION_NOTE_KIND = "opnote"
_PG_DOCUMENT_LOCK = 7_286_002  # advisory lock class for document versions (the audit chain uses 7_286_001)


class SqlDocumentRepository(Repository):
    def next_version(self, run_id: int | None, kind: str, subject_id: int | None) -> int:
        """1 + the highest version of this document (same run, kind and subject).

        On PostgreSQL two ward PCs printing the same document at once would both read the same
        highest version; a transaction-scoped advisory lock per document serialises them (taken
        before the audit append's own lock, always in that order, so they cannot deadlock).
        """
        if self.session.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(f"{run_id}|{kind}|{subject_id}".encode()).digest()[:4], "big")
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _PG_DOCUMENT_LOCK, "b": key - 2**31}
            )
        stmt = select(func.max(DocumentRow.version)).where(DocumentRow.kind == kind)
        stmt = stmt.where(DocumentRow.run_id.is_(None) if run_id is None else DocumentRow.run_id == run_id)
        stmt = stmt.where(
            DocumentRow.subject_id.is_(None) if subject_id is None else DocumentRow.subject_id == subject_id
        )
        return int(self.session.scalar(stmt) or 0) + 1

    def add(
        self,
        *,
        run_id: int | None,
        kind: str,
        subject_id: int | None,
        version: int,
        title: str,
        created_at: datetime,
        created_by_id: int,
    ) -> int:
        """Reserve the row (and its id, which the PDF prints); ``complete`` fills it in."""
        row = DocumentRow(
            run_id=run_id,
            kind=kind,
            subject_id=subject_id,
            version=version,
            title=title[:200],
            pdf=None,
            size_bytes=0,
            sha256="",
            content_hash="",
            page_count=0,
            audit_anchor=None,
            created_at=created_at,
            created_by_id=created_by_id,
            meta={},
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def complete(
        self,
        document_id: int,
        *,
        pdf: bytes,
        sha256: str,
        content_hash: str,
        page_count: int,
        audit_anchor: str | None,
        meta: dict[str, Any],
    ) -> GeneratedDocument:
        row = self._get(DocumentRow, document_id, "文档")
        if row.sha256:
            raise ValueError(f"document {document_id} is already complete: stored documents never change")
        row.pdf = pdf
        row.size_bytes = len(pdf)
        row.sha256 = sha256
        row.content_hash = content_hash
        row.page_count = page_count
        row.audit_anchor = audit_anchor
        row.meta = meta
        self.session.flush()
        return self._map(row, self._names([row.created_by_id]))

    def get(self, document_id: int) -> GeneratedDocument:
        row = self._get(DocumentRow, document_id, "文档")
        if not row.sha256:
            raise NotFound(N_("找不到{what}（编号 {id}）"), what="文档", id=document_id)
        return self._map(row, self._names([row.created_by_id]))

    def pdf(self, document_id: int) -> bytes:
        data = self.session.scalar(
            select(DocumentRow.pdf).where(DocumentRow.id == document_id, DocumentRow.sha256 != "")
        )
        if data is None:
            raise NotFound(N_("找不到{what}（编号 {id}）"), what="文档", id=document_id)
        return bytes(data)

    def for_run(self, run_id: int) -> list[GeneratedDocument]:
        rows = list(
            self.session.scalars(
                select(DocumentRow)
                .where(DocumentRow.run_id == run_id, DocumentRow.sha256 != "")
                .order_by(DocumentRow.created_at.desc(), DocumentRow.id.desc())
            )
        )
        names = self._names([r.created_by_id for r in rows])
        return [self._map(r, names) for r in rows]

    def latest(self, run_id: int | None, kind: str, subject_id: int | None) -> GeneratedDocument | None:
        stmt = select(DocumentRow).where(DocumentRow.kind == kind, DocumentRow.sha256 != "")
        stmt = stmt.where(DocumentRow.run_id.is_(None) if run_id is None else DocumentRow.run_id == run_id)
        stmt = stmt.where(
            DocumentRow.subject_id.is_(None) if subject_id is None else DocumentRow.subject_id == subject_id
        )
        row = self.session.scalars(stmt.order_by(DocumentRow.version.desc()).limit(1)).first()
        return self._map(row, self._names([row.created_by_id])) if row is not None else None

    # ---- R8: operation notes against the run's bindings ------------------------------------------------
    def operation_note_coverage(self, run_id: int) -> tuple[int, set[int], set[int]]:
        """(operation notes generated, active binding ids, binding ids printed with their barcode).

        R8 holds for a run when every active (not voided) binding is among the printed ones: some
        operation note of the run listed its usage id in ``meta["device_usage_ids"]`` and did not
        list it in ``meta["barcode_failed_usage_ids"]``. The JSON lists are read in Python, so the
        same code runs on SQLite and PostgreSQL.
        """
        # annotated: select() of a column typed dict[str, Any] matches its overloads ambiguously (the Any)
        stmt: Select[dict[str, Any]] = select(DocumentRow.meta).where(
            DocumentRow.run_id == run_id, DocumentRow.kind == OPERATION_NOTE_KIND, DocumentRow.sha256 != ""
        )
        metas: list[dict[str, Any]] = [m or {} for m in self.session.scalars(stmt)]
        printed: set[int] = set()
        for meta in metas:
            failed = {int(u) for u in meta.get("barcode_failed_usage_ids", ())}
            printed |= {int(u) for u in meta.get("device_usage_ids", ())} - failed
        active = set(
            self.session.scalars(
                select(UsageRow.id).where(UsageRow.run_id == run_id, UsageRow.voided_at.is_(None))
            )
        )
        return len(metas), active, printed

    # ---- the records staff's list ----------------------------------------------------------------------
    def archive_candidates(self, query: ArchiveQuery, *, limit: int) -> list[ArchiveCandidate]:
        latest = (
            select(DocumentRow.run_id.label("run_id"), func.max(DocumentRow.id).label("doc_id"))
            .where(DocumentRow.kind == ARCHIVE_KIND, DocumentRow.sha256 != "")
            .group_by(DocumentRow.run_id)
            .subquery()
        )
        archive = DocumentRow.__table__.alias("last_archive")
        stmt = (
            select(
                RunRow.id,
                RunRow.run_number,
                PatientRow.mrn,
                PatientRow.name,
                PatientRow.sex,
                RunRow.mode,
                RunRow.status,
                RunRow.started_at,
                RunRow.ended_at,
                PatientRow.discharged_at,
                archive.c.id.label("archive_id"),
                archive.c.version.label("archive_version"),
                archive.c.created_at.label("archived_at"),
            )
            .join(PatientRow, PatientRow.id == RunRow.patient_id)
            .outerjoin(latest, latest.c.run_id == RunRow.id)
            .outerjoin(archive, archive.c.id == latest.c.doc_id)
        )
        if query.started_from is not None:
            stmt = stmt.where(RunRow.started_at >= query.started_from)
        if query.started_to is not None:
            stmt = stmt.where(RunRow.started_at < query.started_to)
        if query.statuses:
            stmt = stmt.where(RunRow.status.in_(query.statuses))
        if query.discharged_only:
            stmt = stmt.where(PatientRow.discharged_at.is_not(None))
        if query.not_archived_only:
            stmt = stmt.where(latest.c.doc_id.is_(None))
        stmt = stmt.order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)
        return [
            ArchiveCandidate(
                run_id=r.id,
                run_number=r.run_number,
                mrn=r.mrn,
                patient_name=r.name,
                sex=r.sex,
                mode=r.mode,
                status=r.status,
                started_at=r.started_at,
                ended_at=r.ended_at,
                discharged_at=r.discharged_at,
                archive_id=r.archive_id,
                archive_version=r.archive_version,
                archived_at=r.archived_at,
            )
            for r in self.session.execute(stmt)
        ]

    # ---- helpers -------------------------------------------------------------------------------------
    def _names(self, ids: Sequence[int]) -> dict[int, str]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return {
            r.id: r.full_name
            for r in self.session.execute(
                select(StaffRow.id, StaffRow.full_name).where(StaffRow.id.in_(wanted))
            )
        }

    @staticmethod
    def _map(row: DocumentRow, names: dict[int, str]) -> GeneratedDocument:
        return GeneratedDocument(
            id=row.id,
            run_id=row.run_id,
            kind=row.kind,
            subject_id=row.subject_id,
            version=row.version,
            title=row.title,
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            content_hash=row.content_hash,
            page_count=row.page_count,
            audit_anchor=row.audit_anchor,
            created_at=row.created_at,
            created_by_id=row.created_by_id,
            created_by_name=names.get(row.created_by_id, f"#{row.created_by_id}"),
            meta=dict(row.meta or {}),
        )
