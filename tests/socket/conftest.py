"""Fixtures for the socket conformance suite: real `relayboard headless` processes on short private homes, and a
raw NDJSON client that speaks bytes over AF_UNIX (no project client code on the test side).

Homes live in `/tmp/rb-*` (a Unix socket path is at most 107 bytes; pytest's tmp_path is too long), each with a
config.toml pointing tmux at a private socket name and the token sources into the home. Everything a fixture
starts is stopped, every tmux server killed and every home removed at teardown.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import kill_tmux_server

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
NOBODY = 65534
SERVING = "relayboard headless: serving"
_UNSET: Any = object()


# -- the raw client ----------------------------------------------------------------------------------------------------
class Conn:
    """One connection: `send` raw bytes, read `line`s; `call` writes one request and returns the next line that is
    not a notice (notices met on the way are kept in `notices`, in arrival order)."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
        except BaseException:
            self.sock.close()
            raise
        self._buffer = bytearray()
        self.notices: list[dict[str, Any]] = []
        self.token: str | None = None

    def send(self, data: bytes) -> None:
        self.sock.settimeout(30.0)
        self.sock.sendall(data)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(json.dumps(message).encode() + b"\n")

    def line(self, timeout: float = 5.0) -> bytes:
        """The next `\\n`-terminated line, without its `\\n`."""
        deadline = time.monotonic() + timeout
        while (end := self._buffer.find(b"\n")) < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete line within {timeout}s ({len(self._buffer)} bytes buffered)")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"the server closed the connection ({len(self._buffer)} bytes buffered)")
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def message(self, timeout: float = 5.0) -> dict[str, Any]:
        line = self.line(timeout)
        assert b"\r" not in line, line[:200]
        value = json.loads(line.decode("utf-8"))
        assert isinstance(value, dict), line[:200]
        return value

    def response(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            message = self.message(timeout)
            if "notice" in message:
                self.notices.append(message)
                continue
            return message

    def notice(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next notice line (kept ones first); fails on a response line."""
        if self.notices:
            return self.notices.pop(0)
        message = self.message(timeout)
        assert "notice" in message, f"expected a notice line, got {message}"
        return message

    def request(
        self, method: Any, params: Any = None, *, token: Any = _UNSET, id: Any = None, **extra: Any
    ) -> dict[str, Any]:
        """The request object `call` would send (the connection's token unless `token` says otherwise)."""
        request: dict[str, Any] = {"method": method}
        if params is not None:
            request["params"] = params
        token = self.token if token is _UNSET else token
        if token is not None:
            request["app_session_token"] = token
        if id is not None:
            request["id"] = id
        request.update(extra)
        return request

    def call(self, method: Any, params: Any = None, *, timeout: float = 5.0, **kwargs: Any) -> dict[str, Any]:
        self.send_json(self.request(method, params, **kwargs))
        return self.response(timeout)

    def hello(self, **params: Any) -> dict[str, Any]:
        reply = self.call("app.hello", {"client_id": "conformance", **params}, token=None)
        assert reply["ok"] is True, reply
        self.token = reply["result"]["app_session_token"]
        return reply["result"]

    def closed_by_server(self, timeout: float = 5.0) -> bool:
        """True once the server closed its end (end of stream), False if it is still open after `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return True
        except TimeoutError:
            return False
        except ConnectionError:
            return True

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    """The result of a success envelope (its exact top-level shape checked)."""
    assert reply.get("ok") is True, reply
    assert set(reply) - {"id"} == {"ok", "app_contract_version", "result"}, reply
    assert reply["app_contract_version"] == "1.2", reply
    return reply["result"]  # type: ignore[no-any-return]


def err(reply: dict[str, Any], code: str) -> dict[str, Any]:
    """The error of a failure envelope with `code` (its exact shape checked); returns `error`."""
    assert reply.get("ok") is False, reply
    assert set(reply) - {"id"} == {"ok", "app_contract_version", "error"}, reply
    assert reply["app_contract_version"] == "1.2", reply
    error = reply["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    return error  # type: ignore[no-any-return]


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


# -- servers -----------------------------------------------------------------------------------------------------------
@dataclass
class Headless:
    home: Path
    proc: subprocess.Popen[bytes]
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def sock(self) -> Path:
        return self.home / "relayboard.sock"

    @property
    def lock(self) -> Path:
        return self.home / "relayboard.sock.lock"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def connect(self, timeout: float = 5.0) -> Conn:
        return Conn(self.sock, timeout)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        """Poll until the socket answers `app.preflight` (with any envelope: a foreign server denies it)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"relayboard headless exited with {self.proc.returncode}: {self.stderr()}", pytrace=False)
            try:
                with Conn(self.sock, timeout=2.0) as conn:
                    reply = conn.call("app.preflight")
            except (OSError, TimeoutError, ConnectionError, ValueError):
                if time.monotonic() > deadline:
                    pytest.fail(f"relayboard headless did not answer within {timeout}s: {self.stderr()}")
                time.sleep(0.03)
                continue
            # The socket answers while the core is still starting its services; the line follows.
            line = f"{SERVING} {self.home} on {self.sock} (pid {self.pid})"
            assert wait_until(lambda: line in self.stderr(), timeout=10), (line, self.stderr())  # noqa: B023
            return reply

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def ensure_stopped(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT + 2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _child_env(userhome: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYBOARD_", "TMUX", "XDG_"))}
    env["HOME"] = str(userhome)  # also for module-scoped servers, started before the autouse HOME fixture
    return env


@dataclass
class Lab:
    """Makes homes and starts servers on them; `cleanup` undoes everything."""

    roots: list[Path] = field(default_factory=list)
    servers: list[Headless] = field(default_factory=list)
    tmux: list[tuple[str, int]] = field(default_factory=list)  # (socket name, uid it runs as)

    def home(self, owner: int | None = None) -> Path:
        root = Path(tempfile.mkdtemp(prefix="rb-", dir="/tmp"))
        self.roots.append(root)
        os.chmod(root, 0o711)  # traversable (not listable) so a server running as another user reaches its home
        home = root / "h"
        home.mkdir()
        os.chmod(home, 0o755)  # looser than the contract: the server must tighten it to 0700
        name = f"relayboard-test-{uuid.uuid4().hex[:12]}"
        self.tmux.append((name, os.getuid() if owner is None else owner))
        (home / "config.toml").write_text(
            f'tmux_socket = "{name}"\n'
            f'claude_home = "{home / "claude"}"\n'
            f'codex_home = "{home / "codex"}"\n'
            'user_id = "tester"\n'
        )
        (root / "userhome").mkdir()
        if owner is not None:
            for path in (home, home / "config.toml", root / "userhome"):
                os.chown(path, owner, owner)
        return home

    def start(self, home: Path, *, ready: bool = True, user: int | None = None) -> Headless:
        stderr_path = home.parent / f"stderr-{len(self.servers)}.txt"
        env = _child_env(home.parent / "userhome")
        argv = [sys.executable, "-m", "tui.cli", "headless", "--home", str(home)]
        extra: dict[str, Any] = {}
        if user is not None:
            python = python_for(user)
            assert python is not None
            argv = [python, "-B", "-s", *argv[1:]]
            env["PYTHONPATH"] = os.pathsep.join([*_site_dirs(), str(PROJECT_ROOT)])
            extra = {"user": user, "group": user, "extra_groups": []}
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(
                argv,
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                **extra,
            )
        server = Headless(home, proc, stderr_path)
        self.servers.append(server)
        if ready:
            server.wait_ready()
        return server

    def cleanup(self) -> None:
        for server in self.servers:
            server.ensure_stopped()
        tmux = shutil.which("tmux")
        for name, uid in self.tmux:
            if tmux is None:
                break
            if uid == os.getuid():
                kill_tmux_server(tmux, name)
            else:
                subprocess.run(
                    [tmux, "-L", name, "kill-server"],
                    capture_output=True,
                    timeout=10,
                    check=False,
                    user=uid,
                    group=uid,
                    extra_groups=[],
                )
                path = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{uid}" / name
                if path.is_socket():
                    path.unlink(missing_ok=True)
        for root in self.roots:
            shutil.rmtree(root, ignore_errors=True)


def _site_dirs() -> list[str]:
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return list(dict.fromkeys(d for d in dirs if os.path.isdir(d)))


_PYTHONS: dict[int, str | None] = {}


def python_for(uid: int) -> str | None:
    """An interpreter of this Python's version that `uid` may execute (the venv's may live under a private
    /root), or None."""
    if uid not in _PYTHONS:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        candidates = [sys.executable, os.path.realpath(sys.executable), shutil.which(f"python{version}")]
        candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
        _PYTHONS[uid] = None
        for candidate in dict.fromkeys(c for c in candidates if c):
            try:
                done = subprocess.run(
                    [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                    check=False,
                    user=uid,
                    group=uid,
                    extra_groups=[],
                )
            except (OSError, subprocess.SubprocessError):
                continue
            if done.returncode == 0 and done.stdout.strip() == version:
                _PYTHONS[uid] = candidate
                break
    return _PYTHONS[uid]


@pytest.fixture
def lab() -> Iterator[Lab]:
    made = Lab()
    try:
        yield made
    finally:
        made.cleanup()


@pytest.fixture(scope="module")
def module_lab() -> Iterator[Lab]:
    made = Lab()
    try:
        yield made
    finally:
        made.cleanup()


@pytest.fixture(scope="module")
def server(module_lab: Lab) -> Headless:
    """One server for the tests that leave it running."""
    return module_lab.start(module_lab.home())


@pytest.fixture
def conn(server: Headless) -> Iterator[Conn]:
    with server.connect() as connection:
        yield connection


@pytest.fixture
def session(server: Headless) -> Iterator[Conn]:
    """A connection that said hello."""
    with server.connect() as connection:
        connection.hello()
        yield connection


def sessions_of(server: Headless) -> int:
    with server.connect() as probe:
        return int(ok(probe.call("app.preflight"))["sessions"])


@pytest.fixture
def no_sessions(server: Headless) -> None:
    """Connections of earlier tests end asynchronously: wait until the server has dropped their sessions."""
    assert wait_until(lambda: sessions_of(server) == 0), f"{sessions_of(server)} sessions still open"
