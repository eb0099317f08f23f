"""tmux through libtmux, always off the event loop (`asyncio.to_thread`).

Discovery is one `list-panes -a` call with a format string per refresh, never one subprocess per pane, and
concurrent scan requests join the scan already in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# Imported eagerly on purpose: libtmux reads sys.stdout.encoding at import, which fails once Textual has
# replaced stdout (a lazy import inside the running TUI crashes).
import libtmux
from libtmux import exc as tmux_exc

from core.clock import Clock, stamp
from core.errors import BenchError
from storage.models import Model, Pane

log = logging.getLogger(__name__)
_FIELDS = (
    "pane_id",
    "session_name",
    "window_index",
    "pane_index",
    "pane_pid",
    "pane_current_command",
    "pane_current_path",
    "pane_width",
    "pane_height",
    "pane_dead",
    "pane_pipe",
    "window_activity",
)
_SEP = "\x1f"  # unit separator: cannot appear in session names or paths typed by people
PANE_FORMAT = _SEP.join(f"#{{{name}}}" for name in _FIELDS)
ScanFn = Callable[[], Awaitable[int]]
SEND_KEYS_LIMIT = 2048  # characters typed with send-keys -l; longer text is pasted


def literal_arg(text: str) -> str:
    """`text` as one argument of a tmux command sequence: tmux reads an argument ending in `;` as the end of the
    command (and drops the `;`), unless it ends in `\\;`. Without this, `ls;` was typed as `ls`."""
    return text[:-1] + "\\;" if text.endswith(";") else text


@dataclass(frozen=True)
class ServerProbe:
    binary: str | None
    alive: bool
    error: str = ""


class TmuxAdapter:
    def __init__(self, socket_name: str | None, binary: str = "tmux") -> None:
        self.socket_name = socket_name
        self.binary = binary

    @property
    def socket_label(self) -> str:
        """How panes of this server are keyed in storage."""
        return self.socket_name or "default"

    def _server(self) -> libtmux.Server:
        path = shutil.which(self.binary)
        if path is None:
            raise BenchError("tmux_unavailable", "tmux is not installed or not on PATH")
        return libtmux.Server(socket_name=self.socket_name, tmux_bin=path)

    def _probe(self) -> ServerProbe:
        path = shutil.which(self.binary)
        if path is None:
            return ServerProbe(None, False)
        try:
            result = libtmux.Server(socket_name=self.socket_name, tmux_bin=path).cmd("list-sessions")
        except (tmux_exc.LibTmuxException, OSError) as exc:
            return ServerProbe(path, False, type(exc).__name__)
        return ServerProbe(path, result.returncode == 0)

    async def probe(self) -> ServerProbe:
        return await asyncio.to_thread(self._probe)

    def _list_panes(self, now: str) -> list[Pane]:
        server = self._server()
        result = server.cmd("list-panes", "-a", "-F", PANE_FORMAT)
        if result.returncode != 0:
            raise BenchError("tmux_unavailable", f"no tmux server is running on socket {self.socket_label!r}")
        panes = []
        for line in result.stdout:
            parts = line.split(_SEP)
            if len(parts) != len(_FIELDS):
                continue
            values = dict(zip(_FIELDS, parts, strict=True))
            panes.append(
                Pane(
                    socket=self.socket_label,
                    pane_id=values["pane_id"],
                    session_name=values["session_name"],
                    window_index=int(values["window_index"]),
                    pane_index=int(values["pane_index"]),
                    pid=int(values["pane_pid"]) if values["pane_pid"].isdigit() else None,
                    current_command=values["pane_current_command"],
                    cwd=values["pane_current_path"],
                    width=int(values["pane_width"] or 0),
                    height=int(values["pane_height"] or 0),
                    alive=values["pane_dead"] != "1",
                    pipe_open=values["pane_pipe"] == "1",
                    activity=int(values["window_activity"] or 0),
                    first_seen=now,
                    last_seen=now,
                )
            )
        return panes

    async def list_panes(self, now: str) -> list[Pane]:
        return await asyncio.to_thread(self._list_panes, now)

    def _new_session(self, name: str, command: str | None, cwd: str | None, env: dict[str, str]) -> str:
        # One tmux invocation that creates the session and sets remain-on-exit on its window before tmux gets to
        # the child's exit: a command that exits at once leaves a dead pane to be seen (state exited), instead of
        # a session that vanished before anyone could read its pane id.
        args = ["new-session", "-d", "-P", "-F", "#{pane_id}", "-s", name, "-x", "200", "-y", "50"]
        if cwd:
            args += ["-c", cwd]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        if command:
            args.append(command)
        args += [";", "set-option", "-w", "-t", f"={name}:", "remain-on-exit", "on"]
        out = self._run(*args)
        if not out or not out[0].startswith("%"):
            raise BenchError("tmux_unavailable", f"tmux did not report the pane of the new session {name}")
        return out[0]

    async def new_session(
        self, name: str, command: str | None = None, cwd: str | None = None, env: dict[str, str] | None = None
    ) -> str:
        """Start a detached session (its window keeps a pane whose process exited); returns its first pane id."""
        return await asyncio.to_thread(self._new_session, name, command, cwd, env or {})

    async def has_session(self, name: str) -> bool:
        def has() -> bool:
            try:
                return self._server().cmd("has-session", "-t", f"={name}").returncode == 0
            except (tmux_exc.LibTmuxException, OSError):
                return False

        return await asyncio.to_thread(has)

    def _split(self, session_name: str, command: str | None, cwd: str | None) -> str:
        server = self._server()
        result = server.cmd(
            "split-window",
            "-d",
            "-P",
            "-F",
            "#{pane_id}",
            "-t",
            f"={session_name}:",
            *(["-c", cwd] if cwd else []),
            *([command] if command else []),
        )
        if result.returncode != 0:
            raise BenchError("tmux_unavailable", f"could not split a pane in session {session_name!r}")
        return result.stdout[0] if result.stdout else ""

    async def split(self, session_name: str, command: str | None = None, cwd: str | None = None) -> str:
        """Add a pane to the first window of a session; returns its pane id."""
        return await asyncio.to_thread(self._split, session_name, command, cwd)

    def _run(self, *args: str) -> list[str]:
        """One tmux invocation (several commands may be chained with ";" arguments); stdout lines."""
        result = self._server().cmd(*args)
        if result.returncode != 0:
            detail = " ".join(result.stderr).strip() or "tmux command failed"
            raise BenchError("tmux_unavailable", f"tmux: {detail}")
        return list(result.stdout)

    def _capture_many(self, pane_ids: list[str], lines: int, escapes: bool = False) -> dict[str, str]:
        # All panes in one tmux process: a marker line before each capture splits the output again.
        marker = f"\x1e{uuid.uuid4().hex}"
        args: list[str] = []
        for pane_id in pane_ids:
            args += ["display-message", "-p", "-t", pane_id, f"{marker} #{{pane_id}}", ";"]
            args += ["capture-pane", "-p", "-J", *(["-e"] if escapes else []), "-t", pane_id, "-S", f"-{lines}", ";"]
        screens: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in self._run(*args[:-1]):
            if line.startswith(marker):
                current = screens.setdefault(line[len(marker) + 1 :], [])
            elif current is not None:
                current.append(line)
        return {pane_id: "\n".join(body).rstrip() for pane_id, body in screens.items()}

    def _capture_each(self, pane_ids: list[str], lines: int, escapes: bool = False) -> dict[str, str]:
        # tmux stops a command sequence at its first failure, so one pane that vanished since the scan would
        # cost every capture of the batch: on failure, capture pane by pane and leave out the missing ones.
        try:
            return self._capture_many(pane_ids, lines, escapes)
        except BenchError:
            if len(pane_ids) == 1:
                raise
        screens: dict[str, str] = {}
        for pane_id in pane_ids:
            with contextlib.suppress(BenchError):
                screens |= self._capture_many([pane_id], lines, escapes)
        return screens

    async def capture_many(self, pane_ids: list[str], lines: int = 40) -> dict[str, str]:
        """The last `lines` lines of each pane (wrapped lines joined), by pane id; panes that are gone are left
        out."""
        if not pane_ids:
            return {}
        return await asyncio.to_thread(self._capture_each, pane_ids, lines)

    async def capture(self, pane_id: str, lines: int = 40, *, escapes: bool = False) -> str:
        """One pane's screen (with SGR escapes when asked); `pane_not_found` when tmux no longer has it."""
        try:
            return (await asyncio.to_thread(self._capture_each, [pane_id], lines, escapes))[pane_id]
        except (BenchError, KeyError):
            if not (await self.probe()).alive:
                raise BenchError("tmux_unavailable", f"no tmux server on socket {self.socket_label!r}") from None
            raise BenchError("pane_not_found", f"pane {pane_id} is gone", details={"pane_id": pane_id}) from None

    def _send_text(self, pane_id: str, text: str, submit: bool, enter_after: float = 0.0) -> None:
        if submit and enter_after > 0:
            self._send_text(pane_id, text, False)
            time.sleep(enter_after)  # in a worker thread (send_text), never on the event loop
            self._run("send-keys", "-t", pane_id, "Enter")
            return
        enter = [";", "send-keys", "-t", pane_id, "Enter"] if submit else []
        if "\n" not in text and len(text) <= SEND_KEYS_LIMIT:
            self._run("send-keys", "-t", pane_id, "-l", "--", literal_arg(text), *enter)
            return
        # Long or multi-line text goes through a paste buffer loaded from a private file: tmux refuses commands
        # longer than about 16 KiB, and a bracketed paste keeps a multi-line prompt from being submitted line by
        # line.
        buffer = f"relayboard-{uuid.uuid4().hex[:8]}"
        fd, name = tempfile.mkstemp(prefix="relayboard-paste-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            self._run(
                "load-buffer", "-b", buffer, name, ";", "paste-buffer", "-p", "-d", "-b", buffer, "-t", pane_id, *enter
            )
        finally:
            os.unlink(name)

    async def send_text(self, pane_id: str, text: str, submit: bool, enter_after: float = 0.0) -> None:
        """Type `text` into a pane (then Enter when `submit`, `enter_after` seconds later when given): short single
        lines literally with send-keys, the rest as one bracketed paste."""
        await asyncio.to_thread(self._send_text, pane_id, text, submit, enter_after)

    def _send_keys(self, pane_id: str, strokes: list[list[str]]) -> None:
        args: list[str] = []
        for stroke in strokes:
            args += ["send-keys", "-t", pane_id, *stroke, ";"]
        self._run(*args[:-1])

    async def send_keys(self, pane_id: str, strokes: list[list[str]]) -> None:
        """Press keys in a pane, in one tmux client: each stroke is send-keys arguments (a key name, or `-l -- x`)."""
        await asyncio.to_thread(self._send_keys, pane_id, strokes)

    async def pipe_pane(self, pane_id: str, shell_command: str | None) -> None:
        """Pipe the pane's output into `shell_command`, replacing any pipe it had; None closes the pipe. (Not
        `-o`: that flag toggles, so a second attach would switch logging off.)"""
        if shell_command:
            await asyncio.to_thread(
                self._run, "pipe-pane", "-t", pane_id, ";", "pipe-pane", "-t", pane_id, shell_command
            )
        else:
            await asyncio.to_thread(self._run, "pipe-pane", "-t", pane_id)

    async def respawn(self, pane_id: str, command: str, cwd: str | None, env: dict[str, str]) -> None:
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        cwd_args = ["-c", cwd] if cwd else []
        await asyncio.to_thread(self._run, "respawn-pane", "-k", "-t", pane_id, *cwd_args, *env_args, command)

    async def kill_session(self, session_name: str) -> None:
        await asyncio.to_thread(self._run, "kill-session", "-t", f"={session_name}")

    async def kill_pane(self, pane_id: str) -> None:
        await asyncio.to_thread(self._run, "kill-pane", "-t", pane_id)

    async def keep_exited_panes(self, session_name: str) -> None:
        """remain-on-exit: an agent that exits leaves a dead pane behind, so its exit is seen, not lost."""
        await asyncio.to_thread(self._run, "set-option", "-w", "-t", f"={session_name}:", "remain-on-exit", "on")

    async def switch_client(self, pane_id: str) -> None:
        await asyncio.to_thread(self._run, "switch-client", "-t", pane_id)

    def kill_server_now(self) -> None:
        """Kill this socket's server if one runs, and remove the socket file tmux leaves behind."""
        try:
            server = self._server()
            if server.is_alive():
                server.kill()
        except (BenchError, tmux_exc.LibTmuxException, OSError):
            pass
        path = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / self.socket_label
        if self.socket_name and path.is_socket():
            path.unlink(missing_ok=True)

    async def kill_server(self) -> None:
        await asyncio.to_thread(self.kill_server_now)


