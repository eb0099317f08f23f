#!/usr/bin/env python3
"""Record the real screens of Claude Code, Codex and bash as state-detection fixtures.

Runs the real CLIs (installed by `tools/agents.sh` into `.agents/`) offline in a private tmux server
(``tmux -L relayboard-rec-<uuid>``, 120x40, killed at the end), Claude Code against the local fake Anthropic API
(`tests/fakes/anthropic_server.py`), and saves for every screen:

- ``tests/fixtures/screens/<name>.txt``   ``tmux capture-pane -p``    (plain text, what rules match)
- ``tests/fixtures/screens/<name>.ansi``  ``tmux capture-pane -p -e`` (same moment, with SGR escapes)
- an entry in ``tests/fixtures/screens/index.json``: ``{"command": "#{pane_current_command}", "kind": ...,
  "expected_state": ..., "pane_dead": bool, "note": ...}``

Usage::

    /tmp/rbvenv/bin/python tools/record_screens.py               # (re)write the fixtures
    /tmp/rbvenv/bin/python tools/record_screens.py --compare     # record again into a temp dir, diff vs fixtures
    /tmp/rbvenv/bin/python tools/record_screens.py --out DIR     # write somewhere else

The project directory lives inside the temp HOME, so Claude Code shows it as ``~/project`` and the fixtures do
not carry random temp paths.
"""

from __future__ import annotations

import argparse
import difflib
import fcntl
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.process_signal import ProcessReader  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropic, Reply  # noqa: E402
from tests.fakes.claude_env import (  # noqa: E402
    AgentsMissing,
    base_env,
    claude_bin,
    claude_env,
    codex_bin,
    codex_env,
    leftover_processes,
    prepare_claude_home,
    prepare_codex_home,
)
from tests.fakes.tmux_driver import TmuxDriver  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "screens"
STATES = ("working", "waiting_for_input", "idle", "exited", "unknown")
LOOK = 1.0  # seconds between the two /proc looks (the watcher's tick is 2 s; CPU use needs an interval)

SLOW_ANSWER = (
    "Counting to ten slowly, one line at a time, so that the screen shows a long-running streamed answer first:\n\n"
    "1. one\n2. two\n3. three\n4. four\n5. five\n6. six\n7. seven\n8. eight\n9. nine\n10. ten\n\nDone counting."
)
SLOW_SECONDS = 12.0
FIRST_DELAY = 1.5
MARKER_COMMAND = "touch relayboard-was-here.txt"

# What Claude Code 2.1.330 shows (see tests/fixtures/screens/README.md).
CLAUDE_IDLE_FOOTER = "? for shortcuts"
CLAUDE_BUSY_FOOTER = "esc to interrupt"
CLAUDE_PERMISSION = "Do you want to proceed?"
CLAUDE_INPUT_LINE = re.compile("^\u276f\u00a0?\\s*$", re.M)  # the empty input line in the prompt box: "❯" + NBSP  # noqa: RUF003
SPINNER_WITH_TOKENS = re.compile(r"^[·✢*✶✻✽] \S+… \(\d+s · [↓↑] \d+ tokens\)$", re.M)
BASH_PROMPT = re.compile(r"^bash-[\d.]+[#$] ?$", re.M)  # capture-pane drops the trailing space


def _portable(observation: dict[str, object]) -> dict[str, object]:
    """Pids and CPU ticks differ on every run; the judge reads neither as such (only CPU over the interval)."""
    members = list(observation.get("members") or ())  # asdict leaves the tuple a tuple
    observation["members"] = members
    for number, member in enumerate(members):
        assert isinstance(member, dict)
        member["pid"] = number + 1
        member["cpu_ticks"] = 0
    for key in ("cpu_seconds", "interval"):
        value = observation.get(key)
        if isinstance(value, float):
            observation[key] = round(value, 2)
    return observation


def merge_index(path: Path, recorded: dict[str, dict[str, object]]) -> None:
    """Add (or replace) one recorder's entries, keeping every other entry and its position exactly as it was (each
    recorder owns its screens' names; none rewrites another's)."""
    original = path.read_text() if path.exists() else "{}\n"
    index: dict[str, dict[str, object]] = json.loads(original)
    if path.exists() and json.dumps(index, indent=2, ensure_ascii=False) + "\n" != original:
        raise SystemExit(f"{path} is not in the recorders' format; not rewriting it")
    index.update(recorded)
    path.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")


