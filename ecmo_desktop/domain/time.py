"""Ward time: Beijing time and Beijing calendar days, defined once for every layer.

Stored times are aware UTC; wards read, type and count days (ECMO day N, follow-up due dates, report
periods) in Beijing time whatever zone the PC is set to. China keeps one zone and no daylight saving,
so a fixed offset is exact.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

BEIJING_OFFSET = timedelta(hours=8)
BEIJING = timezone(BEIJING_OFFSET, "CST")


def local_date(moment: datetime) -> date:
    """The Beijing calendar day of an aware instant."""
    return moment.astimezone(BEIJING).date()


def to_local(moment: datetime) -> datetime:
    """Display time: wards read Beijing time whatever the PC's zone is."""
    return moment.astimezone(BEIJING)


def format_local(moment: datetime | None, with_seconds: bool = False) -> str:
    """A stored time as the ward reads it (``""`` for none)."""
    if moment is None:
        return ""
    return to_local(moment).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")
