"""The 文书 tab and the records staff's archive page, driven like a user with pytest-qt.

The case is charted through the real services (tests/kit/documents.py) on the seeded SQLite
database of the UI fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt

from ecmo_desktop.domain.time import BEIJING
from ecmo_desktop.services.documents import BatchResult
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.documents import ArchivePage, DocumentsTab
from tests.kit.documents import Case, charted
from tests.ui.conftest import login_as, wait_tasks


def test_generate_preview_and_save_the_stored_original(
    qtbot: Any, ui: UiContext, case: Case, tmp_path: Path
) -> None:
    login_as(ui, qtbot, "chenjing")
    tab = DocumentsTab(ui, case.run_id)
    qtbot.addWidget(tab)
    wait_tasks(qtbot, ui.tasks)
    assert tab.model.rowCount() == 0 and "R8：尚未生成手术记录" in tab.r8_label.text()
    tab.kind.setCurrentIndex(tab.kind.findData("opnote"))
    assert [tab.subject.itemData(i) for i in range(tab.subject.count())][1:] == [
        case.cannulation_id,
        case.decannulation_id,
    ]
    with qtbot.waitSignal(tab.generated, timeout=20_000) as generated:
        tab.generate_button.click()
    printed = generated.args[0]
    wait_tasks(qtbot, ui.tasks)
    assert tab.model.rowCount() == 1 and tab.current() is not None
    assert (
        tab.preview_document() is not None
        and tab.preview_document().pageCount() == printed.document.page_count
    )
    assert "R8：已绑定的 3 件器械均已打印" in tab.r8_label.text()

    target = tmp_path / "副本.pdf"
    tab.save_selected(str(target))
    wait_tasks(qtbot, ui.tasks)
    assert target.read_bytes() == printed.pdf


def test_template_warning_is_shown_to_the_person_printing(
    qtbot: Any, ui: UiContext, case: Case, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ecmo_desktop.documents import consent
    from ecmo_desktop.paths import resource_path

    broken = tmp_path / "consent_zh.json"
    broken.write_text('{"schema": 1,', "utf-8")
    monkeypatch.setattr(
        consent, "template_candidates", lambda: [broken, resource_path("templates", "consent_zh.json")]
    )
    login_as(ui, qtbot, "zhangwei")
    tab = DocumentsTab(ui, case.run_id)
    qtbot.addWidget(tab)
    wait_tasks(qtbot, ui.tasks)
    tab.kind.setCurrentIndex(tab.kind.findData("consent"))
    with qtbot.waitSignal(tab.generated, timeout=20_000):
        tab.generate_button.click()
    assert "JSON 格式错误" in tab.notice.text() and str(broken) in tab.notice.text()


def test_admin_sees_the_list_but_cannot_print(qtbot: Any, ui: UiContext, case: Case) -> None:
    login_as(ui, qtbot, "admin")
    tab = DocumentsTab(ui, case.run_id)
    qtbot.addWidget(tab)
    wait_tasks(qtbot, ui.tasks)
    assert not tab.generate_button.isEnabled()


def _page(qtbot: Any, ui: UiContext) -> ArchivePage:
    page = ArchivePage(ui)
    qtbot.addWidget(page)
    page.date_from.setDate(QDate(2026, 1, 1))
    page.date_to.setDate(QDate(2026, 12, 31))
    page.status.setCurrentIndex(0)
    page.search()
    wait_tasks(qtbot, ui.tasks)
    return page


def test_archive_page_batch_to_a_folder(
    qtbot: Any, ui: UiContext, seeded: Any, clock: Any, tmp_path: Path
) -> None:
    cases = charted(seeded, clock, 3)
    login_as(ui, qtbot, "sunli")
    page = _page(qtbot, ui)
    assert {r.run_id for r in page.model.rows()} >= {c.run_id for c in cases}
    page.model.set_all(True)
    assert "已选 3 例" in page.count_label.text()
    page.folder.setText(str(tmp_path / "归档"))
    with qtbot.waitSignal(page.finished, timeout=120_000) as finished:
        page.start_button.click()
        assert page.running and not page.start_button.isEnabled()
    result: BatchResult = finished.args[0]
    assert len(result.done) == 3 and not result.failed and not result.cancelled
    assert page.progress.value() == 3 and page.progress.maximum() == 3
    files = sorted((tmp_path / "归档").glob("*.pdf"))
    assert len(files) == 3 and all(f.stat().st_size > 10_000 for f in files)
    qtbot.waitUntil(lambda: not page.running)
    wait_tasks(qtbot, ui.tasks)
    assert all(r.archive_id is not None for r in page.model.rows())  # the list shows them archived now


def test_archive_page_cancel_stops_between_runs(
    qtbot: Any, ui: UiContext, seeded: Any, clock: Any, tmp_path: Path
) -> None:
    charted(seeded, clock, 3)
    login_as(ui, qtbot, "sunli")
    page = _page(qtbot, ui)
    page.model.set_all(True)
    page.folder.setText(str(tmp_path))
    page.start_button.click()
    operation = page.operation
    assert operation is not None
    # cancel as soon as the first archive is stored, from the worker itself: deterministic, no timing
    operation.progress.connect(
        lambda done, total, text: done == 1 and operation.cancel(), Qt.ConnectionType.DirectConnection
    )
    with qtbot.waitSignal(page.finished, timeout=120_000) as finished:
        pass
    result: BatchResult = finished.args[0]
    assert result.cancelled and len(result.items) == 1 and result.total == 3
    qtbot.waitUntil(lambda: not page.running)
    assert page.start_button.isEnabled() and "已取消" in page.progress_label.text()


def test_cancel_button_sets_the_flag_the_batch_checks(
    qtbot: Any, ui: UiContext, seeded: Any, clock: Any, tmp_path: Path
) -> None:
    charted(seeded, clock, 1)
    login_as(ui, qtbot, "sunli")
    page = _page(qtbot, ui)
    page.model.set_all(True)
    page.folder.setText(str(tmp_path))
    with qtbot.waitSignal(page.finished, timeout=120_000):
        page.start_button.click()
        page.cancel_button.click()
        assert page.operation is not None and page.operation.cancelled()
    qtbot.waitUntil(lambda: not page.running)


def test_archive_page_is_for_records_staff_and_admin(qtbot: Any, ui: UiContext) -> None:
    from ecmo_desktop.ui.main_window import MainWindow

    for username, expected in (("sunli", True), ("admin", True), ("chenjing", False)):
        login_as(ui, qtbot, username)
        window = MainWindow(ui, ui.services.ctx.user)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        assert window.has_page("archive") is expected, username
        wait_tasks(qtbot, ui.tasks)


def test_date_filter_counts_the_last_day(qtbot: Any, ui: UiContext, seeded: Any, clock: Any) -> None:
    (only,) = charted(seeded, clock, 1)
    login_as(ui, qtbot, "sunli")
    page = _page(qtbot, ui)
    with seeded.container.uow(write=False) as uow:
        started = uow.runs.get(only.run_id).started_at
    day = started.astimezone(BEIJING).date()
    page.date_from.setDate(QDate(day.year, day.month, day.day))
    page.date_to.setDate(QDate(day.year, day.month, day.day))
    page.search()
    wait_tasks(qtbot, ui.tasks)
    assert [r.run_id for r in page.model.rows()] == [only.run_id]
    page.date_from.setDate(QDate(2025, 1, 1))
    page.date_to.setDate(QDate(2025, 12, 31))
    page.search()
    wait_tasks(qtbot, ui.tasks)
    assert page.model.rowCount() == 0


def test_case_view_has_the_documents_tab(qtbot: Any, ui: UiContext, case: Case) -> None:
    from ecmo_desktop.ui.case_view import CaseView

    login_as(ui, qtbot, "liuyang")
    view = CaseView(ui, case.run_id)
    qtbot.addWidget(view)
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert "文书" in titles
    tab = view.tabs.widget(titles.index("文书"))
    assert isinstance(tab, DocumentsTab) and tab.run_id == case.run_id
    wait_tasks(qtbot, ui.tasks)


def test_save_button_proposes_a_named_file_in_the_documents_folder(
    qtbot: Any, ui: UiContext, case: Case, seeded: Any, tmp_path: Path
) -> None:
    """Issue 9.20 (and 9.7: the button handed ``checked=False`` to ``save_selected`` as its path)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QLineEdit

    from ecmo_desktop.ui.documents.tab import documents_folder

    login_as(ui, qtbot, "chenjing")
    tab = DocumentsTab(ui, case.run_id)
    qtbot.addWidget(tab)
    tab.show()
    wait_tasks(qtbot, ui.tasks)
    tab.kind.setCurrentIndex(tab.kind.findData("opnote"))
    with qtbot.waitSignal(tab.generated, timeout=20_000) as generated:
        qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)
    wait_tasks(qtbot, ui.tasks)
    printed = generated.args[0]
    with seeded.container.uow(write=False) as uow:
        run = uow.runs.get(case.run_id)
        patient = uow.patients.get(run.patient_id)
    proposed: list[str] = []
    target = tmp_path / "opnote-copy.pdf"  # typed: QTest presses keys for ASCII only

    def answer() -> None:
        dialog = next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible()), None
        )
        if dialog is None:
            QTimer.singleShot(20, answer)
            return
        proposed.extend(dialog.selectedFiles())
        dialog.setDirectory(str(tmp_path))  # the person browses to another folder …
        name = dialog.findChild(QLineEdit, "fileNameEdit")
        name.selectAll()
        qtbot.keyClick(name, Qt.Key.Key_Backspace)
        qtbot.keyClicks(name, target.name)  # … types a name and presses 保存 (Enter may pick a completion)
        save = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: target.exists(), timeout=10_000)
    wait_tasks(qtbot, ui.tasks)
    assert target.read_bytes() == printed.pdf
    suggested = Path(proposed[0])
    assert suggested.parent == documents_folder()
    day = printed.document.created_at.astimezone(BEIJING).date().isoformat()
    assert (
        suggested.name
        == f"{patient.mrn}_{patient.name}_第{run.run_number}次ECMO_{printed.document.title}_{day}_v1.pdf"
    )
    assert "DOC-" not in suggested.name


def test_suggested_file_names_are_valid_on_windows() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from ecmo_desktop.domain.documents import GeneratedDocument
    from ecmo_desktop.services.documents import document_file_name, safe_file_name

    doc = GeneratedDocument(
        id=7,
        run_id=1,
        kind="opnote",
        subject_id=None,
        version=2,
        title='置管/撤管: "记录"?',
        size_bytes=1,
        sha256="",
        content_hash="",
        page_count=1,
        audit_anchor=None,
        created_at=datetime(2026, 3, 1, 17, 30, tzinfo=UTC),
        created_by_id=1,
        created_by_name="",
        meta={},
    )
    name = document_file_name(doc, "ZY01<2>_王*五|_第1次ECMO")
    assert (
        name == "ZY01_2__王_五__第1次ECMO_置管_撤管_ _记录___2026-03-02_v2.pdf"
    )  # 01:30 on 2 March in Beijing
    assert not set(name) & set('\\/:*?"<>|')
    assert safe_file_name("CON") == "_CON" and safe_file_name("nul.txt") == "_nul.txt"
    assert safe_file_name("名字. ") == "名字"
    assert document_file_name(replace(doc, title=""), "") == "手术记录_2026-03-02_v2.pdf"
