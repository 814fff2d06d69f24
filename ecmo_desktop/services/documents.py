"""Printing: every document is generated, stored and audited; a reprint is the stored original.

``generate`` reads the run's dossier, lays the PDF out and stores it — bytes, SHA-256 of the bytes,
SHA-256 of the printed content, who and when, a version per (run, kind, subject), and the
audit-chain head at that moment as the anchor printed in every footer (PDF-1, AUD-3) — then writes
the "print" audit row in the same transaction. The PDF carries its own database id, so the row is
reserved first and completed in that transaction; nobody ever sees a half-written document.
``reprint`` returns the stored bytes, checked against their SHA-256, never a new rendering: the
paper copy of 2026 and the one printed in 2050 are the same file.

``batch_archive`` is long work for the records staff: a plain function over a progress/cancel
handle (``set_progress``, ``cancelled()``), one short transaction per run, so the UI runs it on a
worker thread and the ward's own saves are never held up for long.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ecmo_desktop.documents.archive import ARCHIVE, KINDS, plan_document, render
from ecmo_desktop.documents.consent import LoadedTemplate, load_consent_template
from ecmo_desktop.documents.parts import DocumentPlan, PrintContext
from ecmo_desktop.documents.recall import recall_plan
from ecmo_desktop.domain.case import CaseDossier
from ecmo_desktop.domain.documents import ArchiveCandidate, ArchiveQuery, GeneratedDocument, document_number
from ecmo_desktop.domain.errors import EcmoError, PermissionDenied, StorageError
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.domain.time import format_local
from ecmo_desktop.fileio import atomic_write_bytes
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.auth import DEMO_SETTING
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import SYSTEM_ACTOR_ID, Action, requires
from ecmo_desktop.services.ports import UnitOfWork

log = logging.getLogger(__name__)

OPERATION_NOTE = "opnote"
MAX_BATCH = 2000
MAX_TRACE_ROWS = 20_000


class Progress(Protocol):
    """What long work reports to, and asks whether to stop (DESIGN habit 7)."""

    def set_progress(self, done: int, total: int, text: str = "") -> None: ...
    def cancelled(self) -> bool: ...


@dataclass(frozen=True)
class PrintedDocument:
    """A document just generated (or reprinted): its record and its bytes."""

    document: GeneratedDocument
    pdf: bytes

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.document.meta.get("warnings", ()))


@dataclass(frozen=True)
class R8Status:
    """R8 for one run: every active device binding printed, with its barcode, in an operation note."""

    operation_notes: int
    bound: tuple[int, ...]  # active binding (usage) ids
    missing: tuple[int, ...]  # bound but in no operation note with a barcode

    @property
    def complete(self) -> bool | None:
        """True/False once an operation note exists; None before (nothing to judge yet)."""
        if self.operation_notes == 0:
            return None
        return not self.missing


@dataclass(frozen=True)
class BatchItem:
    run_id: int
    document: GeneratedDocument | None = None
    path: Path | None = None
    error: str = ""


@dataclass(frozen=True)
class BatchResult:
    items: tuple[BatchItem, ...] = ()
    cancelled: bool = False
    total: int = 0

    @property
    def done(self) -> tuple[BatchItem, ...]:
        return tuple(i for i in self.items if i.document is not None and not i.error)

    @property
    def failed(self) -> tuple[BatchItem, ...]:
        return tuple(i for i in self.items if i.error)


class DocumentService(Service):
    """Generate, store, list and reprint the run's documents; batch archives for the records staff."""

    # ---- single documents ------------------------------------------------------------------------------
    @requires(Action.PRINT)
    def generate(self, kind: str, run_id: int, subject_id: int | None = None) -> PrintedDocument:
        """Generate one document of ``kind`` (see ``documents.archive.KINDS``) for a run and store it."""
        if kind not in KINDS:
            raise EcmoError(N_("未知的文档类型：{kind}"), kind=kind)
        return self._generate(kind, run_id, subject_id)

    @requires(Action.PRINT)
    def reprint(self, document_id: int) -> bytes:
        """The stored bytes of a document, checked against their SHA-256; the reprint is audited."""
        user = self._printer()

        def work(uow: UnitOfWork) -> bytes:
            doc = uow.documents.get(document_id)
            data = self._checked(uow, doc)
            self._audit(
                uow,
                "reprint",
                "generated_document",
                doc.id,
                run_id=doc.run_id,
                actor=user,
                after={
                    "kind": doc.kind,
                    "version": doc.version,
                    "sha256": doc.sha256,
                    "document_number": doc.document_number,
                },
            )
            uow.commit()
            return data

        return self._transact(work)

    @requires(Action.VIEW_CASES)
    def document_pdf(self, document_id: int) -> bytes:
        """The stored bytes for the in-app preview (reading is not printing: no audit row)."""
        return self._read(lambda uow: self._checked(uow, uow.documents.get(document_id)))

    @requires(Action.VIEW_CASES)
    def get_document(self, document_id: int) -> GeneratedDocument:
        return self._read(lambda uow: uow.documents.get(document_id))

    @requires(Action.VIEW_CASES)
    def suggested_file_name(self, document_id: int) -> str:
        """What "save as PDF" proposes: patient, run, document, date and version, never ``DOC-000001-v1``."""

        def work(uow: UnitOfWork) -> str:
            doc = uow.documents.get(document_id)
            return document_file_name(doc, _label_of(uow, doc.run_id) if doc.run_id is not None else "")

        return self._read(work)

    @requires(Action.VIEW_CASES)
    def documents_for_run(self, run_id: int) -> list[GeneratedDocument]:
        """Every document generated for a run, newest first (versions included: the history is the point)."""
        return self._read(lambda uow: uow.documents.for_run(run_id))

    @requires(Action.VIEW_CASES)
    def subjects(self, run_id: int) -> dict[str, list[tuple[int, str]]]:
        """What each kind can be printed for: procedures, decisions, consents, days, follow-ups.

        (subject id, label) pairs, so the documents tab and the CLI offer real choices only.
        """
        dossier = self._read(lambda uow: uow.cases.load(run_id))
        return subject_choices(dossier)

    @requires(Action.VIEW_CASES)
    def r8_status(self, run_id: int) -> R8Status:
        """R8: operation notes of the run against its active device bindings (see ``R8Status``)."""

        def work(uow: UnitOfWork) -> R8Status:
            notes, active, printed = uow.documents.operation_note_coverage(run_id)
            return R8Status(notes, tuple(sorted(active)), tuple(sorted(active - printed)))

        return self._read(work)

    @requires(Action.TRACE)
    def export_trace(
        self, title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], *, description: str = ""
    ) -> PrintedDocument:
        """A recall / trace result table as a stored PDF (rows as plain data; the trace pages supply them)."""
        if len(rows) > MAX_TRACE_ROWS:
            raise EcmoError(N_("结果超过 {n} 行，请缩小查询范围后再导出"), n=MAX_TRACE_ROWS)
        plan = recall_plan(title, columns, rows, description=description)
        return self._store(plan, None, None)

    # ---- the records staff -----------------------------------------------------------------------------
    @requires(Action.BATCH_ARCHIVE)
    def archive_candidates(self, query: ArchiveQuery, *, limit: int = 1000) -> list[ArchiveCandidate]:
        return self._read(lambda uow: uow.documents.archive_candidates(query, limit=max(1, min(limit, 5000))))

    @requires(Action.BATCH_ARCHIVE)
    def batch_archive(
        self,
        run_ids: Sequence[int],
        out_dir: Path | None,
        progress: Progress,
        *,
        deliver: Callable[[PrintedDocument], None] | None = None,
    ) -> BatchResult:
        """Generate and store the archive of each run; write each to ``out_dir`` and/or hand it to
        ``deliver`` (the UI prints it). A failing run is reported and the batch goes on; ``cancelled()``
        is checked between runs, so a cancel never leaves a half-stored archive."""
        ids = list(dict.fromkeys(run_ids))
        if len(ids) > MAX_BATCH:
            raise EcmoError(N_("一次最多归档 {n} 个病例"), n=MAX_BATCH)
        if out_dir is None and deliver is None:
            raise EcmoError(N_("请选择归档文件夹或打印机"))
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(out_dir, os.W_OK):
                raise EcmoError(N_("无法写入文件夹：{path}"), path=str(out_dir))
        total = len(ids)
        items: list[BatchItem] = []
        progress.set_progress(0, total, "")
        for n, run_id in enumerate(ids):
            if progress.cancelled():
                return BatchResult(tuple(items), True, total)
            try:
                printed = self._generate(ARCHIVE, run_id, None)
            except EcmoError as exc:
                items.append(BatchItem(run_id, error=exc.user_message()))
                progress.set_progress(
                    n + 1, total, _("病例 {id}：{error}").format(id=run_id, error=exc.user_message())
                )
                continue
            path: Path | None = None
            error = ""
            try:
                if out_dir is not None:
                    path = write_pdf(
                        out_dir / archive_file_name(printed.document, self._patient_label(run_id)),
                        printed.pdf,
                    )
                if deliver is not None:
                    deliver(printed)
            except OSError as exc:
                error = _("已生成并保存到数据库，但写出失败：{error}").format(error=exc.strerror or str(exc))
            except EcmoError as exc:
                error = _("已生成并保存到数据库，但打印失败：{error}").format(error=exc.user_message())
            items.append(BatchItem(run_id, printed.document, path, error))
            progress.set_progress(n + 1, total, path.name if path else printed.document.document_number)
        return BatchResult(tuple(items), False, total)

    # ---- internals -------------------------------------------------------------------------------------
    def _printer(self) -> CurrentUser:
        """The named person printing: the footer prints who, so the command-line operator cannot."""
        user = self.ctx.require_user()
        if user.id == SYSTEM_ACTOR_ID:
            raise PermissionDenied(
                N_("打印文档须以具名账户执行（页脚要印出打印人）：命令行请加 --user 用户名")
            )
        return user

    def _patient_label(self, run_id: int) -> str:
        return self._read(lambda uow: _label_of(uow, run_id))

    def _generate(self, kind: str, run_id: int, subject_id: int | None) -> PrintedDocument:
        self._printer()
        template = _template() if kind in ("consent", ARCHIVE) else None
        dossier = self._read(lambda uow: uow.cases.load(run_id))
        plan = plan_document(kind, dossier, subject_id, as_of=self.ctx.now(), template=template)
        return self._store(plan, dossier, run_id)

    def _store(self, plan: DocumentPlan, dossier: CaseDossier | None, run_id: int | None) -> PrintedDocument:
        user = self._printer()
        now = self.ctx.now()

        def work(uow: UnitOfWork) -> PrintedDocument:
            version = uow.documents.next_version(
                run_id, plan.kind, plan.subject_id
            )  # serialised per document
            previous = uow.documents.latest(run_id, plan.kind, plan.subject_id)
            doc_id = uow.documents.add(
                run_id=run_id,
                kind=plan.kind,
                subject_id=plan.subject_id,
                version=version,
                title=plan.title,
                created_at=now,
                created_by_id=user.id,
            )
            head = uow.audit.head()
            anchor = f"#{head.seq} {head.hash}" if head else None
            local = uow.hospitals.local()
            hospital = dossier.hospital.name if dossier else getattr(local, "name", "")
            demo = bool(local is not None and (local.settings or {}).get(DEMO_SETTING) is True)
            rendered = render(
                plan,
                dossier,
                PrintContext(now, user.full_name, document_number(doc_id, version), anchor, hospital, demo),
            )
            digest = hashlib.sha256(rendered.pdf).hexdigest()
            meta = {
                **plan.meta,
                "warnings": list(plan.warnings),
                "workstation": self.ctx.workstation,
                "audit_seq": head.seq if head else None,
                "previous_id": previous.id if previous else None,
                "content_changed": previous is None or previous.content_hash != plan.content_hash,
            }
            if rendered.parts:
                meta["parts"] = list(rendered.parts)
            doc = uow.documents.complete(
                doc_id,
                pdf=rendered.pdf,
                sha256=digest,
                content_hash=plan.content_hash,
                page_count=rendered.page_count,
                audit_anchor=head.hash if head else None,
                meta=meta,
            )
            self._audit(
                uow,
                "print",
                "generated_document",
                doc_id,
                run_id=run_id,
                actor=user,
                patient_id=dossier.patient.id if dossier else None,
                after={
                    "kind": plan.kind,
                    "subject_id": plan.subject_id,
                    "version": version,
                    "title": plan.title,
                    "pages": rendered.page_count,
                    "sha256": digest,
                    "content_hash": plan.content_hash,
                    "document_number": doc.document_number,
                },
            )
            uow.commit()
            return PrintedDocument(doc, rendered.pdf)

        return self._transact(work)

    @staticmethod
    def _checked(uow: UnitOfWork, doc: GeneratedDocument) -> bytes:
        data = uow.documents.pdf(doc.id)
        if hashlib.sha256(data).hexdigest() != doc.sha256:
            log.error("stored document %s does not match its SHA-256", doc.id)
            raise StorageError(
                N_("文档 {number} 的存档内容与其校验值不符，可能已被改动，请联系管理员"),
                number=doc.document_number,
            )
        return data


