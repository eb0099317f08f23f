"""A small local fake of the Anthropic Messages API, good enough to run the real Claude Code CLI offline.

Standard library only. It listens on 127.0.0.1 (OS-assigned port unless told otherwise) and answers:

- ``POST /v1/messages`` (Claude Code adds ``?beta=true``): a server-sent-event stream when the body says
  ``"stream": true`` (``message_start``, ``content_block_start``, ``ping``, ``content_block_delta``...,
  ``content_block_stop``, ``message_delta`` with ``stop_reason`` and ``usage``, ``message_stop``), otherwise one JSON
  message; every answer carries a ``request-id`` header and realistic ``usage`` numbers, so Claude Code writes real
  transcripts with ``message.usage``.
- ``POST /v1/messages/count_tokens``: ``{"input_tokens": N}`` estimated from the body size.
- ``HEAD``/``GET /api/hello``: 200 (Claude Code's connectivity check; it sends ``HEAD /api/hello`` at start unless
  ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`` is set).
- anything else: a quick Anthropic-style 404 JSON error (and it is logged, so tests can see what was asked).

What each *main* request gets (the agent's turn: a request that carries ``tools``) is scripted, one `Reply` per
request, in order; side requests (no tools: title / topic generation on the small model — Claude Code 2.1.330 made
none in our runs) get a short text answer and do not consume the script. When the script runs out,
`FakeAnthropic.default` answers (an echo of the prompt, optionally slow).

From tests::

    script = [Reply.slow("Counting...", seconds=4), Reply.tool_use("Bash", {"command": "touch x"})]
    with FakeAnthropic(script=script) as fake:
        env = claude_env(..., base_url=fake.base_url)
        ...
        fake.wait_for(lambda r: r.main, timeout=30)
        assert fake.requests[0].path == "/v1/messages"

From a shell (the demo): ``python -m tests.fakes.anthropic_server --port 8765 [--slow 3]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_MODEL = "claude-sonnet-4-5"


# --------------------------------------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class Reply:
    """One scripted assistant turn.

    kind: ``text`` (stop_reason ``end_turn``) or ``tool_use`` (optional leading text, then one tool_use block,
    stop_reason ``tool_use``). ``seconds`` spreads the deltas over that long (a slow, visibly streaming answer);
    ``first_delay`` holds back the first byte (Claude Code shows its spinner meanwhile); ``status``/``error``
    answer an HTTP error instead (e.g. 529 overloaded)."""

    kind: str = "text"
    text: str = "OK."
    tool_name: str = ""
    tool_input: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    first_delay: float = 0.0
    chunk_chars: int = 12
    status: int = 200
    error_type: str = ""

    @classmethod
    def text_reply(cls, text: str = "OK.") -> Reply:
        """(a) a quick text answer."""
        return cls(kind="text", text=text)

    @classmethod
    def slow(cls, text: str, seconds: float = 5.0, first_delay: float = 0.0, chunk_chars: int = 4) -> Reply:
        """(b) a text answer whose deltas trickle over ``seconds`` (the real "working" screen)."""
        return cls(kind="text", text=text, seconds=seconds, first_delay=first_delay, chunk_chars=chunk_chars)

    @classmethod
    def tool_use(cls, name: str = "Bash", tool_input: dict[str, Any] | None = None, text: str = "") -> Reply:
        """(c) a tool call; Bash under ``--permission-mode default`` gives the real "Do you want to proceed?"."""
        if tool_input is None:
            tool_input = {"command": "echo hi", "description": "Print hi"}
        return cls(kind="tool_use", text=text, tool_name=name, tool_input=dict(tool_input))

    @classmethod
    def error(cls, status: int = 529, error_type: str = "overloaded_error", message: str = "Overloaded") -> Reply:
        return cls(kind="error", text=message, status=status, error_type=error_type)


Responder = Callable[["RequestLog"], Reply]
ScriptItem = Reply | Responder


@dataclass
class RequestLog:
    """What the fake received; `main` is an agent turn (has tools), the only kind that consumes the script."""

    seq: int
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float
    status: int = 0
    reply_kind: str = ""

    @property
    def model(self) -> str:
        return str((self.body or {}).get("model", ""))

    @property
    def stream(self) -> bool:
        return bool((self.body or {}).get("stream", False))

    @property
    def main(self) -> bool:
        return self.path == "/v1/messages" and bool((self.body or {}).get("tools"))

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (tool results excluded), system reminders stripped."""
        for message in reversed((self.body or {}).get("messages", [])):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                return _strip_reminders(content)
            texts = [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
            texts = [t for t in (_strip_reminders(t) for t in texts) if t]
            if texts:
                return texts[-1]
            if any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content or []):
                return ""
        return ""

    @property
    def has_tool_result(self) -> bool:
        messages = (self.body or {}).get("messages", [])
        if not messages or messages[-1].get("role") != "user":
            return False
        content = messages[-1].get("content")
        return isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        )

    def summary(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": {k: v[-1] for k, v in self.query.items()},
            "model": self.model,
            "stream": self.stream,
            "main": self.main,
            "tools": len((self.body or {}).get("tools") or []),
            "status": self.status,
            "reply": self.reply_kind,
            "user": self.last_user_text[:60],
        }


