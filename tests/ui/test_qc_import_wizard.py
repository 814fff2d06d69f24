"""The import wizard: preview of a file, the row-by-row error list, all-or-nothing import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ecmo_desktop.ui.qc.import_wizard import ImportWizard
from tests.ui.conftest import login_as, wait_tasks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
HEADER = "医院,住院号,姓名,性别,上机时间,模式,适应证,备注"


def _wizard(qtbot, ui) -> ImportWizard:
    login_as(ui, qtbot, "sunli")
    wizard = ImportWizard(ui)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _preview(qtbot, wizard: ImportWizard, path: Path) -> None:
    wizard.set_file(path)
    wizard.preview_button.click()
    wait_tasks(qtbot, wizard.ui.tasks)


def _runs(ui) -> int:
    return ui.services.exchange.report(date(2000, 1, 1), date(2030, 12, 31)).runs


def test_preview_lists_every_bad_row_and_nothing_is_imported(qtbot, ui, tmp_path):
    wizard = _wizard(qtbot, ui)
    path = tmp_path / "bad.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "甲医院,A1,王一,男,2024-01-01 10:00,VA,ami,",
                "甲医院,A2,王二,男,2024-02-30,VA,ami,",
                "甲医院,A3,王三,男,2024-01-03,VX,发烧,",
                "甲医院,A1,王一,男,2024-01-01 10:00,VA,ami,",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    _preview(qtbot, wizard, path)
    model = wizard.rows_model
    assert model.rowCount() == 4 and model.columnCount() == 9
    assert [model.index(r, 0).data() for r in range(4)] == ["2", "3", "4", "5"]
    assert model.index(1, 5).data() == "2024-02-30"
    errors = wizard.errors_model
    assert [[errors.index(r, c).data() for c in range(3)] for r in range(errors.rowCount())] == [
        ["3", "上机时间", "“2024-02-30”不是有效的日期，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM"],
        ["4", "模式", "未知的模式“VX”，应为 VA、VV、VAV、VVA 或 other"],
        ["4", "适应证", "未知的适应证“发烧”"],
        ["5", "上机时间", "与第 2 行重复（同一医院、住院号和上机时间）"],
    ]
    assert "错误 4 处" in wizard.summary.text() and "备注" in wizard.summary.text()
    assert not wizard.import_button.isEnabled()
    assert _runs(ui) == 0
    # the user may choose to import the good rows only
    wizard.partial.setChecked(True)
    assert wizard.import_button.isEnabled()
    wizard.import_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert wizard.summary.text() == "已导入 1 条，已存在跳过 0 条，错误 4 处"
    assert _runs(ui) == 1


def test_a_clean_file_imports_once(qtbot, ui):
    wizard = _wizard(qtbot, ui)
    done = []
    wizard.imported.connect(done.append)
    _preview(qtbot, wizard, FIXTURES / "regional_cases.xlsx")
    assert wizard.rows_model.rowCount() == 20 and wizard.errors_model.rowCount() == 0
    assert "可导入 20 条" in wizard.summary.text() and "内蒙古自治区人民医院" in wizard.summary.text()
    assert _runs(ui) == 0  # the preview wrote nothing
    wizard.import_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert [r.imported for r in done] == [20] and _runs(ui) == 20
    assert not wizard.import_button.isEnabled()
    _preview(qtbot, wizard, FIXTURES / "regional_cases.xlsx")
    assert "可导入 0 条，已存在将跳过 20 条" in wizard.summary.text()
    assert not wizard.import_button.isEnabled()


def test_equipment_and_unreadable_files(qtbot, ui, tmp_path):
    wizard = _wizard(qtbot, ui)
    wizard.kind.setCurrentIndex(wizard.kind.findData("equipment"))
    _preview(qtbot, wizard, FIXTURES / "regional_equipment.csv")
    assert wizard.rows_model.rowCount() == 9 and wizard.preview.kind == "equipment"
    (tmp_path / "x.xlsx").write_bytes(b"nonsense")
    _preview(qtbot, wizard, tmp_path / "x.xlsx")
    assert wizard.summary.text().startswith("无法读取文件")
    assert not wizard.import_button.isEnabled()
