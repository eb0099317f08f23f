"""`relayboard headless`: the core without a UI, serving every `app.*` call on `<home>/relayboard.sock`.

Local Unix socket only (0600 in a 0700 home; no TCP or UDP listener). NDJSON per core/wire.py. Gates, in order:
the peer's uid (SO_PEERCRED) must be the server's, then a session (`app.hello`) is required, then it must be live.
Each connection is served on its own: requests with an `id` run concurrently (at most `MAX_IN_FLIGHT`, after which
the connection is not read until one finishes), requests without one in order; a client that stops reading is
dropped after `WRITE_TIMEOUT`, one that sends half a line and stops after `PARTIAL_LINE_TIMEOUT`, one that never
says hello after `HELLO_TIMEOUT`. A call whose client disconnects runs to its end: a committed mutation stays.

One server per home: it holds an exclusive lock (`relayboard.sock.lock`, with its pid) for its lifetime, so a
second one refuses naming the first, and a socket file left by a killed server is known to be stale and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.audit import Scope
from core.bench import Bench
from core.calls import failure, invoke, lookup
from core.errors import BenchError
from core.notices import RESYNC, Notice, Subscription, topic_of
from core.sessions import APP_CONTRACT_VERSION, SUBSCRIBE, Subscribed, SubscribeParams
from core.validation import parse
from core.wire import (
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    REQUEST_KEYS,
    SOCKET_NAME,
    LineReader,
    Oversized,
    decode_line,
    encode,
    encode_ok,
    malformed,
)

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 64
MAX_IN_FLIGHT = 16
WRITE_TIMEOUT = 10.0
PARTIAL_LINE_TIMEOUT = 10.0
HELLO_TIMEOUT = 30.0
SHUTDOWN_GRACE = 5.0
SUN_PATH_MAX = 107  # bytes of a Unix socket path, without the terminating NUL (Linux)


def socket_path(home: Path) -> Path:
    return Path(home) / SOCKET_NAME


def lock_path(sock: Path) -> Path:
    return sock.with_name(sock.name + ".lock")


def peer_uid(sock: socket.socket | None) -> int | None:
    """The connecting process's uid (Linux SO_PEERCRED); None where the platform cannot tell."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


class AlreadyServing(BenchError):
    def __init__(self, home: Path, pid: str) -> None:
        super().__init__(
            "conflict",
            f"a Relayboard core is already serving this home (pid {pid or '?'}); stop it first or attach to it",
            details={"pid": int(pid) if pid.isdigit() else None, "path": str(home)},
        )


@dataclass
class Connection:
    id: int
    writer: asyncio.StreamWriter
    uid: int | None
    tokens: set[str] = field(default_factory=set)
    subscription: Subscription | None = None
    pump: asyncio.Task[None] | None = None
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False


