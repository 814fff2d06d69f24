"""What every record family of ``RecordService`` shares: loading a record of a known kind, creating and
editing one (draft update or amendment with a reason, SIG-3), and re-deriving the run from its records.

The families (``record_decisions.py`` … ``record_followup.py``) validate through
``domain/record_inputs.py`` and save through the record repository's typed method for their kind;
``records.py`` composes them into the one ``RecordService`` the ward uses.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ecmo_desktop.domain.compliance import primary_start
from ecmo_desktop.domain.enums import ProcedureKind, Role, RunStatus
from ecmo_desktop.domain.errors import (
    ConcurrencyConflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from ecmo_desktop.domain.model import CurrentUser, Run
from ecmo_desktop.domain.record_inputs import Stamp
from ecmo_desktop.domain.records import (
    AnyRecord,
    Complication,
    Consent,
    DailyEntry,
    Decision,
    Entity,
    FollowUp,
    ModeSpan,
    Procedure,
    RecordLocked,
    WeaningTrial,
    canonical_content,
    ecmo_day,
)
from ecmo_desktop.domain.rules import supplement_deadline
from ecmo_desktop.domain.validation import clean_text
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.auth import AuthService
from ecmo_desktop.services.base import Service, ServiceContext, diff
from ecmo_desktop.services.ports import UnitOfWork, UnitOfWorkFactory

CLINICAL_ROLES = (Role.DOCTOR.value, Role.NURSE.value, Role.PERFUSIONIST.value)

R = TypeVar("R", Decision, Consent, Procedure, DailyEntry, Complication, WeaningTrial, FollowUp)
V = TypeVar("V")


def is_doctor(user: CurrentUser) -> bool:
    return user.has_role(Role.DOCTOR)


def author_role(user: CurrentUser) -> str:
    return next((r for r in CLINICAL_ROLES if user.has_role(r)), Role.DOCTOR.value)


def load(uow: UnitOfWork, kind: type[R], record_id: int) -> R:
    """One record of a known kind (``NotFound`` when the id is not one)."""
    rec = uow.records.get(kind.ENTITY, record_id)
    if not isinstance(rec, kind):
        raise NotFound()
    return rec


def of_run(uow: UnitOfWork, kind: type[R], run_id: int) -> list[R]:
    """The run's records of one kind, in time order."""
    return [r for r in uow.records.for_run(kind.ENTITY, run_id) if isinstance(r, kind)]


def find(uow: UnitOfWork, kind: type[R], record_id: int | None) -> R | None:
    """The record an input refers to, or None when there is none by that id."""
    if record_id is None:
        return None
    try:
        return load(uow, kind, record_id)
    except NotFound:
        return None


def mode_timeline(procedures: Sequence[Procedure]) -> list[ModeSpan]:
    """The run's modes over time: cannulation starts the first span, each mode change the next."""
    starts = sorted(
        (
            (p.flow_at or p.started_at, p)
            for p in procedures
            if p.kind in (ProcedureKind.CANNULATION.value, ProcedureKind.MODE_CHANGE.value) and p.mode_after
        ),
        key=lambda x: (x[0], x[1].id),
    )
    spans: list[ModeSpan] = []
    for i, (at, p) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else None
        spans.append(ModeSpan(mode=str(p.mode_after), from_at=at, to_at=end, procedure_id=p.id))
    return spans


