"""Who holds a claim: this process, named so that a later start can tell whether the holder is still alive.

The name is `host:pid:start`, where start is the process's start time in clock ticks since boot (field 22 of
/proc/<pid>/stat): a pid reused by another process after a crash has another start time, so its claims are not
mistaken for live ones. Where /proc is missing (macOS) the start is 0 and a live pid counts as the holder.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), or None without /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing parenthesis.
    return stat[stat.rindex(")") + 2 :].split()


def _start_ticks(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[19]) if fields else 0


@functools.cache
def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def holder_is_gone(claimer: str) -> bool | None:
    """True when the claimer was a process on this host that no longer runs; None when it cannot be told (another
    host, or a name this code did not write)."""
    host, _, rest = claimer.partition(":")
    pid_text, _, start_text = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or not start_text.isdigit():
        return None
    pid, start = int(pid_text), int(start_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, owned by someone else
    fields = _stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return True  # exited, not yet reaped by its parent: it holds nothing any more
    return start != 0 and fields is not None and int(fields[19]) != start
