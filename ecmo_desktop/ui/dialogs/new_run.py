"""Opening a new ECMO run for a registered patient, found by 住院号 (or just registered)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from ecmo_desktop.domain.enums import Indication, Mode, Sex
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.domain.model import Patient, Run
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.runs import RunInput
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.dialogs.patient import choice_combo, select_value
from ecmo_desktop.ui.drafts import Draft, DraftCapable
from ecmo_desktop.ui.widgets.form import FormDialog


def patient_summary(patient: Patient, today: date) -> str:
    sex = Sex(patient.sex).label if patient.sex in Sex._value2member_map_ else patient.sex
    age = patient.age_on(today)
    parts = [patient.name, sex]
    if age is not None:
        parts.append(_("{n}岁").format(n=age))
    if patient.weight_kg:
        parts.append(f"{patient.weight_kg:g} kg")
    where = " ".join(p for p in (patient.ward, patient.bed) if p)
    if where:
        parts.append(where)
    return "  ".join(parts)


class NewRunDialog(FormDialog, DraftCapable):
    draft_key = "new_run"
    opened = Signal(object)  # Run

    def __init__(
        self, ui: UiContext, parent: QWidget | None = None, *, patient: Patient | None = None
    ) -> None:
        super().__init__(ui, _("新建 ECMO 病例"), parent, ok_text=_("新建病例"))
        self.setObjectName("new_run_dialog")
        self.patient = patient
        self.run: Run | None = None
        self.set_intro(_("新建后病例状态为“待上机”，随后记录上机决策与知情同意。"))
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        self.mrn = QLineEdit(patient.mrn if patient else "")
        self.find_button = QPushButton(_("查找"))
        self.find_button.setAutoDefault(False)
        line.addWidget(self.mrn, 1)
        line.addWidget(self.find_button)
        self.add_field(N_("住院号"), row)
        mrn_message = self.errors.label_for(N_("住院号"))
        assert mrn_message is not None  # add_field just bound it to the row
        self.errors.bind(N_("住院号"), self.mrn, mrn_message)
        self.patient_label = QLabel()
        self.patient_label.setWordWrap(True)
        self.form.addRow(_("患者"), self.patient_label)
        self.mode = self.add_field(N_("模式"), choice_combo(Mode.choices(), _("请选择")))
        self.indication = self.add_field(N_("适应证"), choice_combo(Indication.choices(), _("请选择")))
        self.indication_other = self.add_field(N_("其他适应证"), QLineEdit())
        self.ecpr = QCheckBox(_("ECPR（心肺复苏中上机）"))
        self.emergency = QCheckBox(_("紧急上机（先上机、后补知情同意，须在 12 小时内补签）"))
        self.form.addRow("", self.ecpr)
        self.form.addRow("", self.emergency)
        self.diagnosis = self.add_field(N_("诊断"), QPlainTextEdit())
        self.diagnosis.setTabChangesFocus(True)
        self.diagnosis.setFixedHeight(80)
        self.indication.currentIndexChanged.connect(self._indication_changed)
        self.find_button.clicked.connect(self.find_patient)
        self.mrn.returnPressed.connect(self.find_patient)
        if patient is not None:
            self.mrn.setReadOnly(True)
            self.find_button.setEnabled(False)
            self._show_patient(patient)
            self.mode.setFocus()
        else:
            self.patient_label.setText(_("请输入住院号后点“查找”"))
        self._indication_changed()
        self.setMinimumWidth(520)

    def _indication_changed(self) -> None:
        self.indication_other.setEnabled(self.indication.currentData() == Indication.OTHER.value)

    def _show_patient(self, patient: Patient | None) -> None:
        self.patient = patient
        if patient is None:
            self.patient_label.setText(_("未找到该住院号的患者，请先登记患者"))
        else:
            self.patient_label.setText(patient_summary(patient, self.ui.services.ctx.now().date()))

    def find_patient(self) -> None:
        mrn = self.mrn.text()
        runs = self.ui.services.runs
        self.errors.clear()
        self.ui.tasks.run_op(
            lambda: runs.find_patient(mrn), self._show_patient, self.show_failure, parent=self
        )

    def _input(self) -> RunInput:
        return RunInput(
            mode=str(self.mode.currentData() or ""),
            indication=str(self.indication.currentData() or ""),
            indication_other=self.indication_other.text() if self.indication_other.isEnabled() else "",
            ecpr=self.ecpr.isChecked(),
            emergency=self.emergency.isChecked(),
            diagnosis=self.diagnosis.toPlainText(),
        )

    def on_submit(self) -> None:
        data = self._input()
        runs = self.ui.services.runs
        known = self.patient
        mrn = self.mrn.text()

        def work() -> Run:
            patient = (
                known if known is not None and known.mrn == mrn.strip().upper() else runs.find_patient(mrn)
            )
            if patient is None:
                raise ValidationError(FieldError(N_("住院号"), N_("未找到该住院号的患者，请先登记患者")))
            return runs.open_run(patient.id, data)

        self.submit(work, self._opened, changes=(Change.runs(),))

    def _opened(self, run: Run) -> None:
        self.run = run
        self.accept()
        self.opened.emit(run)

    def draft(self) -> Draft:
        return {
            "mrn": self.mrn.text(),
            "mode": self.mode.currentData() or "",
            "indication": self.indication.currentData() or "",
            "indication_other": self.indication_other.text(),
            "ecpr": self.ecpr.isChecked(),
            "emergency": self.emergency.isChecked(),
            "diagnosis": self.diagnosis.toPlainText(),
        }

    def restore_draft(self, data: Draft) -> None:
        if self.patient is None:
            self.mrn.setText(str(data.get("mrn", "")))
        select_value(self.mode, str(data.get("mode", "")))
        select_value(self.indication, str(data.get("indication", "")))
        self.indication_other.setText(str(data.get("indication_other", "")))
        self.ecpr.setChecked(bool(data.get("ecpr")))
        self.emergency.setChecked(bool(data.get("emergency")))
        self.diagnosis.setPlainText(str(data.get("diagnosis", "")))
        if self.patient is None and self.mrn.text().strip():
            self.find_patient()
