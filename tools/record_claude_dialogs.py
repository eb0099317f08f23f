#!/usr/bin/env python3
"""Record the dialogs and in-between screens of the real Claude Code (2.1.330) as state-detection fixtures.

Runs the real `claude` (from `tools/agents.sh`, in `.agents/`) offline in a private tmux server
(``tmux -L relayboard-rec-<uuid>``, 120x40, killed at the end) against the fake Anthropic API
(`tests/fakes/anthropic_server.py`), one temp HOME per start-up configuration (`tests/fakes/claude_env.py`), and
saves for every screen, like `tools/record_screens.py` (whose `Recorder` it uses):

- ``tests/fixtures/screens/<name>.txt``   ``tmux capture-pane -p``    (plain text, what rules match)
- ``tests/fixtures/screens/<name>.ansi``  ``tmux capture-pane -p -e`` (same moment, with SGR escapes)
- an entry in ``tests/fixtures/screens/index.json`` (existing entries are left exactly as they are; only the
  entries recorded here are added or replaced)

Screens (all ``kind``/``family`` ``claude``):

- start-up dialogs → waiting_for_input: ``claude_trust_folder`` (project not trusted: "Accessing workspace"),
  ``claude_first_run`` (onboarding not done: the theme picker), ``claude_api_key`` (the dummy
  ``ANTHROPIC_API_KEY`` not yet approved: "Detected a custom API key in your environment");
- tool dialogs → waiting_for_input: ``claude_permission_edit`` (Read, then Edit of ``notes.txt``),
  ``claude_permission_write`` (Write of a new ``hello.py``), ``claude_question`` (AskUserQuestion with two
  options), ``claude_plan_exit_empty`` (ExitPlanMode before any plan file was written) and ``claude_plan_exit``
  (ExitPlanMode after the plan file was written: "Ready to code?");
- working: ``claude_thinking`` (spinner before the first byte of the answer), ``claude_tool_running`` (Bash
  ``sleep 10`` running), ``claude_retrying`` (529 overloaded, "retrying in Ns · attempt N/4");
- idle: ``claude_interrupted`` (Esc during a streamed answer), ``claude_api_error`` (retries given up: "API Error:
  529 …", prompt back), ``claude_plan_mode_idle`` (``--permission-mode plan``, empty prompt), ``claude_slash_menu``
  (the "/" command menu open; nothing waits on the operator but the operator).

Usage::

    .venv/bin/python tools/record_claude_dialogs.py              # (re)write these fixtures
    .venv/bin/python tools/record_claude_dialogs.py --out DIR    # write somewhere else (index.json there too)

All the work happens under a fixed directory (``<tmp>/relayboard-rec-claude-dialogs``) because Claude Code prints
absolute paths in some dialogs (the trust dialog shows the project path), and the fake that answers with errors
listens on a fixed port when it is free (the API error names the "inference gateway (127.0.0.1:<port>)").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.anthropic_server import FakeAnthropic, Reply, RequestLog  # noqa: E402
from tests.fakes.claude_env import (  # noqa: E402
    claude_bin,
    claude_env,
    prepare_claude_home,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The recorder of the first Claude Code screens: the same capture, settling and index entry.
from record_screens import (  # noqa: E402
    CLAUDE_BUSY_FOOTER,
    CLAUDE_INPUT_LINE,
    CLAUDE_PERMISSION,
    FIXTURES,
    Recorder,
    both,
    can_record,
    claude_idle,
    record_into,
)

# What Claude Code 2.1.330 shows (see tests/fixtures/screens/README.md).
TRUST_DIALOG = "Yes, I trust this folder"
THEME_PICKER = "Choose the text style that looks best with your terminal"
API_KEY_DIALOG = "Do you want to use this API key?"
EDIT_DIALOG = "Do you want to make this edit to notes.txt?"
WRITE_DIALOG = "Do you want to create hello.py?"
QUESTION = "Which database should we use?"
QUESTION_FOOTER = "Enter to select"
PLAN_EXIT_EMPTY = "Claude wants to exit plan mode"
PLAN_EXIT = "Would you like to proceed?"
PLAN_FOOTER = "plan mode on"
INTERRUPTED = "Interrupted · What should Claude do instead?"
# The first retry line says just "API error"; from a later attempt on it names the status (and the gateway).
RETRYING = re.compile(r"529 Overloaded · retrying in \d+s · attempt \d+/\d+")
API_ERROR = "API Error: 529"
SLASH_MENU = "/add-dir"
SPINNER_NO_TOKENS = re.compile(r"^[·✢*✶✻✽] \S+…$", re.M)  # the spinner line before any token arrived

NOTES = "# settings\ncolour = red\nsize = 3\n"
PLAN = "# Settings file\n\n1. Add `settings.toml` with the defaults\n2. Read it at start-up\n"
QUESTION_INPUT = {
    "questions": [
        {
            "question": QUESTION,
            "header": "Database",
            "options": [
                {"label": "SQLite", "description": "One file next to the code, no server to run"},
                {"label": "Postgres", "description": "A database server, for many concurrent writers"},
            ],
            "multiSelect": False,
        }
    ]
}
THINK_DELAY = 10.0  # seconds before the first byte of the "thinking" answer
SLEEP_COMMAND = "sleep 10"
SLOW_ANSWER = "Counting slowly: " + " ".join(str(n) for n in range(1, 200))
MAX_RETRIES = 4  # CLAUDE_CODE_MAX_RETRIES for the error session (the default, 10, takes minutes to give up)
ERROR_PORT = 47529  # the error fake's port if free (it is printed in the error text)


def idle_footer(screen: str) -> bool:
    """The manual-mode idle footer, without requiring an empty input line (placeholders fill it sometimes)."""
    lines = [line for line in screen.splitlines() if line.strip()]
    return bool(lines) and "? for shortcuts" in lines[-1] and CLAUDE_BUSY_FOOTER not in lines[-1]


def start_claude(
    rec: Recorder, name: str, home: Path, project: Path, base_url: str, args: tuple[str, ...], **env_extra: str
) -> str:
    env = claude_env(home, base_url)
    env.update(env_extra)
    return rec.tm.start(name, [str(claude_bin()), *args], env=env, cwd=project)


def close_session(rec: Recorder, target: str) -> None:
    """End a session whose screens are recorded (fewer Claude Codes competing for the CPU during later screens)."""
    rec.tm.run("kill-session", "-t", target.split(":")[0], check=False)


def send_line(rec: Recorder, target: str, text: str) -> None:
    rec.tm.send_text(target, text)
    time.sleep(0.3)
    rec.tm.send_keys(target, "Enter")


def save(rec: Recorder, name: str, target: str, state: str, note: str) -> str:
    return rec.save(name, target, "claude", state, note, family="claude")


# ------------------------------------------------------------------------------------------------ start-up dialogs


def record_startup_dialogs(rec: Recorder, work: Path) -> None:
    """Three start-ups that stop at a question before the prompt; none of them talks to the API yet."""
    tm = rec.tm
    with FakeAnthropic() as fake:
        home = work / "trust-home"
        project = home / "project"
        prepare_claude_home(home, project, extra_config={"projects": {}})  # no hasTrustDialogAccepted for it
        target = start_claude(rec, "trust", home, project, fake.base_url, ("--permission-mode", "default"))
        tm.wait_for(target, TRUST_DIALOG, timeout=30)
        rec.settle(target)
        save(
            rec,
            "claude_trust_folder",
            target,
            "waiting_for_input",
            "project not trusted (no hasTrustDialogAccepted): 'Accessing workspace', No, exit (selected) / Yes, I "
            "trust this folder; nothing runs until the operator answers",
        )
        close_session(rec, target)

        home = work / "first-run-home"
        project = home / "project"
        prepare_claude_home(home, project, extra_config={"hasCompletedOnboarding": False})
        target = start_claude(rec, "first-run", home, project, fake.base_url, ("--permission-mode", "default"))
        tm.wait_for(target, THEME_PICKER, timeout=30)
        rec.settle(target)
        save(
            rec,
            "claude_first_run",
            target,
            "waiting_for_input",
            "onboarding not completed: 'Welcome to Claude Code', the theme picker ('Choose the text style…'); "
            "the first-run wizard waits for a choice",
        )
        close_session(rec, target)

        home = work / "api-key-home"
        project = home / "project"
        prepare_claude_home(home, project, extra_config={"customApiKeyResponses": {"approved": [], "rejected": []}})
        target = start_claude(rec, "api-key", home, project, fake.base_url, ("--permission-mode", "default"))
        tm.wait_for(target, API_KEY_DIALOG, timeout=30)
        rec.settle(target)
        save(
            rec,
            "claude_api_key",
            target,
            "waiting_for_input",
            "ANTHROPIC_API_KEY set but not approved in customApiKeyResponses: 'Detected a custom API key in your "
            "environment', Yes / No (recommended) (selected)",
        )
        close_session(rec, target)
        assert not [r for r in fake.requests if r.main], "a start-up dialog made a model request"


# ------------------------------------------------------------------------------------------- one manual-mode session


def record_session(rec: Recorder, work: Path) -> None:
    """One `--permission-mode default` session: the slash menu, thinking, Edit, Write, a question, a running tool,
    an interrupted answer."""
    tm = rec.tm
    home = work / "claude-home"
    project = home / "project"
    prepare_claude_home(home, project)
    notes = project / "notes.txt"
    notes.write_text(NOTES)
    hello = project / "hello.py"
    script: list[Reply] = [
        Reply.slow("I thought about it: nothing to change.", seconds=1.0, first_delay=THINK_DELAY),
        Reply.tool_use("Read", {"file_path": str(notes)}),
        Reply.tool_use("Edit", {"file_path": str(notes), "old_string": "colour = red", "new_string": "colour = blue"}),
        Reply.text_reply("Changed the colour to blue."),
        Reply.tool_use("Write", {"file_path": str(hello), "content": "print('hello')\n"}),
        Reply.text_reply("Created hello.py."),
        Reply.tool_use("AskUserQuestion", QUESTION_INPUT),
        Reply.text_reply("SQLite it is."),
        Reply.tool_use("Bash", {"command": SLEEP_COMMAND, "description": "Wait ten seconds"}),
        Reply.text_reply("Waited."),
        Reply.slow(SLOW_ANSWER, seconds=30.0, first_delay=0.5, chunk_chars=2),
    ]
    with FakeAnthropic(script=script) as fake:
        target = start_claude(rec, "claude", home, project, fake.base_url, ("--permission-mode", "default"))
        tm.wait_for(target, claude_idle, timeout=30, what="Claude Code idle prompt")
        rec.settle(target)

        tm.send_text(target, "/")
        tm.wait_for(target, SLASH_MENU, timeout=10)
        rec.settle(target, quiet=0.8)
        save(
            rec,
            "claude_slash_menu",
            target,
            "idle",
            "'/' typed at an empty prompt: the command menu (/add-dir …) above the box, footer '⏸ manual mode "
            "on'; idle: the agent waits on nobody, the operator is typing",
        )
        tm.send_keys(target, "Escape")
        tm.send_keys(target, "BSpace")
        tm.wait_for(target, claude_idle, timeout=10, what="the empty prompt again")

        send_line(rec, target, "Think it over first.")
        tm.wait_for(target, both(lambda s: CLAUDE_BUSY_FOOTER in s, SPINNER_NO_TOKENS.search), timeout=15)
        time.sleep(2.0)
        screen = save(
            rec,
            "claude_thinking",
            target,
            "working",
            f"the answer's first byte is {THINK_DELAY:.0f} s away: spinner line '<glyph> <Verb>…' without the "
            "'(Ns · ↓ N tokens)' part, footer 'esc to interrupt'",
        )
        assert SPINNER_NO_TOKENS.search(screen), "claude_thinking: the tokens arrived before the capture"
        tm.wait_for(target, both(claude_idle, lambda s: "nothing to change." in s), timeout=THINK_DELAY + 15)

        send_line(rec, target, "Change the colour in notes.txt to blue.")
        tm.wait_for(target, EDIT_DIALOG, timeout=20)
        rec.settle(target, quiet=0.8)
        save(
            rec,
            "claude_permission_edit",
            target,
            "waiting_for_input",
            "Read (allowed) then Edit of notes.txt, default mode: 'Edit file', the diff, 'Do you want to make this "
            "edit to notes.txt?'",
        )
        tm.send_keys(target, "Enter")  # 1. Yes
        tm.wait_for(target, both(claude_idle, lambda s: "Changed the colour to blue." in s), timeout=20)
        assert "colour = blue" in notes.read_text(), "the approved edit was not made"

        send_line(rec, target, "Create hello.py.")
        tm.wait_for(target, WRITE_DIALOG, timeout=20)
        rec.settle(target, quiet=0.8)
        save(
            rec,
            "claude_permission_write",
            target,
            "waiting_for_input",
            "Write of a new hello.py, default mode: 'Create file', the content, 'Do you want to create hello.py?'",
        )
        tm.send_keys(target, "Enter")  # 1. Yes
        tm.wait_for(target, both(claude_idle, lambda s: "Created hello.py." in s), timeout=20)
        assert hello.exists(), "the approved write did not happen"

        send_line(rec, target, "Which database?")
        tm.wait_for(target, both(lambda s: QUESTION in s, lambda s: QUESTION_FOOTER in s), timeout=20)
        rec.settle(target, quiet=0.8)
        save(
            rec,
            "claude_question",
            target,
            "waiting_for_input",
            "AskUserQuestion (header 'Database', options SQLite / Postgres): '☐ Database', the question, numbered "
            "options plus 'Type something.' / 'Chat about this', 'Enter to select · ↑/↓ to navigate · Esc to cancel'",
        )
        tm.send_keys(target, "Enter")  # 1. SQLite
        tm.wait_for(target, both(claude_idle, lambda s: "SQLite it is." in s), timeout=20)

        send_line(rec, target, "Wait ten seconds.")
        tm.wait_for(target, lambda s: f"$ {SLEEP_COMMAND}" in s or CLAUDE_PERMISSION in s, timeout=20)
        if CLAUDE_PERMISSION in tm.capture(target):  # 2.1.330 runs a bare `sleep` without asking; in case not
            tm.send_keys(target, "Enter")
        tm.wait_for(target, re.compile(rf"\$ {SLEEP_COMMAND} \(\d+s\)"), timeout=15)
        save(
            rec,
            "claude_tool_running",
            target,
            "working",
            f"Bash `{SLEEP_COMMAND}` running (auto-allowed): '$ {SLEEP_COMMAND} (Ns)', spinner, footer 'esc to "
            "interrupt'; /proc sees only claude in the pane's foreground group",
        )
        tm.wait_for(target, both(claude_idle, lambda s: "Waited." in s), timeout=30)

        send_line(rec, target, "Count slowly.")
        tm.wait_for(target, "Counting slowly: 1 2 3", timeout=15)
        time.sleep(1.0)
        tm.send_keys(target, "Escape")
        tm.wait_for(target, both(claude_idle, lambda s: INTERRUPTED in s), timeout=15)
        rec.settle(target)
        save(
            rec,
            "claude_interrupted",
            target,
            "idle",
            "Esc during a streamed answer: the partial answer, '⎿  Interrupted · What should Claude do instead?', "
            "empty prompt: Claude stopped and waits for a new prompt like any idle prompt",
        )
        print(f"  fake Anthropic saw: {[r.summary()['reply'] for r in fake.requests if r.main]}", file=sys.stderr)


# ------------------------------------------------------------------------------------------------------ API errors


def error_fake(script: list[Reply]) -> FakeAnthropic:
    try:
        return FakeAnthropic(script=script, port=ERROR_PORT).start()
    except OSError:
        print(f"  port {ERROR_PORT} is taken: the API error screens will show another port", file=sys.stderr)
        return FakeAnthropic(script=script).start()


def record_errors(rec: Recorder, work: Path) -> None:
    tm = rec.tm
    home = work / "error-home"
    project = home / "project"
    prepare_claude_home(home, project)
    overloaded = Reply.error(529, "overloaded_error", "Overloaded")
    fake = error_fake([overloaded] * (MAX_RETRIES + 1))
    try:
        target = start_claude(
            rec,
            "errors",
            home,
            project,
            fake.base_url,
            ("--permission-mode", "default"),
            CLAUDE_CODE_MAX_RETRIES=str(MAX_RETRIES),
        )
        tm.wait_for(target, claude_idle, timeout=30, what="Claude Code idle prompt")
        rec.settle(target)
        send_line(rec, target, "Hello there.")
        tm.wait_for(target, both(RETRYING.search, lambda s: "inference gateway" in s), timeout=30)
        time.sleep(0.3)
        save(
            rec,
            "claude_retrying",
            target,
            "working",
            f"every request answered 529 overloaded (CLAUDE_CODE_MAX_RETRIES={MAX_RETRIES}): '✻ 529 Overloaded · "
            f"retrying in Ns · attempt N/{MAX_RETRIES}' and '⎿  If it persists, check your inference gateway (…)', "
            "footer 'esc to interrupt': it is still trying on its own",
        )
        tm.wait_for(target, both(idle_footer, lambda s: API_ERROR in s), timeout=60)
        rec.settle(target)
        save(
            rec,
            "claude_api_error",
            target,
            "idle",
            "retries given up: '● API Error: 529 Overloaded. …', the prompt back with the placeholder 'Resend your "
            "message to try again', footer '? for shortcuts': nothing runs until the operator sends again",
        )
        assert len([r for r in fake.requests if r.main]) == MAX_RETRIES + 1, "unexpected number of attempts"
    finally:
        fake.stop()


# ------------------------------------------------------------------------------------------------------- plan mode


def plan_file_writer(request: RequestLog) -> Reply:
    """Write the plan where plan mode's system reminder tells the model to (a random name under ~/.claude/plans)."""
    found = re.search(r"create your plan at (\S+?\.md)", json.dumps(request.body))
    assert found, "plan mode did not name a plan file"
    return Reply.tool_use("Write", {"file_path": found.group(1), "content": PLAN})


