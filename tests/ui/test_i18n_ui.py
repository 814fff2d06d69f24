"""The UI in each language as a person sees it: Qt's own dialogs in Chinese in Chinese mode, column
titles that are not cut off, counts in English that agree with their number."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QLabel, QMessageBox

from ecmo_desktop.app import install_translators
from ecmo_desktop.i18n import DEFAULT_LANGUAGE, set_language
from ecmo_desktop.ui.case_list import CaseListPage
from tests.kit.ui_records import new_run
from tests.ui.conftest import login_as, wait_tasks


@pytest.fixture
def chinese_qt(qapp: QApplication) -> Iterator[None]:
    translators = install_translators(qapp, DEFAULT_LANGUAGE)
    yield
    for translator in translators:
        qapp.removeTranslator(translator)
    QLocale.setDefault(QLocale.c())


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language(DEFAULT_LANGUAGE)


def test_qt_file_dialog_and_standard_buttons_are_chinese_in_chinese_mode(qtbot, chinese_qt: None) -> None:
    dialog = QFileDialog(None, "保存", "", "PDF (*.pdf)")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    qtbot.addWidget(dialog)
    dialog.show()
    labels = [label.text() for label in dialog.findChildren(QLabel) if label.isVisible()]
    assert "查找范围(&L)：" in labels and "文件类型(&T)：" in labels, (
        labels
    )  # were "Look in:", "Files of type:"
    assert not any(text.isascii() and text.strip("&: ") for text in labels), labels
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "标题",
        "正文",
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel,
    )
    qtbot.addWidget(box)
    assert box.button(QMessageBox.StandardButton.Cancel).text() == "取消"
    assert box.button(QMessageBox.StandardButton.Discard).text() == "丢弃"
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    qtbot.addWidget(buttons)
    assert buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "取消"


def test_english_count_and_column_titles_fit(qtbot, ui, seeded, english: None) -> None:
    login_as(ui, qtbot, "zhangwei")
    new_run(seeded.container)
    page = CaseListPage(ui, open_case=lambda _r: None, register_patient=lambda: None, new_run=lambda: None)
    qtbot.addWidget(page)
    page.show()
    wait_tasks(qtbot, ui.tasks)
    assert page.model.total == 1 and page.count_label.text() == "1 case"  # not "1 cases"
    new_run(seeded.container)
    page.model.refresh()
    wait_tasks(qtbot, ui.tasks)
    assert page.count_label.text() == "2 cases"
    header = page.table.horizontalHeader()
    for column in range(page.model.columnCount()):
        title = page.model.headerData(column, Qt.Orientation.Horizontal)
        needed = header.fontMetrics().horizontalAdvance(title)
        assert page.table.columnWidth(column) >= needed, title  # the whole title shows


def cut_titles(root) -> list[str]:
    """Column titles narrower than their text, in every table under ``root``."""
    from PySide6.QtWidgets import QTableView

    cut = []
    for table in root.findChildren(QTableView):
        model, header = table.model(), table.horizontalHeader()
        for column in range(model.columnCount()):
            if table.isColumnHidden(column) or column == model.columnCount() - 1:
                continue  # the last column stretches to the edge
            title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
            if table.columnWidth(column) < header.fontMetrics().horizontalAdvance(title) + 8:
                cut.append(f"{table.objectName()}: {title}")
    return cut


def test_english_record_tabs_show_whole_column_titles(qtbot, ui, seeded, english: None) -> None:
    from tests.kit.ui_records import open_case

    login_as(ui, qtbot, "zhangwei")
    run_id = new_run(seeded.container)
    view = open_case(qtbot, ui, run_id)
    view.resize(1366, 768)
    assert cut_titles(view) == []
