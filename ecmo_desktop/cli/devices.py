"""Device commands: parse-code, decode-image, catalogue import/export, trace.

``parse-code TEXT --json`` is a contract other tools script against: it prints exactly one JSON
object — ``ParsedCode.to_json()`` — and exits 0, or prints ``{"error": {"reason": R, "message": M}}``
and exits 2. It needs no database. ``decode-image FILE... --json`` prints one JSON object per file,
one per line, in the order given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ecmo_desktop.cli import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, _with_handler, command, open_container
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.fileio import atomic_write_bytes
from ecmo_desktop.i18n import N_, _


def _jsonable(value: Any) -> Any:
    from ecmo_desktop.services.base import snapshot

    return snapshot(value)


# ---- parse-code ------------------------------------------------------------------------------------
def _parse_code(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.domain.codes import parse_code_json
    from ecmo_desktop.settings import SettingsStore

    if args.text is None:
        raise EcmoError(N_("请给出条码内容（“-” 从标准输入读取）"))
    text = sys.stdin.read(8 * 1024) if args.text == "-" else args.text
    substitutes = tuple(args.gs_substitute or ()) or SettingsStore().load().scanner_gs_substitutes
    status, payload = parse_code_json(text, gs_substitutes=substitutes)
    if status != 0:
        return EXIT_REFUSED, payload, _("无法识别：{message}（{reason}）").format(**payload["error"])
    lines = [f"{key}: {value}" for key, value in payload.items() if key != "raw" and value is not None]
    return EXIT_OK, payload, "\n".join(lines)


@command("parse-code", N_("解析器械条码（GS1、HIBC、MA、EAN/UPC 或手工编号）"))
@_with_handler(_parse_code)
def _parse_code_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", nargs="?", help=_("条码内容（“-” 从标准输入读取）；以“-”开头的内容也按条码处理"))
    p.add_argument(
        "--gs-substitute",
        action="append",
        metavar="TEXT",
        help=_("扫码枪代替 GS 分隔符发送的字符（如 ~）；默认用本机设置"),
    )


# ---- scanner (per-PC setting) ---------------------------------------------------------------------
def _scanner(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    """Show or set this PC's GS stand-ins (``Settings.scanner_gs_substitutes``); no database involved."""
    from ecmo_desktop.settings import DEFAULT_GS_SUBSTITUTES, SettingsStore

    # a setting of this PC, but still changed (and looked at) by a named person, who logs in here
    open_container(args).close()
    store = SettingsStore()
    if args.gs_substitute is not None:
        chosen = tuple(dict.fromkeys([*DEFAULT_GS_SUBSTITUTES, *args.gs_substitute]))
        for stand_in in args.gs_substitute:
            if not stand_in or len(stand_in) > 16 or any(c.isalnum() for c in stand_in):
                raise EcmoError(
                    N_("GS 替代字符“{text}”无效：须为 1–16 个非字母数字字符（如 ~），否则会破坏条码数据"),
                    text=stand_in,
                )
        settings = store.update(scanner_gs_substitutes=chosen)
    else:
        settings = store.load()
    data = {"gs_substitutes": list(settings.scanner_gs_substitutes), "settings_file": str(store.path)}
    return (
        EXIT_OK,
        data,
        _("本机扫码枪 GS 替代字符：{subs}").format(subs=" ".join(settings.scanner_gs_substitutes)),
    )


@command("scanner", N_("本机扫码枪设置：查看或设置代替 GS 分隔符的字符（如 ~）"))
@_with_handler(_scanner)
def _scanner_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--gs-substitute",
        action="append",
        metavar="TEXT",
        help=_("扫码枪代替 GS 分隔符发送的字符（可重复）；内置的 <GS> {GS} ^] 始终有效"),
    )


# ---- decode-image ----------------------------------------------------------------------------------
def _decode_image(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.scanning.decode import decode_files_json

    code = EXIT_OK
    for entry in decode_files_json(args.files):
        if "error" in entry:
            code = EXIT_ERROR
        if args.json:
            print(json.dumps(entry, ensure_ascii=False), flush=True)
        else:
            found = ", ".join(f"{c['symbology']}:{c['text']!r}" for c in entry["codes"]) or _("未找到条码")
            problem = entry.get("error", {}).get("message")
            print(f"{entry['file']}: {problem or found}", flush=True)
    # the objects are already streamed one per line; the usual single closing object must not follow
    args.json = False
    return code, {}, ""


@command("decode-image", N_("从照片或截图中识别条码（每个文件输出一行 JSON）"))
@_with_handler(_decode_image)
def _decode_image_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help=_("图片文件"))


