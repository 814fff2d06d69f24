"""资质达标 (administration page): the hospital's standing against R11–R14.

R11 trained staff (≥3, ≥2 physicians), R12 the ECMO lead's title, R13 the expert group's size and
qualifications, and R14 per physician: months of ECMO training and how many cases they took part in
through the whole process (assessment, cannulation, management, weaning, follow-up). All of it is
computed by ``ComplianceService.hospital_status`` and re-read whenever staff or records change.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ecmo_desktop.domain.compliance import HospitalCompliance, TrainingStatus
from ecmo_desktop.domain.rules import TRAINING_MONTHS_MIN, WHOLE_PROCESS_CASES_MIN, RuleResult
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.changes import Change
from ecmo_desktop.ui.context import UiContext
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.display import (
    GREEN,
    RED,
    STATUS_COLOR,
    STATUS_TEXT,
    esc,
    number_text,
    title_text,
)
from ecmo_desktop.ui.widgets.headings import heading
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

RULE_TITLES = {
    "R11": N_("R11 培训合格人员（≥3 名，其中医师 ≥2 名）"),
    "R12": N_("R12 ECMO 技术负责人（副主任医师及以上）"),
    "R13": N_("R13 专家组（≥3 名，副高及以上且临床工作 ≥8 年）"),
}


def rule_line(result: RuleResult) -> str:
    colour = STATUS_COLOR.get(result.status, "#757575")
    return (
        f"<b>{esc(_(RULE_TITLES.get(result.rule, result.rule)))}</b>：<span style='color:{colour}'>"
        f"{esc(_(STATUS_TEXT.get(result.status, result.status)))}</span> — {esc(result.text())}"
    )


class StaffingPanel(QWidget):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.setObjectName("staffing_panel")
        self.status: HospitalCompliance | None = None
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        bar.addWidget(heading(_("医院 ECMO 技术资质（国家 ECMO 技术临床应用管理规范）")))
        bar.addStretch(1)
        refresh = QPushButton(_("刷新"))
        refresh.clicked.connect(self.reload)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        self.rules_label = QLabel(_("正在读取…"))
        self.rules_label.setObjectName("staffing_rules")
        self.rules_label.setWordWrap(True)
        layout.addWidget(self.rules_label)
        layout.addWidget(
            heading(
                _("R14 医师培训：培训 ≥{m} 个月、全程参与管理 ≥{n} 例、主治医师及以上").format(
                    m=TRAINING_MONTHS_MIN, n=WHOLE_PROCESS_CASES_MIN
                )
            )
        )
        self.training: ListTableModel[TrainingStatus] = ListTableModel(
            [
                Column(N_("医师"), lambda t: t.full_name),
                Column(N_("职称"), lambda t: title_text(t.title)),
                Column(
                    N_("培训月数"),
                    lambda t: number_text(t.months_trained),
                    foreground=lambda t: RED if t.months_trained < TRAINING_MONTHS_MIN else None,
                ),
                Column(
                    N_("全程参与例数"),
                    lambda t: str(t.whole_process_cases),
                    foreground=lambda t: RED if t.whole_process_cases < WHOLE_PROCESS_CASES_MIN else None,
                ),
                Column(
                    N_("结果"),
                    lambda t: _(STATUS_TEXT.get(t.result.status, t.result.status)),
                    foreground=lambda t: GREEN if t.result.passed else RED,
                ),
                Column(N_("说明"), lambda t: t.result.text(), tooltip=lambda t: t.result.text()),
            ],
            key=lambda t: t.staff_id,
            parent=self,
        )
        self.table = make_table(self.training)
        self.table.setObjectName("training_table")
        set_column_widths(self.table, [10, 12, 8, 11, 7])
        layout.addWidget(self.table, 1)
        note = QLabel(_("全程参与：同一病例中参与了上机前评估（决策）、置管、日常管理、撤机和随访。"))
        note.setStyleSheet("color: #555;")
        note.setWordWrap(True)
        layout.addWidget(note)
        ui.tasks.changed.connect(self._changed)
        self.reload()

    def _changed(self, changes: frozenset[Change]) -> None:
        if changes & {Change.staff(), Change.hospital(), Change.records()}:
            self.reload()

    def reload(self) -> None:
        compliance = self.ui.services.compliance
        self.ui.tasks.run_op(compliance.hospital_status, self._loaded, parent=self)

    def _loaded(self, status: HospitalCompliance) -> None:
        self.status = status
        self.rules_label.setText(
            "<br>".join(rule_line(r) for r in (status.staffing, status.lead, status.expert_group))
        )
        self.training.set_rows(status.training)
