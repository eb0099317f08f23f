"""Panes under load and failure: a burst of notices is one or two refreshes (debounced per topic, a refresh in
flight never cancelled), notices about other topics cost nothing, and a worker that fails unexpectedly is a
notification, never the end of the app. Runs over both clients (tests/tui/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

import tui.app as app_module
from core.agents import Agents
from core.bench import Bench
from core.client import BenchClient
from tests.support.homes import BenchHome
from tui.app import RelayboardApp
from tui.screens.base import DEBOUNCE_SECONDS, PaneScreen
from tui.widgets.agent_preview import AgentPreview
from tui.widgets.bench_table import BenchTable

pytestmark = pytest.mark.slow


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def quiet(pilot: Pilot[None], seconds: float = 0.6) -> None:
    """Let notices arrive (over the socket they take a hop) and the debounce timer fire, then settle."""
    await pilot.pause(seconds)
    await settle(pilot)


async def test_a_burst_of_notices_is_a_refresh_or_two_and_shows_the_last_state(
    app: RelayboardApp, demo_bench: Bench
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        pane = app.screen
        assert isinstance(pane, PaneScreen)
        table = pane.query_one("#queue-table", BenchTable)
        before, rows = pane.refreshes, table.row_count
        lead = next(a for a in (await demo_bench.agents.list()).rows if a.name == "lead")
        started = time.monotonic()
        for i in range(40):  # forty queue events in a burst, as a busy route would make
            await demo_bench.queue.enqueue(
                target_agent_id=lead.agent_id, payload=f"burst {i}", sender="route", sender_role="master"
            )
        burst = time.monotonic() - started
        await quiet(pilot)
        # At most one refresh per debounce window the burst spanned, plus the one that runs on after it (the
        # burst's own writes take ~0.5 s on 2 cores: three or four windows), and never one per notice.
        windows = int(burst / DEBOUNCE_SECONDS)
        assert 1 <= pane.refreshes - before <= max(3, windows + 2) < 20, (pane.refreshes - before, burst)
        assert table.row_count == rows + 40  # and the last refresh saw everything


async def test_notices_of_other_topics_do_not_refresh_the_pane(app: RelayboardApp, demo_bench: Bench) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("5")  # memory: topic "memory" only
        await settle(pilot)
        pane = app.screen
        assert isinstance(pane, PaneScreen)
        before = pane.refreshes
        for enabled in (False, True, False, True):
            await demo_bench.routes.set_enabled({"enabled": enabled})  # topic "routes"
        await quiet(pilot)
        assert pane.refreshes == before
        await demo_bench.memory.kv_set({"key": "fresh", "value": "v"})
        await quiet(pilot)
        assert pane.refreshes == before + 1
        kv = pane.query_one("#kv-table", BenchTable)
        assert "fresh" in [str(kv.get_row_at(i)[1]) for i in range(kv.row_count)]


async def test_an_unexpected_failure_in_the_adopt_picker_is_a_notification(
    app: RelayboardApp, demo_home: BenchHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Agents, params: object = None) -> object:
        raise RuntimeError("a bug with a /secret/path in its text")

    monkeypatch.setattr(Agents, "pane_list", broken)  # the implementation behind app.pane.list, on either client
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert app.is_running and app.return_code is None
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("internal_error:") for m in messages), messages
        assert not any("/secret/path" in m for m in messages)
        await pilot.press("3")  # still usable
        await settle(pilot)
        assert app.screen.query_one("#queue-table", BenchTable).row_count > 0


@pytest.mark.parametrize("client", ["local"], indirect=True)
@pytest.mark.parametrize("freeze", [True, False])
async def test_the_cli_app_freezes_the_loaded_heap_once_and_a_test_app_never(
    client: BenchClient, freeze: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full collection over the imported modules stalled the focus view 80-100 ms (benchmarks/focus.py).
    frozen: list[float] = []
    monkeypatch.setattr(app_module, "FREEZE_AFTER_SECONDS", 0.05)
    monkeypatch.setattr(app_module, "freeze_heap", lambda: frozen.append(time.monotonic()))
    app = RelayboardApp(client, refresh_seconds=0, freeze_heap=freeze)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("2")
        await pilot.pause(0.3)
    assert len(frozen) == (1 if freeze else 0)


async def test_a_cancelled_wait_for_the_preview_poll_leaves_no_unretrieved_exception() -> None:
    # Seen on stderr of a long run: the shielded wait outlived its cancelled waiter and its WorkerCancelled was
    # reported as "Task exception was never retrieved".
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    release = asyncio.Event()

    class Poll:
        is_running = True

        async def wait(self) -> None:
            await release.wait()
            raise WorkerCancelled("replaced by a newer poll")

    preview = AgentPreview(capture=None)  # type: ignore[arg-type]  # never polls here
    preview._worker = Poll()  # type: ignore[assignment]
    waiter = asyncio.create_task(preview.wait_for_poll())
    await asyncio.sleep(0)
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    release.set()
    for _ in range(3):
        await asyncio.sleep(0)
    gc.collect()
    await asyncio.sleep(0)
    loop.set_exception_handler(None)
    assert not reported, reported
