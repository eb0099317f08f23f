"""Benches for TUI and snapshot tests: a seeded demo home on a private tmux socket, or an empty one.

Snapshot tests run the app under Textual's own `asyncio.run`, so the app opens its bench itself through an opener
(`RelayboardApp(opener)`); these helpers build the home beforehand in another event loop and close it again.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.bench import Bench
from core.client import LocalClient
from core.clock import FixedClock
from core.config import Settings
from core.demo import seed_demo

FROZEN_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SNAPSHOT_SIZES = ((100, 30), (80, 24))


@dataclass(frozen=True)
class BenchHome:
    home: Path
    settings: Settings

    def clock(self) -> FixedClock:
        return FixedClock(FROZEN_AT)

    def opener(self) -> Callable[[], Awaitable[Bench]]:
        async def open_bench() -> Bench:
            return await Bench.open(self.home, clock=self.clock(), settings=self.settings, surface="tui")

        return open_bench

    def client_opener(self) -> Callable[[], Awaitable[LocalClient]]:
        """What the app opens itself in snapshot tests: the in-process client, services not started (a watcher
        would change states while the snapshot is taken)."""

        async def open_client() -> LocalClient:
            return LocalClient(await self.opener()(), owns=True)

        return open_client

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", str(self.settings.tmux_socket), *args], capture_output=True, text=True)

    def kill_tmux(self) -> None:
        self.tmux("kill-server")
        # tmux leaves its socket file behind; remove it so test runs do not litter /tmp/tmux-<uid>.
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / str(self.settings.tmux_socket)).unlink(missing_ok=True)


def make_home(root: Path, socket: str | None = None) -> BenchHome:
    settings = Settings(
        tmux_socket=socket or f"relayboard-test-{uuid.uuid4().hex[:10]}",
        claude_home=root / "claude",
        codex_home=root / "codex",
        user_id="operator",
    )
    return BenchHome(root / "home", settings)


async def seed(test_home: BenchHome) -> None:
    bench = await Bench.open(test_home.home, clock=test_home.clock(), settings=test_home.settings, surface="tui")
    try:
        await seed_demo(bench)
    finally:
        await bench.close()


def seeded_home(root: Path) -> BenchHome:
    """A demo bench; the caller kills its tmux server (`kill_tmux`) when done."""
    test_home = make_home(root)
    try:
        asyncio.run(seed(test_home))
    except BaseException:
        test_home.kill_tmux()  # a seed that failed half-way must not leave its tmux server running
        raise
    return test_home
