"""Procedures (R3): cannulation (first flow starts ECMO; R1/R2/R4 must be met before it), circuit
change, mode change and decannulation, each with its people and cannulae."""

from __future__ import annotations

from ecmo_desktop.domain.compliance import primary_start
from ecmo_desktop.domain.enums import ProcedureKind, RunStatus
from ecmo_desktop.domain.errors import FieldError, RuleViolation, ValidationError
from ecmo_desktop.domain.model import Run
from ecmo_desktop.domain.record_inputs import ProcedureValues, Stamp, procedure_values
from ecmo_desktop.domain.records import Consent, Decision, Procedure, ProcedureInput, canonical_content
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_core import RecordCore, of_run


class ProcedureRecords(RecordCore):
    def _clean_procedure(
        self, uow: UnitOfWork, run: Run, kind: str, data: ProcedureInput, record: Procedure | None
    ) -> ProcedureValues:
        return procedure_values(data, kind, run=run, now=self.ctx.now(), staff=uow.staff, record=record)

    def _record_procedure(self, run_id: int, kind: str, data: ProcedureInput) -> Procedure:
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> Procedure:
            run = uow.runs.get(run_id)
            if kind == ProcedureKind.CANNULATION.value:
                if run.status != RunStatus.PLANNED.value:
                    raise ValidationError(
                        FieldError(N_("置管上机"), N_("本病例已上机或已结束，不能再次记录置管上机"))
                    )
            elif run.status != RunStatus.ON_ECMO.value:
                raise ValidationError(FieldError(N_("操作"), N_("本病例当前不在 ECMO 运行中")))
            values = self._clean_procedure(uow, run, kind, data, None)
            if kind == ProcedureKind.CANNULATION.value:
                self._check_start_allowed(uow, run, values)
            rec = uow.records.add_procedure(run_id, Stamp(self.ctx.now(), user.id), values)
            if kind == ProcedureKind.CANNULATION.value:
                uow.runs.update(run_id, expected_version=run.version, status=RunStatus.ON_ECMO.value)
            self._sync_run(uow, run_id)
            self._audit(
                uow,
                "create",
                rec.entity,
                rec.id,
                after=canonical_content(rec),
                run_id=run_id,
                patient_id=run.patient_id,
            )
            uow.commit()
            return rec

        return self._transact(work)

    @staticmethod
    def _check_start_allowed(uow: UnitOfWork, run: Run, values: ProcedureValues) -> None:
        """Before first flow: a start decision exists (R1/R2) and consent is given (R4)."""
        start = primary_start(of_run(uow, Decision, run.id))
        if start is None:
            raise RuleViolation(
                "R1", N_("请先记录上机决策（非紧急：多学科共同决策；紧急：专家组副主任医师及以上决定）")
            )
        consents = of_run(uow, Consent, run.id)
        given = [c for c in consents if not c.refused]
        if consents and not given:
            raise RuleViolation("R4", N_("患者或家属已拒绝 ECMO 治疗，不能上机"))
        if start.emergency:
            return
        if not given:
            raise RuleViolation("R4", N_("非紧急上机前须签署知情同意书"))
        if min(c.signed_on_paper_at for c in given) > values.started_at:
            raise RuleViolation("R4", N_("知情同意签署时间晚于置管开始时间；非紧急上机须先签署知情同意"))

    @requires(Action.CHART_DOCTOR)
    def record_cannulation(self, run_id: int, data: ProcedureInput) -> Procedure:
        """置管上机: first flow starts ECMO (run → on ECMO; day 0; R2's 12-hour clock)."""
        return self._record_procedure(run_id, ProcedureKind.CANNULATION.value, data)

    @requires(Action.CHART_DOCTOR)
    def record_circuit_change(self, run_id: int, data: ProcedureInput) -> Procedure:
        """更换管路/氧合器, with its reason."""
        return self._record_procedure(run_id, ProcedureKind.CIRCUIT_CHANGE.value, data)

    @requires(Action.CHART_DOCTOR)
    def record_mode_change(self, run_id: int, data: ProcedureInput) -> Procedure:
        """模式转换: the run's mode becomes ``mode_after``; the timeline keeps the earlier modes."""
        return self._record_procedure(run_id, ProcedureKind.MODE_CHANGE.value, data)

    @requires(Action.CHART_DOCTOR)
    def record_decannulation(self, run_id: int, data: ProcedureInput) -> Procedure:
        """撤机拔管 (the end of support is recorded with ``end_ecmo``)."""
        return self._record_procedure(run_id, ProcedureKind.DECANNULATION.value, data)

    @requires(Action.CHART_DOCTOR)
    def update_procedure(
        self, procedure_id: int, data: ProcedureInput, *, expected_version: int
    ) -> Procedure:
        return self._edit(
            Procedure,
            procedure_id,
            expected_version,
            None,
            lambda uow, run, rec: self._clean_procedure(uow, run, rec.kind, data, rec),
            _save,
        )

    @requires(Action.CHART_DOCTOR)
    def amend_procedure(
        self, procedure_id: int, data: ProcedureInput, *, reason: str, expected_version: int | None = None
    ) -> Procedure:
        return self._edit(
            Procedure,
            procedure_id,
            expected_version,
            reason,
            lambda uow, run, rec: self._clean_procedure(uow, run, rec.kind, data, rec),
            _save,
        )


def _save(uow: UnitOfWork, rec: Procedure, stamp: Stamp, values: ProcedureValues) -> Procedure:
    return uow.records.update_procedure(rec.id, expected_version=rec.version, stamp=stamp, values=values)
