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
        """Audit first, so the backup carries its own event and its manifest anchors the chain head;
        then record the finished file's SHA-256, so a backup altered later can be told from the
        one that was made (the hash lives in the database, not in the file)."""

        def start(uow: UnitOfWork) -> None:
            self._audit(uow, "backup", "database", None, after={"file": str(out)})
            uow.commit()

        self._transact(start)
        manifest = self._port.make_backup(out)

        def done(uow: UnitOfWork) -> None:
            self._audit(
                uow,
                "backup_written",
                "database",
                None,
                after={
                    "file": str(out),
                    "sha256": manifest["file_sha256"],
                    "audit_head": manifest.get("audit_head"),
                    "key_id": manifest.get("key_id"),
                },
            )
            uow.commit()

        self._transact(done)
        return manifest

    @requires(Action.BACKUP)
    def verify_file(self, path: Path) -> dict[str, Any]:
        """Check a backup completely (signature, every table) without touching the database."""
        return self._port.verify(path)

    @requires(Action.BACKUP)
    def restore(self, path: Path, *, replace: bool = False) -> dict[str, Any]:
        """Load a backup (one transaction, verified before commit), then audit the restore.

        ``replace`` empties a PostgreSQL database inside the same transaction; otherwise the
        database must be empty (SQLite restores go into a new file that is swapped in afterwards).
        """
        manifest = self._port.restore(path, replace=replace)

        def work(uow: UnitOfWork) -> None:
            self._audit(
                uow,
                "restore",
                "database",
                None,
                after={
                    "file": str(path),
                    "created_at": manifest.get("created_at"),
                    "audit_head": manifest.get("audit_head"),
                    "replaced": replace,
                },
            )
            uow.commit()

        self._transact(work)
        return manifest

    @requires(Action.BACKUP)
    def restore_into_empty(self, path: Path) -> dict[str, Any]:
        """Load a backup into this (empty) database, verify every table, then audit the restore."""
        return self.restore(path)

    @requires(Action.BACKUP)
    def export_key(self, out: Path) -> str:
        """Export this installation's backup-signing key (disaster recovery); audited."""
        key_id = self._port.export_key(out)

        def work(uow: UnitOfWork) -> None:
            self._audit(
                uow, "export_backup_key", "database", None, after={"file": str(out), "key_id": key_id}
            )
            uow.commit()

        self._transact(work)
        return key_id

    @requires(Action.BACKUP)
    def import_key(self, source: Path) -> str:
        """Accept another installation's backup key so its backups can be restored here; audited."""
        key_id = self._port.import_key(source)

        def work(uow: UnitOfWork) -> None:
            self._audit(
                uow, "import_backup_key", "database", None, after={"file": str(source), "key_id": key_id}
            )
            uow.commit()

        self._transact(work)
        return key_id

    @requires(Action.BACKUP)
    def digests(self) -> dict[str, dict[str, Any]]:
        return self._port.table_digests()
