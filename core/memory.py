"""Shared memory for agents and the operator: session KV with TTL, a versioned blackboard, and notes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pydantic import Field

from core.clock import stamp
from core.context import Context
from core.errors import BenchError
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.validation import Label, Params, parse
from storage import memory as repo
from storage.models import BlackboardEntry, MemoryEntry, Note

KEY = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"
MAX_VALUE = 64 * 1024
KV_LIST = ListSpec(
    table="memory_kv",
    orders={"key": "key", "updated_at": "updated_at"},
    default_order="key:asc",
    filters=frozenset({"scope"}),
    tiebreak=("scope",),
)
BLACKBOARD_LIST = ListSpec(
    table="blackboard",
    orders={"key": "key", "updated_at": "updated_at"},
    default_order="key:asc",
    filters=frozenset({"updated_by"}),
    tiebreak=("version",),
)
NOTE_LIST = ListSpec(
    table="notes",
    orders={"created_at": "created_at", "title": "title"},
    default_order="created_at:desc",
    filters=frozenset({"source"}),
)


class KvKey(Params):
    scope: str = Field(default="bench", pattern=KEY)
    key: str = Field(pattern=KEY)


class KvSet(KvKey):
    value: str = Field(max_length=MAX_VALUE)
    ttl_seconds: int | None = Field(default=None, ge=1, le=365 * 24 * 3600)


class BlackboardKey(Params):
    key: str = Field(pattern=KEY)


class BlackboardWrite(BlackboardKey):
    value: str = Field(max_length=MAX_VALUE)
    expected_version: int = Field(ge=0, description="0 creates; otherwise the version you read")
    updated_by: str = Field(default="operator", max_length=64)


class NoteAdd(Params):
    title: Label = Field(min_length=1)
    body: str = Field(default="", max_length=MAX_VALUE)
    tags: list[str] = Field(default_factory=list, max_length=16)
    source: str = Field(default="operator", max_length=64)


class NoteId(Params):
    note_id: str = Field(min_length=1, max_length=64)


class Memory:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def kv_set(self, params: dict[str, Any]) -> MemoryEntry:
        p = parse(KvSet, params)
        now = self.ctx.clock.now()
        expires = stamp(now + timedelta(seconds=p.ttl_seconds)) if p.ttl_seconds else None
        entry = MemoryEntry(scope=p.scope, key=p.key, value=p.value, expires_at=expires, updated_at=stamp(now))
        async with self.ctx.db.write() as w:
            await repo.kv_put(w, entry)
        self.ctx.bus.publish_topic("memory")
        return entry

    async def kv_get(self, params: dict[str, Any]) -> MemoryEntry:
        p = parse(KvKey, params)
        entry = await repo.kv_get(self.ctx.db, p.scope, p.key, self.ctx.now())
        if entry is None:
            raise BenchError("not_found", f"no live key {p.scope}/{p.key}", details={"key": p.key})
        return entry

    async def kv_delete(self, params: dict[str, Any]) -> dict[str, bool]:
        p = parse(KvKey, params)
        async with self.ctx.db.write() as w:
            deleted = await repo.kv_delete(w, p.scope, p.key)
        self.ctx.bus.publish_topic("memory")
        return {"deleted": deleted > 0}

    async def kv_list(self, params: dict[str, Any] | None = None) -> ListResult[MemoryEntry]:
        live = [("(expires_at IS NULL OR expires_at > ?)", self.ctx.now())]
        return await run_list(self.ctx.db, KV_LIST, parse(ListParams, params), MemoryEntry.from_row, live)

    async def blackboard_read(self, params: dict[str, Any]) -> BlackboardEntry:
        p = parse(BlackboardKey, params)
        entry = await repo.blackboard_get(self.ctx.db, p.key)
        if entry is None:
            raise BenchError("not_found", f"no blackboard entry {p.key}", details={"key": p.key})
        return entry

    async def blackboard_write(self, params: dict[str, Any]) -> BlackboardEntry:
        """Compare-and-set: a write against a version that moved on is rejected, never merged."""
        p = parse(BlackboardWrite, params)
        async with self.ctx.db.write() as w:
            current = await repo.blackboard_get(w, p.key)
            have = current.version if current else 0
            if have != p.expected_version:
                raise BenchError(
                    "stale_object",
                    f"blackboard {p.key} is at version {have}, not {p.expected_version}",
                    details={"version": have},
                )
            entry = BlackboardEntry(
                key=p.key, version=have + 1, value=p.value, updated_by=p.updated_by, updated_at=self.ctx.now()
            )
            await repo.blackboard_put(w, entry)
        self.ctx.bus.publish_topic("memory")
        return entry

    async def blackboard_list(self, params: dict[str, Any] | None = None) -> ListResult[BlackboardEntry]:
        return await run_list(self.ctx.db, BLACKBOARD_LIST, parse(ListParams, params), BlackboardEntry.from_row)

    async def note_add(self, params: dict[str, Any]) -> Note:
        p = parse(NoteAdd, params)
        now = self.ctx.now()
        note = Note(
            note_id=uuid.uuid4().hex[:12],
            title=p.title,
            body=p.body,
            tags=p.tags,
            source=p.source,
            created_at=now,
            updated_at=now,
        )
        async with self.ctx.db.write() as w:
            await repo.note_insert(w, note)
        self.ctx.bus.publish_topic("memory")
        return note

    async def note_list(self, params: dict[str, Any] | None = None) -> ListResult[Note]:
        return await run_list(self.ctx.db, NOTE_LIST, parse(ListParams, params), Note.from_row)

    async def note_delete(self, params: dict[str, Any]) -> dict[str, bool]:
        p = parse(NoteId, params)
        async with self.ctx.db.write() as w:
            deleted = await repo.note_delete(w, p.note_id)
        if not deleted:
            raise BenchError("not_found", f"no note {p.note_id}", details={"note_id": p.note_id})
        self.ctx.bus.publish_topic("memory")
        return {"deleted": True}
