"""A real `relayboard headless` process on a temporary home, for tests that attach to it over its socket.

Homes live under /tmp with short names: a Unix socket path has at most 107 bytes, and pytest's tmp paths can be
longer. The home's config points tmux at the test's private socket and token logs at the home itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def short_home(tmux_socket: str, **settings: object) -> Path:
    home = Path(tempfile.mkdtemp(prefix="rb-", dir="/tmp"))
    lines = [f'tmux_socket = "{tmux_socket}"', f'claude_home = "{home / "claude"}"', f'codex_home = "{home / "codex"}"']
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    (home / "config.toml").write_text("\n".join(lines) + "\n")
    return home


@dataclass
class Headless:
    home: Path
    process: subprocess.Popen[str] | None = None
    stderr: list[str] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.home / "relayboard.sock"

    def start(self, timeout: float = 15.0) -> Headless:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYBOARD_", "TMUX"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "headless", "--home", str(self.home)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        line = self.process.stderr.readline()  # "relayboard headless: serving HOME on PATH (pid N)" once it answers
        self.stderr.append(line)
        if "serving" not in line:
            self.process.wait(timeout)
            raise AssertionError(f"relayboard headless did not start: {line}{self.process.stderr.read()}")
        deadline = time.monotonic() + timeout
        while not self.socket.is_socket():
            if time.monotonic() > deadline:
                raise AssertionError("no socket")
            time.sleep(0.02)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self, signum: int = signal.SIGKILL) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        code = self.process.wait(10)
        if self.process.stderr is not None:
            self.stderr.append(self.process.stderr.read())
        return code

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill(signal.SIGTERM)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
