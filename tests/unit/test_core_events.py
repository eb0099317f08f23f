"""The event spine and the JSONL audit file: scope fields, commit order, redaction, and JSONL outages."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core import calls
from core.audit import EventBus, Notice, Recorder, Scope
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from core.errors import BenchError
from core.security import REDACTED, redact, redact_text
from storage import events as events_repo
from tests.unit.agent_helpers import launch_shell

SECRET = "sk-ant-abcdefghijklmnopqrstuvwxyz"
SECRET_LINE = f"ANTHROPIC_API_KEY={SECRET}"


def _audit_lines(bench: Bench) -> list[dict[str, Any]]:
    path = bench.home / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def _all_events(bench: Bench) -> list[Any]:
    return (await bench.events.list({"order_by": "seq:asc", "limit": 200})).rows


async def _error(coro: Any) -> BenchError:
    with pytest.raises(BenchError) as caught:
        await coro
    return caught.value


async def test_event_rows_carry_scope_and_causality(bench: Bench) -> None:
    await bench.routes.set_enabled({"enabled": False})
    (event,) = await _all_events(bench)
    assert event.event_type == "routing_toggled"
    assert event.summary == "routing disabled"
    assert event.payload == {"enabled": False}
    assert (event.user_id, event.surface_id, event.origin) == ("tester", "cli", "cli")
    assert event.timestamp == "2026-11-23T12:00:00.000000Z"
    assert re.fullmatch(r"[0-9a-f]{32}", event.trace_id)
    assert re.fullmatch(r"[0-9a-f]{16}", event.span_id)
    assert re.fullmatch(r"[0-9a-f-]{36}", event.event_id)
    row = await bench.ctx.db.fetchone("SELECT user_id, surface_id, trace_id, span_id FROM events")
    assert tuple(row) == ("tester", "cli", event.trace_id, event.span_id)
    assert await bench.events.detail({"event_id": event.event_id}) == event
    missing = await _error(bench.events.detail({"event_id": "nope"}))
    assert (missing.code, missing.details) == ("not_found", {"event_id": "nope"})


async def test_tui_surface_is_stamped(tmp_path: Path, settings: Settings, fixed_clock: FixedClock) -> None:
    bench = await Bench.open(tmp_path / "tui-home", settings=settings, clock=fixed_clock, surface="tui")
    try:
        await bench.routes.set_enabled({"enabled": True})
        (event,) = await _all_events(bench)
        assert (event.surface_id, event.origin) == ("tui", "tui")
    finally:
        await bench.close()


async def test_audit_jsonl_has_one_line_per_event_in_commit_order(bench: Bench, fixed_clock: FixedClock) -> None:
    for i in range(6):
        await bench.routes.set_enabled({"enabled": i % 2 == 0})
        fixed_clock.advance(timedelta(seconds=1))
    # Concurrent writers too: the JSONL order must still be the commit (seq) order.
    await asyncio.gather(*(bench.routes.set_enabled({"enabled": bool(i % 2)}) for i in range(20)))
    events = await _all_events(bench)
    lines = _audit_lines(bench)
    assert len(events) == 26
    assert [line["event_id"] for line in lines] == [e.event_id for e in events]
    assert lines[0] == {**events[0].model_dump(), "payload": {"enabled": True}}
    assert lines[1]["timestamp"] == "2026-11-23T12:00:01.000000Z"


async def test_readiness_and_dashboard_have_no_side_effects(bench: Bench) -> None:
    await bench.readiness()
    await bench.dashboard()
    assert await events_repo.total(bench.ctx.db) == 0
    assert not (bench.home / "audit.jsonl").exists()


async def test_jsonl_outage_never_blocks_the_commit(bench: Bench) -> None:
    audit = bench.home / "audit.jsonl"
    audit.mkdir()  # appends now fail with IsADirectoryError
    assert await bench.routes.set_enabled({"enabled": False}) == {"enabled": False}
    assert await events_repo.total(bench.ctx.db) == 1
    assert await bench.routes.routing_enabled() is False
    jsonl = (await bench.readiness()).subsystem("jsonl")
    assert (jsonl.status, jsonl.hint) == ("unavailable", "audit_log_unwritable")

    audit.rmdir()
    jsonl = (await bench.readiness()).subsystem("jsonl")
    assert (jsonl.status, jsonl.reason) == ("degraded", "last audit append failed")

    await bench.routes.set_enabled({"enabled": True})
    jsonl = (await bench.readiness()).subsystem("jsonl")
    assert jsonl.status == "ok"
    assert len(_audit_lines(bench)) == 1  # the event from the outage stays in SQLite only


def test_redact_text_known_secret_shapes() -> None:
    assert redact_text(SECRET_LINE) == f"ANTHROPIC_API_KEY={REDACTED}"
    assert redact_text(f"use {SECRET} please") == f"use {REDACTED} please"
    assert redact_text("token ghp_abcdefghijklmnopqrstuvwxyz0123") == f"token {REDACTED}"
    assert redact_text("aws AKIAABCDEFGHIJKLMNOP") == f"aws {REDACTED}"
    assert redact_text("Authorization: Bearer abcdefghijklmnopqrstuvwxyz") == f"Authorization: {REDACTED}"
    assert redact_text("password: hunter2") == f"password={REDACTED}"
    assert redact_text("DB_PASSWORD=hunter2 and more") == f"DB_PASSWORD={REDACTED} and more"
    assert redact_text("slack xoxb-1234567890-abcdef") == f"slack {REDACTED}"
    assert redact_text("nothing secret here: tokens are counted") == "nothing secret here: tokens are counted"
    nested = redact({"a": [SECRET, {"b": SECRET_LINE}], "n": 3, "ok": "plain"})
    assert nested == {"a": [REDACTED, {"b": f"ANTHROPIC_API_KEY={REDACTED}"}], "n": 3, "ok": "plain"}


async def test_recorder_redacts_summary_payload_and_jsonl(bench: Bench, tmp_path: Path, fixed_clock) -> None:
    audit = tmp_path / "recorder-audit.jsonl"
    seen: list[Notice] = []
    bus = EventBus()
    bus.subscribe(seen.append)
    recorder = Recorder(audit, fixed_clock, Scope("tester", "headless"), bus)
    async with bench.ctx.db.write() as w:
        event = await recorder.stage(w, "note", f"pasted {SECRET_LINE}", {"env": SECRET_LINE, "list": [SECRET]})
    recorder.committed(event, topic="memory")

    stored = await events_repo.get(bench.ctx.db, event.event_id)
    assert stored is not None
    assert stored.summary == f"pasted ANTHROPIC_API_KEY={REDACTED}"
    assert stored.payload == {"env": f"ANTHROPIC_API_KEY={REDACTED}", "list": [REDACTED]}
    assert (stored.origin, stored.surface_id) == ("system", "headless")
    raw = await bench.ctx.db.scalar("SELECT summary || payload FROM events")
    assert SECRET not in raw
    assert SECRET not in audit.read_text()
    assert [n.topic for n in seen] == ["event", "memory"]
    assert seen[0].event == event


@pytest.mark.slow
async def test_secret_sent_as_input_never_reaches_events_or_audit(bench: Bench, adopt) -> None:
    crew = await adopt(bench, {"worker": "worker"})
    agent_id = crew["worker"].agent_id
    await bench.queue.send_input({"target_agent_id": agent_id, "payload": f"export {SECRET_LINE}"})
    # A secret typed into a label does reach an event payload (agent_updated records the changes): redacted.
    await bench.agents.update({"agent_id": agent_id, "label": SECRET_LINE})

    events = await _all_events(bench)
    dump = json.dumps([e.model_dump() for e in events])
    assert SECRET not in dump
    assert events[-1].payload == {"changes": {"label": f"ANTHROPIC_API_KEY={REDACTED}"}}
    assert SECRET not in (bench.home / "audit.jsonl").read_text()
    # The queue keeps the payload verbatim: it is what gets typed into the pane.
    assert (await bench.queue.list()).rows[0].payload == f"export {SECRET_LINE}"


async def test_subscribers_see_committed_events_and_failures_are_contained(bench: Bench) -> None:
    seen: list[Notice] = []

    def broken(_: Notice) -> None:
        raise RuntimeError("subscriber bug")

    bench.bus.subscribe(broken)
    unsubscribe = bench.bus.subscribe(seen.append)
    await bench.routes.set_enabled({"enabled": False})
    assert [n.topic for n in seen] == ["event", "routes"]
    assert seen[0].event is not None and seen[0].event.event_type == "routing_toggled"
    unsubscribe()
    await bench.routes.set_enabled({"enabled": True})
    assert len(seen) == 2


async def test_event_list_filters_time_range_and_paging(bench: Bench, fixed_clock: FixedClock) -> None:
    for i in range(5):
        await bench.routes.set_enabled({"enabled": i % 2 == 1})
        fixed_clock.advance(timedelta(minutes=10))
    newest_first = await bench.events.list()
    assert newest_first.ordering == "seq:desc"
    assert [e.payload["enabled"] for e in newest_first.rows] == [False, True, False, True, False]
    window = await bench.events.list(
        {"since": "2026-11-23T12:10:00.000000Z", "until": "2026-11-23T12:30:00.000000Z", "order_by": "seq:asc"}
    )
    assert [e.timestamp for e in window.rows] == [
        "2026-11-23T12:10:00.000000Z",
        "2026-11-23T12:20:00.000000Z",
        "2026-11-23T12:30:00.000000Z",
    ]
    backwards = await _error(bench.events.list({"since": "2026-11-24T00:00:00Z", "until": "2026-11-23T00:00:00Z"}))
    assert (backwards.code, backwards.details["field"]) == ("validation_failed", "since")
    by_user = await bench.events.list({"filters": {"user_id": "tester", "event_type": "routing_toggled"}})
    assert by_user.total == 5
    nobody = await bench.events.list({"filters": {"user_id": "someone-else"}})
    assert (nobody.total, nobody.rows, nobody.cursor_next) == (0, [], None)


async def test_event_since_accepts_plain_iso_timestamps(bench: Bench) -> None:
    await bench.routes.set_enabled({"enabled": False})  # stamped 2026-11-23T12:00:00.000000Z
    assert (await bench.events.list({"since": "2026-11-23T12:00:00Z"})).total == 1
    assert (await bench.events.list({"since": "2026-11-23T12:30:00+01:00"})).total == 1  # 11:30 UTC


def test_scope_origin_follows_surface() -> None:
    expected = {"tui": "tui", "cli": "cli", "headless": "system", "agent": "agent", "scheduler": "scheduler"}
    for surface, origin in expected.items():
        assert Scope("u", surface).origin == origin  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.usefixtures("tmux_bin")
@pytest.mark.parametrize("surface", ["tui", "cli"])
async def test_agent_lifecycle_is_audited_with_the_surface_origin(
    tmp_path: Path, settings: Settings, fixed_clock: FixedClock, workdir: Path, surface: str
) -> None:
    async with await Bench.open(tmp_path / "home", settings=settings, clock=fixed_clock, surface=surface) as bench:
        await bench.ctx.tmux.new_session("bystander", "bash", str(workdir))  # the server outlives the kill
        agent = await launch_shell(bench, "audited", workdir, env={"RB_AUDIT_TOKEN": "tok-992211"})
        await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "echo hi"})
        await calls.call(bench, "app.log.attach", {"agent_id": agent.agent_id})
        await calls.call(bench, "app.log.detach", {"agent_id": agent.agent_id})
        await calls.call(bench, "app.agent.kill", {"agent_id": agent.agent_id})
        await calls.call(bench, "app.agent.restart", {"agent_id": agent.agent_id})
        events = await _all_events(bench)
        lines = _audit_lines(bench)

    assert [e.event_type for e in events] == [
        "agent_launched",
        "queue_message_enqueued",
        "input_sent",
        "log_attached",
        "log_detached",
        "agent_killed",
        "agent_restarted",
    ]
    assert {e.agent_id for e in events} == {agent.agent_id}
    assert {(e.origin, e.surface_id, e.user_id) for e in events} == {(surface, surface, "tester")}
    # The audit file got the same events, in commit order.
    assert [line["event_id"] for line in lines] == [e.event_id for e in events]
    assert {line["origin"] for line in lines} == {surface}
    text = (tmp_path / "home" / "audit.jsonl").read_text()
    assert "tok-992211" not in text and "RB_AUDIT_TOKEN" in text


async def test_event_stream_yields_committed_events_in_order(bench: Bench) -> None:
    """The core's event stream (what a headless consumer iterates) sees every committed event, in commit order."""
    stream = bench.bus.stream()
    received: list[str] = []

    async def consume() -> None:
        async for notice in stream:
            if notice.event is not None:
                received.append(notice.event.event_type)
            if len(received) == 2:
                return

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)  # let the consumer subscribe
    await bench.memory.note_add({"title": "not an event"})  # a topic notice only: not in `received`
    await bench.routes.set_enabled({"enabled": False})
    await bench.routes.set_enabled({"enabled": True})
    await asyncio.wait_for(consumer, 5)
    await stream.aclose()
    assert received == ["routing_toggled", "routing_toggled"]
