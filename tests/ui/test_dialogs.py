"""Patient registration and new-run dialogs: messages beside the field, nothing typed lost."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from ecmo_desktop.domain.enums import Indication, Mode
from ecmo_desktop.services.runs import PatientInput
from ecmo_desktop.ui.dialogs.new_run import NewRunDialog
from ecmo_desktop.ui.dialogs.patient import PatientDialog, parse_date
from ecmo_desktop.ui.widgets.form import DISCARD_QUESTION
from tests.ui.conftest import login_as, wait_tasks


def _registration(qtbot, ui) -> PatientDialog:
    dialog = PatientDialog(ui)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.mrn.setText("ZY20260001")
    dialog.name.setText("张三")
    dialog.sex.setCurrentIndex(dialog.sex.findData("M"))
    dialog.birth.setText("1960-05-12")
    dialog.height_edit.setText("172")
    dialog.ward.setText("EICU")
    dialog.bed.setText("7")
    return dialog


def _kept(dialog: PatientDialog) -> tuple[str, ...]:
    return (
        dialog.mrn.text(),
        dialog.name.text(),
        str(dialog.sex.currentData()),
        dialog.birth.text(),
        dialog.height_edit.text(),
        dialog.ward.text(),
        dialog.bed.text(),
    )


KEPT = ("ZY20260001", "张三", "M", "1960-05-12", "172", "EICU", "7")


def test_weight_zero_and_abc_are_refused_beside_the_weight_field(qtbot, ui, error_sink) -> None:
    login_as(ui, qtbot, "chenjing")
    dialog = _registration(qtbot, ui)
    weight_message = dialog.errors.label_for("体重")
    assert weight_message is not None

    dialog.weight.setText("0")
    qtbot.keyClick(dialog.weight, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert weight_message.text() == "0 超出允许范围 0.5–300 kg"
    assert weight_message.isVisible() and dialog.isVisible()
    assert _kept(dialog) == KEPT

    dialog.weight.setText("abc")
    qtbot.keyClick(dialog.weight, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert weight_message.text() == "“abc”不是有效数字"
    assert _kept(dialog) == KEPT
    assert dialog.errors.label_for("身高").isHidden()
    assert error_sink.errors == []  # validation never reaches the global error box

    qtbot.keyClicks(dialog.weight, "x")  # editing the field clears its message
    assert weight_message.isHidden()

    dialog.weight.setText("72.5")
    with qtbot.waitSignal(dialog.registered) as signal:
        qtbot.keyClick(dialog.weight, Qt.Key.Key_Return)
    patient = signal.args[0]
    assert (patient.mrn, patient.name, patient.weight_kg, patient.birth_date.isoformat()) == (
        "ZY20260001",
        "张三",
        72.5,
        "1960-05-12",
    )
    assert signal.args[1] is False  # a nurse cannot open runs, so no new-run dialog follows
    assert not dialog.isVisible()


def test_several_errors_each_beside_its_field(qtbot, ui) -> None:
    login_as(ui, qtbot, "chenjing")
    dialog = PatientDialog(ui)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.mrn.setText("ZY 1")
    dialog.height_edit.setText("3,5")
    qtbot.keyClick(dialog.mrn, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("住院号").text() == "只能包含字母、数字和“-”，最长 40 位"
    assert dialog.errors.label_for("姓名").text() == "必填"
    assert dialog.errors.label_for("性别").text() == "请选择"
    assert dialog.errors.label_for("身高").text() == "请使用小数点“.”，不要用逗号"


def test_birth_date_formats_and_refusals(qtbot, ui) -> None:
    assert parse_date("1960年5月12日", "出生日期").isoformat() == "1960-05-12"
    assert parse_date("19600512", "出生日期").isoformat() == "1960-05-12"
    assert parse_date("  ", "出生日期") is None
    login_as(ui, qtbot, "chenjing")
    dialog = _registration(qtbot, ui)
    dialog.birth.setText("1960-02-30")
    qtbot.keyClick(dialog.birth, Qt.Key.Key_Return)
    assert dialog.errors.label_for("出生日期").text() == "请按“年-月-日”填写，例如 1960-05-12"
    dialog.birth.setText("2030-01-01")
    qtbot.keyClick(dialog.birth, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("出生日期").text() == "不能晚于今天"


def test_duplicate_mrn_is_named_beside_the_mrn(qtbot, ui) -> None:
    login_as(ui, qtbot, "chenjing")
    ui.services.runs.register_patient(PatientInput(mrn="ZY20260001", name="李四", sex="F"))
    dialog = _registration(qtbot, ui)
    qtbot.keyClick(dialog.mrn, Qt.Key.Key_Return)
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("住院号").text() == "住院号 ZY20260001 已登记"


def test_escape_cancels_the_registration(qtbot, ui) -> None:
    login_as(ui, qtbot, "chenjing")
    dialog = _registration(qtbot, ui)
    qtbot.keyClick(dialog.name, Qt.Key.Key_Escape)  # typed but unsaved: asked first (issue 9.12)
    qtbot.waitUntil(lambda: dialog.findChild(QMessageBox, DISCARD_QUESTION) is not None)
    box = dialog.findChild(QMessageBox, DISCARD_QUESTION)
    with qtbot.waitSignal(dialog.rejected):
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Discard), Qt.MouseButton.LeftButton)
    wait_tasks(qtbot, ui.tasks)
    assert ui.services.runs.find_patient("ZY20260001") is None


def test_new_run_for_a_patient_found_by_mrn(qtbot, ui, error_sink) -> None:
    login_as(ui, qtbot, "liuyang")
    ui.services.runs.register_patient(
        PatientInput(mrn="ZY20260002", name="王五", sex="M", weight_kg="80", ward="CCU", bed="3")
    )
    dialog = NewRunDialog(ui)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.mrn.setText("zy20260002")
    qtbot.keyClick(dialog.mrn, Qt.Key.Key_Return)  # Enter in the MRN field looks the patient up
    wait_tasks(qtbot, ui.tasks)
    assert dialog.isVisible()
    assert dialog.patient is not None and "王五" in dialog.patient_label.text()
    assert "80 kg" in dialog.patient_label.text()

    dialog.ok_button.click()  # nothing chosen yet
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("模式").text() == "请选择"
    assert dialog.errors.label_for("适应证").text() == "请选择"

    dialog.mode.setCurrentIndex(dialog.mode.findData(Mode.VA.value))
    dialog.indication.setCurrentIndex(dialog.indication.findData(Indication.OTHER.value))
    assert dialog.indication_other.isEnabled()
    dialog.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("其他适应证").text() == "必填"

    dialog.indication_other.setText("羊水栓塞")
    dialog.ecpr.setChecked(True)
    dialog.diagnosis.setPlainText("心源性休克")
    with qtbot.waitSignal(dialog.opened) as signal:
        dialog.ok_button.click()
    run = signal.args[0]
    assert (run.mode, run.indication, run.indication_other, run.ecpr, run.status, run.ward) == (
        "VA",
        "other",
        "羊水栓塞",
        True,
        "planned",
        "CCU",
    )
    assert error_sink.errors == []


def test_new_run_for_an_unknown_mrn_says_register_first(qtbot, ui) -> None:
    login_as(ui, qtbot, "liuyang")
    dialog = NewRunDialog(ui)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.mrn.setText("ZY404")
    dialog.mode.setCurrentIndex(1)
    dialog.indication.setCurrentIndex(1)
    dialog.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert dialog.errors.label_for("住院号").text() == "未找到该住院号的患者，请先登记患者"
    assert dialog.mode.currentIndex() == 1


def test_second_active_run_is_refused_with_the_run_number(qtbot, ui) -> None:
    login_as(ui, qtbot, "liuyang")
    patient = ui.services.runs.register_patient(PatientInput(mrn="ZY7", name="赵六", sex="F"))
    dialog = NewRunDialog(ui, patient=patient)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.mrn.isReadOnly()
    dialog.mode.setCurrentIndex(dialog.mode.findData("VV"))
    dialog.indication.setCurrentIndex(dialog.indication.findData("ards"))
    with qtbot.waitSignal(dialog.opened):
        dialog.ok_button.click()
    again = NewRunDialog(ui, patient=patient)
    qtbot.addWidget(again)
    again.show()
    again.mode.setCurrentIndex(again.mode.findData("VV"))
    again.indication.setCurrentIndex(again.indication.findData("ards"))
    again.ok_button.click()
    wait_tasks(qtbot, ui.tasks)
    assert "已有进行中的 ECMO 病例（第 1 次）" in again.general_error.text()
