"""Several ward PCs on one database (issue 11 §3–§5), driven as people do.

The window runs on one container; ``other`` is a second container on the same database — the PC in
the next room. What it saves must show up here on its own (case list, running/planned panel, open
case) without losing the user's place; an account locked or deactivated there ends the session here
at the next refresh (drafts kept, patient data gone); background failures never open a box.
"""

from __future__ import annotations

from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from ecmo_desktop.container import build_container
from ecmo_desktop.domain.errors import ServerUnreachable
from ecmo_desktop.services.runs import PatientInput, RunInput
from ecmo_desktop.ui.models.run_list_model import RUN_ID_ROLE
from ecmo_desktop.ui.session import SessionController
from tests.kit.ui import open_registration, sign_in
from tests.ui.conftest import PASSWORD, visible_texts, wait_tasks

LIVENESS_MS = 20_000  # far above the 2 s poll: only a list that never refreshes fails


@pytest.fixture
def other(seeded_db_url: str, seeded: Any, clock: Any) -> Any:
    c = build_container(seeded_db_url, clock=clock, workstation="pc-2", migrate=False)
    c.auth.login("lina", PASSWORD)
    yield c
    c.close()


def _new_run(c: Any, mrn: str, name: str) -> int:
    patient = c.runs.register_patient(PatientInput(mrn=mrn, name=name, sex="M"))
    return c.runs.open_run(patient.id, RunInput(mode="VA", indication="ami")).id


def _run_ids(table: Any) -> list[int]:
    model = table.model()
    return [model.index(r, 0).data(RUN_ID_ROLE) for r in range(model.rowCount())]


def test_another_pcs_new_run_appears_keeping_the_selection(qtbot, ui, other, session_factory) -> None:
    first = _new_run(other, "ZY0001", "甲")
    session: SessionController = session_factory(ui)
    sign_in(qtbot, session, "zhangwei")
    window = session.main_window
    window.show_page("cases")
    table = window.cases.table
    qtbot.waitUntil(lambda: first in _run_ids(table))
    row = _run_ids(table).index(first)
    table.setCurrentIndex(table.model().index(row, 1))
    qtbot.keyClick(table, Qt.Key.Key_Home)  # the person's own choice of row
    chosen = table.currentIndex().data(RUN_ID_ROLE)

    second = _new_run(other, "ZY0002", "乙")  # saved on the other PC: no button, no typing here
    qtbot.waitUntil(lambda: second in _run_ids(table), timeout=LIVENESS_MS)
    assert table.currentIndex().data(RUN_ID_ROLE) == chosen  # the selection followed its run
    assert window.cases.search.text() == ""
    panel = window.worklist.runs.table  # "ECMO运行中及待上机的病例"
    qtbot.waitUntil(lambda: second in _run_ids(panel), timeout=LIVENESS_MS)


def test_an_account_deactivated_elsewhere_closes_its_window_and_keeps_its_draft(
    qtbot, ui, other, seeded, session_factory
) -> None:
    session: SessionController = session_factory(ui)
    sign_in(qtbot, session, "chenjing")
    open_registration(qtbot, session)  # typing a patient in, not yet saved
    other.ctx.user = None
    other.auth.login("admin", PASSWORD)
    other.staff.set_active(seeded.nurse_id, False, reason="调离")
    qtbot.waitUntil(lambda: session.main_window is None, timeout=LIVENESS_MS)  # at the next refresh
    qtbot.waitUntil(lambda: session.login_dialog is not None and session.login_dialog.isVisible())
    wait_tasks(qtbot, ui.tasks)
    assert "ZY20260001" not in visible_texts()  # the patient left the screen
    assert "停用" in session.login_dialog.errors.general.text()
    assert ui.drafts.has(seeded.nurse_id)  # … and is kept for her
    assert not [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and shiboken6.isValid(w) and w.isVisible()
    ]

    other.staff.set_active(seeded.nurse_id, True, reason="返岗")  # reactivated: no silent resumption
    assert ui.services.ctx.user is None


def test_background_refresh_failures_show_offline_not_boxes(
    qtbot, ui, session_factory, error_sink, monkeypatch
) -> None:
    session: SessionController = session_factory(ui)
    sign_in(qtbot, session, "zhangwei")
    window = session.main_window
    assert window.connection_label.text().endswith("在线")

    def down(*_a: Any, **_k: Any) -> Any:
        raise ServerUnreachable()

    monkeypatch.setattr(ui.services.audit, "changes_since", down)  # the server stops answering reads
    monkeypatch.setattr(ui.services.runs, "search_runs", down)
    qtbot.waitUntil(lambda: "离线" in window.connection_label.text(), timeout=LIVENESS_MS)
    window.worklist.refresh()  # the worklist's timer firing
    window.cases.model.reload_in_place()  # a change broadcast
    monkeypatch.setattr(ui.services.runs, "hospital", down)
    ui.tasks.run_op(
        ui.services.runs.hospital, lambda _h: None, parent=window
    )  # a load without its own handler
    wait_tasks(qtbot, ui.tasks)
    assert error_sink.errors == []  # not one modal box
    monkeypatch.undo()
    qtbot.waitUntil(lambda: window.connection_label.text().endswith("在线"), timeout=LIVENESS_MS)
