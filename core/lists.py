"""The list contract: limit 1..200 (default 50), whitelisted `order_by`, exact-match filters, and opaque
cursors bound to the order and filters they were made with."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, Field, field_validator

from core.clock import stamp
from core.errors import BenchError
from core.validation import SQLITE_INT_MAX, SQLITE_INT_MIN, Params, in_stamp_range
from storage.db import Database
from storage.listing import fetch_page
from storage.models import Model

T = TypeVar("T")
FORBIDDEN_FILTER_CHARS = set("<>~*%")
MAX_FILTERS = 16
MAX_FILTER_NAME = 64
StampRange = Annotated[AwareDatetime, AfterValidator(in_stamp_range)]


class ListParams(Params):
    limit: int = Field(default=50, ge=1, le=200)
    cursor_next: str | None = Field(default=None, max_length=512)
    order_by: str | None = None
    filters: dict[str, str | int | bool | None] = Field(default_factory=dict, max_length=MAX_FILTERS)
    # Parsed as timestamps (a timezone is required) and compared in the stored fixed-width form, never as text;
    # a time that form cannot hold (before year 1000 or after 9999 in UTC) is refused.
    since: StampRange | None = Field(default=None, strict=False)
    until: StampRange | None = Field(default=None, strict=False)

    @field_validator("filters")
    @classmethod
    def _exact_only(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            if len(key) > MAX_FILTER_NAME:
                raise ValueError(f"filter names are at most {MAX_FILTER_NAME} characters")
            if isinstance(item, str) and FORBIDDEN_FILTER_CHARS & set(item):
                raise ValueError(f"filter {key!r}: exact match only, characters <>~*% are not allowed")
            if isinstance(item, int) and not SQLITE_INT_MIN <= item <= SQLITE_INT_MAX:
                raise ValueError(f"filter {key!r}: integers must fit in 64 bits")
        return value


class ListResult(Model, Generic[T]):
    rows: list[T]
    total: int | None
    total_estimate: int | None = None
    cursor_next: str | None
    ordering: str


@dataclass(frozen=True)
class ListSpec:
    table: str
    orders: dict[str, str]  # public order_by field -> column
    default_order: str  # e.g. "state_priority:asc"
    filters: frozenset[str]
    # Columns after the chosen order, ending in a unique one (rowid), so equal keys keep one stable order and
    # offset pages never overlap or skip. A column written `name:asc` keeps its direction whatever the order's.
    tiebreak: tuple[str, ...] = ("rowid",)
    time_column: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)  # filters the call itself applies (e.g. kind)


def _ordering(spec: ListSpec, order_by: str | None) -> tuple[str, list[tuple[str, str]]]:
    text = order_by or spec.default_order
    name, _, direction = text.partition(":")
    direction = direction or "asc"
    if name not in spec.orders or direction not in ("asc", "desc"):
        allowed = ", ".join(sorted(spec.orders))
        raise BenchError("validation_failed", f"order_by must be one of: {allowed}", field="order_by")
    tiebreak = [(column, fixed or direction) for column, _, fixed in (t.partition(":") for t in spec.tiebreak)]
    return f"{name}:{direction}", [(spec.orders[name], direction), *tiebreak]


def _binding(ordering: str, params: ListParams) -> str:
    window = [stamp(t) if t else None for t in (params.since, params.until)]
    raw = json.dumps([ordering, params.filters, *window], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _encode(offset: int, binding: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "b": binding}).encode()).decode().rstrip("=")


def _decode(cursor: str, binding: str) -> int:
    bad = BenchError(
        "validation_failed", "cursor_next is invalid or was made for another order/filter", field="cursor_next"
    )
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("b") != binding:
        raise bad
    offset = data.get("o")
    # Only this module writes cursors, but a caller can forge one: an offset SQLite cannot bind is refused.
    if not isinstance(offset, int) or isinstance(offset, bool) or offset > SQLITE_INT_MAX:
        raise bad
    return max(0, offset)


async def run_list(
    db: Database,
    spec: ListSpec,
    params: ListParams,
    convert: Callable[[Any], T],
    conditions: Sequence[tuple[str, Any]] = (),
) -> ListResult[T]:
    """`conditions` are fixed (sql, value) clauses the call adds, such as "not expired"."""
    unknown = sorted(set(params.filters) - spec.filters)
    if unknown:
        allowed = ", ".join(sorted(spec.filters)) or "none"
        raise BenchError(
            "validation_failed", f"unknown filter {unknown[0]!r}; allowed: {allowed}", field=f"filters.{unknown[0]}"
        )
    conditions = list(conditions)
    if params.since or params.until:
        if spec.time_column is None:
            raise BenchError("validation_failed", "this list has no time range", field="since")
        if params.since and params.until and params.since > params.until:
            raise BenchError("validation_failed", "since must not be after until", field="since")
        if params.since:
            conditions.append((f"{spec.time_column} >= ?", stamp(params.since)))
        if params.until:
            conditions.append((f"{spec.time_column} <= ?", stamp(params.until)))
    ordering, order = _ordering(spec, params.order_by)
    binding = _binding(ordering, params)
    offset = _decode(params.cursor_next, binding) if params.cursor_next else 0
    page = await fetch_page(
        db,
        spec.table,
        where={**params.filters, **spec.fixed},
        order=order,
        offset=offset,
        limit=params.limit,
        conditions=conditions,
    )
    rows = [convert(r) for r in page.rows]
    more = offset + len(rows) < page.total
    return ListResult[T](
        rows=rows,
        total=page.total,
        cursor_next=_encode(offset + len(rows), binding) if more else None,
        ordering=ordering,
    )