_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)


def _strip_reminders(text: str) -> str:
    return _REMINDER.sub("", text).strip()


def echo_responder(seconds: float = 0.0) -> Responder:
    """The default when the script is exhausted: a short, deterministic answer quoting the prompt."""

    def respond(request: RequestLog) -> Reply:
        if request.has_tool_result:
            return Reply.text_reply("The command finished.")
        prompt = request.last_user_text.splitlines()[0] if request.last_user_text else "(nothing)"
        text = f"Fake model here. You said: {prompt[:80]}"
        return Reply.slow(text, seconds=seconds) if seconds > 0 else Reply.text_reply(text)

    return respond


# --------------------------------------------------------------------------------------------------------- usage


def _estimate_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, separators=(",", ":"))) // 4)


@dataclass
class _Usage:
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    output_tokens: int

    def start(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_input_tokens,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": 1,
            "service_tier": "standard",
        }

    def final(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": self.output_tokens,
        }


# --------------------------------------------------------------------------------------------------------- server


class FakeAnthropic:
    """The fake server. Thread-safe; a context manager; `requests` is the log of everything received."""

    def __init__(
        self,
        script: Iterable[ScriptItem] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default: Responder | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.default: Responder = default or echo_responder()
        self.verbose = verbose
        self.requests: list[RequestLog] = []
        self._script: list[ScriptItem] = list(script)
        self._lock = threading.Condition()
        self._seq = itertools.count(1)
        self._cached_prefixes: set[int] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeAnthropic:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._stopping.clear()
        self._server = _Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-anthropic", daemon=True
        )
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

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- script
    def push(self, *items: ScriptItem) -> None:
        """Append replies for the next main requests."""
        with self._lock:
            self._script.extend(items)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def _next_reply(self, request: RequestLog) -> Reply:
        with self._lock:
            item: ScriptItem = self._script.pop(0) if self._script else self.default
        return item if isinstance(item, Reply) else item(request)

    # ---- log
    def _record(self, request: RequestLog) -> None:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()
        if self.verbose:
            print(json.dumps(request.summary()), file=sys.stderr, flush=True)

    def _finished(self, request: RequestLog, status: int, kind: str) -> None:
        with self._lock:
            request.status = status
            request.reply_kind = kind
            self._lock.notify_all()

    def wait_for(
        self, predicate: Callable[[RequestLog], bool], timeout: float = 30.0, count: int = 1
    ) -> list[RequestLog]:
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
                    raise TimeoutError(f"fake Anthropic: {len(hits)}/{count} matching requests; log:\n{log}")
                self._lock.wait(left)

    def main_requests(self) -> list[RequestLog]:
        with self._lock:
            return [r for r in self.requests if r.main]

    # ---- usage bookkeeping: the system prompt + tools are "cache_creation" the first time, "cache_read" after
    def _usage(self, request: RequestLog, output_text: str, tool_input: dict[str, Any] | None) -> _Usage:
        body = request.body or {}
        prefix = {"system": body.get("system"), "tools": body.get("tools")}
        prefix_tokens = _estimate_tokens(prefix) if body.get("system") or body.get("tools") else 0
        message_tokens = _estimate_tokens(body.get("messages", []))
        key = hash(json.dumps(prefix, sort_keys=True, default=str))
        with self._lock:
            seen = key in self._cached_prefixes
            self._cached_prefixes.add(key)
        out = max(1, len(output_text) // 4 + (_estimate_tokens(tool_input) + 20 if tool_input is not None else 0))
        if prefix_tokens == 0:
            return _Usage(message_tokens, 0, 0, out)
        if seen:
            return _Usage(max(1, message_tokens // 20), 0, prefix_tokens + message_tokens, out)
        return _Usage(max(1, message_tokens // 20), prefix_tokens + message_tokens, 0, out)


def _chunks(text: str, size: int) -> Iterator[str]:
    size = max(1, size)
    for i in range(0, len(text), size):
        yield text[i : i + size]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client dropping a keep-alive connection (Claude Code after Esc, or at exit) is normal, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeAnthropic
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ---- plumbing
    def _read_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {"_raw": raw[:2000].decode("utf-8", "replace")}
        return parsed if isinstance(parsed, dict) else {"_json": parsed}

    def _log(self) -> RequestLog:
        url = urlsplit(self.path)
        body = self._read_body() if self.command in ("POST", "PUT", "PATCH") else None
        request = RequestLog(
            seq=next(self.owner._seq),
            method=self.command,
            path=url.path,
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items() if k.lower() not in ("x-api-key", "authorization")},
            body=body,
            at=time.time(),
        )
        self.owner._record(request)
        return request

    def _send_json(self, status: int, payload: dict[str, Any], request: RequestLog, kind: str) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", _request_id())
        self.end_headers()
        self.wfile.write(data)
        self.owner._finished(request, status, kind)

    def _error(self, request: RequestLog, status: int, error_type: str, message: str) -> None:
        payload = {"type": "error", "error": {"type": error_type, "message": message}}
        self._send_json(status, payload, request, f"error:{status}")

    # ---- routes
    def do_GET(self) -> None:
        request = self._log()
        if request.path == "/api/hello":
            self._send_json(200, {"message": "hello"}, request, "hello")
        else:
            self._error(request, 404, "not_found_error", f"fake Anthropic: no route for GET {request.path}")

    def do_HEAD(self) -> None:
        request = self._log()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
        self.owner._finished(request, 200, "head")

    def do_POST(self) -> None:
        request = self._log()
        if request.path == "/v1/messages/count_tokens":
            tokens = _estimate_tokens({k: (request.body or {}).get(k) for k in ("system", "tools", "messages")})
            self._send_json(200, {"input_tokens": tokens}, request, "count_tokens")
        elif request.path == "/v1/messages":
            self._messages(request)
        else:
            self._error(request, 404, "not_found_error", f"fake Anthropic: no route for POST {request.path}")

    def _messages(self, request: RequestLog) -> None:
        if request.body is None or "messages" not in request.body:
            self._error(request, 400, "invalid_request_error", "messages: field required")
            return
        reply = self.owner._next_reply(request) if request.main else _side_reply(request)
        if reply.kind == "error":
            self._error(request, reply.status, reply.error_type, reply.text)
            return
        model = request.model or DEFAULT_MODEL
        tool_input = reply.tool_input if reply.kind == "tool_use" else None
        usage = self.owner._usage(request, reply.text, tool_input)
        if request.stream:
            self._stream(request, reply, model, usage)
        else:
            self._send_json(200, _message_json(reply, model, usage), request, reply.kind)

    def _stream(self, request: RequestLog, reply: Reply, model: str, usage: _Usage) -> None:
        stopping = self.owner._stopping
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", _request_id())
        self.send_header("anthropic-organization-id", "00000000-0000-4000-8000-000000000000")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def event(name: str, data: dict[str, Any]) -> None:
            payload = f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()

        try:
            if reply.first_delay and stopping.wait(reply.first_delay):
                return
            message = _message_shell(model, usage.start())
            event("message_start", {"type": "message_start", "message": message})
            deltas: list[tuple[int, dict[str, Any]]] = []
            blocks: list[dict[str, Any]] = []
            if reply.text or reply.kind == "text":
                blocks.append({"type": "text", "text": ""})
                deltas += [
                    (len(blocks) - 1, {"type": "text_delta", "text": c}) for c in _chunks(reply.text, reply.chunk_chars)
                ]
            if reply.kind == "tool_use":
                blocks.append({"type": "tool_use", "id": _tool_id(), "name": reply.tool_name, "input": {}})
                raw = json.dumps(reply.tool_input)
                deltas += [(len(blocks) - 1, {"type": "input_json_delta", "partial_json": c}) for c in _chunks(raw, 16)]
            pause = reply.seconds / max(1, len(deltas))
            for index, block in enumerate(blocks):
                event("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
                if index == 0:
                    event("ping", {"type": "ping"})
                for _, delta in (d for d in deltas if d[0] == index):
                    if pause and stopping.wait(pause):
                        return
                    event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                event("content_block_stop", {"type": "content_block_stop", "index": index})
            stop_reason = "tool_use" if reply.kind == "tool_use" else "end_turn"
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": usage.final(),
                },
            )
            event("message_stop", {"type": "message_stop"})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.owner._finished(request, 200, f"stream:{reply.kind}")
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (e.g. the operator pressed Esc in Claude Code): that is fine.
            self.owner._finished(request, 200, f"stream:{reply.kind}:aborted")
            self.close_connection = True


def _side_reply(request: RequestLog) -> Reply:
    """Answers to Claude Code's own small-model calls (titles, topics): short and well-formed."""
    system = json.dumps((request.body or {}).get("system", ""))
    if "isNewTopic" in system:
        return Reply.text_reply('{"isNewTopic": false, "title": null}')
    if "json" in system.lower() and "title" in system.lower():
        return Reply.text_reply('{"title": "Fake session"}')
    return Reply.text_reply("Fake session")


def _message_shell(model: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_" + uuid.uuid4().hex[:24],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }


def _message_json(reply: Reply, model: str, usage: _Usage) -> dict[str, Any]:
    message = _message_shell(model, usage.final())
    if reply.text or reply.kind == "text":
        message["content"].append({"type": "text", "text": reply.text})
    if reply.kind == "tool_use":
        message["content"].append(
            {"type": "tool_use", "id": _tool_id(), "name": reply.tool_name, "input": reply.tool_input}
        )
    message["stop_reason"] = "tool_use" if reply.kind == "tool_use" else "end_turn"
    return message


def _request_id() -> str:
    return "req_" + uuid.uuid4().hex[:24]


def _tool_id() -> str:
    return "toolu_" + uuid.uuid4().hex[:24]


# --------------------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.anthropic_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (printed)")
    parser.add_argument("--slow", type=float, default=0.0, help="spread every answer over this many seconds")
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    args = parser.parse_args(argv)
    fake = FakeAnthropic(host=args.host, port=args.port, default=echo_responder(args.slow), verbose=not args.quiet)
    fake.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"fake Anthropic listening on {fake.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
