"""日常管理: the daily entries nurses, perfusionists and doctors chart (and sign, their own)."""

from __future__ import annotations

from ecmo_desktop.domain.model import Run
from ecmo_desktop.domain.record_inputs import DailyValues, Stamp, daily_values
from ecmo_desktop.domain.records import DailyEntry, DailyEntryInput
from ecmo_desktop.services.permissions import Action, requires
from ecmo_desktop.services.ports import UnitOfWork
from ecmo_desktop.services.record_core import RecordCore, author_role


class DailyRecords(RecordCore):
    def _clean_daily(self, run: Run, data: DailyEntryInput) -> DailyValues:
        return daily_values(data, run=run, now=self.ctx.now())

    @requires(Action.CHART_DAILY)
    def record_daily_entry(self, run_id: int, data: DailyEntryInput) -> DailyEntry:
        """日常管理: out-of-range values are refused by name, out-of-normal ones come back in ``abnormal``."""
        role = author_role(self.ctx.require_user())
        return self._create(
            DailyEntry,
            run_id,
            lambda uow, run: self._clean_daily(run, data),
            lambda uow, stamp, values: uow.records.add_daily_entry(run_id, stamp, values, author_role=role),
        )

    @requires(Action.CHART_DAILY)
    def update_daily_entry(
        self, entry_id: int, data: DailyEntryInput, *, expected_version: int
    ) -> DailyEntry:
        return self._edit(
            DailyEntry,
            entry_id,
            expected_version,
            None,
            lambda uow, run, rec: self._clean_daily(run, data),
            _save,
        )

    @requires(Action.CHART_DAILY)
    def amend_daily_entry(
        self, entry_id: int, data: DailyEntryInput, *, reason: str, expected_version: int | None = None
    ) -> DailyEntry:
        return self._edit(
            DailyEntry,
            entry_id,
            expected_version,
            reason,
            lambda uow, run, rec: self._clean_daily(run, data),
            _save,
        )


def _save(uow: UnitOfWork, rec: DailyEntry, stamp: Stamp, values: DailyValues) -> DailyEntry:
    return uow.records.update_daily_entry(rec.id, expected_version=rec.version, stamp=stamp, values=values)
