"""知情同意 (R4): who explained, who signed on paper, their relationship, when (or the refusal)."""

from __future__ import annotations

from ecmo_desktop.domain.record_inputs import ConsentValues, Stamp, consent_values
from ecmo_desktop.domain.records import Consent, ConsentInput
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_core import RecordCore


class ConsentRecords(RecordCore):
    def _clean_consent(self, uow: UnitOfWork, data: ConsentInput) -> ConsentValues:
        return consent_values(data, now=self.ctx.now(), staff=uow.staff)

    @requires(Action.CHART_DOCTOR)
    def record_consent(self, run_id: int, data: ConsentInput) -> Consent:
        """知情同意 (or its refusal): who explained, who signed, their relationship, when."""
        return self._create(
            Consent,
            run_id,
            lambda uow, run: self._clean_consent(uow, data),
            lambda uow, stamp, values: uow.records.add_consent(run_id, stamp, values),
        )

    @requires(Action.CHART_DOCTOR)
    def update_consent(self, consent_id: int, data: ConsentInput, *, expected_version: int) -> Consent:
        return self._edit(
            Consent,
            consent_id,
            expected_version,
            None,
            lambda uow, run, rec: self._clean_consent(uow, data),
            _save,
        )

    @requires(Action.CHART_DOCTOR)
    def amend_consent(
        self, consent_id: int, data: ConsentInput, *, reason: str, expected_version: int | None = None
    ) -> Consent:
        return self._edit(
            Consent,
            consent_id,
            expected_version,
            reason,
            lambda uow, run, rec: self._clean_consent(uow, data),
            _save,
        )


def _save(uow: UnitOfWork, rec: Consent, stamp: Stamp, values: ConsentValues) -> Consent:
    return uow.records.update_consent(rec.id, expected_version=rec.version, stamp=stamp, values=values)
