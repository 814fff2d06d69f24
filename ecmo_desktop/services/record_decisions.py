"""上机/撤机决策 (R1/R2): recorded as drafts, checked against R1/R2 when signed (``record_signing.py``)."""

from __future__ import annotations

from ecmo_desktop.domain.model import Run
from ecmo_desktop.domain.record_inputs import DecisionValues, Stamp, decision_values
from ecmo_desktop.domain.records import Decision, DecisionInput
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_core import RecordCore, find, of_run


class DecisionRecords(RecordCore):
    def _clean_decision(
        self, uow: UnitOfWork, run: Run, data: DecisionInput, record_id: int | None
    ) -> DecisionValues:
        return decision_values(
            data,
            run=run,
            now=self.ctx.now(),
            staff=uow.staff,
            decisions=of_run(uow, Decision, run.id),
            supplement_target=find(uow, Decision, data.supplement_of_id),
            record_id=record_id,
        )

    @requires(Action.CHART_DOCTOR)
    def record_decision(self, run_id: int, data: DecisionInput) -> Decision:
        """上机/撤机决策 (draft; R1/R2 are enforced when it is signed)."""
        return self._create(
            Decision,
            run_id,
            lambda uow, run: self._clean_decision(uow, run, data, None),
            lambda uow, stamp, values: uow.records.add_decision(run_id, stamp, values),
            sync=True,
        )

    @requires(Action.CHART_DOCTOR)
    def update_decision(self, decision_id: int, data: DecisionInput, *, expected_version: int) -> Decision:
        """Edit a draft decision (a signed one needs ``amend_decision``)."""
        return self._edit(
            Decision,
            decision_id,
            expected_version,
            None,
            lambda uow, run, rec: self._clean_decision(uow, run, data, rec.id),
            _save,
        )

    @requires(Action.CHART_DOCTOR)
    def amend_decision(
        self, decision_id: int, data: DecisionInput, *, reason: str, expected_version: int | None = None
    ) -> Decision:
        """Correct a decision: old content kept, signature superseded, back to draft (SIG-3)."""
        return self._edit(
            Decision,
            decision_id,
            expected_version,
            reason,
            lambda uow, run, rec: self._clean_decision(uow, run, data, rec.id),
            _save,
        )


def _save(uow: UnitOfWork, rec: Decision, stamp: Stamp, values: DecisionValues) -> Decision:
    return uow.records.update_decision(rec.id, expected_version=rec.version, stamp=stamp, values=values)
