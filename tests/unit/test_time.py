"""Ward time: one Beijing zone and one calendar-day rule for every layer."""

from datetime import UTC, date, datetime

from ecmo_desktop.domain.time import BEIJING, BEIJING_OFFSET, format_local, local_date, to_local


def test_the_beijing_day_starts_at_16_00_utc() -> None:
    assert local_date(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert local_date(datetime(2026, 3, 1, 16, 0, tzinfo=UTC)) == date(2026, 3, 2)


def test_display_is_beijing_time_whatever_the_input_zone() -> None:
    moment = datetime(2026, 3, 1, 16, 5, 9, tzinfo=UTC)
    assert to_local(moment).utcoffset() == BEIJING_OFFSET and to_local(moment).tzinfo is BEIJING
    assert format_local(moment) == "2026-03-02 00:05"
    assert format_local(moment, with_seconds=True) == "2026-03-02 00:05:09"
    assert format_local(None) == ""
