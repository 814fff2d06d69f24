"""The compliance checklist of a run (R1–R4, R6, R8, R9) and the hospital's standing (R11–R14)."""

from __future__ import annotations

from ecmo_desktop.domain.compliance import HospitalCompliance, RunCompliance, TrainingStatus, check_run
from ecmo_desktop.domain.enums import Role, Title
from ecmo_desktop.domain.rules import (
    FAIL,
    RuleResult,
    expert_group_complete,
    lead_eligibility,
    staffing,
    training_complete,
    training_months,
)
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.records import load_chart

# R14's "whole process": assessment before start, cannulation, management, weaning, follow-up
WHOLE_PROCESS = frozenset({"decision", "cannulation", "daily", "weaning", "follow_up"})


class ComplianceService(Service):
    @requires(Action.VIEW_CASES)
    def run_checklist(self, run_id: int) -> RunCompliance:
        """pass / fail / pending / n/a with the reason, for every run-level rule."""
        now = self.ctx.now()

        def work(uow: UnitOfWork) -> RunCompliance:
            run = uow.runs.get(run_id)
            return check_run(run, load_chart(uow, run_id), now=now, devices=uow.records.device_facts(run_id))

        return self._read(work)

    @requires(Action.VIEW_QC)
    def hospital_status(self) -> HospitalCompliance:
        """Staffing (R11), the ECMO lead (R12), the expert group (R13) and each physician's training (R14)."""
        now = self.ctx.now()

        def work(uow: UnitOfWork) -> HospitalCompliance:
            staff = uow.staff.list(include_inactive=False, at=now)
            hospital = uow.hospitals.local()
            if hospital is None or hospital.ecmo_lead_id is None:
                lead = RuleResult("R12", FAIL, N_("尚未指定 ECMO 技术负责人"))
            else:
                lead = lead_eligibility(uow.staff.get(hospital.ecmo_lead_id))
            participation = uow.records.participation()
            trainings = uow.staff.trainings()
            statuses: list[TrainingStatus] = []
            for s in staff:
                title = Title(s.title) if s.title in Title._value2member_map_ else Title.OTHER
                if not (s.has_role(Role.DOCTOR) and title.is_physician):
                    continue
                months = training_months([t for t in trainings if t.staff_id == s.id])
                cases = sum(1 for phases in participation.get(s.id, {}).values() if phases >= WHOLE_PROCESS)
                statuses.append(
                    TrainingStatus(
                        s.id, s.full_name, s.title, months, cases, training_complete(s, months, cases)
                    )
                )
            return HospitalCompliance(
                staffing(staff),
                lead,
                expert_group_complete([s for s in staff if s.is_expert]),
                tuple(statuses),
            )

        return self._read(work)
