"""The real Claude Code (2.1.330, from `tools/agents.sh`) in tmux, offline, against the local fake Anthropic API.

Proves the recipe the agents feature and its state detector rely on: it starts straight to its prompt, a typed
prompt streams ("working" screen), the answer lands and the prompt comes back, a transcript with
`message.usage` is written under `$HOME/.claude/projects/<encoded cwd>/`, and a Bash tool_use under
`--permission-mode default` gives the real "Do you want to proceed?" prompt.

Missing `.agents/` fails (with the fix), it never skips.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_server import FakeAnthropic, Reply
from tests.fakes.claude_env import claude_env, claude_projects_dir
from tests.fakes.tmux_driver import TmuxDriver

pytestmark = pytest.mark.slow

IDLE_FOOTER = "? for shortcuts"
BUSY_FOOTER = "esc to interrupt"
PROMPT = "\u276f"  # ❯ HEAVY RIGHT-POINTING ANGLE QUOTATION MARK ORNAMENT  # noqa: RUF003
EMPTY_INPUT = re.compile(f"^{PROMPT}\u00a0?$", re.M)  # the empty input line in the prompt box: ❯ + NBSP  # noqa: RUF003
SPINNER = re.compile(r"^[·✢*✶✻✽] \S+…", re.M)


def footer(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def is_idle(screen: str) -> bool:
    return IDLE_FOOTER in footer(screen) and EMPTY_INPUT.search(screen) is not None


def start_claude(tmux: TmuxDriver, claude_path: Path, home: Path, project: Path, fake: FakeAnthropic) -> str:
    env = claude_env(home, fake.base_url)
    target = tmux.start("claude", [str(claude_path), "--permission-mode", "default"], env=env, cwd=project)
    screen = tmux.wait_for(target, is_idle, timeout=30, what="Claude Code's empty prompt")
    for dialog in ("Unable to connect", "API key", "trust", "Choose the text style", "Select login method"):
        assert dialog not in screen, f"a setup dialog is showing ({dialog!r}):\n{screen}"
    assert tmux.current_command(target) == "claude"
    return target


def read_transcript(directory: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                entries.append(json.loads(line))
    return entries


def wait_for_assistant_entries(directory: Path, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in read_transcript(directory) if e.get("type") == "assistant"] if directory.is_dir() else []
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_prompt_streams_answers_and_writes_transcript(tmux, claude_path, claude_home) -> None:
    answer = "Counting: one, two, three, four, five, six, seven, eight, nine, ten.\nThat is all, counted slowly."
    with FakeAnthropic(script=[Reply.slow(answer, seconds=4.0, first_delay=0.5)]) as fake:
        target = start_claude(tmux, claude_path, claude_home.home, claude_home.project, fake)
        assert fake.requests == [], "Claude Code should make no API call before the first prompt"

        tmux.send_text(target, "Count to ten, slowly.")
        tmux.send_keys(target, "Enter")

        working = tmux.wait_for(target, lambda s: BUSY_FOOTER in footer(s), timeout=10, what="the working screen")
        (request,) = fake.wait_for(lambda r: r.main, timeout=5)
        assert request.status == 0, "the answer should still be streaming while the working screen shows"
        assert IDLE_FOOTER not in working
        tmux.wait_for(target, SPINNER, timeout=5, what="the spinner line")

        done = tmux.wait_for(target, lambda s: is_idle(s) and "That is all, counted slowly." in s, timeout=20)
        assert "● Counting: one, two, three" in done
        assert re.search(r"^✻ \S+ for \d+s", done, re.M), done  # "✻ Churned for 4s · done 2:44 PM"

        assert request.path == "/v1/messages" and request.query.get("beta") == ["true"]
        assert request.stream and request.reply_kind == "stream:text"
        assert "Count to ten, slowly." in request.last_user_text
        unexpected = [r.summary() for r in fake.requests if r.path not in ("/v1/messages", "/v1/messages/count_tokens")]
        assert not unexpected, f"Claude Code called endpoints the fake does not serve: {unexpected}"

        transcripts = claude_projects_dir(claude_home.home, claude_home.project)
        (assistant,) = wait_for_assistant_entries(transcripts, 1)
    message = assistant["message"]
    assert message["model"] == request.model
    assert message["content"][0]["text"] == answer
    usage = message["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["cache_creation_input_tokens"] > 1000  # system prompt + tools, first call of the session
    assert usage["cache_read_input_tokens"] == 0
    assert assistant["requestId"].startswith("req_")
    assert assistant["cwd"] == str(claude_home.project.resolve())
    users = [e for e in read_transcript(transcripts) if e.get("type") == "user"]
    assert users and users[0]["message"]["content"] == "Count to ten, slowly."


def test_bash_tool_use_asks_permission_then_runs(tmux, claude_path, claude_home) -> None:
    marker = claude_home.project / "relayboard-was-here.txt"
    script = [
        Reply.text_reply("Warm-up answer."),
        Reply.tool_use("Bash", {"command": f"touch {marker.name}", "description": "Create a marker file"}),
        Reply.text_reply("Created the marker file."),
    ]
    with FakeAnthropic(script=script) as fake:
        target = start_claude(tmux, claude_path, claude_home.home, claude_home.project, fake)
        tmux.send_text(target, "Say something.")
        tmux.send_keys(target, "Enter")
        tmux.wait_for(target, lambda s: is_idle(s) and "Warm-up answer." in s, timeout=15)

        tmux.send_text(target, "Create a marker file.")
        tmux.send_keys(target, "Enter")
        screen = tmux.wait_for(target, "Do you want to proceed?", timeout=15)
        assert "Bash command" in screen and f"touch {marker.name}" in screen
        assert re.search(f"^ {PROMPT} 1\\. Yes$", screen, re.M), screen
        assert "Esc to cancel" in footer(screen)
        assert IDLE_FOOTER not in screen and BUSY_FOOTER not in screen
        assert not marker.exists()
        assert tmux.current_command(target) == "claude"

        time.sleep(0.5)  # a key sent the instant the dialog draws can be dropped
        tmux.send_keys(target, "Enter")  # 1. Yes
        tmux.wait_for(target, lambda s: is_idle(s) and "Created the marker file." in s, timeout=20)
        assert marker.exists()
        followup = fake.wait_for(lambda r: r.main and r.has_tool_result, timeout=5)
        assert len(followup) == 1

        mains = fake.main_requests()
        assert [r.reply_kind for r in mains] == ["stream:text", "stream:tool_use", "stream:text"]
        transcripts = claude_projects_dir(claude_home.home, claude_home.project)
        assistants = wait_for_assistant_entries(transcripts, 3)
    # Later calls in the session read the cached prompt prefix, as with the real API.
    assert assistants[-1]["message"]["usage"]["cache_read_input_tokens"] > 1000
    tool_blocks = [b for e in assistants for b in e["message"]["content"] if b.get("type") == "tool_use"]
    assert tool_blocks and tool_blocks[0]["name"] == "Bash"
    assert tool_blocks[0]["input"]["command"] == f"touch {marker.name}"
