"""What a saved operation changed: the one vocabulary of ``TaskRunner.changed``.

Every emitter (an operation's ``changes``, the change feed reading other PCs' audit rows) and every
listener (a view deciding whether to re-read) names a change through ``Change``, never a free string,
so a typo is an AttributeError at import instead of a view that silently stops refreshing.
``TaskRunner`` refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ChangeKind(Enum):
    RUNS = "runs"  # the list of runs (case list, worklist): a run started, ended, its patient edited
    PATIENTS = "patients"
    STAFF = "staff"  # accounts, privileges, expert memberships
    HOSPITAL = "hospital"  # the hospital's settings
    RECORDS = "records"  # any clinical record (worklists of what is due)
    DEVICES = "devices"  # catalogue, lots, stock, equipment, bindings
    RUN = "run"  # one run's own data (its case view)
    DOCUMENTS = "documents"  # one run's generated documents


@dataclass(frozen=True, slots=True)
class Change:
    """One change kind, with the run it concerns for the per-run kinds."""

    kind: ChangeKind
    run_id: int | None = None

    @staticmethod
    def runs() -> Change:
        return Change(ChangeKind.RUNS)

    @staticmethod
    def patients() -> Change:
        return Change(ChangeKind.PATIENTS)

    @staticmethod
    def staff() -> Change:
        return Change(ChangeKind.STAFF)

    @staticmethod
    def hospital() -> Change:
        return Change(ChangeKind.HOSPITAL)

    @staticmethod
    def records() -> Change:
        return Change(ChangeKind.RECORDS)

    @staticmethod
    def devices() -> Change:
        return Change(ChangeKind.DEVICES)

    @staticmethod
    def run(run_id: int) -> Change:
        return Change(ChangeKind.RUN, run_id)

    @staticmethod
    def documents(run_id: int) -> Change:
        return Change(ChangeKind.DOCUMENTS, run_id)

    def __str__(self) -> str:  # the log and test failures
        return self.kind.value if self.run_id is None else f"{self.kind.value}:{self.run_id}"


def record_changes(run_id: int) -> tuple[Change, ...]:
    """A clinical record of one run saved: the run's views, the worklists and the run lists."""
    return (Change.records(), Change.run(run_id), Change.runs())


# every change kind that is not about one run: what other PCs may have changed when too much happened
EVERYTHING = frozenset(
    {Change.runs(), Change.patients(), Change.staff(), Change.hospital(), Change.records(), Change.devices()}
)
