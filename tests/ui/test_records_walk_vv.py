"""One whole emergency VV run for severe ARDS, decision to follow-up, driven through the widgets.

Where the VA walk (test_records_walk.py) charts a planned start, this one charts what differs on a
VV run: one expert-group associate-chief physician decides the start alone (R2), the worklist
counts down the 12-hour supplement, the full decision (R1) is supplemented and signed in time,
consent comes after the start (R4 flagged, then met), the cannulae are femoral vein → internal
jugular, the daily entries carry ventilator rest settings, sweep and post-oxygenator gases, the
oxygenator fails and is changed, weaning is by a sweep-off trial. At the end the overview's
checklist shows R1–R4 met, and the 文书 tab prints the consent form and the cannulation note.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QTabWidget

from ecmo_desktop.domain.enums import RunStatus
from ecmo_desktop.domain.records import WorkKind
from ecmo_desktop.domain.time import BEIJING
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.documents import DocumentsTab
from ecmo_desktop.ui.home.worklist_page import WorklistPage, time_text
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

SUPPLEMENT_KINDS = (WorkKind.SUPPLEMENT_DUE.value, WorkKind.SUPPLEMENT_OVERDUE.value)


def beijing(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(datetime(2026, 3, day).date(), time(hour, minute), BEIJING)


def show_page(qtbot, dialog, title: str) -> None:
    """Click the title of one of a form's pages (the daily form is a tab widget of pages)."""
    pages: QTabWidget = dialog.pages
    index = next(i for i in range(pages.count()) if pages.tabText(i) == title)
    bar = pages.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert pages.currentIndex() == index


