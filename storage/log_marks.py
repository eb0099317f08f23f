"""Log marks (schema v5): (agent, time, size of its log then), the index behind the log viewer's jump to a time."""

from __future__ import annotations

from storage.db import Database, Writer

MARKS_KEPT = 20_000  # per agent: at one mark per 2 s of output, about 11 hours of busy output


async def add(w: Writer, agent_id: str, at: str, size: int) -> None:
    await w.execute("INSERT OR REPLACE INTO log_marks (agent_id, at, size) VALUES (?, ?, ?)", (agent_id, at, size))


async def drop_past(w: Writer, agent_id: str, size: int) -> None:
    """The file is shorter than marks say: it was truncated or replaced, those marks point nowhere."""
    await w.execute("DELETE FROM log_marks WHERE agent_id = ? AND size > ?", (agent_id, size))


async def prune(w: Writer, agent_id: str, keep: int = MARKS_KEPT) -> None:
    await w.execute(
        "DELETE FROM log_marks WHERE agent_id = ? AND at < (SELECT at FROM log_marks WHERE agent_id = ?"
        " ORDER BY at DESC LIMIT 1 OFFSET ?)",
        (agent_id, agent_id, keep - 1),
    )


async def size_at(db: Database, agent_id: str, at: str) -> int:
    """How big the log was at `at`: the last mark at or before it (0 before the first: the log's start)."""
    size = await db.scalar(
        "SELECT size FROM log_marks WHERE agent_id = ? AND at <= ? ORDER BY at DESC LIMIT 1", (agent_id, at)
    )
    return int(size or 0)


async def last(db: Database, agent_id: str) -> int | None:
    size = await db.scalar("SELECT size FROM log_marks WHERE agent_id = ? ORDER BY at DESC LIMIT 1", (agent_id,))
    return None if size is None else int(size)
