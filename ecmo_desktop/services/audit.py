"""Reading and verifying the audit trail (AUD-3, AUD-4) and the record it covers (AUD-1, SIG-2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ecmo_desktop.domain.audit_chain import verify_events
from ecmo_desktop.domain.audit_replay import TrailProblem, TrailReplay, compare, replay_tables
from ecmo_desktop.domain.model import AuditEvent, ChainVerification
from ecmo_desktop.domain.records import SignatureCheck, SignatureProblem, content_hash
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork


@dataclass(frozen=True)
class RecordVerification:
    """What ``verify`` found: the chain, the trail replayed against the tables, the signatures."""

    chain: ChainVerification
    trail: tuple[TrailProblem, ...]
    signatures: SignatureCheck
    rows_checked: int

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.trail and self.signatures.ok


# session bookkeeping in the trail that changes nothing another PC shows
_QUIET_ACTIONS = frozenset(
    {
        "login",
        "logout",
        "login_failed",
        "screen_lock",
        "screen_unlock",
        "reauth_failed",
        "print",
        "export",
        "verify",
    }
)
CHANGES_LIMIT = 500


@dataclass(frozen=True)
class ChangeBatch:
    """What was saved anywhere since ``seq``: (entity, entity id, run id) per change, and the new head."""

    head: int
    changes: tuple[tuple[str, int | None, int | None], ...]
    more: bool = False  # more than CHANGES_LIMIT: refresh everything


class AuditService(Service):
    @requires(Action.VIEW_CASES)
    def changes_since(self, seq: int | None) -> ChangeBatch:
        """The change feed of every PC (issue 11 §4): lists and open cases refresh from it. Being a
        service call, it also checks the account each time, so a locked account's session ends here."""

        def work(uow: UnitOfWork) -> ChangeBatch:
            if seq is None:
                return ChangeBatch(uow.audit.head_seq(), ())
            rows = uow.audit.changes_since(seq, limit=CHANGES_LIMIT)
            if not rows:
                return ChangeBatch(seq, ())
            found = {
                (entity, entity_id, run_id)
                for _s, action, entity, entity_id, run_id in rows
                if action not in _QUIET_ACTIONS
            }
            return ChangeBatch(rows[-1][0], tuple(sorted(found, key=str)), more=len(rows) == CHANGES_LIMIT)

        return self._read(work)

    @requires(Action.VERIFY)
    def verify_chain(self, *, expected_head: str | None = None) -> ChainVerification:
        """Recompute every link; with ``expected_head`` (an external anchor) a recomputed chain shows too."""

        def work(uow: UnitOfWork) -> ChainVerification:
            result = verify_events(uow.audit.iterate())
            if result.ok and expected_head is not None and expected_head not in _heads(uow):
                return ChainVerification(False, result.checked, result.head_hash, None, "anchor_mismatch")
            return result

        return self._read(work)

    @requires(Action.VERIFY)
    def verify_record(self, *, expected_head: str | None = None) -> RecordVerification:
        """The chain, then the trail replayed against the record, then every signature, in one read.

        Replay: every audited row's stored fields equal its last after-image, every row has its
        create event, every row the trail names still exists (``domain/audit_replay.py``).
        """

        def work(uow: UnitOfWork) -> RecordVerification:
            replay = TrailReplay()
            hashes: set[str] = set()

            def tee() -> Iterator[AuditEvent]:
                for event in uow.audit.iterate():
                    replay.feed(event)
                    if expected_head is not None:
                        hashes.add(event.hash)
                    yield event

            events = tee()
            chain = verify_events(events)
            for _rest in events:  # after a broken link the replay still reads the rest of the trail
                pass
            if chain.ok and expected_head is not None and expected_head not in hashes:
                chain = ChainVerification(False, chain.checked, chain.head_hash, None, "anchor_mismatch")
            current = uow.audit.table_rows(replay_tables())
            run_of = {t: {i: r.get("run_id") for i, r in rows.items()} for t, rows in current.items()}
            problems = compare(replay, current, run_of=run_of)
            rows = sum(len(r) for r in current.values())
            return RecordVerification(chain, tuple(problems), _check_signatures(uow), rows)

        return self._read(work)

    @requires(Action.VIEW_AUDIT)
    def events_for_run(self, run_id: int, *, offset: int = 0, limit: int = 200) -> list[AuditEvent]:
        return self._read(lambda uow: uow.audit.for_run(run_id, offset=offset, limit=limit))

    @requires(Action.VIEW_AUDIT)
    def count_for_run(self, run_id: int) -> int:
        return self._read(lambda uow: uow.audit.count_for_run(run_id))

    @requires(Action.VIEW_AUDIT)
    def recent(
        self, *, offset: int = 0, limit: int = 200, actor_id: int | None = None, entity: str | None = None
    ) -> list[AuditEvent]:
        return self._read(
            lambda uow: uow.audit.query(offset=offset, limit=limit, actor_id=actor_id, entity=entity)
        )

    @requires(Action.VIEW_CASES)
    def head_hash(self) -> str | None:
        """The anchor printed in PDF footers and backup manifests."""

        def work(uow: UnitOfWork) -> str | None:
            head = uow.audit.head()
            return head.hash if head else None

        return self._read(work)


def _check_signatures(uow: UnitOfWork) -> SignatureCheck:
    """SIG-2 for the whole database in bulk: every valid signature's content hash recomputed from
    its record as stored, every signed record holding a valid signature. Same findings and
    messages as ``services.records.check_signatures`` (the per-run check), but the records come
    from one plain query per kind (``signed_subjects``): at 25,000 signatures the ORM load was
    most of ``verify``'s time."""
    signatures = uow.audit.valid_signatures()
    wanted: dict[str, list[int]] = {}
    for _sig_id, entity, entity_id, _hash in signatures:
        wanted.setdefault(entity, []).append(entity_id)
    loaded = uow.audit.signed_subjects(wanted)
    problems: list[SignatureProblem] = []
    seen: set[tuple[str, int]] = set()
    for sig_id, entity, entity_id, signed_hash in signatures:
        seen.add((entity, entity_id))
        rec = loaded.get(entity, {}).get(entity_id)
        if rec is None:
            problems.append(SignatureProblem(entity, entity_id, None, sig_id, N_("签名的记录无法读取")))
        elif content_hash(rec) != signed_hash:
            problems.append(SignatureProblem(entity, entity_id, rec.run_id, sig_id, N_("签名后内容被改动")))
        elif not rec.locked:
            problems.append(
                SignatureProblem(
                    entity, entity_id, rec.run_id, sig_id, N_("记录未处于签名锁定状态，但签名仍有效")
                )
            )
    for ref in uow.records.signed_records():
        if (ref.entity, ref.entity_id) not in seen:
            problems.append(
                SignatureProblem(
                    ref.entity, ref.entity_id, ref.run_id, None, N_("记录标记为已签名，但没有有效签名")
                )
            )
    return SignatureCheck(ok=not problems, checked=len(signatures), problems=tuple(problems))


def _heads(uow: UnitOfWork) -> set[str]:
    """Every hash in the chain: an anchor taken earlier must still be one of its links."""
    return {e.hash for e in uow.audit.iterate()}