def test_whole_emergency_vv_run_through_the_widgets(qtbot, ui, seeded, clock, error_sink) -> None:
    c = seeded.container
    login_as(ui, qtbot, "zhangwei")  # 张伟: 副主任医师, expert group, privileged
    run_id = new_run(c, mode="VV", indication="ards", attending_id=seeded.attending_id, emergency=True)
    view = open_case(qtbot, ui, run_id)

    page = WorklistPage(ui, open_case=lambda _rid: view)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.loads >= 1)
    wait_tasks(qtbot, ui.tasks)
    page.timer.stop()  # refreshed by the records' changes and the 刷新 button below, not by the minute
    refresh_button = next(b for b in page.findChildren(QPushButton) if b.text() == "刷新")

    def refresh_worklist() -> None:
        loads = page.loads
        click(qtbot, refresh_button)
        qtbot.waitUntil(lambda: page.loads > loads)
        wait_tasks(qtbot, ui.tasks)

    def work(kinds: tuple[str, ...]) -> list:
        return [i for i in page.model.items if i.run_id == run_id and i.kind in kinds]

    # ---- emergency start decided by one expert-group associate-chief physician (R2) -------------
    decisions = tab(view, "decision")
    click(qtbot, decisions.new_button)
    dialog = dialog_of(decisions)
    assert dialog.emergency.isChecked()  # the run was opened as an emergency
    assert dialog.indication.value() == "ards" and dialog.mode.value() == "VV"
    rows = dialog.physicians.rows
    assert [(r[0].value(), r[1].value()) for r in rows] == [
        (seeded.doctor_id, "expert"),
        (seeded.attending_id, "attending"),
    ]
    click(qtbot, rows[1][3])  # the attending is not on the ward tonight: the decider alone
    assert len(dialog.physicians.rows) == 1
    assert dialog.verdict.text() == "[R2] 紧急上机由专家组成员 张伟（副主任医师及以上）决定"
    type_text(qtbot, dialog.rationale, "重症 ARDS，俯卧位及肺保护通气后仍顽固性低氧血症")
    pao2 = dialog.pre.numbers["pao2"]
    type_text(qtbot, pao2.edit, "52")
    type_text(qtbot, dialog.pre.numbers["vent_fio2"].edit, "1.0")
    type_text(qtbot, dialog.pre.numbers["peep"].edit, "14")
    pplat = dialog.pre.numbers["pplat"]
    type_text(qtbot, pplat.edit, "32")
    qtbot.waitUntil(lambda: pao2.state == "abnormal" and pplat.state == "abnormal")
    save(qtbot, ui, dialog)
    start = c.records.chart(run_id).decisions[0]
    assert start.emergency and start.indication == "ards" and start.mode_planned == "VV"
    assert {"pao2", "pplat"} <= set(start.abnormal)
    select_record(qtbot, decisions, decisions.decision_table, lambda r: r.emergency)
    sign_current(qtbot, ui, decisions)
    assert decisions.countdown.text() == "R2：紧急上机，首次转流后 12 小时内须补充多学科决策（尚未上机）"
    assert decisions.supplement_button.isEnabled()

    # ---- cannulation: femoral vein drainage, internal jugular return, no consent yet ------------
    clock.advance(timedelta(minutes=20))
    procedures = tab(view, "cannulation")
    click(qtbot, procedures.kind_buttons["cannulation"])
    dialog = dialog_of(procedures)
    assert dialog.mode_after.value() == "VV"
    operator = dialog.staff.rows[0]
    assert operator[0].value() == seeded.doctor_id and operator[2].text() == "持有有效的 ECMO 技术授权"
    drainage, ret = dialog.cannulae.rows
    assert (drainage["role"].value(), drainage["vessel"].value()) == ("drainage", "femoral_vein")
    assert (ret["role"].value(), ret["vessel"].value()) == ("return", "internal_jugular")
    choose(drainage["side"], "R")
    type_text(qtbot, drainage["size"].edit, "25")
    type_text(qtbot, drainage["depth"].edit, "48")
    type_text(qtbot, drainage["tip"], "IVC-RA junction")
    choose(ret["side"], "R")
    type_text(qtbot, ret["size"].edit, "19")
    type_text(qtbot, ret["depth"].edit, "15")
    choose(dialog.technique, "percutaneous")
    choose(dialog.guidance, "ultrasound")
    type_text(qtbot, dialog.settings.numbers["rpm"].edit, "3400")
    type_text(qtbot, dialog.settings.numbers["blood_flow"].edit, "4.5")
    type_text(qtbot, dialog.settings.numbers["sweep"].edit, "4")
    type_text(qtbot, dialog.settings.numbers["fdo2"].edit, "1.0")
    save(qtbot, ui, dialog)  # an emergency start without consent is allowed, and flagged (R4)
    run = c.runs.run_detail(run_id).run
    assert run.status == RunStatus.ON_ECMO.value and run.mode == "VV"
    cannulation = next(p for p in c.records.chart(run_id).procedures if p.kind == "cannulation")
    assert [(k.role, k.vessel, k.side) for k in cannulation.cannulae] == [
        ("drainage", "femoral_vein", "R"),
        ("return", "internal_jugular", "R"),
    ]
    select_record(qtbot, procedures, procedures.table, lambda r: r.kind == "cannulation")
    sign_current(qtbot, ui, procedures)
    assert "VV（2026-03-02 09:20 起）" in procedures.mode_label.text()

    # ---- the 12-hour countdown, in the case and on the worklist; R4 flagged ----------------------
    decisions = tab(view, "decision")
    assert decisions.countdown.text() == "R2：须在 12 小时 0 分 内（2026-03-02 21:20 前）补充多学科决策"
    refresh_worklist()
    (supplement,) = work(SUPPLEMENT_KINDS)
    assert supplement.kind == WorkKind.SUPPLEMENT_DUE.value and time_text(supplement) == "剩余 12 小时 0 分"
    assert page.model.index(0, 0).data() == "紧急上机：待补充多学科决策（R2）（1）"
    assert work((WorkKind.MISSING_CONSENT.value,))
    overview = tab(view, "overview")
    assert overview.status_of("R2") == "pending" and overview.status_of("R4") == "pending"

    # ---- consent, recorded when the family arrives after the start ---------------------------------
    clock.advance(timedelta(hours=2))
    decisions = tab(view, "decision")
    click(qtbot, decisions.consent_button)
    dialog = dialog_of(decisions)
    assert dialog.explained_by.value() == seeded.doctor_id
    type_text(qtbot, dialog.signer, "李建国")
    choose(dialog.relationship, "spouse")
    save(qtbot, ui, dialog)
    select_record(qtbot, decisions, decisions.consent_table, lambda r: r.signer_name == "李建国")
    sign_current(qtbot, ui, decisions)
    consent = c.records.chart(run_id).consents[0]
    assert consent.signed_on_paper_at > run.started_at
    qtbot.waitUntil(lambda: not work((WorkKind.MISSING_CONSENT.value,)))  # the R4 flag is gone
    assert overview.status_of("R4") == "pass"
    assert "紧急上机，知情同意已于上机后补签" in decisions.rules_label.text()

    # ---- day 0: ventilator at rest settings, sweep and post-oxygenator gases -----------------------
    clock.advance(timedelta(hours=1))
    daily = tab(view, "daily")
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    assert dialog.day_label.text() == "ECMO 第 0 天（上机当日）"
    assert dialog.mode.value() == "VV"
    assert not dialog.fields.row_visible("lvot_vti") and not dialog.fields.row_visible(
        "spo2_lower"
    )  # VA only
    assert "64 mL/kg/min" not in dialog.flow_index.text()
    type_text(qtbot, dialog.number_field("blood_flow").edit, "4.5")
    qtbot.waitUntil(lambda: dialog.flow_index.text() == "64 mL/kg/min")  # 4.5 L/min for 70 kg
    type_text(qtbot, dialog.number_field("sweep").edit, "5")
    type_text(qtbot, dialog.number_field("fdo2").edit, "1.0")
    type_text(qtbot, dialog.number_field("p_pre_oxy").edit, "240")
    type_text(qtbot, dialog.number_field("p_post_oxy").edit, "215")
    type_text(qtbot, dialog.number_field("post_oxy_pao2").edit, "460")
    type_text(qtbot, dialog.number_field("post_oxy_paco2").edit, "30")
    show_page(qtbot, dialog, "呼吸与血气")
    for key, value in (
        ("vent_fio2", "0.3"),
        ("peep", "10"),
        ("pplat", "22"),
        ("tidal_volume", "260"),
        ("resp_rate", "10"),
        ("pao2", "84"),
        ("paco2", "41"),
    ):
        type_text(qtbot, dialog.number_field(key).edit, value)
    qtbot.waitUntil(lambda: dialog.derived["pf_ratio"].text() == "280")
    assert all(
        dialog.number_field(k).state == "ok"
        for k in ("vent_fio2", "peep", "pplat", "resp_rate", "sweep", "post_oxy_pao2")
    )
    assert dialog.derived["driving_pressure"].text() == "12" and dialog.derived["delta_p"].text() == "25"
    assert dialog.derived["pf_ratio"].isReadOnly() and AMBER in dialog.derived["pf_ratio"].styleSheet()
    save(qtbot, ui, dialog)
    first = c.records.chart(run_id).daily_entries[0]
    assert first.values["vent_fio2"] == 0.3 and first.values["sweep"] == 5
    assert first.abnormal == ("pf_ratio",)  # P/F 280 on rest settings: computed, and flagged
    assert first.derived["driving_pressure"] == 12

    # ---- the worklist still counts down -------------------------------------------------------------
    refresh_worklist()
    (supplement,) = work(SUPPLEMENT_KINDS)
    assert time_text(supplement) == "剩余 9 小时 0 分"

    # ---- the supplement, R1-compliant, within 12 hours -----------------------------------------------
    clock.advance(timedelta(hours=3))
    decisions = tab(view, "decision")
    click(qtbot, decisions.supplement_button)
    dialog = dialog_of(decisions)
    assert "补充完整的多学科决策" in dialog.intro.text() and "2026-03-02 21:20 前" in dialog.intro.text()
    assert not dialog.emergency.isVisibleTo(dialog)
    rows = dialog.physicians.rows
    assert [(r[0].value(), r[1].value()) for r in rows] == [
        (seeded.doctor_id, "expert"),
        (seeded.attending_id, "attending"),
    ]
    assert "签名时将被拒绝" in dialog.verdict.text()  # two physicians do not meet R1
    click(qtbot, dialog.physicians.add_button)
    choose(dialog.physicians.rows[2][0], seeded.experts[1])
    assert dialog.physicians.rows[2][1].value() == "expert"
    assert dialog.verdict.text().startswith("[R1] 3 名医师共同决策")
    type_text(qtbot, dialog.rationale, "多学科讨论：同意继续 VV-ECMO，肺保护性通气")
    save(qtbot, ui, dialog)
    select_record(qtbot, decisions, decisions.decision_table, lambda r: r.supplement_of_id == start.id)
    assert decisions.countdown.text() == "R2：已在期限内补充多学科决策，待签名"
    sign_current(qtbot, ui, decisions)
    assert decisions.countdown.text() == "R2：已在期限内补充多学科决策"
    assert not decisions.supplement_button.isEnabled()
    qtbot.waitUntil(lambda: not work(SUPPLEMENT_KINDS))  # the countdown has left the worklist
    assert not any(page.model.index(r, 0).data().startswith("紧急上机") for r in range(page.model.rowCount()))
    assert overview.status_of("R2") == "pass"

    # ---- day 1: the oxygenator fails (amber), a mistyped FiO2 is refused -------------------------------
    clock.set(beijing(3, 9))
    daily = tab(view, "daily")
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    assert dialog.day_label.text() == "ECMO 第 1 天"
    type_text(qtbot, dialog.number_field("blood_flow").edit, "4.2")
    type_text(qtbot, dialog.number_field("sweep").edit, "8")
    type_text(qtbot, dialog.number_field("p_pre_oxy").edit, "330")
    type_text(qtbot, dialog.number_field("p_post_oxy").edit, "225")
    post_pao2 = dialog.number_field("post_oxy_pao2")
    type_text(qtbot, post_pao2.edit, "120")
    qtbot.waitUntil(lambda: post_pao2.state == "abnormal")
    assert AMBER in post_pao2.edit.styleSheet()
    show_page(qtbot, dialog, "呼吸与血气")
    fio2 = dialog.number_field("vent_fio2")
    type_text(qtbot, fio2.edit, "1.5")
    type_text(qtbot, dialog.number_field("peep").edit, "10")
    qtbot.waitUntil(lambda: fio2.state == "invalid")
    save_refused(qtbot, ui, dialog)
    message = dialog.message_for("呼吸机 FiO2")
    assert message is not None and message.isVisibleTo(dialog)
    assert message.text().rstrip() == "1.5 超出允许范围 0.21–1"  # FiO2 has no unit (the text ends in a space)
    assert post_pao2.text() == "120" and fio2.text() == "1.5"  # nothing typed is lost
    assert len(c.records.chart(run_id).daily_entries) == 1
    type_text(qtbot, fio2.edit, "0.4")
    qtbot.waitUntil(lambda: fio2.state == "ok")
    assert not message.isVisibleTo(dialog)
    save(qtbot, ui, dialog)
    second = max(c.records.chart(run_id).daily_entries, key=lambda e: e.recorded_at)
    assert set(second.abnormal) == {"post_oxy_pao2", "delta_p"}  # a failing oxygenator: low PaO2, high ΔP
    assert second.values["vent_fio2"] == 0.4 and second.derived["delta_p"] == 105
    assert daily.entries.rowCount() == 2

    # ---- circuit change for oxygenator failure, with its reason ---------------------------------------
    clock.advance(timedelta(hours=2))
    procedures = tab(view, "cannulation")
    assert not procedures.kind_buttons["cannulation"].isEnabled()
    click(qtbot, procedures.kind_buttons["circuit_change"])
    dialog = dialog_of(procedures)
    assert "R3" in dialog.intro.text()
    assert dialog.staff.rows[0][0].value() == seeded.doctor_id
    type_text(qtbot, dialog.procedure_reason, "氧合器功能障碍：膜后氧分压降至 120 mmHg，跨膜压差升高")
    type_text(qtbot, dialog.settings.numbers["blood_flow"].edit, "4.3")
    type_text(qtbot, dialog.settings.numbers["sweep"].edit, "5")
    save(qtbot, ui, dialog)
    change = next(p for p in c.records.chart(run_id).procedures if p.kind == "circuit_change")
    assert change.reason.startswith("氧合器功能障碍") and change.settings["sweep"] == 5
    select_record(qtbot, procedures, procedures.table, lambda r: r.kind == "circuit_change")
    assert "氧合器功能障碍：膜后氧分压降至 120 mmHg" in procedures.panel.browser.toPlainText()
    sign_current(qtbot, ui, procedures)

    # ---- the complication, coded and tied to the change ----------------------------------------------
    clock.advance(timedelta(minutes=30))
    complications = tab(view, "complications")
    click(qtbot, complications.new_button)
    dialog = dialog_of(complications)
    choose(dialog.group, "机械并发症")
    choose(dialog.code, "M-OXY")
    choose(dialog.severity, "moderate")
    choose(dialog.procedure, change.id)
    type_text(qtbot, dialog.treatment, "紧急更换氧合器")
    save(qtbot, ui, dialog)
    complication = c.records.chart(run_id).complications[0]
    assert complication.code == "M-OXY" and complication.procedure_id == change.id
    select_record(qtbot, complications, complications.table, lambda r: r.code == "M-OXY")
    sign_current(qtbot, ui, complications)

    # ---- after the change the gases recover -----------------------------------------------------------
    clock.advance(timedelta(hours=3))
    daily = tab(view, "daily")
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    type_text(qtbot, dialog.number_field("blood_flow").edit, "4.3")
    type_text(qtbot, dialog.number_field("sweep").edit, "5")
    type_text(qtbot, dialog.number_field("post_oxy_pao2").edit, "480")
    show_page(qtbot, dialog, "呼吸与血气")
    type_text(qtbot, dialog.number_field("vent_fio2").edit, "0.3")
    save(qtbot, ui, dialog)
    for _i in range(3):
        select_record(qtbot, daily, daily.table, lambda r: not r.locked)
        sign_current(qtbot, ui, daily)
    assert all(e.locked for e in c.records.chart(run_id).daily_entries)

    # ---- weaning: sweep-off trial, decision (R1), decannulation, end -----------------------------------
    clock.set(beijing(9, 9))
    weaning = tab(view, "weaning")
    click(qtbot, weaning.trial_button)
    dialog = dialog_of(weaning)
    assert dialog.intro.text() == "VV：关闭气流或 FdO2 降至 0.21，观察氧合、通气及呼吸机参数。"
    assert "lvot_vti" not in dialog.values.numbers  # VA only, not offered on a VV trial
    type_text(qtbot, dialog.targets["sweep"].edit, "0")
    type_text(qtbot, dialog.targets["blood_flow"].edit, "4")
    for key, value in (
        ("vent_fio2", "0.4"),
        ("peep", "8"),
        ("resp_rate", "18"),
        ("pao2", "88"),
        ("paco2", "43"),
    ):
        type_text(qtbot, dialog.values.numbers[key].edit, value)
    choose(dialog.passed, "yes")
    click(qtbot, dialog.ended_at.check)
    save(qtbot, ui, dialog)
    trial = c.records.chart(run_id).weaning_trials[0]
    assert trial.sweep_to == 0 and trial.passed and trial.values["pao2"] == 88
    select_record(qtbot, weaning, weaning.table_for("trial_table"), lambda r: True)
    sign_current(qtbot, ui, weaning)

    clock.advance(timedelta(hours=1))
    click(qtbot, weaning.decision_button)
    dialog = dialog_of(weaning)
    assert not dialog.emergency.isVisibleTo(dialog)
    click(qtbot, dialog.physicians.add_button)
    choose(dialog.physicians.rows[2][0], seeded.experts[2])
    assert dialog.verdict.text().startswith("[R1]") and "签名时将被拒绝" not in dialog.verdict.text()
    type_text(qtbot, dialog.rationale, "关闭气流 6 小时氧合通气稳定，同意撤机")
    save(qtbot, ui, dialog)
    select_record(qtbot, weaning, weaning.table_for("wean_decision_table"), lambda r: True)
    sign_current(qtbot, ui, weaning)
    assert "R1" in weaning.r1_label.text()

    clock.advance(timedelta(hours=1))
    click(qtbot, weaning.decannulation_button)
    dialog = dialog_of(weaning)
    type_text(qtbot, dialog.procedure_reason, "关闭气流试验通过，呼吸功能恢复")
    choose(dialog.technique, "percutaneous")
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
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "确认结束"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    run = c.runs.run_detail(run_id).run
    assert run.status == RunStatus.ENDED.value and run.end_reason == "weaned"
    assert "成功撤机" in weaning.end_label.text()

    # ---- follow-ups: discharge (with disposition) and 28 days -----------------------------------------
    follow = tab(view, "followup")
    assert follow.schedule.rowCount() == 5
    plan = {f.kind: f.due_date for f in c.records.chart(run_id).follow_ups}
    for kind, day in (("discharge", plan["discharge"] + timedelta(days=12)), ("d28", plan["d28"])):
        clock.set(datetime.combine(day, time(10, 0), BEIJING))
        ui.tasks.changed.emit(frozenset({Change.records()}))  # as the day's first action would
        wait_tasks(qtbot, ui.tasks)
        select_record(qtbot, follow, follow.table, lambda r, k=kind: r.kind == k)
        click(qtbot, follow.record_button)
        dialog = dialog_of(follow)
        choose(dialog.status, "done")
        choose(dialog.vital, "alive")
        if kind == "discharge":
            assert dialog.disposition.isEnabled()
            choose(dialog.disposition, "rehab")
        else:
            type_text(qtbot, dialog.scores["mrs"].edit, "2")
            type_text(qtbot, dialog.scores["eq5d_index"].edit, "0.78")
        save(qtbot, ui, dialog)
        sign_current(qtbot, ui, follow)
    done = {f.kind: f for f in c.records.chart(run_id).follow_ups if f.fu_status == "done"}
    assert set(done) == {"discharge", "d28"} and all(f.locked for f in done.values())
    assert done["discharge"].discharge_disposition == "rehab" and done["d28"].mrs == 2

    # ---- the checklist ---------------------------------------------------------------------------------
    overview = tab(view, "overview")
    statuses = {r.rule: overview.status_of(r.rule) for r in overview.rules.rows()}
    assert {rule: statuses[rule] for rule in ("R1", "R2", "R3", "R4")} == dict.fromkeys(
        ("R1", "R2", "R3", "R4"), "pass"
    )
    shown = {
        overview.rules.index(i, 0).data().split(" ")[0]: overview.rules.index(i, 1).data()
        for i in range(overview.rules.rowCount())
    }
    assert shown["R2"] == shown["R4"] == "通过"
    texts = [r.text() for r in overview.rules.rows()]
    assert "已在上机后 12 小时内补充多学科决策" in texts and "紧急上机，知情同意已于上机后补签" in texts
    events = [e.what for e in overview.events.rows()]
    assert "置管上机（首次转流）" in events and "ECMO 结束" in events

    # ---- 文书: the consent form and the cannulation's operation note ----------------------------------
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    bar = view.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(titles.index("文书")).center())
    documents = view.tabs.currentWidget()
    assert isinstance(documents, DocumentsTab) and documents.run_id == run_id
    wait_tasks(qtbot, ui.tasks)
    assert documents.generate_button.isEnabled() and documents.model.rowCount() == 0

    documents.kind.setCurrentIndex(documents.kind.findData("consent"))
    assert [documents.subject.itemData(i) for i in range(documents.subject.count())] == [None, consent.id]
    with qtbot.waitSignal(documents.generated, timeout=20_000) as generated:
        qtbot.mouseClick(documents.generate_button, Qt.MouseButton.LeftButton)
    assert generated.args[0].document.kind == "consent"
    wait_tasks(qtbot, ui.tasks)

    documents.kind.setCurrentIndex(documents.kind.findData("opnote"))
    subjects = [documents.subject.itemData(i) for i in range(documents.subject.count())]
    assert cannulation.id in subjects and change.id in subjects
    documents.subject.setCurrentIndex(documents.subject.findData(cannulation.id))
    with qtbot.waitSignal(documents.generated, timeout=20_000) as generated:
        qtbot.mouseClick(documents.generate_button, Qt.MouseButton.LeftButton)
    note = generated.args[0]
    assert note.document.kind == "opnote" and note.document.subject_id == cannulation.id
    wait_tasks(qtbot, ui.tasks)
    qtbot.waitUntil(lambda: documents.model.rowCount() == 2)
    stored = {(d.kind, d.subject_id) for d in documents.model.rows()}
    assert ("opnote", cannulation.id) in stored and any(kind == "consent" for kind, _s in stored)
    assert documents.current() is not None and documents.current().id == note.document.id
    assert documents.preview_document() is not None
    assert documents.preview_document().pageCount() == note.document.page_count
    assert error_sink.errors == []  # nothing went to the error box on the way
