"""The headless half of the composition root: engine, units of work and services, wired once.

``app.py`` (GUI) and ``cli.py`` both build a ``Container``; nothing else constructs services.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ecmo_desktop.domain.errors import StorageError
from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.i18n import N_
from ecmo_desktop.paths import default_database_path
from ecmo_desktop.services.auth import AuthService
from ecmo_desktop.services.base import ServiceContext
from ecmo_desktop.services.clock import Clock, ServerClock
from ecmo_desktop.services.ports import AccountState
from ecmo_desktop.storage.engine import (
    abort_connections,
    create_db_engine,
    create_read_only_engine,
    server_time,
    sqlite_path,
    sqlite_url_for,
)
from ecmo_desktop.storage.migrate import (
    BackgroundIntegrityCheck,
    MigrationResult,
    SessionMarker,
    check_sqlite_file,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from ecmo_desktop.storage.unit_of_work import UnitOfWorkFactory

# Every service but auth is built on first use, and its module imported only then: documents pull in
# reportlab and the barcode writers (~170 ms), exchange, backup and the audit replay more; the login
# window needs none of them (issue 15). A new service: a cached_property below, importing inside.
if TYPE_CHECKING:
    from ecmo_desktop.services.audit import AuditService
    from ecmo_desktop.services.backup import BackupService
    from ecmo_desktop.services.compliance import ComplianceService
    from ecmo_desktop.services.devices import DeviceService
    from ecmo_desktop.services.documents import DocumentService
    from ecmo_desktop.services.equipment import EquipmentService
    from ecmo_desktop.services.exchange import ExchangeService
    from ecmo_desktop.services.records import RecordService
    from ecmo_desktop.services.runs import RunService
    from ecmo_desktop.services.staff import StaffService
    from ecmo_desktop.services.worklist import WorklistService

log = logging.getLogger(__name__)

# not used by the command line any more (every command logs in as --user, cli/auth.py); kept for tests
SYSTEM_USER = CurrentUser(
    id=0, username="system", full_name="命令行", title="other", roles=frozenset({"admin", "records"})
)


def resolve_database_url(explicit: str | None = None) -> str:
    """``--db`` beats ``ECMO_DATABASE_URL`` beats the SQLite file in the user's data folder."""
    url = explicit or os.environ.get("ECMO_DATABASE_URL")
    if url:
        if "://" not in url:  # a bare path means an SQLite file
            return sqlite_url_for(os.path.abspath(url))  # type: ignore[arg-type]
        return url
    return sqlite_url_for(default_database_path())


@dataclass
class Container:
    url: str
    uow: UnitOfWorkFactory
    ctx: ServiceContext
    migration: MigrationResult
    # how the SQLite file was checked on open: "full" (quick_check, after an unclean shutdown or for
    # verify), "light" (header and schema; the full check is due: ``start_integrity_check``), None
    # (PostgreSQL)
    integrity_checked: str | None = None
    session_marker: SessionMarker | None = None
    auth: AuthService = field(init=False)

    def __post_init__(self) -> None:
        self.auth = AuthService(self.uow, self.ctx)
        self.ctx.account_checker = self._account_state

    @cached_property
    def staff(self) -> StaffService:
        from ecmo_desktop.services.staff import StaffService

        return StaffService(self.uow, self.ctx)

    @cached_property
    def runs(self) -> RunService:
        from ecmo_desktop.services.runs import RunService

        return RunService(self.uow, self.ctx)

    @cached_property
    def audit(self) -> AuditService:
        from ecmo_desktop.services.audit import AuditService

        return AuditService(self.uow, self.ctx)

    @cached_property
    def backups(self) -> BackupService:
        from ecmo_desktop.services.backup import BackupService
        from ecmo_desktop.storage.backup import SqlBackup

        return BackupService(self.uow, self.ctx, SqlBackup(self.uow.engine))

    @cached_property
    def devices(self) -> DeviceService:
        from ecmo_desktop.services.devices import DeviceService

        return DeviceService(self.uow, self.ctx)

    @cached_property
    def equipment(self) -> EquipmentService:
        from ecmo_desktop.services.equipment import EquipmentService

        return EquipmentService(self.uow, self.ctx)

    @cached_property
    def records(self) -> RecordService:
        from ecmo_desktop.services.records import RecordService

        return RecordService(self.uow, self.ctx, self.auth)

    @cached_property
    def worklist(self) -> WorklistService:
        from ecmo_desktop.services.worklist import WorklistService

        return WorklistService(self.uow, self.ctx)

    @cached_property
    def compliance(self) -> ComplianceService:
        from ecmo_desktop.services.compliance import ComplianceService

        return ComplianceService(self.uow, self.ctx)

    @cached_property
    def exchange(self) -> ExchangeService:
        from ecmo_desktop.services.exchange import ExchangeService

        return ExchangeService(self.uow, self.ctx)

    @cached_property
    def documents(self) -> DocumentService:
        from ecmo_desktop.services.documents import DocumentService

        return DocumentService(self.uow, self.ctx)

    def start_integrity_check(self) -> BackgroundIntegrityCheck | None:
        """The full check of an SQLite file opened with the light check, in a thread of its own
        (read-only connection); None when none is due (PostgreSQL, or checked fully on open)."""
        path = sqlite_path(self.url)
        if path is None or self.integrity_checked != "light" or not path.exists():
            return None
        return BackgroundIntegrityCheck(path).start()

    def _account_state(self, staff_id: int) -> AccountState | None:
        """Checked before every service call (ACC-2). PostgreSQL: one autocommit SELECT — no BEGIN and
        ROLLBACK round trips around a single read (issue 15: half the trips of a scan were this check)."""
        with self.uow(write=False) as uow:
            if self.uow.backend == "postgresql":
                uow.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            return uow.staff.account_state(staff_id)

    @property
    def backend(self) -> str:
        return self.uow.backend

    def abort_waits(self) -> int:
        """Stop waiting for a server that does not answer: cut the connections to it."""
        if self.uow.backend != "postgresql":
            return 0
        return abort_connections(self.uow.engine)

    def watch_changes(self, wake: Callable[[], None]) -> Callable[[], None] | None:
        """PostgreSQL: call ``wake`` (from a listener thread) whenever any PC commits a change; returns
        the function that stops listening. SQLite (one PC): None, the caller polls."""
        if self.uow.backend != "postgresql":
            return None
        from ecmo_desktop.storage.notify import ChangeListener

        return ChangeListener(self.uow.engine, wake).stop

    def close(self) -> None:
        """Release the database; a clean close also removes this process's unclean-shutdown marker."""
        self.uow.engine.dispose()
        if self.session_marker is not None:
            self.session_marker.clear()
            self.session_marker = None


