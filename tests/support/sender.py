"""A sender process for the crash tests: opens the bench in a home and types `count` keyed messages into one
agent, one acknowledgement line per answer on stdout (flushed, so the parent knows what was acknowledged before
it killed this process). Every run starts again at key 0: a repeated key must return the message's real state.

    python -m tests.support.sender HOME AGENT_ID COUNT
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from core import calls
from core.bench import Bench
from core.errors import BenchError


async def send_all(home: Path, agent_id: str, count: int) -> None:
    async with await Bench.open(home) as bench:
        for i in range(count):
            params = {"target_agent_id": agent_id, "payload": f"<{i}>", "idempotency_key": f"key-{i}"}
            try:
                sent = await calls.call(bench, "app.send_input", params)
                line = f"{i} {sent.state} {int(sent.deduplicated)}"
            except BenchError as exc:
                line = f"{i} error {exc.code}"
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(send_all(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
