"""A small local fake of the OpenAI Responses API, good enough to run the real Codex CLI (0.169.0) offline.

Standard library only. It listens on 127.0.0.1 (OS-assigned port unless told otherwise) and answers:

- ``POST /v1/responses``: a server-sent-event stream when the body says ``"stream": true`` (Codex always does):
  ``response.created``, ``response.in_progress``, then per output item ``response.output_item.added``,
  ``response.content_part.added`` / ``response.output_text.delta``... / ``response.output_text.done`` /
  ``response.content_part.done`` (a message) or ``response.function_call_arguments.delta``... /
  ``response.function_call_arguments.done`` (a tool call), ``response.output_item.done``, and finally
  ``response.completed`` with ``usage``; otherwise one JSON response object. Codex 0.169 parses these in
  ``codex-rs/codex-api/src/sse/responses.rs``: it acts on ``output_item.added``/``.done``, ``output_text.delta``
  and ``response.completed`` (which it only reports once the stream has ended, so the stream is always closed).
- ``GET /v1/models``: ``{"object": "list", "data": [...], "models": []}`` (both the OpenAI list shape and Codex's
  catalog shape, where an empty ``models`` keeps its bundled metadata). Codex 0.169 made no such request in our
  runs (TUI and ``codex exec``): the route is there so a future version's discovery does not fail.
- anything else: a quick OpenAI-style 404 JSON error (and it is logged, so tests can see what was asked).

What each *main* request gets (an agent turn: a ``/responses`` request that carries ``tools``) is scripted, one
`Reply` per request, in order; side requests (Codex's thread-title request right after the first turn starts,
``thread_source: thread_title`` in ``x-codex-turn-metadata``, or any request without tools) get a short answer
and do not consume the script.
When the script runs out, `FakeOpenAI.default` answers (an echo of the prompt, optionally slow).

The tool Codex 0.169 runs shell commands with is ``exec_command`` (arguments ``{"cmd": ..., "workdir": ...,
"sandbox_permissions": "use_default" | "require_escalated", "justification": ...}``); its result comes back in
the next request as a ``function_call_output`` input item with the same ``call_id``.

From tests::

    script = [Reply.slow("Counting...", seconds=4), Reply.exec_command("touch x"), Reply.text_reply("Done.")]
    with FakeOpenAI(script=script) as fake:
        env = codex_offline_env(..., base_url=fake.base_url)
        ...
        fake.wait_for(lambda r: r.main and r.has_tool_output, timeout=30)

From a shell (the demo): ``python -m tests.fakes.openai_server --port 8766 [--slow 3]``.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.scripted_server import JsonHandler, ScriptedServer, serve_from_shell

DEFAULT_MODEL = "gpt-5.1-codex"
EXEC_TOOL = "exec_command"


# --------------------------------------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class Reply:
    """One scripted assistant turn.

    kind: ``text`` (one assistant message) or ``function_call`` (optional leading message, then one function
    call). ``seconds`` spreads the deltas over that long (a slow, visibly streaming answer); ``first_delay``
    holds back the first event (Codex shows its "Working" status meanwhile); ``status`` answers an HTTP error
    instead (``kind="error"``)."""

    kind: str = "text"
    text: str = "OK."
    tool_name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    first_delay: float = 0.0
    chunk_chars: int = 12
    status: int = 200
    error_code: str = ""

    @classmethod
    def text_reply(cls, text: str = "OK.") -> Reply:
        """(a) a quick text answer."""
        return cls(kind="text", text=text)

    @classmethod
    def slow(cls, text: str, seconds: float = 5.0, first_delay: float = 0.0, chunk_chars: int = 4) -> Reply:
        """(b) a text answer whose deltas trickle over ``seconds`` (the real "working" screen)."""
        return cls(kind="text", text=text, seconds=seconds, first_delay=first_delay, chunk_chars=chunk_chars)

    @classmethod
    def function_call(cls, name: str, arguments: dict[str, Any], text: str = "") -> Reply:
        return cls(kind="function_call", text=text, tool_name=name, arguments=dict(arguments))

    @classmethod
    def exec_command(
        cls,
        cmd: str,
        *,
        workdir: str | None = None,
        justification: str = "",
        escalated: bool = False,
        text: str = "",
    ) -> Reply:
        """(c) Codex's shell tool. ``escalated`` asks to run outside the sandbox (``require_escalated``, with
        ``justification`` as the question Codex shows): under ``approval_policy = "on-request"`` that is what
        makes Codex ask the operator."""
        arguments: dict[str, Any] = {"cmd": cmd}
        if workdir:
            arguments["workdir"] = workdir
        if escalated:
            arguments["sandbox_permissions"] = "require_escalated"
        if justification:
            arguments["justification"] = justification
        return cls.function_call(EXEC_TOOL, arguments, text=text)

    @classmethod
    def error(cls, status: int = 500, code: str = "server_error", message: str = "The server had an error") -> Reply:
        return cls(kind="error", text=message, status=status, error_code=code)


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
    def is_responses(self) -> bool:
        return self.method == "POST" and self.path.rstrip("/").endswith("/responses")

    @property
    def turn_metadata(self) -> dict[str, Any]:
        """Codex's ``x-codex-turn-metadata`` (header, also in the body's ``client_metadata``)."""
        raw = self.headers.get("x-codex-turn-metadata") or ((self.body or {}).get("client_metadata") or {}).get(
            "x-codex-turn-metadata", ""
        )
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def is_title(self) -> bool:
        """Codex's thread-title request: one tool too, but ``thread_source: thread_title`` and a JSON-schema
        output format ``{"title": ...}``."""
        text_format = ((self.body or {}).get("text") or {}).get("format") or {}
        return self.turn_metadata.get("thread_source") == "thread_title" or text_format.get("type") == "json_schema"

    @property
    def main(self) -> bool:
        return self.is_responses and bool((self.body or {}).get("tools")) and not self.is_title

    @property
    def input_items(self) -> list[dict[str, Any]]:
        items = (self.body or {}).get("input")
        if isinstance(items, str):
            return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": items}]}]
        return [i for i in items or [] if isinstance(i, dict)]

    @property
    def last_user_text(self) -> str:
        """The text of the last user message that is the operator's (Codex's own `<environment_context>` and
        similar `<...>` blocks excluded)."""
        for item in reversed(self.input_items):
            if item.get("type", "message") != "message" or item.get("role") != "user":
                continue
            content = item.get("content")
            texts = [content] if isinstance(content, str) else [_part_text(p) for p in content or []]
            texts = [t.strip() for t in texts if t and t.strip() and not t.lstrip().startswith("<")]
            if texts:
                return texts[-1]
        return ""

    @property
    def tool_outputs(self) -> list[dict[str, Any]]:
        """The ``function_call_output`` items in this request (Codex resends the whole history every turn)."""
        return [i for i in self.input_items if i.get("type") == "function_call_output"]

    @property
    def has_tool_output(self) -> bool:
        """The request answers a tool call: its last input item is a ``function_call_output``."""
        items = self.input_items
        return bool(items) and items[-1].get("type") == "function_call_output"

    def tool_output_text(self, call_id: str | None = None) -> str:
        for item in reversed(self.tool_outputs):
            if call_id is None or item.get("call_id") == call_id:
                output = item.get("output")
                if isinstance(output, str):
                    return output
                if isinstance(output, dict):
                    return str(output.get("content", ""))
                if isinstance(output, list):
                    return "".join(_part_text(p) for p in output)
                return json.dumps(output)
        return ""

    def summary(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "model": self.model,
            "stream": self.stream,
            "main": self.main,
            "tools": len((self.body or {}).get("tools") or []),
            "status": self.status,
            "reply": self.reply_kind,
            "user": self.last_user_text[:60],
            "tool_output": self.has_tool_output,
        }


def _part_text(part: Any) -> str:
    if isinstance(part, dict):
        return str(part.get("text", ""))
    return str(part) if isinstance(part, str) else ""


def echo_responder(seconds: float = 0.0) -> Responder:
    """The default when the script is exhausted: a short, deterministic answer quoting the prompt."""

    def respond(request: RequestLog) -> Reply:
        if request.has_tool_output:
            return Reply.text_reply("The command finished.")
        prompt = request.last_user_text.splitlines()[0] if request.last_user_text else "(nothing)"
        text = f"Fake model here. You said: {prompt[:80]}"
        return Reply.slow(text, seconds=seconds) if seconds > 0 else Reply.text_reply(text)

    return respond


def _estimate_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, separators=(",", ":"))) // 4)


# --------------------------------------------------------------------------------------------------------- server


class FakeOpenAI(ScriptedServer[Reply, "RequestLog"]):
    """The fake server. Thread-safe; a context manager; `requests` is the log of everything received."""

    NAME = "OpenAI"

    def __init__(self, script: Iterable[ScriptItem] = (), **kwargs: Any) -> None:
        super().__init__(script, **kwargs)
        self.call_ids: list[str] = []
        self._seen_prefixes: set[int] = set()

    def default_responder(self) -> Responder:
        return echo_responder()

    @property
    def base_url(self) -> str:
        """What goes in Codex's ``[model_providers.<id>] base_url`` (it appends ``/responses``)."""
        return f"http://{self.host}:{self.port}/v1"

    def _issued_call(self, call_id: str) -> None:
        with self._lock:
            self.call_ids.append(call_id)

    def _usage(self, request: RequestLog, output_text: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
        body = request.body or {}
        prefix = {"instructions": body.get("instructions"), "tools": body.get("tools")}
        prefix_tokens = _estimate_tokens(prefix)
        input_tokens = prefix_tokens + _estimate_tokens(body.get("input", []))
        key = hash(json.dumps(prefix, sort_keys=True, default=str))
        with self._lock:
            cached = prefix_tokens if key in self._seen_prefixes else 0
            self._seen_prefixes.add(key)
        output_tokens = max(1, len(output_text) // 4 + (_estimate_tokens(arguments) + 20 if arguments else 0))
        return {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }


def _chunks(text: str, size: int) -> Iterator[str]:
    size = max(1, size)
    for i in range(0, len(text), size):
        yield text[i : i + size]


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class _Handler(JsonHandler["RequestLog"]):
    owner: FakeOpenAI
    server_version = "fake-openai/1"
    request_type = RequestLog
    secret_headers = ("authorization", "api-key")
    request_id_header = "x-request-id"

    def new_request_id(self) -> str:
        return _new_id("req")

    def _parse_body(self, raw: bytes) -> dict[str, Any]:
        if (self.headers.get("content-encoding") or "").lower() == "zstd":
            # Codex can zstd-compress request bodies (feature enable_request_compression); against this API-key
            # provider it did not, and the stdlib has no zstd: log it as undecodable rather than crash.
            return {"_undecodable": "zstd", "_bytes": len(raw)}
        try:
            body = json.loads(raw)
        except ValueError:
            return {"_undecodable": "json", "_bytes": len(raw)}
        return body if isinstance(body, dict) else {"_value": body}

    def _error(self, request: RequestLog, status: int, code: str, message: str) -> None:
        payload = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
        self._send_json(status, payload, request, f"error:{status}")

    # ---- routes
    def do_GET(self) -> None:
        request = self._log()
        if request.path.rstrip("/").endswith("/models"):
            payload = {"object": "list", "data": [{"id": DEFAULT_MODEL, "object": "model", "owned_by": "fake"}]}
            payload["models"] = []
            self._send_json(200, payload, request, "models")
        else:
            self._error(request, 404, "not_found", f"fake OpenAI: no route for GET {request.path}")

    def do_POST(self) -> None:
        request = self._log()
        if request.is_responses:
            self._responses(request)
        else:
            self._error(request, 404, "not_found", f"fake OpenAI: no route for POST {request.path}")

    def _responses(self, request: RequestLog) -> None:
        body = request.body
        if body is None or "_undecodable" in body or "input" not in body:
            self._error(request, 400, "invalid_request", "input: field required (or body not JSON)")
            return
        reply = self.owner._next_reply(request) if request.main else _side_reply(request)
        if reply.kind == "error":
            self._error(request, reply.status, reply.error_code, reply.text)
            return
        model = request.model or DEFAULT_MODEL
        items = self._items(reply)
        usage = self.owner._usage(request, reply.text, reply.arguments if reply.kind == "function_call" else None)
        if request.stream:
            self._stream(request, reply, model, items, usage)
        else:
            response = _response_object(model, "completed", [item for item, _ in items], usage)
            self._send_json(200, response, request, reply.kind)

    def _items(self, reply: Reply) -> list[tuple[dict[str, Any], list[str]]]:
        """The finished output items of `reply`, each with the deltas that stream it."""
        items: list[tuple[dict[str, Any], list[str]]] = []
        if reply.text or reply.kind == "text":
            message = {
                "id": _new_id("msg"),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
            }
            items.append((message, list(_chunks(reply.text, reply.chunk_chars))))
        if reply.kind == "function_call":
            call_id = "call_" + uuid.uuid4().hex[:24]
            self.owner._issued_call(call_id)
            arguments = json.dumps(reply.arguments)
            call = {
                "id": _new_id("fc"),
                "type": "function_call",
                "status": "completed",
                "name": reply.tool_name,
                "call_id": call_id,
                "arguments": arguments,
            }
            items.append((call, list(_chunks(arguments, 24))))
        return items

    def _stream(
        self,
        request: RequestLog,
        reply: Reply,
        model: str,
        items: list[tuple[dict[str, Any], list[str]]],
        usage: dict[str, Any],
    ) -> None:
        stopping = self.owner._stopping
        response_id = _new_id("resp")
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("x-request-id", _new_id("req"))
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        sequence = itertools.count()

        def event(name: str, data: dict[str, Any]) -> None:
            data = {"type": name, "sequence_number": next(sequence), **data}
            payload = f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()

        try:
            if reply.first_delay and stopping.wait(reply.first_delay):
                return
            shell = _response_object(model, "in_progress", [], None, response_id)
            event("response.created", {"response": shell})
            event("response.in_progress", {"response": shell})
            total_deltas = sum(len(deltas) for _, deltas in items)
            pause = reply.seconds / max(1, total_deltas)
            for index, (item, deltas) in enumerate(items):
                where = {"item_id": item["id"], "output_index": index}
                if item["type"] == "message":
                    event("response.output_item.added", {"output_index": index, "item": {**item, "content": []}})
                    part = {"type": "output_text", "text": "", "annotations": []}
                    event("response.content_part.added", {**where, "content_index": 0, "part": part})
                    for delta in deltas:
                        if pause and stopping.wait(pause):
                            return
                        event("response.output_text.delta", {**where, "content_index": 0, "delta": delta})
                    event("response.output_text.done", {**where, "content_index": 0, "text": reply.text})
                    event("response.content_part.done", {**where, "content_index": 0, "part": item["content"][0]})
                else:
                    added = {**item, "status": "in_progress", "arguments": ""}
                    event("response.output_item.added", {"output_index": index, "item": added})
                    for delta in deltas:
                        if pause and stopping.wait(pause):
                            return
                        event("response.function_call_arguments.delta", {**where, "delta": delta})
                    event("response.function_call_arguments.done", {**where, "arguments": item["arguments"]})
                event("response.output_item.done", {"output_index": index, "item": item})
            final = _response_object(model, "completed", [item for item, _ in items], usage, response_id)
            event("response.completed", {"response": final})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.owner._finished(request, 200, f"stream:{reply.kind}")
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (e.g. the operator pressed Esc in Codex): that is fine.
            self.owner._finished(request, 200, f"stream:{reply.kind}:aborted")
            self.close_connection = True


def _side_reply(request: RequestLog) -> Reply:
    """Answers to Codex's own side requests (the thread title): short and well-formed."""
    if request.is_title:
        return Reply.text_reply(json.dumps({"title": "Fake session"}))
    return Reply.text_reply("Fake session")


def _response_object(
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    response_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id or _new_id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "usage": usage,
    }


# --------------------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    return serve_from_shell(
        FakeOpenAI, echo_responder, "python -m tests.fakes.openai_server", __doc__.split("\n")[0], argv
    )


FakeOpenAI.handler = _Handler


if __name__ == "__main__":
    raise SystemExit(main())
