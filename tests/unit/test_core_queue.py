"""The input queue: limits, idempotency, permissions and the state machine (real tmux panes as targets).

`app.send_input` types into the target pane at once and records the message `delivered` (or `failed`); messages
that wait in the queue (routes, the demo) are made with `Queue.enqueue`, the internal API routes use."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest

from core import calls
from core.bench import Bench
from core.claimer import this_process
from core.clock import FixedClock
from core.config import Settings
from core.errors import BenchError
from core.queue import MAX_PAYLOAD
from storage import queue as queue_repo
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
    assert sent.state == "delivered"
    assert sent.deduplicated is False
    message = await bench.queue.detail({"message_id": sent.message_id})
    assert message.payload == "run the tests"
    assert (message.sender, message.sender_role) == ("operator", "master")
    assert message.target_agent_id == crew["worker"].agent_id
    # Recorded queued (version 1), claimed for typing (2), then settled delivered (3): one attempt, no error.
    assert (message.state_priority, message.version, message.attempts, message.last_error) == (4, 3, 1, "")
    assert message.claimed_by is not None and message.claimed_at == message.enqueued_at
    assert message.enqueued_at == message.delivered_at == "2026-11-23T12:00:00.000000Z"
    events = (await bench.events.list({"order_by": "seq:asc"})).rows
    assert [(e.event_type, e.summary) for e in events[-2:]] == [
        ("queue_message_enqueued", "queued 13 chars for worker"),
        ("input_sent", "typed 13 chars into worker"),
    ]
    assert events[-1].payload == {
        "message_id": sent.message_id,
        "state": "delivered",
        "error": "",
        "failure_reason": None,
    }
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
    assert exact.state == "delivered"
    assert MAX_PAYLOAD == 16 * 1024

    over = await _error(bench.queue.send_input({"target_agent_id": target, "payload": "x" * (MAX_PAYLOAD + 1)}))
    assert over.code == "payload_too_large"
    assert over.details["field"] == "payload"
    assert over.details["size_limit_bytes"] == 16384
    assert over.details["actual_size_bytes"] == 16385
    assert over.message == "payload is 16385 bytes; the limit is 16384"

    # 8,193 characters, but 16,386 bytes of UTF-8.
    wide = await _error(bench.queue.send_input({"target_agent_id": target, "payload": "é" * 8193}))
    assert (wide.code, wide.details["actual_size_bytes"]) == ("payload_too_large", 16386)

    empty = await _error(bench.queue.send_input({"target_agent_id": target, "payload": ""}))
    assert (empty.code, empty.details["field"]) == ("validation_failed", "payload")
    assert await _messages(bench) == 1


async def test_same_idempotency_key_enqueues_once(bench: Bench, crew: dict[str, Agent]) -> None:
    params = {"target_agent_id": crew["worker"].agent_id, "payload": "deploy", "idempotency_key": "deploy-42"}
    first = await bench.queue.send_input(params)
    second = await bench.queue.send_input(params)
    assert first.model_dump() == {"message_id": first.message_id, "state": "delivered", "deduplicated": False}
    assert second.model_dump() == {**first.model_dump(), "deduplicated": True}
    assert await _messages(bench) == 1
    assert (await bench.events.list({"filters": {"event_type": "queue_message_enqueued"}})).total == 1
    assert (await bench.events.list({"filters": {"event_type": "input_sent"}})).total == 1
    # A key bound to a message that waits in the queue (then is canceled) stays bound to it: send_input with
    # that key returns the canceled message and types nothing.
    waiting = await _queued(bench, crew["worker"], "echo never-typed", idempotency_key="deploy-43")
    await bench.queue.cancel({"message_id": waiting})
    third = await bench.queue.send_input({**params, "payload": "echo never-typed", "idempotency_key": "deploy-43"})
    assert (third.message_id, third.state, third.deduplicated) == (waiting, "canceled", True)
    assert (await bench.events.list({"filters": {"event_type": "input_sent"}})).total == 1
    # enqueue honours keys that send_input used, too.
    again, deduplicated = await bench.queue.enqueue(
        target_agent_id=crew["worker"].agent_id,
        payload="deploy",
        sender="operator",
        sender_role="master",
        idempotency_key="deploy-42",
    )
    assert (again.message_id, again.state, deduplicated) == (first.message_id, "delivered", True)


async def test_same_idempotency_key_concurrently_enqueues_once(bench: Bench, crew: dict[str, Agent]) -> None:
    params = {"target_agent_id": crew["worker"].agent_id, "payload": "once", "idempotency_key": "race"}
    results = await asyncio.gather(*(bench.queue.send_input(dict(params)) for _ in range(8)))
    assert len({r.message_id for r in results}) == 1
    assert sorted(r.deduplicated for r in results) == [False] + [True] * 7
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
    assert len({r.message_id for r in results}) == 1
    assert [r.deduplicated for r in results].count(False) == 1
    assert await _messages(bench) == 1


async def test_idempotency_key_length_limit(bench: Bench, crew: dict[str, Agent]) -> None:
    target = crew["worker"].agent_id
    ok = await bench.queue.send_input({"target_agent_id": target, "payload": "a", "idempotency_key": "k" * 256})
    assert ok.deduplicated is False
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
    message = await bench.queue.detail({"message_id": sent.message_id})
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
    delivered = (await bench.queue.send_input({"target_agent_id": crew["worker"].agent_id, "payload": "y"})).message_id
    for action, extra in (
        (bench.queue.approve, {}),
        (bench.queue.delay, {"delay_ms": 1000}),
        (bench.queue.cancel, {}),
        (bench.queue.retry, {}),
    ):
        error = await _error(action({"message_id": delivered, **extra}))
        assert error.code == "stale_object", action.__name__
        assert f"{delivered} is" in error.message and "delivered" in error.message
    assert (await bench.queue.detail({"message_id": delivered})).version == 3  # queued, claimed, delivered


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
    assert [m.message_id for m in delivered.rows] == [typed.message_id]
    dashboard = await bench.dashboard()
    assert dashboard.counts.queue == {"queued": 1, "blocked": 1, "delivered": 1, "canceled": 1, "failed": 0}


async def test_undecodable_payload_is_validation_failed(bench: Bench) -> None:
    result = await calls.envelope(bench, "app.send_input", json.loads('{"target_agent_id": "x", "payload": "\\ud800"}'))
    assert result["ok"] is False
    assert result["error"]["code"] == "validation_failed"
    assert result["error"]["details"]["field"] == "payload"


# -- claims: typed at most once, even across a crash -------------------------------------------------------------


def _dead_claimer() -> str:
    """The claimer name a process of this host had, that has exited since."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{proc.stdout.strip()}:12345"


