"""`app.send_input` types into real panes: literal send-keys, bracketed paste for long or multi-line text, the
idempotency key (typed once across calls, concurrency and restarts), the sender check and the safe-send guard."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core import calls
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from core.queue import MAX_PAYLOAD
from core.tmux import SEND_KEYS_LIMIT
from storage.models import Agent
from tests.unit.agent_helpers import (
    drain,
    event_types,
    failure,
    launch_shell,
    screen,
    wait_for_command,
    wait_for_dead,
    wait_for_prompt,
    wait_for_text,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tmux_bin")]


@pytest.fixture
async def shell(bench: Bench, workdir: Path) -> Agent:
    return await launch_shell(bench, "sh", workdir)


async def _send(bench: Bench, target: Agent, payload: str, **extra: Any) -> dict[str, Any]:
    return await calls.call(bench, "app.send_input", {"target_agent_id": target.agent_id, "payload": payload, **extra})


async def _count_after_drain(bench: Bench, agent: Agent, text: str) -> int:
    """How often `text` is on screen once everything typed so far has run."""
    return (await drain(bench, agent)).count(text)


async def _messages(bench: Bench) -> list[tuple[str, str]]:
    rows = (await bench.queue.list({"order_by": "enqueued_at:asc"})).rows
    return [(m.payload, m.state) for m in rows]


# -- typing -------------------------------------------------------------------------------------------------------


async def test_same_key_twice_is_typed_once(bench: Bench, shell: Agent) -> None:
    first = await _send(bench, shell, "echo mark-$((40+2))", idempotency_key="k-1")
    second = await _send(bench, shell, "echo mark-$((40+2))", idempotency_key="k-1")
    assert first.model_dump() == {"message_id": first.message_id, "state": "delivered", "deduplicated": False}
    assert second.model_dump() == {**first.model_dump(), "deduplicated": True}
    assert await _count_after_drain(bench, shell, "mark-42") == 1
    assert (await event_types(bench, shell.agent_id)).count("input_sent") == 1
    # Without a key, the same text is typed again.
    await _send(bench, shell, "echo mark-$((40+2))")
    assert await _count_after_drain(bench, shell, "mark-42") == 2


async def test_same_key_concurrently_is_typed_once(bench: Bench, shell: Agent) -> None:
    results = await asyncio.gather(
        *(_send(bench, shell, "echo race-$((5*5))", idempotency_key="race") for _ in range(6))
    )
    assert len({r.message_id for r in results}) == 1
    assert sorted(r.deduplicated for r in results) == [False] + [True] * 5
    assert {r.state for r in results} == {"delivered"}
    assert await _count_after_drain(bench, shell, "race-25") == 1
    assert await _messages(bench) == [("echo race-$((5*5))", "delivered")]


async def test_same_key_after_a_restart_is_not_typed(
    bench: Bench, shell: Agent, settings: Settings, fixed_clock: FixedClock
) -> None:
    first = await _send(bench, shell, "echo once-$((6*7))", idempotency_key="durable")
    await bench.close()
    async with await Bench.open(bench.home, settings=settings, clock=fixed_clock) as again:
        second = await _send(again, shell, "echo once-$((6*7))", idempotency_key="durable")
        assert second.model_dump() == {**first.model_dump(), "deduplicated": True}
        assert await _count_after_drain(again, shell, "once-42") == 1
        assert len(await _messages(again)) == 1


async def test_multi_line_payload_is_one_bracketed_paste(bench: Bench, shell: Agent) -> None:
    sent = await _send(bench, shell, "echo first-$((1+1))\necho second-$((2+2))")
    assert sent.state == "delivered"
    shown = await drain(bench, shell)
    assert "\nfirst-2" in shown and "\nsecond-4" in shown

    # Show the bytes: with bracketed paste switched on (and the tty's echo off), cat -v prints the paste markers
    # once, around both lines.
    await _send(bench, shell, "printf '\\e[?2004h'; stty -echo; cat -v")
    await wait_for_command(bench, shell, "cat")
    await _send(bench, shell, "alpha\nbeta", force=True)  # force: cat, not the shell, is in the foreground
    shown = await wait_for_text(bench, shell, "beta^[[201~")
    assert "^[[200~alpha" in shown
    assert shown.count("^[[200~") == 1


async def test_long_single_line_goes_through_the_paste_buffer(bench: Bench, shell: Agent, tmux_socket: str) -> None:
    filler = "x" * (SEND_KEYS_LIMIT + 100)
    sent = await _send(bench, shell, f": {filler}; echo long-$((3+4))")
    assert sent.state == "delivered"
    await wait_for_text(bench, shell, "\nlong-7")
    # The paste buffer was deleted after use (paste-buffer -d): nothing of the payload lingers in tmux.
    buffers = await asyncio.to_thread(bench.ctx.tmux._run, "list-buffers", "-F", "#{buffer_name}")
    assert not [b for b in buffers if b.startswith("relayboard-")]


async def test_payload_over_16_kib_is_refused_before_anything_is_recorded(bench: Bench, shell: Agent) -> None:
    error = await failure(_send(bench, shell, "echo too-big " + "y" * (MAX_PAYLOAD + 1 - len("echo too-big "))))
    assert error.code == "payload_too_large"
    assert error.details == {"field": "payload", "size_limit_bytes": MAX_PAYLOAD, "actual_size_bytes": MAX_PAYLOAD + 1}
    assert await _messages(bench) == []
    assert "too-big" not in await screen(bench, shell)


async def test_submit_false_types_without_enter(bench: Bench, shell: Agent) -> None:
    await _send(bench, shell, "echo pending-$((8+1))", submit=False)
    shown = await wait_for_text(bench, shell, "echo pending-$((8+1))")
    assert "pending-9" not in shown.replace("pending-$((8+1))", "")
    await bench.ctx.tmux.send_text(shell.pane_id or "", "", True)  # the operator presses Enter
    await wait_for_text(bench, shell, "\npending-9")


# -- who may send -------------------------------------------------------------------------------------------------


async def test_non_master_sender_is_refused_and_nothing_is_typed(bench: Bench, workdir: Path, shell: Agent) -> None:
    worker = await launch_shell(bench, "helper", workdir, role="worker")
    lead = await launch_shell(bench, "lead", workdir, role="master")
    error = await failure(_send(bench, shell, "echo sneaky-$((1+2))", sender_agent_id=worker.agent_id))
    assert error.code == "permission_denied"
    assert error.message == "only a master may send input; sender role is worker"
    assert await _count_after_drain(bench, shell, "sneaky-3") == 0
    assert await _messages(bench) == []

    ok = await _send(bench, shell, "echo allowed-$((1+2))", sender_agent_id=lead.agent_id)
    assert ok.state == "delivered"
    message = await bench.queue.detail({"message_id": ok.message_id})
    assert (message.sender, message.sender_role) == (lead.agent_id, "master")
    await wait_for_text(bench, shell, "allowed-3")


# -- the safe-send guard ------------------------------------------------------------------------------------------


async def _adopt_as(bench: Bench, session: str, kind: str, cwd: Path) -> Agent:
    await bench.ctx.tmux.new_session(session, "bash", str(cwd))
    await bench.agents.scan({"wait": True})
    pane = next(p for p in await bench.agents.panes() if p.session_name == session)
    return await calls.call(
        bench,
        "app.agent.register_from_pane",
        {
            "pane_id": pane.pane_id,
            "session_name": session,
            "window_index": pane.window_index,
            "pane_index": pane.pane_index,
            "name": session,
            "kind": kind,
        },
    )


async def test_guard_refuses_a_claude_agent_whose_pane_runs_bash(bench: Bench, workdir: Path) -> None:
    claude = await _adopt_as(bench, "cc", "claude", workdir)
    await wait_for_prompt(bench, claude)
    error = await failure(_send(bench, claude, "echo into-claude-$((2*4))"))
    assert error.code == "conflict"
    ((message,),) = [(await bench.queue.list({"filters": {"state": "failed"}})).rows]
    assert error.details == {"reason": "foreground_command", "command": "bash", "message_id": message.message_id}
    assert "nothing was typed" in error.message
    assert message.target_agent_id == claude.agent_id
    assert message.failure_reason == "guard_refused"
    assert message.last_error == error.message
    assert (message.attempts, message.delivered_at) == (1, None)
    types = await event_types(bench, claude.agent_id)
    assert types[-2:] == ["queue_message_enqueued", "queue_message_failed"]
    assert await _count_after_drain(bench, claude, "into-claude-8") == 0

    forced = await _send(bench, claude, "echo into-claude-$((2*4))", force=True)
    assert forced.state == "delivered"
    assert await _count_after_drain(bench, claude, "into-claude-8") == 1


async def test_guard_refuses_a_shell_whose_foreground_is_sleep(bench: Bench, shell: Agent) -> None:
    await _send(bench, shell, "sleep 30")
    await wait_for_command(bench, shell, "sleep")
    error = await failure(_send(bench, shell, "echo while-sleeping"))
    assert (error.code, error.details["reason"]) == ("conflict", "foreground_command")
    assert error.details["command"] == "sleep"
    assert await _messages(bench) == [("sleep 30", "delivered"), ("echo while-sleeping", "failed")]


async def test_guard_refuses_dead_and_gone_panes(bench: Bench, shell: Agent, workdir: Path) -> None:
    await _send(bench, shell, "exit")
    await wait_for_dead(bench, shell)  # remain-on-exit keeps the dead pane
    dead = await failure(_send(bench, shell, "echo to-the-dead"))
    assert (dead.code, dead.details["reason"]) == ("conflict", "target_unavailable")
    failed = await bench.queue.detail({"message_id": dead.details["message_id"]})
    assert (failed.state, failed.failure_reason) == ("failed", "target_unavailable")

    await launch_shell(bench, "keepalive", workdir)  # the server outlives the kill below
    await calls.call(bench, "app.agent.kill", {"agent_id": shell.agent_id})
    gone = await failure(_send(bench, shell, "echo to-nobody", force=True))
    assert (gone.code, gone.details["reason"]) == ("conflict", "target_unavailable")
    assert [state for _, state in await _messages(bench)] == ["delivered", "failed", "failed"]


async def test_a_refused_key_stays_refused(bench: Bench, workdir: Path) -> None:
    """One delivery attempt per key: a message the guard refused keeps its key, so resending it (even forced)
    returns the failed message and types nothing. A new key (or app.queue.retry) is the way to try again."""
    claude = await _adopt_as(bench, "cc", "claude", workdir)
    await wait_for_prompt(bench, claude)
    refused = await failure(_send(bench, claude, "echo keyed-$((9+9))", idempotency_key="once"))
    assert refused.details["reason"] == "foreground_command"
    again = await _send(bench, claude, "echo keyed-$((9+9))", idempotency_key="once", force=True)
    assert (again.state, again.deduplicated) == ("failed", True)
    assert await _count_after_drain(bench, claude, "keyed-18") == 0
    fresh = await _send(bench, claude, "echo keyed-$((9+9))", idempotency_key="once-forced", force=True)
    assert (fresh.state, fresh.deduplicated) == ("delivered", False)
    assert await _count_after_drain(bench, claude, "keyed-18") == 1
