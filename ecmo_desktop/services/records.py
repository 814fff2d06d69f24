"""The clinical record of a run: what doctors, nurses and perfusionists chart, sign and correct.

Each public method is one thing a person does on the ward. Rules of the specification are checked
where the action happens: R3 when a procedure is recorded, R4 at cannulation, R1/R2 when a
decision is signed. Signing re-enters the password (SIG-2) and binds the SHA-256 of the record's
canonical content; a signed record is locked and is corrected only by an amendment with a reason,
which keeps the old content in ``record_version`` and marks the old signature superseded (SIG-3).

The writing lives by record family in ``record_decisions.py``, ``record_consent.py``,
``record_procedures.py``, ``record_daily.py``, ``record_complications.py``, ``record_weaning.py``
(with the end of support), ``record_followup.py`` and ``record_signing.py`` (shared base:
``record_core.py``); form input is validated into typed values by ``domain/record_inputs.py``. This
module composes them into ``RecordService`` and keeps the reading, so callers import from here only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ecmo_desktop.domain.compliance import primary_start
from ecmo_desktop.domain.errors import EcmoError, NotFound
from ecmo_desktop.domain.records import (
    AnyRecord,
    Decision,
    Entity,
    ModeSpan,
    Procedure,
    RecordVersion,
    RunChart,
    Signature,
    SignatureCheck,
    SignatureProblem,
    SupplementStatus,
    content_hash,
)
from ecmo_desktop.domain.rules import joint_decision, supplement_state
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_complications import ComplicationRecords
from ecmo_desktop.services.record_consent import ConsentRecords
from ecmo_desktop.services.record_core import CLINICAL_ROLES, mode_timeline
from ecmo_desktop.services.record_daily import DailyRecords
from ecmo_desktop.services.record_decisions import DecisionRecords
from ecmo_desktop.services.record_followup import FollowUpRecords
from ecmo_desktop.services.record_procedures import ProcedureRecords
from ecmo_desktop.services.record_signing import REAUTH_TTL_S, SigningRecords
from ecmo_desktop.services.record_weaning import WeaningRecords

__all__ = [
    "CLINICAL_ROLES",
    "REAUTH_TTL_S",
    "RecordService",
    "check_signatures",
    "load_chart",
    "mode_timeline",
    "supplement_for",
]


class RecordService(
    DecisionRecords,
    ConsentRecords,
    ProcedureRecords,
    DailyRecords,
    ComplicationRecords,
    WeaningRecords,
    FollowUpRecords,
    SigningRecords,
):
    """The clinical record as the ward uses it: each family of records (``record_*.py``) writes, this
    class adds the reading; one object, so the UI, the CLI and the container see one service."""

    @requires(Action.VERIFY)
    def verify_signatures(self, run_id: int | None = None) -> SignatureCheck:
        """Recompute every valid signature's content hash; a record changed after signing (outside
        the app) is reported as "签名后内容被改动" (SIG-2)."""
        return self._read(lambda uow: check_signatures(uow, run_id))

    # ==== reading ===========================================================================================
    @requires(Action.VIEW_CASES)
    def chart(self, run_id: int) -> RunChart:
        """Everything recorded for a run, each kind in time order."""

        def work(uow: UnitOfWork) -> RunChart:
            uow.runs.get(run_id)
            return load_chart(uow, run_id)

        return self._read(work)

    @requires(Action.VIEW_CASES)
    def get_record(self, entity: str, record_id: int) -> AnyRecord:
        if entity not in Entity._value2member_map_:
            raise NotFound()
        return self._read(lambda uow: uow.records.get(entity, record_id))

    @requires(Action.VIEW_CASES)
    def signatures(self, entity: str, record_id: int) -> list[Signature]:
        """Every signature of a record, superseded ones included (SIG-1/SIG-3)."""
        return self._read(lambda uow: uow.records.signatures(entity=entity, entity_id=record_id))

    @requires(Action.VIEW_CASES)
    def versions(self, entity: str, record_id: int) -> list[RecordVersion]:
        """Earlier contents of an amended record, oldest first."""
        return self._read(lambda uow: uow.records.versions(entity, record_id))

    @requires(Action.VIEW_CASES)
    def mode_timeline(self, run_id: int) -> list[ModeSpan]:
        return self._read(
            lambda uow: mode_timeline(
                [p for p in uow.records.for_run(Entity.PROCEDURE, run_id) if isinstance(p, Procedure)]
            )
        )

    @requires(Action.VIEW_CASES)
    def supplement_status(self, run_id: int) -> SupplementStatus | None:
        """R2's 12-hour clock for an emergency start (None when the start was not an emergency)."""
        now = self.ctx.now()

        def work(uow: UnitOfWork) -> SupplementStatus | None:
            decisions = [d for d in uow.records.for_run(Entity.DECISION, run_id) if isinstance(d, Decision)]
            return supplement_for(decisions, now)

        return self._read(work)


