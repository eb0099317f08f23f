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
from core.audit import Recorder, Scope
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from core.errors import BenchError
from core.notices import RESYNC, NoticeHub
from core.redaction import REDACTED, redact, redact_text
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
    assert lines[0] == {**events[0].model_dump(exclude={"seq"}), "payload": {"enabled": True}}
    assert [e.seq for e in events] == sorted(e.seq for e in events)  # seq is the spine's order, kept out of the file
    assert lines[1]["timestamp"] == "2026-11-23T12:00:01.000000Z"


async def test_readiness_and_dashboard_have_no_side_effects(bench: Bench) -> None:
    await bench.readiness()
    await bench.dashboard()
    assert await events_repo.total(bench.ctx.db) == 0
    assert not (bench.home / "audit.jsonl").exists()


async def test_jsonl_outage_never_blocks_the_commit(bench: Bench) -> None:
    audit = bench.home / "audit.jsonl"
    audit.mkdir()  # appends now fail with IsADirectoryError
    assert (await bench.routes.set_enabled({"enabled": False})).enabled is False
    assert await events_repo.total(bench.ctx.db) == 1
    assert await bench.routes.routing_enabled() is False
    jsonl = (await bench.readiness()).subsystem("jsonl")
    assert (jsonl.status, jsonl.hint) == ("unavailable", "audit_log_unwritable")

    audit.rmdir()
    jsonl = (await bench.readiness()).subsystem("jsonl")
    assert jsonl.status == "degraded"
    assert jsonl.reason.startswith("1 audit line not written since 2026-11-23T12:00:00")

    await bench.routes.set_enabled({"enabled": True})
    await bench.ctx.recorder.flush()
    jsonl = (await bench.readiness()).subsystem("jsonl")
    assert jsonl.status == "ok"
    # The event from the outage stays in SQLite only; the file says where its gap is.
    assert [line["event_type"] for line in _audit_lines(bench)] == ["routing_toggled", "audit_resumed"]


def test_redact_text_known_secret_shapes() -> None:
    # The kind's prefix (or the variable's name) stays in front of the marker; the shapes in full are in
    # tests/unit/test_redaction.py.
    assert redact_text(SECRET_LINE) == f"ANTHROPIC_API_KEY=sk-ant-{REDACTED}"
    assert redact_text(f"use {SECRET} please") == f"use sk-ant-{REDACTED} please"
    assert redact_text("token ghp_abcdefghijklmnopqrstuvwxyz0123") == f"token ghp_{REDACTED}"
    assert redact_text("aws AKIAABCDEFGHIJKLMNOP") == f"aws AKIA{REDACTED}"
    assert redact_text("Authorization: Bearer abcdefghijklmnopqrstuvwxyz") == f"Authorization: Bearer {REDACTED}"
    assert redact_text("password: hunter2") == f"password: {REDACTED}"
    assert redact_text("DB_PASSWORD=hunter2 and more") == f"DB_PASSWORD={REDACTED} and more"
    assert redact_text("slack xoxb-1234567890-abcdef") == f"slack xoxb-{REDACTED}"
    assert redact_text("nothing secret here: tokens are counted") == "nothing secret here: tokens are counted"
    nested = redact({"a": [SECRET, {"b": SECRET_LINE}], "n": 3, "ok": "plain"})
    assert nested == {"a": [f"sk-ant-{REDACTED}", {"b": f"ANTHROPIC_API_KEY=sk-ant-{REDACTED}"}], "n": 3, "ok": "plain"}


async def test_recorder_redacts_summary_payload_and_jsonl(bench: Bench, tmp_path: Path, fixed_clock) -> None:
    audit = tmp_path / "recorder-audit.jsonl"
    hub = NoticeHub()
    seen = hub.subscribe()
    recorder = Recorder(audit, fixed_clock, Scope("tester", "headless"), hub)
    async with bench.ctx.db.write() as w:
        event = await recorder.stage(w, "note_added", f"pasted {SECRET_LINE}", {"env": SECRET_LINE, "list": [SECRET]})
    recorder.committed(event)

    stored = await events_repo.get(bench.ctx.db, event.event_id)
    assert stored is not None
    assert stored.summary == f"pasted ANTHROPIC_API_KEY=sk-ant-{REDACTED}"
    assert stored.payload == {"env": f"ANTHROPIC_API_KEY=sk-ant-{REDACTED}", "list": [f"sk-ant-{REDACTED}"]}
    assert (stored.origin, stored.surface_id) == ("system", "headless")
    raw = await bench.ctx.db.scalar("SELECT summary || payload FROM events")
    assert SECRET not in raw
    assert SECRET not in audit.read_text()
    notice = seen.get_nowait()
    assert (notice.topic, notice.seq, notice.event) == ("memory", event.seq, event)
    assert event.seq == await bench.ctx.db.scalar("SELECT seq FROM events WHERE event_id = ?", (event.event_id,))


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
    assert events[-1].payload == {"changes": {"label": f"ANTHROPIC_API_KEY=sk-ant-{REDACTED}"}}
    assert SECRET not in (bench.home / "audit.jsonl").read_text()
    # The queue keeps the payload verbatim: it is what gets typed into the pane.
    assert (await bench.queue.list()).rows[0].payload == f"export {SECRET_LINE}"


async def test_subscribers_get_their_topics_and_a_slow_one_gets_resync(bench: Bench) -> None:
    routes = bench.hub.subscribe({"routes"})
    memory = bench.hub.subscribe({"memory"})
    slow = bench.hub.subscribe(size=2)
    await bench.routes.set_enabled({"enabled": False})
    notice = routes.get_nowait()
    assert notice.topic == "routes" and notice.event is not None and notice.event.event_type == "routing_toggled"
    assert notice.seq == notice.event.seq == bench.hub.last_seq
    assert memory.empty()
    for i in range(3):
        await bench.memory.kv_set({"key": f"k{i}", "value": "v"})
    # The slow subscriber's queue overflowed: its backlog is dropped for one resync notice, never unbounded.
    resync = slow.get_nowait()
    assert resync.topic == RESYNC and resync.seq == bench.hub.last_seq - 1
    assert slow.get_nowait().seq == bench.hub.last_seq  # and it goes on from there
    assert slow.empty()
    assert memory.qsize() == 3
    memory.close()
    await bench.memory.kv_set({"key": "after", "value": "v"})
    assert memory.qsize() == 3  # unsubscribed: nothing more arrives


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
    """The core's notice stream (what a client iterates) sees every committed event, in commit (seq) order."""
    subscription = bench.hub.subscribe()
    received: list[tuple[str, int]] = []

    async def consume() -> None:
        async for notice in subscription:
            if notice.event is not None:
                received.append((notice.event.event_type, notice.seq))
            if len(received) == 3:
                return

    consumer = asyncio.create_task(consume())
    await bench.memory.note_add({"title": "memory writes are events too"})
    await bench.routes.set_enabled({"enabled": False})
    await bench.routes.set_enabled({"enabled": True})
    await asyncio.wait_for(consumer, 5)
    assert [t for t, _ in received] == ["note_added", "routing_toggled", "routing_toggled"]
    assert [s for _, s in received] == sorted(s for _, s in received)
    assert bench.hub.subscribers == 0  # the iterator unsubscribed when the consumer finished
