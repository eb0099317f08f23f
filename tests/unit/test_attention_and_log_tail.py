"""The core side of two operator views, on a real SQLite file: `app.dashboard`'s "needs you" list (what waits on
the operator, most urgent first) and `app.log.tail` with `since` (the log from a time on, found through the sizes
the watcher's log check noted)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core import calls
from core.bench import Bench
from core.clock import FixedClock, stamp
from core.logs import Logs
from storage import agents as agents_repo
from storage import log_attachments
from storage.models import Agent

NOW = "2026-11-23T12:00:00.000000Z"


async def add_agent(bench: Bench, name: str, state: str = "idle", why: str = "", active: str | None = None) -> Agent:
    agent = Agent(
        agent_id=f"id-{name}",
        name=name,
        role="worker",
        kind="shell",
        state=state,  # type: ignore[arg-type]
        state_reason=why,
        created_at=NOW,
        updated_at=NOW,
        last_activity_at=active,
    )
    async with bench.ctx.db.write() as w:
        await agents_repo.insert(w, agent)
    return agent


async def test_needs_you_lists_waiting_agents_then_held_and_failed_messages_then_crashed_processes(
    bench: Bench,
) -> None:
    await add_agent(bench, "calm")
    late = await add_agent(
        bench, "late", "waiting_for_input", "question: Continue? [y/N]", "2026-11-23T11:50:00.000000Z"
    )
    early = await add_agent(bench, "early", "waiting_for_input", "", "2026-11-23T11:00:00.000000Z")
    held, _ = await bench.queue.enqueue(
        target_agent_id=late.agent_id,
        payload="Look at it",
        sender="route",
        sender_role="master",
        block_reason="awaiting_approval",
    )
    await bench.queue.enqueue(  # delayed by the operator: it waits on a clock, not on the operator
        target_agent_id=late.agent_id,
        payload="later",
        sender="route",
        sender_role="master",
        block_reason="operator_delayed",
    )
    failed, _ = await bench.queue.enqueue(
        target_agent_id=early.agent_id, payload="typed nowhere", sender="operator", sender_role="master"
    )
    async with bench.ctx.db.write() as w:
        await w.execute(
            "UPDATE queue_messages SET state = 'failed', failure_reason = 'tmux_error' WHERE message_id = ?",
            (failed.message_id,),
        )
        for pid, (name, state, code) in enumerate((("web", "crashed", 3), ("api", "running", None)), start=100):
            await w.execute(
                "INSERT INTO processes (process_id, kind, name, command, state, pid, exit_code, created_at,"
                " updated_at) VALUES (?, 'devserver', ?, 'npm run dev', ?, ?, ?, ?, ?)",
                (f"p-{name}", name, state, pid, code, NOW, NOW),
            )
    silent, _ = await bench.queue.enqueue(
        target_agent_id=early.agent_id, payload="no reason known", sender="operator", sender_role="master"
    )
    async with bench.ctx.db.write() as w:
        await w.execute(
            "UPDATE queue_messages SET state = 'failed', updated_at = ? WHERE message_id = ?",
            ("2026-11-23T12:30:00.000000Z", silent.message_id),
        )
        await w.execute(
            "INSERT INTO processes (process_id, kind, name, command, state, created_at, updated_at)"
            " VALUES ('p-term', 'terminal', 'shell', 'bash', 'crashed', ?, '2026-11-23T12:40:00.000000Z')",
            (NOW,),
        )
    dashboard = await bench.dashboard()
    got = [(a.kind, a.ref, a.title, a.why) for a in dashboard.attention]
    assert got == [
        ("agent_waiting", early.agent_id, "early", "waiting for input"),  # the longest-waiting first
        ("agent_waiting", late.agent_id, "late", "question: Continue? [y/N]"),
        ("delivery_failed", failed.message_id, "typed nowhere", "delivery to early failed: tmux_error"),
        ("delivery_failed", silent.message_id, "no reason known", "delivery to early failed: unknown"),
        ("approval", held.message_id, "Look at it", "awaits approval before it is typed into late"),
        ("process_crashed", "p-web", "web", "devserver crashed (exit code 3)"),
        ("process_crashed", "p-term", "shell", "terminal crashed"),  # no exit code known
    ]
    # Since when each waits: the agent's last screen change, the failure, the enqueue, the crash.
    assert [a.since for a in dashboard.attention] == [
        "2026-11-23T11:00:00.000000Z",
        "2026-11-23T11:50:00.000000Z",
        NOW,
        "2026-11-23T12:30:00.000000Z",
        NOW,
        NOW,
        "2026-11-23T12:40:00.000000Z",
    ]
    result = await calls.envelope(bench, "app.dashboard", {})
    assert result["ok"] and [a["kind"] for a in result["result"]["attention"]][:2] == ["agent_waiting"] * 2


async def test_needs_you_is_capped_at_fifty(bench: Bench) -> None:
    for index in range(60):
        await add_agent(bench, f"w{index:02d}", "waiting_for_input", "", f"2026-11-23T10:{index:02d}:00.000000Z")
    attention = (await bench.dashboard()).attention
    assert len(attention) == 50 and attention[0].title == "w00" and attention[-1].title == "w49"


async def test_tail_since_reads_on_from_the_size_the_log_had_then(
    bench: Bench, bench_home: Path, fixed_clock: FixedClock
) -> None:
    agent = await add_agent(bench, "lead")
    log = bench_home / "logs" / "lead.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    async with bench.ctx.db.write() as w:
        await log_attachments.put(w, agent.agent_id, str(log), "active", "", NOW)
    log.write_text("first line\n")
    await bench.logs.check([agent], {})  # the watcher's check notes the size: 11 bytes at 12:00
    fixed_clock.advance(timedelta(minutes=10))
    with log.open("a") as handle:
        handle.write("second line\n")
    await bench.logs.check([agent], {})  # and 23 at 12:10
    await bench.logs.check([agent], {})  # unchanged: no new mark
    rows = await bench.ctx.db.fetchall("SELECT at, size FROM log_marks ORDER BY at")
    assert [tuple(r) for r in rows] == [(NOW, 11), ("2026-11-23T12:10:00.000000Z", 23)]
    fixed_clock.advance(timedelta(seconds=2))
    await Logs(bench.ctx, bench.agents).check([agent], {})  # a restarted core knows the last size from the marks
    assert await bench.ctx.db.scalar("SELECT count(*) FROM log_marks") == 2

    def tail(**params: object) -> object:
        return bench.logs.tail({"agent_id": agent.agent_id, **params})

    whole = await tail()
    assert (whole.text, whole.start, whole.truncated) == ("first line\nsecond line\n", 0, False)
    at_five = await tail(since="2026-11-23T12:05:00Z")
    assert (at_five.text, at_five.start, at_five.truncated) == ("second line\n", 11, False)
    before = await tail(since="2026-11-23T11:00:00+00:00")  # before the first mark: from the start
    assert before.start == 0 and before.text.startswith("first line")
    in_other_zone = await tail(since="2026-11-23T13:05:00+01:00")  # 12:05 UTC
    assert in_other_zone.start == 11
    cut = await tail(since="2026-11-23T12:05:00Z", max_bytes=6)
    assert (cut.text, cut.truncated) == ("second", True)  # more follows what was returned

    log.write_text("new\n")  # truncated (or replaced): marks past its end point nowhere and go
    await bench.logs.check([agent], {})
    rows = await bench.ctx.db.fetchall("SELECT size FROM log_marks ORDER BY at")
    assert [r[0] for r in rows] == [4]
    assert (await tail(since="2026-11-23T12:05:00Z")).start == 0  # the new mark is later than 12:05
    assert stamp(fixed_clock.now()) == "2026-11-23T12:10:02.000000Z"


async def test_tail_of_a_long_log_starts_at_a_whole_line_and_bad_bytes_do_not_end_it(
    bench: Bench, bench_home: Path
) -> None:
    agent = await add_agent(bench, "lead")
    log = bench_home / "logs" / "lead.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    async with bench.ctx.db.write() as w:
        await log_attachments.put(w, agent.agent_id, str(log), "active", "", NOW)
    log.write_bytes(b"a\nbc\nd\xff\xfee\n")  # 10 bytes, two of them not UTF-8
    end = await bench.logs.tail({"agent_id": agent.agent_id, "max_bytes": 9})  # from byte 1: "\nbc..."
    assert (end.text, end.start, end.truncated) == ("bc\nd\ufffd\ufffde\n", 2, True)
    mid = await bench.logs.tail({"agent_id": agent.agent_id, "max_bytes": 7})  # from byte 3, inside "bc"
    assert (mid.text, mid.start) == ("d\ufffd\ufffde\n", 5)  # the partial line is left out, not shown cut
    whole = await bench.logs.tail({"agent_id": agent.agent_id, "max_bytes": 10})
    assert (whole.start, whole.truncated) == (0, False) and whole.text.startswith("a\nbc")


async def test_a_one_byte_log_is_marked_and_marks_are_pruned_to_the_cap(
    bench: Bench, bench_home: Path, fixed_clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.logs.PRUNE_EVERY", 3)
    monkeypatch.setattr("storage.log_marks.MARKS_KEPT", 2)
    agent = await add_agent(bench, "lead")
    log = bench_home / "logs" / "lead.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    async with bench.ctx.db.write() as w:
        await log_attachments.put(w, agent.agent_id, str(log), "active", "", NOW)
    for size in range(1, 7):
        log.write_bytes(b"x" * size)
        await bench.logs.check([agent], {})
        fixed_clock.advance(timedelta(seconds=2))
        rows = await bench.ctx.db.fetchall("SELECT size FROM log_marks ORDER BY at")
        if size == 1:
            assert [r[0] for r in rows] == [1]  # one byte is a change from an empty log
    assert [r[0] for r in rows] == [5, 6]  # pruned at the 3rd and 6th mark, to the newest 2


@pytest.mark.parametrize(
    ("since", "says"),
    [
        ("2026-11-23T12:05:00", "a time with its zone"),
        ("yesterday", "an ISO 8601 time"),
        ("9999-12-31T23:59:59-01:00", "within years 1 to 9999"),
    ],
)
async def test_a_since_that_is_not_a_time_with_a_zone_is_validation_failed(bench: Bench, since: str, says: str) -> None:
    agent = await add_agent(bench, "lead")
    result = await calls.envelope(bench, "app.log.tail", {"agent_id": agent.agent_id, "since": since})
    assert not result["ok"] and result["error"]["code"] == "validation_failed"
    assert result["error"]["details"]["field"] == "since" and says in result["error"]["message"]
