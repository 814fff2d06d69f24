"""What every record tab of one case view shares: the run's data, loaded once, and who may do what.

The tabs of a case all show parts of the same run, so one ``CaseRecords`` per case view loads the
run, its whole chart, the compliance checklist, R2's clock and the staff list in *one* job on the
serial executor, and tells every tab at once. After any mutation (the ``changed`` broadcast names
``records`` or this run) it reloads, so a record signed in one tab or on another window shows as
locked everywhere without each tab asking on its own.

The permission helpers mirror ``RecordService``'s own checks only to decide what to *show*; the
service refuses by itself either way (ACC-2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ecmo_desktop.domain.compliance import RunCompliance
from ecmo_desktop.domain.enums import DecisionKind, FollowUpStatus, Mode, Role, RunStatus, Title
from ecmo_desktop.domain.model import CurrentUser, Staff
from ecmo_desktop.domain.records import AnyRecord, Decision, Entity, RunChart, SupplementStatus
from ecmo_desktop.services.permissions import Action
from ecmo_desktop.services.runs import RunDetail
from ecmo_desktop.ui.changes import Change, record_changes
from ecmo_desktop.ui.context import Services, UiContext

REFRESH_MS = 60_000  # time-dependent parts (R2's clock, follow-ups due, ECMO day) move even if nobody saves
# modes with arterial return: the VA-only fields of the catalogue (pulse pressure, lower-limb SpO2 …) apply
ARTERIAL_MODES = frozenset({Mode.VA.value, Mode.VAV.value, Mode.VVA.value, Mode.VV_VA.value})


def is_physician(staff: Staff) -> bool:
    title = Title(staff.title) if staff.title in Title._value2member_map_ else Title.OTHER
    return staff.active and staff.has_role(Role.DOCTOR) and title.is_physician


def is_doctor(user: CurrentUser | None) -> bool:
    return user is not None and user.has_role(Role.DOCTOR)


def may_edit(user: CurrentUser | None, record: AnyRecord) -> bool:
    """Doctors edit any record; nurses and perfusionists only the daily entries they wrote."""
    if user is None:
        return False
    if is_doctor(user):
        return True
    return record.entity == Entity.DAILY_ENTRY.value and record.created_by_id == user.id


def may_sign(user: CurrentUser | None, record: AnyRecord) -> bool:
    if record.locked or not may_edit(user, record):
        return False
    return not (
        record.entity == Entity.FOLLOW_UP.value
        and getattr(record, "fu_status", None) == FollowUpStatus.DUE.value
    )


@dataclass(frozen=True)
class CaseSnapshot:
    """One consistent reading of a run (everything from the same job)."""

    detail: RunDetail
    chart: RunChart
    compliance: RunCompliance
    supplement: SupplementStatus | None
    staff: tuple[Staff, ...]


class CaseRecords(QObject):
    """The data of one case view's record tabs, and the way they change it."""

    updated = Signal()  # a new snapshot arrived

    def __init__(self, ui: UiContext, run_id: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.run_id = run_id
        self.snapshot: CaseSnapshot | None = None
        self.loads = 0  # completed loads (tests wait on it)
        self._loading = False
        self._again = False
        ui.tasks.changed.connect(self._changed)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.reload)
        self.timer.start()

    # ---- data -----------------------------------------------------------------------------------
    @property
    def services(self) -> Services:
        return self.ui.services

    @property
    def user(self) -> CurrentUser | None:
        return self.ui.user

    @property
    def chart(self) -> RunChart | None:
        return self.snapshot.chart if self.snapshot else None

    @property
    def detail(self) -> RunDetail | None:
        return self.snapshot.detail if self.snapshot else None

    @property
    def staff(self) -> tuple[Staff, ...]:
        return self.snapshot.staff if self.snapshot else ()

    def staff_by_id(self, staff_id: int | None) -> Staff | None:
        return next((s for s in self.staff if s.id == staff_id), None)

    def physicians(self) -> list[Staff]:
        return [s for s in self.staff if is_physician(s)]

    def clinical_staff(self) -> list[Staff]:
        clinical = {Role.DOCTOR.value, Role.NURSE.value, Role.PERFUSIONIST.value}
        return [s for s in self.staff if s.active and s.roles & clinical]

    @property
    def run_status(self) -> str | None:
        return self.detail.run.status if self.detail else None

    @property
    def run_mode(self) -> str:
        return self.detail.run.mode if self.detail else Mode.VA.value

    def primary_start(self) -> Decision | None:
        chart = self.chart
        if chart is None:
            return None
        starts = [
            d for d in chart.decisions if d.kind == DecisionKind.START.value and d.supplement_of_id is None
        ]
        return min(starts, key=lambda d: (d.decided_at, d.id)) if starts else None

    def find(self, entity: str, record_id: int) -> AnyRecord | None:
        chart = self.chart
        if chart is None:
            return None
        return next((r for r in chart.all_records() if r.entity == entity and r.id == record_id), None)

    def on_ecmo(self) -> bool:
        return self.run_status == RunStatus.ON_ECMO.value

    def can(self, action: Action) -> bool:
        return self.ui.can(action)

    # ---- loading --------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the run again; while a read is running, one more follows it (changes never pile up)."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        s = self.services
        run_id = self.run_id

        def load() -> CaseSnapshot:
            return CaseSnapshot(
                detail=s.runs.run_detail(run_id),
                chart=s.records.chart(run_id),
                compliance=s.compliance.run_checklist(run_id),
                supplement=s.records.supplement_status(run_id),
                staff=tuple(s.staff.list_staff()),
            )

        self.ui.tasks.run_op(load, self._loaded, self._failed, parent=self)

    def _failed(self, exc: BaseException) -> None:
        self._loading = self._again = False
        self.ui.tasks.background_error(exc)  # a refresh: the status bar shows an outage, no box

    def _loaded(self, snapshot: CaseSnapshot) -> None:
        self._loading = False
        self.snapshot = snapshot
        self.loads += 1
        self.updated.emit()
        if self._again:
            self._again = False
            self.reload()

    def _changed(self, changes: frozenset[Change]) -> None:
        if changes & {Change.records(), Change.run(self.run_id), Change.staff()}:
            self.reload()

    # ---- changing -------------------------------------------------------------------------------
    def mutate(
        self,
        fn: Callable[[], Any],
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        *,
        parent: QObject | None = None,
        extra_changes: Iterable[Change] = (),
    ) -> None:
        """Run a record mutation on the serial executor, then broadcast it (every view refreshes)."""
        self.ui.tasks.run_op(
            fn,
            on_success,
            on_error,
            parent=parent or self,
            changes=(*record_changes(self.run_id), *extra_changes),
        )
