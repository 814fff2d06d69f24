"""Logging in and out, the idle screen lock, passwords and the first-run set-up (ACC-3/4/5)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypedDict

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ecmo_desktop.domain.enums import Role, Title
from ecmo_desktop.domain.errors import (
    AccountLocked,
    AuthenticationFailed,
    EcmoError,
    FieldError,
    PermissionDenied,
    ValidationError,
)
from ecmo_desktop.domain.model import CurrentUser, Hospital, Staff
from ecmo_desktop.domain.policy import SecurityPolicy, check_idle_lock_minutes
from ecmo_desktop.domain.validation import (
    check_password_strength,
    clean_text,
    clean_username,
    username_key,
)
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.base import Service
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork

log = logging.getLogger(__name__)

# argon2-cffi's defaults are RFC 9106's low-memory profile (t=3, m=64 MiB, p=4), above OWASP's minimum
_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal usernames.
# Precomputed with the production parameters (computing it at import cost ~250 ms on every start and
# every CLI command); ``_dummy_hash`` falls back to hashing once if ``_hasher`` has other parameters.
_PRECOMPUTED_DUMMY = (
    "$argon2id$v=19$m=65536,t=3,p=4$sZwQH0C4Q0wxB8EQMKM9qA$sgsk2OF/BLzWfK3l2UKM2rqHOP1MEIrhnSfwnL0QPlk"
)
_dummy_cache: dict[tuple[int, int, int, int, int], str] = {}
# hospital.settings key set once, at the set-up of a demo database (never by the settings dialogs)
DEMO_SETTING = "demo"


# Accounts of a demo-marked database only: the demo's accounts share a printed password, so a costly
# hash protects nothing there, and the demo's ~50 hashes and verifies took ~12 s of its ~28 s. Never used
# for a database that is not demo-marked (``hash_password(demo=...)`` is given the database's mark, and a
# login on a real database rehashes any such hash with the production parameters).
class HashParameters(TypedDict):
    time_cost: int
    memory_cost: int  # KiB
    parallelism: int


DEMO_HASH_PARAMETERS: HashParameters = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
_demo_hasher = PasswordHasher(**DEMO_HASH_PARAMETERS)


def _params_key(hasher: PasswordHasher) -> tuple[int, int, int, int, int]:
    return (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len)


def _dummy_hash() -> str:
    """A hash with ``_hasher``'s parameters, so verifying against it costs what a real verify costs."""
    key = _params_key(_hasher)
    cached = _dummy_cache.get(key)
    if cached is None:
        pre = extract_parameters(_PRECOMPUTED_DUMMY)
        if (
            pre.time_cost,
            pre.memory_cost,
            pre.parallelism,
            pre.hash_len,
            pre.salt_len,
        ) == key and pre.type == _hasher.type:
            cached = _PRECOMPUTED_DUMMY
        else:
            cached = _hasher.hash("not-a-real-password-0")
        _dummy_cache[key] = cached
    return cached


def hash_password(password: str, *, demo: bool = False) -> str:
    """``demo``: the account belongs to a demo-marked database (cheap parameters, see above)."""
    return (_demo_hasher if demo else _hasher).hash(password)


def is_demo_hash(stored_hash: str) -> bool:
    """Whether a stored hash has the demo parameters (cheap: parses the parameter field only)."""
    try:
        params = extract_parameters(stored_hash)
    except (InvalidHashError, ValueError):
        return False
    return (params.time_cost, params.memory_cost, params.parallelism) == (
        DEMO_HASH_PARAMETERS["time_cost"],
        DEMO_HASH_PARAMETERS["memory_cost"],
        DEMO_HASH_PARAMETERS["parallelism"],
    )


def is_demo_database(uow: UnitOfWork) -> bool:
    """The database's own demo mark (set once at its set-up): the only thing that allows demo hashes."""
    hospital = uow.hospitals.local()
    return bool(hospital is not None and (hospital.settings or {}).get(DEMO_SETTING) is True)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class SetupResult:
    hospital: Hospital
    admin: Staff


