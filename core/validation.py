"""Turning untrusted call parameters into typed models, with the failing field named.

Parameters are strict (CONTRACTS.md "Parameters"): `true`, `1.0` or `"5"` where an integer is expected, or `1` where
a boolean is, is `validation_failed`, never silently converted. Fields that are parsed from text on purpose
(timestamps) opt out with `Field(strict=False)`.

Whatever a field's type, every value in it (nested dicts and lists too, keys included) must be something storage and
tmux can hold: text that encodes as UTF-8 (no lone surrogate such as JSON's "\\ud800"), integers inside SQLite's
64 bits, finite numbers. That is checked once, here, for every call (`Params`), so no call can forget it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from core.clock import parse_stamp, stamp
from core.errors import BenchError

M = TypeVar("M", bound=BaseModel)

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# An agent's name is part of its tmux session's (`rb-<name>`), and tmux session names cannot hold '.' or ':'.
AGENT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_LABEL = 256
MAX_TEXT = 16 * 1024
SQLITE_INT_MIN = -(2**63)
SQLITE_INT_MAX = 2**63 - 1
# The stored form of a timestamp (core.clock.stamp) is fixed width for four-digit years only.
MIN_STAMP = datetime(1000, 1, 1, tzinfo=UTC)
NAME_MAX_BYTES = 255  # one path component (NAME_MAX on Linux and macOS)
PATH_MAX_BYTES = 4095  # a whole path, without its terminating NUL (PATH_MAX)
MAX_FIELD_ECHO = 128  # how much of a failing field's name an error repeats


def _unstorable(value: Any) -> str | None:
    """Why `value` (or anything nested in it) cannot reach SQLite or tmux, or None when it can."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "string_unicode"
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not SQLITE_INT_MIN <= item <= SQLITE_INT_MAX:
                return "int_out_of_range"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "finite_number"
        elif isinstance(item, dict | list | tuple | set | frozenset):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)
    return None


_UNSTORABLE_MESSAGES = {
    "string_unicode": "text must be valid Unicode (a lone surrogate such as \\ud800 cannot be encoded as UTF-8)",
    "int_out_of_range": f"integers must be between {SQLITE_INT_MIN} and {SQLITE_INT_MAX}",
    "finite_number": "numbers must be finite (NaN and Infinity are not JSON)",
}


class Params(BaseModel):
    """Base for call parameters: unknown keys are an error, not silently ignored, and types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=False, defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        reason = _unstorable(value)
        if reason is not None:
            raise PydanticCustomError(reason, _UNSTORABLE_MESSAGES[reason])
        return value


def safe_text(text: str, limit: int | None = None) -> str:
    """`text` as valid UTF-8 (lone surrogates written as \\udXXX escapes), cut to `limit` characters."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def parse(model: type[M], data: Any) -> M:
    """`data` as `model`: a dict is validated; an instance (the registry validated it already) is returned as is."""
    if isinstance(data, model):
        return data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BenchError("malformed_request", "parameters must be a JSON object", details={"reason": "not an object"})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        # The location may hold a caller's unknown key: never echo it unencodable or unbounded.
        field = safe_text(".".join(str(part) for part in first["loc"]) or "params", MAX_FIELD_ECHO)
        reason = safe_text(first["msg"])
        raise BenchError(
            "validation_failed", f"{field}: {reason}", field=field, details={"reason": first["type"]}
        ) from None
    except RecursionError:
        raise BenchError(
            "malformed_request", "parameters are nested too deeply", details={"reason": "json decode error"}
        ) from None


def has_control_characters(value: str) -> bool:
    """C0/C1 controls, DEL and NUL: never part of a name or a label (they move the cursor, end strings in C)."""
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def _name(value: str) -> str:
    # fullmatch: `$` would also match before a trailing newline ("lead\n").
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError("use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def _agent_name(value: str) -> str:
    if not AGENT_NAME_PATTERN.fullmatch(value):
        raise ValueError(
            "use 1-64 letters, digits, '_' or '-', starting with a letter or digit"
            " (an agent's name is part of a tmux session name, which cannot hold '.' or ':')"
        )
    return value


def _label(value: str) -> str:
    value = value.strip()
    if "\n" in value or "\r" in value:
        raise ValueError("must be one line")
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    if len(value) > MAX_LABEL:
        raise ValueError(f"must be at most {MAX_LABEL} characters")
    return value


def _non_empty(value: str) -> str:
    if not value:
        raise ValueError("cannot be empty (this field is not clearable)")
    return value


def _typable(value: str) -> str:
    """Text that will be typed into a terminal: NUL cannot be (tmux's arguments and files end at it). Escape
    sequences and other controls stay: agents may legitimately send them."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000): a terminal cannot receive it")
    return value


def _path(value: str) -> str:
    """A filesystem path the OS can be asked about: no NUL, no component or whole path longer than it allows."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000)")
    if len(value.encode("utf-8")) > PATH_MAX_BYTES:
        raise ValueError(f"must be at most {PATH_MAX_BYTES} bytes")
    if any(len(part.encode("utf-8")) > NAME_MAX_BYTES for part in value.split("/")):
        raise ValueError(f"each path component must be at most {NAME_MAX_BYTES} bytes")
    return value


def in_stamp_range(value: datetime) -> datetime:
    """An aware time as UTC, refused when the stored fixed-width form (years 1000-9999 UTC) cannot hold it."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the representable range (years 1000-9999 UTC)") from None
    if utc < MIN_STAMP:
        raise ValueError("is outside the representable range (years 1000-9999 UTC)")
    return utc


def _timestamp_text(value: str) -> str:
    """An ISO-8601 time with a timezone, as its stored form (`stamp`), so stored text order is time order."""
    try:
        at = parse_stamp(value)
    except ValueError:
        raise ValueError("must be an ISO-8601 time, e.g. 2026-11-23T12:00:00Z") from None
    if at.tzinfo is None:
        raise ValueError("needs a timezone (use Z for UTC)")
    return stamp(in_stamp_range(at))


Name = Annotated[str, AfterValidator(_name)]
AgentName = Annotated[str, AfterValidator(_agent_name)]
Label = Annotated[str, AfterValidator(_label)]
NonEmptyLabel = Annotated[str, AfterValidator(_label), AfterValidator(_non_empty)]
TypableText = Annotated[str, AfterValidator(_typable)]
PathText = Annotated[str, AfterValidator(_path)]
TimestampText = Annotated[str, AfterValidator(_timestamp_text)]