def load_chart(uow: UnitOfWork, run_id: int) -> RunChart:
    """All records of a run from one unit of work (the case view, the checklist)."""

    def of(entity: Entity) -> tuple[Any, ...]:
        return tuple(uow.records.for_run(entity, run_id))

    return RunChart(
        run_id,
        of(Entity.DECISION),
        of(Entity.CONSENT),
        of(Entity.PROCEDURE),
        of(Entity.DAILY_ENTRY),
        of(Entity.COMPLICATION),
        of(Entity.WEANING_TRIAL),
        of(Entity.FOLLOW_UP),
    )


def supplement_for(decisions: Sequence[Decision], now: datetime) -> SupplementStatus | None:
    """R2's state for a run's decisions (shared by the case view and the worklist)."""
    start = primary_start(decisions)
    if start is None or not start.emergency:
        return None
    supplements = [
        d for d in decisions if d.supplement_of_id == start.id and joint_decision(d.physicians).passed
    ]
    first = min(supplements, key=lambda d: d.decided_at) if supplements else None
    state, remaining = supplement_state(start.supplement_deadline, first.decided_at if first else None, now)
    return SupplementStatus(
        decision_id=start.id,
        run_id=start.run_id,
        deadline=start.supplement_deadline,
        supplement_id=first.id if first else None,
        state=state,
        remaining=remaining,
    )


def check_signatures(uow: UnitOfWork, run_id: int | None = None) -> SignatureCheck:
    """SIG-2 inside one read: shared by ``verify_signatures`` and the full ``verify`` (AuditService)."""
    problems: list[SignatureProblem] = []
    signatures = uow.records.signatures(state="valid", run_id=run_id)
    seen: set[tuple[str, int]] = set()
    loaded: dict[str, dict[int, AnyRecord]] = {}
    for entity in {s.entity for s in signatures}:
        try:
            loaded[entity] = uow.records.many(entity, [s.entity_id for s in signatures if s.entity == entity])
        except (EcmoError, KeyError, ValueError, TypeError):
            loaded[entity] = {}
    for sig in signatures:
        key = (sig.entity, sig.entity_id)
        seen.add(key)
        rec = loaded.get(sig.entity, {}).get(sig.entity_id)
        if rec is None:
            problems.append(
                SignatureProblem(sig.entity, sig.entity_id, None, sig.id, N_("签名的记录无法读取"))
            )
            continue
        if content_hash(rec) != sig.content_hash:
            problems.append(
                SignatureProblem(sig.entity, sig.entity_id, rec.run_id, sig.id, N_("签名后内容被改动"))
            )
        elif not rec.locked:
            problems.append(
                SignatureProblem(
                    sig.entity, sig.entity_id, rec.run_id, sig.id, N_("记录未处于签名锁定状态，但签名仍有效")
                )
            )
    for ref in uow.records.signed_records(run_id=run_id):
        if (ref.entity, ref.entity_id) not in seen:
            problems.append(
                SignatureProblem(
                    ref.entity, ref.entity_id, ref.run_id, None, N_("记录标记为已签名，但没有有效签名")
                )
            )
    return SignatureCheck(ok=not problems, checked=len(signatures), problems=tuple(problems))
