"""Helpers for the unit suite: real tmux panes adopted as agents, and the real CLI run as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.bench import Bench
from storage.models import Agent

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHELL = "env PS1='$ ' bash --norc --noprofile"

StartPanes = Callable[[Bench, dict[str, int]], Awaitable[None]]
Adopt = Callable[[Bench, dict[str, str]], Awaitable[dict[str, Agent]]]


@pytest.fixture
def start_panes(tmux_bin: str) -> StartPanes:
    """`await start_panes(bench, {"alpha": 2, "beta": 1})`: real sessions with that many bash panes each."""

    async def start(bench: Bench, layout: dict[str, int]) -> None:
        for session, count in layout.items():
            await bench.ctx.tmux.new_session(session, SHELL, str(bench.home))
            for _ in range(count - 1):
                await bench.ctx.tmux.split(session, SHELL, str(bench.home))
        # `env` execs bash a moment later; on a loaded machine a scan could still see `env` in the pane.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while loop.time() < deadline:
            commands = await asyncio.to_thread(bench.ctx.tmux._run, "list-panes", "-a", "-F", "#{pane_current_command}")
            if commands and all(c == "bash" for c in commands):
                return
            await asyncio.sleep(0.05)

    return start


@pytest.fixture
def adopt(start_panes: StartPanes) -> Adopt:
    """`await adopt(bench, {"lead": "master", "w1": "worker"})`: one session per agent, scanned and registered."""

    async def run(bench: Bench, roles: dict[str, str]) -> dict[str, Agent]:
        await start_panes(bench, dict.fromkeys(roles, 1))
        status = await bench.agents.scan({"wait": True})
        assert status.state == "done", status
        panes = {p.session_name: p for p in await bench.agents.panes() if p.alive}
        agents = {}
        for name, role in roles.items():
            pane = panes[name]
            agents[name] = await bench.agents.register_from_pane(
                {
                    **pane.identity(),
                    "name": name,
                    "role": role,
                }
            )
        return agents

    return run


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli() -> RunCli:
    """Run `python -m tui.cli ARGS` for real. HOME is the test's temporary HOME (set by the autouse fixture)."""

    def run(*args: str, home: Path | None = None, env: dict[str, str] | None = None, timeout: float = 30) -> CliResult:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYBOARD_", "TMUX"))}
        if home is not None:
            full_env["RELAYBOARD_HOME"] = str(home)
        full_env.update(env or {})
        argv = [sys.executable, "-m", "tui.cli", *args]
        if home is not None:
            argv += ["--home", str(home)]
        done = subprocess.run(
            argv, cwd=PROJECT_ROOT, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def cli_home(tmp_path: Path, tmux_socket: str) -> Path:
    """A Relayboard home whose config.toml points tmux at the private test socket and tokens at tmp dirs."""
    home = tmp_path / "cli-home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'tmux_socket = "{tmux_socket}"\n'
        f'claude_home = "{tmp_path / "claude"}"\n'
        f'codex_home = "{tmp_path / "codex"}"\n'
        'user_id = "tester"\n'
    )
    return home


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An existing absolute directory (resolved, as tmux reports it) the command policy accepts as a launch cwd."""
    path = tmp_path / "work"
    path.mkdir()
    return path.resolve()
