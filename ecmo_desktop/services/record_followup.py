"""Follow-up results (discharge, day 28, 6 and 12 months): a death recorded at one closes the later ones
and fixes the run's outcome facts; a discharge dates the patient's discharge."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from ecmo_desktop.domain.enums import DischargeDisposition, FollowUpKind, FollowUpStatus, VitalStatus
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.domain.model import Run
from ecmo_desktop.domain.record_inputs import FollowUpValues, Stamp, follow_up_values
from ecmo_desktop.domain.records import (
    AUTO_CLOSED_NOTE,
    ContactMethod,
    FollowUp,
    FollowUpInput,
    canonical_content,
)
from ecmo_desktop.domain.time import BEIJING, local_date
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.base import diff
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_core import RecordCore, of_run


class FollowUpRecords(RecordCore):
    def _clean_follow_up(
        self, uow: UnitOfWork, run: Run, rec: FollowUp, data: FollowUpInput
    ) -> FollowUpValues:
        return follow_up_values(
            data, run=run, rec=rec, now=self.ctx.now(), follow_ups=of_run(uow, FollowUp, run.id)
        )

    def _after_follow_up(self, uow: UnitOfWork, run: Run, before: FollowUp, rec: FollowUp) -> None:
        """Keep the rest consistent: later follow-ups of a patient who died, and the run's outcome facts."""
        user = self.ctx.require_user()
        now = self.ctx.now()
        changes: dict[str, Any] = {}
        start = local_date(run.started_at) if run.started_at else None
        if rec.vital_status == VitalStatus.DEAD.value and rec.date_of_death is not None:
            for other in of_run(uow, FollowUp, run.id):
                if other.id == rec.id:
                    continue
                if (
                    other.vital_status == VitalStatus.ALIVE.value
                    and other.done_at is not None
                    and local_date(other.done_at) > rec.date_of_death
                ):
                    raise ValidationError(
                        FieldError(
                            N_("死亡日期"),
                            N_("与{kind}随访记录的存活状态矛盾"),
                            {"kind": FollowUpKind(other.kind).label},
                        )
                    )
                if other.fu_status == FollowUpStatus.DUE.value and other.due_date >= rec.date_of_death:
                    values = replace(
                        FollowUpValues.of(other),
                        fu_status=FollowUpStatus.DONE.value,
                        done_at=rec.done_at or now,
                        vital_status=VitalStatus.DEAD.value,
                        date_of_death=rec.date_of_death,
                        cause_of_death=rec.cause_of_death,
                        contact_method=ContactMethod.RECORDS.value,
                        notes=AUTO_CLOSED_NOTE,
                        discharge_disposition=DischargeDisposition.DIED.value
                        if other.kind == FollowUpKind.DISCHARGE.value
                        else None,
                    )
                    closed = uow.records.update_follow_up(
                        other.id,
                        expected_version=other.version,
                        stamp=Stamp(now, user.id),
                        values=values,
                        reopen=False,
                    )
                    old_fu, new_fu = diff(canonical_content(other), canonical_content(closed))
                    self._audit(
                        uow,
                        "update",
                        closed.entity,
                        other.id,
                        before=old_fu,
                        after=new_fu,
                        run_id=run.id,
                        patient_id=run.patient_id,
                        reason="death recorded at follow-up",
                    )
            changes["date_of_death"] = datetime.combine(rec.date_of_death, time(0), BEIJING)
            if start is not None:
                changes["survived_28d"] = rec.date_of_death > start + timedelta(days=28)
        elif rec.vital_status == VitalStatus.ALIVE.value and rec.kind == FollowUpKind.D28.value:
            changes["survived_28d"] = True
        if rec.kind == FollowUpKind.DISCHARGE.value and rec.fu_status == FollowUpStatus.DONE.value:
            disposition = rec.discharge_disposition
            changes["discharged_alive"] = (
                False
                if disposition == DischargeDisposition.DIED.value
                else None
                if disposition
                in (DischargeDisposition.AGAINST_ADVICE.value, DischargeDisposition.UNKNOWN.value)
                else True
            )
            if rec.done_at is not None:
                discharge: dict[str, Any] = {
                    "discharged_at": rec.done_at,
                    "discharge_disposition": disposition,
                }
                uow.patients.update(run.patient_id, **discharge)
                self._audit(
                    uow,
                    "update",
                    "patient",
                    run.patient_id,
                    after=discharge,
                    run_id=run.id,
                    patient_id=run.patient_id,
                    reason="discharge follow-up",
                )
        if changes:
            uow.runs.update(run.id, **changes)
            self._audit(
                uow,
                "update",
                "ecmo_run",
                run.id,
                after=changes,
                run_id=run.id,
                patient_id=run.patient_id,
                reason="follow-up outcome",
            )

    @requires(Action.CHART_DOCTOR)
    def record_follow_up(
        self, follow_up_id: int, data: FollowUpInput, *, expected_version: int | None = None
    ) -> FollowUp:
        """The result of a scheduled follow-up; a death closes later ones as dead too."""
        return self._edit(
            FollowUp,
            follow_up_id,
            expected_version,
            None,
            lambda uow, run, rec: self._clean_follow_up(uow, run, rec, data),
            _save,
            after=self._after_follow_up,
        )

    @requires(Action.CHART_DOCTOR)
    def amend_follow_up(
        self, follow_up_id: int, data: FollowUpInput, *, reason: str, expected_version: int | None = None
    ) -> FollowUp:
        return self._edit(
            FollowUp,
            follow_up_id,
            expected_version,
            reason,
            lambda uow, run, rec: self._clean_follow_up(uow, run, rec, data),
            _save,
            after=self._after_follow_up,
        )


def _save(uow: UnitOfWork, rec: FollowUp, stamp: Stamp, values: FollowUpValues) -> FollowUp:
    return uow.records.update_follow_up(rec.id, expected_version=rec.version, stamp=stamp, values=values)
