"""Backups a ward can restore (REL-9; C4: restore tests of backups are run regularly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecmo_desktop.services.base import Service, ServiceContext
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import BackupPort, UnitOfWork, UnitOfWorkFactory


class BackupService(Service):
    def __init__(self, uow: UnitOfWorkFactory, ctx: ServiceContext, port: BackupPort) -> None:
        super().__init__(uow, ctx)
        self._port = port

    @requires(Action.BACKUP)
    def backup(self, out: Path) -> dict[str, Any]:
        """Audit first, so the backup carries its own event and its manifest anchors the chain head."""

        def work(uow: UnitOfWork) -> None:
            self._audit(uow, "backup", "database", None, after={"file": str(out)})
            uow.commit()

        self._transact(work)
        return self._port.make_backup(out)

    @requires(Action.BACKUP)
    def restore_into_empty(self, path: Path) -> dict[str, Any]:
        """Load a backup into this (empty) database, verify every table, then audit the restore."""
        manifest = self._port.restore(path)

        def work(uow: UnitOfWork) -> None:
            self._audit(uow, "restore", "database", None,
                        after={"file": str(path), "created_at": manifest.get("created_at"),
                               "audit_head": manifest.get("audit_head")})
            uow.commit()

        self._transact(work)
        return manifest

    @requires(Action.BACKUP)
    def digests(self) -> dict[str, dict[str, Any]]:
        return self._port.table_digests()
