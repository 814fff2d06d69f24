"""Clinical-record commands: the compliance checklist of a run and the ward's worklist."""

from __future__ import annotations

import argparse
import base64
import json
from datetime import date, datetime
from typing import Any

from ecmo_desktop.cli import EXIT_ERROR, EXIT_OK, _with_handler, command, open_container
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_, _, ngettext

STATUS_TEXT = {"pass": N_("通过"), "fail": N_("不符合"), "pending": N_("待完成"), "n/a": N_("不适用")}


def _compliance(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)
    try:
        result = c.compliance.run_checklist(args.run)
    finally:
        c.close()
    rules = [{"rule": r.rule, "status": r.status, "message": r.text()} for r in result.results]
    lines = [f"{r['rule']}\t{_(STATUS_TEXT.get(r['status'], r['status']))}\t{r['message']}" for r in rules]
    failed = any(r["status"] == "fail" for r in rules)
    return (
        (EXIT_ERROR if failed and args.strict else EXIT_OK),
        {"run": args.run, "rules": rules},
        "\n".join(lines),
    )


@command("compliance", N_("病例合规检查（R1–R4、R6、R8、R9）"))
@_with_handler(_compliance)
def _compliance_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=int, required=True, help=_("ECMO 病例编号"))
    p.add_argument("--strict", action="store_true", help=_("有不符合项时以非零状态退出"))


def _item_json(i: Any) -> dict[str, Any]:
    return {
        "kind": i.kind,
        "urgency": i.urgency,
        "run": i.run_id,
        "mrn": i.mrn,
        "patient": i.patient_name,
        "bed": i.bed,
        "message": i.text(),
        "due_at": i.due_at.isoformat() if i.due_at else None,
        "remaining_minutes": None if i.remaining is None else int(i.remaining.total_seconds() // 60),
        "entity": i.entity,
        "entity_id": i.entity_id,
    }


def encode_cursor(key: Any, as_of: datetime) -> str:
    """A page's continuation as one shell-safe word: the last item's sort key and the instant judged at."""
    at = key.at
    kind = "t" if isinstance(at, datetime) else "d" if isinstance(at, date) else "n"
    text = json.dumps(
        [
            key.segment,
            kind,
            at.isoformat() if at is not None else None,
            key.run_id,
            key.entity,
            key.entity_id,
            as_of.isoformat(),
        ],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(word: str) -> tuple[Any, datetime]:
    from ecmo_desktop.domain.worklist import WorkKey

    try:
        segment, kind, at, run_id, entity, entity_id, as_of = json.loads(
            base64.urlsafe_b64decode(word + "=" * (-len(word) % 4))
        )
        value = datetime.fromisoformat(at) if kind == "t" else date.fromisoformat(at) if kind == "d" else None
        return WorkKey(int(segment), value, int(run_id), str(entity), int(entity_id)), datetime.fromisoformat(
            as_of
        )
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise EcmoError(N_("无效的 --after 参数：{value}"), value=word) from exc


def _worklist(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    """Totals per kind for the whole ward, and a page of each (or of one kind with ``--kind``): every
    item is reachable, page by page with ``--after``, or all at once with ``--all``."""
    from ecmo_desktop.services.worklist import KIND_TITLES

    if args.after and not args.kind:
        raise EcmoError(N_("--after 须与 --kind 一起使用"))
    c = open_container(args)
    try:
        if args.all:
            items = c.worklist.items(mine_only=args.mine)
            counts: dict[str, int] = {}
            for i in items:
                counts[i.kind] = counts.get(i.kind, 0) + 1
            pages = {
                kind: (tuple(i for i in items if i.kind == kind), total, None, None)
                for kind, total in counts.items()
            }
        elif args.kind:
            after, as_of = decode_cursor(args.after) if args.after else (None, None)
            page = c.worklist.page(args.kind, after=after, limit=args.limit, mine_only=args.mine, as_of=as_of)
            counts = {args.kind: page.total} if page.total else {}
            pages = {args.kind: (page.items, page.total, page.next_after, page.as_of)}
        else:
            overview = c.worklist.overview(mine_only=args.mine, limit=args.limit)
            counts = overview.counts
            pages = {k: (p.items, p.total, p.next_after, p.as_of) for k, p in overview.pages.items()}
    finally:
        c.close()
    groups: list[dict[str, Any]] = []
    lines: list[str] = []
    for kind, (items, total, next_after, as_of) in pages.items():
        cursor = encode_cursor(next_after, as_of) if next_after is not None else None
        groups.append(
            {
                "kind": kind,
                "title": _(KIND_TITLES.get(kind, kind)),
                "count": total,
                "shown": len(items),
                "next": cursor,
                "items": [_item_json(i) for i in items],
            }
        )
        lines.append(_("{title}（{n}）").format(title=_(KIND_TITLES.get(kind, kind)), n=f"{total:,}"))
        lines += [f"  {i.mrn}\t{i.patient_name}\t{i.bed}\t{i.text()}" for i in items]
        if cursor is not None:
            lines.append(
                "  "
                + _("…… 还有 {n} 项：worklist --kind {kind} --after {cursor}").format(
                    n=f"{total - len(items):,}", kind=kind, cursor=cursor
                )
            )
    total = sum(counts.values())
    data = {
        "total": total,
        "counts": counts,
        "groups": groups,
        "items": [item for g in groups for item in g["items"]],
    }
    if not total:
        return EXIT_OK, data, _("没有待办事项")
    return (
        EXIT_OK,
        data,
        "\n".join([ngettext("共 {n} 项", "共 {n} 项", total).format(n=f"{total:,}"), *lines]),
    )


@command("worklist", N_("待办事项：补充决策、知情同意、日常记录、随访、待签名记录"))
@_with_handler(_worklist)
def _worklist_args(p: argparse.ArgumentParser) -> None:
    from ecmo_desktop.services.worklist import KIND_TITLES, PAGE

    p.add_argument("--kind", choices=sorted(KIND_TITLES), help=_("只列出这一类待办事项（分页）"))
    p.add_argument("--limit", type=int, default=PAGE, help=_("每类（每页）列出的项数"))
    p.add_argument("--after", help=_("从上一页末尾继续（上一页输出中的续页标记）"))
    p.add_argument("--all", action="store_true", help=_("列出全部待办事项（不分页）"))
    p.add_argument("--mine", action="store_true", help=_("待签名记录只列出本人书写的"))
