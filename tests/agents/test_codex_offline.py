"""The real Codex CLI (0.169.0) runs offline against the fake OpenAI Responses API (`tests/fakes/openai_server.py`)
in a private tmux server: it asks before running a command the model wants outside the sandbox, runs it after
"y", and sends the command's output back to the model in the next request.

The `tmux` fixture (tests/agents/conftest.py) kills the server afterwards and fails if anything started from the
temp HOME is still running; HOME and CODEX_HOME are under `tmp_path`, never the operator's."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.fakes.codex_offline import KEY_ENV, prepare_codex_offline
from tests.fakes.openai_server import EXEC_TOOL, FakeOpenAI, Reply
from tests.fakes.tmux_driver import TmuxDriver

pytestmark = pytest.mark.slow

MARKER = "relayboard-was-here.txt"
APPROVAL = "Would you like to run the following command?"
SELECTED = "\u203a"  # U+203A, Codex's prompt and selected-option mark (ruff flags it as a look-alike of ">")


def codex_idle(screen: str) -> bool:
    return (
        f"{SELECTED} Ask Codex to do anything" in screen
        and "? for shortcuts" in screen
        and "esc to interrupt" not in screen
    )


def send_line(tmux: TmuxDriver, target: str, text: str) -> None:
    tmux.send_text(target, text)
    time.sleep(0.3)  # text and Enter in one burst look like a paste to Codex: the Enter would become a newline
    tmux.send_keys(target, "Enter")


def test_codex_asks_before_running_a_command_and_runs_it_after_yes(
    codex_path: Path, tmux: TmuxDriver, tmp_path: Path
) -> None:
    # `codex_path` comes first: a missing CLI fails (saying how to install it) before `tmux` starts anything.
    script = [
        Reply.exec_command(f"touch {MARKER}", escalated=True, justification="Create the marker file?"),
        Reply.text_reply("Created the marker file."),
    ]
    with FakeOpenAI(script=script) as fake:
        offline = prepare_codex_offline(tmp_path / "user", base_url=fake.base_url)
        assert offline.env["HOME"] == str(tmp_path / "user") and offline.env["CODEX_HOME"].startswith(str(tmp_path))
        assert "OPENAI_API_KEY" not in offline.env and offline.env[KEY_ENV] != os.environ.get("OPENAI_API_KEY")
        marker = offline.project / MARKER
        target = tmux.start("codex", [str(codex_path)], env=offline.env, cwd=offline.project)

        tmux.wait_for(target, codex_idle, timeout=40, what="Codex idle at its prompt")
        send_line(tmux, target, "Create a marker file.")

        screen = tmux.wait_for(target, APPROVAL, timeout=30)
        assert f"$ touch {MARKER}" in screen
        assert "Reason: Create the marker file?" in screen
        assert f"{SELECTED} 1. Yes, proceed (y)" in screen
        assert "(p)" in screen and "3. No, and tell Codex what to do differently (esc)" in screen
        assert "Press enter to confirm or esc to cancel" in screen
        # The npm bin is a node launcher around the native binary, so that is what tmux sees.
        assert tmux.current_command(target) == "node"
        assert not marker.exists(), "Codex ran the command before it was approved"

        time.sleep(0.5)  # a key sent the instant the dialog is drawn can be lost
        tmux.send_keys(target, "y")
        screen = tmux.wait_for(target, "Created the marker file.", timeout=30)
        assert "You approved codex to run touch relayboard-was-here.txt this time" in screen
        assert marker.exists(), "the approved command did not run"

        first, follow_up = fake.wait_for(lambda r: r.main, timeout=10, count=2)[:2]
        assert EXEC_TOOL in {t.get("name") for t in (first.body or {}).get("tools", [])}
        assert first.last_user_text == "Create a marker file." and not first.has_tool_output
        assert follow_up.has_tool_output
        assert follow_up.tool_outputs[-1]["call_id"] == fake.call_ids[0]
        assert "Process exited with code 0" in follow_up.tool_output_text(fake.call_ids[0])
        # Only the Responses endpoint was asked, and the title side request did not eat the script.
        assert {r.path for r in fake.requests} == {"/v1/responses"}
        assert fake.pending == 0