class Server:
    def __init__(self, bench: Bench, path: Path | None = None) -> None:
        self.bench = bench
        self.path = Path(path) if path else socket_path(bench.home)
        self._server: asyncio.Server | None = None
        self._lock_fd: int | None = None
        self._connections: dict[int, Connection] = {}
        self._next_connection = 1
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._uid = os.getuid()

    # -- lifetime -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        if len(os.fsencode(self.path)) > SUN_PATH_MAX:
            raise BenchError(
                "validation_failed",
                f"the socket path is longer than a Unix socket allows ({SUN_PATH_MAX} bytes); use a shorter --home",
                field="home",
                details={"path": str(self.path)},
            )
        self._take_lock()
        try:
            self._secure_directory()
            if self.path.is_socket() or self.path.exists():
                # We hold the lock, so no live server owns this file: a killed server left it.
                log.info("replacing stale socket %s", self.path)
                self.path.unlink()
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_REQUEST_BYTES)
            os.chmod(self.path, 0o600)
        except BaseException:
            self._release_lock()
            raise

    def _take_lock(self) -> None:
        path = lock_path(self.path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise AlreadyServing(self.path.parent, pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                lock_path(self.path).unlink()
            os.close(self._lock_fd)
            self._lock_fd = None

    def _secure_directory(self) -> None:
        directory = self.path.parent
        if directory.stat().st_uid == self._uid:
            os.chmod(directory, 0o700)  # the socket's directory: nobody else may even reach the socket

    async def close(self) -> None:
        """Stop accepting, let calls in flight finish (up to SHUTDOWN_GRACE), drop connections, remove the
        socket and the lock."""
        if self._server is not None:
            self._server.close()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=SHUTDOWN_GRACE)
        for connection in list(self._connections.values()):
            await self._drop(connection)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), SHUTDOWN_GRACE)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._release_lock()

    @property
    def connections(self) -> int:
        return len(self._connections)

    # -- one connection -------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= MAX_CONNECTIONS:
            writer.close()
            return
        connection = Connection(self._next_connection, writer, peer_uid(writer.get_extra_info("socket")))
        self._next_connection += 1
        self._connections[connection.id] = connection
        lines = LineReader(reader, MAX_REQUEST_BYTES)
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        try:
            while not connection.closed:
                line = await self._next_line(connection, lines)
                if line is None:
                    break
                if isinstance(line, Oversized):
                    error = BenchError(
                        "payload_too_large",
                        f"request line is {line.size} bytes; the limit is {MAX_REQUEST_BYTES}",
                        details={"size_limit_bytes": MAX_REQUEST_BYTES, "actual_size_bytes": line.size},
                    )
                    await self._send(connection, failure(error))
                    continue
                try:
                    request = decode_line(line)
                    if not isinstance(request, dict):
                        raise malformed("not an object", "a request is a JSON object")
                except BenchError as exc:
                    await self._send(connection, failure(exc))
                    continue
                await slots.acquire()  # at MAX_IN_FLIGHT the connection is not read: the client waits, not us
                task = asyncio.create_task(self._handle(connection, request))
                self._in_flight.add(task)
                task.add_done_callback(lambda done: (self._in_flight.discard(done), slots.release()))
                if "id" not in request:
                    await asyncio.shield(task)  # no id to match responses by: answer in order
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await self._drop(connection)

    async def _next_line(self, connection: Connection, lines: LineReader) -> bytes | Oversized | None:
        """The next line within the connection's time limits; None to drop it."""
        if not connection.tokens and connection.subscription is None:
            timeout: float | None = HELLO_TIMEOUT  # nobody holds a connection open without a session
        else:
            timeout = None
        read = asyncio.ensure_future(lines.next())
        while True:
            wait = PARTIAL_LINE_TIMEOUT if lines.partial else timeout
            done, _ = await asyncio.wait({read}, timeout=wait)
            if done:
                return read.result()
            if lines.partial or timeout is not None:
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await read
                log.info("connection %d timed out (%s)", connection.id, "half a line" if lines.partial else "idle")
                return None

    async def _drop(self, connection: Connection) -> None:
        if connection.closed and connection.id not in self._connections:
            return
        connection.closed = True
        self._connections.pop(connection.id, None)
        for token in connection.tokens:
            self.bench.sessions.end(token)
        connection.tokens.clear()
        if connection.subscription is not None:
            connection.subscription.close()
        if connection.pump is not None:
            connection.pump.cancel()
        connection.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.writer.wait_closed(), 1.0)

    async def _send(self, connection: Connection, message: dict[str, Any] | bytes, request_id: Any = None) -> None:
        data = message if isinstance(message, bytes) else encode(message)
        if len(data) > MAX_RESPONSE_BYTES:
            error = BenchError(
                "payload_too_large",
                f"the response is {len(data)} bytes; the limit is {MAX_RESPONSE_BYTES}: ask for less (limit, lines)",
                details={"size_limit_bytes": MAX_RESPONSE_BYTES, "actual_size_bytes": len(data)},
            )
            data = encode({**failure(error), **({"id": request_id} if request_id is not None else {})})
        if connection.closed:
            return
        async with connection.write_lock:
            try:
                connection.writer.write(data)
                await asyncio.wait_for(connection.writer.drain(), WRITE_TIMEOUT)
            except (ConnectionError, TimeoutError, RuntimeError):
                # Gone, or not reading what it asked for: it must not hold the server's memory.
                log.info("dropping connection %d: it does not read its responses", connection.id)
                asyncio.get_running_loop().create_task(self._drop(connection))

    # -- one request ----------------------------------------------------------------------------------------
    async def _handle(self, connection: Connection, request: dict[str, Any]) -> None:
        request_id = request.get("id")
        response: dict[str, Any] | bytes
        try:
            response = encode_ok(await self._answer(connection, request), APP_CONTRACT_VERSION, request_id)
        except BenchError as exc:
            response = failure(exc)
        except Exception:
            log.exception("internal error serving a request")
            response = failure(BenchError("internal_error", "internal error; see the log for details"))
        if isinstance(response, dict) and request_id is not None:
            response["id"] = request_id
        await self._send(connection, response, request_id)

    async def _answer(self, connection: Connection, request: dict[str, Any]) -> BaseModel:
        if connection.uid is not None and connection.uid != self._uid:
            raise BenchError("permission_denied", "this core serves its own user only")
        unknown = sorted(set(request) - REQUEST_KEYS)
        if unknown:
            raise malformed("unknown key", f"unknown request key {unknown[0]!r}")
        call = lookup(request.get("method"))
        caller = Scope(self.bench.ctx.settings.user_id, "cli", self.bench.ctx.settings.project_id)
        if call.session:
            session = self.bench.sessions.check(request.get("app_session_token"))
            caller = Scope(caller.user_id, session.surface, session.project_id or caller.project_id)
        params = request.get("params")
        if params is not None and not isinstance(params, dict):
            raise malformed("not an object", "params must be a JSON object")
        if call is SUBSCRIBE:
            return await self._subscribe(connection, params)
        result = await invoke(self.bench, call, params, caller)
        if call.name == "app.hello":
            connection.tokens.add(result.app_session_token)  # type: ignore[attr-defined]
        return result

    async def _subscribe(self, connection: Connection, params: Any) -> Subscribed:
        """Live notices from now, after replaying what the client missed since `since_seq`. The live
        subscription starts before the spine is read, so nothing falls between the two."""
        p = parse(SubscribeParams, params)
        if connection.subscription is not None:
            connection.subscription.close()
        if connection.pump is not None:
            connection.pump.cancel()
        live = self.bench.hub.subscribe(p.topics)
        missed, resync = await self.bench.sessions.missed(p.since_seq, p.topics)
        wanted = [e for e in missed if live.wants(Notice(topic_of(e.event_type), e.seq, e))]
        connection.subscription = live
        connection.pump = asyncio.create_task(self._pump(connection, live, wanted, resync))
        return Subscribed(seq=self.bench.hub.last_seq, resync=resync, replay=len(wanted))

    async def _pump(self, connection: Connection, live: Subscription, replay: list[Any], resync: bool) -> None:
        await asyncio.sleep(0)  # the subscribe response goes first
        sent = 0
        if resync:
            await self._send(connection, _notice_line(Notice(RESYNC, self.bench.hub.last_seq)))
        for event in replay:
            await self._send(connection, _notice_line(Notice(topic_of(event.event_type), event.seq, event)))
            sent = event.seq
        while not connection.closed:
            notice = await live.get()
            if notice.event is not None and notice.seq <= sent:
                continue  # already replayed from the spine
            await self._send(connection, _notice_line(notice))


def _notice_line(notice: Notice) -> dict[str, Any]:
    event = notice.event.model_dump(mode="json") if notice.event is not None else None
    return {"notice": {"topic": notice.topic, "seq": notice.seq, "event": event}}


async def serve(bench: Bench, path: Path | None = None, *, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled (SIGTERM/SIGINT in `relayboard headless`), then close cleanly."""
    server = Server(bench, path)
    await server.start()
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await asyncio.shield(server.close())