# ---- catalogue ---------------------------------------------------------------------------------------
def _catalogue(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.exchange.catalogue_csv import read_catalogue, write_catalogue

    path = Path(args.file)
    if args.action == "export":
        c = open_container(args)
        try:
            products = c.devices.export_catalogue()
        finally:
            c.close()
        atomic_write_bytes(path, write_catalogue(products))
        data = {"file": str(path), "products": len(products)}
        return EXIT_OK, data, _("已导出 {products} 个产品到 {file}").format(**data)
    from ecmo_desktop.exchange.import_cases import check_import_file

    check_import_file(path)  # a regular file of bounded size (a FIFO would block the read forever)
    parsed = read_catalogue(path.read_bytes())
    notices = [n.user_message() for n in parsed.notices]
    if not parsed.ok:
        problems = [p.user_message() for p in parsed.problems]
        data = {
            "error": {"reason": "invalid_file", "message": problems[0]},
            "problems": problems,
            "notices": notices,
        }
        return EXIT_REFUSED, data, "\n".join([_("文件未导入，请修改后重试："), *problems])
    if args.dry_run:
        data = {"file": str(path), "rows": len(parsed.rows), "notices": notices, "dry_run": True}
        return EXIT_OK, data, "\n".join([_("检查通过：{rows} 个产品（未导入）").format(**data), *notices])
    c = open_container(args)
    try:
        result = c.devices.import_catalogue(parsed.rows)
    finally:
        c.close()
    data = {
        "file": str(path),
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "notices": notices,
        "encoding": parsed.encoding,
    }
    summary = _("已导入：新增 {created}，更新 {updated}，未变 {unchanged}").format(**data)
    return EXIT_OK, data, "\n".join([summary, *notices])


@command("catalogue", N_("器械目录：import 从 CSV 导入，export 导出为 CSV"))
@_with_handler(_catalogue)
def _catalogue_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["import", "export"])
    p.add_argument("file", help=_("CSV 文件（UTF-8 或 GBK；逗号或分号分隔）"))
    p.add_argument("--dry-run", action="store_true", help=_("只检查文件，不导入"))


# ---- trace -------------------------------------------------------------------------------------------
def _trace(args: argparse.Namespace) -> tuple[int, dict[str, Any], str]:
    from ecmo_desktop.exchange.catalogue_csv import write_trace

    if sum(x is not None for x in (args.lot, args.serial, args.run)) != 1:
        raise EcmoError(N_("请只指定 --lot、--serial 或 --run 中的一个"))
    if args.gtin and args.lot is None:
        raise EcmoError(N_("--gtin 只能与 --lot 一起使用"))
    c = open_container(args)
    try:
        if args.serial is not None:
            histories = c.devices.trace_serial(args.serial)
            data = {"serial": args.serial, "items": [_jsonable(h) for h in histories]}
            lines = []
            for h in histories:
                lines.append(f"{h.product.name} {h.item.serial} {_('批号')} {h.item.lot or '-'}")
                lines.extend(
                    f"  {e.at.isoformat()} {e.kind} {e.patient_name or ''} {e.mrn or ''} {e.detail}"
                    for e in h.events
                )
            return EXIT_OK, data, "\n".join(lines) or _("未找到该序列号的器械")
        if args.lot is not None:
            rows = c.devices.trace_lot(args.lot, gtin=args.gtin, include_voided=args.include_voided)
            stock = c.devices.lot_stock(args.lot, gtin=args.gtin)
            data = {
                "lot": args.lot,
                "gtin": args.gtin,
                "uses": [_jsonable(r) for r in rows],
                "patients": len({r.patient_id for r in rows}),
                "in_stock": [_jsonable(s) for s in stock],
            }
        else:
            rows = c.devices.trace_run(int(args.run), include_voided=args.include_voided)
            data = {"run_id": int(args.run), "devices": [_jsonable(r) for r in rows]}
    finally:
        c.close()
    if args.csv:
        atomic_write_bytes(Path(args.csv), write_trace(rows))
        data["csv"] = args.csv
    lines = [
        f"{r.patient_name}\t{r.mrn}\t{r.product_name}\t{r.lot or '-'}\t{r.serial or '-'}\t"
        f"{r.bound_at.isoformat()}{'  ' + _('已作废') if r.voided else ''}"
        for r in rows
    ]
    return EXIT_OK, data, "\n".join(lines) or _("没有使用记录")


@command("trace", N_("器械追溯：--lot 批号→患者（召回），--serial 序列号→经历，--run 病例→器械"))
@_with_handler(_trace)
def _trace_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lot", help=_("批号"))
    p.add_argument("--gtin", help=_("与 --lot 一起使用：只查该产品"))
    p.add_argument("--serial", help=_("序列号"))
    p.add_argument("--run", help=_("ECMO 病例编号"))
    p.add_argument("--include-voided", action="store_true", help=_("包括已作废的绑定"))
    p.add_argument("--csv", help=_("同时把结果写入 CSV 文件"))
