"""Small durable switches (routing kill switch, …) keyed by name, stored as JSON text."""

from __future__ import annotations

import json
from typing import Any

from storage.db import Database, Writer


async def get(db: Database, key: str, default: Any = None) -> Any:
    value = await db.scalar("SELECT value FROM settings WHERE key = ?", (key,))
    return json.loads(value) if value is not None else default


async def put(w: Writer, key: str, value: Any, now: str) -> None:
    await w.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, json.dumps(value), now),
    )
