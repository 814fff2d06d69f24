"""Every window and dialog fits a 1366×768 ward PC with its buttons on screen (issue 9.13).

The screen is simulated: ``fit.screen_area`` answers 1366×728 (768 less a 40 px task bar), as
Windows reports a 1366×768 screen. Every QDialog subclass in ``ecmo_desktop.ui`` is found by
walking the package, so a new dialog without a factory here fails the test until it is added.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QMessageBox, QWidget, QWizard

import ecmo_desktop.ui
from ecmo_desktop.domain.devices import EquipmentInput, ProductRequest
from ecmo_desktop.ui.records import case_records
from ecmo_desktop.ui.widgets import fit
from ecmo_desktop.ui.widgets.form import DISCARD_QUESTION
from tests.kit.documents import PRODUCTS, charted, label
from tests.kit.ui_records import open_case
from tests.ui.conftest import login_as, wait_tasks

WARD_AREA = QRect(0, 0, 1366, 728)
BUDGET = QSize(1366 - fit.FRAME.width(), 728 - fit.FRAME.height())


@pytest.fixture
def ward_screen(monkeypatch: pytest.MonkeyPatch) -> QRect:
    monkeypatch.setattr(fit, "screen_area", lambda widget=None: WARD_AREA)
    return WARD_AREA


def dialog_classes() -> list[type[QDialog]]:
    found: dict[str, type[QDialog]] = {}
    for module in pkgutil.walk_packages(ecmo_desktop.ui.__path__, "ecmo_desktop.ui."):
        loaded = importlib.import_module(module.name)
        for _name, obj in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(obj, QDialog) and obj.__module__ == loaded.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


def fits(size: QSize) -> bool:
    return size.width() <= BUDGET.width() and size.height() <= BUDGET.height()


def buttons_of(dialog: QDialog) -> list[QWidget]:
    """The buttons that close or advance the dialog: its button boxes', or a wizard's."""
    if isinstance(dialog, QWizard):
        kinds = (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.NextButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        )
        return [b for k in kinds if (b := dialog.button(k)) is not None and b.isVisible()]
    return [
        b
        for box in dialog.findChildren(QDialogButtonBox)
        if box.isVisible()
        for b in box.buttons()
        if b.isVisible()
    ]


def check_window(window: QWidget) -> list[str]:
    problems = []
    for what, size in (
        ("sizeHint", window.sizeHint()),
        ("minimumSizeHint", window.minimumSizeHint()),
        ("minimumSize", window.minimumSize()),
        ("size", window.size()),
    ):
        if not fits(size):
            problems.append(f"{what} {size.width()}×{size.height()} > {BUDGET.width()}×{BUDGET.height()}")
    if not WARD_AREA.contains(window.geometry()):
        problems.append(f"geometry {window.geometry()} is off the screen")
    return problems


@pytest.fixture
def env(qtbot: Any, ui: Any, seeded: Any, clock: Any) -> dict[str, Any]:
    """What the dialogs are opened with: a fully charted case (doctor logged in) and its records."""
    (case,) = charted(seeded, clock)
    c = seeded.container
    login_as(ui, qtbot, "admin")
    equipment = c.equipment.add_equipment(
        EquipmentInput(kind="console", model="Rotaflow", serial="FIT-CONSOLE-1")
    )
    login_as(ui, qtbot, "zhangwei")
    view = open_case(qtbot, ui, case.run_id)
    records = case_records(view)
    assert records is not None
    chart = c.records.chart(case.run_id)
    products = c.devices.list_products()
    staff = c.staff.list_staff()
    text = label(PRODUCTS["oxygenator"][2], lot="FIT-LOT-1", serial="FIT-SN-1")
    code, _product = c.devices.find_product_for_code(text)
    verdict = c.devices.bind_scan(case.run_id, text)
    clock.advance(timedelta(minutes=1))
    return {
        "ui": ui,
        "view": view,
        "case": records,
        "chart": chart,
        "products": products,
        "staff": staff,
        "run_id": case.run_id,
        "text": text,
        "code": code,
        "verdict": verdict,
        "equipment": equipment,
    }


def _record_factories() -> dict[str, Callable[[dict[str, Any]], QDialog]]:
    from ecmo_desktop.ui.records.cannulation_tab import ProcedureDialog
    from ecmo_desktop.ui.records.complications_tab import ComplicationDialog
    from ecmo_desktop.ui.records.daily_tab import DailyEntryDialog
    from ecmo_desktop.ui.records.decision_tab import ConsentDialog, DecisionDialog
    from ecmo_desktop.ui.records.followup_tab import FollowUpDialog
    from ecmo_desktop.ui.records.forms import RecordDialog
    from ecmo_desktop.ui.records.signing import HistoryDialog, SignDialog
    from ecmo_desktop.ui.records.weaning_tab import EndDialog, WeaningTrialDialog

    return {
        "records.cannulation_tab.ProcedureDialog": lambda e: ProcedureDialog(
            e["case"], "cannulation", e["view"]
        ),
        "records.complications_tab.ComplicationDialog": lambda e: ComplicationDialog(e["case"], e["view"]),
        "records.daily_tab.DailyEntryDialog": lambda e: DailyEntryDialog(
            e["case"], e["view"], record=e["chart"].daily_entries[0], amend=True
        ),
        "records.decision_tab.DecisionDialog": lambda e: DecisionDialog(e["case"], "start", e["view"]),
        "records.decision_tab.ConsentDialog": lambda e: ConsentDialog(e["case"], e["view"]),
        "records.followup_tab.FollowUpDialog": lambda e: FollowUpDialog(
            e["case"], e["chart"].follow_ups[0], e["view"]
        ),
        "records.forms.RecordDialog": lambda e: RecordDialog(e["case"], "—", e["view"]),
        "records.signing.SignDialog": lambda e: SignDialog(e["case"], e["chart"].daily_entries[0], e["view"]),
        "records.signing.HistoryDialog": lambda e: HistoryDialog(
            e["case"], e["chart"].daily_entries[0], e["view"]
        ),
        "records.weaning_tab.WeaningTrialDialog": lambda e: WeaningTrialDialog(e["case"], e["view"]),
        "records.weaning_tab.EndDialog": lambda e: EndDialog(e["case"], e["view"], amend=True),
    }


def _shell_factories() -> dict[str, Callable[[dict[str, Any]], QDialog]]:
    from ecmo_desktop.ui.admin import dialogs as admin
    from ecmo_desktop.ui.devices.common import ProductChooserDialog, ProductDialog, ReasonDialog
    from ecmo_desktop.ui.devices.equipment_tab import EquipmentDialog, LinkToRunDialog
    from ecmo_desktop.ui.devices.receiving_tab import MissingFieldsDialog, StartReceivingDialog
    from ecmo_desktop.ui.devices.requests import ProductRequestDialog
    from ecmo_desktop.ui.devices.run_devices_tab import LinkEquipmentDialog
    from ecmo_desktop.ui.devices.trace_tab import RecallDialog
    from ecmo_desktop.ui.devices.verdicts import ReceiveNowDialog
    from ecmo_desktop.ui.dialogs.first_run import FirstRunWizard
    from ecmo_desktop.ui.dialogs.login import LoginDialog
    from ecmo_desktop.ui.dialogs.new_run import NewRunDialog
    from ecmo_desktop.ui.dialogs.password import ChangePasswordDialog
    from ecmo_desktop.ui.dialogs.patient import PatientDialog
    from ecmo_desktop.ui.dialogs.workstation import WorkstationSettingsDialog
    from ecmo_desktop.ui.qc.import_wizard import ImportWizard
    from ecmo_desktop.ui.widgets.form import DialogBase, FormDialog

    def nothing(*_args: Any) -> None:
        return None

    return {
        "admin.dialogs.StaffDialog": lambda e: admin.StaffDialog(e["ui"], e["staff"][1]),
        "admin.dialogs.StaffReasonDialog": lambda e: admin.StaffReasonDialog(
            e["ui"], "停用", "说明原因", nothing
        ),
        "admin.dialogs.ResetPasswordDialog": lambda e: admin.ResetPasswordDialog(e["ui"], e["staff"][1]),
        "admin.dialogs.GrantPrivilegeDialog": lambda e: admin.GrantPrivilegeDialog(e["ui"], e["staff"][1]),
        "admin.dialogs.TrainingDialog": lambda e: admin.TrainingDialog(e["ui"], e["staff"][1]),
        "admin.dialogs.StaffChoiceDialog": lambda e: admin.StaffChoiceDialog(
            e["ui"], "添加", "选择", e["staff"], nothing
        ),
        "devices.common.ReasonDialog": lambda e: ReasonDialog(
            e["ui"], "作废", "说明原因", "原因", nothing, nothing
        ),
        "devices.common.ProductDialog": lambda e: ProductDialog(e["ui"], product=e["products"][0]),
        "devices.common.ProductChooserDialog": lambda e: ProductChooserDialog(
            e["ui"], e["products"], nothing
        ),
        "devices.equipment_tab.EquipmentDialog": lambda e: EquipmentDialog(e["ui"]),
        "devices.equipment_tab.LinkToRunDialog": lambda e: LinkToRunDialog(e["ui"], e["equipment"]),
        "devices.receiving_tab.StartReceivingDialog": lambda e: StartReceivingDialog(
            e["ui"], ["国药器械"], nothing
        ),
        "devices.receiving_tab.MissingFieldsDialog": lambda e: MissingFieldsDialog(
            e["ui"], e["code"], e["products"][0], 1, nothing
        ),
        "devices.run_devices_tab.LinkEquipmentDialog": lambda e: LinkEquipmentDialog(e["ui"], e["run_id"]),
        "devices.trace_tab.RecallDialog": lambda e: RecallDialog(
            e["ui"], "FIT-LOT-1", PRODUCTS["oxygenator"][2]
        ),
        "devices.verdicts.ReceiveNowDialog": lambda e: ReceiveNowDialog(
            e["ui"],
            e["run_id"],
            e["text"],
            e["verdict"],
            procedure_id=None,
            product_id=None,
            suppliers=["国药器械"],
            on_verdict=nothing,
        ),
        "devices.requests.ProductRequestDialog": lambda e: ProductRequestDialog(
            e["ui"],
            ProductRequest(
                id=1,
                device_identifier="06900000000994",
                raw_code="0106900000000994",
                run_id=e["run_id"],
                requested_by_id=1,
                requested_by_name="孙丽",
                requested_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
                status="open",
                resolved_by_id=None,
                resolved_at=None,
                resolution_note="",
                product_id=None,
            ),
            patient="ZY0001 王建国",
        ),
        "dialogs.workstation.WorkstationSettingsDialog": lambda e: WorkstationSettingsDialog(e["ui"]),
        "dialogs.first_run.FirstRunWizard": lambda e: FirstRunWizard(e["ui"]),
        "dialogs.login.LoginDialog": lambda e: LoginDialog(e["ui"]),
        "dialogs.new_run.NewRunDialog": lambda e: NewRunDialog(e["ui"]),
        "dialogs.password.ChangePasswordDialog": lambda e: ChangePasswordDialog(e["ui"]),
        "dialogs.patient.PatientDialog": lambda e: PatientDialog(e["ui"]),
        "qc.import_wizard.ImportWizard": lambda e: ImportWizard(e["ui"]),
        "widgets.form.DialogBase": lambda e: DialogBase(e["ui"], "—"),
        "widgets.form.FormDialog": lambda e: FormDialog(e["ui"], "—"),
    }


FACTORIES = {f"ecmo_desktop.ui.{k}": v for k, v in {**_record_factories(), **_shell_factories()}.items()}


def test_every_dialog_class_has_a_factory_here() -> None:
    names = {f"{c.__module__}.{c.__qualname__}" for c in dialog_classes()}
    assert names - FACTORIES.keys() == set(), "add a factory for each new dialog to FACTORIES"
    assert FACTORIES.keys() - names == set()


def test_every_dialog_fits_1366x768_with_its_buttons_on_screen(
    qtbot: Any, env: dict[str, Any], ward_screen: QRect
) -> None:
    problems: dict[str, list[str]] = {}
    for cls in dialog_classes():
        name = f"{cls.__module__}.{cls.__qualname__}"
        dialog = FACTORIES[name](env)
        qtbot.addWidget(dialog)
        dialog.show()
        wait_tasks(qtbot, env["ui"].tasks)  # dialogs that load lists lay out again when they arrive
        QApplication.processEvents()
        found = check_window(dialog)
        buttons = buttons_of(dialog)
        if not buttons:
            found.append("no visible button to close it")
        for button in buttons:
            if button.visibleRegion().boundingRect() != button.rect():
                found.append(f"button {button.text()!r} not fully visible")
        # nothing typed: Esc closes at once, without asking about unsaved input (issue 9.12)
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        if dialog.isVisible() or dialog.findChild(QMessageBox, DISCARD_QUESTION) is not None:
            found.append("Esc on the untouched dialog did not close it at once")
        if found:
            problems[name] = found
        dialog.hide()
    assert problems == {}


def test_the_case_window_and_main_window_fit_1366x768(
    qtbot: Any, env: dict[str, Any], ward_screen: QRect
) -> None:
    from ecmo_desktop.ui.case_view import CaseView
    from ecmo_desktop.ui.main_window import MainWindow

    ui = env["ui"]
    view = CaseView(ui, env["run_id"])
    qtbot.addWidget(view)
    view.show()
    wait_tasks(qtbot, ui.tasks)
    assert check_window(view) == []
    window = MainWindow(ui, ui.services.ctx.user)
    qtbot.addWidget(window)
    window.resize(1600, 1000)  # e.g. a geometry saved on a bigger screen
    window.show()
    wait_tasks(qtbot, ui.tasks)
    assert check_window(window) == []
