"""The one text form of a timestamp: fixed width, so text order is time order (lists compare stamps as text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from core.clock import parse_stamp, stamp


def test_stamps_are_fixed_width_for_every_year_and_sort_as_time() -> None:
    times = [
        datetime(1, 1, 1, 0, 30, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 23, 12, 0, tzinfo=timezone(timedelta(hours=5))),  # stored as UTC
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]
    stamps = [stamp(t) for t in times]
    assert stamps[0] == "0001-01-01T00:30:00.000000Z"
    assert stamps[1] == "0999-12-31T23:59:59.999999Z"
    assert stamps[3] == "2026-11-23T07:00:00.000000Z"
    assert {len(s) for s in stamps} == {27}
    assert sorted(stamps) == stamps
    assert [parse_stamp(s) for s in stamps] == times
