"""Who holds a claim, and whether it is gone: the difference between "typed once" and "typed twice" after a crash.
Checked against the kernel's own view of processes (psutil), not against this module's parsing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from core.claimer import _start_ticks, holder_is_gone, this_process

HOST = socket.gethostname()
TICKS = os.sysconf("SC_CLK_TCK")


def kernel_start_ticks(pid: int) -> int:
    """Clock ticks since boot at which `pid` started, from psutil's create time (an independent reading)."""
    return round((psutil.Process(pid).create_time() - psutil.boot_time()) * TICKS)


def test_this_process_is_host_pid_and_start_time() -> None:
    host, pid, start = this_process().split(":")
    assert (host, int(pid)) == (HOST, os.getpid())
    assert abs(int(start) - kernel_start_ticks(os.getpid())) <= 1
    assert holder_is_gone(this_process()) is False


def test_start_ticks_survive_a_command_name_with_parentheses_and_spaces(tmp_path: Path) -> None:
    odd = tmp_path / "x) (y z"
    odd.symlink_to(shutil.which("sleep") or "/bin/sleep")
    child = subprocess.Popen([str(odd), "5"])
    try:
        time.sleep(0.1)
        assert Path(f"/proc/{child.pid}/stat").read_text().count(")") >= 2
        assert abs(_start_ticks(child.pid) - kernel_start_ticks(child.pid)) <= 1
        assert holder_is_gone(f"{HOST}:{child.pid}:{_start_ticks(child.pid)}") is False
    finally:
        child.kill()
        child.wait()


def test_an_exited_process_is_gone() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    assert holder_is_gone(f"{HOST}:{child.pid}:12345") is True


def test_a_zombie_is_gone() -> None:
    """Exited but not reaped (its parent has not waited, or it was reparented to an init that does not reap)."""
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 5
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    start = _start_ticks(child.pid)
    assert holder_is_gone(f"{HOST}:{child.pid}:{start}") is True
    child.wait()


def test_a_pid_reused_by_another_process_is_gone() -> None:
    """Same pid, another start time: not the process that took the claim."""
    pid, start = os.getpid(), _start_ticks(os.getpid())
    assert holder_is_gone(f"{HOST}:{pid}:{start + 1}") is True
    assert holder_is_gone(f"{HOST}:{pid}:{start}") is False
    assert holder_is_gone(f"{HOST}:{pid}:0") is False  # no start recorded (no /proc): a live pid holds it


@pytest.mark.parametrize(
    "claimer", [f"elsewhere-{HOST}:1:1", "no-colons", f"{HOST}:abc:1", f"{HOST}:1:abc", f"{HOST}:1", f"{HOST}:1:2:3"]
)
def test_claims_it_cannot_judge_are_left_alone(claimer: str) -> None:
    assert holder_is_gone(claimer) is None
