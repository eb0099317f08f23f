"""End to end through Relayboard: the core launches the real Claude Code (offline, on the local fake model) as a
managed agent in tmux, types into it with send_input, and the watcher's rules see it `idle` at its prompt,
`working` while the answer streams and `waiting_for_input` at the permission prompt — each with its why."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from core.bench import Bench
from core.config import Settings
from storage.models import Agent
from tests.agents.conftest import ClaudeHome
from tests.fakes.anthropic_server import FakeAnthropic, Reply
from tests.fakes.claude_env import claude_env

pytestmark = pytest.mark.slow


async def wait_state(bench: Bench, agent_id: str, state: str, within: float = 30.0) -> Agent:
    deadline = time.monotonic() + within
    seen: list[tuple[str, str]] = []
    while True:
        await bench.refresh_states()
        agent = await bench.agents.get(agent_id)
        if not seen or seen[-1] != (agent.state, agent.state_reason):
            seen.append((agent.state, agent.state_reason))
        if agent.state == state:
            return agent
        if time.monotonic() > deadline:
            screen = (await bench.agents.capture({"agent_id": agent_id})).screen
            raise AssertionError(f"never {state}; states seen: {seen}\n--- screen ---\n{screen}")
        await asyncio.sleep(0.25)


async def test_launch_drive_and_detect_real_claude(tmp_path: Path, claude_path: Path, claude_home: ClaudeHome) -> None:
    socket = f"relayboard-test-{uuid.uuid4().hex[:10]}"
    with FakeAnthropic() as fake:
        env = claude_env(claude_home.home, fake.base_url)
        settings = Settings(
            tmux_socket=socket,
            claude_home=claude_home.home / ".claude",
            codex_home=tmp_path / "codex",
            presets={"claude": f"{claude_path} --permission-mode default", "codex": "codex", "shell": "bash"},
            # The agent's environment sets PATH (and whatever the CI machine has): the operator allows them here.
            allowed_env_names=sorted(env),
        )
        bench = await Bench.open(tmp_path / "relayboard", settings=settings)
        try:
            agent = await bench.launcher.launch(
                {"name": "claude-1", "preset": "claude", "cwd": str(claude_home.project), "env": env}
            )
            assert agent.managed and agent.kind == "claude" and agent.session_name == "rb-claude-1"

            idle = await wait_state(bench, agent.agent_id, "idle")
            assert idle.state_reason == "empty prompt, nothing streaming"

            fake.push(Reply.slow("\n".join(f"{n}. counting" for n in range(1, 11)), seconds=6, chunk_chars=3))
            sent = await bench.queue.send_input({"target_agent_id": agent.agent_id, "payload": "Count to ten, slowly."})
            assert sent.state == "delivered" and not sent.deduplicated
            working = await wait_state(bench, agent.agent_id, "working")
            assert working.state_reason == "spinner: esc to interrupt"
            await wait_state(bench, agent.agent_id, "idle", within=40)
            assert fake.main_requests()[-1].last_user_text.startswith("Count to ten")

            marker = claude_home.project / "relayboard-was-here.txt"
            fake.push(
                Reply.tool_use("Bash", {"command": f"touch {marker.name}", "description": "Create a marker file"}),
                Reply.text_reply("Created it."),
            )
            await bench.queue.send_input({"target_agent_id": agent.agent_id, "payload": "Create a marker file."})
            waiting = await wait_state(bench, agent.agent_id, "waiting_for_input")
            assert waiting.state_reason == "permission prompt: Do you want to proceed?"
            await asyncio.sleep(0.5)  # keys sent the instant the dialog appears can be dropped
            # The menu is recognised with its choices, and answered with one key through app.agent.answer.
            prompt = (await bench.prompts.prompt({"agent_id": agent.agent_id})).prompt
            assert prompt is not None and prompt.shape == "claude-permission-menu"
            assert prompt.question == "Do you want to proceed?"
            assert [c.key for c in prompt.choices][:2] == ["1", "2"] and prompt.choices[0].label == "Yes"
            assert prompt.choices[-1].label == "No" and prompt.cancellable
            answer = {"agent_id": agent.agent_id, "fingerprint": prompt.fingerprint, "key": "1"}
            first, second = await asyncio.gather(bench.prompts.answer(answer), bench.prompts.answer(answer))
            assert sorted([first.deduplicated, second.deduplicated]) == [False, True]  # a double press types once
            await wait_state(bench, agent.agent_id, "idle", within=40)
            assert marker.exists()
            assert len(fake.wait_for(lambda r: r.main and r.has_tool_result, timeout=5)) == 1

            events = {e.event_type for e in (await bench.events.list({"limit": 200})).rows}
            assert {"agent_launched", "input_sent", "agent_prompt_answered"} <= events
        finally:
            await bench.ctx.tmux.kill_server()
            await bench.close()
