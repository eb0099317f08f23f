"""Managed agents: launched by Relayboard from a preset or a policy-checked command, each in its own tmux
session (`rb-<name>`) on the configured socket, so they outlive the TUI and a dropped SSH link.

Every launch and restart asks the command policy (core/policy.py) first, for the command (custom preset only:
presets are configuration, trusted), the cwd and the env: a refusal is `policy_denied` before any session,
process or row exists. `app.policy.check` asks the same question without launching.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any, Literal

from pydantic import Field

from core.agents import Agents, InputRole, agent_in_pane, pane_of
from core.context import Context
from core.errors import BenchError
from core.policy import APP_POLICY_CHECK, Policy, PolicyCheckParams, PolicyVerdict, Verdict
from core.registry import Call
from core.validation import AgentName, Label, Params, parse
from storage import agents as repo
from storage.models import Agent, AgentKind, Pane

SESSION_PREFIX = "rb-"
KIND_BY_PRESET: dict[str, AgentKind] = {"claude": "claude", "codex": "codex", "shell": "shell"}


class LaunchParams(Params):
    name: AgentName  # also its tmux session's name (rb-<name>): no '.' or ':', which tmux would rewrite
    preset: Literal["claude", "codex", "shell", "custom"] = "shell"
    command: str | None = Field(default=None, max_length=4096, description="required for the custom preset")
    cwd: str = Field(min_length=1, max_length=4096)
    env: dict[str, str] = Field(default_factory=dict, max_length=64)
    role: InputRole = "worker"
    capability: Label = ""
    label: Label = ""
    project_path: Label = ""


class AgentIdParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)


LAUNCH = Call(
    "app.agent.launch", LaunchParams, Agent, "Launch a managed agent in its own tmux session rb-<name>.", mutates=True
)
KILL = Call(
    "app.agent.kill", AgentIdParams, Agent, "Stop an agent's process (a managed agent's session).", mutates=True
)
RESTART = Call("app.agent.restart", AgentIdParams, Agent, "Stop and start a managed agent again.", mutates=True)


def session_name(agent_name: str) -> str:
    return f"{SESSION_PREFIX}{agent_name}"


class Launcher:
    def __init__(self, ctx: Context, agents: Agents) -> None:
        self.ctx = ctx
        self.agents = agents
        self.policy = Policy.from_settings(ctx.settings)

    def _command(self, p: LaunchParams) -> tuple[str | None, str, AgentKind]:
        """(the command the policy judges: None for a preset, the preset's command, the agent kind)."""
        settings = self.ctx.settings
        if p.preset == "custom":
            if not p.command:
                raise BenchError("validation_failed", "the custom preset needs a command", field="command")
            return p.command, p.command, "other"
        if p.command:
            raise BenchError("validation_failed", "command is only for the custom preset", field="command")
        if p.preset not in settings.presets:
            raise BenchError("config_invalid", f"preset {p.preset} is not configured", field="presets")
        return None, settings.presets[p.preset], KIND_BY_PRESET[p.preset]

    async def _admit(self, command: str | None, cwd: str, env: dict[str, str]) -> Verdict:
        """The policy's verdict, or `policy_denied` (off the event loop: it resolves paths)."""
        verdict = await asyncio.to_thread(self.policy.check, command, cwd, env)
        return verdict.enforce()

    @APP_POLICY_CHECK.implementation
    async def check_policy(self, params: PolicyCheckParams | dict[str, Any]) -> PolicyVerdict:
        """What a custom launch of this command (in this cwd, with this env) would meet; read-only."""
        p = parse(PolicyCheckParams, params)
        verdict = await asyncio.to_thread(self.policy.check, p.command, p.cwd, p.env)
        return verdict.public()

    def _env(self, env: dict[str, str]) -> dict[str, str]:
        """The launch env plus the configured agent_path (configuration, so not subject to the env rules)."""
        extra = [str(p) for p in self.ctx.settings.agent_path]
        if extra and "PATH" not in env:
            env = {**env, "PATH": os.pathsep.join([*extra, os.environ.get("PATH", "")])}
        return env

    @LAUNCH.implementation
    async def launch(self, params: LaunchParams | dict[str, Any]) -> Agent:
        p = parse(LaunchParams, params)
        custom, command, kind = self._command(p)
        verdict = await self._admit(custom, p.cwd, p.env)
        if custom is not None and verdict.command is not None:
            command = verdict.command  # argv quoted again: the shell expands nothing the policy did not see
        cwd = str(verdict.cwd)
        env = self._env(p.env)
        if await repo.get_by_name(self.ctx.db, p.name):
            raise BenchError("validation_failed", f"an agent named {p.name!r} exists", field="name")
        session = session_name(p.name)
        if await self.ctx.tmux.has_session(session):
            raise BenchError(
                "conflict",
                f"a tmux session {session} already runs without an agent: adopt its pane (a) or end it first",
                field="name",
            )
        pane_id = await self.ctx.tmux.new_session(session, command, cwd, env)
        try:
            return await self._record_launch(p, session, pane_id, command, cwd, kind)
        except BaseException:
            # Whatever failed after the session started (a scan, the database): the session goes with it, so a
            # failed launch leaves neither a process nor a row behind.
            with contextlib.suppress(BenchError):
                await self.ctx.tmux.kill_session(session)
            raise

    async def _record_launch(
        self, p: LaunchParams, session: str, pane_id: str, command: str, cwd: str, kind: AgentKind
    ) -> Agent:
        live = await self.agents.refresh()
        pane = live.get(pane_id)
        if pane is None:
            raise BenchError("tmux_unavailable", f"the new session {session} vanished right after it started")
        now = self.ctx.now()
        agent = agent_in_pane(
            pane,
            now,
            name=p.name,
            role=p.role,
            capability=p.capability,
            kind=kind,
            label=p.label,
            project_path=p.project_path,
            managed=True,
            command=command,
            launch_cwd=cwd,
            launch_env=p.env,
            last_activity_at=now,
        )
        async with self.ctx.db.write() as w:
            await repo.insert(w, agent)
            # Env values can be secrets: the audit records their names only.
            event = await self.ctx.recorder.stage(
                w,
                "agent_launched",
                f"launched {p.name} ({p.preset}) in {session}",
                {"preset": p.preset, "command": command, "env_names": sorted(p.env)},
                agent_id=agent.agent_id,
            )
        self.ctx.recorder.committed(event)
        return agent

    @RESTART.implementation
    async def restart(self, params: AgentIdParams | dict[str, Any]) -> Agent:
        agent = await self.agents.get(parse(AgentIdParams, params).agent_id)
        if not agent.managed or not agent.command:
            raise BenchError(
                "conflict", f"{agent.name} was adopted, not launched: Relayboard does not know how to restart it"
            )
        try:
            live = await self.agents.refresh()
        except BenchError:
            live = {}  # no tmux server: new-session below starts one
        pane = pane_of(agent, live)
        # The policy may have changed since the launch: judged again before anything starts.
        custom = agent.command if agent.kind == "other" else None
        verdict = await self._admit(custom, agent.launch_cwd, agent.launch_env)
        cwd = str(verdict.cwd)
        session = session_name(agent.name)
        if pane is None:
            # Not where the agent last was (killed, or the server restarted): its rb- session, if one is left
            # behind, is this agent's by its name; otherwise one is started again under that name.
            pane = next(
                (p for p in live.values() if (p.session_name, p.window_index, p.pane_index) == (session, 0, 0)), None
            )
        created = None
        if pane is None:
            pane_id = await self.ctx.tmux.new_session(session, agent.command, cwd, self._env(agent.launch_env))
            created = session
        else:
            await self.ctx.tmux.respawn(pane.pane_id, agent.command, cwd, self._env(agent.launch_env))
            pane_id = pane.pane_id
        try:
            pane = (await self.agents.refresh()).get(pane_id)
            if pane is None:
                raise BenchError("tmux_unavailable", f"could not restart {agent.name}")
            return await self._relink(
                agent,
                pane.pane_id,
                pane.session_name,
                pane.window_index,
                pane.pane_index,
                "agent_restarted",
                f"restarted {agent.name}",
            )
        except BaseException:
            if created is not None:  # a restart that failed leaves no session of its own behind
                with contextlib.suppress(BenchError):
                    await self.ctx.tmux.kill_session(created)
            raise

    @KILL.implementation
    async def kill(self, params: AgentIdParams | dict[str, Any]) -> Agent:
        """Stop the agent's process: a managed agent's whole session, an adopted agent's pane. The agent row
        stays (state exited), so a managed agent can be restarted and its history kept."""
        agent = await self.agents.get(parse(AgentIdParams, params).agent_id)
        live = await self.agents.refresh()
        pane = pane_of(agent, live)
        if pane is not None:
            if agent.managed:
                await self.ctx.tmux.kill_session(pane.session_name)
            else:
                await self.ctx.tmux.kill_pane(pane.pane_id)
        with contextlib.suppress(BenchError):  # killing the last session ends the tmux server: that is success
            await self.agents.refresh()
        async with self.ctx.db.write() as w:
            await repo.update(
                w, agent.agent_id, {"state": "exited", "state_reason": "killed by the operator"}, self.ctx.now()
            )
            event = await self.ctx.recorder.stage(
                w, "agent_killed", f"killed {agent.name}", {"managed": agent.managed}, agent_id=agent.agent_id
            )
        self.ctx.recorder.committed(event)
        return await self.agents.get(agent.agent_id)

    async def _relink(
        self, agent: Agent, pane_id: str, session: str, window: int, index: int, event_type: str, summary: str
    ) -> Agent:
        changes = {
            "pane_id": pane_id,
            "session_name": session,
            "window_index": window,
            "pane_index": index,
            "state": "unknown",
            "state_reason": "just (re)started",
        }
        async with self.ctx.db.write() as w:
            await repo.update(w, agent.agent_id, changes, self.ctx.now())
            event = await self.ctx.recorder.stage(w, event_type, summary, {"pane_id": pane_id}, agent_id=agent.agent_id)
        self.ctx.recorder.committed(event)
        return await self.agents.get(agent.agent_id)

    async def relink_managed(self, agents: list[Agent], live: dict[str, Pane]) -> int:
        """After a restart of Relayboard, find managed agents whose pane id no longer matches by their session."""
        by_session = {p.session_name: p for p in live.values() if p.window_index == 0 and p.pane_index == 0}
        relinked = 0
        for agent in agents:
            if not agent.managed or pane_of(agent, live) is not None:
                continue
            pane = by_session.get(session_name(agent.name))
            if pane is not None:
                await self._relink(
                    agent,
                    pane.pane_id,
                    pane.session_name,
                    pane.window_index,
                    pane.pane_index,
                    "agent_relinked",
                    f"re-linked {agent.name} to {pane.pane_id}",
                )
                relinked += 1
        return relinked
