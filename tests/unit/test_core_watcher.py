"""The agent watcher on real panes: states and their why for a shell agent, one batched capture per tick and
none when nothing moved, and the watcher loop itself."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from core import calls
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from storage.models import Agent
from tests.unit.agent_helpers import (
    drain,
    eventually,
    failure,
    launch_shell,
    live_pane,
    stop_server,
    tmux,
    wait_for_command,
    wait_for_dead,
    wait_for_prompt,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tmux_bin")]
IDLE_WHY = "shell prompt (bash in the foreground)"


async def _state(bench: Bench, agent: Agent) -> tuple[str, str]:
    found = await bench.agents.get(agent.agent_id)
    return found.state, found.state_reason


async def _until_state(bench: Bench, agent: Agent, state: str) -> tuple[str, str]:
    """Run watcher passes until the agent reaches `state`."""

    async def probe() -> tuple[str, str] | None:
        await bench.refresh_states()
        current = await _state(bench, agent)
        return current if current[0] == state else None

    return await eventually(probe, what=f"{agent.name} {state}")


async def _next_second() -> None:
    """Wait for the start of the next wall-clock second. tmux's window_activity, which the watcher compares to
    decide whether to capture, has one-second resolution."""
    await asyncio.sleep(1.0 - time.time() % 1.0 + 0.01)


async def _interrupt(bench: Bench, agent: Agent) -> None:
    await asyncio.to_thread(bench.ctx.tmux._run, "send-keys", "-t", agent.pane_id or "", "C-c")
    await wait_for_command(bench, agent, "bash")


async def test_shell_agent_idle_working_exited(bench: Bench, workdir: Path) -> None:
    agent = await launch_shell(bench, "life", workdir)
    assert await _state(bench, agent) == ("unknown", "")
    assert (await calls.call(bench, "app.agent.refresh_states", {})).model_dump() == {"changed": 1}
    assert await _state(bench, agent) == ("idle", IDLE_WHY)
    assert (await bench.refresh_states()).model_dump() == {"changed": 0}
    found = await bench.agents.get(agent.agent_id)
    assert found.version == agent.version  # what the watcher observes is not an edit
    assert found.last_activity_at is not None

    await _next_second()
    await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "sleep 30"})
    await wait_for_command(bench, agent, "sleep")
    _, why = await _until_state(bench, agent, "working")
    assert why.startswith("sleep is running"), why

    await _interrupt(bench, agent)
    await _until_state(bench, agent, "idle")
    await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "exit"})
    await wait_for_dead(bench, agent)
    assert (await bench.refresh_states()).model_dump() == {"changed": 1}
    assert await _state(bench, agent) == ("exited", "pane exited")
    assert (await bench.refresh_states()).model_dump() == {"changed": 0}
    dashboard = await bench.dashboard()
    assert dashboard.counts.agents["by_state"]["exited"] == 1


async def test_a_command_started_in_the_same_second_is_noticed(bench: Bench, workdir: Path) -> None:
    agent = await launch_shell(bench, "quick", workdir)
    await bench.refresh_states()
    for _ in range(3):
        await _next_second()
        await bench.ctx.tmux.send_text(agent.pane_id or "", "true", True)  # output now: activity = this second
        await drain(bench, agent)
        await bench.refresh_states()  # captures, remembering this second's activity
        before = await live_pane(bench, agent)
        await bench.ctx.tmux.send_text(agent.pane_id or "", "sleep 30", True)
        after = await wait_for_command(bench, agent, "sleep")
        if before is not None and after.activity == before.activity:
            break
        await _interrupt(bench, agent)  # crossed into the next second: try again
    else:
        raise RuntimeError("could not start sleep within the second of the last capture")
    await bench.refresh_states()
    assert (await _state(bench, agent))[0] == "working"


async def test_idle_ticks_capture_nothing_and_busy_ones_capture_in_one_batch(
    bench: Bench, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = [await launch_shell(bench, f"w{i}", workdir) for i in range(3)]
    adapter = bench.ctx.tmux
    captures: list[list[str]] = []
    scans: list[int] = []
    real_capture, real_list = adapter.capture_many, adapter.list_panes

    async def capture_many(pane_ids: list[str], lines: int = 40) -> dict[str, str]:
        captures.append(list(pane_ids))
        return await real_capture(pane_ids, lines)

    async def list_panes(now: str) -> Any:
        scans.append(1)
        return await real_list(now)

    monkeypatch.setattr(adapter, "capture_many", capture_many)
    monkeypatch.setattr(adapter, "list_panes", list_panes)

    assert (await bench.refresh_states()).model_dump() == {"changed": 3}
    assert [sorted(c) for c in captures] == [sorted(a.pane_id or "" for a in agents)]  # one tmux call for all
    assert len(scans) == 1
    # Output in the second of a capture may have come after it, so a pane is looked at once more in a later
    # second; from then on an idle pane costs no capture.
    await _next_second()
    await bench.refresh_states()
    captures.clear()
    for _ in range(3):
        assert (await bench.refresh_states()).model_dump() == {"changed": 0}
    assert captures == []  # idle: one list-panes per tick, no capture
    assert len(scans) == 5

    await _next_second()
    await bench.ctx.tmux.send_text(agents[1].pane_id or "", "echo moved", True)
    await drain(bench, agents[1])
    captures.clear()
    await bench.refresh_states()
    assert captures == [[agents[1].pane_id]]
    found = await bench.agents.get(agents[1].agent_id)
    assert (found.state, found.state_reason) == ("idle", IDLE_WHY)


async def test_refresh_states_takes_no_params(bench: Bench) -> None:
    error = await failure(calls.call(bench, "app.agent.refresh_states", {"agent_id": "x"}))
    assert (error.code, error.details["field"]) == ("validation_failed", "agent_id")


async def test_watcher_loop_detects_without_being_asked(
    bench_home: Path, settings: Settings, fixed_clock: FixedClock, workdir: Path
) -> None:
    fast = settings.model_copy(update={"watch_seconds": 0.5})
    async with await Bench.open(bench_home, settings=fast, clock=fixed_clock) as bench:
        agent = await launch_shell(bench, "watched", workdir)
        await bench.start()
        await bench.watcher.start()  # idempotent: still one loop
        assert bench.watcher.running
        tmux_row = (await bench.readiness()).subsystem("tmux_discovery")
        assert tmux_row.detail.endswith(", states every 0.5 s")

        async def idle() -> bool:
            return await _state(bench, agent) == ("idle", IDLE_WHY)

        await eventually(idle, what="the watcher loop to mark the shell idle")
        await bench.watcher.stop()
        assert not bench.watcher.running
        assert not (await bench.readiness()).subsystem("tmux_discovery").detail.endswith("s")


async def test_while_tmux_is_down_agents_read_unknown_not_their_last_state(
    bench: Bench, workdir: Path, tmux_socket: str
) -> None:
    # A first session takes pane id %0, so the agent's id is not reused by the next server (that is a bug of its
    # own: test_core_launcher.py::test_a_reused_pane_id_after_a_server_restart_is_not_trusted).
    await bench.ctx.tmux.new_session("first", "bash", str(workdir))
    agent = await launch_shell(bench, "steady", workdir)
    assert agent.pane_id != "%0"
    await bench.refresh_states()
    stop_server(tmux_socket)
    assert (await bench.refresh_states()).model_dump() == {"changed": 1}
    assert await _state(bench, agent) == ("unknown", "tmux server unavailable")  # not "idle": nobody knows
    assert (await bench.refresh_states()).model_dump() == {"changed": 0}  # said once
    assert bench.watcher.last_error == f"no tmux server is running on socket {tmux_socket!r}"
    # A server is back, without the agent's session: now the pane is known to be gone.
    tmux(tmux_socket, "new-session", "-d", "-s", "other")
    assert (await bench.refresh_states()).model_dump() == {"changed": 1}
    assert await _state(bench, agent) == ("exited", "pane exited")
    assert bench.watcher.last_error == ""
    restarted = await calls.call(bench, "app.agent.restart", {"agent_id": agent.agent_id})
    await wait_for_prompt(bench, restarted)
    await _until_state(bench, restarted, "idle")


async def test_a_silent_read_the_screen_calls_an_idle_shell_is_waiting_by_the_process_signal(
    bench: Bench, workdir: Path
) -> None:
    # `read -s` prints nothing and leaves bash in the foreground: the screen rules say "shell prompt"; the kernel
    # says bash is blocked reading the terminal, which outranks that fallback rule.
    agent = await launch_shell(bench, "secret", workdir)
    await _until_state(bench, agent, "idle")
    reads = bench.watcher.process_reads
    await _next_second()
    await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "read -s token"})
    _, why = await _until_state(bench, agent, "waiting_for_input")
    assert why == f"bash is reading the terminal (read) (over the screen: {IDLE_WHY})"
    assert bench.watcher.process_reads > reads
    await _interrupt(bench, agent)
    assert await _until_state(bench, agent, "idle") == ("idle", IDLE_WHY)  # agreeing signals keep the screen's why
