"""Operation notes: cannulation (ECMO置管手术记录), circuit change, mode change and decannulation.

Rule R8 puts the barcode of every ECMO device into the operation-record part of the chart, so each
note ends with a table of *every* device bound at that procedure — name, model, manufacturer, NMPA
registration number, lot, serial, expiry — and its barcode, re-encoded from the scanned text as a
vector symbol (``barcodes.barcode_for_scanned_code``). Which bindings belong to which procedure is
decided once, in ``dossier.assign_devices``. The usage ids printed go into the stored document's
meta (``device_usage_ids``; ``barcode_failed_usage_ids`` for codes that could not be re-encoded), so
R8 compliance is a query over stored documents, not a belief.

A label that cannot be re-encoded (a damaged scan, an odd proprietary code) never stops the note:
the row prints its data and the raw text with the reason instead of a symbol.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph

from ecmo_desktop.documents.barcodes import (
    BarcodeError,
    Code128Barcode,
    DataMatrixBarcode,
    barcode_for_scanned_code,
    gs1_elements,
    gs1_human_readable,
)
from ecmo_desktop.documents.content import plain
from ecmo_desktop.documents.fonts import markup_with_fallback
from ecmo_desktop.documents.layout import document_styles, text_flowables
from ecmo_desktop.documents.parts import (
    DASH,
    FRAME_WIDTH,
    DocumentPlan,
    day_text,
    grid,
    heading,
    kv_table,
    label,
    mode_label,
    number,
    numbered,
    paragraph,
    signatures,
    stack,
    title_block,
    title_label,
    values_table,
    when,
)
from ecmo_desktop.domain.case import CaseDossier, DeviceInfo, ProcedureInfo
from ecmo_desktop.domain.complications import COMPLICATIONS
from ecmo_desktop.domain.enums import (
    CannulaRole,
    DeviceCategory,
    Guidance,
    Indication,
    Location,
    ProcedureKind,
    Severity,
    Side,
    StaffRoleInProcedure,
    Technique,
    Vessel,
)
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.fields import IMMEDIATE_COMPLICATIONS, PROC, fields_for
from ecmo_desktop.i18n import N_, _, join_names

KIND = "opnote"
DEFAULT_TITLE = N_("ECMO手术记录")
TITLES = {
    "cannulation": N_("ECMO置管手术记录"),
    "circuit_change": N_("ECMO管路更换手术记录"),
    "mode_change": N_("ECMO模式转换手术记录"),
    "decannulation": N_("ECMO撤机拔管手术记录"),
}
# device table columns as fractions of the frame: #, product, NMPA, lot/serial/expiry, barcode
DEVICE_WIDTHS = (0.05, 0.25, 0.21, 0.21, 0.28)
BARCODE_PADDING_MM = 3.0


def opnote_title(kind: str) -> str:
    return _(TITLES.get(kind, DEFAULT_TITLE))


def opnote_plan(dossier: CaseDossier, procedure_id: int | None = None) -> DocumentPlan:
    """The note of one procedure (default: the run's cannulation, else its first procedure)."""
    procedure = _pick(dossier, procedure_id)
    title = opnote_title(procedure.kind)
    printed = [d.usage_id for d in procedure.devices]
    symbols = {d.usage_id: _symbol(d, _barcode_width()) for d in procedure.devices}  # encoded once per plan
    failed = [usage_id for usage_id, (symbol, _problem) in symbols.items() if symbol is None]
    content = {
        "hospital": plain(dossier.hospital),
        "patient": plain(dossier.patient),
        "run": plain(dossier.run),
        "procedure": plain(procedure),
        "complications": plain([c for c in dossier.complications if c.procedure_id == procedure.id]),
    }

    def story(level: int) -> list[Flowable]:
        return _story(dossier, procedure, title, level, symbols)

    return DocumentPlan(
        KIND,
        procedure.id,
        title,
        content,
        story,
        meta={
            "procedure_id": procedure.id,
            "procedure_kind": procedure.kind,
            "when": when(procedure.started_at),
            "device_usage_ids": printed,
            "barcode_failed_usage_ids": failed,
        },
    )


def _pick(dossier: CaseDossier, procedure_id: int | None) -> ProcedureInfo:
    if procedure_id is not None:
        procedure = dossier.procedure(procedure_id)
        if procedure is None:
            raise EcmoError(N_("该病例没有编号为 {id} 的操作记录"), id=procedure_id)
        return procedure
    if not dossier.procedures:
        raise EcmoError(N_("该病例尚无置管等操作记录，无法生成手术记录"))
    return next((p for p in dossier.procedures if p.kind == "cannulation"), dossier.procedures[0])


def _story(
    d: CaseDossier, p: ProcedureInfo, title: str, level: int, symbols: dict[int, tuple[Flowable | None, str]]
) -> list[Flowable]:
    r = d.run
    out: list[Flowable] = [*title_block(title, level, key=f"opnote-{p.id}")]
    section = iter(range(20))
    out += heading(numbered(next(section), _("手术概况")), level)
    indication = label(Indication, r.indication) + (f"（{r.indication_other}）" if r.indication_other else "")
    mode = mode_label(p.mode_after or r.mode)
    if p.mode_before and p.mode_after and p.mode_before != p.mode_after:
        mode = f"{mode_label(p.mode_before)} → {mode_label(p.mode_after)}"
    pairs = [
        (_("手术名称"), label(ProcedureKind, p.kind)),
        (_("ECMO 模式"), mode),
        (_("开始时间"), when(p.started_at)),
        (
            _("首次转流时间")
            if p.kind == "cannulation"
            else _("结束转流时间")
            if p.kind == "decannulation"
            else _("恢复转流时间"),
            when(p.flow_at),
        ),
        (_("结束时间"), when(p.ended_at)),
        (_("手术地点"), label(Location, p.location)),
        (_("置管技术") if p.kind != "decannulation" else _("拔管技术"), label(Technique, p.technique)),
        (_("引导方式"), label(Guidance, p.guidance)),
        (_("术前诊断"), r.diagnosis or indication),
        (_("适应证"), indication),
    ]
    if p.reason.strip():
        pairs.append((_("手术原因"), p.reason))
    out.append(kv_table(pairs))

    out += heading(numbered(next(section), _("手术人员")), level)
    out.append(
        grid(
            [_("角色"), _("姓名"), _("职称"), _("ECMO 技术授权（R3）")],
            [
                [
                    label(StaffRoleInProcedure, m.role),
                    m.name,
                    title_label(m.title) or DASH,
                    (_("有效") if m.privileged else _("无有效授权")) if m.role == "operator" else DASH,
                ]
                for m in p.team
            ]
            or [[DASH, DASH, DASH, DASH]],
            [0.2, 0.3, 0.25, 0.25],
        )
    )

    device_no = {dev.usage_id: n for n, dev in enumerate(p.devices, start=1)}
    if p.cannulae:
        out += heading(numbered(next(section), _("插管")), level)
        out.append(
            grid(
                [
                    _("序号"),
                    _("用途"),
                    _("血管"),
                    _("侧别"),
                    _("型号（Fr）"),
                    _("长度（cm）"),
                    _("置入深度（cm）"),
                    _("尖端位置"),
                    _("器械"),
                ],
                [
                    [
                        str(c.position + 1),
                        label(CannulaRole, c.role),
                        label(Vessel, c.vessel),
                        label(Side, c.side),
                        number(c.size_fr, 0),
                        number(c.length_cm),
                        number(c.depth_cm),
                        c.tip_position or DASH,
                        (f"#{device_no[c.device_usage_id]}" if c.device_usage_id in device_no else DASH)
                        + (_("（{t} 拔除）").format(t=when(c.removed_at)) if c.removed_at else ""),
                    ]
                    for c in p.cannulae
                ],
                [0.06, 0.12, 0.13, 0.07, 0.1, 0.1, 0.12, 0.14, 0.16],
            )
        )

    if p.settings:
        out += heading(
            numbered(next(section), _("初始参数") if p.kind != "decannulation" else _("撤机前参数")), level
        )
        keys = [f.key for f in fields_for(PROC)] + sorted(
            k for k in p.settings if k not in {f.key for f in fields_for(PROC)}
        )
        table = values_table(p.settings, keys)
        if table is not None:
            out.append(table)

    out += heading(numbered(next(section), _("术中及术后即刻并发症")), level)
    immediate = dict(IMMEDIATE_COMPLICATIONS)
    listed = [_(immediate.get(code, code)) for code in p.immediate_complications]
    linked = [c for c in d.complications if c.procedure_id == p.id]
    if not listed and not linked:
        out.append(paragraph(_("无")))
    if listed:
        out.append(paragraph(join_names(listed)))
    for c in linked:
        spec = COMPLICATIONS.get(c.code)
        name = _(spec.label) if spec else c.code
        other = "：" + c.other_text if c.other_text else ""
        text = f"{name}{other}（{label(Severity, c.severity)}，{when(c.onset_at)}）"
        if c.treatment.strip():
            text += _("；处理：{t}").format(t=c.treatment)
        out.append(paragraph(text))

    if p.notes.strip():
        out += heading(numbered(next(section), _("手术经过")), level)
        out += text_flowables(p.notes)

    out += heading(numbered(next(section), _("使用器械及条码（R8）")), level)
    out += device_table(p.devices, inferred=set(p.inferred_device_ids), symbols=symbols)

    out += heading(numbered(next(section), _("签名")), level)
    out += signatures(p)
    return out


def device_table(
    devices: tuple[DeviceInfo, ...],
    *,
    inferred: set[int] | None = None,
    symbols: dict[int, tuple[Flowable | None, str]] | None = None,
) -> list[Flowable]:
    """Every device with its label data and a scannable barcode (R8); rows split across pages.

    ``symbols`` are barcodes already made for these usage ids (the plan makes them once, because a
    plan's story is laid out more than once: alone and inside the archive).
    """
    if not devices:
        return [paragraph(_("本次操作未绑定器械。"))]
    styles = document_styles()
    width = _barcode_width()
    rows: list[list[str | Flowable | None]] = []
    for n, dev in enumerate(devices, start=1):
        symbol, problem = (symbols or {}).get(dev.usage_id) or _symbol(dev, width)
        code_cell: list[Flowable] = []
        if symbol is not None:
            code_cell.append(symbol)
            hri = _human_readable(symbol, dev.barcode_text)
            if hri:
                code_cell.append(Paragraph(markup_with_fallback(hri), styles.small))
        else:
            code_cell.append(
                Paragraph(
                    markup_with_fallback(_("条码无法生成：{reason}").format(reason=problem)), styles.small
                )
            )
            code_cell.append(
                Paragraph(
                    markup_with_fallback(
                        _("原始扫码内容：{raw}").format(raw=dev.barcode_text.replace("\x1d", "<GS>") or DASH)
                    ),
                    styles.small,
                )
            )
        category = label(DeviceCategory, dev.category)
        product = [
            f"{dev.product_name}",
            f"{_('型号')}：{dev.model or DASH}",
            f"{_('生产企业')}：{dev.manufacturer or DASH}",
            f"{_('类别')}：{category}",
        ]
        if dev.removed_at:
            product.append(_("{t} 撤除").format(t=when(dev.removed_at)))
        ident = [
            f"{_('批号')}：",
            dev.lot or DASH,
            f"{_('序列号')}：",
            dev.serial or DASH,
            f"{_('有效期')}：{day_text(dev.expiry)}",
        ]
        marker = "*" if inferred and dev.usage_id in inferred else ""
        rows.append(
            [
                f"{n}{marker}",
                "\n".join(product),
                dev.nmpa_number or _("无注册证编号"),
                "\n".join(ident),
                stack(code_cell),
            ]
        )
    table = grid(
        [_("序号"), _("器械名称/型号/生产企业"), _("注册证编号"), _("批号/序列号/有效期"), _("条码")],
        rows,
        DEVICE_WIDTHS,
    )
    out: list[Flowable] = [table]
    if inferred and any(d.usage_id in inferred for d in devices):
        out.append(paragraph(_("* 绑定时未指定操作，按绑定时间归入本次操作。"), small=True))
    out.append(
        paragraph(
            _("共 {n} 件器械；条码由床旁扫码内容重新生成，可直接扫描核对。").format(n=len(devices)),
            small=True,
        )
    )
    return out


def _barcode_width() -> float:
    return DEVICE_WIDTHS[-1] * FRAME_WIDTH / mm - BARCODE_PADDING_MM


def _symbol(dev: DeviceInfo, max_width_mm: float) -> tuple[Flowable | None, str]:
    """The device's barcode as a vector flowable, or None and the reason it cannot be made."""
    text = dev.barcode_text
    if not text:
        return None, _("无扫码内容")
    hint = "gs1" if (dev.symbology or "").lower() == "gs1" else None
    try:
        return barcode_for_scanned_code(text, hint, max_linear_width_mm=max_width_mm), ""
    except BarcodeError as exc:
        return None, exc.user_message()


def _human_readable(symbol: Flowable, scanned: str) -> str:
    """The interpretation line under a 2-D symbol (bracketed GS1 form, else the text as scanned);
    a linear symbol prints its own line. Only a symbol encoded as GS1 is shown in GS1 form, so a
    plain serial such as 12345678 is never printed as "(12)345678"."""
    if isinstance(symbol, Code128Barcode):
        return ""
    if isinstance(symbol, DataMatrixBarcode) and symbol.gs1:
        return gs1_human_readable(gs1_elements(symbol.text))
    return scanned.replace("\x1d", "<GS>")
