"""Foundation commands: init-db, users, verify, backup, restore, demo."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ecmo_desktop.cli import EXIT_ERROR, EXIT_OK, _with_handler, command, open_container
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_, _


# ---- init-db ---------------------------------------------------------------------------------------
def _init_db(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.container import build_container

    c = build_container(args.db, workstation="cli")
    try:
        result = {"database": c.url if c.backend != "sqlite" else c.url.removeprefix("sqlite:///"),
                  "backend": c.backend, "from_revision": c.migration.from_revision,
                  "revision": c.migration.to_revision,
                  "backup": str(c.migration.backup) if c.migration.backup else None,
                  "initialised": c.auth.is_initialised()}
        if args.hospital:
            if result["initialised"]:
                raise EcmoError(N_("医院信息已设置，不能重复初始化"))
            c.auth.first_run_setup(hospital_name=args.hospital, hospital_code=args.code or "H001",
                                   city=args.city or "", admin_username=args.admin,
                                   admin_full_name=args.admin_name or args.admin,
                                   admin_password=args.password, admin_password_repeat=args.password)
            result["initialised"] = True
    finally:
        c.close()
    return EXIT_OK, result, _("数据库已就绪：{database}（架构版本 {revision}）").format(**result)


@command("init-db", N_("创建或升级数据库（可同时设置医院与首个管理员）"))
@_with_handler(_init_db)
def _init_db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hospital", help=_("医院名称（首次设置）"))
    p.add_argument("--code", help=_("医院代码"))
    p.add_argument("--city", help=_("城市/盟市"))
    p.add_argument("--admin", default="admin", help=_("管理员用户名"))
    p.add_argument("--admin-name", help=_("管理员姓名"))
    p.add_argument("--password", help=_("管理员密码"))


# ---- users -----------------------------------------------------------------------------------------
def _users(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)
    try:
        if args.action == "create":
            if not (args.username and args.password and args.name and args.role):
                raise EcmoError(N_("创建用户需要 --username、--name、--role 和 --password"))
            staff = c.staff.create_staff(username=args.username, full_name=args.name, title=args.title,
                                         department=args.department or "", years_in_practice=args.years,
                                         roles=args.role, initial_password=args.password,
                                         ecmo_trained=args.trained)
            data = {"user": _staff_json(staff)}
            return EXIT_OK, data, _("已创建用户 {username}").format(username=staff.username)
        staff_list = c.staff.list_staff(include_inactive=True)
        data = {"users": [_staff_json(s) for s in staff_list]}
        lines = [f"{s.username}\t{s.full_name}\t{','.join(sorted(s.roles))}\t{'' if s.active else _('已停用')}"
                 for s in staff_list]
        return EXIT_OK, data, "\n".join(lines)
    finally:
        c.close()


def _staff_json(s: Any) -> dict[str, Any]:
    return {"id": s.id, "username": s.username, "full_name": s.full_name, "title": s.title,
            "department": s.department, "years_in_practice": s.years_in_practice, "roles": sorted(s.roles),
            "active": s.active, "locked": s.locked, "must_change_password": s.must_change_password}


@command("users", N_("用户管理：create 创建，list 列出"))
@_with_handler(_users)
def _users_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["create", "list"])
    p.add_argument("--username")
    p.add_argument("--name", help=_("姓名"))
    p.add_argument("--role", action="append", choices=["doctor", "nurse", "perfusionist", "records", "admin"])
    p.add_argument("--title", default="other",
                   choices=["resident", "attending", "associate_chief", "chief", "nurse", "nurse_senior",
                            "nurse_associate_chief", "nurse_chief", "technician", "other"])
    p.add_argument("--department")
    p.add_argument("--years", type=int, default=0)
    p.add_argument("--trained", action="store_true", help=_("已接受 ECMO 培训并考核合格"))
    p.add_argument("--password", help=_("初始密码（首次登录须修改）"))


# ---- verify ----------------------------------------------------------------------------------------
MAX_LISTED = 50  # differences printed in the text output (all of them in --json)


def _verify(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    """Chain, replay of the trail against the tables, signatures — opened read-only, never writes."""
    from ecmo_desktop.container import SYSTEM_USER, build_container

    c = build_container(args.db, workstation="cli", read_only=True)
    c.ctx.user = SYSTEM_USER
    try:
        result = c.audit.verify_record(expected_head=args.anchor)
    finally:
        c.close()
    chain = result.chain
    differences = [{"table": p.table, "row": p.row_id, "kind": p.kind, "field": p.field, "expected": p.expected,
                    "actual": p.actual, "seq": p.seq} for p in result.trail]
    signatures = [{"table": p.entity, "row": p.entity_id, "signature": p.signature_id, "problem": _(p.message)}
                  for p in result.signatures.problems]
    data = {"ok": result.ok, "checked": chain.checked, "head": chain.head_hash, "first_bad_seq": chain.first_bad_seq,
            "problem": chain.problem, "rows_checked": result.rows_checked, "differences": differences,
            "signatures_checked": result.signatures.checked, "signature_problems": signatures}
    if result.ok:
        return EXIT_OK, data, _("审计链完整：已校验 {n} 条，链头 {head}；{rows} 行记录与审计轨迹一致；{sigs} 个签名有效").format(
            n=chain.checked, head=chain.head_hash[:16], rows=result.rows_checked, sigs=result.signatures.checked)
    lines: list[str] = []
    if chain.problem == "anchor_mismatch":
        lines.append(_("审计链与外部锚点不一致：记录可能被整体改写或截断"))
    elif not chain.ok:
        lines.append(_("审计链在第 {seq} 条处断开（{problem}）：该记录在程序之外被修改").format(
            seq=chain.first_bad_seq, problem=chain.problem))
    kinds = {"changed": _("与审计轨迹不符"), "no_create_event": _("没有创建记录的审计事件"),
             "row_missing": _("审计轨迹中的记录已不存在")}
    for d in differences[:MAX_LISTED]:
        where = f"{d['table']} #{d['row']}" + (f" {d['field']}" if d["field"] else "")
        detail = "" if d["kind"] != "changed" else _("（审计轨迹第 {seq} 条：{expected!r}，现为：{actual!r}）").format(**d)
        lines.append(f"{where}: {kinds[d['kind']]}{detail}")
    if len(differences) > MAX_LISTED:
        lines.append(_("……另有 {n} 处不符（--json 列出全部）").format(n=len(differences) - MAX_LISTED))
    for sig in signatures[:MAX_LISTED]:
        lines.append(f"{sig['table']} #{sig['row']}: {sig['problem']}")
    return EXIT_ERROR, data, "\n".join(lines)


@command("verify", N_("校验审计链、按审计轨迹核对全部记录与签名（只读，不修改数据库）"))
@_with_handler(_verify)
def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--anchor", help=_("外部锚点（PDF 页脚或备份清单中的链头哈希）"))


# ---- backup / restore ------------------------------------------------------------------------------
def _backup(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)
    try:
        manifest = c.backups.backup(Path(args.out))
    finally:
        c.close()
    rows = sum(t["rows"] for t in manifest["tables"].values())
    data = {"file": str(args.out), "rows": rows, "audit_head": manifest.get("audit_head"),
            "schema_revision": manifest.get("schema_revision"), "backend": manifest.get("backend")}
    return EXIT_OK, data, _("已备份 {rows} 行到 {file}").format(**data)


@command("backup", N_("在线备份数据库到文件（可在程序运行时进行）"))
@_with_handler(_backup)
def _backup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help=_("备份文件路径（.ecmobak）"))


def _restore(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.container import resolve_database_url
    from ecmo_desktop.storage.backup import read_manifest
    from ecmo_desktop.storage.engine import sqlite_path

    source = Path(args.file)
    read_manifest(source)  # refuse a bad file before touching anything
    url = resolve_database_url(args.db)
    path = sqlite_path(url)
    moved: str | None = None
    if path is not None and path.exists() and path.stat().st_size > 0:
        from datetime import UTC, datetime

        from ecmo_desktop.paths import backup_dir

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = backup_dir() / f"before-restore-{stamp}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(path) + suffix)
            if src.exists():
                src.replace(Path(str(target) + suffix))
        moved = str(target)
    c = open_container(args, must_exist=False)
    try:
        manifest = c.backups.restore_into_empty(source)
        verification = c.audit.verify_chain(expected_head=manifest.get("audit_head"))
    finally:
        c.close()
    data = {"file": str(source), "database": url, "previous_database_moved_to": moved,
            "audit_ok": verification.ok, "rows": sum(t["rows"] for t in manifest["tables"].values())}
    if not verification.ok:
        return EXIT_ERROR, data, _("已恢复，但审计链校验失败")
    return EXIT_OK, data, _("已从 {file} 恢复 {rows} 行；审计链完整").format(**data)


@command("restore", N_("从备份文件恢复（原 SQLite 数据库先移到备份文件夹）"))
@_with_handler(_restore)
def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help=_("备份文件（.ecmobak）"))


# ---- demo ------------------------------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.services.demo import DemoGenerator

    c = open_container(args, as_system=False, must_exist=False)
    try:
        summary = DemoGenerator(c, seed=args.seed).generate(args.cases, years=args.years)
    finally:
        c.close()
    data = {"cases": summary.cases, "staff": summary.staff, "password": summary.password, "users": "admin, zhangwei, …"}
    return EXIT_OK, data, _("已生成 {cases} 个演示病例；所有演示账户的密码为 {password}").format(**data)


@command("demo", N_("生成演示病例（用于试用和性能测试）"))
@_with_handler(_demo)
def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cases", type=int, default=30)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)


