"""The one way a UI reaches the core: a `BenchClient`. Two implementations, the same contract.

* `LocalClient`: the core in this process (today's path). Params are validated into their model and the result
  model is handed over as is: no serialisation.
* `SocketClient`: a core served by `relayboard headless`, over its Unix socket. Same calls, same models (rebuilt
  from the JSON), same notices; when the core goes away calls fail with `daemon_unavailable`, readiness says so
  with the fix, and the client reconnects by itself, resuming notices from the last `seq` it saw.

    client = await LocalClient.open(home)                 # or: await SocketClient.connect(path)
    agents = await client.call(AGENT_LIST, limit=200)    # ListResult[Agent], typed
    async for notice in client.notices({"agents"}): ...
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import json
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

from core.audit import Scope
from core.clock import Clock, SystemClock, stamp
from core.config import Settings
from core.errors import BenchError
from core.hints import make_hint
from core.notices import RESYNC, Notice, NoticeHub, Subscription
from core.readiness import READINESS, SUBSYSTEMS, ReadinessReport, Subsystem
from core.registry import Call
from core.sessions import APP_CONTRACT_MAJOR, HELLO, PREFLIGHT, SUBSCRIBE, ClientSurface, Preflight, daemon_version
from core.wire import MAX_RESPONSE_BYTES, SOCKET_NAME, encode
from storage.models import Event

log = logging.getLogger(__name__)
P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)
ClientMode = Literal["local", "attached"]
CALL_TIMEOUT = 60.0  # a scan waits up to 10 s; nothing should take a minute
RECONNECT_FIRST = 0.2
RECONNECT_MAX = 2.0


class BenchClient(Protocol):
    """All a UI knows of the core."""

    mode: ClientMode
    where: str  # "local", or the socket path

    @property
    def connected(self) -> bool: ...

    async def call(self, call: Call[P, R], params: P | Mapping[str, Any] | None = None, /, **fields: Any) -> R: ...

    def notices(self, topics: Iterable[str] | None = None) -> AsyncIterator[Notice]: ...

    async def close(self) -> None: ...


def _params(call: Call[Any, Any], params: Any, fields: dict[str, Any]) -> Any:
    if isinstance(params, BaseModel):
        if fields:
            raise TypeError("give params as a model or as fields, not both")
        return params
    return {**(params or {}), **fields}


class LocalClient:
    """The core in this process: the TUI's default, and how tests drive the real path without a socket."""

    mode: ClientMode = "local"
    where = "local"

    def __init__(self, bench: Any, *, surface: ClientSurface = "tui", owns: bool = False) -> None:
        self.bench = bench
        self.caller = Scope(bench.ctx.settings.user_id, surface, bench.ctx.settings.project_id)
        self._owns = owns

    @classmethod
    async def open(
        cls,
        home: Path,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        surface: ClientSurface = "tui",
        start_services: bool = True,
    ) -> LocalClient:
        """Open the bench in `home` in this process and start its services (the watcher, …)."""
        from core.bench import Bench

        bench = await Bench.open(home, settings=settings, clock=clock, surface=surface)
        if start_services:
            await bench.start()
        return cls(bench, surface=surface, owns=True)

    @property
    def connected(self) -> bool:
        return True

    async def call(self, call: Call[P, R], params: P | Mapping[str, Any] | None = None, /, **fields: Any) -> R:
        from core.calls import invoke

        return await invoke(self.bench, call, _params(call, params, fields), self.caller)  # type: ignore[return-value]

    async def notices(self, topics: Iterable[str] | None = None) -> AsyncIterator[Notice]:
        subscription = self.bench.hub.subscribe(topics)
        async for notice in subscription:
            yield notice

    async def close(self) -> None:
        if self._owns:
            await self.bench.close()


# -- over the socket ---------------------------------------------------------------------------------------------
def socket_of(home: Path) -> Path:
    return Path(home) / SOCKET_NAME


