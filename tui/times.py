"""Times as the operator reads them: relative in lists (`5m`, `in 2h`; minutes at the finest, so a list does not
change every second), absolute in detail views (`2026-12-02 05:44:48 UTC`). "Now" is the core's clock of the
snapshot (frozen in screenshots, the server's when attached to a remote core)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = (("d", 86400), ("h", 3600), ("m", 60))


def parse_stamp(stamp: str) -> datetime:
    """A stored timestamp (`…Z`) as an aware datetime."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _span(seconds: int) -> str:
    for unit, size in _UNITS:
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "<1m"


def since(stamp: str | None, now: datetime) -> str:
    """How long ago: `<1m`, `5m`, `3h`, `2d`; `-` for never."""
    if not stamp:
        return "-"
    return _span(max(0, int((now - parse_stamp(stamp)).total_seconds())))


def until(stamp: str | None, now: datetime, never: str = "never") -> str:
    """How long from now: `in 5m`; a time already past reads `due`."""
    if not stamp:
        return never
    seconds = int((parse_stamp(stamp) - now).total_seconds())
    return "due" if seconds <= 0 else f"in {_span(seconds)}"


def absolute(stamp: str | None) -> str:
    """`2026-12-02 05:44:48 UTC` (seconds, no fraction); `-` for never."""
    if not stamp:
        return "-"
    return parse_stamp(stamp).strftime("%Y-%m-%d %H:%M:%S UTC")


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_AGO = re.compile(r"^-\s*(\d+)\s*([smhd])$")
_SPAN_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, now: datetime) -> datetime | None:
    """A time the operator typed: `14:05` or `14:05:30` (UTC, the last such time not after now), `-15m` / `-2h`
    (ago), or a full ISO time (`2026-12-02 14:05`, UTC unless it names a zone). None: not a time."""
    value = text.strip()
    if match := _AGO.match(value):
        return now - timedelta(seconds=int(match.group(1)) * _SPAN_SECONDS[match.group(2)])
    if match := _CLOCK.match(value):
        hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            return None
        at = now.astimezone(UTC).replace(hour=hour, minute=minute, second=second, microsecond=0)
        return at - timedelta(days=1) if at > now else at
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
