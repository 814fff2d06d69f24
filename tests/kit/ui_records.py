"""Helpers for the record-tab UI tests: open a case view, drive dialogs through their widgets.

Everything waits on the task runner (``qtbot.waitUntil``), never on time. ``click``, ``closed`` and
``type_text`` are ``tests.kit.ui``'s, re-exported for the ``test_records_*`` modules.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QTableView

from ecmo_desktop.domain.records import (
    CannulaInput,
    ConsentInput,
    DecisionInput,
    PhysicianInput,
    ProcedureInput,
    StaffInput,
)
from ecmo_desktop.services.runs import PatientInput, RunInput
from ecmo_desktop.ui.case_view import CaseView
from ecmo_desktop.ui.records import case_records, record_tab, show_record_tab
from ecmo_desktop.ui.records.base import RecordTab
from ecmo_desktop.ui.records.forms import RecordDialog
from tests.kit.ui import PASSWORD, click, closed, type_text, wait_tasks

_mrn = iter(range(1, 10_000))


def new_run(
    c: Any,
    *,
    mode: str = "VA",
    indication: str = "ami",
    attending_id: int | None = None,
    emergency: bool = False,
    weight: str = "70",
) -> int:
    """A registered patient with a planned run (through the services, as the logged-in doctor)."""
    n = next(_mrn)
    patient = c.runs.register_patient(
        PatientInput(
            mrn=f"RW{n:05d}", name=f"测试患者{n}", sex="M", weight_kg=weight, ward="EICU", bed=str(n)
        )
    )
    return c.runs.open_run(
        patient.id, RunInput(mode=mode, indication=indication, attending_id=attending_id, emergency=emergency)
    ).id


def start_run(seeded: Any, run_id: int, *, minutes_after: int = 30) -> None:
    """Decision (signed), consent and cannulation through the services: a run on ECMO."""
    c, clock = seeded.container, seeded.container.ctx.clock
    e2, _e3 = seeded.experts[1], seeded.experts[2]
    now = clock.now()
    d = c.records.record_decision(
        run_id,
        DecisionInput(
            kind="start",
            decided_at=now,
            physicians=(
                PhysicianInput(seeded.attending_id, "attending"),
                PhysicianInput(seeded.doctor_id, "expert"),
                PhysicianInput(e2, "expert"),
            ),
        ),
    )
    c.records.sign("decision", d.id, PASSWORD)
    c.records.record_consent(
        run_id,
        ConsentInput(
            explained_by_id=seeded.doctor_id, signer_name="家属", relationship="spouse", signed_at=now
        ),
    )
    clock.advance(timedelta(minutes=minutes_after))
    c.records.record_cannulation(
        run_id,
        ProcedureInput(
            started_at=clock.now() - timedelta(minutes=10),
            flow_at=clock.now(),
            location="icu",
            staff=(StaffInput(seeded.doctor_id, "operator"),),
            cannulae=(
                CannulaInput("drainage", "femoral_vein", "R", "23"),
                CannulaInput("return", "femoral_artery", "L", "17"),
            ),
        ),
    )


def open_case(qtbot: Any, ui: Any, run_id: int) -> CaseView:
    view = CaseView(ui, run_id)
    qtbot.addWidget(view)
    view.show()
    case = case_records(view)
    assert case is not None
    qtbot.waitUntil(lambda: case.loads >= 1, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    return view


def tab(view: CaseView, key: str) -> Any:
    """Bring a record tab to the front (as a click on its title would) and return it."""
    widget = show_record_tab(view, key)
    assert widget is not None, key
    QApplication.processEvents()
    return widget


def choose(combo: QComboBox, value: Any) -> None:
    """Pick the entry holding ``value`` (a code or a staff id), as a click in the list would."""
    index = combo.findData(value)
    assert index >= 0, (combo.objectName(), value)
    combo.setCurrentIndex(index)


def click_row(qtbot: Any, table: QTableView, row: int) -> None:
    table.scrollTo(table.model().index(row, 0))
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def dialog_of(tab_widget: RecordTab) -> Any:
    dialog = tab_widget.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def save(qtbot: Any, ui: Any, dialog: RecordDialog) -> None:
    """Press the save button and wait until the dialog has closed after a successful save."""
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    wait_tasks(qtbot, ui.tasks)


def save_refused(qtbot: Any, ui: Any, dialog: RecordDialog) -> None:
    """Press save and wait until the refusal came back (the dialog stays open)."""
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    assert dialog.isVisible()


def sign_current(qtbot: Any, ui: Any, tab_widget: RecordTab, password: str = PASSWORD) -> None:
    """Sign the selected record: password typed, Enter pressed."""
    click(qtbot, tab_widget.sign_button)
    dialog = dialog_of(tab_widget)
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    wait_tasks(qtbot, ui.tasks)


def select_record(qtbot: Any, tab_widget: RecordTab, table: QTableView, predicate: Any) -> Any:
    model = table.model()
    for row in range(model.rowCount()):
        record = model.row(row)  # type: ignore[attr-defined]
        if predicate(record):
            click_row(qtbot, table, row)
            assert tab_widget.current() is not None and tab_widget.current().id == record.id
            return record
    raise AssertionError("no such record in the list")


__all__ = [
    "choose",
    "click",
    "click_row",
    "closed",
    "dialog_of",
    "new_run",
    "open_case",
    "record_tab",
    "save",
    "save_refused",
    "select_record",
    "sign_current",
    "start_run",
    "tab",
    "type_text",
]
