"""The consent form (体外膜肺氧合治疗知情同意书, R4) and its editable template.

The wording is not code: it comes from ``consent_zh.json``, which a hospital edits without a
programmer. A copy in ``<data folder>/templates/consent_zh.json`` (survives upgrades) is used
first, then the one shipped in ``resources/templates/``. A template is checked before use —
structure, lengths, known placeholders, and that the risk section still names every risk the form
must disclose — and an invalid one is never half-printed: the next valid template is used and the
problem is reported in words (``LoadedTemplate.problem``) so the person printing sees it. The
template's version and SHA-256 are part of the printed content, so the stored PDF proves which
wording the patient was shown.

The form is printed to be signed on paper: blank lines for the patient or proxy (with the
relationship), the explaining physician and the date and time, and a refusal section. When the
consent has been recorded, the recorded names are printed on the lines and the record's electronic
signatures are listed (SIG-1).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.platypus import Flowable

from ecmo_desktop.documents.content import plain
from ecmo_desktop.documents.parts import (
    DASH,
    DocumentPlan,
    age_text,
    handwriting_lines,
    heading,
    kv_table,
    label,
    mode_label,
    numbered,
    paragraph,
    sex_label,
    signatures,
    title_block,
    title_label,
    when,
)
from ecmo_desktop.domain.case import CaseDossier, ConsentInfo
from ecmo_desktop.domain.enums import Indication
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.records import ConsentRelationship
from ecmo_desktop.domain.time import local_date
from ecmo_desktop.i18n import N_, _, join_names
from ecmo_desktop.paths import data_dir, resource_path

KIND = "consent"
TEMPLATE_FILE = "consent_zh.json"
PLACEHOLDERS = ("patient", "diagnosis", "mode", "hospital")
REQUIRED_SECTIONS = ("purpose", "alternatives", "risks", "cost")
# what the risk section must still mention, however a hospital rewords it (the form's minimum)
REQUIRED_RISKS: tuple[tuple[str, ...], ...] = (
    ("出血",),
    ("血栓", "栓塞"),
    ("肢体缺血",),
    ("感染",),
    ("溶血",),
    ("神经",),
    ("血管损伤",),
    ("故障",),
    ("死亡",),
)
MAX_TEXT = 5000
MAX_FILE = 200_000
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class ConsentTemplateError(EcmoError):
    """No usable consent template: every candidate file is missing or invalid."""

    default_message = N_("知情同意书模板无效：{problem}")


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    paragraphs: tuple[str, ...]
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentTemplate:
    template_version: str
    title: str
    intro: str
    sections: tuple[Section, ...]
    consent_statement: str
    refusal_heading: str
    refusal_statement: str


@dataclass(frozen=True)
class LoadedTemplate:
    template: ConsentTemplate
    source: str  # the file used
    sha256: str  # of that file's bytes
    problem: str | None = None  # why a preferred template was skipped (shown to the user), else None


def template_candidates() -> list[Path]:
    """Where templates are looked for, preferred first: the data folder's copy, then the shipped one."""
    return [data_dir() / "templates" / TEMPLATE_FILE, resource_path("templates", TEMPLATE_FILE)]


def load_consent_template(paths: Sequence[Path] | None = None) -> LoadedTemplate:
    """The first valid template of ``paths`` (default: ``template_candidates()``).

    A missing file is skipped silently (the data-folder copy is optional); an invalid one is skipped
    with its problem recorded, so a typo in a hospital's edit degrades to the shipped wording with a
    clear message instead of a broken or half-empty form.
    """
    problems: list[str] = []
    for path in paths if paths is not None else template_candidates():
        if not path.is_file():
            continue
        data = path.read_bytes()
        try:
            template = parse_template(data)
        except ConsentTemplateError as exc:
            problems.append(f"{path}：{exc.user_message()}")
            continue
        problem = None
        if problems:
            problem = _("以下知情同意书模板无效，已改用 {used}：{problems}").format(
                used=path, problems="；".join(problems)
            )
        return LoadedTemplate(template, str(path), hashlib.sha256(data).hexdigest(), problem)
    raise ConsentTemplateError(
        problem="；".join(problems) or _("找不到模板文件 {name}").format(name=TEMPLATE_FILE)
    )


