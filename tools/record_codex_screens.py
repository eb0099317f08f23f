#!/usr/bin/env python3
"""Record the real screens of Codex (0.169.0) running offline on the fake OpenAI Responses API.

Runs the real `codex` (from `tools/agents.sh`, in `.agents/`) in a private tmux server
(``tmux -L relayboard-rec-<uuid>``, 120x40, killed at the end) against `tests/fakes/openai_server.py`, with the
CODEX_HOME from `tests/fakes/codex_offline.py`, and saves for every screen:

- ``tests/fixtures/screens/<name>.txt``   ``tmux capture-pane -p``    (plain text, what rules match)
- ``tests/fixtures/screens/<name>.ansi``  ``tmux capture-pane -p -e`` (same moment, with SGR escapes)
- an entry in ``tests/fixtures/screens/index.json`` (existing entries are left exactly as they are; only the
  ``codex_*`` entries recorded here are added or replaced)

Screens: ``codex_model_migration`` (the first-run "Meet GPT-6 Sol" choice), ``codex_idle``, ``codex_working``
(status line ``Working (Ns • esc to interrupt)`` before text arrives), ``codex_working_streaming`` (answer lines
streaming in, no status line), ``codex_answered_idle``, ``codex_approval`` (``exec_command`` of
``touch relayboard-was-here.txt`` outside the sandbox → "Would you like to run the following command?"),
``codex_exited`` (after ``/quit``).

Usage::

    .venv/bin/python tools/record_codex_screens.py              # (re)write the codex_* fixtures
    .venv/bin/python tools/record_codex_screens.py --out DIR    # write somewhere else (index.json there too)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.claude_env import codex_bin  # noqa: E402
from tests.fakes.codex_offline import prepare_codex_offline  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, Reply  # noqa: E402
from tests.fakes.tmux_driver import TmuxDriver  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The recorder of the Claude Code and bash screens: the same capture, settling and index entry.
from record_screens import FIXTURES, Recorder, both, can_record, record_into  # noqa: E402

SLOW_ANSWER = (
    "Counting to ten slowly, one line at a time, so that the screen shows a long-running streamed answer first:\n\n"
    + "\n".join(f"{n}. number {n}" for n in range(1, 11))
    + "\n\nDone counting."
)
SLOW_SECONDS = 12.0
FIRST_DELAY = 3.0
MARKER = "relayboard-was-here.txt"
MARKER_COMMAND = f"touch {MARKER}"
JUSTIFICATION = "Do you want me to create the marker file relayboard-was-here.txt?"

# What Codex 0.169.0 shows (see tests/fixtures/screens/README.md).
CODEX_INPUT = "\u203a Ask Codex to do anything"  # U+203A SINGLE RIGHT-POINTING ANGLE QUOTATION MARK
CODEX_IDLE_FOOTER = "? for shortcuts"
CODEX_BUSY = "esc to interrupt"
CODEX_APPROVAL = "Would you like to run the following command?"
CODEX_MIGRATION = "2. Use existing model"


def codex_idle(screen: str) -> bool:
    """The empty composer and the idle footer, and no status line (Codex shows the composer while working too)."""
    return CODEX_INPUT in screen and CODEX_IDLE_FOOTER in screen and CODEX_BUSY not in screen


def send_line(tm: TmuxDriver, target: str, text: str) -> None:
    tm.send_text(target, text)
    time.sleep(0.3)  # Codex treats text + Enter in one burst as a paste (the Enter becomes a newline)
    tm.send_keys(target, "Enter")


def record_migration(rec: Recorder, work: Path, base_url: str) -> None:
    """The first run with gpt-5.5 and no `[notice.model_migrations]`: Codex offers its successor."""
    tm = rec.tm
    offline = prepare_codex_offline(work / "codex-first-run", base_url=base_url, first_run_notices=True)
    target = tm.start("codex-first-run", [str(codex_bin())], env=offline.env, cwd=offline.project)
    tm.wait_for(target, CODEX_MIGRATION, timeout=30)
    rec.settle(target)
    rec.save(
        "codex_model_migration",
        target,
        "codex",
        "waiting_for_input",
        "first run on gpt-5.5: 'Meet GPT-6 Sol', 1. Try new model / 2. Use existing model",
    )
    tm.send_keys(target, "2")  # Use existing model: Codex records it in [notice.model_migrations]
    tm.wait_for(target, codex_idle, timeout=20, what="Codex idle after the migration choice")
    config = offline.codex_home / "config.toml"
    deadline = time.monotonic() + 10
    while "[notice.model_migrations]" not in config.read_text():  # written a moment after the screen changes
        assert time.monotonic() < deadline, "Codex did not record the migration answer in config.toml"
        time.sleep(0.2)
    # Left running: killing the last session would end the tmux server under our feet; close() kills it.


def record_session(rec: Recorder, work: Path, fake: FakeOpenAI) -> None:
    tm = rec.tm
    offline = prepare_codex_offline(work / "codex-user", base_url=fake.base_url)
    target = tm.start("codex", [str(codex_bin())], env=offline.env, cwd=offline.project)

    tm.wait_for(target, codex_idle, timeout=30, what="Codex idle prompt")
    rec.settle(target, quiet=1.5)
    rec.save("codex_idle", target, "codex", "idle", "fresh start (trusted project, no sign-in), empty composer")

    fake.push(Reply.slow(SLOW_ANSWER, seconds=SLOW_SECONDS, first_delay=FIRST_DELAY, chunk_chars=3))
    send_line(tm, target, "Count to ten, slowly.")
    tm.wait_for(target, CODEX_BUSY, timeout=15)
    time.sleep(1.2)  # let the elapsed counter tick once
    rec.save(
        "codex_working", target, "codex", "working", "status line 'Working (Ns • esc to interrupt)' before any text"
    )
    tm.wait_for(target, "  3. number 3", timeout=FIRST_DELAY + SLOW_SECONDS)
    rec.save(
        "codex_working_streaming",
        target,
        "codex",
        "working",
        "answer lines streaming in: the status line is gone, footer as when idle",
    )
    tm.wait_for(target, both(codex_idle, lambda s: "Done counting." in s and "Worked for" in s), timeout=30)
    rec.settle(target)
    rec.save("codex_answered_idle", target, "codex", "idle", "answer done, 'Worked for Ns • HH:MM', empty composer")

    fake.push(
        Reply.exec_command(MARKER_COMMAND, escalated=True, justification=JUSTIFICATION),
        Reply.text_reply(f"Created {MARKER}."),
    )
    send_line(tm, target, "Create a marker file.")
    tm.wait_for(target, CODEX_APPROVAL, timeout=20)
    rec.settle(target, quiet=0.8)
    rec.save(
        "codex_approval",
        target,
        "codex",
        "waiting_for_input",
        f"exec_command `{MARKER_COMMAND}` with require_escalated, approval_policy on-request",
    )
    tm.send_keys(target, "y")  # 1. Yes, proceed
    tm.wait_for(target, both(codex_idle, lambda s: f"Created {MARKER}." in s), timeout=30)
    assert (offline.project / MARKER).exists(), "the approved command did not run"
    fake.wait_for(lambda r: r.main and r.has_tool_output, timeout=5)

    send_line(tm, target, "/quit")
    tm.wait_for(target, lambda _s: tm.pane_dead(target), timeout=15, what="Codex to exit")
    rec.settle(target, quiet=1.0)  # tmux may add its remain-on-exit "Pane is dead" line a moment later
    rec.save("codex_exited", target, "codex", "exited", "after /quit; tmux remain-on-exit keeps the dead pane")
    print(f"  fake OpenAI saw: {[r.summary() for r in fake.requests]}", file=sys.stderr)


def record_all(out: Path) -> dict[str, dict[str, object]]:
    def steps(rec: Recorder, work: Path) -> None:
        with FakeOpenAI() as fake:
            record_session(rec, work, fake)
            record_migration(rec, work, fake.base_url)

    return record_into(out, "record_codex_screens", "relayboard-rec-codex", steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=FIXTURES)
    args = parser.parse_args(argv)
    if not can_record("record_codex_screens", codex_bin):
        return 1
    recorded = record_all(args.out)
    print(f"wrote {len(recorded)} Codex screens to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
