"""Quality control and data exchange commands: import-cases, import-equipment, import-export, report, export.

Imports answer ``{"imported": n, "skipped": n, "errors": [{"row", "column", "message"}]}`` and exit 1
when any row was refused (nothing is written then, unless ``--partial``); ``report`` prints the QC
report as one JSON object (the same figures as the QC page).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from ecmo_desktop.cli import EXIT_ERROR, EXIT_OK, _with_handler, command, open_container
from ecmo_desktop.i18n import N_, _, join_names


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_("日期应为 YYYY-MM-DD：{text}").format(text=text)) from exc


def _import_answer(result: Any) -> tuple[int, dict[str, Any], str]:
    data = result.as_dict()
    lines = [_("第 {row} 行，{column}：{message}").format(**e) for e in data["errors"]]
    if result.dry_run:
        head = _("试运行（未写入）：可导入 {imported} 条，已存在跳过 {skipped} 条，错误 {n} 处")
    elif result.errors and result.imported == 0:
        head = _("未导入：发现 {n} 处错误（全部正确后才会导入）；已存在跳过 {skipped} 条")
    else:
        head = _("已导入 {imported} 条，已存在跳过 {skipped} 条，错误 {n} 处")
    text = "\n".join(
        [head.format(imported=result.imported, skipped=result.skipped, n=len(result.errors)), *lines]
    )
    return (EXIT_ERROR if result.errors else EXIT_OK), data, text


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help=_("文件（.csv、.xlsx 或导出的 .json）"))
    p.add_argument("--dry-run", action="store_true", help=_("只检查，不写入"))
    p.add_argument(
        "--partial",
        action="store_true",
        help=_("跳过有错误的行，导入其余各行（默认：有任何错误则全部不导入）"),
    )


def _import(kind: str) -> Any:
    def handler(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
        c = open_container(args)
        try:
            method = {
                "cases": c.exchange.import_cases,
                "equipment": c.exchange.import_equipment,
                "export": c.exchange.import_export,
            }[kind]
            result = method(Path(args.file), dry_run=args.dry_run, all_or_nothing=not args.partial)
        finally:
            c.close()
        return _import_answer(result)

    return handler


@command("import-cases", N_("导入历史 ECMO 病例登记表（.csv/.xlsx，每行一例；也接受导出的 .json）"))
@_with_handler(_import("cases"))
def _import_cases_args(p: argparse.ArgumentParser) -> None:
    _import_args(p)


@command("import-equipment", N_("导入 ECMO 主机登记表（医院、城市、型号、序列号、购置日期）"))
@_with_handler(_import("equipment"))
def _import_equipment_args(p: argparse.ArgumentParser) -> None:
    _import_args(p)


@command("import-export", N_("导入其他数据库的 JSON 导出文件（区域中心汇总多家医院）"))
@_with_handler(_import("export"))
def _import_export_args(p: argparse.ArgumentParser) -> None:
    _import_args(p)


# ---- report ----------------------------------------------------------------------------------------
def _report(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)
    try:
        report = c.exchange.report(args.date_from, args.date_to, args.hospital)
        if args.out:
            out = Path(args.out)
            c.exchange.save_report(report, "pdf" if out.suffix.lower() == ".pdf" else "xlsx", out)
    finally:
        c.close()
    data = report.as_dict()
    rate = report.weaning_success_rate
    text = _("{start} 至 {end}：{runs} 例，成功撤机率 {rate}").format(
        start=args.date_from, end=args.date_to, runs=report.runs, rate="-" if rate is None else f"{rate:.1%}"
    )
    return EXIT_OK, data, text


@command("report", N_("质控报告（年度例数、模式与适应证、结局、并发症、合规指标）"))
@_with_handler(_report)
def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from", dest="date_from", type=_date, required=True, help=_("开始日期（首次转流，含当日）")
    )
    p.add_argument("--to", dest="date_to", type=_date, required=True, help=_("结束日期（含当日）"))
    p.add_argument("--hospital", help=_("只统计这家医院（名称）"))
    p.add_argument("--out", help=_("同时保存为 .xlsx 或 .pdf"))


# ---- export ----------------------------------------------------------------------------------------
def _export(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    c = open_container(args)
    try:
        result = c.exchange.export(
            args.date_from,
            args.date_to,
            args.format,
            deidentify=args.deidentify,
            out=Path(args.out),
            dates=args.dates,
        )
    finally:
        c.close()
    text = _("已导出 {runs} 例到 {files}").format(
        runs=result.runs, files=join_names(str(f) for f in result.files)
    )
    return EXIT_OK, result.as_dict(), text


@command("export", N_("导出病例数据（json/csv/xlsx，可去标识化），格式见 docs/export-schema.md"))
@_with_handler(_export)
def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from", dest="date_from", type=_date, required=True, help=_("开始日期（首次转流，含当日）")
    )
    p.add_argument("--to", dest="date_to", type=_date, required=True, help=_("结束日期（含当日）"))
    p.add_argument("--format", choices=["json", "csv", "xlsx"], default="json")
    p.add_argument(
        "--deidentify",
        action="store_true",
        help=_(
            "去标识化（HIPAA Safe Harbor、GB/T 37964-2019）：假名、年龄代替出生日期、日期按患者偏移，"
            "去除病区床号、自由文本和器械序列号，人员以假名表示"
        ),
    )
    p.add_argument(
        "--dates",
        choices=["shift", "month"],
        default="shift",
        help=_("去标识化时的日期处理：shift 按每位患者的秘密偏移平移（保留间隔），month 只保留年月"),
    )
    p.add_argument("--out", required=True, help=_("输出文件"))
