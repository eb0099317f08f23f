"""Shared memory for agents and the operator: session KV with TTL, a versioned blackboard, and notes.

Every write is an event (keys, versions and sizes; never the values, which may hold anything)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pydantic import Field

from core.clock import stamp
from core.context import Context
from core.errors import BenchError
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.registry import Call
from core.validation import SQLITE_INT_MAX, Label, Params, parse
from storage import memory as repo
from storage.models import BlackboardEntry, MemoryEntry, Model, Note

KEY = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"
MAX_VALUE = 64 * 1024
KV_LIST_SPEC = ListSpec(
    table="memory_kv",
    orders={"key": "key", "updated_at": "updated_at"},
    default_order="key:asc",
    filters=frozenset({"scope"}),
    tiebreak=("scope",),
)
BLACKBOARD_LIST_SPEC = ListSpec(
    table="blackboard",
    orders={"key": "key", "updated_at": "updated_at"},
    default_order="key:asc",
    filters=frozenset({"updated_by"}),
    tiebreak=("version",),
)
NOTE_LIST_SPEC = ListSpec(
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
    expected_version: int = Field(ge=0, le=SQLITE_INT_MAX, description="0 creates; otherwise the version you read")
    updated_by: str = Field(default="operator", max_length=64)


class NoteAdd(Params):
    title: Label = Field(min_length=1)
    body: str = Field(default="", max_length=MAX_VALUE)
    tags: list[str] = Field(default_factory=list, max_length=16)
    source: str = Field(default="operator", max_length=64)


class NoteId(Params):
    note_id: str = Field(min_length=1, max_length=64)


class Deleted(Model):
    deleted: bool


MEMORY_SET = Call("app.memory.set", KvSet, MemoryEntry, "Set a session key (optional time to live).", mutates=True)
MEMORY_GET = Call("app.memory.get", KvKey, MemoryEntry, "Read a live session key (expired reads as not_found).")
MEMORY_DELETE = Call("app.memory.delete", KvKey, Deleted, "Delete a session key.", mutates=True)
MEMORY_LIST = Call("app.memory.list", ListParams, ListResult[MemoryEntry], "Live session keys.")
BLACKBOARD_READ = Call(
    "app.blackboard.read", BlackboardKey, BlackboardEntry, "Read a blackboard entry and its version."
)
BLACKBOARD_WRITE = Call(
    "app.blackboard.write",
    BlackboardWrite,
    BlackboardEntry,
    "Compare-and-set write (stale version: stale_object).",
    mutates=True,
)
BLACKBOARD_LIST = Call("app.blackboard.list", ListParams, ListResult[BlackboardEntry], "Blackboard entries.")
NOTE_ADD = Call("app.note.add", NoteAdd, Note, "Add a note with tags.", mutates=True)
NOTE_LIST = Call("app.note.list", ListParams, ListResult[Note], "Notes, newest first.")
NOTE_DELETE = Call("app.note.delete", NoteId, Deleted, "Delete a note.", mutates=True)


class Memory:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @MEMORY_SET.implementation
    async def kv_set(self, params: KvSet | dict[str, Any]) -> MemoryEntry:
        p = parse(KvSet, params)
        now = self.ctx.clock.now()
        expires = stamp(now + timedelta(seconds=p.ttl_seconds)) if p.ttl_seconds else None
        entry = MemoryEntry(scope=p.scope, key=p.key, value=p.value, expires_at=expires, updated_at=stamp(now))
        async with self.ctx.db.write() as w:
            await repo.kv_put(w, entry)
            event = await self.ctx.recorder.stage(
                w,
                "memory_set",
                f"set {p.scope}/{p.key} ({len(p.value.encode())} bytes)",
                {"scope": p.scope, "key": p.key, "size": len(p.value.encode()), "expires_at": expires},
            )
        self.ctx.recorder.committed(event)
        return entry

    @MEMORY_GET.implementation
    async def kv_get(self, params: KvKey | dict[str, Any]) -> MemoryEntry:
        p = parse(KvKey, params)
        entry = await repo.kv_get(self.ctx.db, p.scope, p.key, self.ctx.now())
        if entry is None:
            raise BenchError("not_found", f"no live key {p.scope}/{p.key}", details={"key": p.key})
        return entry

    @MEMORY_DELETE.implementation
    async def kv_delete(self, params: KvKey | dict[str, Any]) -> Deleted:
        p = parse(KvKey, params)
        async with self.ctx.db.write() as w:
            deleted = await repo.kv_delete(w, p.scope, p.key) > 0
            event = await self.ctx.recorder.stage(
                w,
                "memory_deleted",
                f"deleted {p.scope}/{p.key}" if deleted else f"{p.scope}/{p.key} was not set",
                {"scope": p.scope, "key": p.key, "deleted": deleted},
            )
        self.ctx.recorder.committed(event)
        return Deleted(deleted=deleted)

    @MEMORY_LIST.implementation
    async def kv_list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[MemoryEntry]:
        live = [("(expires_at IS NULL OR expires_at > ?)", self.ctx.now())]
        return await run_list(self.ctx.db, KV_LIST_SPEC, parse(ListParams, params), MemoryEntry.from_row, live)

    @BLACKBOARD_READ.implementation
    async def blackboard_read(self, params: BlackboardKey | dict[str, Any]) -> BlackboardEntry:
        p = parse(BlackboardKey, params)
        entry = await repo.blackboard_get(self.ctx.db, p.key)
        if entry is None:
            raise BenchError("not_found", f"no blackboard entry {p.key}", details={"key": p.key})
        return entry

    @BLACKBOARD_WRITE.implementation
    async def blackboard_write(self, params: BlackboardWrite | dict[str, Any]) -> BlackboardEntry:
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
            event = await self.ctx.recorder.stage(
                w,
                "blackboard_written",
                f"wrote {p.key} v{entry.version} ({len(p.value.encode())} bytes)",
                {"key": p.key, "version": entry.version, "updated_by": p.updated_by, "size": len(p.value.encode())},
            )
        self.ctx.recorder.committed(event)
        return entry

    @BLACKBOARD_LIST.implementation
    async def blackboard_list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[BlackboardEntry]:
        return await run_list(self.ctx.db, BLACKBOARD_LIST_SPEC, parse(ListParams, params), BlackboardEntry.from_row)

    @NOTE_ADD.implementation
    async def note_add(self, params: NoteAdd | dict[str, Any]) -> Note:
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
            event = await self.ctx.recorder.stage(
                w, "note_added", f"note {note.title}", {"note_id": note.note_id, "tags": note.tags}
            )
        self.ctx.recorder.committed(event)
        return note

    @NOTE_LIST.implementation
    async def note_list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Note]:
        return await run_list(self.ctx.db, NOTE_LIST_SPEC, parse(ListParams, params), Note.from_row)

    @NOTE_DELETE.implementation
    async def note_delete(self, params: NoteId | dict[str, Any]) -> Deleted:
        p = parse(NoteId, params)
        async with self.ctx.db.write() as w:
            if not await repo.note_delete(w, p.note_id):
                raise BenchError("not_found", f"no note {p.note_id}", details={"note_id": p.note_id})
            event = await self.ctx.recorder.stage(
                w, "note_deleted", f"deleted note {p.note_id}", {"note_id": p.note_id}
            )
        self.ctx.recorder.committed(event)
        return Deleted(deleted=True)
