"""One session per user action: ``with uow_factory() as uow: ...; uow.commit()``.

Leaving the block without ``commit()`` rolls back. Database exceptions leave the block as the
project's own errors (storage/errors.py), so services never handle SQLAlchemy types.
"""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ecmo_desktop.storage.engine import write_intent
from ecmo_desktop.storage.errors import translate
from ecmo_desktop.storage.repositories.audit import SqlAuditRepository
from ecmo_desktop.storage.repositories.case import SqlCaseRepository
from ecmo_desktop.storage.repositories.devices import SqlDeviceRepository
from ecmo_desktop.storage.repositories.documents import SqlDocumentRepository
from ecmo_desktop.storage.repositories.exchange import SqlExchangeRepository
from ecmo_desktop.storage.repositories.people import (
    SqlHospitalRepository,
    SqlPatientRepository,
    SqlStaffRepository,
)
from ecmo_desktop.storage.repositories.records import SqlRecordRepository
from ecmo_desktop.storage.repositories.runs import SqlRunRepository


class SqlUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *, write: bool = True) -> None:
        self._session_factory = session_factory
        self._write = write
        self._stack = ExitStack()
        self.backend = session_factory.kw["bind"].dialect.name

    def __enter__(self) -> SqlUnitOfWork:
        if self._write:
            self._stack.enter_context(write_intent())
        self.session = self._session_factory()
        s = self.session
        self.hospitals = SqlHospitalRepository(s)
        self.staff = SqlStaffRepository(s)
        self.patients = SqlPatientRepository(s)
        self.runs = SqlRunRepository(s)
        self.audit = SqlAuditRepository(s)
        self.devices = SqlDeviceRepository(s)
        self.exchange = SqlExchangeRepository(s)
        self.records = SqlRecordRepository(s)
        self.cases = SqlCaseRepository(s)
        self.documents = SqlDocumentRepository(s)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.session.rollback()
        except Exception:  # noqa: BLE001 - after SQLITE_FULL the transaction is already gone (S7)
            pass
        finally:
            self.session.close()
            self._stack.close()
        if exc is not None:
            translated = translate(exc)
            if translated is not None and translated is not exc:
                raise translated from exc

    def commit(self) -> None:
        try:
            self.session.commit()
        except Exception as exc:
            translated = translate(exc)
            if translated is None or translated is exc:
                raise
            raise translated from exc

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()


class UnitOfWorkFactory:
    """Callable that makes units of work on one engine; what the composition root hands services."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, write=write)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name
