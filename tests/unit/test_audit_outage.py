"""Audit outages seen by every process: when audit.jsonl cannot be written (a full disk), the outage is recorded in
the database, so a `doctor` in another process reports jsonl degraded until a line is written again; missed lines
are counted, the spine keeps them, and the file says where its gap is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import calls
from core.audit import AUDIT_OUTAGE
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from storage import events as events_repo
from storage import settings as settings_repo

FULL = Path("/dev/full")
pytestmark = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full (a device whose writes fail: ENOSPC)")


def _lines(home: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (home / "audit.jsonl").read_text().splitlines()]


async def _toggle(bench: Bench, enabled: bool) -> None:
    await calls.call(bench, "app.routing.set_enabled", {"enabled": enabled})


def _jsonl(done: Any) -> dict[str, Any]:
    return {row["name"]: row for row in done.json()["result"]["subsystems"]}["jsonl"]


async def test_a_full_disk_is_reported_by_another_process_until_a_line_is_written(
    cli_home: Path, run_cli: Any, fixed_clock: FixedClock, settings: Settings
) -> None:
    audit = cli_home / "audit.jsonl"
    async with await Bench.open(cli_home, settings=settings, clock=fixed_clock) as bench:
        await _toggle(bench, False)  # seq 1, written before the outage
        audit.unlink()  # (the disk's file goes: a symlink to /dev/full stands in for it)
        audit.symlink_to(FULL)  # every append now fails with "No space left on device"
        for enabled in (True, False, True):
            await _toggle(bench, enabled)
        await bench.ctx.recorder.flush()
        assert await events_repo.total(bench.ctx.db) == 4  # the spine has every event

        # Another process (doctor opens the database read-only) sees the core's outage, counted.
        done = run_cli("doctor", "--json", home=cli_home)
        assert done.returncode == 1, done.stdout + done.stderr
        row = _jsonl(done)
        assert (row["status"], row["hint"]) == ("degraded", "audit_log_unwritable")
        assert row["reason"].startswith("3 audit lines not written since 2026-11-23T12:00:00")
        assert "seq 2-4" in row["reason"] and "No space left on device" in row["reason"]
        assert str(cli_home) not in row["reason"]  # readiness may be read by a remote client

        audit.unlink()  # space again
        await _toggle(bench, False)
        await bench.ctx.recorder.flush()
        assert _jsonl(run_cli("doctor", "--json", home=cli_home))["status"] == "ok"
        assert (await bench.readiness()).subsystem("jsonl").status == "ok"

    (resumed,) = [line for line in _lines(cli_home) if line["event_type"] == "audit_resumed"]
    assert resumed["payload"] == {
        "since": "2026-11-23T12:00:00.000000Z",
        "missed": 3,
        "first_seq": 2,
        "last_seq": 4,
        "error": "No space left on device",
    }
    assert [line["event_type"] for line in _lines(cli_home)] == ["routing_toggled", "audit_resumed"]


async def test_an_outage_left_open_by_a_dead_process_is_counted_on_and_ended_by_the_next(
    cli_home: Path, run_cli: Any, fixed_clock: FixedClock, settings: Settings
) -> None:
    audit = cli_home / "audit.jsonl"
    audit.symlink_to(FULL)
    bench = await Bench.open(cli_home, settings=settings, clock=fixed_clock)
    await _toggle(bench, False)
    await bench.ctx.recorder.flush()
    await bench.ctx.db.close()  # the process dies: no clean close of the bench, the record stays
    assert _jsonl(run_cli("doctor", "--json", home=cli_home))["reason"].startswith("1 audit line not written")

    async with await Bench.open(cli_home, settings=settings, clock=fixed_clock) as again:
        assert again.ctx.recorder.outage is not None
        await _toggle(again, True)  # still full: counted on the same outage
        await again.ctx.recorder.flush()
        assert _jsonl(run_cli("doctor", "--json", home=cli_home))["reason"].startswith("2 audit lines not written")
        audit.unlink()
        await _toggle(again, False)
        await again.ctx.recorder.flush()
        assert await settings_repo.get(again.ctx.db, AUDIT_OUTAGE) is None
    assert _jsonl(run_cli("doctor", "--json", home=cli_home))["status"] == "ok"
    (resumed,) = [line for line in _lines(cli_home) if line["event_type"] == "audit_resumed"]
    assert (resumed["payload"]["missed"], resumed["payload"]["first_seq"], resumed["payload"]["last_seq"]) == (2, 1, 2)
