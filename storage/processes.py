"""Processes (terminals, dev servers, agent runs) and schedules: the rows later subsystems own."""

from __future__ import annotations

from storage.db import Database
from storage.models import Process


async def process_counts(db: Database, kind: str | None = None) -> dict[str, int]:
    if kind is None:
        rows = await db.fetchall("SELECT state, count(*) FROM processes GROUP BY state")
    else:
        rows = await db.fetchall("SELECT state, count(*) FROM processes WHERE kind = ? GROUP BY state", (kind,))
    return {str(r[0]): int(r[1]) for r in rows}


async def active_schedules(db: Database) -> int:
    return int(await db.scalar("SELECT count(*) FROM schedules WHERE enabled = 1") or 0)


async def crashed(db: Database, limit: int) -> list[Process]:
    rows = await db.fetchall("SELECT * FROM processes WHERE state = 'crashed' ORDER BY updated_at LIMIT ?", (limit,))
    return [Process.from_row(r) for r in rows]
