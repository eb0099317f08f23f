"""Pane logs: `pipe-pane` copies an agent's output into `<home>/logs/<agent>.log`.

Attachments are stored, so they are re-established after Relayboard or tmux restarts (`pipe-pane -o` opens a
pipe only where none is open), and a dead pane or a vanished file shows as degraded with the `attach_logs` hint.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Any

from pydantic import Field

from core.agents import Agents, pane_of
from core.context import Context
from core.errors import BenchError
from core.registry import Call
from core.terminal_text import readable
from core.validation import Params, parse
from storage import log_attachments as repo
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


class TailParams(AttachParams):
    max_bytes: int = Field(default=256 * 1024, ge=1, le=MAX_TAIL_BYTES, description="the last N bytes of the log")


class LogTail(Model):
    agent_id: str
    path: str
    size: int = Field(description="the file's size in bytes now")
    truncated: bool = Field(description="the log is longer than what is returned (its start is left out)")
    text: str = Field(description="the end of the log as the screen showed it: colours kept, other escapes dropped")


LOG_TAIL = Call("app.log.tail", TailParams, LogTail, "The end of an agent's attached log, as readable text.")


def _tail(path: Path, max_bytes: int) -> tuple[int, bool, str]:
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        start = max(0, size - max_bytes)
        handle.seek(start)
        data = handle.read(max_bytes)
    if start:
        data = data.split(b"\n", 1)[-1]  # a partial first line is left out
    return size, start > 0, readable(data.decode("utf-8", errors="replace"))


def append_to(path: Path) -> str:
    """The pipe-pane shell command that appends the pane's output to `path`."""
    return f"cat >> {shlex.quote(str(path))}"


def log_path(home: Path, agent: Agent) -> Path:
    return home / "logs" / f"{agent.name}.log"


class Logs:
    def __init__(self, ctx: Context, agents: Agents) -> None:
        self.ctx = ctx
        self.agents = agents

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
        try:
            size, truncated, text = await asyncio.to_thread(_tail, path, p.max_bytes)
        except OSError:
            raise BenchError(
                "log_attach_blocked",
                "the log file cannot be read (press l twice to attach it again)",
                details={"agent_id": p.agent_id, "reason": "unreadable", "path": str(path)},
            ) from None
        return LogTail(agent_id=p.agent_id, path=str(path), size=size, truncated=truncated, text=text)

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

    async def check(self, agents: list[Agent], live: dict[str, Pane]) -> None:
        """Keep attachments honest: re-open a closed pipe, mark degraded when the pane or the file is gone."""
        by_id = {a.agent_id: a for a in agents}
        for attachment in await repo.not_detached(self.ctx.db):
            agent = by_id.get(attachment.agent_id)
            if agent is None:
                continue
            pane = pane_of(agent, live)
            path = Path(attachment.path)
            if pane is None or not pane.alive:
                state, reason = "degraded", "pane exited"
            elif not await asyncio.to_thread(path.exists):
                state, reason = "degraded", "log file is missing"
            else:
                if not pane.pipe_open:
                    await self.ctx.tmux.pipe_pane(pane.pane_id, append_to(path))
                state, reason = "active", ""
            if (state, reason) != (attachment.state, attachment.reason):
                await self._record(agent, path, state, reason, None, "")
