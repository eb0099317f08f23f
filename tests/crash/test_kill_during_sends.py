"""kill -9 at random points of a 1,000-send run with idempotency keys, then start again: every acknowledged send
is typed exactly once or failed with a reason, and nothing is left claimed or queued.

The sink is a real tmux pane running `cat >> sink.txt`, so what reached the pane is read back from a file rather
than from a screen that scrolls."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from core import calls
from core.bench import Bench
from tests.support.headless import PROJECT_ROOT, short_home
from tests.unit.agent_helpers import tmux

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tmux_bin")]

SENDS = 1000
KILLS = 12


def _sender(home: Path, agent_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.sender", str(home), agent_id, str(SENDS)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _acks(text: str) -> dict[int, str]:
    acks = {}
    for line in text.splitlines():
        index, state, *_ = line.split()
        acks[int(index)] = state
    return acks


async def _register_sink(home: Path, socket: str, sink: Path) -> str:
    tmux(socket, "new-session", "-d", "-s", "sink", "-x", "200", "-y", "50", f"stty -echo; exec cat >> {sink}")
    async with await Bench.open(home) as bench:
        await bench.agents.scan({"wait": True})
        (pane,) = [p for p in await bench.agents.panes() if p.session_name == "sink"]
        agent = await calls.call(
            bench, "app.agent.register_from_pane", {**pane.identity(), "name": "sink", "kind": "other"}
        )
        return agent.agent_id


async def test_kill_9_at_random_points_of_a_thousand_sends(tmux_socket: str) -> None:
    rng = random.Random(int(os.environ.get("RELAYBOARD_CRASH_SEED", "8")))
    home = short_home(tmux_socket)
    sink = home / "sink.txt"
    agent_id = await _register_sink(home, tmux_socket, sink)
    acknowledged: dict[int, str] = {}  # key -> the first state a sender acknowledged for it
    kills = 0
    for _ in range(KILLS + 20):
        sender = _sender(home, agent_id)
        if kills < KILLS:
            # Somewhere in the run, early or late; a kill lands wherever the sender is (typing, writing, opening).
            await asyncio.sleep(rng.uniform(0.05, 1.5))
            sender.send_signal(signal.SIGKILL)
            kills += 1
        out, err = sender.communicate(timeout=300)
        for index, state in _acks(out).items():
            acknowledged.setdefault(index, state)
            # A repeated key answers the state the message really has: never delivered after a failed answer.
            assert not (acknowledged[index] == "failed" and state == "delivered"), index
        if sender.returncode == 0:
            assert len(_acks(out)) == SENDS, err
            break
        assert sender.returncode == -signal.SIGKILL, err
    else:
        pytest.fail("the sender never finished a run")
    assert kills == KILLS

    # Everything typed has reached cat by now once the pane is quiet.
    deadline = time.monotonic() + 20
    previous = -1
    while time.monotonic() < deadline:
        size = sink.stat().st_size if sink.exists() else 0
        if size == previous:
            break
        previous = size
        await asyncio.sleep(0.5)
    typed = Counter(int(n) for n in re.findall(r"<(\d+)>", sink.read_text()))

    async with await Bench.open(home) as bench:
        messages = []
        cursor = None
        while True:
            page = await calls.call(bench, "app.queue.list", {"limit": 200, "cursor_next": cursor})
            messages += page.rows
            cursor = page.cursor_next
            if not cursor:
                break
    by_key = {int(m.idempotency_key.split("-")[1]): m for m in messages}
    assert len(messages) == SENDS == len(by_key)  # one message per key, however many times it was sent
    states = Counter(m.state for m in messages)
    assert set(states) <= {"delivered", "failed"}, states  # nothing left queued or claimed
    for index, message in by_key.items():
        if message.state == "delivered":
            assert typed[index] == 1, (index, typed[index])
        else:
            # Killed between claiming and settling: it may have reached the pane, but never twice.
            assert (message.failure_reason, typed[index]) in {("interrupted", 0), ("interrupted", 1)}, message
        assert acknowledged.get(index, message.state) == message.state, index
    assert sum(typed.values()) == sum(typed[i] for i in by_key)  # nothing typed that no message holds
    assert states["failed"] <= KILLS  # at most one message in flight per kill
    print(f"\n{SENDS} sends, {KILLS} kills: {dict(states)}, typed {sum(typed.values())}")
