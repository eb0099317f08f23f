"""Sessions and notice feeds in-process (the conformance suite checks the same through a real server)."""

from __future__ import annotations

import os
import uuid

import pytest

from core.bench import Bench
from core.errors import BenchError
from core.notices import RESYNC, TOPICS, Notice, NoticeHub, topic_of
from core.sessions import APP_CONTRACT_MINOR, APP_CONTRACT_VERSION, MAX_SESSIONS, REPLAY_LIMIT


async def _error(coro: object) -> BenchError:
    with pytest.raises(BenchError) as caught:
        await coro  # type: ignore[misc]
    return caught.value


async def test_hello_opens_numbered_sessions_up_to_the_limit(bench: Bench) -> None:
    sessions = bench.sessions
    hellos = [await sessions.hello({"client_id": f"c{i}", "surface": "agent"}) for i in range(MAX_SESSIONS)]
    assert [h.app_session_id for h in hellos] == list(range(1, MAX_SESSIONS + 1))
    assert all(str(uuid.UUID(h.app_session_token)) == h.app_session_token for h in hellos)
    assert len({h.app_session_token for h in hellos}) == MAX_SESSIONS
    first = hellos[0]
    assert (first.app_contract_version, first.state, first.host_user_id) == (APP_CONTRACT_VERSION, "ok", "tester")
    assert (first.supported_minor_range.min, first.supported_minor_range.max) == (0, APP_CONTRACT_MINOR) == (0, 2)
    assert first.schema_version >= 3 and first.capability_flags == {"notices": True, "describe": True}
    assert (await sessions.preflight()).sessions == MAX_SESSIONS
    full = await _error(sessions.hello({"client_id": "ninth"}))
    assert (full.code, full.details["field"], full.details["reason"]) == (
        "validation_failed",
        "app.hello",
        "too_many_sessions",
    )
    session = sessions.check(first.app_session_token)
    assert (session.client_id, session.surface, session.session_id) == ("c0", "agent", 1)
    sessions.end(first.app_session_token)
    assert sessions.count == MAX_SESSIONS - 1
    assert (await sessions.hello({"client_id": "again"})).app_session_id == MAX_SESSIONS + 1


async def test_a_major_this_core_does_not_speak_opens_nothing(bench: Bench) -> None:
    error = await _error(bench.sessions.hello({"client_id": "future", "client_app_contract_major": 2}))
    assert error.code == "app_contract_major_unsupported"
    assert error.details == {"daemon_app_contract_version": APP_CONTRACT_VERSION, "client_app_contract_major": 2}
    assert bench.sessions.count == 0
    for bad in (
        {"client_id": ""},
        {"client_id": "x" * 129},
        {"client_id": "tab\there"},
        {"client_id": "c", "surface": "headless"},
    ):
        assert (await _error(bench.sessions.hello(bad))).code == "validation_failed", bad


async def test_tokens_are_required_then_expired(bench: Bench) -> None:
    sessions = bench.sessions
    for missing in (None, "", 5):
        assert _check(sessions, missing) == "app_session_required"
    assert _check(sessions, "not-a-token") == "app_session_required"
    assert _check(sessions, str(uuid.uuid4())) == "app_session_expired"  # well formed, not ours (a restart)
    token = (await sessions.hello({"client_id": "c"})).app_session_token
    assert _check(sessions, token) == "ok"
    sessions.end(token)
    sessions.end(token)  # twice is harmless
    assert _check(sessions, token) == "app_session_expired"
    assert sessions.count == 0


def _check(sessions: object, token: object) -> str:
    try:
        sessions.check(token)  # type: ignore[attr-defined]
    except BenchError as exc:
        return exc.code
    return "ok"


async def test_preflight_says_who_serves(bench: Bench) -> None:
    answer = await bench.sessions.preflight()
    assert answer.model_dump() == {
        "socket_reachable": True, "daemon_reachable": True, "code": "ok", "pid": os.getpid(), "sessions": 0,
        "max_sessions": MAX_SESSIONS,
    }  # fmt: skip


async def test_missed_events_are_replayed_or_resync(bench: Bench) -> None:
    assert await bench.sessions.missed(None, None) == ([], False)
    start = bench.hub.last_seq
    for i in range(3):
        await bench.memory.kv_set({"key": f"k{i}", "value": "v"})
    missed, resync = await bench.sessions.missed(start, None)
    assert [e.seq for e in missed] == [start + 1, start + 2, start + 3] and not resync
    assert (await bench.sessions.missed(start + 3, None)) == ([], False)
    subscribed = await bench.sessions.subscribe({"since_seq": start, "topics": ["memory"]})
    assert (subscribed.seq, subscribed.resync, subscribed.replay) == (start + 3, False, 3)
    bad = await _error(bench.sessions.subscribe({"topics": ["nope"]}))
    assert (bad.code, bad.details["field"]) == ("validation_failed", "topics")


async def test_too_many_missed_is_resync(bench: Bench) -> None:
    start = bench.hub.last_seq
    async with bench.ctx.db.write() as w:
        for i in range(REPLAY_LIMIT + 1):
            await bench.ctx.recorder.stage(w, "memory_set", f"k{i}")
    assert await bench.sessions.missed(start, None) == ([], True)
    exactly = await bench.sessions.missed(start + 1, None)
    assert (len(exactly[0]), exactly[1]) == (REPLAY_LIMIT, False)


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [
        ("agent_launched", "agents"), ("agent_state_changed", "agents"), ("log_attached", "agents"),
        ("input_sent", "queue"), ("queue_message_failed", "queue"), ("route_updated", "routes"),
        ("routing_toggled", "routes"), ("memory_set", "memory"), ("blackboard_written", "memory"),
        ("note_added", "memory"), ("tokens_recorded", "tokens"), ("budget_recorded", "tokens"),
        ("process_state_changed", "processes"), ("schedule_fired", "schedules"), ("something_else", "bench"),
        ("note", "bench"), ("agent", "bench"),
    ],
)  # fmt: skip
def test_event_types_map_to_the_topic_of_what_they_change(event_type: str, topic: str) -> None:
    assert topic_of(event_type) == topic
    assert topic in TOPICS


def test_hub_counts_generations_and_keeps_the_newest_seq() -> None:
    assert (NoticeHub().last_seq, NoticeHub().generation) == (0, 0)
    hub = NoticeHub(last_seq=5)
    everything = hub.subscribe()
    queue_only = hub.subscribe({"queue"})
    hub.publish_topic("agents")
    notice = everything.get_nowait()
    assert (notice.topic, notice.seq, notice.event) == ("agents", 5, None)
    assert queue_only.empty() and hub.generation == 1
    hub.publish(Notice("queue", 9))
    hub.publish(Notice("queue", 7))  # an older seq never moves last_seq back
    assert hub.last_seq == 9 and hub.generation == 3
    assert queue_only.qsize() == 2
    hub.publish(Notice(RESYNC, 9))
    assert queue_only.qsize() == 3  # resync reaches every subscriber, whatever it asked for
    assert hub.subscribers == 2
    queue_only.close()
    assert hub.subscribers == 1
