"""Pane logs: `pipe-pane` copies an agent's output into `<home>/logs/<agent>.log`.

Attachments are stored, so they are re-established after Relayboard or tmux restarts (`pipe-pane -o` opens a
pipe only where none is open), and a dead pane or a vanished file shows as degraded with the `attach_logs` hint.
"""

from __future__ import annotations

import asyncio
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from core.agents import Agents, pane_of
from core.clock import stamp
from core.context import Context
from core.errors import BenchError
from core.registry import Call
from core.terminal_text import readable
from core.validation import Params, parse
from storage import log_attachments as repo
from storage import log_marks as marks
from storage.models import Agent, LogAttachment, Model, Pane


class AttachParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)


LOG_ATTACH = Call(
    "app.log.attach", AttachParams, LogAttachment, "Pipe an agent's pane output into logs/<name>.log.", mutates=True
)
LOG_DETACH = Call("app.log.detach", AttachParams, LogAttachment, "Stop logging an agent's pane.", mutates=True)
LOG_DETAIL = Call(
    "app.log.detail", AttachParams, LogAttachment, "An agent's log attachment: path, state and why (not_found: none)."
)


MAX_TAIL_BYTES = 1024 * 1024


PRUNE_EVERY = 500


class TailParams(AttachParams):
    max_bytes: int = Field(default=256 * 1024, ge=1, le=MAX_TAIL_BYTES, description="the last N bytes of the log")
    since: str | None = Field(
        default=None,
        max_length=64,
        description="instead of the end: what was written from this time on (to within one watch interval; "
        "ISO 8601 with a zone, e.g. 2026-12-02T14:05:00Z), at most max_bytes of it",
    )

    @field_validator("since")
    @classmethod
    def _a_time(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("an ISO 8601 time such as 2026-12-02T14:05:00Z") from None
        if at.tzinfo is None:
            raise ValueError("a time with its zone (Z or +HH:MM): a bare time could be any zone")
        try:
            return stamp(at)  # the storage form: compared as text with the marks' times
        except OverflowError:  # 9999-12-31T23:59-01:00 is past the last time UTC can hold
            raise ValueError("a time within years 1 to 9999 in UTC") from None


class LogTail(Model):
    agent_id: str
    path: str
    size: int = Field(description="the file's size in bytes now")
    truncated: bool = Field(description="the log is longer than what is returned (its start is left out)")
    text: str = Field(description="the end of the log as the screen showed it: colours kept, other escapes dropped")
    start: int = Field(default=0, description="the byte offset of the log the text starts at")


LOG_TAIL = Call("app.log.tail", TailParams, LogTail, "The end of an agent's attached log, as readable text.")


def _tail(path: Path, max_bytes: int, start: int | None = None) -> tuple[int, int, bool, str]:
    """(size, start, truncated, text): the last `max_bytes`, or with `start` the `max_bytes` from there on."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        first = max(0, size - max_bytes) if start is None else min(start, size)
        handle.seek(first)
        data = handle.read(max_bytes)
    if start is None and first:
        cut = data.find(b"\n") + 1  # a partial first line is left out (0: no newline, nothing is left out)
        data, first = data[cut:], first + cut
    truncated = first > 0 if start is None else first + len(data) < size
    # (with the partial line left out, `first` is where the text starts: what `start` reports)
    return size, first, truncated, readable(data.decode("utf-8", errors="replace"))


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def append_to(path: Path) -> str:
    """The pipe-pane shell command that appends the pane's output to `path`."""
    return f"cat >> {shlex.quote(str(path))}"


def log_path(home: Path, agent: Agent) -> Path:
    return home / "logs" / f"{agent.name}.log"


class Logs:
    def __init__(self, ctx: Context, agents: Agents) -> None:
        self.ctx = ctx
        self.agents = agents
        self._sizes: dict[str, int] = {}  # agent -> its log's size at the last mark
        self._marked = 0

    async def get(self, agent_id: str) -> LogAttachment | None:
        return await repo.get(self.ctx.db, agent_id)

    @LOG_DETAIL.implementation
    async def detail(self, params: AttachParams | dict[str, Any]) -> LogAttachment:
        agent = await self.agents.get(parse(AttachParams, params).agent_id)
        attachment = await self.get(agent.agent_id)
        if attachment is None:
            raise BenchError(
                "not_found", f"{agent.name} never had a log attached", details={"agent_id": agent.agent_id}
            )
        return attachment

    @LOG_TAIL.implementation
    async def tail(self, params: TailParams | dict[str, Any]) -> LogTail:
        p = parse(TailParams, params)
        attachment = await self.detail({"agent_id": p.agent_id})
        path = Path(attachment.path)
        start = None
        if p.since is not None:
            start = await marks.size_at(self.ctx.db, p.agent_id, p.since)
        try:
            size, first, truncated, text = await asyncio.to_thread(_tail, path, p.max_bytes, start)
        except OSError:
            raise BenchError(
                "log_attach_blocked",
                "the log file cannot be read (press l twice to attach it again)",
                details={"agent_id": p.agent_id, "reason": "unreadable", "path": str(path)},
            ) from None
        return LogTail(agent_id=p.agent_id, path=str(path), size=size, truncated=truncated, text=text, start=first)

    @LOG_ATTACH.implementation
    async def attach(self, params: AttachParams | dict[str, Any]) -> LogAttachment:
        agent = await self.agents.get(parse(AttachParams, params).agent_id)
        pane = await self.agents.live_pane(agent)
        if pane is None or not pane.alive:
            raise BenchError(
                "log_attach_blocked",
                f"{agent.name}'s pane is gone or dead",
                details={"agent_id": agent.agent_id, "reason": "pane_dead"},
            )
        path = log_path(self.ctx.home, agent)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(path.touch, exist_ok=True)
        await self.ctx.tmux.pipe_pane(pane.pane_id, append_to(path))
        # The scan's view of this pane predates the pipe: mark it open so the next check does not reopen it.
        self.agents.live[pane.pane_id] = pane.model_copy(update={"pipe_open": True})
        return await self._record(agent, path, "active", "", "log_attached", f"attached log of {agent.name}")

    @LOG_DETACH.implementation
    async def detach(self, params: AttachParams | dict[str, Any]) -> LogAttachment:
        agent = await self.agents.get(parse(AttachParams, params).agent_id)
        current = await self.get(agent.agent_id)
        if current is None or current.state == "detached":
            raise BenchError("not_found", f"{agent.name} has no log attached", details={"agent_id": agent.agent_id})
        pane = pane_of(agent, self.agents.live)
        if pane is not None and pane.alive:
            await self.ctx.tmux.pipe_pane(pane.pane_id, None)
        return await self._record(
            agent, Path(current.path), "detached", "", "log_detached", f"detached log of {agent.name}"
        )

    async def _record(
        self, agent: Agent, path: Path, state: str, reason: str, event_type: str | None, summary: str
    ) -> LogAttachment:
        now = self.ctx.now()
        async with self.ctx.db.write() as w:
            await repo.put(w, agent.agent_id, str(path), state, reason, now)
            event = None
            if event_type:
                event = await self.ctx.recorder.stage(w, event_type, summary, {"state": state}, agent_id=agent.agent_id)
        if event:
            self.ctx.recorder.committed(event)
        else:
            self.ctx.hub.publish_topic("agents")
        attachment = await self.get(agent.agent_id)
        assert attachment is not None
        return attachment

    async def _mark(self, agent_id: str, size: int) -> None:
        """Note the log's size now if it changed since the last mark (the index of the jump to a time)."""
        last = self._sizes.get(agent_id)
        if last is None:
            last = self._sizes[agent_id] = await marks.last(self.ctx.db, agent_id) or 0
        if size == last:
            return
        async with self.ctx.db.write() as w:
            if size < last:
                await marks.drop_past(w, agent_id, size)  # truncated or replaced: those marks point nowhere
            await marks.add(w, agent_id, self.ctx.now(), size)
            self._marked += 1
            if self._marked % PRUNE_EVERY == 0:
                await marks.prune(w, agent_id, marks.MARKS_KEPT)
        self._sizes[agent_id] = size

    async def check(self, agents: list[Agent], live: dict[str, Pane]) -> None:
        """Keep attachments honest: re-open a closed pipe, mark degraded when the pane or the file is gone."""
        by_id = {a.agent_id: a for a in agents}
        for attachment in await repo.not_detached(self.ctx.db):
            agent = by_id.get(attachment.agent_id)
            if agent is None:
                continue
            pane = pane_of(agent, live)
            path = Path(attachment.path)
            size = await asyncio.to_thread(_size, path)
            if size is not None:
                await self._mark(agent.agent_id, size)
            if pane is None or not pane.alive:
                state, reason = "degraded", "pane exited"
            elif size is None:
                state, reason = "degraded", "log file is missing"
            else:
                if not pane.pipe_open:
                    await self.ctx.tmux.pipe_pane(pane.pane_id, append_to(path))
                state, reason = "active", ""
            if (state, reason) != (attachment.state, attachment.reason):
                await self._record(agent, path, state, reason, None, "")
