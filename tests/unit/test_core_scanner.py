"""The pane scanner: coalesced requests, and a scan that fails for any reason ends as `failed` so the next one runs
(found in review: a storage error left the scan in flight for good and every later scan joined it)."""

from __future__ import annotations

import asyncio

import pytest

from core.bench import Bench
from core.clock import FixedClock
from core.tmux import PaneScanner
from storage import agents as agents_repo
from storage.errors import DatabaseLockedError


async def test_any_failure_ends_the_scan_and_the_next_one_runs(fixed_clock: FixedClock) -> None:
    outcomes: list[object] = [DatabaseLockedError("database x is locked"), RuntimeError("bug"), 3]

    async def run_scan() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return int(outcome)  # type: ignore[call-overload]

    scanner = PaneScanner(run_scan, fixed_clock)
    first = await scanner.request(wait=True)
    assert (first.state, first.error) == ("failed", "the scan failed (DatabaseLockedError)")
    second = await scanner.request(wait=True)
    assert second.scan_id != first.scan_id and second.state == "failed"
    third = await scanner.request(wait=True)
    assert (third.state, third.panes_found) == ("done", 3)
    assert scanner.status(first.scan_id).state == "failed"  # history keeps what happened


async def test_concurrent_requests_join_one_scan(fixed_clock: FixedClock) -> None:
    calls = 0
    release = asyncio.Event()

    async def run_scan() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 1

    scanner = PaneScanner(run_scan, fixed_clock)
    waiting = [asyncio.create_task(scanner.request(wait=True)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiting)
    assert calls == 1 and len({r.scan_id for r in results}) == 1


@pytest.mark.slow
async def test_a_storage_error_in_a_bench_scan_does_not_stop_scanning(
    bench: Bench, start_panes, monkeypatch: pytest.MonkeyPatch
) -> None:
    await start_panes(bench, {"alpha": 1})
    real = agents_repo.upsert_panes

    async def locked(*args: object, **kwargs: object) -> None:
        raise DatabaseLockedError("database is locked by another process")

    monkeypatch.setattr(agents_repo, "upsert_panes", locked)
    failed = await bench.agents.scan({"wait": True})
    assert failed.state == "failed"
    monkeypatch.setattr(agents_repo, "upsert_panes", real)
    done = await bench.agents.scan({"wait": True})
    assert (done.state, done.panes_found) == ("done", 1)
    assert [p.session_name for p in await bench.agents.panes()] == ["alpha"]
