"""Registering a patient (住院号, name, sex, birth date, height, weight, ward, bed).

Numbers are passed to the service as typed, so its validation speaks (“abc”不是有效数字, 0 超出
允许范围 …) and the message appears next to the field; nothing typed is lost.
"""

from __future__ import annotations

import re
from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QWidget

from ecmo_desktop.domain.enums import Sex
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.domain.model import Patient
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.services.runs import PatientInput
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.drafts import Draft, DraftCapable
from ecmo_desktop.ui.widgets.form import FormDialog

_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def parse_date(text: str, field: str) -> date | None:
    """A typed date: 1960-05-12, 1960/5/12, 19600512 or 1960年5月12日; '' means unknown."""
    if not text.strip():
        return None
    m = _DATE.match(text) or _COMPACT.match(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    raise ValidationError(FieldError(field, N_("请按“年-月-日”填写，例如 1960-05-12")))


def choice_combo(choices: list[tuple[str, str]], placeholder: str | None = None) -> QComboBox:
    combo = QComboBox()
    if placeholder is not None:
        combo.addItem(placeholder, "")
    for value, label in choices:
        combo.addItem(label, value)
    return combo


def select_value(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


class PatientDialog(FormDialog, DraftCapable):
    draft_key = "register_patient"
    registered = Signal(object, bool)  # (Patient, open a new run next)

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("登记患者"), parent, ok_text=_("登记"))
        self.setObjectName("patient_dialog")
        self.patient: Patient | None = None
        self.mrn = self.add_field(N_("住院号"), QLineEdit())
        self.name = self.add_field(N_("姓名"), QLineEdit())
        self.sex = self.add_field(N_("性别"), choice_combo(Sex.choices(), _("请选择")))
        self.birth = self.add_field(N_("出生日期"), QLineEdit())
        self.birth.setPlaceholderText(_("年-月-日，例如 1960-05-12；不详可不填"))
        self.height_edit = self.add_field(N_("身高"), QLineEdit(), unit="cm")
        self.height_edit.setPlaceholderText(_("30–250，可不填"))
        self.weight = self.add_field(N_("体重"), QLineEdit(), unit="kg")
        self.weight.setPlaceholderText(_("0.5–300，可不填"))
        self.ward = self.add_field(N_("病区"), QLineEdit())
        self.bed = self.add_field(N_("床号"), QLineEdit())
        self._can_open_run = ui.can(Action.OPEN_RUN)
        self.then_new_run = QCheckBox(_("登记后新建 ECMO 病例"))
        self.then_new_run.setChecked(self._can_open_run)
        self.then_new_run.setVisible(self._can_open_run)
        self.form.addRow("", self.then_new_run)
        self.setMinimumWidth(460)
        self.mrn.setFocus()

    def on_submit(self) -> None:
        try:
            birth = parse_date(self.birth.text(), N_("出生日期"))
        except ValidationError as exc:
            self.show_failure(exc)
            return
        data = PatientInput(
            mrn=self.mrn.text(),
            name=self.name.text(),
            sex=str(self.sex.currentData() or ""),
            birth_date=birth,
            height_cm=self.height_edit.text(),
            weight_kg=self.weight.text(),
            ward=self.ward.text(),
            bed=self.bed.text(),
        )
        runs = self.ui.services.runs
        self.submit(lambda: runs.register_patient(data), self._registered, changes=(Change.patients(),))

    def _registered(self, patient: Patient) -> None:
        self.patient = patient
        self.accept()
        self.registered.emit(patient, self.then_new_run.isChecked() and self._can_open_run)

    def draft(self) -> Draft:
        return {
            "mrn": self.mrn.text(),
            "name": self.name.text(),
            "sex": self.sex.currentData() or "",
            "birth": self.birth.text(),
            "height": self.height_edit.text(),
            "weight": self.weight.text(),
            "ward": self.ward.text(),
            "bed": self.bed.text(),
            "then_new_run": self.then_new_run.isChecked(),
        }

    def restore_draft(self, data: Draft) -> None:
        edits: dict[str, QLineEdit] = {
            "mrn": self.mrn,
            "name": self.name,
            "birth": self.birth,
            "height": self.height_edit,
            "weight": self.weight,
            "ward": self.ward,
            "bed": self.bed,
        }
        for key, edit in edits.items():
            edit.setText(str(data.get(key, "")))
        select_value(self.sex, str(data.get("sex", "")))
        self.then_new_run.setChecked(bool(data.get("then_new_run")) and self._can_open_run)
