"""SVG snapshots of the agents pane with an agent in every state, each state detected for real by the watcher's
rules on a real tmux pane (no state is written by hand), at 100x30 and 80x24.

The bench is built once in its own event loop with a clock that is moved between steps, so "Active" shows
different ages against the frozen clock of the app; nothing rendered carries ids, paths, PIDs or real times.
Update after a deliberate UI change with `pytest tests/snapshots --snapshot-update`, then review the SVGs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot

from core.bench import Bench
from core.clock import FixedClock
from tests.support.homes import FROZEN_AT, SNAPSHOT_SIZES, BenchHome, make_home
from tui.app import RelayboardApp
from tui.widgets.agent_preview import AgentPreview

pytestmark = pytest.mark.slow
SIZE_IDS = [f"{w}x{h}" for w, h in SNAPSHOT_SIZES]
SHELL = "env PS1='$ ' bash --norc --noprofile"
# A permission prompt as Claude Code draws it, left on screen by `cat` (a foreground command that is not a shell).
PERMISSION_PROMPT = (
    "printf ' Bash command\\n\\n   pytest -q tests/api\\n   Run the API tests\\n\\n"
    " Do you want to proceed?\\n > 1. Yes\\n   2. No\\n'; exec cat"
)
# Output that never changes the screen: the window shows activity, the capture stays the same.
# Unknown to every signal: the screen shows no prompt or spinner, and the process waits in `select` on a pipe of its
# own (not the terminal, not a timed sleep), which alone says nothing about what it is doing.
QUIET_PROGRAM = (
    "python3 -c \"import os, select, sys\nr, w = os.pipe()\nprint('thinking about the cart badge')\n"
    'while True:\n    sys.stdout.write(chr(13)); sys.stdout.flush(); select.select([r], [], [], 0.2)"'
)


async def _until(check: Any, what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _adopt(bench: Bench, session: str, name: str, role: str, kind: str, project: str) -> None:
    await bench.agents.scan({"wait": True})
    pane = next(p for p in await bench.agents.panes() if p.session_name == session and p.alive)
    await bench.agents.register_from_pane(
        {
            "pane_id": pane.pane_id,
            "session_name": session,
            "window_index": pane.window_index,
            "pane_index": pane.pane_index,
            "name": name,
            "role": role,
            "kind": kind,
            "project_path": project,
        }
    )


async def build_states(test_home: BenchHome) -> None:
    """lead idle, builder working, reviewer waiting_for_input, thinker unknown, nightly exited."""
    clock = FixedClock(FROZEN_AT - timedelta(days=1))
    bench = await Bench.open(test_home.home, clock=clock, settings=test_home.settings, surface="tui")
    tmux = bench.ctx.tmux
    cwd = str(test_home.home)
    try:
        # exited: the command ends and remain-on-exit keeps the dead pane for the watcher to see.
        await tmux.new_session("nightly", "sleep 2", cwd)
        await asyncio.to_thread(tmux._run, "set-option", "-t", "=nightly:", "remain-on-exit", "on")
        await _adopt(bench, "nightly", "nightly", "test-runner", "shell", "~/src/shop")
        for session, command in (("lead", SHELL), ("build", SHELL), ("review", PERMISSION_PROMPT)):
            await tmux.new_session(session, command, cwd)
        await tmux.new_session("think", QUIET_PROGRAM, cwd)
        panes = {p.session_name: p.pane_id for p in await tmux.list_panes("")}
        await tmux.send_text(panes["lead"], "echo ready", True)
        await tmux.send_text(panes["build"], "sleep 300", True)

        async def settled() -> bool:
            live = {p.session_name: p for p in await tmux.list_panes("")}
            commands = {name: live[name].current_command for name in ("build", "review", "think")}
            screen = await tmux.capture(live["lead"].pane_id)
            return (
                not live["nightly"].alive
                and commands == {"build": "sleep", "review": "cat", "think": "python3"}
                and "\nready" in screen
            )

        await _until(settled, "the panes to reach their states")

        def at(ago: timedelta) -> None:
            clock.advance(FROZEN_AT - ago - clock.now())

        async def look(ago: timedelta) -> None:
            at(ago)
            await bench.refresh_states()

        await look(timedelta(hours=23))  # nightly: its pane is dead
        for ago, session, name, role, kind, project in (
            (timedelta(hours=3), "lead", "lead", "master", "shell", "~/src/shop"),
            (timedelta(minutes=25), "review", "reviewer", "worker", "claude", "~/src/shop/api"),
            (timedelta(minutes=2), "build", "builder", "worker", "shell", "~/src/shop/web"),
            (timedelta(seconds=12), "think", "thinker", "swarm", "claude", "~/src/shop/web"),
        ):
            at(ago)
            await _adopt(bench, session, name, role, kind, project)
            await look(ago)  # the thinker's first look: a new screen, so "output changing"
        await asyncio.sleep(1.2)  # window activity has one-second resolution
        await look(timedelta(seconds=12))  # activity, same screen: no rule knows what it is doing
        states = {a.name: a.state for a in (await bench.agents.list()).rows}
        assert states == {
            "lead": "idle",
            "builder": "working",
            "reviewer": "waiting_for_input",
            "thinker": "unknown",
            "nightly": "exited",
        }, states
    finally:
        await bench.close()


@pytest.fixture(scope="module")
def states_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchHome]:
    home = make_home(tmp_path_factory.mktemp("agent-states"))
    try:
        asyncio.run(build_states(home))
        yield home
    finally:
        home.kill_tmux()


async def _show_reviewer(pilot: Pilot) -> None:
    """The agents pane with the cursor on the agent at its permission prompt, whose screen the preview shows."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.press("2")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.press("down", "down")
    preview = pilot.app.screen.query_one(AgentPreview)
    for _ in range(100):
        if "Do you want to proceed?" in preview.text:
            break
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", SNAPSHOT_SIZES, ids=SIZE_IDS)
def test_agents_in_every_state(snap_compare, states_home: BenchHome, size: tuple[int, int]) -> None:
    app = RelayboardApp(states_home.client_opener(), refresh_seconds=0)
    assert snap_compare(app, terminal_size=size, run_before=_show_reviewer)