def build_container(
    url: str | None = None,
    *,
    clock: Clock | None = None,
    workstation: str | None = None,
    migrate: bool = True,
    read_only: bool = False,
    full_check: bool = False,
    ctx: ServiceContext | None = None,
) -> Container:
    """Open (checking the file first), migrate and wire everything for one database.

    An SQLite file gets the light check (header, length, schema, revision) unless the last process
    that had it open did not close it (its ``SessionMarker`` is left) or ``full_check``: then the full
    ``quick_check`` runs first. The GUI runs the full check in the background after a light open
    (``Container.start_integrity_check``). ``read_only`` (``verify``): nothing is written — no file
    created, no migration, no journal-mode change, no marker; the full check always runs; a missing,
    empty, foreign or not-yet-upgraded database is refused instead. ``ctx``: the session context the
    GUI made before the database opened (its login window is up first); it gets the server clock here.
    """
    db_url = resolve_database_url(url)
    path = sqlite_path(db_url)
    if read_only:
        if path is not None:
            check_sqlite_file(path, writable=False, integrity=True)  # verify reads a copy on a CD too
        return _read_only_container(db_url, path, clock=clock, workstation=workstation)
    marker: SessionMarker | None = None
    stale: list[Path] = []
    checked: str | None = None
    if path is not None:
        marker = SessionMarker(path)
        stale = marker.stale()
        if stale:
            log.warning(
                "%s was not closed cleanly (%d marker(s)): full integrity check before opening",
                path,
                len(stale),
            )
        checked = "full" if (stale or full_check) else "light"
        check_sqlite_file(path, integrity=checked == "full")
    engine = create_db_engine(db_url)
    try:
        migration = upgrade_to_head(engine) if migrate else MigrationResult(None, "", None)
    except StorageError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise StorageError(N_("无法打开数据库：{detail}"), detail=str(exc)[:300]) from exc
    if clock is None and engine.dialect.name == "postgresql":  # shared mode: one clock for every PC
        clock = ServerClock(lambda: server_time(engine))
    if ctx is None:
        ctx = ServiceContext(clock=clock, workstation=workstation)
    elif clock is not None:
        ctx.clock = clock
    container = Container(
        url=db_url, uow=UnitOfWorkFactory(engine), ctx=ctx, migration=migration, integrity_checked=checked
    )
    if marker is not None:
        marker.create()
        marker.clear(stale)  # the check those markers asked for has passed
        container.session_marker = marker
    try:
        container.auth.policy()
    except BaseException:
        container.close()
        raise
    return container


def _read_only_container(
    db_url: str, path: Path | None, *, clock: Clock | None, workstation: str | None
) -> Container:
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        raise StorageError(N_("{path} 不存在或为空，不是 ECMO Ward 数据库"), path=str(path))
    engine = create_read_only_engine(db_url)
    try:
        revision = current_revision(engine)
        head = head_revision()
    except Exception as exc:
        engine.dispose()
        raise StorageError(N_("无法打开数据库：{detail}"), detail=str(exc)[:300]) from exc
    if revision is None:
        engine.dispose()
        raise StorageError(N_("数据库中没有 ECMO Ward 架构版本，不是 ECMO Ward 数据库"))
    if revision != head:
        engine.dispose()
        raise StorageError(
            N_("数据库架构版本为 {revision}，需先升级到 {head}（启动程序或运行 init-db）后再校验"),
            revision=revision,
            head=head,
        )
    ctx = ServiceContext(clock=clock, workstation=workstation)
    container = Container(
        url=db_url,
        uow=UnitOfWorkFactory(engine),
        ctx=ctx,
        migration=MigrationResult(revision, head, None),
        integrity_checked="full" if path is not None else None,
    )
    container.auth.policy()
    return container
