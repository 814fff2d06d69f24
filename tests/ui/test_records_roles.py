"""Who may do what from the record tabs: nurses chart and sign their own daily entries only; an
operator without an ECMO privilege is refused (R3) next to the staff list, nothing typed lost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ecmo_desktop.domain.errors import PermissionDenied
from ecmo_desktop.domain.records import DecisionInput, PhysicianInput
from tests.kit.ui_records import (
    choose,
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
from tests.ui.conftest import PASSWORD, login_as


def test_nurse_adds_and_signs_her_own_daily_entry_but_cannot_decide(qtbot, ui, seeded, clock) -> None:
    c = seeded.container
    seeded.login("zhangwei")
    run_id = new_run(c, attending_id=seeded.attending_id)
    start_run(seeded, run_id)
    c.ctx.user = None
    clock.advance(timedelta(hours=2))
    login_as(ui, qtbot, "chenjing")
    view = open_case(qtbot, ui, run_id)

    decisions = tab(view, "decision")
    for button in (decisions.new_button, decisions.supplement_button, decisions.consent_button):
        assert button.isHidden()
    assert decisions.new_decision() is None  # the shortcut path refuses too
    procedures = tab(view, "cannulation")
    assert all(b.isHidden() for b in procedures.kind_buttons.values())
    assert tab(view, "weaning").end_button.isHidden()
    with pytest.raises(PermissionDenied):  # and the service refuses on its own
        c.records.record_decision(
            run_id,
            DecisionInput(
                kind="wean", decided_at=clock.now(), physicians=(PhysicianInput(seeded.doctor_id, "expert"),)
            ),
        )

    daily = tab(view, "daily")
    click(qtbot, daily.new_button)
    dialog = dialog_of(daily)
    type_text(qtbot, dialog.number_field("blood_flow").edit, "4.1")
    type_text(qtbot, dialog.number_field("heater_temp").edit, "36.5")
    choose(dialog.fields.choices["circuit_check"], "ok")
    type_text(qtbot, dialog.notes, "管路无血栓，穿刺点无渗血")
    save(qtbot, ui, dialog)
    entry = select_record(qtbot, daily, daily.table, lambda r: True)
    assert entry.author_role == "nurse" and daily.entries.index(0, 3).data() == "陈静（护士）"
    sign_current(qtbot, ui, daily)
    signed = c.records.get_record("daily_entry", entry.id)
    assert signed.locked and signed.signed_by_name == "陈静"
    # the decision signed by the doctor is readable, but not hers to sign or amend
    decisions = tab(view, "decision")
    select_record(qtbot, decisions, decisions.decision_table, lambda r: True)
    assert not decisions.sign_button.isEnabled() and not decisions.amend_button.isEnabled()
    assert decisions.history_button.isEnabled()


def test_operator_without_privilege_is_refused_beside_the_staff_list(qtbot, ui, seeded, clock) -> None:
    c = seeded.container
    seeded.login("admin")
    newcomer = c.staff.create_staff(
        username="zhouqi",
        full_name="周琪",
        title="attending",
        years_in_practice=6,
        roles=["doctor"],
        initial_password=PASSWORD,
    )
    seeded.login("zhangwei")
    run_id = new_run(c, attending_id=seeded.attending_id)
    c.ctx.user = None
    login_as(ui, qtbot, "zhangwei")
    view = open_case(qtbot, ui, run_id)
    decisions = tab(view, "decision")
    click(qtbot, decisions.new_button)
    dialog = dialog_of(decisions)
    click(qtbot, dialog.physicians.add_button)
    choose(dialog.physicians.rows[2][0], seeded.experts[2])
    save(qtbot, ui, dialog)
    click(qtbot, decisions.consent_button)
    dialog = dialog_of(decisions)
    type_text(qtbot, dialog.signer, "患者本人")
    choose(dialog.relationship, "self")
    save(qtbot, ui, dialog)

    clock.advance(timedelta(minutes=30))
    procedures = tab(view, "cannulation")
    click(qtbot, procedures.kind_buttons["cannulation"])
    dialog = dialog_of(procedures)
    person, role = dialog.staff.rows[0][0], dialog.staff.rows[0][1]
    choose(person, newcomer.id)
    assert dialog.staff.rows[0][2].text() == "无有效的 ECMO 技术授权：不能作为术者（R3）"
    for row, size in zip(dialog.cannulae.rows, ("23", "17"), strict=True):
        choose(row["side"], "R")
        type_text(qtbot, row["size"].edit, size)
    save_refused(qtbot, ui, dialog)
    message = dialog.message_for("术者")
    assert message is not None and message.isVisibleTo(dialog)
    assert message.text().startswith("[R3] 术者 周琪 在 2026-03-02 09:30 没有有效的 ECMO 技术授权")
    assert dialog.cannulae.rows[0]["size"].text() == "23"  # nothing typed is lost
    choose(person, seeded.doctor_id)
    assert role.value() == "operator"
    save(qtbot, ui, dialog)
    assert c.runs.run_detail(run_id).run.status == "on_ecmo"
