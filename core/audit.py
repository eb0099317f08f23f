"""Recording what happened: events go to the SQLite spine inside the caller's transaction, then (after the
commit) to the JSONL audit file and to the notice hub. A JSONL outage never blocks the commit; it is remembered and
reported by readiness.

Who is stamped on an event comes from the caller of the call being served (`calling_as`), not from whoever opened
the bench: the socket server serves the TUI, the CLI and agents from one process.
"""

from __future__ import annotations

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
from storage.db import Writer
from storage.models import Event, Origin, Surface

log = logging.getLogger(__name__)
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


class Recorder:
    def __init__(self, audit_path: Path, clock: Clock, scope: Scope, hub: NoticeHub) -> None:
        self.audit_path = audit_path
        self.clock = clock
        self.default_scope = scope  # when no call is being served: the bench's own loops
        self.hub = hub
        self.jsonl_failed = False

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
        return Event(
            event_id=str(uuid.uuid4()),
            timestamp=stamp(self.clock.now()),
            event_type=event_type,
            origin=origin or scope.origin,
            agent_id=agent_id,
            user_id=scope.user_id,
            surface_id=scope.surface,
            project_id=scope.project_id,
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
        seq = await events_repo.append(w, event)
        return event.model_copy(update={"seq": seq})

    def committed(self, *events: Event) -> None:
        for event in events:
            self._append_jsonl(event)
            self.hub.publish_event(event)

    def _append_jsonl(self, event: Event) -> None:
        try:
            with self.audit_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(event.model_dump(exclude={"seq"}), sort_keys=True) + "\n")
            self.jsonl_failed = False
        except OSError:
            # The spine already holds the event; readiness reports the audit file as degraded.
            log.warning("audit JSONL append failed", exc_info=True)
            self.jsonl_failed = True
