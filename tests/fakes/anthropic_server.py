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

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.scripted_server import JsonHandler, ScriptedServer, serve_from_shell

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


class FakeAnthropic(ScriptedServer[Reply, "RequestLog"]):
    """The fake server. Thread-safe; a context manager; `requests` is the log of everything received."""

    NAME = "Anthropic"

    def __init__(self, script: Iterable[ScriptItem] = (), **kwargs: Any) -> None:
        super().__init__(script, **kwargs)
        self._cached_prefixes: set[int] = set()

    def default_responder(self) -> Responder:
        return echo_responder()

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


class _Handler(JsonHandler["RequestLog"]):
    owner: FakeAnthropic
    server_version = "fake-anthropic/1"
    request_type = RequestLog
    secret_headers = ("x-api-key", "authorization")
    request_id_header = "request-id"

    def new_request_id(self) -> str:
        return _request_id()

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
    return serve_from_shell(
        FakeAnthropic, echo_responder, "python -m tests.fakes.anthropic_server", __doc__.split("\n")[0], argv
    )


FakeAnthropic.handler = _Handler


if __name__ == "__main__":
    raise SystemExit(main())