class Recorder:
    def __init__(self, tm: TmuxDriver, out: Path) -> None:
        self.tm = tm
        self.out = out
        self.index: dict[str, dict[str, object]] = {}

    def save(
        self, name: str, target: str, kind: str, expected_state: str, note: str, *, family: str | None = None
    ) -> str:
        """Capture the screen and, over the next `LOOK` seconds, what the pane's foreground processes do (the
        process signal's observation, as the watcher would read it on its next tick) and whether the screen moved.
        `family` groups the corpus score (claude, codex, bash, python, pager, editor, ...); default: `kind`."""
        assert expected_state in STATES, expected_state
        plain = self.tm.capture(target)
        ansi = self.tm.capture(target, escapes=True)
        dead = self.tm.pane_dead(target)
        command = self.tm.current_command(target)
        pid_text = self.tm.display(target, "#{pane_pid}")
        reader = ProcessReader()
        pid = int(pid_text) if pid_text.isdigit() else None
        reader.observe(pid, time.monotonic())
        time.sleep(LOOK)
        seen = reader.observe(pid, time.monotonic())
        changed = self.tm.capture(target) != plain
        (self.out / f"{name}.txt").write_text(plain)
        (self.out / f"{name}.ansi").write_text(ansi)
        self.index[name] = {
            "command": command,
            "kind": kind,
            "family": family or kind,
            "expected_state": expected_state,
            "pane_dead": dead,
            "changed": changed,
            "note": note,
            "process": _portable(seen.as_json()),
        }
        print(f"  {name:<24} command={command!r:<10} state={expected_state}", file=sys.stderr)
        return plain

    def settle(self, target: str, quiet: float = 1.0, timeout: float = 15.0) -> str:
        """Wait until the screen has not changed for `quiet` seconds (status hints come and go after start)."""
        deadline = time.monotonic() + timeout
        last = self.tm.capture(target)
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.tm.capture(target)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
        return last