class AuthService(Service):
    # ---- first run -------------------------------------------------------------------------------
    @requires(Action.PUBLIC)
    def is_initialised(self) -> bool:
        return self._read(lambda uow: uow.hospitals.local() is not None)

    @requires(Action.PUBLIC)
    def first_run_setup(
        self,
        *,
        hospital_name: str,
        hospital_code: str,
        city: str,
        admin_username: str,
        admin_full_name: str,
        admin_password: str,
        admin_password_repeat: str,
        must_change_password: bool = False,
        demo: bool = False,
    ) -> SetupResult:
        """Create the hospital profile and the first administrator; refused once set up.

        ``must_change_password``: the password was not chosen at this screen (a file, a command line),
        so the administrator replaces it at the first login. ``demo`` marks the database as demo data
        for good (window title, every printed page, and the only database ``demo`` may add cases to).
        """
        name = clean_text(hospital_name, N_("医院名称"), required=True, max_length=200)
        code = clean_text(hospital_code, N_("医院代码"), required=True, max_length=50)
        city_clean = clean_text(city, N_("城市/盟市"), required=True, max_length=100)
        username = clean_username(admin_username)
        full_name = clean_text(admin_full_name, N_("姓名"), required=True, max_length=100)
        if admin_password != admin_password_repeat:
            raise ValidationError(FieldError(N_("确认密码"), N_("两次输入的密码不一致")))
        check_password_strength(
            admin_password, username=username, min_length=SecurityPolicy().min_password_length
        )
        pw_hash = hash_password(admin_password, demo=demo)

        def work(uow: UnitOfWork) -> SetupResult:
            if uow.hospitals.local() is not None:
                raise PermissionDenied(N_("系统已完成初始设置"))
            now = self.ctx.now()
            hospital = uow.hospitals.add(name=name, code=code, city=city_clean, is_local=True, now=now)
            settings: dict[str, object] = {"policy": SecurityPolicy().as_settings()}
            if demo:
                settings[DEMO_SETTING] = True
            uow.hospitals.update(hospital.id, settings=settings)
            admin = uow.staff.add(
                username=username,
                username_key=username_key(username),
                full_name=full_name,
                title=Title.OTHER.value,
                department="",
                years_in_practice=0,
                roles=[Role.ADMIN.value],
                password_hash=pw_hash,
                must_change_password=must_change_password,
                ecmo_trained=False,
                now=now,
            )
            actor = CurrentUser(admin.id, admin.username, admin.full_name, admin.title, admin.roles)
            self._audit(uow, "create", "hospital", hospital.id, after=hospital, actor=actor)
            self._audit(uow, "create", "staff", admin.id, after=_public(admin), actor=actor)
            uow.commit()
            return SetupResult(uow.hospitals.get(hospital.id), admin)

        return self._transact(work)

    @requires(Action.PUBLIC)
    def is_demo(self) -> bool:
        """Whether this database was created as demo data (shown before anyone logs in)."""

        return self._read(is_demo_database)

    # ---- sessions --------------------------------------------------------------------------------
    def _load_policy(self, uow: UnitOfWork) -> None:
        hospital = uow.hospitals.local()
        if hospital is not None:
            self.ctx.policy = SecurityPolicy.from_settings(hospital.settings)
            self.ctx.hospital_id = hospital.id

    @requires(Action.PUBLIC)
    def login(self, username: str, password: str) -> CurrentUser:
        """Check the password; count failures and lock the account after too many (ACC-4)."""
        key = username_key(username or "")
        outcome: list[BaseException] = []

        def work(uow: UnitOfWork) -> CurrentUser | None:
            self._load_policy(uow)
            policy = self.ctx.policy
            now = self.ctx.now()
            staff = uow.staff.by_username_key(key) if key else None
            if staff is None:
                password_matches(_dummy_hash(), password or "")
                self._audit(
                    uow,
                    "login_failed",
                    "staff",
                    None,
                    after={"username": (username or "")[:64]},
                    success=False,
                    actor_name=(username or "")[:64] or "-",
                )
                uow.commit()
                outcome.append(AuthenticationFailed())
                return None
            auth = uow.staff.auth(staff.id)
            actor = CurrentUser(staff.id, staff.username, staff.full_name, staff.title, staff.roles)
            if not auth.active:
                self._audit(
                    uow, "login_failed", "staff", staff.id, reason="inactive", success=False, actor=actor
                )
                uow.commit()
                outcome.append(AuthenticationFailed(N_("账户已停用，请联系管理员")))
                return None
            if auth.locked_by_admin or (auth.locked_until is not None and auth.locked_until > now):
                minutes = policy.lockout_minutes
                if auth.locked_until is not None and not auth.locked_by_admin:
                    minutes = max(1, int((auth.locked_until - now).total_seconds() // 60) + 1)
                self._audit(
                    uow, "login_failed", "staff", staff.id, reason="locked", success=False, actor=actor
                )
                uow.commit()
                outcome.append(
                    AccountLocked(minutes=minutes)
                    if not auth.locked_by_admin
                    else AccountLocked(N_("账户已被锁定，请联系管理员解锁"))
                )
                return None
            if not password_matches(auth.password_hash, password or ""):
                failed = auth.failed_logins + 1
                locked_until = None
                if failed >= policy.max_failed_logins:
                    locked_until = now + timedelta(minutes=policy.lockout_minutes)
                uow.staff.set_auth(staff.id, failed_logins=failed, locked_until=locked_until)
                self._audit(
                    uow,
                    "login_failed",
                    "staff",
                    staff.id,
                    after={"failed_logins": failed},
                    reason="bad_password",
                    success=False,
                    actor=actor,
                )
                if locked_until is not None:
                    self._audit(
                        uow, "account_locked", "staff", staff.id, after={"until": locked_until}, actor=actor
                    )
                uow.commit()
                outcome.append(
                    AccountLocked(minutes=policy.lockout_minutes) if locked_until else AuthenticationFailed()
                )
                return None
            fields: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
            # a real database brings every hash up to the production parameters (a demo one never
            # rehashes: its hashes are cheap on purpose, or stronger ones it keeps)
            if not is_demo_database(uow) and _hasher.check_needs_rehash(auth.password_hash):
                fields["password_hash"] = hash_password(password)
            uow.staff.set_auth(staff.id, **fields)
            self._audit(uow, "login", "staff", staff.id, actor=actor)
            uow.commit()
            return CurrentUser(
                staff.id,
                staff.username,
                staff.full_name,
                staff.title,
                staff.roles,
                must_change_password=staff.must_change_password,
            )

        user = self._transact(work)
        if user is None:
            raise outcome[0]
        self.ctx.user = user
        return user

    @requires(Action.PUBLIC)
    def check_login(self, username: str, password: str) -> CurrentUser:
        """``login`` for a command that must not write (``verify`` of a copy kept as evidence).

        Nothing is recorded — no audit row, no failure count — so a wrong password is only refused;
        whoever holds the file could try passwords against its hashes offline anyway.
        """
        key = username_key(username or "")

        def work(uow: UnitOfWork) -> CurrentUser | BaseException:
            self._load_policy(uow)
            staff = uow.staff.by_username_key(key) if key else None
            if staff is None:
                password_matches(_dummy_hash(), password or "")
                return AuthenticationFailed()
            auth = uow.staff.auth(staff.id)
            if not auth.active:
                return AuthenticationFailed(N_("账户已停用，请联系管理员"))
            if auth.locked_by_admin or (auth.locked_until is not None and auth.locked_until > self.ctx.now()):
                return AccountLocked(N_("账户已被锁定，请联系管理员解锁"))
            if not password_matches(auth.password_hash, password or ""):
                return AuthenticationFailed()
            return CurrentUser(
                staff.id,
                staff.username,
                staff.full_name,
                staff.title,
                staff.roles,
                must_change_password=staff.must_change_password,
            )

        outcome = self._read(work)
        if isinstance(outcome, BaseException):
            raise outcome
        self.ctx.user = outcome
        return outcome

    @requires(Action.SELF)
    def logout(self) -> None:
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> None:
            self._audit(uow, "logout", "staff", user.id)
            uow.commit()

        self._transact(work)
        self.ctx.user = None

    @requires(Action.SELF)
    def lock_screen(self, *, idle: bool = True) -> None:
        user = self.ctx.require_user()

        def work(uow: UnitOfWork) -> None:
            self._audit(uow, "screen_lock", "staff", user.id, reason="idle" if idle else "manual")
            uow.commit()

        self._transact(work)

    @requires(Action.SELF)
    def unlock_screen(self, password: str) -> None:
        """The same user returns: password again, what was on screen stays (ACC-5)."""
        user = self.ctx.require_user()
        self.verify_password(password)

        def work(uow: UnitOfWork) -> None:
            self._audit(uow, "screen_unlock", "staff", user.id)
            uow.commit()

        self._transact(work)

    @requires(Action.SELF)
    def verify_password(self, password: str) -> None:
        """Re-authentication for signing and unlocking; failures count towards the lock-out."""
        user = self.ctx.require_user()
        failure: list[BaseException] = []

        def work(uow: UnitOfWork) -> None:
            self._load_policy(uow)
            auth = uow.staff.auth(user.id)
            now = self.ctx.now()
            if not auth.active:
                failure.append(AuthenticationFailed(N_("账户已停用，请联系管理员")))
                return
            if auth.locked_by_admin or (auth.locked_until is not None and auth.locked_until > now):
                failure.append(AccountLocked(minutes=self.ctx.policy.lockout_minutes))
                return
            if password_matches(auth.password_hash, password or ""):
                if auth.failed_logins:
                    uow.staff.set_auth(user.id, failed_logins=0)
                    uow.commit()
                return
            failed = auth.failed_logins + 1
            locked_until = (
                now + timedelta(minutes=self.ctx.policy.lockout_minutes)
                if failed >= self.ctx.policy.max_failed_logins
                else None
            )
            uow.staff.set_auth(user.id, failed_logins=failed, locked_until=locked_until)
            self._audit(uow, "reauth_failed", "staff", user.id, success=False)
            uow.commit()
            failure.append(
                AccountLocked(minutes=self.ctx.policy.lockout_minutes)
                if locked_until
                else AuthenticationFailed(N_("密码错误"))
            )

        self._transact(work)
        if failure:
            raise failure[0]

    @requires(Action.SELF)
    def change_password(self, old_password: str, new_password: str, new_password_repeat: str) -> None:
        user = self.ctx.require_user()
        if new_password != new_password_repeat:
            raise ValidationError(FieldError(N_("确认密码"), N_("两次输入的密码不一致")))
        check_password_strength(
            new_password, username=user.username, min_length=self.ctx.policy.min_password_length
        )
        if old_password == new_password:
            raise ValidationError(FieldError(N_("新密码"), N_("不能与原密码相同")))
        self.verify_password(old_password)
        new_hash = hash_password(new_password, demo=self._read(is_demo_database))

        def work(uow: UnitOfWork) -> None:
            uow.staff.set_auth(user.id, password_hash=new_hash, must_change_password=False)
            self._audit(uow, "password_changed", "staff", user.id)
            uow.commit()

        self._transact(work)
        self.ctx.user = CurrentUser(user.id, user.username, user.full_name, user.title, user.roles, False)

    @requires(Action.PUBLIC)
    def hospital_name(self) -> str:
        """Shown on the login screen, before anyone is logged in."""

        def work(uow: UnitOfWork) -> str:
            hospital = uow.hospitals.local()
            return hospital.name if hospital else ""

        return self._read(work)

    @requires(Action.PUBLIC)
    def switch_user(self, username: str, password: str) -> CurrentUser:
        """Another person takes over a locked workstation: the new login is checked first, then the
        previous user's session is closed (audited as a logout), so a failed attempt changes nothing."""
        previous = self.ctx.user
        user = self.login(username, password)
        if previous is not None and previous.id != user.id:

            def work(uow: UnitOfWork) -> None:
                self._audit(uow, "logout", "staff", previous.id, reason="switch_user", actor=previous)
                uow.commit()

            self._transact(work)
        return user

    @requires(Action.MANAGE_HOSPITAL)
    def set_idle_lock_minutes(self, minutes: Any) -> SecurityPolicy:
        """The hospital-wide idle-lock timeout (ACC-5), audited with the old and the new value.

        It lives in the hospital's settings with the rest of the security policy, so every ward PC
        and the CLI read the same value; running windows pick it up when they next read the policy.
        """
        value = check_idle_lock_minutes(minutes)

        def work(uow: UnitOfWork) -> SecurityPolicy:
            hospital = uow.hospitals.local()
            if hospital is None:
                raise EcmoError(N_("请先完成医院设置"))
            settings = dict(hospital.settings or {})
            old = SecurityPolicy.from_settings(settings)
            new = replace(old, idle_lock_minutes=value)
            settings["policy"] = {**dict(settings.get("policy") or {}), **new.as_settings()}
            uow.hospitals.update(hospital.id, settings=settings)
            self._audit(
                uow,
                "set_policy",
                "hospital",
                hospital.id,
                before={"idle_lock_minutes": old.idle_lock_minutes},
                after={"idle_lock_minutes": value},
            )
            uow.commit()
            return new

        policy = self._transact(work)
        self.ctx.policy = policy
        return policy

    @requires(Action.PUBLIC)
    def policy(self) -> SecurityPolicy:
        self._read(self._load_policy)
        return self.ctx.policy


def _public(staff: Staff) -> dict[str, object]:
    """What of an account goes into the audit (never a password hash)."""
    return {
        "username": staff.username,
        "full_name": staff.full_name,
        "title": staff.title,
        "department": staff.department,
        "years_in_practice": staff.years_in_practice,
        "roles": sorted(staff.roles),
        "active": staff.active,
    }
