"""The append-only event spine. Triggers refuse UPDATE and DELETE; this module only inserts and reads."""

from __future__ import annotations

import json

from storage.db import Database, Writer
from storage.models import Event

EVENT_COLUMNS = (
    "event_id",
    "timestamp",
    "event_type",
    "origin",
    "agent_id",
    "user_id",
    "surface_id",
    "project_id",
    "run_id",
    "step_id",
    "parent_event_id",
    "trace_id",
    "span_id",
    "summary",
    "payload",
)
_INSERT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join(':' + c for c in EVENT_COLUMNS)})"


def _params(event: Event) -> dict[str, object]:
    data = event.model_dump(exclude={"seq"})
    data["payload"] = json.dumps(event.payload, sort_keys=True, separators=(",", ":"))
    return data


async def append(w: Writer, event: Event) -> int:
    """Returns the event's `seq`: its place on the spine."""
    return await w.insert(_INSERT, _params(event))


async def get(db: Database, event_id: str) -> Event | None:
    row = await db.fetchone("SELECT * FROM events WHERE event_id = ?", (event_id,))
    return Event.from_row(row) if row else None


async def of_message(db: Database, agent_id: str | None, message_id: str, limit: int = 200) -> list[Event]:
    """A queue message's events, oldest first. They carry the message's target as their agent (the index), so
    only that agent's events are read for the message id in their payload."""
    rows = await db.fetchall(
        "SELECT * FROM events WHERE agent_id IS ? AND json_extract(payload, '$.message_id') = ? ORDER BY seq LIMIT ?",
        (agent_id, message_id, limit),
    )
    return [Event.from_row(r) for r in rows]


async def recent(db: Database, limit: int) -> list[Event]:
    rows = await db.fetchall("SELECT * FROM events ORDER BY seq DESC LIMIT ?", (limit,))
    return [Event.from_row(r) for r in rows]


async def total(db: Database) -> int:
    return int(await db.scalar("SELECT count(*) FROM events") or 0)


async def counts_since(db: Database, since: str) -> dict[str, int]:
    rows = await db.fetchall(
        "SELECT event_type, count(*) FROM events WHERE timestamp >= ? GROUP BY event_type", (since,)
    )
    return {str(r[0]): int(r[1]) for r in rows}


async def last_seq(db: Database) -> int:
    return int(await db.scalar("SELECT coalesce(max(seq), 0) FROM events") or 0)


async def after(db: Database, seq: int, limit: int) -> list[Event]:
    rows = await db.fetchall("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
    return [Event.from_row(r) for r in rows]
