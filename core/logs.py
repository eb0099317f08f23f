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

from core.agents import Agents
from core.context import Context
from core.errors import BenchError
from core.validation import Params, parse
from storage.models import Agent, LogAttachment, Pane


class AttachParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)


def log_path(home: Path, agent: Agent) -> Path:
    return home / "logs" / f"{agent.name}.log"


class Logs:
    def __init__(self, ctx: Context, agents: Agents) -> None:
        self.ctx = ctx
        self.agents = agents

    async def get(self, agent_id: str) -> LogAttachment | None:
        row = await self.ctx.db.fetchone("SELECT * FROM log_attachments WHERE agent_id = ?", (agent_id,))
        return LogAttachment.from_row(row) if row else None

    async def attach(self, params: dict[str, Any]) -> LogAttachment:
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
        await self.ctx.tmux.pipe_pane(pane.pane_id, f"cat >> {shlex.quote(str(path))}")
        # The scan's view of this pane predates the pipe: mark it open so the next check does not reopen it.
        self.agents.live[pane.pane_id] = pane.model_copy(update={"pipe_open": True})
        return await self._record(agent, path, "active", "", "log_attached", f"attached log of {agent.name}")

    async def detach(self, params: dict[str, Any]) -> LogAttachment:
        agent = await self.agents.get(parse(AttachParams, params).agent_id)
        current = await self.get(agent.agent_id)
        if current is None or current.state == "detached":
            raise BenchError("not_found", f"{agent.name} has no log attached", details={"agent_id": agent.agent_id})
        pane = self.agents.live.get(agent.pane_id or "")
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
            await w.execute(
                "INSERT INTO log_attachments (agent_id, path, state, reason, attached_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET path = excluded.path,"
                " state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at,"
                " attached_at = CASE WHEN excluded.state = 'active' AND log_attachments.state != 'active'"
                " THEN excluded.attached_at ELSE log_attachments.attached_at END",
                (agent.agent_id, str(path), state, reason, now, now),
            )
            event = None
            if event_type:
                event = await self.ctx.recorder.stage(w, event_type, summary, {"state": state}, agent_id=agent.agent_id)
        if event:
            self.ctx.recorder.committed(event, topic="agents")
        else:
            self.ctx.bus.publish_topic("agents")
        attachment = await self.get(agent.agent_id)
        assert attachment is not None
        return attachment

    async def check(self, agents: list[Agent], live: dict[str, Pane]) -> None:
        """Keep attachments honest: re-open a closed pipe, mark degraded when the pane or the file is gone."""
        rows = await self.ctx.db.fetchall("SELECT * FROM log_attachments WHERE state != 'detached'")
        by_id = {a.agent_id: a for a in agents}
        for attachment in (LogAttachment.from_row(r) for r in rows):
            agent = by_id.get(attachment.agent_id)
            if agent is None:
                continue
            pane = live.get(agent.pane_id or "")
            path = Path(attachment.path)
            if pane is None or not pane.alive:
                state, reason = "degraded", "pane exited"
            elif not await asyncio.to_thread(path.exists):
                state, reason = "degraded", "log file is missing"
            else:
                if not pane.pipe_open:
                    await self.ctx.tmux.pipe_pane(pane.pane_id, f"cat >> {shlex.quote(str(path))}")
                state, reason = "active", ""
            if (state, reason) != (attachment.state, attachment.reason):
                await self._record(agent, path, state, reason, None, "")
