"""Weaning trials and the end of support (撤机结局), which creates the run's follow-up schedule (R9)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ecmo_desktop.domain.compliance import follow_up_schedule
from ecmo_desktop.domain.enums import (
    DischargeDisposition,
    EndReason,
    FollowUpKind,
    FollowUpStatus,
    ProcedureKind,
    RecordStatus,
    RunStatus,
    VitalStatus,
)
from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.domain.model import Run
from ecmo_desktop.domain.record_inputs import (
    NOTES_MAX,
    FollowUpValues,
    Stamp,
    WeaningValues,
    check_end,
    end_values,
    weaning_values,
)
from ecmo_desktop.domain.records import (
    AUTO_CLOSED_NOTE,
    ContactMethod,
    EndInput,
    FollowUp,
    Procedure,
    WeaningTrial,
    WeaningTrialInput,
    canonical_content,
)
from ecmo_desktop.domain.rules import survived_day_28
from ecmo_desktop.domain.time import local_date
from ecmo_desktop.domain.validation import clean_text
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.base import diff
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_core import RecordCore, of_run

# a follow-up of the schedule, not yet done
_DUE = FollowUpValues(
    fu_status=FollowUpStatus.DUE.value,
    done_at=None,
    contact_method=None,
    vital_status=None,
    date_of_death=None,
    cause_of_death=None,
    discharge_disposition=None,
    cpc=None,
    mrs=None,
    eq5d_index=None,
    notes="",
)


def _closed_by_death(base: FollowUpValues, kind: str, ended: datetime) -> FollowUpValues:
    """A follow-up closed at once because the patient died on ECMO (nobody is asked to telephone)."""
    return replace(
        base,
        fu_status=FollowUpStatus.DONE.value,
        done_at=ended,
        vital_status=VitalStatus.DEAD.value,
        date_of_death=local_date(ended),
        contact_method=ContactMethod.RECORDS.value,
        notes=AUTO_CLOSED_NOTE,
        discharge_disposition=DischargeDisposition.DIED.value
        if kind == FollowUpKind.DISCHARGE.value
        else None,
    )


class WeaningRecords(RecordCore):
    def _clean_trial(self, run: Run, data: WeaningTrialInput) -> WeaningValues:
        return weaning_values(data, run=run, now=self.ctx.now())

    @requires(Action.CHART_DOCTOR)
    def record_weaning_trial(self, run_id: int, data: WeaningTrialInput) -> WeaningTrial:
        return self._create(
            WeaningTrial,
            run_id,
            lambda uow, run: self._clean_trial(run, data),
            lambda uow, stamp, values: uow.records.add_weaning_trial(run_id, stamp, values),
        )

    @requires(Action.CHART_DOCTOR)
    def update_weaning_trial(
        self, trial_id: int, data: WeaningTrialInput, *, expected_version: int
    ) -> WeaningTrial:
        return self._edit(
            WeaningTrial,
            trial_id,
            expected_version,
            None,
            lambda uow, run, rec: self._clean_trial(run, data),
            _save,
        )

    @requires(Action.CHART_DOCTOR)
    def amend_weaning_trial(
        self, trial_id: int, data: WeaningTrialInput, *, reason: str, expected_version: int | None = None
    ) -> WeaningTrial:
        return self._edit(
            WeaningTrial,
            trial_id,
            expected_version,
            reason,
            lambda uow, run, rec: self._clean_trial(run, data),
            _save,
        )

    @requires(Action.CHART_DOCTOR)
    def end_ecmo(self, run_id: int, data: EndInput) -> Run:
        """End of support (撤机结局): the run ends and its follow-up schedule is created (R9).

        A death on ECMO closes every follow-up as dead at once, so the schedule never asks a ward
        to telephone about a patient who died in the unit.
        """
        user = self.ctx.require_user()
        now = self.ctx.now()
        end = end_values(data, now=now)
        ended, reason = end.ended_at, end.reason

        def work(uow: UnitOfWork) -> Run:
            run = uow.runs.get(run_id)
            if run.status != RunStatus.ON_ECMO.value or run.started_at is None:
                raise ValidationError(FieldError(N_("撤机结局"), N_("本病例当前不在 ECMO 运行中")))
            check_end(end, started_at=run.started_at, decannulations=_decannulations(uow, run_id))
            changes: dict[str, Any] = {
                "status": RunStatus.ENDED.value,
                "ended_at": ended,
                "end_reason": reason,
            }
            died = reason == EndReason.DIED.value
            if died:
                changes.update(
                    date_of_death=ended,
                    discharged_alive=False,
                    survived_28d=survived_day_28(run.started_at, ended),
                )
            after = uow.runs.update(run_id, expected_version=run.version, **changes)
            for kind, due in follow_up_schedule(run.started_at, ended):
                values = _closed_by_death(_DUE, kind, ended) if died else _DUE
                fu = uow.records.add_follow_up(
                    run_id, Stamp(now, user.id), kind=kind, due_date=due, values=values
                )
                self._audit(
                    uow,
                    "create",
                    fu.entity,
                    fu.id,
                    after=canonical_content(fu),
                    run_id=run_id,
                    patient_id=run.patient_id,
                    reason="follow-up schedule",
                )
            self._audit(
                uow,
                "end_ecmo",
                "ecmo_run",
                run_id,
                before={"status": run.status},
                after=changes,
                run_id=run_id,
                patient_id=run.patient_id,
                reason=end.notes or None,
            )
            uow.commit()
            return after

        return self._transact(work)

    @requires(Action.CHART_DOCTOR)
    def amend_end(self, run_id: int, data: EndInput, *, reason: str) -> Run:
        """Correct a wrongly recorded end of ECMO (time or outcome), with a reason, as an amendment.

        Allowed while the follow-up schedule is still untouched by people (only due entries or ones
        the system closed for a death); the schedule is then re-dated for the corrected end. Once a
        follow-up has been recorded, the correction belongs in that follow-up instead.
        """
        why = clean_text(reason, N_("修改原因"), required=True, max_length=NOTES_MAX, multiline=True)
        now = self.ctx.now()
        end = end_values(data, now=now, with_notes=False)
        ended, new_reason = end.ended_at, end.reason

        def work(uow: UnitOfWork) -> Run:
            run = uow.runs.get(run_id)
            if run.status != RunStatus.ENDED.value or run.started_at is None:
                raise ValidationError(FieldError(N_("撤机结局"), N_("本病例尚未撤机，无需修改撤机结局")))
            check_end(
                end, started_at=run.started_at, decannulations=_decannulations(uow, run_id), correcting=True
            )
            follow_ups = of_run(uow, FollowUp, run_id)
            if any(
                f.status == RecordStatus.SIGNED.value
                or (f.fu_status != FollowUpStatus.DUE.value and f.notes != AUTO_CLOSED_NOTE)
                for f in follow_ups
            ):
                raise ValidationError(
                    FieldError(N_("撤机结局"), N_("已有随访记录，不能再修改撤机结局；请在随访中更正"))
                )
            died = new_reason == EndReason.DIED.value
            changes: dict[str, Any] = {
                "ended_at": ended,
                "end_reason": new_reason,
                "date_of_death": ended if died else None,
                "discharged_alive": False if died else None,
                "survived_28d": survived_day_28(run.started_at, ended) if died else None,
            }
            after = uow.runs.update(run_id, expected_version=run.version, **changes)
            due_by_kind = dict(follow_up_schedule(run.started_at, ended))
            stamp = Stamp(now, self.ctx.require_user().id)
            for f in follow_ups:
                # back to due (cause of death and scores are not touched: nobody recorded any)
                values = replace(
                    FollowUpValues.of(f),
                    fu_status=FollowUpStatus.DUE.value,
                    done_at=None,
                    vital_status=None,
                    date_of_death=None,
                    contact_method=None,
                    discharge_disposition=None,
                    notes="",
                )
                if died:
                    values = _closed_by_death(values, f.kind, ended)
                fu = uow.records.update_follow_up(
                    f.id,
                    expected_version=f.version,
                    stamp=stamp,
                    values=values,
                    due_date=due_by_kind.get(f.kind, f.due_date),
                    reopen=False,
                )
                old_fu, new_fu = diff(canonical_content(f), canonical_content(fu))
                self._audit(
                    uow,
                    "update",
                    fu.entity,
                    f.id,
                    before=old_fu,
                    after=new_fu,
                    run_id=run_id,
                    patient_id=run.patient_id,
                    reason=why,
                )
            self._audit(
                uow,
                "amend_end",
                "ecmo_run",
                run_id,
                before={"ended_at": run.ended_at, "end_reason": run.end_reason},
                after=changes,
                run_id=run_id,
                patient_id=run.patient_id,
                reason=why,
            )
            uow.commit()
            return after

        return self._transact(work)


def _decannulations(uow: UnitOfWork, run_id: int) -> list[Procedure]:
    return [p for p in of_run(uow, Procedure, run_id) if p.kind == ProcedureKind.DECANNULATION.value]


def _save(uow: UnitOfWork, rec: WeaningTrial, stamp: Stamp, values: WeaningValues) -> WeaningTrial:
    return uow.records.update_weaning_trial(rec.id, expected_version=rec.version, stamp=stamp, values=values)
