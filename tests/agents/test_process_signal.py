"""The process signal on live panes of a private tmux server (`-L relayboard-test-<uuid>`, killed after): what the
pane's foreground process group is blocked in says whether a person must answer where the screen cannot.

`read -p` and `read -s` → waiting (bash's `read` sits in read(0)); the shell's own prompt → idle (pselect6);
`sleep 30` and a quiet `python -c "import time; time.sleep(30)"` → working; a python REPL and `input()` → waiting;
a pager behind a pipe whose group leader has exited (`seq | less`) → waiting; a busy shell loop → working (CPU
between two looks). Then the watcher: a `read -s` that the screen reads as an idle shell is `waiting_for_input`
with the process's why, over the screen's."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.process_signal import ProcessReader, ProcessSignal, judge
from tests.fakes.tmux_driver import TmuxDriver

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the process signal reads /proc")


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[tuple[TmuxDriver, str, int]]:
    with TmuxDriver(prefix="relayboard-test") as tm:
        target = tm.start(
            "p",
            ["bash", "--norc", "--noprofile"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TERM": "xterm-256color", "PS1": "$ "},
            cwd=tmp_path,
        )
        tm.wait_for(target, "$", what="the shell prompt")
        yield tm, target, int(tm.display(target, "#{pane_pid}"))


def look(pane: tuple[TmuxDriver, str, int], line: str, *, gap: float = 0.6) -> ProcessSignal:
    """Type `line`, let it settle, and judge two looks `gap` apart (the second knows the CPU used between)."""
    tm, target, pid = pane
    if line:
        tm.run("send-keys", "-t", target, "-l", line)
        tm.run("send-keys", "-t", target, "Enter")
    reader = ProcessReader()
    deadline = time.monotonic() + 10
    while True:  # until the command is in the foreground (tmux starts it a moment after Enter)
        time.sleep(0.3)
        first = reader.observe(pid, time.monotonic())
        settled = line == "" or any(not m.shell for m in first.members) or "read" in line
        if settled or time.monotonic() > deadline:
            break
    time.sleep(gap)
    return judge(reader.observe(pid, time.monotonic()))


def test_the_shell_at_its_prompt_is_idle(pane: tuple[TmuxDriver, str, int]) -> None:
    signal = look(pane, "")
    assert (signal.state, signal.why) == ("idle", "bash waits at its prompt (pselect6)")


@pytest.mark.parametrize(
    ("line", "who"),
    [
        ("read -p 'Continue? [y/N] ' answer", "bash"),
        ("read -s secret", "bash"),
        (f"{sys.executable} -c 'input(\"name? \")'", "python"),
        (f"{sys.executable} -q", "python"),  # the REPL: readline waits in pselect6 on fd 0 alone
        ("seq 1 500 | less", "less"),  # seq, the group's leader, has exited: less reads /dev/tty on fd 3
    ],
)
def test_a_process_reading_the_terminal_waits_for_a_person(
    pane: tuple[TmuxDriver, str, int], line: str, who: str
) -> None:
    signal = look(pane, line)
    assert signal.state == "waiting_for_input", signal
    assert who in signal.why and "reading the terminal" in signal.why
    assert signal.confidence > 0.8


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("sleep 30", "sleep is sleeping (a timed wait)"),
        (f"{sys.executable} -c 'import time; time.sleep(30)'", "is sleeping (a timed wait)"),
    ],
)
def test_a_quiet_command_is_working(pane: tuple[TmuxDriver, str, int], line: str, why: str) -> None:
    signal = look(pane, line)
    assert signal.state == "working" and why in signal.why, signal


def test_a_busy_loop_in_the_shell_itself_is_working_by_its_cpu_time(pane: tuple[TmuxDriver, str, int]) -> None:
    signal = look(pane, "while :; do :; done", gap=1.0)
    assert signal.state == "working", signal
    assert signal.why.startswith("bash used ") and "% CPU since the last look" in signal.why


# -- bad input: a fake /proc ----------------------------------------------------------------------------------
def stat_line(pid: int, comm: str, state: str, pgrp: int, tpgid: int, cpu: int = 0) -> str:
    # pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime ...
    return f"{pid} ({comm}) {state} 1 {pgrp} {pgrp} 34816 {tpgid} 0 0 0 0 0 {cpu} 0 0 0 20 0 1 0\n"


def fake_proc(root: Path, pid: int, comm: str, state: str, *, tpgid: int, pgrp: int | None = None) -> Path:
    (root / "self").mkdir(parents=True, exist_ok=True)
    proc = root / str(pid)
    (proc / "task" / str(pid)).mkdir(parents=True)
    (proc / "fd").mkdir()
    (proc / "stat").write_text(stat_line(pid, comm, state, pgrp or pid, tpgid))
    (proc / "syscall").write_text("0 0x0 0x5555 0x1000 0x0 0x0 0x0 0x7ffd 0x7f00\n")
    (proc / "wchan").write_text("wait_woken")
    (proc / "task" / str(pid) / "children").write_text("")
    (proc / "fd" / "0").symlink_to("/dev/pts/7")
    return proc


def test_a_pid_that_exited_between_the_scan_and_the_read_is_unknown_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    signal = judge(ProcessReader(root=tmp_path).observe(4242, 1.0))
    assert signal.state == "unknown" and "process 4242 is gone or hidden" in signal.why


def test_hidepid_hides_the_group_members_and_the_signal_is_unknown(tmp_path: Path) -> None:
    fake_proc(tmp_path, 100, "bash", "S", tpgid=200)  # the job's processes (pgrp 200) are not visible to us
    signal = judge(ProcessReader(root=tmp_path).observe(100, 1.0))
    assert signal.state == "unknown" and "no process of the foreground group 200 is visible" in signal.why


def test_a_zombie_in_the_foreground_is_unknown(tmp_path: Path) -> None:
    fake_proc(tmp_path, 100, "bash", "S", tpgid=300, pgrp=100)
    fake_proc(tmp_path, 300, "defunct thing", "Z", tpgid=300)
    (tmp_path / "100" / "task" / "100" / "children").write_text("300 ")
    signal = judge(ProcessReader(root=tmp_path).observe(100, 1.0))
    assert (signal.state, signal.why) == ("unknown", "the foreground process is a zombie")


def test_another_users_process_is_unknown_not_an_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_proc(tmp_path, 100, "bash", "S", tpgid=100)
    original = ProcessReader._text

    def refuse(self: ProcessReader, relative: str) -> str:  # what a normal user gets (root reads anything)
        if relative == "100/stat":
            raise PermissionError(13, "Permission denied")
        return original(self, relative)

    monkeypatch.setattr(ProcessReader, "_text", refuse)
    signal = judge(ProcessReader(root=tmp_path).observe(100, 1.0))
    assert signal.state == "unknown" and "not readable (another user's process)" in signal.why


def test_a_group_of_several_processes_is_read_through_and_the_reader_decides(tmp_path: Path) -> None:
    # `man ls`: man waits for its child (wait4), the pager reads the terminal on fd 3: a person must answer.
    fake_proc(tmp_path, 100, "bash", "S", tpgid=300, pgrp=100)
    man = fake_proc(tmp_path, 300, "man", "S", tpgid=300)
    man.joinpath("syscall").write_text("61 0xffffffff 0x7ffe 0x0 0x0 0x0 0x3 0x7ffe 0x7f00\n")
    man.joinpath("wchan").write_text("do_wait")
    pager = fake_proc(tmp_path, 301, "pager", "S", tpgid=300, pgrp=300)
    pager.joinpath("syscall").write_text("0 0x3 0x7ffe 0x1 0x0 0x0 0x0 0x7ffe 0x7f00\n")
    pager.joinpath("fd", "3").symlink_to("/dev/tty")
    pager.joinpath("fd", "0").unlink()
    pager.joinpath("fd", "0").symlink_to("pipe:[1234]")
    (tmp_path / "100" / "task" / "100" / "children").write_text("300")
    (tmp_path / "300" / "task" / "300" / "children").write_text("301")
    signal = judge(ProcessReader(root=tmp_path).observe(100, 1.0))
    assert (signal.state, signal.why) == ("waiting_for_input", "pager is reading the terminal (read)")


def test_without_proc_the_other_signals_decide_and_the_why_says_so(tmp_path: Path) -> None:
    signal = judge(ProcessReader(root=tmp_path / "nothing").observe(100, 1.0))
    assert signal == ProcessSignal("unknown", 0.0, "no /proc on this system: the screen alone decides")


def test_an_unreadable_syscall_falls_back_to_wchan(tmp_path: Path) -> None:
    # /proc/<pid>/syscall needs ptrace access (Yama), wchan does not: a terminal read is still seen.
    proc = fake_proc(tmp_path, 100, "bash", "S", tpgid=100)
    proc.joinpath("syscall").unlink()
    signal = judge(ProcessReader(root=tmp_path).observe(100, 1.0))
    assert (signal.state, signal.why) == ("waiting_for_input", "bash is reading the terminal (wait_woken)")
