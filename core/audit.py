"""Recording what happened: events go to the SQLite spine inside the caller's transaction, then (after the
commit) to the JSONL audit file and to live subscribers. A JSONL outage never blocks the commit; it is
remembered and reported by readiness."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.clock import Clock, stamp
from core.security import redact, redact_text
from storage import events as events_repo
from storage.db import Writer
from storage.models import Event, Origin, Surface

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """What subscribers receive: a committed event, or a topic whose data changed without one."""

    topic: str  # "event", "agents", "queue", "routes", "memory", "tokens", "panes", "readiness"
    event: Event | None = None


Subscriber = Callable[[Notice], None]


class EventBus:
    """Fan-out of notices to in-process subscribers; a failing subscriber is logged and kept out of the core."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def publish(self, notice: Notice) -> None:
        for callback in list(self._subscribers):
            try:
                callback(notice)
            except Exception:
                log.exception("event subscriber failed")

    def publish_topic(self, topic: str) -> None:
        self.publish(Notice(topic))

    async def stream(self) -> Any:
        """Async iterator over notices, for consumers that prefer `async for`."""
        queue: asyncio.Queue[Notice] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()


@dataclass(frozen=True)
class Scope:
    """Who and where: stamped on every event this bench records."""

    user_id: str
    surface: Surface
    project_id: str = ""

    @property
    def origin(self) -> Origin:
        return {"tui": "tui", "cli": "cli", "headless": "system", "agent": "agent", "scheduler": "scheduler"}[
            self.surface
        ]


class Recorder:
    def __init__(self, audit_path: Path, clock: Clock, scope: Scope, bus: EventBus) -> None:
        self.audit_path = audit_path
        self.clock = clock
        self.scope = scope
        self.bus = bus
        self.jsonl_failed = False

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
        return Event(
            event_id=str(uuid.uuid4()),
            timestamp=stamp(self.clock.now()),
            event_type=event_type,
            origin=origin or self.scope.origin,
            agent_id=agent_id,
            user_id=self.scope.user_id,
            surface_id=self.scope.surface,
            project_id=self.scope.project_id,
            run_id=run_id,
            step_id=step_id,
            parent_event_id=parent.event_id if parent else None,
            trace_id=parent.trace_id if parent else uuid.uuid4().hex,
            span_id=uuid.uuid4().hex[:16],
            summary=redact_text(summary)[:512],
            payload=redact(payload or {}),
        )

    async def stage(
        self, w: Writer, event_type: str, summary: str, payload: dict[str, Any] | None = None, **kwargs: Any
    ) -> Event:
        """Append inside the caller's transaction; call `committed` after it commits."""
        event = self.build(event_type, summary, payload, **kwargs)
        await events_repo.append(w, event)
        return event

    def committed(self, *events: Event, topic: str | None = None) -> None:
        for event in events:
            self._append_jsonl(event)
            self.bus.publish(Notice("event", event))
        if topic:
            self.bus.publish(Notice(topic))

    def _append_jsonl(self, event: Event) -> None:
        try:
            with self.audit_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(event.model_dump(), sort_keys=True) + "\n")
            self.jsonl_failed = False
        except OSError:
            # The spine already holds the event; readiness reports the audit file as degraded.
            log.warning("audit JSONL append failed", exc_info=True)
            self.jsonl_failed = True
