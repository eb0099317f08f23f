"""End to end through Relayboard with the real Codex CLI (0.169.0, offline on `tests/fakes/openai_server.py`): the
core launches it as a managed agent, types the task with send_input, the watcher reads its approval prompt as
`waiting_for_input`, the prompt is recognised with Codex's own keys (`y`, `p`, Esc) and answered with `y` through
app.agent.answer (a double press types once), and the command runs."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from core.bench import Bench
from core.config import Settings
from tests.agents.test_relayboard_claude import wait_state
from tests.fakes.claude_env import leftover_processes
from tests.fakes.codex_offline import prepare_codex_offline
from tests.fakes.openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.slow
MARKER = "relayboard-was-here.txt"


async def test_launch_drive_and_answer_real_codex(tmp_path: Path, codex_path: Path) -> None:
    socket = f"relayboard-test-{uuid.uuid4().hex[:10]}"
    script = [
        Reply.exec_command(f"touch {MARKER}", escalated=True, justification="Create the marker file?"),
        Reply.text_reply("Created the marker file."),
    ]
    with FakeOpenAI(script=script) as fake:
        offline = prepare_codex_offline(tmp_path / "user", base_url=fake.base_url)
        settings = Settings(
            tmux_socket=socket,
            claude_home=tmp_path / "claude",
            codex_home=Path(offline.env["CODEX_HOME"]),
            presets={"claude": "claude", "codex": str(codex_path), "shell": "bash"},
            allowed_env_names=sorted(offline.env),  # HOME, PATH and the rest: the operator allows them here
        )
        bench = await Bench.open(tmp_path / "relayboard", settings=settings)
        try:
            agent = await bench.launcher.launch(
                {"name": "codex-1", "preset": "codex", "cwd": str(offline.project), "env": offline.env}
            )
            assert agent.kind == "codex" and agent.managed
            idle = await wait_state(bench, agent.agent_id, "idle", within=40)
            assert idle.state_reason == "empty composer, nothing streaming"

            sent = await bench.queue.send_input({"target_agent_id": agent.agent_id, "payload": "Create a marker file."})
            assert sent.state == "delivered"
            waiting = await wait_state(bench, agent.agent_id, "waiting_for_input", within=40)
            assert waiting.state_reason == "approval prompt: Would you like to run the following command?"
            assert not (offline.project / MARKER).exists()
            await asyncio.sleep(0.5)  # a key sent the instant the dialog is drawn can be lost

            prompt = (await bench.prompts.prompt({"agent_id": agent.agent_id})).prompt
            assert prompt is not None and prompt.shape == "codex-approval"
            assert prompt.question == "Would you like to run the following command?"
            assert next((c.key, c.label) for c in prompt.choices) == ("y", "Yes, proceed")
            assert [c.key for c in prompt.choices] == ["y", "p"] and prompt.cancellable
            answer = {"agent_id": agent.agent_id, "fingerprint": prompt.fingerprint, "key": "y"}
            first, second = await asyncio.gather(bench.prompts.answer(answer), bench.prompts.answer(answer))
            assert sorted([first.deduplicated, second.deduplicated]) == [False, True]  # a double press types once
            await wait_state(bench, agent.agent_id, "idle", within=40)
            assert (offline.project / MARKER).exists()
            assert len(fake.wait_for(lambda r: r.main and r.has_tool_output, timeout=10)) == 1
        finally:
            await bench.ctx.tmux.kill_server()
            await bench.close()
    assert not leftover_processes(tmp_path, grace=5.0)
