"""Drive a real CLI in a private tmux server (``tmux -L <socket>``): start, type, capture, wait, kill.

Used by the real-agent tests (`tests/agents/`) and by `tools/record_screens.py`. Plain subprocess calls, so it
has no dependency on the code under test. The server is started with the agent's environment (its global
environment is then exactly that) and killed — socket file included — by `close()` / the context manager.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

WIDTH, HEIGHT = 120, 40


class TmuxError(RuntimeError):
    pass


class WaitTimeout(AssertionError):
    """A screen condition was not met in time; the message carries the last capture."""


class TmuxDriver:
    def __init__(self, socket: str | None = None, *, prefix: str = "relayboard-rec") -> None:
        tmux = shutil.which("tmux")
        if tmux is None:
            raise TmuxError("tmux is not installed (on Debian: apt-get install tmux; `make tmux` does it)")
        self.tmux = tmux
        self.socket = socket or f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.sessions: list[str] = []

    # ---- plumbing
    def run(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=15, env=env, check=False
        )
        if check and proc.returncode != 0:
            raise TmuxError(f"tmux {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    # ---- lifecycle
    def start(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: dict[str, str],
        cwd: Path | str,
        width: int = WIDTH,
        height: int = HEIGHT,
    ) -> str:
        """Start `command` in a new detached session `name` (width x height) and return its target.

        The first session starts the server with `env` as its whole environment; every session also gets `env`
        with ``-e`` so later sessions see their own values. The pane stays after the command exits
        (``remain-on-exit``) so an exit can be observed."""
        args = ["new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), "-c", str(cwd)]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        args += ["--", *command]
        self.run(*args, env=env)
        self.sessions.append(name)
        self.run("set-option", "-t", name, "remain-on-exit", "on", check=False)
        return f"{name}:0.0"

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True, timeout=15, check=False)
        tmpdir = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        sock = tmpdir / self.socket
        if sock.is_socket():
            sock.unlink(missing_ok=True)

    def __enter__(self) -> TmuxDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- observe
    def capture(self, target: str, *, escapes: bool = False) -> str:
        args = ["capture-pane", "-p", "-t", target]
        if escapes:
            args.insert(2, "-e")
        return self.run(*args)

    def display(self, target: str, fmt: str) -> str:
        return self.run("display-message", "-p", "-t", target, fmt).rstrip("\n")

    def current_command(self, target: str) -> str:
        return self.display(target, "#{pane_current_command}")

    def pane_dead(self, target: str) -> bool:
        return self.display(target, "#{pane_dead}") == "1"

    def wait_for(
        self,
        target: str,
        predicate: Callable[[str], bool] | str | re.Pattern[str],
        *,
        timeout: float = 30.0,
        interval: float = 0.1,
        what: str = "",
    ) -> str:
        """Poll capture-pane until `predicate` (a callable, a substring, or a regex) holds; return that capture."""
        if isinstance(predicate, str):
            needle = predicate
            check: Callable[[str], bool] = lambda text: needle in text  # noqa: E731
            what = what or repr(needle)
        elif isinstance(predicate, re.Pattern):
            pattern = predicate
            check = lambda text: pattern.search(text) is not None  # noqa: E731
            what = what or f"/{pattern.pattern}/"
        else:
            check = predicate
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.capture(target)
            if check(screen):
                return screen
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"timed out after {timeout:.0f}s waiting for {what or 'screen'}; last screen:\n{screen}"
                )
            time.sleep(interval)

    # ---- act
    def send_text(self, target: str, text: str) -> None:
        """Type `text` literally (no key names interpreted)."""
        self.run("send-keys", "-t", target, "-l", "--", text)

    def send_keys(self, target: str, *keys: str) -> None:
        """Send tmux key names, e.g. "Enter", "Escape", "C-c"."""
        self.run("send-keys", "-t", target, *keys)
