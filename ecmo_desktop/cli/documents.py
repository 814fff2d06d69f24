"""Document commands: print one document of a run, batch-archive runs, reprint, list a run's documents.

    ecmo-desktop print {consent,opnote,decision,daily,weaning,followup,archive} --run ID --out FILE.pdf
                       [--procedure ID] [--day YYYY-MM-DD] [--subject ID] --user NAME
    ecmo-desktop archive --from DATE --to DATE --out DIR [--status S] [--discharged] --user NAME
    ecmo-desktop reprint --document ID --out FILE.pdf --user NAME
    ecmo-desktop documents --run ID --user NAME

Like every command that reads identified data, these act as a named account (``--user``, see
``cli/auth.py``): printing stores the document and prints who printed it in every footer. Dates are
Beijing calendar days; ``--to`` is inclusive.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ecmo_desktop.cli import EXIT_ERROR, EXIT_OK, _with_handler, command, open_container
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_, _

PRINT_KINDS = ("consent", "opnote", "decision", "daily", "weaning", "followup", "archive")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise EcmoError(N_("日期格式应为 YYYY-MM-DD：{text}"), text=text) from exc


def _doc_json(doc: Any) -> dict[str, Any]:
    return {
        "id": doc.id,
        "number": doc.document_number,
        "run": doc.run_id,
        "kind": doc.kind,
        "subject_id": doc.subject_id,
        "version": doc.version,
        "title": doc.title,
        "pages": doc.page_count,
        "bytes": doc.size_bytes,
        "sha256": doc.sha256,
        "content_hash": doc.content_hash,
        "audit_anchor": doc.audit_anchor,
        "created_at": doc.created_at.isoformat(),
        "created_by": doc.created_by_name,
        "warnings": doc.meta.get("warnings", []),
    }


# ---- print -----------------------------------------------------------------------------------------
def _print(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.documents.records import day_subject
    from ecmo_desktop.services.documents import write_pdf

    subject = args.subject
    if args.procedure is not None:
        if args.kind != "opnote":
            raise EcmoError(N_("--procedure 只用于手术记录（opnote）"))
        subject = args.procedure
    if args.day is not None:
        if args.kind != "daily":
            raise EcmoError(N_("--day 只用于日常管理记录（daily）"))
        subject = day_subject(_day(args.day))
    out = Path(args.out)
    c = open_container(args)
    try:
        printed = c.documents.generate(args.kind, args.run, subject)
    finally:
        c.close()
    write_pdf(out, printed.pdf)
    doc = printed.document
    lines = [
        _("已生成 {title}（{number}，{pages} 页）→ {path}").format(
            title=doc.title, number=doc.document_number, pages=doc.page_count, path=out
        )
    ]
    lines += [_("注意：{w}").format(w=w) for w in printed.warnings]
    return EXIT_OK, {"document": _doc_json(doc), "out": str(out)}, "\n".join(lines)


@command(
    "print",
    N_("生成并保存一份文档（知情同意书、手术记录、讨论记录、日常记录、撤机记录、随访记录、病历归档）"),
)
@_with_handler(_print)
def _print_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=PRINT_KINDS)
    p.add_argument("--run", type=int, required=True, help=_("ECMO 病例编号"))
    p.add_argument("--out", required=True, help=_("输出 PDF 文件"))
    p.add_argument("--procedure", type=int, help=_("手术记录：操作记录编号（默认置管）"))
    p.add_argument("--day", help=_("日常管理记录：日期 YYYY-MM-DD（默认全部）"))
    p.add_argument("--subject", type=int, help=_("决策、知情同意或随访记录的编号（默认全部或最新）"))


# ---- archive ---------------------------------------------------------------------------------------
class _StderrProgress:
    def set_progress(self, done: int, total: int, text: str = "") -> None:
        if done:
            print(f"[{done}/{total}] {text}", file=sys.stderr, flush=True)

    def cancelled(self) -> bool:
        return False


def _archive(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.domain.documents import ArchiveQuery
    from ecmo_desktop.domain.time import BEIJING

    first, last = _day(getattr(args, "from")), _day(args.to)
    if last < first:
        raise EcmoError(N_("结束日期不能早于开始日期"))
    query = ArchiveQuery(
        started_from=datetime.combine(first, time(0), BEIJING),
        started_to=datetime.combine(last + timedelta(days=1), time(0), BEIJING),
        statuses=tuple(args.status or ()),
        discharged_only=args.discharged,
        not_archived_only=args.not_archived,
    )
    c = open_container(args)
    try:
        runs = c.documents.archive_candidates(query, limit=5000)
        result = c.documents.batch_archive([r.run_id for r in runs], Path(args.out), _StderrProgress())
    finally:
        c.close()
    data = {
        "runs": len(runs),
        "archived": [
            {
                "run": i.run_id,
                "path": str(i.path) if i.path else None,
                "document": _doc_json(i.document) if i.document else None,
            }
            for i in result.done
        ],
        "failed": [{"run": i.run_id, "error": i.error} for i in result.failed],
    }
    lines = [_("已归档 {n}/{total} 个病例到 {out}").format(n=len(result.done), total=len(runs), out=args.out)]
    lines += [_("病例 {run}：{error}").format(run=i.run_id, error=i.error) for i in result.failed]
    return (EXIT_ERROR if result.failed else EXIT_OK), data, "\n".join(lines)


@command("archive", N_("按上机日期批量生成病历归档 PDF"))
@_with_handler(_archive)
def _archive_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", required=True, help=_("上机日期起（YYYY-MM-DD，北京时间）"))
    p.add_argument("--to", required=True, help=_("上机日期止（含当日）"))
    p.add_argument("--out", required=True, help=_("输出文件夹"))
    p.add_argument(
        "--status",
        action="append",
        choices=["planned", "on_ecmo", "ended", "cancelled"],
        help=_("只归档该状态的病例（可重复）"),
    )
    p.add_argument("--discharged", action="store_true", help=_("只归档已出院患者"))
    p.add_argument("--not-archived", action="store_true", help=_("只归档尚未归档过的病例"))


# ---- reprint / documents ---------------------------------------------------------------------------
def _reprint(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.services.documents import write_pdf

    c = open_container(args)
    try:
        data = c.documents.reprint(args.document)
        doc = c.documents.get_document(args.document)
    finally:
        c.close()
    write_pdf(Path(args.out), data)
    return (
        EXIT_OK,
        {"document": _doc_json(doc), "out": args.out},
        _("已输出原件 {number} → {out}").format(number=doc.document_number, out=args.out),
    )


@command("reprint", N_("输出已保存文档的原件（与首次打印逐字节相同）"))
@_with_handler(_reprint)
def _reprint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--document", type=int, required=True, help=_("文档编号（页脚 DOC-xxxxxx 中的数字）"))
    p.add_argument("--out", required=True, help=_("输出 PDF 文件"))


def _documents(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)
    try:
        docs = c.documents.documents_for_run(args.run)
        r8 = c.documents.r8_status(args.run)
    finally:
        c.close()
    lines = [
        f"{d.document_number}\t{d.title}\t{d.page_count}\t{d.created_by_name}\t{d.sha256[:12]}" for d in docs
    ]
    r8_text = {
        None: _("R8：尚未生成手术记录"),
        True: _("R8：全部已绑定器械均已打印条码"),
        False: _("R8：{n} 件已绑定器械未在手术记录中打印").format(n=len(r8.missing)),
    }[r8.complete]
    data = {
        "documents": [_doc_json(d) for d in docs],
        "r8": {
            "operation_notes": r8.operation_notes,
            "bound": list(r8.bound),
            "missing": list(r8.missing),
            "complete": r8.complete,
        },
    }
    return EXIT_OK, data, "\n".join([*lines, r8_text])


@command("documents", N_("列出病例已生成的文档及 R8 状态"))
@_with_handler(_documents)
def _documents_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=int, required=True, help=_("ECMO 病例编号"))
