"""A demo bench: a private tmux server with a few shells, adopted as agents, plus routes, queue messages,
memory, notes and token usage — all created through the same core calls an operator's actions make.

The agents are real bash panes (kind `shell`), so input sent to them is really typed and delivered.

A demo home carries a marker file naming its process and its tmux socket: a demo that could not clean up after
itself (killed with SIGKILL) is recognised by the next one, which removes that home and kills that tmux server.
Only directories with the marker are touched, never anything else in the temporary directory."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from core.bench import Bench
from core.claimer import holder_is_gone, this_process
from core.clock import stamp
from core.tmux import TmuxAdapter
from storage.models import Pane

log = logging.getLogger(__name__)
DEMO_PREFIX = "relayboard-demo-"
DEMO_MARKER = ".relayboard-demo"

# (session, pane name, role, kind, label, project)
DEMO_AGENTS = (
    ("lead", "lead", "master", "shell", "plans and reviews", "~/src/shop"),
    ("api", "api-worker", "worker", "shell", "implements the orders API", "~/src/shop/api"),
    ("api", "api-tests", "test-runner", "shell", "runs pytest on save", "~/src/shop/api"),
    ("web", "web-worker", "worker", "shell", "front-end tasks", "~/src/shop/web"),
    ("web", "swarm-1", "swarm", "shell", "exploratory fixes", "~/src/shop/web"),
)
SCRATCH_SESSION = "scratch"  # left unadopted, so the adopt picker has something to offer


@dataclass(frozen=True)
class DemoBench:
    agent_ids: dict[str, str]


def make_demo_home(tmux_socket: str) -> Path:
    """A fresh temporary home marked as this process's demo, with the tmux socket it will use."""
    home = Path(tempfile.mkdtemp(prefix=DEMO_PREFIX))
    (home / DEMO_MARKER).write_text(json.dumps({"owner": this_process(), "tmux_socket": tmux_socket}))
    return home


