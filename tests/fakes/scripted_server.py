"""What the fake model APIs share (tests/fakes/anthropic_server.py, openai_server.py): a threaded local HTTP server
that logs every request, answers agent turns from a script of replies (a default responder when it runs out), lets
tests wait for requests, and serves `python -m ...` from a shell. Standard library only. Each fake supplies its
reply and request-log types, its request handler (the API's routes and wire format) and its name."""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit


class LoggedRequest(Protocol):
    seq: int
    status: int
    reply_kind: str

    @property
    def main(self) -> bool: ...

    def summary(self) -> dict[str, Any]: ...


ReplyT = TypeVar("ReplyT")
RequestT = TypeVar("RequestT", bound=LoggedRequest)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client dropping a keep-alive connection (an agent on Esc, or at exit) is normal, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ScriptedServer(Generic[ReplyT, RequestT]):
    """The fake server. Thread-safe; a context manager; `requests` is the log of everything received."""

    NAME: ClassVar[str] = ""  # "Anthropic", "OpenAI": in thread names, errors and the shell's banner
    handler: ClassVar[type[JsonHandler[Any]]]

    def __init__(
        self,
        script: Iterable[ReplyT | Callable[[RequestT], ReplyT]] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default: Callable[[RequestT], ReplyT] | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.default: Callable[[RequestT], ReplyT] = default or self.default_responder()
        self.verbose = verbose
        self.requests: list[RequestT] = []
        self._script: list[ReplyT | Callable[[RequestT], ReplyT]] = list(script)
        self._lock = threading.Condition()
        self._seq = itertools.count(1)
        self._stopping = threading.Event()
        self._server: QuietServer | None = None
        self._thread: threading.Thread | None = None

    def default_responder(self) -> Callable[[RequestT], ReplyT]:
        """What answers a main request when the script has run out."""
        raise NotImplementedError

    # ---- lifecycle
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Any:
        fake = self

        class Handler(self.handler):  # type: ignore[name-defined,misc]
            owner = fake

        self._stopping.clear()
        self._server = QuietServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        name = f"fake-{self.NAME.lower()}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- script
    def push(self, *items: ReplyT | Callable[[RequestT], ReplyT]) -> None:
        """Append replies for the next main requests."""
        with self._lock:
            self._script.extend(items)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def _next_reply(self, request: RequestT) -> ReplyT:
        with self._lock:
            item = self._script.pop(0) if self._script else self.default
        return item(request) if callable(item) else item

    # ---- log
    def _record(self, request: RequestT) -> None:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()
        if self.verbose:
            print(json.dumps(request.summary()), file=sys.stderr, flush=True)

    def _finished(self, request: RequestT, status: int, kind: str) -> None:
        with self._lock:
            request.status = status
            request.reply_kind = kind
            self._lock.notify_all()

    def wait_for(self, predicate: Callable[[RequestT], bool], timeout: float = 30.0, count: int = 1) -> list[RequestT]:
        """Block until `count` logged requests satisfy `predicate`; TimeoutError (with the log) otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                hits = [r for r in self.requests if predicate(r)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0:
                    log = "\n".join(json.dumps(r.summary()) for r in self.requests)
                    raise TimeoutError(f"fake {self.NAME}: {len(hits)}/{count} matching requests; log:\n{log}")
                self._lock.wait(left)

    def main_requests(self) -> list[RequestT]:
        with self._lock:
            return [r for r in self.requests if r.main]


class JsonHandler(BaseHTTPRequestHandler, Generic[RequestT]):
    """The plumbing of a fake API's handler: quiet, HTTP/1.1, each request logged (without credentials) before it is
    answered, JSON answers with a request id."""

    owner: Any  # the ScriptedServer it belongs to (set on a subclass per server)
    protocol_version = "HTTP/1.1"
    request_type: ClassVar[type]
    secret_headers: ClassVar[tuple[str, ...]] = ()  # never kept in the log, even the dummy ones
    request_id_header: ClassVar[str] = "request-id"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        return self._parse_body(raw)

    def _parse_body(self, raw: bytes) -> dict[str, Any]:
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {"_raw": raw[:2000].decode("utf-8", "replace")}
        return parsed if isinstance(parsed, dict) else {"_json": parsed}

    def _log(self) -> RequestT:
        url = urlsplit(self.path)
        body = self._read_body() if self.command in ("POST", "PUT", "PATCH") else None
        request: RequestT = self.request_type(
            seq=next(self.owner._seq),
            method=self.command,
            path=url.path,
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items() if k.lower() not in self.secret_headers},
            body=body,
            at=time.time(),
        )
        self.owner._record(request)
        return request

    def new_request_id(self) -> str:
        raise NotImplementedError

    def _send_json(self, status: int, payload: dict[str, Any], request: RequestT, kind: str) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header(self.request_id_header, self.new_request_id())
        self.end_headers()
        self.wfile.write(data)
        self.owner._finished(request, status, kind)

    def do_HEAD(self) -> None:
        request = self._log()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
        self.owner._finished(request, 200, "head")


def serve_from_shell(
    fake_type: Callable[..., ScriptedServer[Any, Any]],
    echo: Callable[[float], Callable[[Any], Any]],
    prog: str,
    description: str,
    argv: list[str] | None,
) -> int:
    """`python -m tests.fakes.<fake> [--port N] [--slow S] [--quiet]`: serve until SIGTERM or Ctrl+C."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (printed)")
    parser.add_argument("--slow", type=float, default=0.0, help="spread every answer over this many seconds")
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    args = parser.parse_args(argv)
    fake = fake_type(host=args.host, port=args.port, default=echo(args.slow), verbose=not args.quiet)
    fake.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"fake {fake.NAME} listening on {fake.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        fake.stop()
    return 0
