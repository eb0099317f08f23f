"""Session KV with expiry, the versioned blackboard and notes."""

from __future__ import annotations

import json

from storage.db import Database, Writer
from storage.models import BlackboardEntry, MemoryEntry, Note


async def kv_get(db: Database, scope: str, key: str, now: str) -> MemoryEntry | None:
    row = await db.fetchone(
        "SELECT * FROM memory_kv WHERE scope = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
        (scope, key, now),
    )
    return MemoryEntry.from_row(row) if row else None


async def kv_put(w: Writer, entry: MemoryEntry) -> None:
    await w.execute(
        "INSERT INTO memory_kv (scope, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,"
        " updated_at = excluded.updated_at",
        (entry.scope, entry.key, entry.value, entry.expires_at, entry.updated_at),
    )


async def kv_delete(w: Writer, scope: str, key: str) -> int:
    return await w.execute("DELETE FROM memory_kv WHERE scope = ? AND key = ?", (scope, key))


async def blackboard_get(db: Database | Writer, key: str) -> BlackboardEntry | None:
    row = await db.fetchone("SELECT * FROM blackboard WHERE key = ?", (key,))
    return BlackboardEntry.from_row(row) if row else None


async def blackboard_put(w: Writer, entry: BlackboardEntry) -> None:
    await w.execute(
        "INSERT INTO blackboard (key, version, value, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (entry.key, entry.version, entry.value, entry.updated_by, entry.updated_at),
    )


async def note_insert(w: Writer, note: Note) -> None:
    await w.execute(
        "INSERT INTO notes (note_id, title, body, tags, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (note.note_id, note.title, note.body, json.dumps(note.tags), note.source, note.created_at, note.updated_at),
    )


async def note_delete(w: Writer, note_id: str) -> int:
    return await w.execute("DELETE FROM notes WHERE note_id = ?", (note_id,))
