"""80x24 snapshots of every pane after an operator flow, on a busy bench: 30 agents with long labels and projects,
long messages, notes, values and templates. The first look of the demo is in test_panes; these are what an operator
sees after working: a filtered and sorted list, a long message opened in full, routing switched off, another
period, help at 80 columns. Nothing may be cut mid-word in the footer, and every pane names itself on screen.

Update after a deliberate UI change with `pytest tests/snapshots --snapshot-update`, then review the SVGs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest
from textual.pilot import Pilot

from tests.support.homes import BenchHome, seeded_home
from tui.app import RelayboardApp
from tui.widgets.bench_table import BenchTable

pytestmark = pytest.mark.slow
SIZE = (80, 24)
LONG = "refactor the order pagination so cursors survive deletes, then re-run the contract tests against staging"
EXTRA_AGENTS = 25


async def _busy(home: BenchHome) -> None:
    """The demo bench plus 25 agents on real tmux panes and long texts in every list, through the core's calls."""
    bench = await home.opener()()
    try:
        shell = "env PS1='$ ' bash --norc --noprofile"  # the demo's shell: the same prompt in every preview
        await bench.ctx.tmux.new_session("swarm", shell, str(home.home))
        for _ in range(EXTRA_AGENTS - 1):
            home.tmux("new-window", "-d", "-t", "=swarm:", shell)
        await bench.agents.scan({"wait": True})
        free = [p for p in await bench.agents.panes() if p.session_name == "swarm"]
        for index, pane in enumerate(sorted(free, key=lambda p: p.window_index)):
            await bench.agents.register_from_pane(
                {
                    **pane.identity(),
                    "name": f"swarm-{index + 2:02d}",
                    "role": "swarm",
                    "kind": "shell",
                    "label": f"explores flaky test #{index} in the checkout flow and reports back to lead",
                    "project_path": f"~/src/shop/services/checkout-{index % 4}/integration-tests",
                }
            )
        agents = {a.name: a for a in (await bench.agents.list({"limit": 200})).rows}
        for index in range(12):
            await bench.queue.send_input(
                {"target_agent_id": agents[f"swarm-{index + 2:02d}"].agent_id, "payload": f"echo '{index}: {LONG}'"}
            )
        await bench.memory.note_add({"title": f"Decision: {LONG}", "tags": ["architecture", "orders", "pagination"]})
        await bench.memory.kv_set({"scope": "lead", "key": "long-plan", "value": LONG * 2})
        await bench.routes.add(
            {
                "name": "swarm-errors-to-lead-with-a-long-name",
                "event_type": "error",
                "source_role": "swarm",
                "target_agent_id": agents["lead"].agent_id,
                "template": f"{{agent}} hit an error: {{summary}} — {LONG}",
            }
        )
        await bench.refresh_states()  # one detection pass: the new agents read idle, as a running core shows them
    finally:
        await bench.close()


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchHome]:
    home = seeded_home(tmp_path_factory.mktemp("flows"))
    try:
        asyncio.run(_busy(home))
        yield home
    finally:
        home.kill_tmux()


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _pane(pilot: Pilot, key: str) -> None:
    await _settle(pilot)
    await pilot.press(key)
    await _settle(pilot)


def _flow(key: str, *presses: str) -> Callable[[Pilot], Awaitable[None]]:
    async def run(pilot: Pilot) -> None:
        await _pane(pilot, key)
        for press in presses:
            await pilot.press(press)
            await _settle(pilot)

    return run


FLOWS = {
    # The agents list filtered to the swarm, sorted by name descending, the cursor three rows down.
    "agents-filtered-sorted": _flow("2", "slash", *"swarm", "enter", "O", "down", "down", "down"),
    # The queue sorted by To, descending (no detail view here: a message shows its random id).
    "queue-sorted": _flow("3", "o", "o", "o", "O", "down", "down"),
    # A route opened in full: matcher, template, recent matches (no ids in it).
    "route-detail": _flow("4", "down", "enter"),
    # Routing switched off (asked first, confirmed), then the routes list with the banner saying so.
    "routes-switched-off": _flow("4", "k", "y"),
    # Memory with the notes filtered.
    "memory-notes-filtered": _flow("5", "tab", "tab", "slash", *"decision", "enter"),
    # Tokens over 7 days, sorted by cost descending.
    "tokens-7d-by-cost": _flow("6", "p", "o", "o", "o", "o", "o", "O"),
    # The dashboard with its needs-you list and the recent events table focused.
    "dashboard-recent-focused": _flow("1", "tab"),
    # Help of the agents pane at 80 columns: every key, nothing cut.
    "agents-help": _flow("2", "question_mark"),
    "terminals": _flow("7"),
    "devservers": _flow("8"),
    "schedules": _flow("9"),
}


@pytest.mark.parametrize("flow", FLOWS, ids=list(FLOWS))
def test_flow(snap_compare, busy: BenchHome, flow: str) -> None:
    app = RelayboardApp(busy.client_opener(), refresh_seconds=0)
    assert snap_compare(app, terminal_size=SIZE, run_before=FLOWS[flow])


async def test_every_table_fits_80_columns_on_the_busy_bench(busy: BenchHome) -> None:
    """No table scrolls sideways at 80 columns: its last column is on screen."""
    app = RelayboardApp(busy.client_opener(), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        for key in "123456":
            await _pane(pilot, key)
            for table in app.screen.query(BenchTable):
                if table.display and table.row_count:
                    assert table.virtual_size.width <= table.size.width, (key, table.id, table.virtual_size)
