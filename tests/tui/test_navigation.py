"""Pilot tests: every pane by number key and palette, help, the banner, and errors as notifications."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from core.agents import AGENT_LIST
from core.client import BenchClient
from core.queue import QUEUE_DETAIL
from core.routes import ROUTING_STATUS
from tests.support.homes import BenchHome, make_home
from tests.tui.test_agents_pane import until
from tui.app import RelayboardApp
from tui.modals.adopt import AdoptModal
from tui.modals.confirm import ConfirmModal
from tui.modals.detail import DetailModal
from tui.modals.help import HelpModal
from tui.panes import PANES
from tui.times import absolute
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState
from tui.widgets.pane_tabs import PaneTabs
from tui.widgets.readiness_banner import ReadinessBanner

pytestmark = pytest.mark.slow


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def banner_text(app: RelayboardApp) -> str:
    return str(app.screen.query_one(ReadinessBanner).render())


def rows(app: RelayboardApp, selector: str) -> int:
    return app.screen.query_one(selector, BenchTable).row_count


async def test_number_keys_switch_every_pane_with_real_data(app: RelayboardApp) -> None:
    expected_rows = {"agents": ("#agents-table", 5), "queue": ("#queue-table", 6), "routes": ("#routes-table", 3),
                     "tokens": ("#by-agent", 4), "memory": ("#notes-table", 2)}  # fmt: skip
    async with app.run_test(size=(100, 30)) as pilot:
        for pane in PANES:
            await pilot.press(pane.key)
            await settle(pilot)
            assert app.current_mode == pane.id
            assert app.screen.PANE_ID == pane.id
            if pane.id in expected_rows:
                selector, count = expected_rows[pane.id]
                assert rows(app, selector) == count, pane.id
        # Panes whose subsystem is not built say so in the banner and in their empty state.
        await pilot.press("7")
        await settle(pilot)
        assert "process_supervisor unavailable" in banner_text(app)
        empty = app.screen.query_one(EmptyState)
        assert empty.display and "process supervisor" in str(empty.render())


async def test_dashboard_counts_come_from_the_core(app: RelayboardApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        cards = " ".join(str(w.render()) for w in app.screen.query(".card"))
        assert "Agents: 5" in cards
        assert "queued 1" in cards and "blocked 2" in cards and "delivered 2" in cards and "canceled 1" in cards
        assert "Panes: 6 (1 not adopted)" in cards
        assert rows(app, "#recent") == 10


async def test_help_opens_for_the_current_pane_and_closes(app: RelayboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        assert app.screen.title_text == "Queue"
        assert ("a", "Approve") in app.screen.keys
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.PANE_ID == "queue"


async def test_palette_lists_panes_and_switches(app: RelayboardApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Go to Routes")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "routes"


async def test_queue_actions_go_through_the_core(app: RelayboardApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#queue-table", BenchTable)
        # Row 1 is the message awaiting approval (order: queued, blocked, blocked, delivered, delivered, canceled).
        table.move_cursor(row=1)
        blocked_id = table.selected_key
        await pilot.press("a")
        await settle(pilot)
        message = await app.client.call(QUEUE_DETAIL, message_id=blocked_id)
        assert message.state == "queued" and message.block_reason is None
        # Approving a queued message is refused by the core and shown as a notification, not a crash.
        table.move_cursor(row=0)
        await pilot.press("a")
        await settle(pilot)
        assert any("conflict" in n.message for n in app._notifications)


async def test_enter_on_a_queue_message_shows_it_in_full_with_its_history(app: RelayboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#queue-table", BenchTable)
        table.move_cursor(row=3)  # a delivered message: it has a history
        key = table.selected_key
        message = await app.client.call(QUEUE_DETAIL, message_id=key)
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, DetailModal)
        text = detail.text
        assert f"Text: {message.payload}" in text  # the whole text, not the table's 60 characters
        assert "History:" in text and "input_sent" in text  # its events, oldest first
        assert absolute(message.enqueued_at) in text  # absolute times in details (UTC, to the second)
        assert absolute(message.enqueued_at) == "2026-11-23 12:00:00 UTC"  # the demo clock
        await pilot.press("c")
        assert app.clipboard == text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailModal)


async def test_cancel_asks_first_and_enter_means_no(app: RelayboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#queue-table", BenchTable)
        table.move_cursor(row=0)
        key = table.selected_key
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("enter")  # the default is no
        await settle(pilot)
        assert (await app.client.call(QUEUE_DETAIL, message_id=key)).state == "queued"
        await pilot.press("c", "y")
        await settle(pilot)
        assert (await app.client.call(QUEUE_DETAIL, message_id=key)).state == "canceled"


async def test_agents_filter_and_remove_keep_the_tmux_pane(app: RelayboardApp, demo_home: BenchHome) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("slash", *"api")
        await pilot.pause()
        assert rows(app, "#agents-table") == 2
        await pilot.press("escape")
        await pilot.pause()
        assert rows(app, "#agents-table") == 5
        table = app.screen.query_one("#agents-table", BenchTable)
        table.move_cursor(row=0)
        removed = table.selected_key
        await pilot.press("x")
        # Under load the confirmation may take more than one pause to come up; a "y" before it would go to the pane.
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the removal to ask first")
        await pilot.press("y")
        await until(pilot, lambda: rows(app, "#agents-table") == 4, "the removed agent's row to go")
        assert removed not in {a.agent_id for a in (await app.client.call(AGENT_LIST)).rows}
    panes = demo_home.tmux("list-panes", "-a", "-F", "#{session_name}").stdout.split()
    assert panes.count("lead") == 1  # the unadopted pane is still running


async def test_adopt_picker_registers_the_free_pane(app: RelayboardApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("tab", *"lead", "enter")  # a name that is taken: refused, and the dialog keeps it
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, AdoptModal) and picker.query_one("#adopt-name", Input).value == "lead"
        error = picker.query_one("#adopt-name-error")
        assert error.display and str(error.render()).split(":")[0] in {"conflict", "validation_failed"}
        assert picker.focused is picker.query_one("#adopt-name")
        picker.query_one("#adopt-name", Input).value = "scratchy"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, AdoptModal)
        assert rows(app, "#agents-table") == 6
        agent = next(a for a in (await app.client.call(AGENT_LIST)).rows if a.name == "scratchy")
        assert agent.session_name == "scratch" and agent.role == "worker"


async def test_banner_follows_tmux_going_away_and_coming_back(client: BenchClient, demo_home: BenchHome) -> None:
    """With the periodic refresh on (1 s here), no key pressed: the agents pane says tmux is gone within 5 s, with
    the command that fixes it, and clears again once a server runs on the socket."""
    app = RelayboardApp(client, refresh_seconds=1.0)

    async def banner_within(pilot: Pilot, predicate, seconds: float = 5.0) -> str:  # type: ignore[no-untyped-def]
        for _ in range(int(seconds / 0.25)):
            await pilot.pause(0.25)
            text = banner_text(app) if app.screen.query(ReadinessBanner) else ""
            if predicate(text):
                return text
        raise AssertionError(f"banner never matched; last: {text!r}")

    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        assert "tmux_discovery" not in banner_text(app)
        demo_home.kill_tmux()
        text = await banner_within(pilot, lambda t: "tmux_discovery unavailable" in t)
        assert f"tmux -L {demo_home.settings.tmux_socket} new-session -d" in text
        demo_home.tmux("new-session", "-d")
        await banner_within(pilot, lambda t: "tmux_discovery" not in t)


async def test_routing_kill_switch_shows_its_hint(app: RelayboardApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)  # a kill switch asks first
        await pilot.press("enter")  # the default is no
        await settle(pilot)
        assert (await app.client.call(ROUTING_STATUS)).enabled
        await pilot.press("k", "y")
        await settle(pilot)
        assert not (await app.client.call(ROUTING_STATUS)).enabled
        assert "Routing is switched off" in banner_text(app)


async def test_unopenable_database_is_a_notification_not_a_traceback(tmp_path: Path) -> None:
    broken = make_home(tmp_path)
    broken.home.mkdir(parents=True)
    (broken.home / "relayboard.db").write_bytes(b"this is not sqlite" * 100)
    app = RelayboardApp(broken.client_opener(), refresh_seconds=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        failures = [m for m in messages if m.startswith("database_unavailable:")]
        assert len(failures) == 1 and "relayboard.db" in failures[0], messages  # the path, from details; said once
    assert (broken.home / "relayboard.db").read_bytes() == b"this is not sqlite" * 100


@pytest.mark.parametrize("width", [80, 120])
async def test_the_pane_bar_says_where_the_core_runs(client: BenchClient, width: int) -> None:
    app = RelayboardApp(client, refresh_seconds=0)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot)
        bar = str(app.screen.query_one(PaneTabs).render())[:width]  # what fits is what is drawn
        if width == 80 and client.mode != "attached":
            # In process is the usual case: at 80 columns the current pane's full name (Dashboard) comes first and
            # "local" is said only where there is room: on a pane whose name is short, as Agents.
            assert bar.startswith(" 1 Dashboard ") and "local" not in bar, bar
            await pilot.press("2")
            await settle(pilot)
            bar = str(app.screen.query_one(PaneTabs).render())[:width]
        # Attached is always said: at 80 columns the short labels leave room for it, so every pane keeps its label.
        assert bar.rstrip().endswith("attached" if client.mode == "attached" else "local"), bar
        assert all(f"{p.key} {p.short if width == 80 else p.title}" in bar for p in PANES), bar
