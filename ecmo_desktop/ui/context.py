"""What every window and dialog is given: the services, the task runner, settings and drafts.

``ui`` may not import the composition root (``container`` pulls in storage), so the services
are described here as the one protocol that ``Container`` satisfies structurally; every screen
reaches its service as ``ui.services.<area>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ecmo_desktop.domain.model import CurrentUser
from ecmo_desktop.services.permissions import Action, allowed
from ecmo_desktop.settings import SettingsStore
from ecmo_desktop.ui.drafts import DraftStore
from ecmo_desktop.ui.tasks import TaskRunner

if TYPE_CHECKING:  # annotations only: the login window must not wait for every service module (issue 15)
    from ecmo_desktop.services.audit import AuditService
    from ecmo_desktop.services.auth import AuthService
    from ecmo_desktop.services.base import ServiceContext
    from ecmo_desktop.services.compliance import ComplianceService
    from ecmo_desktop.services.devices import DeviceService
    from ecmo_desktop.services.documents import DocumentService
    from ecmo_desktop.services.equipment import EquipmentService
    from ecmo_desktop.services.exchange import ExchangeService
    from ecmo_desktop.services.records import RecordService
    from ecmo_desktop.services.runs import RunService
    from ecmo_desktop.services.staff import StaffService
    from ecmo_desktop.services.worklist import WorklistService


class Services(Protocol):
    # read-only members: Container builds most services lazily (cached_property)
    @property
    def ctx(self) -> ServiceContext: ...
    @property
    def auth(self) -> AuthService: ...
    @property
    def staff(self) -> StaffService: ...
    @property
    def runs(self) -> RunService: ...
    @property
    def audit(self) -> AuditService: ...
    @property
    def exchange(self) -> ExchangeService: ...
    @property
    def records(self) -> RecordService: ...
    @property
    def worklist(self) -> WorklistService: ...
    @property
    def compliance(self) -> ComplianceService: ...
    @property
    def documents(self) -> DocumentService: ...
    @property
    def devices(self) -> DeviceService: ...
    @property
    def equipment(self) -> EquipmentService: ...

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""

    def abort_waits(self) -> int:
        """Cut the connections to a server that does not answer (PostgreSQL); 0 on SQLite."""

    def watch_changes(self, wake: Callable[[], None]) -> Callable[[], None] | None:
        """PostgreSQL: call ``wake`` when any PC commits; returns the stop function. SQLite: None."""


@dataclass
class UiContext:
    services: Services
    tasks: TaskRunner
    settings: SettingsStore
    database_label: str = ""  # "SQLite：/path" or "PostgreSQL：host/db", for the status bar
    drafts: DraftStore = field(default_factory=DraftStore)

    @property
    def user(self) -> CurrentUser | None:
        return self.services.ctx.user

    def can(self, action: Action) -> bool:
        """Whether to *show* a control; the service refuses on its own anyway (ACC-2)."""
        user = self.user
        return user is not None and allowed(action, user.roles)
