"""The serial executor and the main window's shortcuts, menus and status bar."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from ecmo_desktop.domain.errors import PermissionDenied
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.dialogs.new_run import NewRunDialog
from ecmo_desktop.ui.dialogs.patient import PatientDialog
from ecmo_desktop.ui.main_window import NAV_CASES, MainWindow
from tests.ui.conftest import login_as, wait_tasks


# ---- TaskRunner ------------------------------------------------------------------------------------
def test_operations_run_in_order_on_one_worker_thread(qtbot, tasks) -> None:
    seen: list[tuple[int, str]] = []
    results: list[int] = []
    main = threading.get_ident()
    for i in range(20):
        tasks.run_op(lambda i=i: seen.append((i, threading.current_thread().name)) or i, results.append)
    qtbot.waitUntil(lambda: tasks.pending == 0)
    assert [i for i, _name in seen] == list(range(20)) and results == list(range(20))
    assert {name for _i, name in seen} == {"ecmo-db-worker"}
    assert threading.get_ident() == main


def test_callbacks_run_on_the_gui_thread_and_changes_are_broadcast(qtbot, tasks) -> None:
    where: list[bool] = []
    with qtbot.waitSignal(tasks.changed) as changed:
        tasks.run_op(
            lambda: 1,
            lambda _r: where.append(threading.current_thread() is threading.main_thread()),
            changes=(Change.runs(),),
        )
    assert where == [True] and changed.args == [frozenset({Change.runs()})]


def test_failures_go_to_the_handler_or_the_default_path(qtbot, tasks, error_sink) -> None:
    handled: list[BaseException] = []
    tasks.run_op(lambda: (_ for _ in ()).throw(PermissionDenied()), None, handled.append)
    tasks.run_op(lambda: 1 / 0)
    qtbot.waitUntil(lambda: tasks.pending == 0)
    assert isinstance(handled[0], PermissionDenied)
    assert isinstance(error_sink.errors[0], ZeroDivisionError)


def test_a_deleted_owner_gets_no_callback_but_views_still_refresh(qtbot, tasks) -> None:
    owner = QObject()
    gate = threading.Event()
    called: list[object] = []
    broadcasts: list[frozenset[Change]] = []
    tasks.changed.connect(broadcasts.append)
    tasks.run_op(lambda: gate.wait(5), called.append, parent=owner, changes=(Change.patients(),))
    shiboken6.delete(owner)
    gate.set()
    qtbot.waitUntil(lambda: tasks.pending == 0)
    assert called == [] and broadcasts == [frozenset({Change.patients()})]


# ---- main window -----------------------------------------------------------------------------------
def _window(qtbot, ui, username: str) -> MainWindow:
    login_as(ui, qtbot, username)
    window = MainWindow(ui, ui.user)
    qtbot.addWidget(window)
    window.show()
    wait_tasks(qtbot, ui.tasks)
    return window


def test_status_bar_names_user_role_database_and_hospital(qtbot, ui) -> None:
    window = _window(qtbot, ui, "sunli")
    assert window.user_label.text() == "用户：孙丽（病案室）"
    assert window.db_label.text() == "数据库：SQLite：test.sqlite3"
    assert window.hospital_label.text() == "示范医院"
    assert window.windowTitle() == "ECMO Ward — 示范医院"


def test_a_demo_database_says_so_in_the_window_title(qtbot, ui, seeded) -> None:
    c = seeded.container
    with c.uow() as uow:  # as init-db --demo / the demo generator mark it at set-up
        local = uow.hospitals.local()
        uow.hospitals.update(local.id, settings={**local.settings, "demo": True})
        uow.commit()
    window = _window(qtbot, ui, "sunli")
    assert window.windowTitle() == "ECMO Ward — 示范医院 — 演示数据"


def test_ctrl_f_focuses_the_search_and_ctrl_n_opens_registration(qtbot, ui) -> None:
    window = _window(qtbot, ui, "chenjing")
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.page(NAV_CASES)
    assert window.cases.search.hasFocus()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialogs = [d for d in window.findChildren(PatientDialog) if d.isVisible()]
    assert len(dialogs) == 1
    dialogs[0].reject()


def test_records_staff_cannot_register_so_ctrl_n_does_nothing(qtbot, ui) -> None:
    window = _window(qtbot, ui, "sunli")
    assert not window.register_action.isEnabled()
    assert window.register_patient() is None


def test_language_choice_is_saved_and_takes_effect_after_restart(qtbot, ui) -> None:
    window = _window(qtbot, ui, "chenjing")
    window.set_language("en")
    assert ui.settings.load().language == "en"
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "重新启动" in boxes[0].text()
    boxes[0].close()


def test_geometry_is_saved_on_close(qtbot, ui) -> None:
    window = _window(qtbot, ui, "chenjing")
    window.closing_for_session = True
    window.resize(1111, 777)
    window.close()
    assert ui.settings.load().window_geometry


def test_new_run_draft_round_trip(qtbot, ui) -> None:
    login_as(ui, qtbot, "liuyang")
    first = NewRunDialog(ui)
    qtbot.addWidget(first)
    first.mrn.setText("ZY9")
    first.mode.setCurrentIndex(first.mode.findData("VV"))
    first.indication.setCurrentIndex(first.indication.findData("other"))
    first.indication_other.setText("溺水")
    first.emergency.setChecked(True)
    first.diagnosis.setPlainText("溺水后 ARDS")
    second = NewRunDialog(ui)
    qtbot.addWidget(second)
    second.restore_draft(first.draft())
    wait_tasks(qtbot, ui.tasks)
    assert second.draft() == first.draft()
    assert second.patient_label.text() == "未找到该住院号的患者，请先登记患者"


def test_about_names_the_version_and_database_without_blocking(qtbot, ui) -> None:
    from ecmo_desktop import __version__

    window = _window(qtbot, ui, "chenjing")
    box = window.about()
    assert box.isVisible()  # open(), not exec(): the test would hang on a nested loop
    assert __version__ in box.text() and "SQLite：test.sqlite3" in box.text()
    box.close()
