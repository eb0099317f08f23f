"""SVG snapshots of every pane on the demo bench, and of the dashboard degraded, at 100x30 and 80x24.

The clock is frozen (tests.support.homes.FROZEN_AT) and nothing rendered carries ids, paths or host names.
Update after a deliberate UI change with `pytest tests/snapshots --snapshot-update`, then review the SVGs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.support.homes import SNAPSHOT_SIZES, BenchHome, make_home, seeded_home
from tui.app import RelayboardApp
from tui.panes import PANES, PaneInfo

pytestmark = pytest.mark.slow
SIZE_IDS = [f"{w}x{h}" for w, h in SNAPSHOT_SIZES]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchHome]:
    home = seeded_home(tmp_path_factory.mktemp("snapshots"))
    try:
        yield home
    finally:
        home.kill_tmux()


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SNAPSHOT_SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("pane", PANES, ids=[p.id for p in PANES])
def test_pane(snap_compare, demo: BenchHome, pane: PaneInfo, size: tuple[int, int]) -> None:
    async def show_pane(pilot: Pilot) -> None:
        await _settle(pilot)
        await pilot.press(pane.key)
        await _settle(pilot)

    app = RelayboardApp(demo.client_opener(), refresh_seconds=0)
    assert snap_compare(app, terminal_size=size, run_before=show_pane)


@pytest.mark.parametrize("size", SNAPSHOT_SIZES, ids=SIZE_IDS)
def test_dashboard_degraded(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    """A fresh home with no tmux server on its socket: empty states and the start_tmux_server hint."""
    home = make_home(tmp_path, socket="relayboard-snapshot-no-server")  # fixed: the banner names the socket
    app = RelayboardApp(home.client_opener(), refresh_seconds=0)
    assert snap_compare(app, terminal_size=size, run_before=_settle)
