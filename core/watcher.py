"""The agent watcher (a service): every few seconds, one batched tmux scan, one batched capture of the panes whose
window showed activity, state detection by rules, and log-attachment health. Only changes are written and
published, so an idle bench costs one `list-panes` per tick. Every state change is an event on the spine
(`agent_state_changed`, with the why), so what an agent did while no TUI was open can be read back."""

from __future__ import annotations

import hashlib
import logging
import time

from core.agent_state import IN_DOUBT, RuleSet, Signals, Verdict, Vote, decide, detect, rules_from
from core.agents import WATCHED_LINES, Agents, pane_of
from core.audit import Scope
from core.context import Context
from core.errors import BenchError
from core.launcher import Launcher
from core.logs import Logs
from core.process_signal import ProcessReader, judge
from core.registry import Call
from core.services import LoopService
from core.validation import Params
from storage import agents as repo
from storage.models import Agent, Event, Model

log = logging.getLogger(__name__)
CAPTURE_LINES = WATCHED_LINES


class RefreshResult(Model):
    changed: int  # agents whose state changed in this pass


REFRESH_STATES = Call(
    "app.agent.refresh_states", Params, RefreshResult, "Run one agent-state detection pass now.", mutates=True
)


class AgentWatcher(LoopService):
    name = "agent_watcher"

    def __init__(self, ctx: Context, agents: Agents, launcher: Launcher, logs: Logs) -> None:
        super().__init__(lambda: ctx.settings.watch_seconds, Scope(ctx.settings.user_id, "headless", ""))
        self.ctx = ctx
        self.agents = agents
        self.launcher = launcher
        self.logs = logs
        self.rules: RuleSet = rules_from(ctx.settings.rules_file)
        self.processes = ProcessReader()
        self.process_reads = 0  # /proc looks taken (panes in doubt), for tests and benchmarks
        self.ask_processes = True  # False: the screen alone decides (benchmarks/tmux_scan measures the difference)
        self.last_error = ""  # why tmux could not be scanned on the last tick ("" when it could)

    async def tick(self) -> int:
        """One look at every agent; returns how many agents changed state."""
        try:
            live = await self.agents.refresh()
        except BenchError as exc:
            self.last_error = exc.message
            live = {}
        else:
            self.last_error = ""
        agents = await self._agents()
        if live and await self.launcher.relink_managed(agents, live):
            agents = await self._agents()  # judge the re-linked agents by their new panes in this same pass
        panes = {a.agent_id: pane_of(a, live) for a in agents}
        # Capture a pane when its window showed activity in or after the second of the last capture. tmux's
        # activity clock has one-second steps, so output in the same second as a capture may have come after
        # it: such a pane is looked at once more on the next tick, and then not again until it moves.
        stale = [
            a
            for a in agents
            if (p := panes[a.agent_id])
            and p.alive
            and (p.pane_id not in self.agents.screens or p.activity >= self.agents.screens[p.pane_id][0])
        ]
        captured_second = int(time.time())
        for gone in set(self.agents.screens) - set(live):
            del self.agents.screens[gone]
        screens = await self.ctx.tmux.capture_many([a.pane_id or "" for a in stale], CAPTURE_LINES) if stale else {}
        changed = 0
        updates: list[tuple[Agent, dict[str, object]]] = []
        now = self.ctx.now()
        for agent in agents:
            pane = panes[agent.agent_id]
            if pane is None and not live and self.last_error:
                # tmux itself is unreachable: nothing is known of any agent (readiness says why and the fix).
                verdict = Verdict("unknown", "tmux server unavailable", "")
                if (agent.state, agent.state_reason) != (verdict.state, verdict.why):
                    updates.append((agent, {"state": verdict.state, "state_reason": verdict.why}))
                    changed += 1
                continue
            fresh = screens.get(agent.pane_id or "")
            if pane is not None and fresh is not None:
                self.agents.screens[pane.pane_id] = (captured_second, fresh)
            # Every agent is judged every tick (its command or death may have changed without output); a pane
            # not captured this time is judged on its last screen.
            screen = self.agents.screens.get(pane.pane_id, (0, ""))[1] if pane is not None else ""
            digest = hashlib.sha1(fresh.encode(), usedforsecurity=False).hexdigest() if fresh is not None else ""
            moved = fresh is not None and digest != agent.screen_hash
            verdict = detect(
                Signals(
                    kind=agent.kind,
                    dead=pane is None or not pane.alive,
                    command=pane.current_command if pane else "",
                    screen=screen,
                    changed=moved,
                ),
                self.rules,
            )
            if self.ask_processes and pane is not None and pane.alive and verdict.confidence < IN_DOUBT:
                # In doubt: ask the kernel what the foreground process is blocked in (a few small /proc reads).
                signal = judge(self.processes.observe(pane.pid, time.monotonic()))
                self.process_reads += 1
                verdict = decide(verdict, Vote("process", signal.state, signal.confidence, signal.why))
            change: dict[str, object] = {}
            if (verdict.state, verdict.why) != (agent.state, agent.state_reason):
                change |= {"state": verdict.state, "state_reason": verdict.why}
            if moved:
                change |= {"screen_hash": digest, "last_activity_at": now}
            if change:
                updates.append((agent, change))
                changed += "state" in change
        self.processes.forget({p.pid for p in live.values() if p.pid is not None})
        # Every screen now matches this tick's scan: previews may show them instead of asking tmux again.
        self.agents.screens_as_of = self.agents.live_wall if live else 0.0
        events: list[Event] = []
        if updates:
            async with self.ctx.db.write() as w:
                for agent, change in updates:
                    await repo.set_observed(w, agent.agent_id, change)
                    if change.get("state", agent.state) != agent.state:  # a new why alone is not an event
                        events.append(
                            await self.ctx.recorder.stage(
                                w,
                                "agent_state_changed",
                                f"{agent.name}: {agent.state} → {change['state']} ({change['state_reason']})",
                                {"from": agent.state, "to": change["state"], "why": change["state_reason"]},
                                agent_id=agent.agent_id,
                                origin="system",
                            )
                        )
        self.ctx.recorder.committed(*events)
        await self.logs.check(agents, live)
        return changed

    async def _agents(self) -> list[Agent]:
        rows = await self.ctx.db.fetchall("SELECT * FROM agents WHERE socket = ?", (self.ctx.tmux.socket_label,))
        return [Agent.from_row(r) for r in rows]
