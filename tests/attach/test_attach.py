"""The TUI and the CLI attached to a real `relayboard headless`: agents keep being watched while no TUI runs, a
killed core shows in the banner and the client reconnects when it is back, with no queue row lost or doubled."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from core.agents import AGENT_DETAIL, AGENT_LIST
from core.client import SocketClient
from core.events import EVENT_LIST
from core.launcher import LAUNCH
from core.memory import MEMORY_SET
from core.queue import QUEUE_LIST, SEND_INPUT
from tests.support.headless import PROJECT_ROOT, Headless
from tui.app import RelayboardApp
from tui.widgets.bench_table import BenchTable
from tui.widgets.pane_tabs import PaneTabs
from tui.widgets.readiness_banner import ReadinessBanner

pytestmark = pytest.mark.slow


async def until(check: Callable[[], object], what: str, within: float = 10.0, pilot: Pilot | None = None) -> None:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        await (pilot.pause(0.1) if pilot else asyncio.sleep(0.1))


async def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tui.cli", *args]
    return await asyncio.to_thread(
        subprocess.run, command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30, check=False
    )


def tmux(socket: str, *args: str) -> None:
    subprocess.run(["tmux", "-L", socket, *args], check=True, capture_output=True)


async def test_an_agent_is_watched_while_no_tui_runs(headless: Headless, tmux_socket: str) -> None:
    tui = await SocketClient.connect(headless.socket, surface="tui")
    agent = await tui.call(LAUNCH, name="night", preset="shell", cwd=str(headless.home))

    async def idle() -> bool:
        return (await tui.call(AGENT_DETAIL, agent_id=agent.agent_id)).state == "idle"

    await until(idle, "the new shell to be idle", 10)
    await tui.close()  # the TUI is gone (closed, or its SSH link dropped); the core keeps running

    tmux(tmux_socket, "send-keys", "-t", "=rb-night:", "sleep 2; echo done-sleeping", "Enter")
    await asyncio.sleep(4)

    cli = await SocketClient.connect(headless.socket, surface="cli", reconnect=False)
    try:

        async def transitions() -> list[tuple[str, str]]:
            filters = {"event_type": "agent_state_changed", "agent_id": agent.agent_id}
            rows = (await cli.call(EVENT_LIST, filters=filters, order_by="seq:asc")).rows
            return [(e.payload["from"], e.payload["to"]) for e in rows]

        await until(lambda: _has(transitions, [("idle", "working"), ("working", "idle")]), "the sleep seen", 10)
        seen = await transitions()
        assert seen[-1][1] == "idle" and all(a != b for a, b in seen), seen
        events = (await cli.call(EVENT_LIST, filters={"event_type": "agent_state_changed"})).rows
        assert {(e.surface_id, e.origin) for e in events} == {("headless", "system")}
    finally:
        await cli.close()


async def _has(probe: Callable[[], object], sequence: list[tuple[str, str]]) -> bool:
    seen = await probe()  # type: ignore[misc]
    it = iter(seen)
    return all(step in it for step in sequence)


async def test_killed_core_shows_in_the_banner_and_the_tui_reconnects(headless: Headless) -> None:
    client = await SocketClient.connect(headless.socket, surface="tui")
    agent = await client.call(LAUNCH, name="lead", preset="shell", cwd=str(headless.home), role="master")
    first = await client.call(SEND_INPUT, target_agent_id=agent.agent_id, payload="echo one", idempotency_key="k1")
    app = RelayboardApp(client, refresh_seconds=0.5)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("3")
            await until(
                lambda: app.screen.query_one("#queue-table", BenchTable).row_count == 1, "the queue", pilot=pilot
            )
            assert app.screen.query_one(PaneTabs).mode == "attached"

            headless.kill()  # kill -9: no goodbye, the socket file stays behind
            started = time.monotonic()

            def banner() -> str:
                return str(app.screen.query_one(ReadinessBanner).render())

            await until(lambda: "not reachable" in banner(), "the banner to say the core is gone", 5, pilot)
            assert time.monotonic() - started < 5
            assert "relayboard headless --home" in banner()
            assert app.screen.query_one(PaneTabs).mode == "detached"
            assert app.screen.query_one("#queue-table", BenchTable).row_count == 1  # the last data stays

            headless.start()  # replaces the stale socket
            await until(lambda: client.connected, "the client to reconnect by itself", 10, pilot)
            await until(lambda: "not reachable" not in banner(), "the banner to clear", 5, pilot)
            assert app.screen.query_one(PaneTabs).mode == "attached"

            # The send that was answered before the kill is not typed again; a new one is one new row.
            again = await client.call(
                SEND_INPUT, target_agent_id=agent.agent_id, payload="echo one", idempotency_key="k1"
            )
            assert (again.message_id, again.deduplicated) == (first.message_id, True)
            await client.call(SEND_INPUT, target_agent_id=agent.agent_id, payload="echo two", idempotency_key="k2")
            await until(lambda: app.screen.query_one("#queue-table", BenchTable).row_count == 2, "two rows", 5, pilot)
            rows = (await client.call(QUEUE_LIST)).rows
            assert sorted(m.idempotency_key or "" for m in rows) == ["k1", "k2"]
            assert {m.state for m in rows} == {"delivered"}
            assert client.reconnects >= 1
    finally:
        await client.close()


async def test_the_cli_goes_through_a_running_core(headless: Headless) -> None:
    env_home = ["--home", str(headless.home)]
    done = await run_cli("call", "app.memory.set", '{"key": "via-cli", "value": "v"}', *env_home)
    assert done.returncode == 0, done.stderr
    client = await SocketClient.connect(headless.socket, surface="cli", reconnect=False)
    try:
        (event,) = (await client.call(EVENT_LIST, filters={"event_type": "memory_set"})).rows
        assert (event.surface_id, event.origin) == ("cli", "cli")  # stamped by the server for the CLI's session
        assert (await client.call(AGENT_LIST)).total == 0
    finally:
        await client.close()
    doctor = await run_cli("doctor", *env_home)
    assert f"  server: running, pid {headless.pid}, 0 of 8 sessions, on {headless.socket}" in doctor.stdout


async def test_a_dropped_link_resumes_notices_from_the_last_seq(headless: Headless) -> None:
    """The SSH link drops (the connection dies under the client); changes made meanwhile are replayed from the
    spine when the client reconnects, each once, in seq order."""
    watcher = await SocketClient.connect(headless.socket, surface="tui")
    other = await SocketClient.connect(headless.socket, surface="cli", reconnect=False)
    seen: list[tuple[str, int]] = []

    async def listen() -> None:
        async for notice in watcher.notices():
            seen.append((notice.event.event_type if notice.event else notice.topic, notice.seq))

    listener = asyncio.create_task(listen())
    try:
        await other.call(MEMORY_SET, key="before", value="v")
        await until(lambda: any(t == "memory_set" for t, _ in seen), "the live notice")
        assert watcher._writer is not None
        watcher._writer.transport.abort()  # the link is gone; the server notices when it next writes
        await until(lambda: not watcher.connected, "the client to notice")
        missed = [await other.call(MEMORY_SET, key=f"missed-{i}", value="v") for i in range(3)]
        assert missed
        await until(lambda: watcher.connected, "the client to reconnect", 10)
        await until(lambda: sum(t == "memory_set" for t, _ in seen) >= 4, "the missed notices", 5)
        memory = [s for t, s in seen if t == "memory_set"]
        assert memory == sorted(set(memory)) and len(memory) == 4  # each once, in order
        events = (await other.call(EVENT_LIST, filters={"event_type": "memory_set"}, order_by="seq:asc")).rows
        assert memory == [e.seq for e in events]
    finally:
        listener.cancel()
        await watcher.close()
        await other.close()
