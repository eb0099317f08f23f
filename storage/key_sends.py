"""Keys sent to a pane under an idempotency key (schema v4): claimed before typing, settled after."""

from __future__ import annotations

from typing import Literal

from storage.db import Database, Writer
from storage.models import Row

KeySendState = Literal["claimed", "typed", "failed"]


class KeySend(Row):
    idempotency_key: str
    agent_id: str
    keys: str
    state: KeySendState
    claimed_by: str | None = None
    error: str = ""
    created_at: str
    settled_at: str | None = None


async def claim(w: Writer, key: str, agent_id: str, keys: str, claimer: str, now: str) -> bool:
    """True when this call wrote the row (and so may type); False when the key was used before."""
    written = await w.execute(
        "INSERT OR IGNORE INTO key_sends (idempotency_key, agent_id, keys, state, claimed_by, created_at)"
        " VALUES (?, ?, ?, 'claimed', ?, ?)",
        (key, agent_id, keys, claimer, now),
    )
    return written == 1


async def get(db: Database | Writer, key: str) -> KeySend | None:
    row = await db.fetchone("SELECT * FROM key_sends WHERE idempotency_key = ?", (key,))
    return KeySend.from_row(row) if row else None


async def settle(w: Writer, key: str, state: KeySendState, error: str, now: str) -> None:
    await w.execute(
        "UPDATE key_sends SET state = ?, error = ?, settled_at = ? WHERE idempotency_key = ? AND state = 'claimed'",
        (state, error, now, key),
    )
