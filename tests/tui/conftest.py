from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.bench import Bench
from tests.support.homes import BenchHome, make_home, seed
from tui.app import RelayboardApp


@pytest.fixture
def demo_home(tmp_path: Path) -> Iterator[BenchHome]:
    test_home = make_home(tmp_path)
    try:
        yield test_home
    finally:
        test_home.kill_tmux()


@pytest.fixture
async def demo_bench(demo_home: BenchHome) -> AsyncIterator[Bench]:
    await seed(demo_home)
    bench = await demo_home.opener()()
    try:
        yield bench
    finally:
        await bench.close()


@pytest.fixture
def app(demo_bench: Bench) -> RelayboardApp:
    return RelayboardApp(demo_bench, refresh_seconds=0)
