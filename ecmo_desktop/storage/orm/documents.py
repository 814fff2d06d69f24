"""Generated PDFs, stored so a reprint is the identical stored original."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ecmo_desktop.storage.orm.base import Base


class DocumentRow(Base):
    __tablename__ = "generated_document"
    __table_args__ = (Index("ix_generated_document_run_kind", "run_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ecmo_run.id"))
    kind: Mapped[str] = mapped_column(String(24))
    subject_id: Mapped[int | None] = mapped_column(Integer)  # e.g. the procedure of an operation note
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    page_count: Mapped[int] = mapped_column(Integer)
    audit_anchor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
