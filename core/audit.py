"""Recording what happened: events go to the SQLite spine inside the caller's transaction, then (after the
commit) to the JSONL audit file and to the notice hub. A JSONL outage never blocks the commit: the spine keeps
every event, and the outage (since when, how many lines missed, which seqs) is recorded in the database, so any
process's readiness (another terminal's `doctor`) reports it until a line is written again. The first line written
after an outage is followed by an `audit_resumed` event, so the file itself says where its gap is.

Who is stamped on an event comes from the caller of the call being served (`calling_as`), not from whoever opened
the bench: the socket server serves the TUI, the CLI and agents from one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.clock import Clock, stamp
from core.notices import NoticeHub
from core.redaction import redact, redact_text
from storage import events as events_repo
from storage import settings as settings_repo
from storage.db import Database, Writer
from storage.errors import StorageError
from storage.models import Event, Origin, Surface

log = logging.getLogger(__name__)
AUDIT_OUTAGE = "audit_outage"  # settings key: the open outage of audit.jsonl, or null
SUMMARY_LIMIT = 512  # characters, cut after redaction (a secret cut first might no longer be recognised)
ORIGIN_BY_SURFACE: dict[str, Origin] = {
    "tui": "tui",
    "cli": "cli",
    "headless": "system",
    "agent": "agent",
    "scheduler": "scheduler",
}


@dataclass(frozen=True)
class Scope:
    """Who and where: stamped on every event recorded while serving this caller."""

    user_id: str
    surface: Surface
    project_id: str = ""

    @property
    def origin(self) -> Origin:
        return ORIGIN_BY_SURFACE[self.surface]


_CALLER: ContextVar[Scope | None] = ContextVar("relayboard_caller", default=None)


@contextlib.contextmanager
def calling_as(scope: Scope) -> Iterator[None]:
    """Stamp `scope` on everything recorded inside (it follows the call across awaits, not across tasks)."""
    token = _CALLER.set(scope)
    try:
        yield
    finally:
        _CALLER.reset(token)


def redacted(event: Event) -> Event:
    """`event` with every string field redacted (the same event when there was nothing to redact)."""
    data = event.model_dump()
    clean = redact(data)
    return event if clean == data else Event.model_validate(clean)


@dataclass
class AuditOutage:
    """audit.jsonl could not be written from `since`: `missed` lines, seqs `first_seq`..`last_seq` (in the spine)."""

    since: str
    missed: int
    first_seq: int | None
    last_seq: int | None
    error: str

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "missed": self.missed,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, value: Any) -> AuditOutage | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                since=str(value["since"]),
                missed=int(value["missed"]),
                first_seq=None if value.get("first_seq") is None else int(value["first_seq"]),
                last_seq=None if value.get("last_seq") is None else int(value["last_seq"]),
                error=str(value.get("error", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def describe(self) -> str:
        seqs = f", seq {self.first_seq}-{self.last_seq}" if self.first_seq is not None else ""
        lines = "line" if self.missed == 1 else "lines"
        return f"{self.missed} audit {lines} not written since {self.since} (the database keeps them{seqs})"


async def recorded_outage(db: Database) -> AuditOutage | None:
    """The outage a process of this home recorded and no process has ended yet."""
    return AuditOutage.from_json(await settings_repo.get(db, AUDIT_OUTAGE))


class Recorder:
    def __init__(
        self, audit_path: Path, clock: Clock, scope: Scope, hub: NoticeHub, db: Database | None = None
    ) -> None:
        self.audit_path = audit_path
        self.clock = clock
        self.default_scope = scope  # when no call is being served: the bench's own loops
        self.hub = hub
        self.db = db  # where an outage is recorded (None: remembered by this process only)
        self.outage: AuditOutage | None = None
        self._ended: list[AuditOutage] = []
        self._sync_lock = asyncio.Lock()
        self._syncs: set[asyncio.Task[None]] = set()

    @property
    def jsonl_failed(self) -> bool:
        return self.outage is not None

    async def load_outage(self) -> None:
        """On open: an outage a previous process left open is this process's to end (or to go on counting)."""
        if self.db is not None:
            self.outage = await recorded_outage(self.db)

    @property
    def scope(self) -> Scope:
        return _CALLER.get() or self.default_scope

    def build(
        self,
        event_type: str,
        summary: str,
        payload: dict[str, Any] | None = None,
        *,
        agent_id: str | None = None,
        origin: Origin | None = None,
        parent: Event | None = None,
        run_id: str | None = None,
        step_id: str | None = None,
    ) -> Event:
        scope = self.scope
        # Every string of the event is redacted here, the one place events are made: summary, payload (keys too,
        # at any depth) and the ids a caller or a scope supplies. Nothing is stored, audited or published raw.
        given = redact(
            {
                "event_type": event_type,
                "agent_id": agent_id,
                "user_id": scope.user_id,
                "project_id": scope.project_id,
                "run_id": run_id,
                "step_id": step_id,
                "summary": summary,
                "payload": payload or {},
            }
        )
        return Event(
            event_id=str(uuid.uuid4()),
            timestamp=stamp(self.clock.now()),
            origin=origin or scope.origin,
            surface_id=scope.surface,
            parent_event_id=parent.event_id if parent else None,
            trace_id=parent.trace_id if parent else uuid.uuid4().hex,
            span_id=uuid.uuid4().hex[:16],
            **{**given, "summary": given["summary"][:SUMMARY_LIMIT]},
        )

    async def stage(
        self, w: Writer, event_type: str, summary: str, payload: dict[str, Any] | None = None, **kwargs: Any
    ) -> Event:
        """Append inside the caller's transaction; call `committed` after it commits."""
        event = self.build(event_type, summary, payload, **kwargs)
        seq = await events_repo.append(w, event)
        return event.model_copy(update={"seq": seq})

    def committed(self, *events: Event) -> None:
        for event in events:
            event = redacted(event)  # built by `build` already (then this changes nothing): for any other caller
            self._append_jsonl(event)
            self.hub.publish_event(event)

    def _append_jsonl(self, event: Event) -> None:
        line = json.dumps(event.model_dump(exclude={"seq"}), sort_keys=True) + "\n"
        try:
            with self.audit_path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        except OSError as exc:
            # The spine already holds the event; the outage is counted and recorded for every process to see.
            log.warning("audit JSONL append failed", exc_info=True)
            error = redact_text(exc.strerror or type(exc).__name__)  # no path: readiness may be read remotely
            seq = event.seq or None  # 0: an event that never reached the spine
            if self.outage is None:
                self.outage = AuditOutage(stamp(self.clock.now()), 0, seq, seq, error)
            self.outage.missed += 1
            if self.outage.first_seq is None:
                self.outage.first_seq = seq
            self.outage.last_seq = seq or self.outage.last_seq
            self.outage.error = error
            self._schedule_sync()
            return
        if self.outage is not None:
            self._ended.append(self.outage)
            self.outage = None
            self._schedule_sync()

    def _schedule_sync(self) -> None:
        if self.db is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._sync())
        except RuntimeError:  # no loop (a synchronous caller): this process still reports it
            return
        self._syncs.add(task)
        task.add_done_callback(self._syncs.discard)

    async def _sync(self) -> None:
        """Write the outage as it stands now (or its end, with an `audit_resumed` event per ended outage).
        Serialised, and always the latest state: a later sync never writes an older one."""
        assert self.db is not None
        async with self._sync_lock:
            ended, self._ended = self._ended, []
            events: list[Event] = []
            try:
                async with self.db.write() as w:
                    for outage in ended:
                        events.append(
                            await self.stage(
                                w,
                                "audit_resumed",
                                f"audit.jsonl written again: {outage.describe()}",
                                outage.to_json(),
                            )
                        )
                    await settings_repo.put(
                        w, AUDIT_OUTAGE, self.outage.to_json() if self.outage else None, stamp(self.clock.now())
                    )
            except StorageError:
                log.warning("could not record the audit outage", exc_info=True)
                self._ended = ended + self._ended  # told next time
                return
            self.committed(*events)

    async def flush(self) -> None:
        """Wait for outage records in flight (before the database closes)."""
        while self._syncs:
            await asyncio.gather(*list(self._syncs), return_exceptions=True)
