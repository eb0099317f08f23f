"""The process signal: what the pane's foreground process group is doing, read from /proc (Linux).

A pane's screen can look the same whether a person must answer or a program is thinking: `read -s` shows nothing,
a REPL's `>>>` and a quiet script's last line look alike. The kernel knows. For the terminal's foreground process
group (`tpgid` in the shell's `/proc/<pid>/stat`) we read, per member, `stat` (state, CPU time), `syscall` (what
it is blocked in, with its arguments) and `wchan`, and where fd 0 points:

- blocked in `read` on a terminal (bash's `read`, `select`, `input()`, `cat`, a pager's keys) → a person must
  answer; the shell itself at its own prompt waits in `pselect6` on fd 0 alone → idle;
- `pselect6`/`select` on fd 0 alone by another program (a REPL with readline, vim) → a person must answer;
- CPU time used since the previous look → working; asleep in `nanosleep`/`wait4` → working, quietly;
- anything else (an event loop in `epoll_wait`, `poll` on unknown descriptors) → unknown, with what it is in.

Reading is split from judging: `observe` reads /proc into an `Observation` (plain data, recorded with the screen
corpus), `judge` turns one into a `ProcessSignal` and never touches the system. A pid that exited between the scan
and the read, a process of another user, a zombie, hidepid, no /proc at all: `unknown` with the reason, never an
exception.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from storage.models import AgentState

PROC = Path("/proc")
MAX_MEMBERS = 32  # a foreground job is a few processes; a fork bomb in a pane is not read in full every tick
BUSY_CPU_FRACTION = 0.05  # CPU time over 5 % of the time between two looks: the process group is working

# Syscall numbers differ by architecture; the names are what the judge reads.
_SYSCALLS: dict[str, dict[int, str]] = {
    "x86_64": {
        0: "read", 7: "poll", 23: "select", 35: "nanosleep", 61: "wait4", 202: "futex", 230: "clock_nanosleep",
        232: "epoll_wait", 247: "waitid", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait", 441: "epoll_pwait2",
    },
    "aarch64": {
        22: "epoll_pwait", 63: "read", 72: "pselect6", 73: "ppoll", 95: "waitid", 98: "futex", 101: "nanosleep",
        115: "clock_nanosleep", 260: "wait4", 441: "epoll_pwait2",
    },
}  # fmt: skip
SLEEPS = frozenset({"nanosleep", "clock_nanosleep"})
WAITS_FOR_CHILD = frozenset({"wait4", "waitid"})
# Where a task sleeps when its syscall cannot be read (another user's process, no ptrace access): the kernel
# function names of a terminal read and of a timed sleep, which need no privileges to read.
TTY_READ_WCHANS = frozenset({"wait_woken", "n_tty_read"})
SLEEP_WCHANS = frozenset({"hrtimer_nanosleep", "do_nanosleep"})
CHILD_WCHANS = frozenset({"do_wait", "kernel_wait4"})


@dataclass(frozen=True)
class Member:
    """One process of the foreground group as /proc showed it."""

    pid: int
    comm: str
    state: str  # stat's state letter: R running, S sleeping, D disk, T stopped, Z zombie, ...
    cpu_ticks: int  # utime + stime, in clock ticks
    syscall: str = ""  # the syscall's name, "running", "?<number>" for one not in the table, "" unreadable
    arg0: int | None = None  # its first argument (read: the fd; pselect6/select: nfds)
    wchan: str = ""
    tty: bool = False  # the fd it reads (read: its fd; anything else: fd 0) is a terminal
    shell: bool = False  # this is the pane's own process (the shell tmux started)


@dataclass(frozen=True)
class Observation:
    """The foreground process group of one pane, or why it could not be read (`problem`)."""

    members: tuple[Member, ...] = ()
    cpu_seconds: float | None = None  # CPU the members used since the previous look (None: no previous look)
    interval: float | None = None  # seconds since that look
    problem: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Observation:
        members = tuple(Member(**m) for m in data.get("members", ()))
        return cls(members, data.get("cpu_seconds"), data.get("interval"), data.get("problem", ""))


@dataclass(frozen=True)
class ProcessSignal:
    state: AgentState
    confidence: float
    why: str


# How sure each finding is, against the screen rules' confidences (agent_rules.toml): a process blocked reading the
# terminal outranks every fallback rule ("quiet", "shell prompt") but not a recognised dialog, which agrees anyway.
READS_TERMINAL = 0.85
SHELL_AT_PROMPT = 0.6
BUSY = 0.65
ASLEEP = 0.55


def judge(seen: Observation) -> ProcessSignal:
    if seen.problem:
        return ProcessSignal("unknown", 0.0, seen.problem)
    live = [m for m in seen.members if m.state != "Z"]
    if not live:
        return ProcessSignal("unknown", 0.0, "the foreground process is a zombie" if seen.members else "no process")
    for member in live:
        if member.state == "T":
            continue  # stopped (^Z, a debugger): it reads nothing
        if _reads_terminal(member):
            if member.shell and member.syscall in {"pselect6", "select"}:
                return ProcessSignal("idle", SHELL_AT_PROMPT, f"{member.comm} waits at its prompt ({member.syscall})")
            how = member.syscall or member.wchan
            return ProcessSignal("waiting_for_input", READS_TERMINAL, f"{member.comm} is reading the terminal ({how})")
    if seen.cpu_seconds is not None and seen.interval and seen.cpu_seconds > BUSY_CPU_FRACTION * seen.interval:
        share = round(100 * seen.cpu_seconds / seen.interval)
        return ProcessSignal("working", BUSY, f"{_names(live)} used {share} % CPU since the last look")
    if any(m.state in {"R", "D"} for m in live):
        return ProcessSignal("working", BUSY, f"{_names(live)} is running")
    for member in live:
        if member.syscall in SLEEPS or (not member.syscall and member.wchan in SLEEP_WCHANS):
            return ProcessSignal("working", ASLEEP, f"{member.comm} is sleeping (a timed wait)")
        waits = member.syscall in WAITS_FOR_CHILD or (not member.syscall and member.wchan in CHILD_WCHANS)
        if waits and not member.shell:
            return ProcessSignal("working", ASLEEP, f"{member.comm} waits for a child process")
    first = live[0]
    if all(m.state == "T" for m in live):
        return ProcessSignal("unknown", 0.0, f"{first.comm} is stopped")
    blocked = first.syscall or (f"wchan {first.wchan}" if first.wchan else "an unreadable syscall")
    return ProcessSignal("unknown", 0.0, f"{first.comm} is blocked in {blocked}: that alone does not say")


def _reads_terminal(member: Member) -> bool:
    if not member.tty:
        return False
    if member.syscall == "read":
        return True
    if member.syscall in {"pselect6", "select"}:
        return member.arg0 == 1  # nfds 1: fd 0 and nothing else
    return not member.syscall and member.wchan in TTY_READ_WCHANS


def _names(members: list[Member]) -> str:
    names = list(dict.fromkeys(m.comm for m in members))
    return ", ".join(names[:3]) + (" …" if len(names) > 3 else "")


@dataclass
class ProcessReader:
    """Reads observations, remembering each group's CPU time so the next look can say how much it used."""

    root: Path = PROC
    machine: str = field(default_factory=platform.machine)
    clock_ticks: int = field(default_factory=lambda: os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
    _last: dict[int, tuple[int, float]] = field(default_factory=dict)  # pane pid -> (cpu ticks, monotonic)

    def observe(self, pane_pid: int | None, now: float) -> Observation:
        if pane_pid is None:
            return Observation(problem="tmux gave no pid for the pane")
        if not os.path.exists(f"{self.root}/self"):
            return Observation(problem="no /proc on this system: the screen alone decides")
        try:
            members = self._members(pane_pid)
        except _Unreadable as exc:
            self._last.pop(pane_pid, None)
            return Observation(problem=str(exc))
        ticks = sum(m.cpu_ticks for m in members)
        before = self._last.get(pane_pid)
        self._last[pane_pid] = (ticks, now)
        if before is None or ticks < before[0]:
            return Observation(members)
        return Observation(members, (ticks - before[0]) / self.clock_ticks, now - before[1])

    def forget(self, keep: set[int]) -> None:
        for pid in set(self._last) - keep:
            del self._last[pid]

    # -- reading ---------------------------------------------------------------------------------------------
    def _members(self, pane_pid: int) -> tuple[Member, ...]:
        shell = self._stat(pane_pid)
        if shell is None:
            raise _Unreadable(f"process {pane_pid} is gone or hidden (exited, or /proc mounted with hidepid)")
        tpgid = int(shell[6]) if len(shell) > 6 and shell[6].lstrip("-").isdigit() else -1
        if tpgid <= 0:
            raise _Unreadable(f"process {pane_pid} has no terminal foreground group")
        if tpgid == pane_pid:  # the shell itself has the terminal (its prompt, `read`, a loop): one member
            return (self._member(pane_pid, shell, True),)
        # The group's leader may have exited (`seq 1 100 | less`: seq is the leader, less lives on): the members
        # are the pane's descendants in that group.
        found: list[Member] = []
        queue = [pane_pid]
        seen: set[int] = set()
        while queue and len(found) < MAX_MEMBERS and len(seen) < 4 * MAX_MEMBERS:
            pid = queue.pop(0)
            if pid in seen:
                continue
            seen.add(pid)
            fields = shell if pid == pane_pid else self._stat(pid)
            if fields is None:
                continue  # exited between the children list and now
            if len(fields) > 3 and fields[3] == str(tpgid):
                found.append(self._member(pid, fields, pid == pane_pid))
            queue.extend(self._children(pid))
        if not found:
            raise _Unreadable(f"no process of the foreground group {tpgid} is visible")
        return tuple(found)

    def _stat(self, pid: int) -> list[str] | None:
        """/proc/<pid>/stat's fields from comm on: 0 comm, 1 state, 2 ppid, 3 pgrp, 4 session, 5 tty_nr, 6 tpgid,
        12 utime, 13 stime (comm is cut out by its parentheses: it may hold spaces and parentheses itself)."""
        try:
            raw = self._text(f"{pid}/stat")
        except PermissionError:
            raise _Unreadable(f"process {pid} is not readable (another user's process)") from None
        except OSError:
            return None
        open_at, close_at = raw.find("("), raw.rfind(")")
        if open_at < 0 or close_at < open_at:
            return None
        rest = raw[close_at + 2 :].split()
        comm = raw[open_at + 1 : close_at]
        return [comm, *rest]

    def _member(self, pid: int, fields: list[str], shell: bool) -> Member:
        state = fields[1] if len(fields) > 1 else "?"
        times = fields[12:14]
        cpu = sum(int(t) for t in times) if len(times) == 2 and all(t.isdigit() for t in times) else 0
        syscall, arg0 = self._syscall(pid)
        # A pager reads /dev/tty on a descriptor of its own (less: fd 3), not fd 0 (the pipe it pages).
        fd = arg0 if syscall == "read" and arg0 is not None and arg0 < 1 << 20 else 0
        return Member(
            pid=pid,
            comm=fields[0],
            state=state,
            cpu_ticks=cpu,
            syscall=syscall,
            arg0=arg0,
            wchan="" if syscall else self._read(pid, "wchan"),  # only needed when the syscall is unreadable
            tty=self._is_tty(pid, fd),
            shell=shell,
        )

    def _syscall(self, pid: int) -> tuple[str, int | None]:
        parts = self._read(pid, "syscall").split()
        if not parts:
            return "", None
        if parts[0] == "running":
            return "running", None
        if not parts[0].lstrip("-").isdigit():
            return "", None
        number = int(parts[0])
        name = _SYSCALLS.get(self.machine, {}).get(number, f"?{number}")
        arg0 = int(parts[1], 16) if len(parts) > 1 and parts[1].startswith("0x") else None
        return name, arg0

    def _text(self, relative: str) -> str:
        # os-level reads of string paths: this runs for every pane in doubt on every tick (pathlib cost 3x more).
        fd = os.open(f"{self.root}/{relative}", os.O_RDONLY)
        try:
            return os.read(fd, 4096).decode(errors="replace")
        finally:
            os.close(fd)

    def _read(self, pid: int, name: str) -> str:
        try:
            return self._text(f"{pid}/{name}").strip()
        except OSError:  # gone, or not ours to read (syscall needs ptrace access): the judge works without it
            return ""

    def _is_tty(self, pid: int, fd: int) -> bool:
        try:
            target = os.readlink(f"{self.root}/{pid}/fd/{fd}")
        except OSError:
            return False
        return target.startswith(("/dev/pts/", "/dev/tty"))

    def _children(self, pid: int) -> list[int]:
        try:
            text = self._text(f"{pid}/task/{pid}/children")
        except OSError:
            return []
        return [int(part) for part in text.split() if part.isdigit()]


class _Unreadable(Exception):
    pass