class RecordCore(Service):
    """The shared base of the record families (one ``RecordService`` object in the end)."""

    def __init__(self, uow: UnitOfWorkFactory, ctx: ServiceContext, auth: AuthService) -> None:
        super().__init__(uow, ctx)
        self.auth = auth
        self._reauth_key = secrets.token_bytes(32)
        self._reauth: dict[int, tuple[bytes, str, float]] = {}

    def _create(
        self,
        kind: type[R],
        run_id: int,
        clean: Callable[[UnitOfWork, Run], V],
        save: Callable[[UnitOfWork, Stamp, V], R],
        *,
        sync: bool = False,
    ) -> R:
        """A new draft record of a run that is not cancelled (``sync``: it moves the run's facts)."""
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> R:
            run = uow.runs.get(run_id)
            if run.status == RunStatus.CANCELLED.value:
                raise ValidationError(FieldError(N_("ECMO 病例"), N_("病例已取消")))
            values = clean(uow, run)
            rec = save(uow, Stamp(self.ctx.now(), user.id), values)
            if sync:
                self._sync_run(uow, run_id)
                rec = load(uow, kind, rec.id)
            self._audit(
                uow,
                "create",
                kind.ENTITY,
                rec.id,
                after=canonical_content(rec),
                run_id=run_id,
                patient_id=run.patient_id,
            )
            uow.commit()
            return rec

        return self._transact(work)

    def _edit(
        self,
        kind: type[R],
        record_id: int,
        expected_version: int | None,
        reason: str | None,
        clean: Callable[[UnitOfWork, Run, R], V],
        save: Callable[[UnitOfWork, R, Stamp, V], R],
        *,
        after: Callable[[UnitOfWork, Run, R, R], None] | None = None,
    ) -> R:
        """Update a draft, or (with ``reason``) amend any record: version kept, signature superseded."""
        user = self.ctx.require_user()
        entity = kind.ENTITY
        why = (
            None
            if reason is None
            else clean_text(reason, N_("更正原因"), required=True, max_length=1000, multiline=True)
        )

        def work(uow: UnitOfWork) -> R:
            before = load(uow, kind, record_id)
            run = uow.runs.get(before.run_id)
            self._check_may_edit(user, before)
            if why is None and before.locked:
                raise RecordLocked()
            if expected_version is not None and before.version != expected_version:
                raise ConcurrencyConflict()
            values = clean(uow, run, before)
            now = self.ctx.now()
            if why is not None:
                uow.records.add_version(
                    entity=entity,
                    entity_id=record_id,
                    version=before.version,
                    content=canonical_content(before),
                    replaced_at=now,
                    replaced_by_id=user.id,
                    reason=why,
                )
                uow.records.supersede_signatures(entity, record_id)
            # conditional on the version read (= the one the user saw): under READ COMMITTED a colleague's
            # save committed since then must make this UPDATE fail, never be overwritten (REL-11)
            rec = save(uow, before, Stamp(now, user.id), values)
            if after is not None:
                after(uow, run, before, rec)
            if entity in (Entity.DECISION, Entity.PROCEDURE):
                self._sync_run(uow, run.id)
                rec = load(uow, kind, record_id)
            old, new = diff(canonical_content(before), canonical_content(rec))
            self._audit(
                uow,
                "amend" if why else "update",
                entity,
                record_id,
                before=old,
                after=new,
                run_id=run.id,
                patient_id=run.patient_id,
                reason=why,
            )
            uow.commit()
            return rec

        return self._transact(work)

    @staticmethod
    def _check_may_edit(user: CurrentUser, rec: AnyRecord) -> None:
        if is_doctor(user):
            return
        if rec.entity != Entity.DAILY_ENTRY.value or rec.created_by_id != user.id:
            raise PermissionDenied(N_("只能修改本人书写的日常管理记录"))

    def _sync_run(self, uow: UnitOfWork, run_id: int) -> Run:
        """Derive the run's start, mode, urgency and R2 deadline from its records after any change."""
        run = uow.runs.get(run_id)
        procedures = of_run(uow, Procedure, run_id)
        decisions = of_run(uow, Decision, run_id)
        changes: dict[str, Any] = {}
        cannulation = next((p for p in procedures if p.kind == ProcedureKind.CANNULATION.value), None)
        if cannulation is not None and cannulation.flow_at != run.started_at:
            changes["started_at"] = cannulation.flow_at
        timeline = mode_timeline(procedures)
        start = primary_start(decisions)
        if timeline:
            mode = timeline[-1].mode
        else:
            mode = start.mode_planned if start is not None and start.mode_planned else run.mode
        if mode != run.mode:
            changes["mode"] = mode
        if start is not None and (start.emergency != run.emergency or start.decided_at != run.decided_at):
            changes.update(emergency=start.emergency, decided_at=start.decided_at)
        if (
            start is not None
            and start.indication
            and (start.indication, start.indication_other) != (run.indication, run.indication_other)
        ):
            changes.update(indication=start.indication, indication_other=start.indication_other)
        if changes:
            before = {k: getattr(run, k) for k in changes}
            run = uow.runs.update(run_id, expected_version=run.version, **changes)
            self._audit(
                uow,
                "update",
                "ecmo_run",
                run_id,
                before=before,
                after=changes,
                run_id=run_id,
                patient_id=run.patient_id,
            )
        if start is not None:
            deadline = supplement_deadline(run.started_at) if start.emergency else None
            if deadline != start.supplement_deadline:
                uow.records.set_supplement_deadline(
                    start.id, expected_version=start.version, deadline=deadline
                )
        if "started_at" in changes and run.started_at is not None:
            for entry in of_run(uow, DailyEntry, run_id):
                day = ecmo_day(run.started_at, entry.recorded_at)
                if day != entry.ecmo_day:
                    uow.records.set_ecmo_day(entry.id, expected_version=entry.version, ecmo_day=day)
        return run
