"""DocumentService: every document generated from a case charted through the services, stored with its
hashes and audit anchor, reprinted byte for byte, R8 answered from the stored notes, permissions."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import update

from ecmo_desktop.documents.records import day_subject
from ecmo_desktop.domain.documents import ArchiveQuery
from ecmo_desktop.domain.errors import EcmoError, PermissionDenied, StorageError
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.domain.time import BEIJING, local_date
from ecmo_desktop.storage.orm.documents import DocumentRow
from tests.kit.documents import DocWard, doc_db_fixture, dw_fixture, pdf_text, squeeze

__all__ = ["doc_db_fixture", "dw_fixture"]

HEADINGS = {
    "consent": [
        "体外膜肺氧合治疗知情同意书",
        "治疗目的",
        "替代治疗方案",
        "可能出现的风险及并发症",
        "费用",
        "拒绝治疗声明",
    ],
    "opnote": ["ECMO置管手术记录", "手术概况", "手术人员", "插管", "使用器械及条码（R8）"],
    "decision": ["ECMO上机/撤机讨论记录", "参与讨论的医师", "规范要求核对（R1/R2）"],
    "daily": ["ECMO日常管理记录", "趋势", "记录明细"],
    "weaning": ["ECMO撤机记录", "撤机试验", "撤机拔管", "撤机结局"],
    "followup": ["ECMO随访记录", "随访计划"],
    "archive": ["ECMO病历归档", "目录"],
}


def audit_events(dw: DocWard, action: str) -> list:
    with dw.c.uow(write=False) as uow:
        return [e for e in uow.audit.iterate() if e.action == action]


@pytest.mark.parametrize("kind", list(HEADINGS))
def test_every_document_names_the_patient_and_carries_its_headings(dw: DocWard, kind: str) -> None:
    case = dw.chart_case()
    dw.login("sunli")
    printed = dw.c.documents.generate(kind, case.run_id)
    text = pdf_text(printed.pdf)
    for expected in [case.name, case.mrn, *HEADINGS[kind]]:
        assert expected in text, expected
    assert "打印人：孙丽" in text and printed.document.document_number in text
    doc = printed.document
    assert (doc.kind, doc.run_id, doc.version, doc.created_by_name) == (kind, case.run_id, 1, "孙丽")
    assert doc.sha256 == hashlib.sha256(printed.pdf).hexdigest() and doc.page_count == len(
        pypdf.PdfReader(io.BytesIO(printed.pdf)).pages
    )
    assert f"内容校验：{doc.content_hash[:12]}" in text


def test_operation_note_prints_every_bound_device_and_signatures(dw: DocWard) -> None:
    case = dw.chart_case(devices=6)
    dw.login("chenjing")
    printed = dw.c.documents.generate("opnote", case.run_id, case.cannulation_id)
    text = squeeze(pdf_text(printed.pdf))
    for lot, serial in zip(case.lots, case.serials, strict=True):
        assert lot in text and serial in text
    for product in (
        "Quadrox-iD成人氧合器",
        "RotaFlow离心泵头",
        "国械注进20173450011",
        "BE-PLS2050",
        "2027-12-31",
    ):
        assert product in text
    assert "签名人：张伟副主任医师" in text and "签名含义：书写" in text  # SIG-1
    meta = printed.document.meta
    with dw.c.uow(write=False) as uow:
        usages = {t.usage_id for t in uow.devices.trace(run_id=case.run_id, include_voided=False)}
    assert set(meta["device_usage_ids"]) == usages and meta["barcode_failed_usage_ids"] == []


def test_generation_is_stored_versioned_and_audited_with_the_chain_head(dw: DocWard) -> None:
    case = dw.chart_case(devices=2, daily=1)
    dw.login("liuyang")
    with dw.c.uow(write=False) as uow:
        head = uow.audit.head()
    first = dw.c.documents.generate("consent", case.run_id)
    assert first.document.audit_anchor == head.hash
    assert f"审计链锚点：#{head.seq} {head.hash}" in pdf_text(first.pdf)
    second = dw.c.documents.generate("consent", case.run_id)
    assert second.document.version == 2 and second.document.meta["previous_id"] == first.document.id
    assert second.document.content_hash == first.document.content_hash  # same records, same content
    assert second.document.meta["content_changed"] is False
    assert second.document.sha256 != first.document.sha256  # another printing: own id, time, anchor
    prints = [e for e in audit_events(dw, "print") if e.entity_id in (first.document.id, second.document.id)]
    assert [e.after["version"] for e in prints] == [1, 2]
    assert all(e.actor_name == "刘洋" and e.run_id == case.run_id for e in prints)
    listed = dw.c.documents.documents_for_run(case.run_id)
    assert [d.id for d in listed][:2] == [second.document.id, first.document.id]


def test_reprint_is_the_stored_original_byte_for_byte(dw: DocWard) -> None:
    case = dw.chart_case(devices=3, daily=2)
    dw.login("sunli")
    printed = dw.c.documents.generate("opnote", case.run_id)
    dw.clock.advance(timedelta(days=400))  # years later, another person
    dw.login("chenjing")
    again = dw.c.documents.reprint(printed.document.id)
    assert again == printed.pdf
    assert dw.c.documents.document_pdf(printed.document.id) == printed.pdf
    reprints = [e for e in audit_events(dw, "reprint") if e.entity_id == printed.document.id]
    assert len(reprints) == 1 and reprints[0].actor_name == "陈静"


def test_a_stored_pdf_changed_behind_the_apps_back_is_refused(dw: DocWard) -> None:
    case = dw.chart_case(devices=1, daily=1)
    dw.login("sunli")
    printed = dw.c.documents.generate("consent", case.run_id)
    tampered = printed.pdf.replace(b"/Producer", b"/Produced", 1)
    with dw.c.uow() as uow:
        uow.session.execute(
            update(DocumentRow).where(DocumentRow.id == printed.document.id).values(pdf=tampered)
        )
        uow.commit()
    with pytest.raises(StorageError):
        dw.c.documents.reprint(printed.document.id)


def test_r8_is_answered_from_the_stored_operation_notes(dw: DocWard) -> None:
    case = dw.chart_case(devices=3, daily=1, finish=False)
    dw.login("zhangwei")
    assert dw.c.documents.r8_status(case.run_id).complete is None  # no note yet
    dw.c.documents.generate("opnote", case.run_id, case.cannulation_id)
    status = dw.c.documents.r8_status(case.run_id)
    assert status.complete is True and len(status.bound) == 3 and status.missing == ()

    # a device bound later, without naming the procedure: R8 fails until a note prints it
    from tests.kit.documents import PRODUCTS, label

    text = label(PRODUCTS["oxygenator"][2], lot="LATE1", serial=f"SNLATE{case.run_id}")
    dw.login("chenjing")
    delivery = dw.c.devices.start_receiving(supplier="国药控股")
    dw.c.devices.receive_scan(delivery.id, text)
    late = dw.c.devices.bind_scan(case.run_id, text)
    assert late.kind == "bound"
    status = dw.c.documents.r8_status(case.run_id)
    assert status.complete is False and status.missing == (late.usage.id,)
    assert dw.c.compliance.run_checklist(case.run_id).status_of("R8") == "fail"  # the case's checklist agrees
    printed = dw.c.documents.generate("opnote", case.run_id, case.cannulation_id)
    assert "LATE1" in pdf_text(printed.pdf) and "按绑定时间归入本次操作" in pdf_text(printed.pdf)
    assert dw.c.documents.r8_status(case.run_id).complete is True
    assert dw.c.compliance.run_checklist(case.run_id).status_of("R8") == "pass"
    # a wrong scan voided afterwards is no longer bound: it neither counts nor holds R8 back
    dw.c.devices.void_usage(late.usage.id, "扫错")
    after_void = dw.c.documents.r8_status(case.run_id)
    assert late.usage.id not in after_void.bound and after_void.complete is True


def test_daily_sheet_of_one_day(dw: DocWard) -> None:
    case = dw.chart_case(devices=1, daily=6)
    dw.login("chenjing")
    day = local_date(case.entry_times[0])
    printed = dw.c.documents.generate("daily", case.run_id, day_subject(day))
    text = pdf_text(printed.pdf)
    assert day.isoformat() in text and printed.document.subject_id == day_subject(day)
    assert "血流量" in text and "ACT / APTT" in text and "乳酸" in text
    with pytest.raises(EcmoError):
        dw.c.documents.generate("daily", case.run_id, day_subject(day - timedelta(days=30)))


def test_who_may_print(dw: DocWard) -> None:
    case = dw.chart_case(devices=1, daily=1, finish=False)
    dw.login("admin")
    with pytest.raises(PermissionDenied):
        dw.c.documents.generate("consent", case.run_id)
    dw.c.ctx.user = CurrentUser(0, "system", "命令行", "other", frozenset({"admin", "records"}))
    with pytest.raises(PermissionDenied) as exc:
        dw.c.documents.generate("consent", case.run_id)
    assert "具名账户" in exc.value.user_message()
    dw.login("zhaolei")
    assert dw.c.documents.generate("consent", case.run_id).document.created_by_name == "赵磊"
    with pytest.raises(PermissionDenied):
        dw.c.documents.batch_archive([case.run_id], Path("/nonexistent"), _Progress())


class _Progress:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.reports: list[tuple[int, int, str]] = []
        self.cancel_after = cancel_after

    def set_progress(self, done: int, total: int, text: str = "") -> None:
        self.reports.append((done, total, text))

    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.reports) > self.cancel_after


def test_batch_archive_writes_each_run_reports_failures_and_can_be_cancelled(
    dw: DocWard, tmp_path: Path
) -> None:
    cases = [dw.chart_case(devices=1, daily=1) for _ in range(3)]
    dw.login("sunli")
    progress = _Progress()
    result = dw.c.documents.batch_archive([c.run_id for c in cases] + [999_999], tmp_path / "out", progress)
    assert [i.run_id for i in result.done] == [c.run_id for c in cases]
    assert [i.run_id for i in result.failed] == [999_999] and not result.cancelled
    for item in result.done:
        assert item.path is not None and item.path.read_bytes() == dw.c.documents.document_pdf(
            item.document.id
        )
        assert item.path.name.endswith(f"{item.document.document_number}.pdf")
    assert progress.reports[0] == (0, 4, "") and progress.reports[-1][:2] == (4, 4)

    stop = _Progress(cancel_after=1)
    cancelled = dw.c.documents.batch_archive([c.run_id for c in cases], tmp_path / "again", stop)
    assert cancelled.cancelled and len(cancelled.items) == 1
    archives = [d for c in cases for d in dw.c.documents.documents_for_run(c.run_id) if d.kind == "archive"]
    assert len(archives) == 4  # 3 + the one made before the cancel: nothing half-stored

    listed = dw.c.documents.archive_candidates(ArchiveQuery(statuses=("ended",)))
    by_run = {r.run_id: r for r in listed}
    assert all(by_run[c.run_id].archive_id is not None for c in cases)
    fresh = dw.c.documents.archive_candidates(ArchiveQuery(not_archived_only=True))
    assert not {c.run_id for c in cases} & {r.run_id for r in fresh}


def test_archive_parts_start_where_the_contents_say(dw: DocWard) -> None:
    case = dw.chart_case(devices=4, daily=4)
    dw.login("sunli")
    archive = dw.c.documents.generate("archive", case.run_id)
    reader = pypdf.PdfReader(io.BytesIO(archive.pdf))
    parts = archive.document.meta["parts"]
    top = reader.outline
    assert reader.get_destination_page_number(top[0]) == 0 and len(top) == 2  # archive title, then its parts
    children = [o for o in top[1] if not isinstance(o, list)]
    assert [o.title for o in children] == [p["title"] for p in parts]
    assert [reader.get_destination_page_number(o) + 1 for o in children] == [p["page"] for p in parts]
    for part in parts:  # each part begins on a page showing its own title
        assert part["title"] in reader.pages[part["page"] - 1].extract_text()


def test_long_case_through_the_services_flows_onto_more_pages(dw: DocWard) -> None:
    short = dw.chart_case(devices=2, daily=2, finish=False)
    long = dw.chart_case(devices=20, daily=60, finish=False)
    dw.login("sunli")
    note = dw.c.documents.generate("opnote", long.run_id)
    assert note.document.page_count > dw.c.documents.generate("opnote", short.run_id).document.page_count
    text = squeeze(pdf_text(note.pdf))
    assert all(lot in text and serial in text for lot, serial in zip(long.lots, long.serials, strict=True))
    daily = dw.c.documents.generate("daily", long.run_id)
    assert daily.document.page_count > dw.c.documents.generate("daily", short.run_id).document.page_count
    daily_text = pdf_text(daily.pdf)
    assert all(f"第{k + 1}次记录：循环稳定。" in daily_text for k in range(60))


@pytest.mark.parametrize("bad", ["张<b>粗</b>", "王&amp;李", "陈🫀", "𠀀𡃁", "<![CDATA[x]]>", "%s {0} {{"])
def test_bad_text_entered_through_the_services_never_breaks_a_document(dw: DocWard, bad: str) -> None:
    case = dw.chart_case(devices=1, daily=1, name=bad, notes=f"备注 {bad}\n第二行 {bad}")
    dw.login("sunli")
    for kind in ("consent", "opnote", "archive"):
        printed = dw.c.documents.generate(kind, case.run_id)
        text = pdf_text(printed.pdf)
        shown = bad.replace("🫀", "[U+1FAC0]")
        assert f"姓名：{shown}" in text, kind


def test_nul_and_lone_surrogates_stored_by_an_old_import_still_print(dw: DocWard) -> None:
    if dw.db.backend != "sqlite":
        pytest.skip("PostgreSQL text cannot hold NUL at all; SQLite (older imports) can")
    from ecmo_desktop.storage.orm.people import PatientRow
    from ecmo_desktop.storage.orm.records import ProcedureRow

    case = dw.chart_case(devices=1, daily=1, finish=False)
    with dw.c.uow() as uow:
        uow.session.execute(
            update(PatientRow).where(PatientRow.id == case.patient_id).values(name="刘\x00四")
        )
        uow.session.execute(
            update(ProcedureRow)
            .where(ProcedureRow.id == case.cannulation_id)
            .values(notes="旧系统导入\x00\x07备注")
        )
        uow.commit()
    dw.login("sunli")
    printed = dw.c.documents.generate("opnote", case.run_id)
    text = pdf_text(printed.pdf)
    assert "姓名：刘四" in text and "旧系统导入备注" in text


def test_suggested_file_name_says_patient_run_document_date_and_version(dw: DocWard) -> None:
    """Issue 9.20: "save as PDF" proposed DOC-000001-v1.pdf."""
    case = dw.chart_case(devices=1, daily=1, name="王/小*明")
    dw.login("sunli")
    printed = dw.c.documents.generate("opnote", case.run_id)
    again = dw.c.documents.generate("opnote", case.run_id)
    name = dw.c.documents.suggested_file_name(again.document.id)
    day = printed.document.created_at.astimezone(BEIJING).date().isoformat()
    assert name == f"{case.mrn}_王_小_明_第1次ECMO_{printed.document.title}_{day}_v2.pdf"
    assert dw.c.documents.suggested_file_name(printed.document.id).endswith("_v1.pdf")
    dw.c.ctx.user = None
    with pytest.raises(PermissionDenied):
        dw.c.documents.suggested_file_name(printed.document.id)
