"""The dashboard lists what needs the operator first, each a key away: a real shell waiting on `read -p "… [y/N]"`
(Enter opens its screen), a message held for approval (Enter shows it in the queue with the cursor on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.bench import Bench
from core.client import LocalClient
from core.dashboard import DASHBOARD
from core.watcher import REFRESH_STATES
from tests.support.homes import BenchHome
from tests.tui.test_agents_pane import agent_named, settle, until
from tests.tui.test_focus_view import type_in
from tui.app import RelayboardApp
from tui.screens.focus import FocusScreen
from tui.widgets.bench_table import BenchTable

pytestmark = pytest.mark.slow


@pytest.fixture
def app(demo_bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RelayboardApp:
    """In process only (app.dashboard itself is driven over the socket by the property and conformance tests)."""
    monkeypatch.chdir(tmp_path)
    return RelayboardApp(LocalClient(demo_bench), refresh_seconds=0)


def needs(app: RelayboardApp) -> BenchTable:
    return app.screen.query_one("#needs", BenchTable)


async def test_a_waiting_agent_comes_first_and_enter_opens_its_screen(app: RelayboardApp, demo_home: BenchHome) -> None:
    type_in(demo_home, "lead", 'read -p "Ship it? [y/N] " a')
    async with app.run_test(size=(100, 30)) as pilot:
        waiting = await agent_named(app, "lead")

        async def is_waiting() -> bool:
            await app.client.call(REFRESH_STATES)
            return (await agent_named(app, "lead")).state == "waiting_for_input"

        for _ in range(40):
            if await is_waiting():
                break
            await pilot.pause(0.1)
        app.screen.refresh_data()  # type: ignore[attr-defined]
        await settle(pilot)
        table = needs(app)
        first = table.get_row_at(0)
        assert table.shown_keys[0] == f"agent_waiting:{waiting.agent_id}"
        assert [first[0].plain, first[1].plain] == ["waiting", "lead"]
        assert "Ship it? [y/N]" in first[2].plain or "question" in first[2].plain, first[2].plain
        assert table.title_shown.startswith("Needs you · ")
        table.focus()
        await pilot.pause(0.5)  # the state change's notices refresh the dashboard once more: let that land first
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FocusScreen), "the agent's screen", within=15)
        assert app.screen.agent.agent_id == waiting.agent_id  # type: ignore[attr-defined]


async def test_a_message_awaiting_approval_leads_to_the_queue_with_the_cursor_on_it(app: RelayboardApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        dashboard = await app.client.call(DASHBOARD)
        approval = next(item for item in dashboard.attention if item.kind == "approval")
        assert approval.title == "Look at: KeyError in orders.py:88"
        table = needs(app)
        table.move_cursor(row=table.get_row_index(f"approval:{approval.ref}"))
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.current_mode == "queue", "the queue pane")
        await settle(pilot)
        queue = app.screen.query_one("#queue-table", BenchTable)
        assert queue.selected_key == approval.ref and queue.has_focus
        await pilot.press("a")  # the queue's own key approves it from there
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert f"approval:{approval.ref}" not in needs(app).shown_keys


async def test_nothing_waiting_says_so_instead_of_an_empty_table(app: RelayboardApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        from core.queue import QUEUE_APPROVE

        for item in (await app.client.call(DASHBOARD)).attention:
            if item.kind == "approval":
                await app.client.call(QUEUE_APPROVE, message_id=item.ref)
        app.screen.refresh_data()  # type: ignore[attr-defined]
        await settle(pilot)
        assert not needs(app).display
        assert app.screen.query_one("#needs-none").display