def parse_template(data: bytes) -> ConsentTemplate:
    """Check and read a template file; every problem is a ``ConsentTemplateError`` naming the place."""
    if len(data) > MAX_FILE:
        raise ConsentTemplateError(problem=_("文件过大（超过 {n} 字节）").format(n=MAX_FILE))
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConsentTemplateError(problem=_("文件不是 UTF-8 编码")) from exc
    except json.JSONDecodeError as exc:
        raise ConsentTemplateError(
            problem=_("JSON 格式错误：第 {line} 行第 {col} 列（{msg}）").format(
                line=exc.lineno, col=exc.colno, msg=exc.msg
            )
        ) from exc
    if not isinstance(raw, dict):
        raise _bad(_("顶层应为对象"))
    known = {"schema", "template_version", "title", "intro", "sections", "consent_statement", "refusal"}
    unknown = sorted(k for k in raw if k not in known and not str(k).startswith("_"))
    if unknown:
        raise _bad(
            _("未知的字段：{keys}（注释字段请以下划线开头）").format(keys=join_names(map(str, unknown)))
        )
    if raw.get("schema") != 1:
        raise _bad(_("schema 应为 1"))
    sections_raw = raw.get("sections")
    if not isinstance(sections_raw, list) or not sections_raw:
        raise _bad(_("sections 应为非空列表"))
    sections: list[Section] = []
    for n, item in enumerate(sections_raw, start=1):
        where = _("第 {n} 节").format(n=n)
        if not isinstance(item, dict):
            raise _bad(_("{where}应为对象").format(where=where))
        items = item.get("items", [])
        sections.append(
            Section(
                id=_text(item.get("id"), f"{where}.id", max_length=40),
                heading=_text(item.get("heading"), f"{where}.heading", max_length=60),
                paragraphs=_texts(item.get("paragraphs"), f"{where}.paragraphs"),
                items=_texts(items, f"{where}.items") if items else (),
            )
        )
    ids = [s.id for s in sections]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise _bad(_("节的 id 重复：{ids}").format(ids=join_names(duplicated)))
    missing = [i for i in REQUIRED_SECTIONS if i not in ids]
    if missing:
        raise _bad(_("缺少必需的节：{ids}").format(ids=join_names(missing)))
    risks = next(s for s in sections if s.id == "risks")
    risk_text = "".join((*risks.paragraphs, *risks.items))
    absent = ["/".join(words) for words in REQUIRED_RISKS if not any(w in risk_text for w in words)]
    if absent:
        raise _bad(_("风险一节未告知：{risks}").format(risks=join_names(absent)))
    refusal = raw.get("refusal")
    if not isinstance(refusal, dict):
        raise _bad(_("refusal 应为对象，含 heading 和 statement"))
    return ConsentTemplate(
        template_version=_text(raw.get("template_version"), "template_version", max_length=60),
        title=_text(raw.get("title"), "title", max_length=100),
        intro=_text(raw.get("intro", ""), "intro", required=False),
        sections=tuple(sections),
        consent_statement=_text(raw.get("consent_statement"), "consent_statement"),
        refusal_heading=_text(refusal.get("heading"), "refusal.heading", max_length=60),
        refusal_statement=_text(refusal.get("statement"), "refusal.statement"),
    )


def _bad(problem: str) -> ConsentTemplateError:
    return ConsentTemplateError(problem=problem)


