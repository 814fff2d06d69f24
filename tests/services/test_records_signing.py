"""Signing, locking and amendment (SIG-1..SIG-3), and detection of changes made behind the app's back."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ecmo_desktop.domain.errors import AuthenticationFailed, PermissionDenied, ValidationError
from ecmo_desktop.domain.records import ConsentInput, DailyEntryInput, RecordLocked
from tests.conftest import PASSWORD, Seeded
from tests.kit.records import (  # noqa: F401 - the *_fixture names are fixtures
    RecWard,
    rec_db_fixture,
    rw_fixture,
)


def _entry(rw: RecWard, run_id: int, user: str = "chenjing", hr: int = 90) -> object:
    rw.login(user)
    return rw.c.records.record_daily_entry(
        run_id, DailyEntryInput(recorded_at=rw.at(minutes=-1), values={"hr": hr, "map": 70}, notes="平稳")
    )


def test_sign_lock_amend_cycle(rw: RecWard) -> None:
    run = rw.on_ecmo()
    consent = rw.consent(run.id)
    rw.login("zhangwei")
    with pytest.raises(AuthenticationFailed):
        rw.c.records.sign("consent", consent.id, "wrong-password")
    signed = rw.c.records.sign("consent", consent.id, PASSWORD)
    assert signed.record.locked and signed.record.signed_by_name == "张伟"
    data = ConsentInput(
        explained_by_id=rw.ids["doctor"],
        signer_name="王某某",
        relationship="child",
        signed_at=consent.signed_on_paper_at,
    )
    with pytest.raises(RecordLocked):
        rw.c.records.update_consent(consent.id, data, expected_version=signed.record.version)
    with pytest.raises(RecordLocked):
        rw.c.records.sign("consent", consent.id, PASSWORD)
    with pytest.raises(ValidationError) as exc:
        rw.c.records.amend_consent(consent.id, data, reason="  ")
    assert "更正原因" in exc.value.user_message()

    amended = rw.c.records.amend_consent(consent.id, data, reason="签字人姓名及关系登记有误")
    assert amended.status == "draft" and amended.signer_name == "王某某"
    assert amended.version > signed.record.version
    versions = rw.c.records.versions("consent", consent.id)
    assert len(versions) == 1
    assert versions[0].content["signer_name"] == "王某" and versions[0].content["relationship"] == "spouse"
    assert versions[0].reason == "签字人姓名及关系登记有误" and versions[0].version == signed.record.version
    signatures = rw.c.records.signatures("consent", consent.id)
    assert [s.state for s in signatures] == ["superseded"]

    again = rw.c.records.sign("consent", consent.id, PASSWORD)
    assert [s.state for s in rw.c.records.signatures("consent", consent.id)] == ["superseded", "valid"]
    assert again.signature.content_hash != signatures[0].content_hash
    rw.login("admin")
    assert rw.c.records.verify_signatures(run_id=run.id).ok


def test_draft_can_be_updated_without_reason_and_stale_saves_are_refused(rw: RecWard) -> None:
    from ecmo_desktop.domain.errors import ConcurrencyConflict

    run = rw.on_ecmo()
    entry = _entry(rw, run.id)
    data = DailyEntryInput(recorded_at=entry.recorded_at, values={"hr": 95})  # type: ignore[attr-defined]
    updated = rw.c.records.update_daily_entry(entry.id, data, expected_version=entry.version)  # type: ignore[attr-defined]
    assert updated.values == {"hr": 95} and rw.c.records.versions("daily_entry", entry.id) == []  # type: ignore[attr-defined]
    with pytest.raises(ConcurrencyConflict):
        rw.c.records.update_daily_entry(entry.id, data, expected_version=entry.version)  # type: ignore[attr-defined]


def test_nurse_signs_only_her_own_daily_entries(rw: RecWard) -> None:
    run = rw.on_ecmo()
    own = _entry(rw, run.id, "chenjing")
    by_perfusionist = _entry(rw, run.id, "zhaolei")
    consent = rw.consent(run.id)
    rw.login("chenjing")
    assert rw.c.records.sign("daily_entry", own.id, PASSWORD).signature.meaning == "author"  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied):
        rw.c.records.sign("daily_entry", by_perfusionist.id, PASSWORD)  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied):
        rw.c.records.sign("consent", consent.id, PASSWORD)
    doctors = _entry(rw, run.id, "zhangwei")
    rw.login("chenjing")
    with pytest.raises(PermissionDenied):  # nor amend what a doctor wrote
        rw.c.records.amend_daily_entry(
            doctors.id,
            DailyEntryInput(recorded_at=rw.at(), values={}),  # type: ignore[attr-defined]
            reason="x",
        )
    rw.login("zhangwei")
    review = rw.c.records.sign("daily_entry", by_perfusionist.id, PASSWORD)  # type: ignore[attr-defined]
    assert review.signature.meaning == "review"
    rw.login("sunli")
    with pytest.raises(PermissionDenied):
        rw.c.records.sign("consent", consent.id, PASSWORD)


def test_raw_sql_change_after_signing_is_detected(rw: RecWard) -> None:
    run = rw.on_ecmo()
    entry = _entry(rw, run.id)
    rw.c.records.sign("daily_entry", entry.id, PASSWORD)  # type: ignore[attr-defined]
    proc = rw.c.records.chart(run.id).procedures[0]
    rw.login("zhangwei")
    rw.c.records.sign("procedure", proc.id, PASSWORD)
    rw.login("admin")
    assert rw.c.records.verify_signatures(run_id=run.id).ok
    with rw.c.uow() as uow:
        uow.session.execute(text("UPDATE daily_entry SET notes = '改过' WHERE id = :id"), {"id": entry.id})  # type: ignore[attr-defined]
        uow.session.execute(
            text("UPDATE cannula SET size_fr = 25 WHERE procedure_id = :id AND position = 0"), {"id": proc.id}
        )
        uow.commit()
    check = rw.c.records.verify_signatures(run_id=run.id)
    assert not check.ok
    assert sorted((p.entity, p.message) for p in check.problems) == [
        ("daily_entry", "签名后内容被改动"),
        ("procedure", "签名后内容被改动"),
    ]


def test_raw_sql_unlock_without_signature_is_detected(rw: RecWard) -> None:
    run = rw.on_ecmo()
    entry = _entry(rw, run.id)
    with rw.c.uow() as uow:
        uow.session.execute(text("UPDATE daily_entry SET status = 'signed' WHERE id = :id"), {"id": entry.id})  # type: ignore[attr-defined]
        uow.commit()
    rw.login("admin")
    check = rw.c.records.verify_signatures(run_id=run.id)
    assert [p.message for p in check.problems] == ["记录标记为已签名，但没有有效签名"]


def test_no_false_alarms_on_many_untouched_signed_records(seeded: Seeded) -> None:
    """A fresh database: every signature in it verifies, and one tampered row is the only one reported."""
    from tests.kit.records import WARD_TIME, RecDB

    c = seeded.container
    c.ctx.clock.set(WARD_TIME)  # type: ignore[attr-defined]
    rw = RecWard(RecDB(c, c.ctx.clock, "", seeded.ids))  # type: ignore[attr-defined]
    runs = [rw.on_ecmo() for _ in range(3)]
    entries = []
    for run in runs:
        rw.login("zhangwei")
        chart = rw.c.records.chart(run.id)
        for record in chart.all_records():
            rw.c.records.sign(record.entity, record.id, PASSWORD)
        for i in range(12):
            entries.append(_entry(rw, run.id, "chenjing", hr=60 + i))
            rw.c.records.sign("daily_entry", entries[-1].id, PASSWORD)  # type: ignore[attr-defined]
    rw.login("admin")
    check = rw.c.records.verify_signatures()
    assert check.ok and check.checked == 3 * (3 + 12)
    with rw.c.uow() as uow:
        uow.session.execute(
            text("UPDATE decision SET rationale = :v WHERE run_id = :r"),
            {"v": "事后补写的依据", "r": runs[1].id},
        )
        uow.commit()
    check = rw.c.records.verify_signatures()
    assert [(p.entity, p.run_id) for p in check.problems] == [("decision", runs[1].id)]


def test_signature_binds_the_content_the_signer_was_shown(rw: RecWard) -> None:
    """SIG-2: a signer shown other content than what is stored signs nothing (another PC saved since)."""
    from ecmo_desktop.domain.errors import ConcurrencyConflict
    from ecmo_desktop.domain.records import content_hash

    run = rw.on_ecmo()
    entry = _entry(rw, run.id, hr=90)
    shown = content_hash(entry)  # type: ignore[arg-type]
    rw.login("zhangwei")
    with pytest.raises(ConcurrencyConflict):
        rw.c.records.sign("daily_entry", entry.id, PASSWORD, shown_hash="0" * 64)  # type: ignore[attr-defined]
    assert not rw.c.records.get_record("daily_entry", entry.id).locked  # type: ignore[attr-defined]
    assert rw.c.records.signatures("daily_entry", entry.id) == []  # type: ignore[attr-defined]
    signed = rw.c.records.sign(
        "daily_entry",
        entry.id,
        PASSWORD,
        shown_hash=shown,  # type: ignore[attr-defined]
        expected_version=entry.version,
    )  # type: ignore[attr-defined]
    assert signed.signature.content_hash == shown
