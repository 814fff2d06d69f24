"""The worklist's query terms: what "due now" means at one instant, and where a page of one kind ends.

The service turns the clock and the rules (R2's deadline, follow-up grace periods, the Beijing day)
into a ``WorkFilter``; the repository counts and pages each kind of task in SQL with it, so a ward
with 50,000 runs never loads them into Python and no item is dropped by a cap. A ``WorkKey`` is the
sort key of the last item shown: the next page starts right after it (keyset paging), so paging
reaches every item once however deep the group is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from ecmo_desktop.domain.compliance import DEFAULT_GRACE_DAYS, DUE_SOON_DAYS, GRACE_DAYS
from ecmo_desktop.domain.records import WORK_URGENCY, WorkKind
from ecmo_desktop.domain.time import BEIJING, local_date

# the order of the groups on screen: urgency, then the order of WorkKind
KIND_ORDER: tuple[str, ...] = tuple(
    k.value for k in sorted(WorkKind, key=lambda k: (WORK_URGENCY[k], list(WorkKind).index(k)))
)


@dataclass(frozen=True)
class WorkFilter:
    """The thresholds of "due now" as of ``now`` (computed once, so counts and pages agree)."""

    now: datetime
    today: date  # the Beijing calendar day of ``now``
    start_of_today: datetime  # 00:00 Beijing: a daily entry at or after it counts for today
    follow_up_due_until: date  # a follow-up is due from DUE_SOON_DAYS before its date
    follow_up_overdue_before: dict[str, date]  # per follow-up kind: due before this date = overdue
    follow_up_overdue_default: date  # kinds without their own grace period
    owner_id: int | None = None  # unsigned records: only those this person wrote
    product_requests: bool = False  # only for those who may add a product to the catalogue

    @classmethod
    def at(cls, now: datetime, *, owner_id: int | None = None, product_requests: bool = False) -> WorkFilter:
        today = local_date(now)
        return cls(
            now=now,
            today=today,
            start_of_today=datetime.combine(today, time(0), BEIJING),
            follow_up_due_until=today + timedelta(days=DUE_SOON_DAYS),
            follow_up_overdue_before={k: today - timedelta(days=d) for k, d in GRACE_DAYS.items()},
            follow_up_overdue_default=today - timedelta(days=DEFAULT_GRACE_DAYS),
            owner_id=owner_id,
            product_requests=product_requests,
        )

    @property
    def end_of_today(self) -> datetime:
        return datetime.combine(self.today + timedelta(days=1), time(0), BEIJING)


@dataclass(frozen=True, order=True)
class WorkKey:
    """Where an item sits in its group's order: (segment, due time, run, entity, record id)."""

    segment: int
    at: Any  # datetime | date | None (the group's due time; None where the group has none)
    run_id: int
    entity: str = ""
    entity_id: int = 0


@dataclass(frozen=True)
class WorkRow:
    """One due item as stored: the run and patient it concerns, and what the message needs."""

    kind: str
    key: WorkKey
    run_id: int
    mrn: str
    patient_name: str
    ward: str
    bed: str
    run_status: str
    due_at: datetime | None = None
    entity: str | None = None
    entity_id: int | None = None
    owner_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # follow-up kind and date, product request …
