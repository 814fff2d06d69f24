"""Decision record, daily management sheet (with trend charts), weaning note and follow-up record:
headings, the physicians and R1/R2 status, every signature (SIG-1), long daily records flowing on."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import timedelta

import pypdf
import pytest

from ecmo_desktop.documents.parts import meaning_label, when
from ecmo_desktop.documents.records import day_subject, subject_day
from ecmo_desktop.domain.case import CaseDossier, PhysicianInfo, RecordInfo, StaffRef
from ecmo_desktop.domain.errors import EcmoError
from ecmo_desktop.domain.time import local_date

from .sample_dossier import HOSTILE_NAME, PRINTED, START, build, make_dossier
from .test_fonts import HOSTILE


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def assert_signatures_printed(text: str, records: tuple[RecordInfo, ...]) -> None:
    """SIG-1: printed name, date and time, and meaning of every signature, on the paper copy."""
    flat = "".join(text.split())
    for record in records:
        for s in record.signatures:
            for part in (s.signer_name, when(s.signed_at), meaning_label(s.meaning)):
                assert "".join(part.split()) in flat, (record.id, part)


@pytest.mark.parametrize(
    ("kind", "headings"),
    [
        (
            "decision",
            [
                "ECMO上机/撤机讨论记录",
                "上机决策",
                "撤机决策",
                "参与讨论的医师",
                "规范要求核对（R1/R2）",
                "讨论意见与理由",
                "上机前评估",
                "禁忌证核查",
            ],
        ),
        ("daily", ["ECMO日常管理记录", "趋势（近 7 天）", "记录明细", "病情记录与计划", "循环管路", "抗凝"]),
        ("weaning", ["ECMO撤机记录", "撤机决策", "撤机试验", "撤机拔管", "撤机结局", "拔管后并发症"]),
        ("followup", ["ECMO随访记录", "出院情况", "随访计划", "28天随访结果"]),
    ],
)
def test_headings_patient_and_signatures(kind: str, headings: list[str]) -> None:
    dossier = make_dossier()
    _, rendered = build(kind, dossier)
    text = text_of(rendered.pdf)
    for expected in ["王建国", "ZY2026000123", *headings]:
        assert expected in text, expected
    records = {
        "decision": dossier.decisions,
        "daily": dossier.daily_entries,
        "weaning": (*[d for d in dossier.decisions if d.kind == "wean"], *dossier.weaning_trials),
        "followup": tuple(f for f in dossier.follow_ups if f.fu_status != "due"),
    }[kind]
    assert_signatures_printed(text, records)


def test_decision_record_names_the_physicians_and_the_r1_result() -> None:
    dossier = make_dossier()
    text = text_of(build("decision", dossier, 11)[1].pdf)
    assert "ECMO上机讨论记录" in text and "撤机决策" not in text
    for name in ("刘洋", "李娜", "王芳", "主治医师", "主任医师", "经治医师", "专家组成员"):
        assert name in text
    assert "3 名医师共同决策，含经治医师 1 名、专家组成员 2 名" in text


def test_decision_record_shows_a_failed_r1_and_an_emergency_r2() -> None:
    dossier = make_dossier()
    two = replace(dossier.decisions[0], physicians=dossier.decisions[0].physicians[:2])
    text = text_of(build("decision", replace(dossier, decisions=(two,)), two.id)[1].pdf)
    assert "多学科决策不符合要求" in text
    emergency = replace(
        dossier.decisions[0],
        emergency=True,
        supplement_deadline=START + timedelta(hours=12),
        physicians=(PhysicianInfo(StaffRef(3, "李娜", "chief"), "expert", True),),
    )
    text = text_of(build("decision", replace(dossier, decisions=(emergency,)), emergency.id)[1].pdf)
    assert "紧急上机由专家组成员 李娜（副主任医师及以上）决定" in text
    assert "紧急上机后 12 小时内未补充多学科决策" in text  # printed 12 days later, never supplemented


def test_unsigned_record_says_so() -> None:
    dossier = make_dossier()
    draft = replace(dossier.decisions[0], signatures=(), status="draft")
    text = text_of(build("decision", replace(dossier, decisions=(draft,)), draft.id)[1].pdf)
    assert "【未签名】本记录为草稿" in text


def test_superseded_signature_stays_visible() -> None:
    dossier = make_dossier()
    old = dossier.decisions[0].signatures[0]
    amended = replace(
        dossier.decisions[0],
        signatures=(
            replace(old, state="superseded"),
            replace(old, signed_at=old.signed_at + timedelta(days=1)),
        ),
    )
    text = text_of(build("decision", replace(dossier, decisions=(amended,)), amended.id)[1].pdf)
    assert "书写（已失效）" in text and "第 1 版" in text and text.count("签名人：张伟") == 2


def test_daily_sheet_of_one_day_and_its_subject_key() -> None:
    dossier = make_dossier(n_entries=12)
    day = dossier.days()[1]
    assert subject_day(day_subject(day)) == day
    plan, rendered = build("daily", dossier, day_subject(day))
    text = text_of(rendered.pdf)
    assert day.isoformat() in text and plan.subject_id == day_subject(day)
    for entry in dossier.entries_on(day):
        assert f"第 {entry.id - 1000} 条记录" in text
    others = [e for e in dossier.daily_entries if local_date(e.recorded_at) != day]
    assert not any(f"第 {e.id - 1000} 条记录：" in text for e in others)
    with pytest.raises(EcmoError):
        build("daily", dossier, day_subject(day - timedelta(days=100)))


def test_sixty_daily_entries_flow_onto_more_pages_without_losing_any() -> None:
    few = build("daily", make_dossier(n_entries=6))[1]
    dossier = make_dossier(n_entries=60)
    rendered = build("daily", dossier)[1]
    assert rendered.page_count > few.page_count
    text = text_of(rendered.pdf)
    for entry in dossier.daily_entries:
        assert f"第 {entry.id - 1000} 条记录：循环稳定" in text
    flat = "".join(text.split())
    for entry in dossier.daily_entries:  # every entry's column header and every value made it to paper
        assert when(entry.recorded_at, "%H:%M") in flat
    assert flat.count("3200") >= 1 and f"{rendered.page_count}/{rendered.page_count}" in flat


def test_many_entries_in_one_day_are_split_into_tables_of_five() -> None:
    dossier = make_dossier(n_entries=0)
    entries = tuple(
        replace(
            make_dossier(n_entries=1).daily_entries[0],
            id=1000 + n,
            recorded_at=START + timedelta(hours=1, minutes=20 * n),
        )
        for n in range(13)
    )
    dossier = replace(dossier, daily_entries=entries)
    text = text_of(build("daily", dossier)[1].pdf)
    # 13 entries -> tables of 5 + 5 + 3 columns (a table running onto the next page repeats its header)
    firsts = {m.group(1) for m in re.finditer(r"项目\n(\d\d:\d\d)", text)}
    assert firsts == {when(entries[i].recorded_at, "%H:%M") for i in (0, 5, 10)}


def test_bad_text_in_notes_and_names(hostile: str = HOSTILE_NAME) -> None:
    dossier = make_dossier(patient_name=hostile)
    for bad in HOSTILE:
        entries = tuple(replace(e, notes=bad, created_by_name=bad[:30]) for e in dossier.daily_entries)
        decisions = tuple(replace(d, rationale=bad) for d in dossier.decisions)
        trials = tuple(replace(t, notes=bad) for t in dossier.weaning_trials)
        follow_ups = tuple(replace(f, notes=bad) for f in dossier.follow_ups)
        changed = replace(
            dossier, daily_entries=entries, decisions=decisions, weaning_trials=trials, follow_ups=follow_ups
        )
        for kind in ("decision", "daily", "weaning", "followup"):
            assert build(kind, changed)[1].page_count >= 1


def test_trend_charts_are_vectors_with_the_series_named() -> None:
    rendered = build("daily", make_dossier(), day_subject(make_dossier().days()[-1]))[1]
    page = pypdf.PdfReader(io.BytesIO(rendered.pdf)).pages[0]
    text = page.extract_text()
    for title in ("血流量（L/min）", "气流量（L/min）", "ACT / APTT（s）", "乳酸（mmol/L）", "ACT", "APTT"):
        assert title in text
    content = page.get_contents().get_data()
    assert content.count(b" l\n") + content.count(b" l ") > 20  # polylines and axes drawn as paths
    assert "/Image" not in str(page["/Resources"].get("/XObject", {}))


def test_missing_records_raise_clear_errors() -> None:
    empty = make_dossier(n_entries=0)
    empty = replace(
        empty,
        decisions=(),
        weaning_trials=(),
        follow_ups=(),
        procedures=tuple(p for p in empty.procedures if p.kind != "decannulation"),
        run=replace(empty.run, ended_at=None),
    )
    for kind in ("decision", "daily", "weaning", "followup"):
        with pytest.raises(EcmoError):
            build(kind, empty)


def test_as_of_time_is_part_of_the_rule_text() -> None:
    from ecmo_desktop.documents.records import decision_plan

    dossier: CaseDossier = make_dossier()
    emergency = replace(
        dossier.decisions[0],
        emergency=True,
        supplement_deadline=PRINTED + timedelta(hours=3),
        physicians=(PhysicianInfo(StaffRef(3, "李娜", "chief"), "expert", True),),
    )
    dossier = replace(dossier, decisions=(emergency,))
    early = decision_plan(dossier, None, as_of=PRINTED)
    late = decision_plan(dossier, None, as_of=PRINTED + timedelta(hours=4))
    assert early.content_hash != late.content_hash  # "3 hours left" and "overdue" are different documents


def test_unassessed_contraindications_print_as_not_assessed() -> None:
    dossier = make_dossier()
    start = replace(dossier.decisions[0], contraindications={})
    text = text_of(build("decision", replace(dossier, decisions=(start,)), start.id)[1].pdf)
    assert "禁忌证核查" in text and "未评估" in text
    assessed = text_of(build("decision", dossier, dossier.decisions[0].id)[1].pdf)
    assert "未评估" not in assessed
