"""Which agents have their pane output piped into a log file, and how that pipe is doing."""

from __future__ import annotations

from storage.db import Database, Writer
from storage.models import LogAttachment


async def get(db: Database, agent_id: str) -> LogAttachment | None:
    row = await db.fetchone("SELECT * FROM log_attachments WHERE agent_id = ?", (agent_id,))
    return LogAttachment.from_row(row) if row else None


async def not_detached(db: Database) -> list[LogAttachment]:
    rows = await db.fetchall("SELECT * FROM log_attachments WHERE state != 'detached'")
    return [LogAttachment.from_row(r) for r in rows]


async def put(w: Writer, agent_id: str, path: str, state: str, reason: str, now: str) -> None:
    """Insert or update; `attached_at` moves only when the attachment becomes active again."""
    await w.execute(
        "INSERT INTO log_attachments (agent_id, path, state, reason, attached_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET path = excluded.path,"
        " state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at,"
        " attached_at = CASE WHEN excluded.state = 'active' AND log_attachments.state != 'active'"
        " THEN excluded.attached_at ELSE log_attachments.attached_at END",
        (agent_id, path, state, reason, now, now),
    )
