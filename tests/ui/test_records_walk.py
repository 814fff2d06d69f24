"""One whole VA run, decision to 1-year follow-up, driven through the record tabs' widgets.

The fake clock moves between the steps as the ward's days pass; at the end the overview's
compliance checklist shows R1–R4 met (R2 not applicable to a planned start).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from PySide6.QtCore import Qt

from ecmo_desktop.domain.enums import RunStatus
from ecmo_desktop.domain.time import BEIJING
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.records.display import AMBER
from tests.kit.ui_records import (
    choose,
    click,
    closed,
    dialog_of,
    new_run,
    open_case,
    save,
    save_refused,
    select_record,
    sign_current,
    tab,
    type_text,
)
from tests.ui.conftest import login_as, wait_tasks


def test_whole_va_run_through_the_widgets(qtbot, ui, seeded, clock) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(c, mode="VA", attending_id=seeded.attending_id)
    view = open_case(qtbot, ui, run_id)
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert titles[:7] == ["概览", "决策与知情同意", "置管/操作", "日常管理", "并发症", "撤机", "随访"]

    # ---- start decision: three physicians, R1 shown live, then signed ---------------------------
    decisions = tab(view, "decision")
    click(qtbot, decisions.new_button)
    dialog = dialog_of(decisions)
    assert not dialog.emergency.isChecked()
    rows = dialog.physicians.rows
    assert [(r[0].value(), r[1].value()) for r in rows] == [
        (seeded.doctor_id, "expert"),
        (seeded.attending_id, "attending"),
    ]
    assert "签名时将被拒绝" in dialog.verdict.text()  # two physicians: R1 not met yet
    click(qtbot, dialog.physicians.add_button)
    choose(dialog.physicians.rows[2][0], seeded.experts[1])
    assert dialog.physicians.rows[2][1].value() == "expert"  # suggested: she is in the expert group now
    assert dialog.verdict.text().startswith("[R1] 3 名医师共同决策")
    type_text(qtbot, dialog.rationale, "心源性休克，药物治疗无效")
    lactate = dialog.pre.numbers["lactate"]
    type_text(qtbot, lactate.edit, "8.5")
    qtbot.waitUntil(lambda: lactate.state == "abnormal")
    save(qtbot, ui, dialog)
    decision = c.records.chart(run_id).decisions[0]
    assert decision.pre_ecmo["lactate"] == 8.5 and "lactate" in decision.abnormal
    assert (
        decisions.current() is not None and decisions.current().id == decision.id
    )  # the new record is selected
    sign_current(qtbot, ui, decisions)
    assert decisions.panel.lock.isVisibleTo(decisions.panel)
    qtbot.waitUntil(lambda: "（书写）" in decisions.panel.status.text())
    assert decisions.panel.status.text().startswith("已由 张伟 于 2026-03-02 09:00 签名")
    assert not decisions.edit_button.isEnabled() and decisions.amend_button.isEnabled()

    # ---- consent --------------------------------------------------------------------------------
    clock.advance(timedelta(minutes=10))
    click(qtbot, decisions.consent_button)
    dialog = dialog_of(decisions)
    type_text(qtbot, dialog.signer, "王秀英")
    choose(dialog.relationship, "spouse")
    save(qtbot, ui, dialog)
    select_record(qtbot, decisions, decisions.consent_table, lambda r: r.signer_name == "王秀英")
    sign_current(qtbot, ui, decisions)

    # ---- cannulation with cannulae and a privileged operator --------------------------------------
    clock.advance(timedelta(minutes=40))
    procedures = tab(view, "cannulation")
    click(qtbot, procedures.kind_buttons["cannulation"])
    dialog = dialog_of(procedures)
    operator = dialog.staff.rows[0]
    assert operator[0].value() == seeded.doctor_id and operator[1].value() == "operator"
    assert operator[2].text() == "持有有效的 ECMO 技术授权"
    drainage, ret = dialog.cannulae.rows
    assert (drainage["role"].value(), drainage["vessel"].value()) == ("drainage", "femoral_vein")
    choose(drainage["side"], "R")
    type_text(qtbot, drainage["size"].edit, "23")
    type_text(qtbot, drainage["depth"].edit, "45")
    choose(ret["side"], "L")
    type_text(qtbot, ret["size"].edit, "17")
    choose(dialog.technique, "percutaneous")
    choose(dialog.guidance, "ultrasound")
    type_text(qtbot, dialog.settings.numbers["rpm"].edit, "3200")
    type_text(qtbot, dialog.settings.numbers["blood_flow"].edit, "3.5")
    save(qtbot, ui, dialog)
    assert c.runs.run_detail(run_id).run.status == RunStatus.ON_ECMO.value
    assert "R3" in procedures.r3_label.text() and "张伟" in procedures.r3_label.text()
    select_record(qtbot, procedures, procedures.table, lambda r: r.kind == "cannulation")
    sign_current(qtbot, ui, procedures)
    assert "VA（2026-03-02 09:50 起）" in procedures.mode_label.text()

    # ---- daily entries: one highlighted, one refused then corrected, one the next day ------------
    daily = tab(view, "daily")
    clock.advance(timedelta(hours=2))
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    assert dialog.day_label.text() == "ECMO 第 0 天（上机当日）"
    type_text(qtbot, dialog.number_field("blood_flow").edit, "3.6")
    type_text(qtbot, dialog.number_field("p_pre_oxy").edit, "260")
    type_text(qtbot, dialog.number_field("p_post_oxy").edit, "228")
    lactate = dialog.number_field("lactate")
    type_text(qtbot, lactate.edit, "4.2")
    qtbot.waitUntil(lambda: lactate.state == "abnormal")
    assert AMBER in lactate.edit.styleSheet()
    assert dialog.derived["delta_p"].text() == "32" and dialog.derived["delta_p"].isReadOnly()
    assert "51 mL/kg/min" in dialog.flow_index.text()
    save(qtbot, ui, dialog)
    entry = c.records.chart(run_id).daily_entries[0]
    assert entry.abnormal == ("lactate",) and entry.derived["delta_p"] == 32
    assert daily.entries.rowCount() == 1

    clock.advance(timedelta(hours=6))
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    flow = dialog.number_field("blood_flow")
    type_text(qtbot, flow.edit, "35")
    type_text(qtbot, dialog.number_field("act").edit, "180")
    qtbot.waitUntil(lambda: flow.state == "invalid")
    save_refused(qtbot, ui, dialog)
    message = dialog.message_for("血流量")
    assert message is not None and message.isVisibleTo(dialog)
    assert message.text() == "35 超出允许范围 0–8 L/min"
    assert flow.text() == "35" and dialog.number_field("act").text() == "180"  # nothing typed is lost
    assert len(c.records.chart(run_id).daily_entries) == 1
    type_text(qtbot, flow.edit, "3.4")
    qtbot.waitUntil(lambda: flow.state == "ok")
    qtbot.keyClick(flow.edit, Qt.Key.Key_Return)  # Enter saves
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    assert daily.entries.rowCount() == 2

    clock.set(datetime.combine(datetime(2026, 3, 3).date(), time(9, 0), BEIJING))
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    assert dialog.day_label.text() == "ECMO 第 1 天"
    type_text(qtbot, dialog.number_field("blood_flow").edit, "3.2")
    save(qtbot, ui, dialog)
    for _i in range(3):
        select_record(qtbot, daily, daily.table, lambda r: not r.locked)
        sign_current(qtbot, ui, daily)
    assert all(e.locked for e in c.records.chart(run_id).daily_entries)

    # ---- a complication ---------------------------------------------------------------------------
    clock.advance(timedelta(hours=3))
    complications = tab(view, "complications")
    click(qtbot, complications.new_button)
    dialog = dialog_of(complications)
    choose(dialog.group, "出血")
    choose(dialog.code, "B-CANN")
    choose(dialog.severity, "mild")
    type_text(qtbot, dialog.treatment, "局部压迫止血")
    save(qtbot, ui, dialog)
    select_record(qtbot, complications, complications.table, lambda r: r.code == "B-CANN")
    sign_current(qtbot, ui, complications)

    # ---- weaning: decision, trial, decannulation, end ----------------------------------------------
    clock.set(datetime.combine(datetime(2026, 3, 7).date(), time(9, 0), BEIJING))
    weaning = tab(view, "weaning")
    click(qtbot, weaning.decision_button)
    dialog = dialog_of(weaning)
    click(qtbot, dialog.physicians.add_button)
    choose(dialog.physicians.rows[2][0], seeded.experts[2])
    assert dialog.verdict.text().startswith("[R1]") and "签名时将被拒绝" not in dialog.verdict.text()
    save(qtbot, ui, dialog)
    select_record(qtbot, weaning, weaning.table_for("wean_decision_table"), lambda r: True)
    sign_current(qtbot, ui, weaning)

    clock.advance(timedelta(hours=1))
    click(qtbot, weaning.trial_button)
    dialog = dialog_of(weaning)
    type_text(qtbot, dialog.targets["blood_flow"].edit, "1.5")
    type_text(qtbot, dialog.values.numbers["lvot_vti"].edit, "14")
    choose(dialog.passed, "yes")
    save(qtbot, ui, dialog)
    select_record(qtbot, weaning, weaning.table_for("trial_table"), lambda r: True)
    sign_current(qtbot, ui, weaning)

    clock.advance(timedelta(hours=2))
    click(qtbot, weaning.decannulation_button)
    dialog = dialog_of(weaning)
    type_text(qtbot, dialog.procedure_reason, "撤机试验通过，心功能恢复")
    choose(dialog.technique, "cutdown")
    save(qtbot, ui, dialog)
    select_record(qtbot, weaning, weaning.table_for("decannulation_table"), lambda r: True)
    sign_current(qtbot, ui, weaning)

    clock.advance(timedelta(minutes=30))
    click(qtbot, weaning.end_button)
    dialog = dialog_of(weaning)
    assert dialog.reason_combo.value() == "weaned"
    click(qtbot, dialog.ok_button)
    box = dialog.confirm_box
    assert box is not None and box.isVisible() and "成功撤机" in box.text()
    assert c.runs.run_detail(run_id).run.status == RunStatus.ON_ECMO.value  # nothing until confirmed
    confirm = next(b for b in box.buttons() if b.text() == "确认结束")
    qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    run = c.runs.run_detail(run_id).run
    assert run.status == RunStatus.ENDED.value and run.end_reason == "weaned"
    assert "成功撤机" in weaning.end_label.text()

    # a wrongly entered end is corrected by an amendment with a reason, never overwritten silently
    assert weaning.amend_end_button.isEnabled() and not weaning.end_button.isEnabled()
    click(qtbot, weaning.amend_end_button)
    dialog = dialog_of(weaning)
    assert dialog.reason_combo.value() == "weaned"  # prefilled with what is recorded
    dialog.ended_at.set_value(run.ended_at - timedelta(minutes=10))
    save_refused(qtbot, ui, dialog)  # no reason given
    type_text(qtbot, dialog.notes, "撤机时间录入错误，按监护记录更正")
    save(qtbot, ui, dialog)
    corrected = c.runs.run_detail(run_id).run
    assert corrected.ended_at == run.ended_at - timedelta(minutes=10) and corrected.end_reason == "weaned"
    with c.uow(write=False) as uow:  # the old end stays in the audit trail with the reason
        events = uow.audit.for_run(run_id, offset=0, limit=20)
    amended = next(e for e in events if e.action == "amend_end")
    assert amended.reason == "撤机时间录入错误，按监护记录更正" and amended.before["end_reason"] == "weaned"

    # ---- follow-ups 28 d … 1 y -------------------------------------------------------------------
    follow = tab(view, "followup")
    assert follow.schedule.rowCount() == 5
    start = c.runs.run_detail(run_id).run.started_at
    plan = {f.kind: f.due_date for f in c.records.chart(run_id).follow_ups}
    order = sorted(plan, key=lambda k: plan[k])
    for kind in order:
        target = datetime.combine(plan[kind], time(10, 0), BEIJING)
        if target > clock.now():
            clock.set(target)
        ui.tasks.changed.emit(frozenset({Change.records()}))  # as the day's first action would
        wait_tasks(qtbot, ui.tasks)
        select_record(qtbot, follow, follow.table, lambda r, k=kind: r.kind == k)
        click(qtbot, follow.record_button)
        dialog = dialog_of(follow)
        choose(dialog.status, "done")
        choose(dialog.vital, "alive")
        if kind == "discharge":
            choose(dialog.disposition, "home")
        else:
            type_text(qtbot, dialog.scores["cpc"].edit, "1")
            type_text(qtbot, dialog.scores["mrs"].edit, "1")
            type_text(qtbot, dialog.scores["eq5d_index"].edit, "0.85")
        save(qtbot, ui, dialog)
        sign_current(qtbot, ui, follow)
    follow_ups = c.records.chart(run_id).follow_ups
    assert all(f.fu_status == "done" and f.locked for f in follow_ups)
    assert clock.now() - start > timedelta(days=365)

    # ---- the checklist ---------------------------------------------------------------------------
    overview = tab(view, "overview")
    statuses = {r.rule: overview.status_of(r.rule) for r in overview.rules.rows()}
    assert statuses["R1"] == "pass" and statuses["R3"] == "pass" and statuses["R4"] == "pass"
    assert statuses["R2"] == "n/a" and statuses["R9"] == "pass"
    shown = {
        overview.rules.index(i, 0).data().split(" ")[0]: overview.rules.index(i, 1).data()
        for i in range(overview.rules.rowCount())
    }
    assert shown["R1"] == shown["R3"] == shown["R4"] == "通过" and shown["R2"] == "不适用"
    events = [e.what for e in overview.events.rows()]
    assert events[0] == "上机决策" and "置管上机（首次转流）" in events and "ECMO 结束" in events
    assert "1年随访" in events and "日常管理 ECMO 第 1 天" in events
