"""Signing (SIG-1..SIG-3): the password again for every signature, the content hash bound, the record
locked; R1/R2 are enforced when a decision is signed."""

from __future__ import annotations

import hmac
from time import monotonic

from ecmo_desktop.domain.enums import DecisionKind, FollowUpStatus, SignatureMeaning
from ecmo_desktop.domain.errors import (
    ConcurrencyConflict,
    FieldError,
    PermissionDenied,
    RuleViolation,
    ValidationError,
)
from ecmo_desktop.domain.record_inputs import choice
from ecmo_desktop.domain.records import (
    Decision,
    Entity,
    FollowUp,
    RecordLocked,
    SignedRecord,
    content_hash,
)
from ecmo_desktop.domain.rules import emergency_decider, joint_decision
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_core import RecordCore, is_doctor

REAUTH_TTL_S = 12 * 3600.0  # how long one full password check speeds up later signatures


class SigningRecords(RecordCore):
    def _reauthenticate(self, password: str) -> None:
        """The password again for every signature (SIG-2).

        After one full argon2 check, later signatures of the same user are compared against an
        HMAC of that password kept in memory (random per-process key) for a limited time, so
        signing a day's worth of entries stays instant; a changed password, a lock or a
        deactivation invalidates it at once, and a wrong password always goes through the full
        check (and counts towards the lock-out).
        """
        user = self.ctx.require_user()
        digest = hmac.new(self._reauth_key, f"{user.id}\0{password or ''}".encode(), "sha256").digest()
        now = self.ctx.now()
        elapsed = monotonic()  # real session time, whatever the record clock says
        cached = self._reauth.get(user.id)
        if (
            cached is not None
            and hmac.compare_digest(cached[0], digest)
            and elapsed - cached[2] < REAUTH_TTL_S
        ):
            auth = self._read(lambda uow: uow.staff.auth(user.id))
            locked = auth.locked_by_admin or (auth.locked_until is not None and auth.locked_until > now)
            if auth.active and not locked and hmac.compare_digest(auth.password_hash, cached[1]):
                return
        self._reauth.pop(user.id, None)
        self.auth.verify_password(password)
        auth = self._read(lambda uow: uow.staff.auth(user.id))
        self._reauth[user.id] = (digest, auth.password_hash, elapsed)

    @staticmethod
    def _decision_rules(rec: Decision) -> None:
        """Signing a decision enforces R1 (non-emergency) or R2 (emergency start)."""
        if rec.emergency and rec.kind == DecisionKind.START.value:
            result = emergency_decider(rec.physicians)
        elif rec.emergency:
            return
        else:
            result = joint_decision(rec.physicians)
        if not result.passed:
            raise RuleViolation(result.rule, result.message, **result.params)

    @requires(Action.SIGN_RECORD)
    def sign(
        self,
        entity: str,
        record_id: int,
        password: str,
        *,
        meaning: str | None = None,
        expected_version: int | None = None,
        shown_hash: str | None = None,
    ) -> SignedRecord:
        """Sign and lock a record with the password re-entered.

        Doctors sign any record (书写 for their own, 审阅 otherwise); nurses and perfusionists sign
        only the daily entries they wrote themselves. ``expected_version`` and ``shown_hash`` are the
        version and content hash of what the signer was shown: the signature lands only on exactly that
        content, however another PC's save interleaves (a changed record is a conflict, never signed).
        """
        user = self.ctx.require_user()
        if entity not in Entity._value2member_map_:
            raise ValidationError(FieldError(N_("记录"), N_("未知的记录类型")))
        if meaning is not None:
            choice(meaning, SignatureMeaning, N_("签名含义"))
        self._reauthenticate(password)

        def work(uow: UnitOfWork) -> SignedRecord:
            rec = uow.records.get(entity, record_id)
            if not is_doctor(user) and (entity != Entity.DAILY_ENTRY.value or rec.created_by_id != user.id):
                raise PermissionDenied(N_("护士和体外循环师只能签署本人书写的日常管理记录"))
            if rec.locked:
                raise RecordLocked(N_("该记录已签名"))
            if expected_version is not None and rec.version != expected_version:
                raise ConcurrencyConflict()
            shown = content_hash(rec)
            if shown_hash is not None and not hmac.compare_digest(shown, shown_hash):
                raise ConcurrencyConflict()
            if isinstance(rec, Decision):
                self._decision_rules(rec)
            if isinstance(rec, FollowUp) and rec.fu_status == FollowUpStatus.DUE.value:
                raise ValidationError(FieldError(N_("随访"), N_("随访尚未完成，不能签名")))
            now = self.ctx.now()
            staff = uow.staff.get(user.id)
            signed = uow.records.sign(
                entity, record_id, expected_version=rec.version, signed_at=now, signed_by_id=user.id
            )
            if content_hash(signed) != shown:  # the UPDATE was conditional on rec.version: cannot happen
                raise ConcurrencyConflict()
            why = meaning or (
                SignatureMeaning.AUTHOR.value
                if rec.created_by_id == user.id
                else SignatureMeaning.REVIEW.value
            )
            sig = uow.records.add_signature(
                entity=entity,
                entity_id=record_id,
                record_version=signed.version,
                signer_id=user.id,
                signer_name=staff.full_name,
                meaning=why,
                signed_at=now,
                content_hash=content_hash(signed),
            )
            run = uow.runs.get(rec.run_id)
            self._audit(
                uow,
                "sign",
                entity,
                record_id,
                after={"meaning": why, "content_hash": sig.content_hash, "version": signed.version},
                run_id=run.id,
                patient_id=run.patient_id,
            )
            uow.commit()
            return SignedRecord(signed, sig)

        return self._transact(work)
