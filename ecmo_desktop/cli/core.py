"""Foundation commands: init-db, users, verify, backup, restore, demo.

All of them act as ``--user`` (``cli/auth.py``) except ``init-db`` and ``demo`` of a new database,
where nobody can log in yet: ``init-db`` then creates the first administrator (forced to change the
password at the first login), and ``demo`` creates a database marked as demo data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ecmo_desktop.cli import EXIT_ERROR, EXIT_OK, _with_handler, command, open_container
from ecmo_desktop.cli.auth import (
    backup_account,
    login_user,
    read_new_password,
    read_secret,
    require,
    require_username,
)
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.i18n import N_, _


# ---- init-db ---------------------------------------------------------------------------------------
def _first_admin(args: argparse.Namespace) -> tuple[str, str, str]:
    """The first administrator of a new database: from ``--admin-from
    FILE`` (JSON) or asked on the terminal.
    """
    if args.admin_from:
        try:
            data = json.loads(Path(args.admin_from).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EcmoError(
                N_("无法读取管理员文件 {path}：{detail}"), path=args.admin_from, detail=str(exc)[:200]
            ) from exc
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("username", "full_name", "password")
        ):
            raise EcmoError(N_("管理员文件须为 JSON 对象，含 username、full_name 和 password"))
        return data["username"], data["full_name"], data["password"]
    if not sys.stdin.isatty():
        raise EcmoError(
            N_(
                "请用 --admin-from 文件提供首个管理员（JSON：username、full_name、password），"
                "或在终端中运行以输入"
            )
        )
    username = args.admin or input(_("管理员用户名：")).strip()
    full_name = args.admin_name or input(_("管理员姓名：")).strip()
    return username, full_name, read_new_password(username)


def _init_db(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.services.permissions import Action

    c = open_container(args, must_exist=False, login=False)
    try:
        result = {
            "database": c.url if c.backend != "sqlite" else c.url.removeprefix("sqlite:///"),
            "backend": c.backend,
            "from_revision": c.migration.from_revision,
            "revision": c.migration.to_revision,
            "backup": str(c.migration.backup) if c.migration.backup else None,
            "initialised": c.auth.is_initialised(),
            "demo": False,
        }
        if result["initialised"]:
            if args.hospital or args.demo or args.admin_from:
                raise EcmoError(N_("医院信息已设置，不能重复初始化"))
            # an existing database holds patient data: only its administrator may look after it
            require(login_user(c, args), Action.BACKUP)
            result["demo"] = c.auth.is_demo()
        elif args.demo:
            from ecmo_desktop.services.demo import DemoGenerator

            DemoGenerator(c).ensure_hospital()
            result.update(initialised=True, demo=True)
        elif args.hospital:
            username, full_name, password = _first_admin(args)
            c.auth.first_run_setup(
                hospital_name=args.hospital,
                hospital_code=args.code or "H001",
                city=args.city or "",
                admin_username=username,
                admin_full_name=full_name,
                admin_password=password,
                admin_password_repeat=password,
                must_change_password=True,
            )
            result.update(initialised=True, admin=username)
    finally:
        c.close()
    text = _("数据库已就绪：{database}（架构版本 {revision}）").format(**result)
    if args.demo:
        from ecmo_desktop.services.demo import DEMO_PASSWORD, demo_hash_note

        text += "\n" + _("演示数据库：管理员 admin，密码 {password}").format(password=DEMO_PASSWORD)
        text += "\n" + demo_hash_note()
        result["password_hashing"] = demo_hash_note()
    elif result.get("admin"):
        text += "\n" + _("首个管理员 {user} 须在首次登录时修改密码").format(user=result["admin"])
    return EXIT_OK, result, text


@command("init-db", N_("创建或升级数据库（可同时设置医院与首个管理员）"))
@_with_handler(_init_db)
def _init_db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hospital", help=_("医院名称（首次设置）"))
    p.add_argument("--code", help=_("医院代码"))
    p.add_argument("--city", help=_("城市/盟市"))
    p.add_argument("--admin", help=_("管理员用户名（在终端中输入时）"))
    p.add_argument("--admin-name", help=_("管理员姓名（在终端中输入时）"))
    p.add_argument(
        "--admin-from",
        metavar="FILE",
        help=_("首个管理员：JSON 文件，含 username、full_name、password（首次登录须修改密码）"),
    )
    p.add_argument(
        "--demo", action="store_true", help=_("创建演示数据库（标记为演示数据，可用 demo 命令添加病例）")
    )


# ---- users -----------------------------------------------------------------------------------------
def _users(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    username = require_username(args)  # refused before the database is opened
    c = open_container(args, login=False)
    try:
        if args.action == "password":
            old = read_secret(_("{user} 的密码：").format(user=username))
            user = login_user(c, args, allow_initial_password=True, password=old)
            new = read_new_password(user.username)
            c.auth.change_password(old, new, new)
            return EXIT_OK, {"user": user.username}, _("已修改 {user} 的密码").format(user=user.username)
        login_user(c, args)
        if args.action == "create":
            if not (args.username and args.name and args.role):
                raise EcmoError(N_("创建用户需要 --username、--name 和 --role"))
            password = read_new_password(args.username)
            staff = c.staff.create_staff(
                username=args.username,
                full_name=args.name,
                title=args.title,
                department=args.department or "",
                years_in_practice=args.years,
                roles=args.role,
                initial_password=password,
                ecmo_trained=args.trained,
            )
            data: dict[str, Any] = {"user": _staff_json(staff)}
            return EXIT_OK, data, _("已创建用户 {username}").format(username=staff.username)
        staff_list = c.staff.list_staff(include_inactive=True)
        data = {"users": [_staff_json(s) for s in staff_list]}
        lines = [
            f"{s.username}\t{s.full_name}\t{','.join(sorted(s.roles))}\t{'' if s.active else _('已停用')}"
            for s in staff_list
        ]
        return EXIT_OK, data, "\n".join(lines)
    finally:
        c.close()


def _staff_json(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "username": s.username,
        "full_name": s.full_name,
        "title": s.title,
        "department": s.department,
        "years_in_practice": s.years_in_practice,
        "roles": sorted(s.roles),
        "active": s.active,
        "locked": s.locked,
        "must_change_password": s.must_change_password,
    }


@command("users", N_("用户管理：create 创建，list 列出，password 修改自己的密码"))
@_with_handler(_users)
def _users_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["create", "list", "password"])
    p.add_argument(
        "--username", help=_("新用户的用户名（初始密码取自 ECMO_NEW_PASSWORD 或终端输入，首次登录须修改）")
    )
    p.add_argument("--name", help=_("姓名"))
    p.add_argument("--role", action="append", choices=["doctor", "nurse", "perfusionist", "records", "admin"])
    p.add_argument(
        "--title",
        default="other",
        choices=[
            "resident",
            "attending",
            "associate_chief",
            "chief",
            "nurse",
            "nurse_senior",
            "nurse_associate_chief",
            "nurse_chief",
            "technician",
            "other",
        ],
    )
    p.add_argument("--department")
    p.add_argument("--years", type=int, default=0)
    p.add_argument("--trained", action="store_true", help=_("已接受 ECMO 培训并考核合格"))


# ---- verify ----------------------------------------------------------------------------------------
MAX_LISTED = 50  # differences printed in the text output (all of them in --json)


def _verify(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    """Chain, replay of the trail against the tables, signatures — opened read-only, never writes."""
    from ecmo_desktop.container import build_container

    require_username(args)
    c = build_container(args.db, read_only=True)
    try:
        login_user(c, args, read_only=True)  # verifying never writes, not even a login row
        result = c.audit.verify_record(expected_head=args.anchor)
    finally:
        c.close()
    chain = result.chain
    differences = [
        {
            "table": p.table,
            "row": p.row_id,
            "kind": p.kind,
            "field": p.field,
            "expected": p.expected,
            "actual": p.actual,
            "seq": p.seq,
        }
        for p in result.trail
    ]
    signatures = [
        {"table": p.entity, "row": p.entity_id, "signature": p.signature_id, "problem": _(p.message)}
        for p in result.signatures.problems
    ]
    data = {
        "ok": result.ok,
        "checked": chain.checked,
        "head": chain.head_hash,
        "first_bad_seq": chain.first_bad_seq,
        "problem": chain.problem,
        "rows_checked": result.rows_checked,
        "differences": differences,
        "signatures_checked": result.signatures.checked,
        "signature_problems": signatures,
    }
    if result.ok:
        return (
            EXIT_OK,
            data,
            _(
                "审计链完整：已校验 {n} 条，链头 {head}；{rows} 行记录与审计轨迹一致；{sigs} 个签名有效"
            ).format(
                n=chain.checked,
                head=chain.head_hash[:16],
                rows=result.rows_checked,
                sigs=result.signatures.checked,
            ),
        )
    lines: list[str] = []
    if chain.problem == "anchor_mismatch":
        lines.append(_("审计链与外部锚点不一致：记录可能被整体改写或截断"))
    elif not chain.ok:
        lines.append(
            _("审计链在第 {seq} 条处断开（{problem}）：该记录在程序之外被修改").format(
                seq=chain.first_bad_seq, problem=chain.problem
            )
        )
    kinds = {
        "changed": _("与审计轨迹不符"),
        "no_create_event": _("没有创建记录的审计事件"),
        "row_missing": _("审计轨迹中的记录已不存在"),
    }
    for d in differences[:MAX_LISTED]:
        where = f"{d['table']} #{d['row']}" + (f" {d['field']}" if d["field"] else "")
        detail = (
            ""
            if d["kind"] != "changed"
            else _("（审计轨迹第 {seq} 条：{expected!r}，现为：{actual!r}）").format(**d)
        )
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
    data = {
        "file": str(args.out),
        "rows": rows,
        "audit_head": manifest.get("audit_head"),
        "schema_revision": manifest.get("schema_revision"),
        "backend": manifest.get("backend"),
    }
    return EXIT_OK, data, _("已备份 {rows} 行到 {file}").format(**data)


@command("backup", N_("在线备份数据库到文件（可在程序运行时进行）"))
@_with_handler(_backup)
def _backup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help=_("备份文件路径（.ecmobak）"))


def _restore(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    """Restore without ever leaving a half-restored database (REL-9).

    SQLite: the backup goes into a new file next to the database, which is verified (every table,
    the audit chain, integrity_check) and only then renamed over the old one; a copy of the old
    one is kept in the backup folder. PostgreSQL: one transaction empties and reloads the tables,
    after a safety backup of the current contents. On any failure the old database is untouched.
    """
    from ecmo_desktop.container import build_container, resolve_database_url
    from ecmo_desktop.domain.errors import StorageError
    from ecmo_desktop.storage.backup import (
        BackupKeys,
        discard_staging,
        staging_path,
        swap_in_sqlite,
        verify_backup,
    )
    from ecmo_desktop.storage.engine import sqlite_path, sqlite_url_for

    source = Path(args.file)
    verify_backup(source, BackupKeys())  # refuse a damaged, altered or foreign file before touching anything
    url = resolve_database_url(args.db)
    path = sqlite_path(url)
    restorer = _restorer(args, source, path)
    moved: str | None = None
    if path is not None:
        _check_parent(path)
        staging = staging_path(path)
        try:
            c = build_container(sqlite_url_for(staging))
            try:
                c.ctx.user = restorer
                # checked (active, administrator) above; the empty staging file has no staff yet
                c.ctx.account_checker = None
                manifest = c.backups.restore(source)
                verification = c.audit.verify_chain(expected_head=manifest.get("audit_head"))
            finally:
                c.close()
            if not verification.ok:
                raise StorageError(
                    N_("恢复出的数据库审计链校验失败（{problem}），原数据库未改动"),
                    problem=verification.problem,
                )
            saved = swap_in_sqlite(staging, path)
        except BaseException:
            discard_staging(staging)
            raise
        moved = str(saved) if saved else None
    else:
        from datetime import UTC, datetime

        from ecmo_desktop.paths import backup_dir

        c = open_container(args, must_exist=False, login=False)
        c.ctx.user = restorer
        c.ctx.account_checker = None  # checked above; the restored staff table may not hold this account
        try:
            if any(t["rows"] for t in c.backups.digests().values()):
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                safety = backup_dir() / f"before-restore-{stamp}.ecmobak"
                c.backups.backup(safety)
                moved = str(safety)
            manifest = c.backups.restore(source, replace=True)
            verification = c.audit.verify_chain(expected_head=manifest.get("audit_head"))
        finally:
            c.close()
    data = {
        "file": str(source),
        "database": url,
        "previous_database_moved_to": moved,
        "audit_ok": verification.ok,
        "rows": sum(t["rows"] for t in manifest["tables"].values()),
    }
    if not verification.ok:
        return EXIT_ERROR, data, _("已恢复，但审计链校验失败")
    return EXIT_OK, data, _("已从 {file} 恢复 {rows} 行；审计链完整").format(**data)


def _check_parent(path: Path) -> None:
    if not path.parent.is_dir():
        raise EcmoError(N_("文件夹不存在：{path}（不会自动创建，请检查路径）"), path=str(path.parent))


def _restorer(args: argparse.Namespace, source: Path, path: Path | None) -> Any:
    """Who restores: an administrator of the database being replaced, or — onto a new, empty
    database — an administrator account inside the backup itself."""
    from ecmo_desktop.services.permissions import Action

    require_username(args)
    if path is None or (path.exists() and path.stat().st_size > 0):
        c = open_container(args, login=False)
        try:
            if c.auth.is_initialised():
                # checked without writing: a refused or failed restore leaves the database byte-identical;
                # the restore itself is audited with this person's name
                user = login_user(c, args, read_only=True)
                require(user, Action.BACKUP)
                return user
        finally:
            c.close()
    return backup_account(source, args)


@command(
    "restore", N_("从备份文件恢复（先恢复到新文件并校验，再替换原数据库；原数据库的副本保存在备份文件夹）")
)
@_with_handler(_restore)
def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help=_("备份文件（.ecmobak）"))


# ---- backup-key ------------------------------------------------------------------------------------
def _backup_key(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)
    try:
        if args.action == "export":
            if not args.out:
                raise EcmoError(N_("导出备份密钥需要 --out"))
            key_id = c.backups.export_key(Path(args.out))
            data = {"key_id": key_id, "file": args.out}
            return (
                EXIT_OK,
                data,
                _("已导出备份密钥 {key_id} 到 {file}；请与备份分开、妥善保管").format(**data),
            )
        if not args.file:
            raise EcmoError(N_("导入备份密钥需要密钥文件路径"))
        key_id = c.backups.import_key(Path(args.file))
        data = {"key_id": key_id, "file": args.file}
        return EXIT_OK, data, _("已导入备份密钥 {key_id}").format(**data)
    finally:
        c.close()


@command("backup-key", N_("备份签名密钥：export 导出（灾难恢复用），import 导入另一台电脑的密钥"))
@_with_handler(_backup_key)
def _backup_key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["export", "import"])
    p.add_argument("file", nargs="?", help=_("要导入的密钥文件"))
    p.add_argument("--out", help=_("导出到的文件"))


# ---- demo ------------------------------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.services.demo import DemoGenerator, DemoRefused, demo_hash_note

    c = open_container(args, must_exist=False, login=False)
    try:
        if c.auth.is_initialised():
            if not c.auth.is_demo():
                raise DemoRefused()  # before any login or write: a real ward's database stays untouched
            login_user(c, args)
        summary = DemoGenerator(c, seed=args.seed).generate(args.cases, years=args.years)
    finally:
        c.close()
    note = demo_hash_note()
    data: dict[str, Any] = {
        "cases": summary.cases,
        "staff": summary.staff,
        "password": summary.password,
        "users": "admin, zhangwei, …",
        "password_hashing": note,
    }
    return (
        EXIT_OK,
        data,
        _("已生成 {cases} 个演示病例；所有演示账户的密码为 {password}").format(**data) + "\n" + note,
    )


@command("demo", N_("生成演示病例（用于试用和性能测试）"))
@_with_handler(_demo)
def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cases", type=int, default=30)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