def reap_stale_demos(tmux_binary: str = "tmux", root: Path | None = None) -> list[Path]:
    """Remove what demos whose process is gone left behind (their home and their private tmux server)."""
    removed = []
    for home in sorted(Path(root or tempfile.gettempdir()).glob(f"{DEMO_PREFIX}*")):
        marker = home / DEMO_MARKER
        try:
            data = json.loads(marker.read_text())
            owner, socket = str(data["owner"]), str(data["tmux_socket"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a demo home this code wrote: never touched
        if not socket.startswith(DEMO_PREFIX) or not holder_is_gone(owner):
            continue
        TmuxAdapter(socket, tmux_binary).kill_server_now()
        shutil.rmtree(home, ignore_errors=True)
        log.info("removed the leftovers of a killed demo: %s (tmux -L %s)", home, socket)
        removed.append(home)
    return removed


async def _start_panes(bench: Bench) -> None:
    tmux = bench.ctx.tmux
    shell = "env PS1='$ ' bash --norc --noprofile"
    cwd = str(bench.home)
    created: set[str] = set()
    for session, *_ in DEMO_AGENTS:
        if session in created:
            await tmux.split(session, shell, cwd)
        else:
            await tmux.new_session(session, shell, cwd)
            created.add(session)
    await tmux.new_session(SCRATCH_SESSION, shell, cwd)


async def seed_demo(bench: Bench) -> DemoBench:
    await _start_panes(bench)
    await bench.agents.scan({"wait": True})
    by_session: dict[str, list[Pane]] = {}
    for pane in await bench.agents.panes():
        if pane.alive:
            by_session.setdefault(pane.session_name, []).append(pane)
    ids: dict[str, str] = {}
    for session, name, role, kind, label, project in DEMO_AGENTS:
        pane = by_session[session].pop(0)
        agent = await bench.agents.register_from_pane(
            {
                **pane.identity(),
                "name": name,
                "role": role,
                "kind": kind,
                "label": label,
                "project_path": project,
                "capability": "python" if "api" in name else "typescript",
            }
        )
        ids[name] = agent.agent_id

    await bench.routes.add(
        {
            "name": "tests-to-lead",
            "event_type": "test_failed",
            "source_agent_id": ids["api-tests"],
            "target_agent_id": ids["lead"],
            "template": "Tests failed in {agent}: {summary}",
        }
    )
    await bench.routes.add(
        {
            "name": "errors-to-worker",
            "event_type": "error",
            "source_role": "swarm",
            "target_agent_id": ids["api-worker"],
            "template": "Look at: {summary}",
            "requires_approval": True,
        }
    )
    await bench.routes.add(
        {
            "name": "done-to-lead",
            "event_type": "task_done",
            "target_agent_id": ids["lead"],
            "template": "{agent} finished: {summary}",
            "enabled": False,
        }
    )

    await bench.queue.send_input(
        {
            "target_agent_id": ids["api-worker"],
            "payload": "echo 'Add pagination to GET /orders'",
            "idempotency_key": "demo-1",
        }
    )
    await bench.queue.send_input({"target_agent_id": ids["web-worker"], "payload": "echo 'Fix the cart badge count'"})
    await bench.queue.enqueue(
        target_agent_id=ids["lead"],
        payload="Tests failed in api-tests: 2 failed, 41 passed",
        sender="route",
        sender_role="master",
    )
    await bench.queue.enqueue(
        target_agent_id=ids["api-worker"],
        payload="Look at: KeyError in orders.py:88",
        sender="route",
        sender_role="master",
        block_reason="awaiting_approval",
    )
    delayed, _ = await bench.queue.enqueue(
        target_agent_id=ids["swarm-1"], payload="Try the flaky test again", sender="operator", sender_role="master"
    )
    await bench.queue.delay({"message_id": delayed.message_id, "delay_ms": 15 * 60 * 1000})
    canceled, _ = await bench.queue.enqueue(
        target_agent_id=ids["web-worker"], payload="Rename the repo", sender="operator", sender_role="master"
    )
    await bench.queue.cancel({"message_id": canceled.message_id, "reason": "not now"})

    await bench.memory.kv_set({"scope": "lead", "key": "current-goal", "value": "ship orders pagination"})
    await bench.memory.kv_set(
        {"scope": "api-worker", "key": "branch", "value": "feat/pagination", "ttl_seconds": 8 * 3600}
    )
    await bench.memory.blackboard_write(
        {"key": "release/plan", "value": "1. pagination 2. cart badge", "expected_version": 0, "updated_by": "lead"}
    )
    await bench.memory.blackboard_write(
        {
            "key": "release/plan",
            "expected_version": 1,
            "updated_by": "lead",
            "value": "1. pagination 2. cart badge 3. flaky test",
        }
    )
    await bench.memory.blackboard_write(
        {
            "key": "api/contract",
            "value": "GET /orders?page=N&limit=M",
            "expected_version": 0,
            "updated_by": "api-worker",
        }
    )
    await bench.memory.note_add(
        {
            "title": "Flaky test: test_checkout_total",
            "tags": ["tests", "flaky"],
            "body": "Fails 1 in 20 runs on CI; timezone related.",
        }
    )
    await bench.memory.note_add({"title": "Staging DB is read-only on Fridays", "tags": ["ops"]})

    now = bench.ctx.clock.now()
    usage = (
        ("lead", "claude-opus-4-1-20250805", 42_000, 3_100, 180_000, 12_000),
        ("api-worker", "claude-sonnet-4-5-20250929", 120_000, 18_500, 900_000, 40_000),
        ("swarm-1", "claude-sonnet-4-5-20250929", 35_000, 4_200, 150_000, 9_000),
        ("web-worker", "gpt-5-codex", 60_000, 7_700, 210_000, 0),
    )
    for hours, (name, model, inp, out, cread, cwrite) in enumerate(usage, start=1):
        source = "codex" if model.startswith("gpt") else "claude"
        await bench.tokens.record(
            {
                "agent_id": ids[name],
                "model": model,
                "source": source,
                "input_tokens": inp,
                "output_tokens": out,
                "cache_read_tokens": cread,
                "cache_write_tokens": cwrite,
                "occurred_at": stamp(now - timedelta(minutes=10 * hours)),
                "session_id": f"demo-{name}",
            }
        )
    await bench.refresh_states()
    return DemoBench(ids)
