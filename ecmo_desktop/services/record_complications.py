"""Complications (R9): coded, with onset and outcome; adverse events are flagged for QC."""

from __future__ import annotations

from ecmo_desktop.domain.model import Run
from ecmo_desktop.domain.record_inputs import ComplicationValues, Stamp, complication_values
from ecmo_desktop.domain.records import Complication, ComplicationInput, Procedure
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_core import RecordCore, find


class ComplicationRecords(RecordCore):
    def _clean_complication(self, uow: UnitOfWork, run: Run, data: ComplicationInput) -> ComplicationValues:
        return complication_values(
            data, run=run, now=self.ctx.now(), procedure=find(uow, Procedure, data.procedure_id)
        )

    @requires(Action.CHART_DOCTOR)
    def record_complication(self, run_id: int, data: ComplicationInput) -> Complication:
        """A coded complication; adverse events are flagged for QC (R9)."""
        return self._create(
            Complication,
            run_id,
            lambda uow, run: self._clean_complication(uow, run, data),
            lambda uow, stamp, values: uow.records.add_complication(run_id, stamp, values),
        )

    @requires(Action.CHART_DOCTOR)
    def update_complication(
        self, complication_id: int, data: ComplicationInput, *, expected_version: int
    ) -> Complication:
        return self._edit(
            Complication,
            complication_id,
            expected_version,
            None,
            lambda uow, run, rec: self._clean_complication(uow, run, data),
            _save,
        )

    @requires(Action.CHART_DOCTOR)
    def amend_complication(
        self,
        complication_id: int,
        data: ComplicationInput,
        *,
        reason: str,
        expected_version: int | None = None,
    ) -> Complication:
        return self._edit(
            Complication,
            complication_id,
            expected_version,
            reason,
            lambda uow, run, rec: self._clean_complication(uow, run, data),
            _save,
        )


def _save(uow: UnitOfWork, rec: Complication, stamp: Stamp, values: ComplicationValues) -> Complication:
    return uow.records.update_complication(rec.id, expected_version=rec.version, stamp=stamp, values=values)
