"""Helpers for tests that drive real panes: poll with a deadline (never fixed sleeps), read a pane through
`app.agent.capture`, and know when everything typed so far has been processed by the shell."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from core import calls
from core.bench import Bench
from core.errors import BenchError
from storage.models import Agent, Pane

T = TypeVar("T")
DEADLINE = 3.0
_tokens = itertools.count(1)


async def eventually(
    probe: Callable[[], Awaitable[T]], *, within: float = DEADLINE, interval: float = 0.03, what: str = ""
) -> T:
    """Await `probe()` until it returns something truthy; fail with the last value after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what or probe} (last: {value!r})")
        await asyncio.sleep(interval)


async def screen(bench: Bench, agent: Agent | str, lines: int = 200) -> str:
    agent_id = agent if isinstance(agent, str) else agent.agent_id
    result = await calls.call(bench, "app.agent.capture", {"agent_id": agent_id, "lines": lines})
    return result.screen


async def wait_for_text(bench: Bench, agent: Agent, text: str, within: float = DEADLINE) -> str:
    async def probe() -> str:
        shown = await screen(bench, agent)
        return shown if text in shown else ""

    return await eventually(probe, within=within, what=f"{text!r} on {agent.name}'s screen")


async def live_pane(bench: Bench, agent: Agent) -> Pane | None:
    return (await bench.agents.refresh()).get(agent.pane_id or "")


async def wait_for_command(bench: Bench, agent: Agent, command: str) -> Pane:
    async def probe() -> Pane | None:
        pane = await live_pane(bench, agent)
        return pane if pane is not None and pane.current_command == command else None

    return await eventually(probe, what=f"{command} in the foreground of {agent.name}")


async def wait_for_dead(bench: Bench, agent: Agent) -> Pane:
    """The agent's pane exited and tmux kept it (remain-on-exit): listed, but dead."""

    async def probe() -> Pane | None:
        pane = await live_pane(bench, agent)
        return pane if pane is not None and not pane.alive else None

    return await eventually(probe, what=f"{agent.name}'s pane to die")


async def wait_for_prompt(bench: Bench, agent: Agent) -> str:
    """bash is in the foreground and has drawn its prompt (readline is up, so pastes are bracketed)."""
    await wait_for_command(bench, agent, "bash")

    async def probe() -> str:
        return (await screen(bench, agent)).strip()

    return await eventually(probe, what=f"a prompt on {agent.name}'s screen")


async def drain(bench: Bench, agent: Agent) -> str:
    """Type a sentinel straight through our tmux adapter (not send_input, so nothing is recorded) and wait for its
    output: everything typed before it has then been read and run by the shell. Returns the screen."""
    n = next(_tokens)
    pane = await live_pane(bench, agent)
    assert pane is not None, f"{agent.name} has no live pane"
    await bench.ctx.tmux.send_text(pane.pane_id, f"echo drained-$(({n}+1000))", True)
    return await wait_for_text(bench, agent, f"drained-{n + 1000}")


async def launch_shell(bench: Bench, name: str, cwd: Path, **extra: Any) -> Agent:
    """A managed `shell` preset agent, at its prompt."""
    agent = await calls.call(bench, "app.agent.launch", {"name": name, "preset": "shell", "cwd": str(cwd), **extra})
    await wait_for_prompt(bench, agent)
    return agent


async def failure(awaitable: Awaitable[Any]) -> BenchError:
    try:
        await awaitable
    except BenchError as exc:
        return exc
    raise AssertionError("expected a BenchError")


def tmux(socket: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The tmux CLI on the test's private socket, for what an operator would do by hand."""
    binary = shutil.which("tmux")
    assert binary is not None
    return subprocess.run([binary, "-L", socket, *args], capture_output=True, text=True, timeout=10, check=check)


def stop_server(socket: str) -> None:
    """Kill the tmux server and wait until it is gone (tmux 3.3 may leave its socket file behind: remove it), so
    the next tmux command starts a fresh server instead of reaching the dying one."""
    tmux(socket, "kill-server", check=False)
    path = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket
    deadline = time.monotonic() + DEADLINE
    while tmux(socket, "list-sessions", check=False).returncode == 0:
        assert time.monotonic() < deadline, "the tmux server did not stop"
        time.sleep(0.02)
    path.unlink(missing_ok=True)


def session_exists(socket: str, session: str) -> bool:
    return tmux(socket, "has-session", "-t", f"={session}", check=False).returncode == 0


async def event_types(bench: Bench, agent_id: str | None = None) -> list[str]:
    filters = {"agent_id": agent_id} if agent_id else {}
    rows = (await bench.events.list({"filters": filters, "order_by": "seq:asc", "limit": 200})).rows
    return [e.event_type for e in rows]
