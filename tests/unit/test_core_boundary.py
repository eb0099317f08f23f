"""What the call boundary promises beyond single calls: caller identity per call, services that fail without taking
the core down, readers that never see uncommitted rows, storage failures as closed codes, lists everywhere,
labels without control characters, and routes that keep their matcher when an agent goes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from core import calls
from core.agents import PANE_LIST
from core.audit import Scope
from core.bench import Bench
from core.client import LocalClient
from core.clock import FixedClock
from core.config import Settings
from core.memory import MEMORY_SET
from core.routes import ROUTING_SET
from storage import memory as memory_repo
from storage.errors import DatabaseLockedError
from tests.unit.agent_helpers import eventually, failure, launch_shell

pytestmark = pytest.mark.slow


# -- who is stamped ----------------------------------------------------------------------------------------------
async def test_each_call_is_stamped_with_its_caller_not_the_opener(bench: Bench) -> None:
    tui = LocalClient(bench, surface="tui")
    agent = LocalClient(bench, surface="agent")
    await asyncio.gather(
        tui.call(ROUTING_SET, enabled=False),
        agent.call(MEMORY_SET, key="from-agent", value="x"),
        tui.call(MEMORY_SET, key="k", value="y"),
    )
    await calls.call(bench, "app.routing.set_enabled", {"enabled": True}, Scope("someone", "scheduler", "proj-9"))
    events = (await bench.events.list({"order_by": "seq:asc"})).rows
    stamped = {(e.event_type, e.payload.get("key")): (e.surface_id, e.origin, e.user_id, e.project_id) for e in events}
    assert stamped[("memory_set", "from-agent")] == ("agent", "agent", "tester", "")
    assert stamped[("memory_set", "k")] == ("tui", "tui", "tester", "")
    toggles = [(e.surface_id, e.user_id, e.project_id) for e in events if e.event_type == "routing_toggled"]
    assert toggles == [("tui", "tester", ""), ("scheduler", "someone", "proj-9")]
    # The bench itself was opened by the CLI surface (the fixture): calls made without a caller are stamped so.
    await bench.memory.kv_set({"key": "direct", "value": "z"})
    assert (await bench.events.list()).rows[0].surface_id == "cli"


async def test_the_watcher_stamps_its_events_as_the_core_itself(
    tmp_path: Path, settings: Settings, fixed_clock: FixedClock, workdir: Path
) -> None:
    fast = settings.model_copy(update={"watch_seconds": 0.5})
    bench = await Bench.open(tmp_path / "home", settings=fast, clock=fixed_clock, surface="tui")
    agent = await launch_shell(bench, "watched", workdir)
    await bench.start()
    try:

        async def changed() -> list[object]:
            rows = (await bench.events.list({"filters": {"event_type": "agent_state_changed"}})).rows
            return [e for e in rows if e.agent_id == agent.agent_id]

        (event, *_) = await eventually(changed, within=8, what="a state change event")
        assert (event.surface_id, event.origin) == ("headless", "system")
        assert event.payload["from"] == "unknown" and event.payload["to"] in ("idle", "working")
    finally:
        await bench.close()


# -- services fail without taking the core down -----------------------------------------------------------------
async def test_a_failing_service_degrades_its_row_retries_with_backoff_and_recovers(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = {"left": 2}
    ticks: list[float] = []

    async def flaky() -> int:
        ticks.append(time.monotonic())
        if failures["left"]:
            failures["left"] -= 1
            raise DatabaseLockedError("database is locked")
        return 0

    monkeypatch.setattr(bench.watcher, "tick", flaky)
    monkeypatch.setattr("core.services.BACKOFF_FIRST", 0.2)
    await bench.ctx.tmux.new_session("svc", "bash", str(bench.home))
    await bench.start()
    try:
        await eventually(lambda: asyncio.sleep(0, bench.watcher.health().failures >= 1), within=5)
        report = await bench.readiness()
        row = report.subsystem("tmux_discovery")
        assert (row.status, row.hint) == ("degraded", "service_failed")
        assert "agent watcher failed 1 time(s) in a row (DatabaseLockedError)" in row.reason
        assert any(h.code == "service_failed" and h.subsystem == "tmux_discovery" for h in report.hints)
        assert (await bench.dashboard()).counts.agents["total"] == 0  # the core answers meanwhile

        await eventually(lambda: asyncio.sleep(0, len(ticks) >= 3 and bench.watcher.health().failures == 0), within=5)
        assert ticks[2] - ticks[1] >= 0.35  # the second retry waited twice as long as the first (0.2 s, then 0.4 s)
        assert (await bench.readiness()).subsystem("tmux_discovery").status == "ok"
        assert bench.watcher.running
    finally:
        await bench.close()


# -- storage -----------------------------------------------------------------------------------------------------
async def test_readers_never_see_rows_another_coroutine_has_not_committed(bench: Bench) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        async with bench.ctx.db.write() as w:
            await w.execute(
                "INSERT INTO memory_kv (scope, key, value, updated_at) VALUES ('bench', 'pending', 'v', 'now')"
            )
            inside.set()
            await release.wait()

    writer = asyncio.create_task(slow_writer())
    await inside.wait()
    assert (await bench.memory.kv_list()).total == 0  # uncommitted: not there for anyone else
    release.set()
    await writer
    assert (await bench.memory.kv_list()).total == 1


async def test_sqlite_failures_inside_a_write_are_closed_codes(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken_put(w, entry):  # type: ignore[no-untyped-def]
        await w.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(memory_repo, "kv_put", broken_put)
    result = await calls.envelope(bench, "app.memory.set", {"key": "k", "value": "v"})
    assert result["ok"] is False
    assert result["error"]["code"] == "database_unavailable"
    assert (await bench.memory.kv_list()).total == 0  # rolled back, and the bench still works
    assert (await bench.events.list()).total == 0

    async def constraint(w, entry):  # type: ignore[no-untyped-def]
        await w.execute("UPDATE events SET summary = 'x'")  # the append-only trigger refuses

    await bench.routes.set_enabled({"enabled": True})  # one event for the trigger to guard
    monkeypatch.setattr(memory_repo, "kv_put", constraint)
    result = await calls.envelope(bench, "app.memory.set", {"key": "k", "value": "v"})
    assert result["error"]["code"] == "conflict"


# -- lists and labels --------------------------------------------------------------------------------------------
async def test_pane_list_is_a_list_object_with_filters(bench: Bench, start_panes, adopt) -> None:
    await adopt(bench, {"lead": "master"})
    await start_panes(bench, {"free": 2})
    await bench.agents.scan({"wait": True})
    client = LocalClient(bench)
    every = await client.call(PANE_LIST)
    assert (every.total, every.cursor_next, every.ordering) == (3, None, "alive:desc")
    assert [p.session_name for p in every.rows] == ["free", "free", "lead"]
    free = await client.call(PANE_LIST, filters={"alive": True, "agent_id": None})
    assert [p.session_name for p in free.rows] == ["free", "free"]
    page = await client.call(PANE_LIST, limit=2)
    assert len(page.rows) == 2 and page.cursor_next is not None
    rest = await client.call(PANE_LIST, limit=2, cursor_next=page.cursor_next)
    assert [p.pane_id for p in rest.rows] == [every.rows[2].pane_id]


@pytest.mark.parametrize("bad", ["nul\x00here", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x9b", "tab\tinside"])
async def test_labels_refuse_nul_and_control_characters(bench: Bench, adopt, bad: str) -> None:
    agent = (await adopt(bench, {"lead": "master"}))["lead"]
    for field in ("label", "project_path", "capability"):
        error = await failure(bench.agents.update({"agent_id": agent.agent_id, field: bad}))
        assert (error.code, error.details["field"]) == ("validation_failed", field)
        assert "control characters" in error.message
    assert (await bench.agents.detail({"agent_id": agent.agent_id})).version == 1


# -- removing an agent never widens a route ----------------------------------------------------------------------
async def test_removing_an_agent_disables_the_routes_that_name_it_and_keeps_their_matcher(bench: Bench, adopt) -> None:
    crew = await adopt(bench, {"lead": "master", "api-tests": "test-runner", "other": "worker"})
    source = await bench.routes.add(
        {"name": "tests-to-lead", "event_type": "test_failed", "source_agent_id": crew["api-tests"].agent_id,
         "target_agent_id": crew["lead"].agent_id, "template": "t"}
    )  # fmt: skip
    target = await bench.routes.add(
        {"name": "to-api-tests", "event_type": "error", "target_agent_id": crew["api-tests"].agent_id, "template": "t"}
    )
    unrelated = await bench.routes.add(
        {"name": "unrelated", "event_type": "error", "target_agent_id": crew["other"].agent_id, "template": "t"}
    )
    await bench.agents.remove({"agent_id": crew["api-tests"].agent_id})

    after = {r.route_id: r for r in (await bench.routes.list()).rows}
    assert after[source.route_id].source_agent_id == crew["api-tests"].agent_id  # never widened to "any"
    assert after[target.route_id].target_agent_id == crew["api-tests"].agent_id
    assert not after[source.route_id].enabled and not after[target.route_id].enabled
    assert after[source.route_id].version == source.version + 1
    assert after[unrelated.route_id] == unrelated
    updates = (await bench.events.list({"filters": {"event_type": "route_updated"}, "order_by": "seq:asc"})).rows
    assert [e.summary for e in updates] == [
        "disabled route tests-to-lead: its source agent api-tests was removed",
        "disabled route to-api-tests: its target agent api-tests was removed",
    ]
    assert {e.payload["reason"] for e in updates} == {"source_removed", "target_removed"}


async def test_backoff_doubles_from_the_first_delay_up_to_the_cap(bench: Bench) -> None:
    from core.services import BACKOFF_FIRST, BACKOFF_MAX

    watcher = bench.watcher
    delays = []
    for failures in range(1, 10):
        watcher._failures = failures
        delays.append(watcher.backoff())
    assert delays[:4] == [BACKOFF_FIRST, 2 * BACKOFF_FIRST, 4 * BACKOFF_FIRST, 8 * BACKOFF_FIRST]
    assert max(delays) == BACKOFF_MAX and delays[-1] == BACKOFF_MAX
    watcher._failures = 0
    assert watcher.backoff() == BACKOFF_FIRST


async def test_health_says_running_failures_the_error_and_when_it_retries(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.errors import BenchError

    async def failing() -> int:
        raise BenchError("tmux_unavailable", "tmux said no")

    idle = bench.watcher.health()
    assert (idle.running, idle.failures, idle.last_error, idle.retry_in) == (False, 0, "", None)
    monkeypatch.setattr(bench.watcher, "tick", failing)
    monkeypatch.setattr("core.services.BACKOFF_FIRST", 30.0)
    await bench.watcher.start()
    try:
        await eventually(lambda: asyncio.sleep(0, bench.watcher.health().failures == 1), within=5)
        health = bench.watcher.health()
        assert health.running is True
        assert health.last_error == "tmux said no"  # a core error's own message (others: only the type)
        assert health.retry_in is not None and 29.0 < health.retry_in <= 30.0
    finally:
        await bench.watcher.stop()
    assert bench.watcher.health().running is False
