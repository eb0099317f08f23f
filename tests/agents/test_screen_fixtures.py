"""The recorded screens in tests/fixtures/screens are complete and carry the strings the README documents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

SCREENS = Path(__file__).resolve().parents[1] / "fixtures" / "screens"
INDEX = json.loads((SCREENS / "index.json").read_text())
STATES = {"working", "waiting_for_input", "idle", "exited", "unknown"}
REQUIRED = {
    "claude_idle",
    "claude_working",
    "claude_permission",
    "claude_answered_idle",
    "codex_signin",
    "bash_prompt",
    "bash_running",
}


def test_index_is_complete() -> None:
    assert REQUIRED <= set(INDEX)
    for name, entry in INDEX.items():
        assert entry["expected_state"] in STATES, name
        assert entry["kind"] in {"claude", "codex", "shell"}, name
        assert entry["command"], name
        plain = (SCREENS / f"{name}.txt").read_text()
        ansi = (SCREENS / f"{name}.ansi").read_text()
        assert "\x1b" not in plain, name
        if entry["kind"] != "shell":  # bash --norc prints no colours at all
            assert "\x1b[" in ansi, name
        assert len(plain.splitlines()) <= 40 and max(len(line) for line in plain.splitlines()) <= 120, name


def last_line(name: str) -> str:
    return [line for line in (SCREENS / f"{name}.txt").read_text().splitlines() if line.strip()][-1]


# The footer and input-line facts hold for the session screens (prompt, spinner, permission menu); the dialogs
# tools/record_claude_dialogs.py records (entries with a `family`) have other footers, read by the claude-dialog rule.
SESSION_SCREENS = [n for n, e in INDEX.items() if e["kind"] == "claude" and not e["pane_dead"] and "family" not in e]


@pytest.mark.parametrize("name", SESSION_SCREENS)
def test_claude_state_shows_in_footer_and_input_line(name: str) -> None:
    footer = last_line(name)
    state = INDEX[name]["expected_state"]
    screen = (SCREENS / f"{name}.txt").read_text()
    input_line = re.search("^\u276f\u00a0$", screen, re.M) is not None
    assert ("esc to interrupt" in footer) == (state == "working"), footer
    assert ("Esc to cancel" in footer) == (state == "waiting_for_input"), footer
    assert input_line == (state != "waiting_for_input"), name
    if state == "idle":
        # "? for shortcuts" only in manual (--permission-mode default) mode; auto mode says "auto mode on (…)".
        assert "? for shortcuts" in footer or "auto mode on" in footer, footer


def test_claude_exited_is_a_dead_pane() -> None:
    assert INDEX["claude_exited"]["pane_dead"] is True
    assert "Pane is dead" in last_line("claude_exited")
