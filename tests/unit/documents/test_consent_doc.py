"""The consent form (R4) and its hospital-editable template: what it must say, how a broken edit is
caught and the shipped wording used instead, and that it prints for signing with or without a record."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pypdf
import pytest

from ecmo_desktop.documents.consent import (
    REQUIRED_RISKS,
    ConsentTemplateError,
    fill,
    load_consent_template,
    parse_template,
    template_candidates,
)
from ecmo_desktop.paths import resource_path

from .sample_dossier import build, make_dossier

SHIPPED = resource_path("templates", "consent_zh.json")


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def shipped() -> dict[str, Any]:
    return json.loads(SHIPPED.read_text("utf-8"))


def write(tmp_path: Path, data: dict[str, Any] | str, name: str = "consent_zh.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def test_the_form_says_what_r4_needs_and_prints_the_recorded_consent() -> None:
    dossier = make_dossier()
    plan, rendered = build("consent", dossier)
    text = text_of(rendered.pdf)
    for expected in (
        "体外膜肺氧合治疗知情同意书",
        "王建国",
        "ZY2026000123",
        "急性前壁心肌梗死，心源性休克",
        "VA-ECMO",
        "治疗目的",
        "替代治疗方案",
        "可能出现的风险及并发症",
        "费用",
        "患者或授权委托人意见",
        "谈话医师",
        "拒绝治疗声明",
        "授权委托人签名：",
        "与患者关系：",
        "日期时间：",
        "知情同意记录（电子）",
        "王某",
        "配偶",
        "签名人：张伟 副主任医师",
        "签名含义：书写",
    ):
        assert expected in text, expected
    for words in REQUIRED_RISKS:
        assert any(w in text for w in words), words
    assert plan.subject_id == dossier.consents[0].id
    assert plan.meta["template_sha256"] and plan.meta["template_version"] == "2024-内置-1"


def test_the_blank_form_prints_before_consent_is_recorded() -> None:
    dossier = replace(make_dossier(), consents=())
    plan, rendered = build("consent", dossier)
    text = text_of(rendered.pdf)
    assert plan.subject_id is None and "知情同意记录（电子）" not in text and "患者签名：" in text


def test_a_recorded_refusal_prints_on_the_refusal_lines() -> None:
    dossier = make_dossier()
    refused = replace(dossier.consents[0], refused=True)
    text = text_of(build("consent", replace(dossier, consents=(refused,)))[1].pdf)
    refusal = text[text.index("拒绝治疗声明") :]
    assert "王某" in refusal and "拒绝 ECMO 治疗" in refusal


def test_placeholders_are_filled_once_and_never_formatted() -> None:
    assert (
        fill("患者{patient}拟行{mode}", {"patient": "张{mode}%s{0}", "mode": "VA-ECMO"})
        == "患者张{mode}%s{0}拟行VA-ECMO"
    )
    text = text_of(build("consent", make_dossier(patient_name="李{diagnosis}"))[1].pdf)
    assert "患者李{diagnosis}因急性前壁心肌梗死" in text


def test_shipped_template_is_valid_and_is_the_fallback() -> None:
    assert SHIPPED in template_candidates()
    loaded = load_consent_template([SHIPPED])
    assert loaded.problem is None and loaded.template.title == "体外膜肺氧合治疗知情同意书"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("refusal"), "refusal"),
        (lambda d: d.update(sections=[s for s in d["sections"] if s["id"] != "cost"]), "cost"),
        (
            lambda d: d["sections"][2].update(
                items=[i for i in d["sections"][2]["items"] if "溶血" not in i]
            ),
            "溶血",
        ),
        (lambda d: d.update(intro=d["intro"] + "{bed}"), "{bed}"),
        (lambda d: d.update(titel="错别字"), "titel"),
        (lambda d: d.update(schema=2), "schema"),
        (lambda d: d["sections"][0].update(paragraphs=[]), "paragraphs"),
        (lambda d: d["sections"][1].update(id="purpose"), "purpose"),
        (lambda d: d.update(title=""), "title"),
    ],
)
def test_an_invalid_edit_is_refused_naming_the_problem(change: Any, problem: str) -> None:
    data = shipped()
    change(data)
    with pytest.raises(ConsentTemplateError) as exc:
        parse_template(json.dumps(data, ensure_ascii=False).encode())
    assert problem in exc.value.user_message()


def test_broken_json_names_the_line() -> None:
    with pytest.raises(ConsentTemplateError) as exc:
        parse_template(b'{\n  "schema": 1,\n  "title": "x",,\n}')
    assert "第 3 行" in exc.value.user_message()


def test_a_hospital_edit_is_used_and_a_broken_one_falls_back_with_the_reason(tmp_path: Path) -> None:
    edited = shipped()
    edited["title"] = "体外膜肺氧合（ECMO）治疗知情同意书（本院版）"
    loaded = load_consent_template([write(tmp_path, edited), SHIPPED])
    assert loaded.problem is None and loaded.template.title.endswith("（本院版）")

    broken = write(tmp_path, '{"schema": 1', "broken.json")
    loaded = load_consent_template([broken, SHIPPED])
    assert loaded.source == str(SHIPPED) and "broken.json" in (loaded.problem or "")
    assert "JSON 格式错误" in (loaded.problem or "")
    plan, rendered = build("consent", make_dossier(), template=loaded)
    assert plan.warnings == (loaded.problem,) and "体外膜肺氧合治疗知情同意书" in text_of(rendered.pdf)


def test_no_valid_template_at_all_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConsentTemplateError) as exc:
        load_consent_template([write(tmp_path, "[]"), tmp_path / "missing.json"])
    assert "顶层应为对象" in exc.value.user_message()
    with pytest.raises(ConsentTemplateError) as exc:
        load_consent_template([tmp_path / "missing.json"])
    assert "consent_zh.json" in exc.value.user_message()


def test_the_template_version_is_part_of_the_printed_content(tmp_path: Path) -> None:
    edited = shipped()
    edited["template_version"] = "本院-2026-1"
    other = load_consent_template([write(tmp_path, edited)])
    a, _ = build("consent", make_dossier())
    b, rendered = build("consent", make_dossier(), template=other)
    assert a.content_hash != b.content_hash and "本院-2026-1" in text_of(rendered.pdf)
