"""Queue messages and their idempotency keys."""

from __future__ import annotations

from typing import Any

from storage.db import Database, Writer
from storage.models import QueueMessage

QUEUE_COLUMNS = (
    "message_id",
    "state",
    "state_priority",
    "block_reason",
    "route_id",
    "source_event_id",
    "sender",
    "sender_role",
    "target_agent_id",
    "payload",
    "idempotency_key",
    "delay_until",
    "attempts",
    "last_error",
    "cancel_reason",
    "version",
    "enqueued_at",
    "updated_at",
    "delivered_at",
    "claimed_by",
    "claimed_at",
    "failure_reason",
)
INSERT_SQL = (
    f"INSERT INTO queue_messages ({', '.join(QUEUE_COLUMNS)}) VALUES ({', '.join(':' + c for c in QUEUE_COLUMNS)})"
)


async def insert(w: Writer, message: QueueMessage) -> None:
    await w.execute(INSERT_SQL, message.model_dump())
    if message.idempotency_key:
        await w.execute(
            "INSERT INTO idempotency_keys (key, message_id, created_at) VALUES (?, ?, ?)",
            (message.idempotency_key, message.message_id, message.enqueued_at),
        )


async def get(db: Database | Writer, message_id: str) -> QueueMessage | None:
    row = await db.fetchone("SELECT * FROM queue_messages WHERE message_id = ?", (message_id,))
    return QueueMessage.from_row(row) if row else None


async def by_idempotency_key(db: Database | Writer, key: str) -> QueueMessage | None:
    row = await db.fetchone(
        "SELECT q.* FROM idempotency_keys k JOIN queue_messages q ON q.message_id = k.message_id WHERE k.key = ?",
        (key,),
    )
    return QueueMessage.from_row(row) if row else None


async def transition(w: Writer, message_id: str, expected_version: int, changes: dict[str, Any], now: str) -> bool:
    """Compare-and-set on version; False when another writer moved the message first."""
    sets = ", ".join(f"{column} = :{column}" for column in changes)
    count = await w.execute(
        f"UPDATE queue_messages SET {sets}, version = version + 1, updated_at = :_now"
        " WHERE message_id = :_id AND version = :_version",
        {**changes, "_now": now, "_id": message_id, "_version": expected_version},
    )
    return count == 1


async def claim(w: Writer, message_id: str, claimer: str, now: str) -> bool:
    """Take a queued, unclaimed message for typing; False when it is not queued or someone holds it."""
    count = await w.execute(
        "UPDATE queue_messages SET claimed_by = ?, claimed_at = ?, version = version + 1, updated_at = ?"
        " WHERE message_id = ? AND state = 'queued' AND claimed_by IS NULL",
        (claimer, now, now, message_id),
    )
    return count == 1


async def claimed(db: Database) -> list[QueueMessage]:
    """Queued messages someone took for typing and has not settled."""
    rows = await db.fetchall("SELECT * FROM queue_messages WHERE claimed_by IS NOT NULL AND state = 'queued'")
    return [QueueMessage.from_row(r) for r in rows]


async def counts(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT state, count(*) FROM queue_messages GROUP BY state")
    return {str(r[0]): int(r[1]) for r in rows}


async def needing_operator(db: Database, limit: int) -> list[QueueMessage]:
    """Messages only the operator moves on: failed deliveries and messages awaiting approval, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM queue_messages WHERE state = 'failed' OR (state = 'blocked' AND block_reason = "
        "'awaiting_approval') ORDER BY state = 'blocked', updated_at, rowid LIMIT ?",
        (limit,),
    )
    return [QueueMessage.from_row(r) for r in rows]