async def _open(path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect, with the contract's codes for each way it can fail."""
    try:
        return await asyncio.open_unix_connection(str(path), limit=MAX_RESPONSE_BYTES + 1024 * 1024)
    except FileNotFoundError:
        raise BenchError(
            "socket_missing", f"no Relayboard core socket at {path}", details={"path": str(path)}
        ) from None
    except PermissionError:
        raise BenchError(
            "socket_permission_denied", f"not allowed to open {path}", details={"path": str(path)}
        ) from None
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOTSOCK, errno.ECONNRESET):
            raise BenchError(
                "daemon_unavailable",
                f"{path} exists but no Relayboard core answers on it (stale socket?)",
                details={"path": str(path)},
            ) from None
        raise BenchError("daemon_unavailable", f"cannot connect to {path}", details={"path": str(path)}) from None


async def preflight(path: Path, wait: float = 2.0) -> Preflight:
    """`app.preflight` as a client sees it: answered by the core, or the reason it cannot be reached."""
    try:
        reader, writer = await asyncio.wait_for(_open(path), wait)
    except BenchError as exc:
        code = exc.code if exc.code in ("socket_missing", "socket_permission_denied") else "daemon_unavailable"
        return Preflight(socket_reachable=code == "daemon_unavailable", daemon_reachable=False, code=code)
    except TimeoutError:
        return Preflight(socket_reachable=True, daemon_reachable=False, code="daemon_unavailable")
    try:
        writer.write(encode({"method": PREFLIGHT.name, "id": 1}))
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), wait)
        answer = json.loads(line)
        if answer.get("ok"):
            return Preflight.model_validate(answer["result"])
        return Preflight(socket_reachable=True, daemon_reachable=False, code="daemon_unavailable")
    except (OSError, ValueError, TimeoutError):
        return Preflight(socket_reachable=True, daemon_reachable=False, code="daemon_unavailable")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def unreachable_report(path: Path, clock: Clock) -> ReadinessReport:
    """Readiness as an attached client knows it while its core is away: nothing is reachable, and the fix."""
    reason = f"the Relayboard core at {path} is not reachable; reconnecting"
    hint = make_hint("start_headless", "sqlite", action=f"relayboard headless --home {path.parent}")
    rows = [
        Subsystem(name=name, status="unavailable", reason=reason, hint="start_headless" if name == "sqlite" else None)
        for name in SUBSYSTEMS
    ]
    return ReadinessReport(state="unavailable", checked_at=stamp(clock.now()), subsystems=rows, hints=[hint])