async def test_claim_left_by_a_dead_process_fails_as_interrupted_and_is_never_retyped(
    bench: Bench, crew: dict[str, Agent], settings: Settings, fixed_clock: FixedClock
) -> None:
    mid = await _queued(bench, crew["worker"], "echo typed-once-$((3*3))", idempotency_key="crash-1")
    async with bench.ctx.db.write() as w:  # what a sender that died between typing and settling leaves
        assert await queue_repo.claim(w, mid, _dead_claimer(), bench.ctx.now())
    alive = await _queued(bench, crew["lead"], "held by a live sender")
    async with bench.ctx.db.write() as w:
        assert await queue_repo.claim(w, alive, this_process(), bench.ctx.now())
    await bench.close()

    async with await Bench.open(bench.home, settings=settings, clock=fixed_clock) as again:
        message = await again.queue.detail({"message_id": mid})
        assert (message.state, message.failure_reason) == ("failed", "interrupted")
        assert "exited before settling" in message.last_error
        failed = (await again.events.list({"filters": {"event_type": "queue_message_failed"}})).rows
        assert [e.payload["failure_reason"] for e in failed] == ["interrupted"]
        # The live process's claim is left alone: it may still be typing.
        assert (await again.queue.detail({"message_id": alive})).state == "queued"
        # The sender retrying with its key gets the failed message back; nothing is typed.
        retried = await again.queue.send_input(
            {
                "target_agent_id": crew["worker"].agent_id,
                "payload": "echo typed-once-$((3*3))",
                "idempotency_key": "crash-1",
            }
        )
        assert (retried.message_id, retried.state, retried.deduplicated) == (mid, "failed", True)
        screen = (await again.agents.capture({"agent_id": crew["worker"].agent_id})).screen
        assert "typed-once-9" not in screen
        # The operator may retry it explicitly: failed → queued, claim cleared.
        requeued = await again.queue.retry({"message_id": mid})
        assert (requeued.state, requeued.claimed_by, requeued.failure_reason) == ("queued", None, None)


async def test_a_keyed_message_recorded_but_never_claimed_is_typed_by_the_retry(
    bench: Bench, crew: dict[str, Agent]
) -> None:
    """The caller died after the message was recorded and before it was claimed: nothing was typed, so the same
    key typed again types it, once."""
    mid = await _queued(bench, crew["worker"], "echo late-$((2+5))", idempotency_key="late-1")
    params = {"target_agent_id": crew["worker"].agent_id, "payload": "echo late-$((2+5))", "idempotency_key": "late-1"}
    results = await asyncio.gather(*(bench.queue.send_input(params) for _ in range(3)))
    assert {(r.message_id, r.state, r.deduplicated) for r in results} == {(mid, "delivered", True)}
    assert (await bench.events.list({"filters": {"event_type": "input_sent"}})).total == 1


async def test_cancelled_while_typing_is_failed_interrupted_not_left_claimed(
    bench: Bench, crew: dict[str, Agent], monkeypatch: pytest.MonkeyPatch
) -> None:
    started = asyncio.Event()

    async def slow_send(pane_id: str, text: str, submit: bool, enter_after: float = 0.0) -> None:
        started.set()
        await asyncio.sleep(30)

    monkeypatch.setattr(bench.ctx.tmux, "send_text", slow_send)
    task = asyncio.create_task(
        bench.queue.send_input({"target_agent_id": crew["worker"].agent_id, "payload": "echo cut-off"})
    )
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (message,) = (await bench.queue.list()).rows
    assert (message.state, message.failure_reason, message.last_error) == ("failed", "interrupted", "interrupted")