def _template() -> LoadedTemplate:
    loaded = load_consent_template()
    if loaded.problem:
        log.warning("consent template: %s", loaded.problem)
    return loaded


def _label_of(uow: UnitOfWork, run_id: int) -> str:
    run = uow.runs.get(run_id)
    patient = uow.patients.get(run.patient_id)
    nth = _("第{n}次ECMO").format(n=run.run_number)
    return f"{patient.mrn}_{patient.name}_{nth}"


def subject_choices(dossier: CaseDossier) -> dict[str, list[tuple[int, str]]]:
    from ecmo_desktop.documents.opnote import opnote_title
    from ecmo_desktop.documents.parts import when
    from ecmo_desktop.documents.records import day_subject

    return {
        "opnote": [(p.id, f"{opnote_title(p.kind)} {when(p.started_at)}") for p in dossier.procedures],
        "decision": [
            (d.id, f"{_('上机决策') if d.kind == 'start' else _('撤机决策')} {when(d.decided_at)}")
            for d in dossier.decisions
        ],
        "consent": [(c.id, f"{c.signer_name} {when(c.signed_on_paper_at)}") for c in dossier.consents],
        "daily": [(day_subject(day), day.isoformat()) for day in dossier.days()],
        "followup": [(f.id, f"{f.kind} {f.due_date.isoformat()}") for f in dossier.follow_ups],
    }


