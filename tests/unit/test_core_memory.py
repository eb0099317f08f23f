"""Shared memory (KV with TTL, CAS blackboard, notes) and token usage, on a real SQLite bench."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from core.bench import Bench
from core.clock import FixedClock
from core.errors import BenchError


async def _error(coro: Any) -> BenchError:
    with pytest.raises(BenchError) as caught:
        await coro
    return caught.value


async def test_kv_ttl_expires_on_the_clock(bench: Bench, fixed_clock: FixedClock) -> None:
    entry = await bench.memory.kv_set({"scope": "lead", "key": "goal", "value": "ship it", "ttl_seconds": 60})
    assert entry.expires_at == "2026-11-23T12:01:00.000000Z"
    fixed_clock.advance(timedelta(seconds=59))
    assert (await bench.memory.kv_get({"scope": "lead", "key": "goal"})).value == "ship it"
    assert [e.key for e in (await bench.memory.kv_list()).rows] == ["goal"]

    fixed_clock.advance(timedelta(seconds=2))  # 61 s after the write
    error = await _error(bench.memory.kv_get({"scope": "lead", "key": "goal"}))
    assert error.code == "not_found"
    assert error.details == {"key": "goal"}
    assert error.message == "no live key lead/goal"
    assert (await bench.memory.kv_list()).rows == []


async def test_kv_without_ttl_persists_and_can_be_deleted(bench: Bench, fixed_clock: FixedClock) -> None:
    await bench.memory.kv_set({"key": "branch", "value": "feat/x"})
    fixed_clock.advance(timedelta(days=400))
    got = await bench.memory.kv_get({"key": "branch"})
    assert (got.scope, got.value, got.expires_at) == ("bench", "feat/x", None)
    # Overwrite replaces the value and can add a TTL.
    await bench.memory.kv_set({"key": "branch", "value": "main", "ttl_seconds": 5})
    assert (await bench.memory.kv_get({"key": "branch"})).value == "main"
    assert (await bench.memory.kv_delete({"key": "branch"})).model_dump() == {"deleted": True}
    assert (await bench.memory.kv_delete({"key": "branch"})).model_dump() == {"deleted": False}
    assert (await _error(bench.memory.kv_get({"key": "branch"}))).code == "not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"key": "bad key", "value": "v"}, "key"),
        ({"key": "", "value": "v"}, "key"),
        ({"scope": "../etc", "key": "k", "value": "v"}, "scope"),
        ({"key": "k", "value": "v", "ttl_seconds": 0}, "ttl_seconds"),
        ({"key": "k", "value": "x" * (64 * 1024 + 1)}, "value"),
    ],
)
async def test_kv_rejects_bad_input(bench: Bench, params: dict[str, Any], field: str) -> None:
    error = await _error(bench.memory.kv_set(params))
    assert (error.code, error.details["field"]) == ("validation_failed", field)
    assert await bench.ctx.db.scalar("SELECT count(*) FROM memory_kv") == 0


async def test_blackboard_compare_and_set(bench: Bench) -> None:
    first = await bench.memory.blackboard_write(
        {"key": "release/plan", "value": "v1", "expected_version": 0, "updated_by": "lead"}
    )
    assert (first.version, first.value, first.updated_by) == (1, "v1", "lead")

    stale = await _error(bench.memory.blackboard_write({"key": "release/plan", "value": "v1b", "expected_version": 0}))
    assert stale.code == "stale_object"
    assert stale.details == {"version": 1}
    assert stale.message == "blackboard release/plan is at version 1, not 0"
    assert (await bench.memory.blackboard_read({"key": "release/plan"})).value == "v1"

    second = await bench.memory.blackboard_write({"key": "release/plan", "value": "v2", "expected_version": 1})
    assert (second.version, second.value) == (2, "v2")
    ahead = await _error(bench.memory.blackboard_write({"key": "release/plan", "value": "v9", "expected_version": 9}))
    assert ahead.code == "stale_object"
    missing = await _error(bench.memory.blackboard_read({"key": "nothing/here"}))
    assert (missing.code, missing.details) == ("not_found", {"key": "nothing/here"})


async def test_blackboard_concurrent_writers_one_wins(bench: Bench) -> None:
    await bench.memory.blackboard_write({"key": "k", "value": "base", "expected_version": 0})
    results = await asyncio.gather(
        *(bench.memory.blackboard_write({"key": "k", "value": f"w{i}", "expected_version": 1}) for i in range(5)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BenchError)]
    assert len(winners) == 1 and len(losers) == 4
    assert {e.code for e in losers} == {"stale_object"}
    current = await bench.memory.blackboard_read({"key": "k"})
    assert (current.version, current.value) == (2, winners[0].value)


async def test_notes_add_list_delete(bench: Bench, fixed_clock: FixedClock) -> None:
    first = await bench.memory.note_add({"title": "Flaky test", "tags": ["tests", "flaky"], "body": "1 in 20"})
    fixed_clock.advance(timedelta(minutes=1))
    second = await bench.memory.note_add({"title": "Staging is read-only on Fridays", "source": "lead"})
    listed = await bench.memory.note_list()
    assert [n.note_id for n in listed.rows] == [second.note_id, first.note_id]  # newest first
    assert listed.rows[1].tags == ["tests", "flaky"]
    by_source = await bench.memory.note_list({"filters": {"source": "lead"}})
    assert [n.title for n in by_source.rows] == ["Staging is read-only on Fridays"]
    assert (await bench.memory.note_delete({"note_id": first.note_id})).model_dump() == {"deleted": True}
    again = await _error(bench.memory.note_delete({"note_id": first.note_id}))
    assert (again.code, again.details) == ("not_found", {"note_id": first.note_id})
    bad = await _error(bench.memory.note_add({"title": "two\nlines"}))
    assert (bad.code, bad.details["field"]) == ("validation_failed", "title")
    assert (await bench.memory.note_list()).total == 1


async def test_token_usage_is_priced_and_deduplicated(bench: Bench) -> None:
    usage = {"model": "claude-sonnet-4-5-20250929", "source": "claude", "input_tokens": 1_000_000, "session_id": "s1"}
    first = await bench.tokens.record(usage)
    assert first.model_dump() == {"recorded": True, "deduplicated": False, "cost_usd": 3.0}
    again = await bench.tokens.record(usage)
    assert again.model_dump() == {"recorded": False, "deduplicated": True, "cost_usd": 3.0}
    keyed = {"model": "claude-opus-4-1", "output_tokens": 1000, "dedup_key": "msg-1"}
    assert (await bench.tokens.record(keyed)).cost_usd == 0.075
    assert (await bench.tokens.record({**keyed, "output_tokens": 5})).deduplicated is True
    unknown = await bench.tokens.record({"model": "llama-local", "input_tokens": 500})
    assert unknown.cost_usd == 0.0

    summary = await bench.tokens.summary()
    assert summary.period == "today"
    assert summary.since == "2026-11-23T00:00:00.000000Z"
    assert summary.total_tokens == 1_000_000 + 1000 + 500
    assert summary.cost_usd == 3.075
    priced = {g.key: g.priced for g in summary.by_model}
    assert priced == {"claude-sonnet-4-5-20250929": True, "claude-opus-4-1": True, "llama-local": False}
    assert [g.key for g in summary.by_agent] == ["(unattributed)"]
    assert (await bench.dashboard()).counts.tokens == {"today": 1_001_500, "cost_usd_today": 3.075}


async def test_token_usage_rejects_unknown_agent_and_bad_counts(bench: Bench) -> None:
    ghost = await _error(bench.tokens.record({"model": "gpt-5", "agent_id": "nope"}))
    assert (ghost.code, ghost.details) == ("agent_not_found", {"field": "agent_id", "agent_id": "nope"})
    negative = await _error(bench.tokens.record({"model": "gpt-5", "input_tokens": -1}))
    assert (negative.code, negative.details["field"]) == ("validation_failed", "input_tokens")
    period = await _error(bench.tokens.summary({"period": "year"}))
    assert (period.code, period.details["field"]) == ("validation_failed", "period")
    assert await bench.ctx.db.scalar("SELECT count(*) FROM token_usage") == 0
