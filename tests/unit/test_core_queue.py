"""The input queue: limits, idempotency, permissions and the state machine (real tmux panes as targets).

`app.send_input` types into the target pane at once and records the message `delivered` (or `failed`); messages
that wait in the queue (routes, the demo) are made with `Queue.enqueue`, the internal API routes use."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from core import calls
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from core.errors import BenchError
from core.queue import MAX_PAYLOAD
from storage.models import Agent

pytestmark = pytest.mark.slow


@pytest.fixture
async def crew(bench: Bench, adopt) -> dict[str, Agent]:
    return await adopt(bench, {"lead": "master", "worker": "worker", "tester": "test-runner"})


async def _error(coro: Any) -> BenchError:
    with pytest.raises(BenchError) as caught:
        await coro
    return caught.value


async def _messages(bench: Bench) -> int:
    return int(await bench.ctx.db.scalar("SELECT count(*) FROM queue_messages"))


async def _queued(bench: Bench, agent: Agent, payload: str, **extra: Any) -> str:
    """A message waiting in the queue, as a route would leave it (send_input would deliver it at once)."""
    message, deduplicated = await bench.queue.enqueue(
        target_agent_id=agent.agent_id, payload=payload, sender="operator", sender_role="master", **extra
    )
    assert not deduplicated
    return message.message_id


async def test_send_input_delivers_for_the_operator(bench: Bench, crew: dict[str, Agent]) -> None:
    sent = await bench.queue.send_input({"target_agent_id": crew["worker"].agent_id, "payload": "run the tests"})
    assert sent["state"] == "delivered"
    assert sent["deduplicated"] is False
    message = await bench.queue.detail({"message_id": sent["message_id"]})
    assert message.payload == "run the tests"
    assert (message.sender, message.sender_role) == ("operator", "master")
    assert message.target_agent_id == crew["worker"].agent_id
    # Recorded queued (version 1), then settled delivered: one attempt, no error.
    assert (message.state_priority, message.version, message.attempts, message.last_error) == (4, 2, 1, "")
    assert message.enqueued_at == message.delivered_at == "2026-11-23T12:00:00.000000Z"
    events = (await bench.events.list({"order_by": "seq:asc"})).rows
    assert [(e.event_type, e.summary) for e in events[-2:]] == [
        ("queue_message_enqueued", "queued 13 chars for worker"),
        ("input_sent", "typed 13 chars into worker"),
    ]
    assert events[-1].payload == {"message_id": sent["message_id"], "state": "delivered", "error": ""}
    dashboard = await bench.dashboard()
    assert dashboard.counts.queue == {"queued": 0, "blocked": 0, "delivered": 1, "canceled": 0, "failed": 0}


async def test_enqueue_leaves_the_message_queued_and_types_nothing(bench: Bench, crew: dict[str, Agent]) -> None:
    mid = await _queued(bench, crew["worker"], "echo queued-not-typed")
    message = await bench.queue.detail({"message_id": mid})
    assert (message.state, message.state_priority, message.version, message.attempts) == ("queued", 1, 1, 0)
    assert message.delivered_at is None
    types = [e.event_type for e in (await bench.events.list()).rows]
    assert "queue_message_enqueued" in types and "input_sent" not in types
    screen = (await bench.agents.capture({"agent_id": crew["worker"].agent_id})).screen
    assert "queued-not-typed" not in screen


async def test_payload_limit_is_16_kib_in_bytes(bench: Bench, crew: dict[str, Agent]) -> None:
    target = crew["worker"].agent_id
    # Exactly 16 KiB is typed (through a paste buffer; submit off so bash does not run it).
    exact = await bench.queue.send_input({"target_agent_id": target, "payload": "x" * MAX_PAYLOAD, "submit": False})
    assert exact["state"] == "delivered"
    assert MAX_PAYLOAD == 16 * 1024

    over = await _error(bench.queue.send_input({"target_agent_id": target, "payload": "x" * (MAX_PAYLOAD + 1)}))
    assert over.code == "validation_failed"
    assert over.details["field"] == "payload"
    assert over.details["size_limit_bytes"] == 16384
    assert over.details["actual_size_bytes"] == 16385
    assert over.message == "payload is 16385 bytes; the limit is 16384"

    # 8,193 characters, but 16,386 bytes of UTF-8.
    wide = await _error(bench.queue.send_input({"target_agent_id": target, "payload": "é" * 8193}))
    assert (wide.code, wide.details["actual_size_bytes"]) == ("validation_failed", 16386)

    empty = await _error(bench.queue.send_input({"target_agent_id": target, "payload": ""}))
    assert (empty.code, empty.details["field"]) == ("validation_failed", "payload")
    assert await _messages(bench) == 1


async def test_same_idempotency_key_enqueues_once(bench: Bench, crew: dict[str, Agent]) -> None:
    params = {"target_agent_id": crew["worker"].agent_id, "payload": "deploy", "idempotency_key": "deploy-42"}
    first = await bench.queue.send_input(params)
    second = await bench.queue.send_input(params)
    assert first == {"message_id": first["message_id"], "state": "delivered", "deduplicated": False}
    assert second == {**first, "deduplicated": True}
    assert await _messages(bench) == 1
    assert (await bench.events.list({"filters": {"event_type": "queue_message_enqueued"}})).total == 1
    assert (await bench.events.list({"filters": {"event_type": "input_sent"}})).total == 1
    # A key bound to a message that waits in the queue (then is canceled) stays bound to it: send_input with
    # that key returns the canceled message and types nothing.
    waiting = await _queued(bench, crew["worker"], "echo never-typed", idempotency_key="deploy-43")
    await bench.queue.cancel({"message_id": waiting})
    third = await bench.queue.send_input({**params, "payload": "echo never-typed", "idempotency_key": "deploy-43"})
    assert (third["message_id"], third["state"], third["deduplicated"]) == (waiting, "canceled", True)
    assert (await bench.events.list({"filters": {"event_type": "input_sent"}})).total == 1
    # enqueue honours keys that send_input used, too.
    again, deduplicated = await bench.queue.enqueue(
        target_agent_id=crew["worker"].agent_id,
        payload="deploy",
        sender="operator",
        sender_role="master",
        idempotency_key="deploy-42",
    )
    assert (again.message_id, again.state, deduplicated) == (first["message_id"], "delivered", True)


async def test_same_idempotency_key_concurrently_enqueues_once(bench: Bench, crew: dict[str, Agent]) -> None:
    params = {"target_agent_id": crew["worker"].agent_id, "payload": "once", "idempotency_key": "race"}
    results = await asyncio.gather(*(bench.queue.send_input(dict(params)) for _ in range(8)))
    assert len({r["message_id"] for r in results}) == 1
    assert sorted(r["deduplicated"] for r in results) == [False] + [True] * 7
    assert await _messages(bench) == 1


async def test_same_idempotency_key_from_two_windows_enqueues_once(
    bench: Bench, crew: dict[str, Agent], settings: Settings, fixed_clock: FixedClock
) -> None:
    """Two Bench instances on one home (two connections) racing on a key: BEGIN IMMEDIATE serialises them."""
    other = await Bench.open(bench.home, settings=settings, clock=fixed_clock)
    try:
        params = {"target_agent_id": crew["worker"].agent_id, "payload": "once", "idempotency_key": "two-windows"}
        results = await asyncio.gather(
            *(b.queue.send_input(dict(params)) for b in (bench, other, bench, other, bench, other))
        )
    finally:
        await other.close()
    assert len({r["message_id"] for r in results}) == 1
    assert [r["deduplicated"] for r in results].count(False) == 1
    assert await _messages(bench) == 1


async def test_idempotency_key_length_limit(bench: Bench, crew: dict[str, Agent]) -> None:
    target = crew["worker"].agent_id
    ok = await bench.queue.send_input({"target_agent_id": target, "payload": "a", "idempotency_key": "k" * 256})
    assert ok["deduplicated"] is False
    error = await _error(
        bench.queue.send_input({"target_agent_id": target, "payload": "a", "idempotency_key": "k" * 257})
    )
    assert (error.code, error.details["field"]) == ("validation_failed", "idempotency_key")


async def test_only_a_master_may_send(bench: Bench, crew: dict[str, Agent]) -> None:
    for sender in ("worker", "tester"):
        error = await _error(
            bench.queue.send_input(
                {
                    "target_agent_id": crew["lead"].agent_id,
                    "payload": "let me in",
                    "sender_agent_id": crew[sender].agent_id,
                }
            )
        )
        assert error.code == "permission_denied"
        assert crew[sender].role in error.message
    assert await _messages(bench) == 0

    sent = await bench.queue.send_input(
        {"target_agent_id": crew["worker"].agent_id, "payload": "go", "sender_agent_id": crew["lead"].agent_id}
    )
    message = await bench.queue.detail({"message_id": sent["message_id"]})
    assert (message.sender, message.sender_role) == (crew["lead"].agent_id, "master")

    ghost = await _error(
        bench.queue.send_input({"target_agent_id": crew["worker"].agent_id, "payload": "x", "sender_agent_id": "nope"})
    )
    assert (ghost.code, ghost.details) == ("agent_not_found", {"agent_id": "nope"})
    no_target = await _error(bench.queue.send_input({"target_agent_id": "nope", "payload": "x"}))
    assert (no_target.code, no_target.details) == ("agent_not_found", {"agent_id": "nope"})


async def test_delay_approve_cancel_transitions(bench: Bench, crew: dict[str, Agent], fixed_clock: FixedClock) -> None:
    mid = await _queued(bench, crew["worker"], "later")

    delayed = await bench.queue.delay({"message_id": mid, "delay_ms": 15 * 60 * 1000})
    assert (delayed.state, delayed.block_reason) == ("blocked", "operator_delayed")
    assert delayed.delay_until == "2026-11-23T12:15:00.000000Z"
    assert (delayed.state_priority, delayed.version) == (2, 2)

    approved = await bench.queue.approve({"message_id": mid})
    assert (approved.state, approved.block_reason, approved.delay_until) == ("queued", None, None)
    assert (approved.state_priority, approved.version) == (1, 3)

    until = await bench.queue.delay({"message_id": mid, "until": "2026-11-24T08:00:00+01:00"})
    assert until.delay_until == "2026-11-24T07:00:00.000000Z"

    canceled = await bench.queue.cancel({"message_id": mid, "reason": "not today"})
    assert (canceled.state, canceled.cancel_reason, canceled.state_priority) == ("canceled", "not today", 5)

    types = [e.event_type for e in (await bench.events.list({"order_by": "seq:asc"})).rows]
    assert types[-5:] == [
        "queue_message_enqueued",
        "queue_message_delayed",
        "queue_message_approved",
        "queue_message_delayed",
        "queue_message_canceled",
    ]


async def test_actions_on_final_message_are_stale_and_wrong_state_is_conflict(
    bench: Bench, crew: dict[str, Agent]
) -> None:
    mid = await _queued(bench, crew["worker"], "x")

    conflict = await _error(bench.queue.approve({"message_id": mid}))
    assert conflict.code == "conflict"
    assert conflict.message == f"message {mid} is queued; this action needs blocked"
    retry_queued = await _error(bench.queue.retry({"message_id": mid}))
    assert retry_queued.code == "conflict"

    await bench.queue.cancel({"message_id": mid})
    for action, extra in (
        (bench.queue.approve, {}),
        (bench.queue.delay, {"delay_ms": 1000}),
        (bench.queue.cancel, {}),
        (bench.queue.retry, {}),
    ):
        error = await _error(action({"message_id": mid, **extra}))
        assert error.code == "stale_object", action.__name__
        assert f"{mid} is" in error.message and "canceled" in error.message
    final = await bench.queue.detail({"message_id": mid})
    assert (final.state, final.version) == ("canceled", 2)

    # A message send_input delivered is final as well: nothing can requeue or cancel it.
    delivered = (await bench.queue.send_input({"target_agent_id": crew["worker"].agent_id, "payload": "y"}))[
        "message_id"
    ]
    for action, extra in (
        (bench.queue.approve, {}),
        (bench.queue.delay, {"delay_ms": 1000}),
        (bench.queue.cancel, {}),
        (bench.queue.retry, {}),
    ):
        error = await _error(action({"message_id": delivered, **extra}))
        assert error.code == "stale_object", action.__name__
        assert f"{delivered} is" in error.message and "delivered" in error.message
    assert (await bench.queue.detail({"message_id": delivered})).version == 2


async def test_queue_bad_requests(bench: Bench, crew: dict[str, Agent]) -> None:
    mid = await _queued(bench, crew["worker"], "x")
    missing = await _error(bench.queue.approve({"message_id": "nope"}))
    assert (missing.code, missing.details) == ("queue_message_not_found", {"message_id": "nope"})
    both = await _error(bench.queue.delay({"message_id": mid, "delay_ms": 10, "until": "2026-11-24T00:00:00Z"}))
    assert both.code == "validation_failed"
    assert "exactly one of delay_ms or until" in both.message
    naive = await _error(bench.queue.delay({"message_id": mid, "until": "2026-11-24T00:00:00"}))
    assert (naive.code, naive.details["field"]) == ("validation_failed", "until")
    garbage = await _error(bench.queue.delay({"message_id": mid, "until": "tomorrow"}))
    assert (garbage.code, garbage.details["field"]) == ("validation_failed", "until")
    assert (await bench.queue.detail({"message_id": mid})).state == "queued"


async def test_queue_list_default_order_and_filters(
    bench: Bench, crew: dict[str, Agent], fixed_clock: FixedClock
) -> None:
    target = crew["worker"].agent_id
    ids = []
    for text in ("to-cancel", "to-delay", "stays-queued"):
        ids.append(await _queued(bench, crew["worker"], text))
        fixed_clock.advance(timedelta(seconds=1))
    typed = await bench.queue.send_input({"target_agent_id": target, "payload": "echo typed"})
    await bench.queue.cancel({"message_id": ids[0]})
    await bench.queue.delay({"message_id": ids[1], "delay_ms": 60_000})
    listed = await bench.queue.list()
    assert listed.ordering == "state_priority:asc"
    assert [(m.payload, m.state) for m in listed.rows] == [
        ("stays-queued", "queued"),
        ("to-delay", "blocked"),
        ("echo typed", "delivered"),
        ("to-cancel", "canceled"),
    ]
    blocked = await bench.queue.list({"filters": {"state": "blocked"}})
    assert [m.message_id for m in blocked.rows] == [ids[1]]
    delivered = await bench.queue.list({"filters": {"state": "delivered"}})
    assert [m.message_id for m in delivered.rows] == [typed["message_id"]]
    dashboard = await bench.dashboard()
    assert dashboard.counts.queue == {"queued": 1, "blocked": 1, "delivered": 1, "canceled": 1, "failed": 0}


async def test_undecodable_payload_is_validation_failed(bench: Bench) -> None:
    result = await calls.envelope(bench, "app.send_input", json.loads('{"target_agent_id": "x", "payload": "\\ud800"}'))
    assert result["ok"] is False
    assert result["error"]["code"] == "validation_failed"
    assert result["error"]["details"]["field"] == "payload"
