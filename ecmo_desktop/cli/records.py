"""Clinical-record commands: the compliance checklist of a run and the ward's worklist."""

from __future__ import annotations

import argparse
from typing import Any

from ecmo_desktop.cli import EXIT_ERROR, EXIT_OK, _with_handler, command, open_container
from ecmo_desktop.i18n import N_, _

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
    return (EXIT_ERROR if failed and args.strict else EXIT_OK), {"run": args.run, "rules": rules}, "\n".join(lines)


@command("compliance", N_("病例合规检查（R1–R4、R6、R8、R9）"))
@_with_handler(_compliance)
def _compliance_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=int, required=True, help=_("ECMO 病例编号"))
    p.add_argument("--strict", action="store_true", help=_("有不符合项时以非零状态退出"))


def _worklist(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)
    try:
        items = c.worklist.items(limit=args.limit)
    finally:
        c.close()
    data = {"items": [{"kind": i.kind, "urgency": i.urgency, "run": i.run_id, "mrn": i.mrn,
                       "patient": i.patient_name, "bed": i.bed, "message": i.text(),
                       "due_at": i.due_at.isoformat() if i.due_at else None,
                       "remaining_minutes": None if i.remaining is None else int(i.remaining.total_seconds() // 60),
                       "entity": i.entity, "entity_id": i.entity_id} for i in items]}
    lines = [f"{i.mrn}\t{i.patient_name}\t{i.bed}\t{i.text()}" for i in items]
    return EXIT_OK, data, "\n".join(lines) or _("没有待办事项")


@command("worklist", N_("待办事项：补充决策、知情同意、日常记录、随访、待签名记录"))
@_with_handler(_worklist)
def _worklist_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=500)
