"""Clean exits on every signal: a closed terminal (its tmux server killed: SIGHUP), SIGTERM and SIGINT end the demo
as `q` does, leaving no demo tmux server and no demo home; a demo killed with SIGKILL is cleaned up by the next
demo; the TUI on a hang-up leaves its managed agents running and its database whole.

Each demo runs in a real terminal: a pane of a private tmux server started here (and killed after). Its
temporary files and its own tmux sockets go to a directory of the test (TMPDIR, TMUX_TMPDIR), so nothing of the
machine's /tmp is looked at or touched."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import kill_tmux_server

pytestmark = pytest.mark.slow
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def wait_for(check: Callable[[], object], what: str, within: float = 15.0) -> object:
    deadline = time.monotonic() + within
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        time.sleep(0.05)
    return value


class Terminal:
    """A private tmux server whose one pane runs a command, as a terminal window would."""

    def __init__(self, socket: str, scratch: Path) -> None:
        self.socket = socket
        self.scratch = scratch  # TMPDIR and TMUX_TMPDIR of what runs inside

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False)

    def run(self, *argv: str) -> None:
        env = f"TMPDIR={self.scratch} TMUX_TMPDIR={self.scratch} HOME={os.environ['HOME']}"
        command = f"cd {PROJECT_ROOT} && env -u TMUX -u TMUX_PANE {env} {shlex.join([sys.executable, *argv])}"
        done = self.tmux("new-session", "-d", "-x", "100", "-y", "30", command)
        assert done.returncode == 0, done.stderr

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p").stdout

    def close(self) -> None:
        """The operator closes the terminal: its server goes, and the process in it is hung up."""
        kill_tmux_server("tmux", self.socket)


@pytest.fixture
def terminal(tmux_socket: str, tmp_path: Path, tmux_bin: str) -> Iterator[Terminal]:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    term = Terminal(tmux_socket, scratch)
    try:
        yield term
    finally:
        term.close()
        for sock in (scratch / f"tmux-{os.getuid()}").glob("*"):  # whatever a failed test left running
            subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True, check=False)
        for pid in processes_with(f"TMPDIR={scratch}"):  # a demo or TUI a failed test left behind
            os.kill(pid, signal.SIGKILL)


def processes_with(variable: str) -> list[int]:
    """Processes whose environment holds `variable` exactly (what this test started in its terminal)."""
    found = []
    needle = variable.encode()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def demo_homes(scratch: Path) -> list[Path]:
    return sorted(scratch.glob("relayboard-demo-*"))


def demo_servers(scratch: Path) -> list[Path]:
    """Demo tmux servers that answer (a socket file alone may be left behind by tmux)."""
    sockets = sorted((scratch / f"tmux-{os.getuid()}").glob("relayboard-demo-*"))
    return [s for s in sockets if subprocess.run(["tmux", "-S", str(s), "ls"], capture_output=True).returncode == 0]


def start_demo(terminal: Terminal) -> tuple[int, Path]:
    """The demo's pid and home, once its dashboard is on screen."""
    terminal.run("-m", "tui.cli", "demo")
    home = wait_for(lambda: demo_homes(terminal.scratch)[-1:], "a demo home")[0]  # type: ignore[index]
    wait_for(lambda: "Agents: 5" in terminal.screen(), "the demo's dashboard", 30)
    owner = json.loads((home / ".relayboard-demo").read_text())["owner"]
    return int(owner.split(":")[1]), home


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie (its parent, the terminal's shell, went with the terminal, and who
    reaps it then is up to the machine's init, not to Relayboard)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def test_closing_the_terminal_of_a_demo_leaves_nothing_behind(terminal: Terminal) -> None:
    pid, home = start_demo(terminal)
    assert demo_servers(terminal.scratch)
    terminal.close()
    try:
        wait_for(lambda: not demo_homes(terminal.scratch), "the demo home to be removed", 5)
    except AssertionError:
        log = (home / "relayboard.log").read_text() if (home / "relayboard.log").exists() else "(no log)"
        state = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}").exists() else "(gone)"
        raise AssertionError(f"home left; process {state}; log:\n{log[-3000:]}") from None
    wait_for(lambda: not demo_servers(terminal.scratch), "the demo's tmux server to be gone", 5)
    wait_for(lambda: gone(pid), "the demo process to exit", 5)
    assert not home.exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_demo_leaves_nothing_behind(terminal: Terminal, signum: int) -> None:
    pid, _ = start_demo(terminal)
    os.kill(pid, signum)
    wait_for(lambda: not demo_homes(terminal.scratch), "the demo home to be removed", 5)
    wait_for(lambda: not demo_servers(terminal.scratch), "the demo's tmux server to be gone", 5)
    wait_for(lambda: gone(pid), "the demo process to exit", 5)


def test_a_demo_killed_with_sigkill_is_cleaned_up_by_the_next_demo(terminal: Terminal, tmp_path: Path) -> None:
    pid, first_home = start_demo(terminal)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: gone(pid), "the kill")
    assert first_home.exists() and demo_servers(terminal.scratch)  # what SIGKILL leaves
    # Not a demo home (no marker): the next demo must not touch it, even with the demo's name.
    lookalike = terminal.scratch / "relayboard-demo-not-mine"
    lookalike.mkdir()
    terminal.tmux("kill-server")
    terminal.run("-m", "tui.cli", "demo")
    wait_for(lambda: "Agents: 5" in terminal.screen(), "the second demo's dashboard", 30)
    assert not first_home.exists()
    homes = demo_homes(terminal.scratch)
    assert lookalike in homes and len(homes) == 2  # the lookalike and the second demo's own
    assert len(demo_servers(terminal.scratch)) == 1  # only the second demo's
    second = next(h for h in homes if h != lookalike)
    os.kill(int(json.loads((second / ".relayboard-demo").read_text())["owner"].split(":")[1]), signal.SIGTERM)
    wait_for(lambda: demo_homes(terminal.scratch) == [lookalike], "the second demo to clean up", 5)


def test_the_tui_on_a_hang_up_leaves_managed_agents_running_and_the_database_whole(
    terminal: Terminal, tmp_path: Path, tmux_socket: str
) -> None:
    agents_socket = f"{tmux_socket}-agents"
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'tmux_socket = "{agents_socket}"\nclaude_home = "{tmp_path}/c"\ncodex_home = "{tmp_path}/x"\n'
    )
    try:
        launch = json.dumps({"name": "keeper", "preset": "shell", "cwd": str(tmp_path)})
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYBOARD_", "TMUX"))}
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "call", "app.agent.launch", launch, "--home", str(home)],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        terminal.run("-m", "tui.cli", "--home", str(home))
        wait_for(lambda: "Agents: 1" in terminal.screen(), "the TUI's dashboard", 30)
        holders = subprocess.run(["fuser", str(home / "relayboard.db")], capture_output=True, text=True)
        pids = [int(p) for p in holders.stdout.split()] if holders.returncode == 0 else []
        terminal.close()
        wait_for(lambda: all(gone(p) for p in pids), "the TUI to exit", 5)
        alive = subprocess.run(["tmux", "-L", agents_socket, "has-session", "-t", "=rb-keeper"], capture_output=True)
        assert alive.returncode == 0, "the managed agent's session must outlive the TUI"
        with sqlite3.connect(home / "relayboard.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT count(*) FROM agents WHERE name = 'keeper'").fetchone() == (1,)
    finally:
        kill_tmux_server("tmux", agents_socket)
