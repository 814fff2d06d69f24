"""The ward's to-do list across runs, most urgent first.

What is due is computed from the records and the injected clock (today = the Beijing calendar day):
R2 supplements counting down or overdue, consent missing, no daily entry today, follow-ups due or
overdue, records waiting for a signature, and — for catalogue administrators — bedside requests to add
a product the catalogue lacks.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from ecmo_desktop.domain.compliance import DUE_SOON_DAYS, follow_up_state
from ecmo_desktop.domain.enums import FollowUpKind, RunStatus
from ecmo_desktop.domain.model import RunListItem
from ecmo_desktop.domain.records import (
    ENTITY_LABELS,
    WORK_URGENCY,
    WorkItem,
    WorkKind,
)
from ecmo_desktop.domain.rules import supplement_state
from ecmo_desktop.domain.time import BEIJING, local_date
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import Action, allowed, requires
from ecmo_desktop.services.ports import RunQuery, UnitOfWork

ACTIVE = (RunStatus.PLANNED.value, RunStatus.ON_ECMO.value)
MAX_ACTIVE_RUNS = 2000


class WorklistService(Service):
    @requires(Action.VIEW_CASES)
    def items(self, *, mine_only: bool = False, limit: int = 500) -> list[WorkItem]:
        """Everything due now, sorted by urgency then due time.

        ``mine_only`` keeps the unsigned records to those the logged-in user wrote (other kinds
        are the whole ward's).
        """
        user = self.ctx.require_user()
        now = self.ctx.now()
        today = local_date(now)
        end_of_today = datetime.combine(today + timedelta(days=1), time(0), BEIJING)

        def work(uow: UnitOfWork) -> list[WorkItem]:
            active = uow.runs.search(RunQuery(statuses=ACTIVE), offset=0, limit=MAX_ACTIVE_RUNS)
            runs: dict[int, RunListItem] = {r.run_id: r for r in active}

            def who(run_id: int) -> RunListItem:
                if run_id not in runs:
                    run = uow.runs.get(run_id)
                    patient = uow.patients.get(run.patient_id)
                    runs[run_id] = RunListItem(run.id, patient.id, patient.mrn, patient.name, patient.sex, None,
                                               run.mode, run.status, run.started_at, run.ended_at, run.ward,
                                               run.bed, run.created_at, run_number=run.run_number)
                return runs[run_id]

            items: list[WorkItem] = []

            def add(kind: WorkKind, run_id: int, message: str, **extra: object) -> None:
                r = who(run_id)
                items.append(WorkItem(kind=kind.value, urgency=WORK_URGENCY[kind], run_id=run_id, mrn=r.mrn,
                                      patient_name=r.patient_name, ward=r.ward, bed=r.bed, message=message,
                                      **extra))  # type: ignore[arg-type]

            # R2: emergency starts counting down to, or past, their 12-hour supplement
            for decision in uow.records.unsupplemented_emergency_starts():
                run = who(decision.run_id)
                if run.status == RunStatus.CANCELLED.value or decision.supplement_deadline is None:
                    continue
                state, remaining = supplement_state(decision.supplement_deadline, None, now)
                overdue = state == "overdue"
                assert remaining is not None
                minutes = int(abs(remaining.total_seconds()) // 60)
                add(WorkKind.SUPPLEMENT_OVERDUE if overdue else WorkKind.SUPPLEMENT_DUE, decision.run_id,
                    N_("紧急上机后 12 小时内补充多学科决策已超时 {hours} 小时 {minutes} 分钟") if overdue
                    else N_("紧急上机：须在 {hours} 小时 {minutes} 分钟内补充多学科决策"),
                    params={"hours": minutes // 60, "minutes": minutes % 60}, due_at=decision.supplement_deadline,
                    remaining=remaining, entity="decision", entity_id=decision.id)
            # R4: consent missing before a planned start, or after an emergency start
            with_consent = uow.records.runs_with_consent(list(runs))
            for r in active:
                if r.run_id in with_consent:
                    continue
                emergency = uow.runs.get(r.run_id).emergency
                if r.status == RunStatus.PLANNED.value and not emergency:
                    add(WorkKind.MISSING_CONSENT, r.run_id, N_("上机前须签署知情同意书"))
                elif r.status == RunStatus.PLANNED.value:  # an emergency being prepared: every PC should see it
                    add(WorkKind.MISSING_CONSENT, r.run_id,
                        N_("紧急上机准备中：尽可能在上机前签署知情同意；来不及时按紧急程序审批，上机后补记"))
                elif r.status == RunStatus.ON_ECMO.value and emergency:
                    add(WorkKind.MISSING_CONSENT, r.run_id, N_("紧急上机后尚未补记知情同意"), due_at=r.started_at)
            # daily management: a run on ECMO without an entry today
            on_ecmo = [r.run_id for r in active if r.status == RunStatus.ON_ECMO.value]
            latest = uow.records.last_daily_times(on_ecmo)
            for run_id in on_ecmo:
                last = latest.get(run_id)
                if last is None or local_date(last) < today:
                    add(WorkKind.NO_DAILY_TODAY, run_id, N_("今日（{date}）尚无日常管理记录"),
                        params={"date": today.isoformat()}, due_at=end_of_today, remaining=end_of_today - now)
            # follow-ups due or overdue
            for fu in uow.records.open_follow_ups(due_until=today + timedelta(days=DUE_SOON_DAYS)):
                state = follow_up_state(fu, today)
                if state not in ("due", "overdue"):
                    continue
                due_at = datetime.combine(fu.due_date, time(0), BEIJING)
                add(WorkKind.FOLLOW_UP_OVERDUE if state == "overdue" else WorkKind.FOLLOW_UP_DUE, fu.run_id,
                    N_("{kind}随访逾期（应于 {date}）") if state == "overdue" else N_("{kind}随访（应于 {date}）"),
                    params={"kind": FollowUpKind(fu.kind).label, "date": fu.due_date.isoformat()},
                    due_at=due_at, remaining=due_at - now, entity="follow_up", entity_id=fu.id)
            # records waiting for a signature
            for ref in uow.records.drafts(limit=limit):
                if mine_only and ref.created_by_id != user.id:
                    continue
                add(WorkKind.UNSIGNED_RECORD, ref.run_id, N_("{what}未签名"),
                    params={"what": _(ENTITY_LABELS.get(ref.entity, ref.entity))}, due_at=ref.created_at,
                    entity=ref.entity, entity_id=ref.entity_id, owner_id=ref.created_by_id)
            # bedside requests to add a product to the catalogue: only for those who may add it
            if allowed(Action.MANAGE_CATALOGUE, user.roles):
                for request in uow.devices.product_requests(open_only=True):
                    add(WorkKind.PRODUCT_REQUEST, request.run_id,
                        N_("{who} 床旁扫码：目录中没有产品 {di}，请添加到器械目录或说明不予添加"),
                        params={"who": request.requested_by_name, "di": request.device_identifier},
                        due_at=request.requested_at, entity="product_request", entity_id=request.id)
            far = datetime.max.replace(tzinfo=BEIJING)
            items.sort(key=lambda i: (i.urgency, i.due_at or far, i.run_id))
            return items[:limit]

        return self._read(work)