class SocketClient:
    """A core on this host's socket (or another host's, forwarded over SSH). Requests carry ids and run
    concurrently; one reader task matches responses to them and feeds notices to the local subscribers."""

    mode: ClientMode = "attached"

    def __init__(
        self,
        path: Path,
        *,
        surface: ClientSurface = "tui",
        client_id: str = "relayboard-tui",
        reconnect: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.surface = surface
        self.client_id = client_id
        self.reconnect = reconnect
        self.clock = clock or SystemClock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._token: str | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._read_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._hub = NoticeHub()  # local fan-out of what the server pushes
        self._last_seq: int | None = None
        self._closing = False
        self.reconnects = 0

    @classmethod
    async def connect(cls, path: Path, **kwargs: Any) -> SocketClient:
        client = cls(path, **kwargs)
        await client._connect()
        return client

    @property
    def connected(self) -> bool:
        return self._token is not None and self._writer is not None and not self._writer.is_closing()

    @property
    def last_seq(self) -> int | None:
        return self._last_seq

    # -- connection ---------------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        self._reader, self._writer = await _open(self.path)
        self._read_task = asyncio.create_task(self._read_loop(self._reader), name="relayboard-socket-reader")
        try:
            hello = await self._request(
                HELLO.name,
                {
                    "client_id": self.client_id,
                    "client_version": daemon_version(),
                    "client_app_contract_major": APP_CONTRACT_MAJOR,
                    "surface": self.surface,
                },
                session=False,
            )
            self._token = hello["app_session_token"]
            subscribed = await self._request(SUBSCRIBE.name, {"since_seq": self._last_seq})
        except BaseException:
            await self._disconnect()
            raise
        if self._last_seq is None or subscribed["resync"]:
            self._last_seq = subscribed["seq"]
        if self.reconnects or subscribed["resync"]:
            self._hub.publish(Notice(RESYNC, subscribed["seq"]))  # panes reload whatever they show

    async def _disconnect(self) -> None:
        self._token = None
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self._unavailable())
        self._pending.clear()

    def _unavailable(self) -> BenchError:
        return BenchError(
            "daemon_unavailable",
            f"the Relayboard core at {self.path} is not reachable",
            details={"path": str(self.path), "hint": "start_headless"},
        )

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                message = json.loads(line)
                if "notice" in message:
                    self._on_notice(message["notice"])
                    continue
                future = self._pending.pop(message.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(message)
        except (OSError, ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            log.info("lost the connection to %s", self.path, exc_info=True)
        finally:
            if reader is self._reader:
                await self._disconnect()
                if self.reconnect and not self._closing:
                    self._reconnect_task = asyncio.create_task(self._reconnect_loop(), name="relayboard-reconnect")

    def _on_notice(self, data: dict[str, Any]) -> None:
        event = Event.model_validate(data["event"]) if data.get("event") else None
        notice = Notice(data["topic"], int(data["seq"]), event)
        if notice.event is not None:
            self._last_seq = max(self._last_seq or 0, notice.seq)
        self._hub.publish(notice)

    async def _reconnect_loop(self) -> None:
        delay = RECONNECT_FIRST
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                self.reconnects += 1
                await self._connect()
                log.info("reconnected to %s", self.path)
                return
            except BenchError:
                delay = min(RECONNECT_MAX, delay * 2)

    # -- calls --------------------------------------------------------------------------------------------------
    async def _request(self, method: str, params: Any, *, session: bool = True) -> dict[str, Any]:
        """The `result` of one call, or its error raised as a BenchError."""
        answer = await self.request(method, params, session=session)
        if not answer.get("ok"):
            error = answer.get("error") or {}
            raise BenchError(
                error.get("code", "internal_error"), error.get("message", ""), details=error.get("details") or {}
            )
        return answer["result"]  # type: ignore[no-any-return]

    async def request(self, method: str, params: Any = None, *, session: bool = True) -> dict[str, Any]:
        """One raw round trip: the envelope as the server sent it (the CLI prints it as is)."""
        writer = self._writer
        if writer is None or writer.is_closing() or (session and self._token is None):
            raise self._unavailable()
        request_id = next(self._ids)
        message: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        if session:
            message["app_session_token"] = self._token
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            writer.write(encode(message))
            await writer.drain()
            return await asyncio.wait_for(future, CALL_TIMEOUT)
        except (OSError, TimeoutError):
            raise self._unavailable() from None
        finally:
            self._pending.pop(request_id, None)

    async def call(self, call: Call[P, R], params: P | Mapping[str, Any] | None = None, /, **fields: Any) -> R:
        if call is READINESS and not self.connected:
            return unreachable_report(self.path, self.clock)  # type: ignore[return-value]
        p = _params(call, params, fields)
        payload = p.model_dump(mode="json", exclude_unset=True) if isinstance(p, BaseModel) else p
        return call.result.model_validate(await self._request(call.name, payload, session=call.session))  # type: ignore[no-any-return]

    async def notices(self, topics: Iterable[str] | None = None) -> AsyncIterator[Notice]:
        subscription: Subscription = self._hub.subscribe(topics)
        async for notice in subscription:
            yield notice

    async def close(self) -> None:
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        await self._disconnect()
        if self._read_task is not None:
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._read_task


async def attached_path(home: Path, explicit: Path | None = None) -> Path | None:
    """The socket to attach to: `explicit`, else the home's when a core answers on it, else None (run locally)."""
    if explicit is not None:
        return explicit
    path = socket_of(home)
    if not path.exists():
        return None
    return path if (await preflight(path)).code == "ok" else None
