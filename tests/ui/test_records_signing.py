"""Signing, amending with a reason, the version history, and a colleague's edit colliding with ours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from ecmo_desktop.domain.records import DailyEntryInput
from tests.kit.ui_records import (
    click,
    dialog_of,
    new_run,
    open_case,
    save,
    save_refused,
    select_record,
    sign_current,
    start_run,
    tab,
    type_text,
)
from tests.ui.conftest import login_as, wait_tasks


def test_sign_then_amend_requires_reason_and_keeps_old_version(qtbot, ui, seeded, clock) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, attending_id=seeded.attending_id)
    start_run(seeded, run_id)
    clock.advance(timedelta(hours=1))
    view = open_case(qtbot, ui, run_id)
    daily = tab(view, "daily")
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    type_text(qtbot, dialog.number_field("blood_flow").edit, "3.2")
    save(qtbot, ui, dialog)
    entry = select_record(qtbot, daily, daily.table, lambda r: True)
    assert daily.sign_button.isEnabled() and not daily.amend_button.isEnabled()

    # a wrong password is refused beside the password field; the record stays unsigned
    click(qtbot, daily.sign_button)
    sign = dialog_of(daily)
    assert sign.meaning.value() == "author" and "本人书写" in sign.meaning_help.text()
    type_text(qtbot, sign.password, "wrong-password-1")
    save_refused(qtbot, ui, sign)
    assert sign.message_for("密码").text() == "密码错误" and sign.password.text() == ""
    sign.reject()
    sign_current(qtbot, ui, daily)
    assert daily.panel.lock.isVisibleTo(daily.panel) and not daily.edit_button.isEnabled()
    qtbot.waitUntil(lambda: daily.panel.status.text().endswith("签名（书写）"))

    # amend: the reason is required, next to its field, and nothing typed is lost
    click(qtbot, daily.amend_button)
    amend = dialog_of(daily)
    assert amend.number_field("blood_flow").text() == "3.2"
    type_text(qtbot, amend.number_field("blood_flow").edit, "3.8")
    save_refused(qtbot, ui, amend)
    reason_message = amend.message_for("更正原因")
    assert (
        reason_message is not None and reason_message.isVisibleTo(amend) and reason_message.text() == "必填"
    )
    assert amend.number_field("blood_flow").text() == "3.8"
    type_text(qtbot, amend.reason, "录入错误，血流量应为 3.8 L/min")
    save(qtbot, ui, amend)
    current = c.records.get_record("daily_entry", entry.id)
    assert current.values["blood_flow"] == 3.8 and not current.locked
    qtbot.waitUntil(lambda: daily.panel.status.text() == "已更正，待重新签名")

    click(qtbot, daily.history_button)
    history = dialog_of(daily)
    qtbot.waitUntil(lambda: history.loaded)
    assert history.versions.rowCount() == 1
    assert history.versions.index(0, 3).data() == "录入错误，血流量应为 3.8 L/min"
    assert "血流量 3.2 L/min" in history.version_text.toPlainText()
    assert [history.signatures.index(i, 4).data() for i in range(history.signatures.rowCount())] == [
        "已作废（记录已更正）"
    ]
    history.reject()
    sign_current(qtbot, ui, daily)  # signed again, as corrected
    assert c.records.get_record("daily_entry", entry.id).locked


def test_concurrent_edit_is_explained_with_a_reload(qtbot, ui, seeded, clock) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, attending_id=seeded.attending_id)
    start_run(seeded, run_id)
    clock.advance(timedelta(hours=1))
    entry = c.records.record_daily_entry(
        run_id, DailyEntryInput(recorded_at=clock.now(), values={"act": "170"})
    )
    view = open_case(qtbot, ui, run_id)
    daily = tab(view, "daily")
    select_record(qtbot, daily, daily.table, lambda r: r.id == entry.id)
    click(qtbot, daily.edit_button)
    dialog = dialog_of(daily)
    type_text(qtbot, dialog.number_field("act").edit, "190")
    # meanwhile on another ward PC (same service layer, another save of the same record)
    c.records.update_daily_entry(
        entry.id,
        DailyEntryInput(recorded_at=entry.recorded_at, values={"act": "200"}),
        expected_version=entry.version,
    )
    save_refused(qtbot, ui, dialog)
    assert dialog.conflict.isVisibleTo(dialog) and "已被他人修改" in dialog.conflict_label.text()
    assert dialog.number_field("act").text() == "190"  # still what this person typed
    click(qtbot, dialog.reload_button)
    qtbot.waitUntil(lambda: not dialog.conflict.isVisibleTo(dialog))
    wait_tasks(qtbot, ui.tasks)
    assert dialog.number_field("act").text() == "200"
    type_text(qtbot, dialog.number_field("act").edit, "195")
    save(qtbot, ui, dialog)
    assert c.records.get_record("daily_entry", entry.id).values["act"] == 195


LONG_TEXT = {
    "zh_CN": (
        "置管侧下肢远端缺血，足背动脉搏动减弱，皮温降低，"
        "经血管外科会诊后于股浅动脉放置远端灌注管，术后下肢血运逐渐恢复，继续观察"
    ),
    "en": "Distal limb ischaemia on the cannulated side, weak dorsalis pedis pulse, cool skin; distal "
    "perfusion cannula "
    "SFA-0123456789-ABCDEFGHIJ placed after vascular surgery review",
}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_signer_sees_the_whole_record_name_even_in_the_smallest_dialog(
    qtbot, ui, seeded, clock, language: str
) -> None:
    """Issue 9.14: the line naming the record could be cut off (the form shrank and scrolled it away)."""
    from PySide6.QtWidgets import QApplication

    from ecmo_desktop.domain.records import ComplicationInput
    from ecmo_desktop.i18n import set_language
    from ecmo_desktop.ui.records.display import record_title
    from tests.kit.ui_records import (
        click,
        dialog_of,
        new_run,
        open_case,
        select_record,
        start_run,
        tab,
    )

    set_language(language)
    try:
        c = seeded.container
        login_as(ui, qtbot, "zhangwei")
        run_id = new_run(c, attending_id=seeded.attending_id)
        start_run(seeded, run_id)
        record = c.records.record_complication(
            run_id,
            ComplicationInput(
                code="O-OTHER", onset_at=clock.now(), severity="moderate", other_text=LONG_TEXT[language]
            ),
        )
        view = open_case(qtbot, ui, run_id)
        complications = tab(view, "complications")
        select_record(qtbot, complications, complications.table, lambda r: r.id == record.id)
        click(qtbot, complications.sign_button)
        dialog = dialog_of(complications)
        what = dialog.what
        assert what.text() == record_title(record) and LONG_TEXT[language] in what.text()
        for size in (dialog.sizeHint(), dialog.minimumSizeHint(), dialog.minimumSize()):
            dialog.resize(size)
            QApplication.processEvents()
            assert what.height() >= what.heightForWidth(what.width()), size  # every wrapped line has room
            assert what.visibleRegion().boundingRect() == what.rect(), (
                size
            )  # nothing clipped or scrolled away
            assert dialog.ok_button.visibleRegion().boundingRect() == dialog.ok_button.rect()
    finally:
        set_language("zh_CN")


def test_amending_a_signed_procedure_keeps_its_reason_apart_from_the_amendment_reason(
    qtbot, ui, seeded, clock
) -> None:
    """A procedure's own 原因 field once replaced the dialog's 更正原因 field, so an amendment crashed."""
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, attending_id=seeded.attending_id)
    start_run(seeded, run_id)
    clock.advance(timedelta(hours=2))
    view = open_case(qtbot, ui, run_id)
    procedures = tab(view, "cannulation")
    click(qtbot, procedures.kind_buttons["circuit_change"])
    dialog = dialog_of(procedures)
    type_text(qtbot, dialog.procedure_reason, "氧合器功能障碍")
    type_text(qtbot, dialog.settings.numbers["blood_flow"].edit, "4.3")
    save(qtbot, ui, dialog)
    select_record(qtbot, procedures, procedures.table, lambda r: r.kind == "circuit_change")
    sign_current(qtbot, ui, procedures)

    click(qtbot, procedures.amend_button)
    amend = dialog_of(procedures)
    assert amend.procedure_reason.toPlainText() == "氧合器功能障碍"
    assert amend.reason is not None and amend.reason is not amend.procedure_reason
    qtbot.keyClick(amend.procedure_reason, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    type_text(qtbot, amend.procedure_reason, "氧合器功能障碍，跨膜压差升高")
    type_text(qtbot, amend.reason, "原因记录不全")
    save(qtbot, ui, amend)
    change = next(p for p in c.records.chart(run_id).procedures if p.kind == "circuit_change")
    assert change.reason == "氧合器功能障碍，跨膜压差升高" and not change.locked