def both(*checks: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda screen: all(check(screen) for check in checks)


def claude_idle(screen: str) -> bool:
    return CLAUDE_IDLE_FOOTER in screen and CLAUDE_INPUT_LINE.search(screen) is not None


def record_claude(rec: Recorder, work: Path) -> None:
    home = work / "claude-home"
    project = home / "project"
    prepare_claude_home(home, project)
    script = [
        Reply.slow(SLOW_ANSWER, seconds=SLOW_SECONDS, first_delay=FIRST_DELAY, chunk_chars=3),
        Reply.tool_use("Bash", {"command": MARKER_COMMAND, "description": "Create a marker file"}),
        Reply.text_reply("Created relayboard-was-here.txt."),
    ]
    tm = rec.tm
    with FakeAnthropic(script=script) as fake:
        env = claude_env(home, fake.base_url)
        target = tm.start("claude", [str(claude_bin()), "--permission-mode", "default"], env=env, cwd=project)

        tm.wait_for(target, claude_idle, timeout=30, what="Claude Code idle prompt")
        rec.settle(target)
        rec.save("claude_idle", target, "claude", "idle", "fresh start, empty prompt box")

        tm.send_text(target, "Count to ten, slowly.")
        tm.send_keys(target, "Enter")
        # Before the first complete line of text: the spinner line "✶ <Verb>… (3s · ↓ 12 tokens)" above the box.
        tm.wait_for(target, SPINNER_WITH_TOKENS, timeout=15)
        time.sleep(0.8)
        rec.save("claude_working", target, "claude", "working", "spinner line while the first line streams in")
        # Once whole lines stream in, the spinner line is gone; only the footer still says "esc to interrupt".
        tm.wait_for(target, "  3. three", timeout=SLOW_SECONDS)
        rec.save("claude_working_streaming", target, "claude", "working", "text lines streaming in, no spinner line")

        tm.wait_for(target, both(claude_idle, lambda s: "Done counting." in s), timeout=SLOW_SECONDS + 15)
        rec.settle(target)
        rec.save("claude_answered_idle", target, "claude", "idle", "prompt again after a streamed answer")

        tm.send_text(target, "Create a marker file.")
        tm.send_keys(target, "Enter")
        tm.wait_for(target, CLAUDE_PERMISSION, timeout=15)
        rec.settle(target, quiet=0.6)
        rec.save(
            "claude_permission",
            target,
            "claude",
            "waiting_for_input",
            f"Bash tool_use `{MARKER_COMMAND}`, default mode",
        )

        tm.send_keys(target, "Enter")  # 1. Yes
        tm.wait_for(target, both(claude_idle, lambda s: "Created relayboard-was-here.txt." in s), timeout=20)
        assert (project / "relayboard-was-here.txt").exists(), "the approved Bash command did not run"

        tm.send_text(target, "/exit")
        time.sleep(0.5)  # the slash-command menu opens
        tm.send_keys(target, "Enter")
        tm.wait_for(target, lambda _s: tm.pane_dead(target), timeout=15, what="Claude Code to exit")
        tm.wait_for(target, "Pane is dead", timeout=5)  # tmux draws its remain-on-exit line a moment later
        rec.settle(target, quiet=0.5)
        rec.save("claude_exited", target, "claude", "exited", "after /exit; tmux remain-on-exit keeps the dead pane")
        print(f"  fake Anthropic saw: {[r.summary()['path'] for r in fake.requests]}", file=sys.stderr)


def record_claude_auto(rec: Recorder, work: Path) -> None:
    """Plain `claude` (no --permission-mode): 2.1.330 defaults to auto mode, whose footer has no "? for shortcuts"."""
    home = work / "claude-auto-home"
    project = home / "project"
    prepare_claude_home(home, project)
    tm = rec.tm
    with FakeAnthropic(script=[Reply.slow(SLOW_ANSWER, seconds=SLOW_SECONDS, first_delay=FIRST_DELAY)]) as fake:
        target = tm.start("claude-auto", [str(claude_bin())], env=claude_env(home, fake.base_url), cwd=project)
        tm.wait_for(target, both(lambda s: "auto mode on" in s, CLAUDE_INPUT_LINE.search), timeout=30)
        rec.settle(target)
        rec.save("claude_auto_idle", target, "claude", "idle", "plain `claude`: auto permission mode, empty prompt")
        tm.send_text(target, "Count to ten, slowly.")
        tm.send_keys(target, "Enter")
        tm.wait_for(target, SPINNER_WITH_TOKENS, timeout=15)
        time.sleep(0.8)
        rec.save("claude_auto_working", target, "claude", "working", "auto mode, spinner while the answer streams")
        tm.send_keys(target, "Escape")  # interrupt; the server is stopped right after


def record_codex(rec: Recorder, work: Path) -> None:
    home = work / "codex-user"
    project = home / "project"
    project.mkdir(parents=True)
    codex_home = prepare_codex_home(home / ".codex")
    env = codex_env(codex_home, home=home)
    target = rec.tm.start("codex", [str(codex_bin())], env=env, cwd=project)
    rec.tm.wait_for(target, "Press enter to continue", timeout=30)
    rec.settle(target)
    rec.save("codex_signin", target, "codex", "waiting_for_input", "no auth.json: the sign-in menu")


def record_bash(rec: Recorder, work: Path) -> None:
    home = work / "bash-user"
    home.mkdir()
    env = base_env(home)
    env.pop("PS1", None)  # bash --norc then shows its built-in default, `\s-\v\$ `
    tm = rec.tm
    target = tm.start("bash", ["bash", "--norc", "--noprofile"], env=env, cwd=home)
    tm.wait_for(target, BASH_PROMPT, timeout=10)
    rec.settle(target, quiet=0.5)
    rec.save("bash_prompt", target, "shell", "idle", "bash --norc --noprofile, nothing running")

    loop = "import time\nfor i in range(100000):\n    print('tick', i, flush=True)\n    time.sleep(0.2)"
    tm.send_text(target, f'python3 -c "{loop}"')
    tm.send_keys(target, "Enter")
    tm.wait_for(target, "tick 12", timeout=10)
    rec.save("bash_running", target, "shell", "working", "python3 loop printing a line every 0.2 s")
    tm.send_keys(target, "C-c")
    tm.wait_for(target, lambda s: "^C" in s and s.rstrip("\n").splitlines()[-1].startswith("bash-"), timeout=10)
    tm.send_keys(target, "C-l")
    time.sleep(0.3)

    tm.send_text(target, "sleep 30")
    tm.send_keys(target, "Enter")
    tm.wait_for(target, lambda _s: tm.current_command(target) == "sleep", timeout=10, what="sleep in foreground")
    time.sleep(0.5)
    rec.save("bash_running_quiet", target, "shell", "working", "`sleep 30`: no output, but not at the prompt")
    tm.send_keys(target, "C-c")


def record_into(
    out: Path, program: str, work_name: str, steps: Callable[[Recorder, Path], None]
) -> dict[str, dict[str, object]]:
    """Every recorder's frame around its `steps`: a fixed work root `<tmp>/<work_name>` (the CLIs print absolute
    paths on some screens, e.g. Claude Code's "always allow access to <dir>", and fixtures should not change with a
    random temp name), a lock that keeps two runs of one recorder apart, a private tmux server, a warning for
    processes left behind, and the recorded entries merged into the shared index."""
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.gettempdir()) / work_name
    lock = open(f"{work}.lock", "w")  # noqa: SIM115 - held for the run
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"{program}: another recorder is running") from None
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        with TmuxDriver(prefix="relayboard-rec") as tm:
            print(f"recording on tmux -L {tm.socket} into {out}", file=sys.stderr)
            rec = Recorder(tm, out)
            steps(rec, work)
        stray = leftover_processes(work, grace=3.0)
        if stray:
            print(f"warning: processes left behind under {work}: {stray}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        lock.close()
    merge_index(out / "index.json", rec.index)
    return rec.index


def can_record(program: str, *binaries: Callable[[], Path]) -> bool:
    """The agent CLIs a recorder runs are installed (`tools/agents.sh`) and so is tmux; else says what is missing."""
    try:
        for binary in binaries:
            binary()
    except AgentsMissing as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return False
    if shutil.which("tmux") is None:
        print(f"{program}: tmux is not installed", file=sys.stderr)
        return False
    return True


def record_all(out: Path) -> dict[str, dict[str, object]]:
    def steps(rec: Recorder, work: Path) -> None:
        record_claude(rec, work)
        record_claude_auto(rec, work)
        record_codex(rec, work)
        record_bash(rec, work)

    return record_into(out, "record_screens", "relayboard-rec", steps)


def compare(fresh: Path, committed: Path) -> int:
    """Show, per fixture, the lines that differ between two recordings (exactly, then with digits masked)."""
    differing = 0
    fresh_index = json.loads((fresh / "index.json").read_text())
    old_index = json.loads((committed / "index.json").read_text()) if (committed / "index.json").exists() else {}
    for name in sorted(fresh_index):
        old_file = committed / f"{name}.txt"
        if not old_file.exists():
            print(f"== {name}: new (no committed fixture)")
            continue
        a = old_file.read_text().splitlines()
        b = (fresh / f"{name}.txt").read_text().splitlines()
        cmd_note = ""
        if old_index.get(name, {}).get("command") != fresh_index[name]["command"]:
            cmd_note = f" command {old_index.get(name, {}).get('command')!r} -> {fresh_index[name]['command']!r}"
        diff = [line for line in difflib.unified_diff(a, b, "committed", "fresh", n=0, lineterm="")]
        if not diff and not cmd_note:
            print(f"== {name}: identical")
            continue
        differing += 1
        changed = [d for d in diff if d[:1] in "+-" and d[:3] not in ("---", "+++")]
        print(f"== {name}: {len(changed)} lines differ{cmd_note}")
        for line in diff[2:]:
            print("   " + line)
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=FIXTURES)
    parser.add_argument("--compare", action="store_true", help="record into a temp dir and diff against --out")
    args = parser.parse_args(argv)
    if not can_record("record_screens", claude_bin, codex_bin):
        return 1
    if args.compare:
        with tempfile.TemporaryDirectory(prefix="relayboard-rec-cmp-") as tmp:
            record_all(Path(tmp))
            compare(Path(tmp), args.out)
        return 0
    record_all(args.out)
    print(f"wrote {len(list(args.out.glob('*.txt')))} screens to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
