"""Injectable time. Everything that stamps or compares time asks a Clock, so tests and snapshots freeze it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def stamp(at: datetime) -> str:
    """The one text form of a timestamp in storage: fixed width, so text order is time order."""
    at = at.astimezone(UTC)
    return f"{at.year:04d}" + at.strftime("-%m-%dT%H:%M:%S.%fZ")  # %Y does not pad years before 1000 on glibc


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
