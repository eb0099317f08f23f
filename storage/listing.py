"""Paged reads shared by every list call. Column names come only from the core's per-list whitelists,
never from callers, so building SQL from them is safe; values are always bound parameters."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import Database


@dataclass(frozen=True)
class Page:
    rows: list[sqlite3.Row]
    total: int


async def fetch_page(
    db: Database,
    table: str,
    *,
    where: dict[str, Any],
    order: Sequence[tuple[str, str]],
    offset: int,
    limit: int,
    conditions: Sequence[tuple[str, Any]] = (),
) -> Page:
    """`where` is exact-match; `conditions` are extra (sql fragment, value) pairs such as a time range."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in where.items():
        if value is None:
            clauses.append(f"{column} IS NULL")
        else:
            clauses.append(f"{column} = ?")
            params.append(value)
    for fragment, value in conditions:
        clauses.append(fragment)
        params.append(value)
    where_sql = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    order_sql = ", ".join(f"{column} {direction.upper()}" for column, direction in order)
    rows = await db.fetchall(
        f"SELECT * FROM {table}{where_sql} ORDER BY {order_sql} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    total = int(await db.scalar(f"SELECT count(*) FROM {table}{where_sql}", params) or 0)
    return Page(rows, total)


async def count_by(
    db: Database, table: str, column: str, where_sql: str = "", params: Sequence[Any] = ()
) -> dict[str, int]:
    rows = await db.fetchall(f"SELECT {column}, count(*) FROM {table} {where_sql} GROUP BY {column}", params)
    return {str(r[0]): int(r[1]) for r in rows}