# ---- files ------------------------------------------------------------------------------------------------
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


def safe_file_name(text: str, *, max_length: int = 120) -> str:
    """A name every file system takes: no path or Windows-reserved characters, not too long."""
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).strip(" .") or "document"
    cleaned = "".join(ch for ch in cleaned if unicodedata.category(ch) not in ("Cs", "Co", "Cn"))
    cleaned = cleaned[:max_length].rstrip(" .") or "document"
    if cleaned.split(".")[0].upper() in _RESERVED:  # Windows will not create "CON.pdf" or "nul.pdf"
        cleaned = f"_{cleaned}"
    return cleaned


def archive_file_name(doc: GeneratedDocument, patient_label: str) -> str:
    return safe_file_name(f"{patient_label}_{_('病历归档')}_{doc.document_number}") + ".pdf"


def document_file_name(doc: GeneratedDocument, patient_label: str) -> str:
    """``住院号_姓名_第1次ECMO_置管手术记录_2026-03-02_v1.pdf`` (Beijing date of the printing)."""
    day = format_local(doc.created_at)[:10]
    parts = [patient_label, doc.title or _(KINDS.get(doc.kind, doc.kind)), day, f"v{doc.version}"]
    return safe_file_name("_".join(p for p in parts if p)) + ".pdf"


def write_pdf(path: Path, data: bytes) -> Path:
    """Write atomically (a temporary file, then rename): a crash never leaves half a PDF behind."""
    return atomic_write_bytes(path, data)