class ScanStatus(Model):
    scan_id: str
    state: Literal["running", "done", "failed"]
    started_at: str
    finished_at: str | None = None
    panes_found: int = 0
    error: str = ""


@dataclass
class _Scan:
    status: ScanStatus
    task: asyncio.Task[ScanStatus] | None = None


class PaneScanner:
    """Coalesces scan requests: while one scan runs, new requests get its id instead of a second scan."""

    HISTORY = 32

    def __init__(self, run_scan: ScanFn, clock: Clock) -> None:
        self._run_scan = run_scan
        self._clock = clock
        self._current: _Scan | None = None
        self._history: dict[str, ScanStatus] = {}

    def status(self, scan_id: str) -> ScanStatus:
        if self._current and self._current.status.scan_id == scan_id:
            return self._current.status
        if scan_id in self._history:
            return self._history[scan_id]
        raise BenchError("scan_not_found", f"no scan with id {scan_id}", details={"scan_id": scan_id})

    async def request(self, wait: bool, wait_seconds: float = 10.0) -> ScanStatus:
        if self._current is None:
            status = ScanStatus(scan_id=uuid.uuid4().hex[:12], state="running", started_at=stamp(self._clock.now()))
            scan = _Scan(status)
            scan.task = asyncio.create_task(self._execute(scan))
            self._current = scan
        scan = self._current
        if not wait or scan.task is None:
            return scan.status
        try:
            return await asyncio.wait_for(asyncio.shield(scan.task), wait_seconds)
        except TimeoutError:
            raise BenchError(
                "scan_timeout", "the pane scan did not finish in time", details={"scan_id": scan.status.scan_id}
            ) from None

    async def _execute(self, scan: _Scan) -> ScanStatus:
        """Any failure ends this scan as `failed` (a storage error too, not only tmux's): the scan in flight is
        always cleared, so the next request runs a new scan instead of joining a dead one for good."""
        try:
            found = await self._run_scan()
            final = scan.status.model_copy(
                update={"state": "done", "panes_found": found, "finished_at": stamp(self._clock.now())}
            )
        except Exception as exc:
            if not isinstance(exc, BenchError):
                log.warning("pane scan failed", exc_info=True)
            error = exc.message if isinstance(exc, BenchError) else f"the scan failed ({type(exc).__name__})"
            final = scan.status.model_copy(
                update={"state": "failed", "error": error, "finished_at": stamp(self._clock.now())}
            )
        except BaseException:
            self._current = None  # cancelled: the next request starts afresh
            raise
        scan.status = final
        self._history[final.scan_id] = final
        while len(self._history) > self.HISTORY:
            self._history.pop(next(iter(self._history)))
        self._current = None
        return final
