"""Fixtures for the real-agent tests: the installed CLIs (missing → a failure that says how to install, never a
skip), a private tmux server per test (killed after), and a temp HOME + project for Claude Code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.claude_env import AgentsMissing, claude_bin, codex_bin, leftover_processes, prepare_claude_home
from tests.fakes.tmux_driver import TmuxDriver, TmuxError


def _installed(find: Callable[[], Path]) -> Path:
    try:
        return find()
    except AgentsMissing as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@pytest.fixture
def claude_path() -> Path:
    return _installed(claude_bin)


@pytest.fixture
def codex_path() -> Path:
    return _installed(codex_bin)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[TmuxDriver]:
    """A private tmux server; after the test it is killed, and nothing started from `tmp_path` (where the agents'
    homes live) may still be running."""
    try:
        driver = TmuxDriver(prefix="relayboard-test")
    except TmuxError as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield driver
    finally:
        driver.close()
    stray = leftover_processes(tmp_path, grace=5.0)
    assert not stray, f"processes left running by the agent after its tmux server was killed: {stray}"


@dataclass(frozen=True)
class ClaudeHome:
    root: Path
    home: Path
    project: Path


@pytest.fixture
def claude_home(tmp_path: Path) -> Iterator[ClaudeHome]:
    """A temp HOME for Claude Code (onboarding done, dummy key approved) with the trusted project inside it."""
    home = tmp_path / "home"
    project = home / "project"
    prepare_claude_home(home, project)
    yield ClaudeHome(tmp_path, home, project)
