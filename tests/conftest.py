"""Shared fixtures: a frozen clock, a private tmux socket (always killed), settings pointing only at temporary
directories, and an opened Bench. Nothing here touches the operator's real home or default tmux server."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings

FIXED_NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
TEST_USER = "tester"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME is a fresh temporary directory; Relayboard's own environment overrides are cleared."""
    home = tmp_path_factory.mktemp("userhome")
    monkeypatch.setenv("HOME", str(home))
    for name in ("RELAYBOARD_HOME", "RELAYBOARD_CONFIG", "TMUX", "TMUX_PANE", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def tmux_bin() -> str:
    path = shutil.which("tmux")
    if path is None:
        # Never a silent skip: tmux is part of the product (`make test` installs it).
        pytest.fail("tmux is not installed: run `make test` (installs it) or `apt-get install tmux`", pytrace=False)
    return path


@pytest.fixture
def fixed_clock() -> FixedClock:
    return FixedClock(FIXED_NOW)


def tmux_socket_path(socket: str) -> Path:
    return Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket


def kill_tmux_server(tmux: str, socket: str) -> None:
    """Kill the server on `socket` and remove the socket file tmux 3.3 leaves behind."""
    subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, timeout=10, check=False)
    path = tmux_socket_path(socket)
    if path.is_socket():
        path.unlink(missing_ok=True)


@pytest.fixture
def tmux_socket() -> Iterator[str]:
    """A unique `tmux -L` socket name; whatever server a test starts on it is killed at teardown.

    The tmux path is resolved now, so a test that empties PATH cannot stop the cleanup."""
    name = f"relayboard-test-{uuid.uuid4().hex[:12]}"
    tmux = shutil.which("tmux")
    try:
        yield name
    finally:
        if tmux is not None:
            kill_tmux_server(tmux, name)


@pytest.fixture
def settings(tmux_socket: str, tmp_path: Path) -> Settings:
    return Settings(
        tmux_socket=tmux_socket,
        claude_home=tmp_path / "claude",
        codex_home=tmp_path / "codex",
        user_id=TEST_USER,
    )


@pytest.fixture
def bench_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
async def bench(bench_home: Path, settings: Settings, fixed_clock: FixedClock) -> AsyncIterator[Bench]:
    opened = await Bench.open(bench_home, settings=settings, clock=fixed_clock)
    try:
        yield opened
    finally:
        await opened.close()