def record_plan_mode(rec: Recorder, work: Path) -> None:
    tm = rec.tm
    home = work / "plan-home"
    project = home / "project"
    prepare_claude_home(home, project)
    script: list[Any] = [
        Reply.tool_use("ExitPlanMode", {"plan": PLAN}),  # no plan file yet
        plan_file_writer,
        Reply.tool_use("ExitPlanMode", {"plan": PLAN}),
    ]
    with FakeAnthropic(script=script) as fake:
        target = start_claude(rec, "plan", home, project, fake.base_url, ("--permission-mode", "plan"))
        tm.wait_for(target, both(lambda s: PLAN_FOOTER in s, CLAUDE_INPUT_LINE.search), timeout=30)
        rec.settle(target)
        save(
            rec,
            "claude_plan_mode_idle",
            target,
            "idle",
            "--permission-mode plan, fresh start: empty prompt, footer '⏸ plan mode on (shift+tab to cycle)'",
        )

        send_line(rec, target, "Plan a settings file.")
        tm.wait_for(target, PLAN_EXIT_EMPTY, timeout=20)
        rec.settle(target, quiet=0.8)
        save(
            rec,
            "claude_plan_exit_empty",
            target,
            "waiting_for_input",
            "ExitPlanMode before any plan file exists: 'Exit plan mode?', 'Claude wants to exit plan mode', "
            "1. Yes, and switch to default … / 2. No",
        )
        tm.send_keys(target, "Escape")  # No: stay in plan mode; the turn ends without another request
        tm.wait_for(target, both(lambda s: PLAN_FOOTER in s, CLAUDE_INPUT_LINE.search), timeout=15)
        time.sleep(0.5)

        send_line(rec, target, "Write the plan down, then ask.")
        tm.wait_for(target, PLAN_EXIT, timeout=20)
        rec.settle(target, quiet=0.8)
        save(
            rec,
            "claude_plan_exit",
            target,
            "waiting_for_input",
            "plan file written, then ExitPlanMode: 'Ready to code?', the plan, 'Claude has written up a plan and is "
            "ready to execute. Would you like to proceed?', 1. Yes, and use auto mode / 2. Yes, manually approve "
            "edits / 3. Tell Claude what to change",
        )
        print(f"  fake Anthropic saw: {[r.summary()['reply'] for r in fake.requests if r.main]}", file=sys.stderr)


def record_all(out: Path) -> dict[str, dict[str, object]]:
    def steps(rec: Recorder, work: Path) -> None:
        record_startup_dialogs(rec, work)
        record_session(rec, work)
        record_errors(rec, work)
        record_plan_mode(rec, work)

    # Its own work root: the trust dialog prints the project's absolute path.
    return record_into(out, "record_claude_dialogs", "relayboard-rec-claude-dialogs", steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=FIXTURES)
    args = parser.parse_args(argv)
    if not can_record("record_claude_dialogs", claude_bin):
        return 1
    started = time.monotonic()
    recorded = record_all(args.out)
    seconds = time.monotonic() - started
    print(f"wrote {len(recorded)} Claude Code screens to {args.out} in {seconds:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