def _text(value: Any, where: str, *, required: bool = True, max_length: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(_("{where} 应为非空文本").format(where=where))
    if len(value) > max_length:
        raise _bad(_("{where} 超过 {n} 个字符").format(where=where, n=max_length))
    for name in _PLACEHOLDER.findall(value):
        if name not in PLACEHOLDERS:
            raise _bad(
                _("{where} 含未知占位符 {{{name}}}，可用：{known}").format(
                    where=where, name=name, known=join_names("{" + p + "}" for p in PLACEHOLDERS)
                )
            )
    return value


def _texts(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _bad(_("{where} 应为非空文本列表").format(where=where))
    return tuple(_text(v, f"{where}[{i}]") for i, v in enumerate(value, start=1))


def fill(text: str, values: dict[str, str]) -> str:
    """Known placeholders replaced in one pass (never ``str.format``): a patient name that itself
    contains ``{mode}`` is printed as typed, not substituted again."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# ---- the document -------------------------------------------------------------------------------------
def consent_plan(dossier: CaseDossier, loaded: LoadedTemplate, consent_id: int | None = None) -> DocumentPlan:
    """The form for ``dossier``'s run; with a recorded consent (``consent_id`` or the latest), pre-filled."""
    consent: ConsentInfo | None
    if consent_id is not None:
        consent = next((c for c in dossier.consents if c.id == consent_id), None)
        if consent is None:
            raise EcmoError(N_("该病例没有编号为 {id} 的知情同意记录"), id=consent_id)
    else:
        consent = dossier.consents[-1] if dossier.consents else None
    t = loaded.template
    content = {
        "hospital": plain(dossier.hospital),
        "patient": plain(dossier.patient),
        "run": plain(dossier.run),
        "consent": plain(consent),
        "template": {"version": t.template_version, "sha256": loaded.sha256},
    }

    def story(level: int) -> list[Flowable]:
        return _story(dossier, t, loaded, consent, level)

    return DocumentPlan(
        KIND,
        consent.id if consent else None,
        t.title,
        content,
        story,
        meta={
            "template_version": t.template_version,
            "template_sha256": loaded.sha256,
            "consent_id": consent.id if consent else None,
            "when": when(consent.signed_on_paper_at) if consent else None,
        },
        warnings=(loaded.problem,) if loaded.problem else (),
    )


def _story(
    d: CaseDossier, t: ConsentTemplate, loaded: LoadedTemplate, consent: ConsentInfo | None, level: int
) -> list[Flowable]:
    p, r = d.patient, d.run
    indication = label(Indication, r.indication)
    if r.indication_other:
        indication = f"{indication}（{r.indication_other}）"
    mode = mode_label(r.mode) + (_("（紧急）") if r.emergency else "")
    values = {
        "patient": p.name,
        "diagnosis": r.diagnosis.strip() or indication,
        "mode": mode_label(r.mode),
        "hospital": d.hospital.name,
    }
    out: list[Flowable] = [
        *title_block(t.title, level, key=f"consent-{r.id}-{consent.id if consent else 0}"),
        paragraph(
            _("模板版本：{version}　SHA-256：{sha}").format(
                version=t.template_version, sha=loaded.sha256[:16]
            ),
            small=True,
            align="right",
        ),
    ]
    out += heading(_("患者基本信息"), level)
    out.append(
        kv_table(
            [
                (_("姓名"), p.name),
                (_("性别"), sex_label(p.sex)),
                (_("年龄"), age_text(p, local_date(r.started_at or r.created_at))),
                (_("住院号"), p.mrn),
                (_("病区/床号"), " ".join(x for x in (r.ward or p.ward, r.bed or p.bed) if x) or DASH),
                (_("经治医师"), r.attending_name or DASH),
                (_("临床诊断"), r.diagnosis or DASH),
                (_("适应证"), indication),
                (_("拟行治疗"), mode),
                (_("第几次 ECMO"), str(r.run_number)),
            ]
        )
    )
    if t.intro:
        out.append(paragraph(fill(t.intro, values)))
    for n, section in enumerate(t.sections):
        out += heading(numbered(n, section.heading), level)
        out += [paragraph(fill(text, values)) for text in section.paragraphs]
        out += [paragraph(f"{i}. {fill(item, values)}") for i, item in enumerate(section.items, start=1)]

    agreed = consent is not None and not consent.refused
    refused = consent is not None and consent.refused
    out += heading(numbered(len(t.sections), _("患者或授权委托人意见")), level)
    out.append(paragraph(fill(t.consent_statement, values)))
    out.append(_signer_lines(consent if agreed else None))
    out += heading(_("谈话医师"), level)
    doctor = (
        f"{consent.explained_by_name} {title_label(consent.explained_by_title)}".strip() if consent else ""
    )
    out.append(
        handwriting_lines(
            [
                [
                    _("谈话医师签名："),
                    doctor,
                    _("日期时间："),
                    when(consent.signed_on_paper_at) if consent else "",
                ]
            ],
            [0.18, 0.34, 0.16, 0.32],
        )
    )

    out += heading(fill(t.refusal_heading, values), level)
    out.append(paragraph(fill(t.refusal_statement, values)))
    out.append(_signer_lines(consent if refused else None))

    if consent is not None:
        out += heading(_("知情同意记录（电子）"), level)
        relationship = label(ConsentRelationship, consent.relationship)
        out.append(
            kv_table(
                [
                    (_("签署人"), consent.signer_name),
                    (_("与患者关系"), relationship),
                    (_("纸质签署时间"), when(consent.signed_on_paper_at)),
                    (
                        _("谈话医师"),
                        f"{consent.explained_by_name} {title_label(consent.explained_by_title)}".strip(),
                    ),
                    (_("患方意见"), _("拒绝 ECMO 治疗") if consent.refused else _("同意 ECMO 治疗")),
                    (_("记录人"), consent.created_by_name or DASH),
                ]
            )
        )
        if consent.notes.strip():
            out.append(paragraph(_("备注：{notes}").format(notes=consent.notes)))
        out += signatures(consent)
    return out


def _signer_lines(consent: ConsentInfo | None) -> Flowable:
    name = consent.signer_name if consent else ""
    relationship = label(ConsentRelationship, consent.relationship) if consent else ""
    signed = when(consent.signed_on_paper_at) if consent else ""
    return handwriting_lines(
        [
            [
                _("患者签名："),
                name if consent and consent.relationship == "self" else "",
                _("日期时间："),
                signed if consent and consent.relationship == "self" else "",
            ],
            [
                _("授权委托人签名："),
                name if consent and consent.relationship != "self" else "",
                _("与患者关系："),
                relationship if consent and consent.relationship != "self" else "",
            ],
            [
                _("委托人联系电话："),
                "",
                _("日期时间："),
                signed if consent and consent.relationship != "self" else "",
            ],
        ],
        [0.18, 0.34, 0.16, 0.32],
    )
