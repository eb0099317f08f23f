"""The fake Anthropic Messages API speaks the wire format Claude Code expects (fast; no agent needed)."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import pytest

from tests.fakes.anthropic_server import FakeAnthropic, Reply, main


def post(fake: FakeAnthropic, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json", "x-api-key": "sk-test"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def turn(text: str = "hi", stream: bool = True, tools: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-test-1",
        "max_tokens": 1024,
        "stream": stream,
        "system": [{"type": "text", "text": "You are Claude Code. " * 50}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
    }
    if tools:
        body["tools"] = [{"name": "Bash", "input_schema": {"type": "object"}}]
    return body


def test_text_stream_has_the_event_sequence_and_usage() -> None:
    with FakeAnthropic(script=[Reply.text_reply("Hello there, operator.")]) as fake:
        status, headers, raw = post(fake, "/v1/messages?beta=true", turn())
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["request-id"].startswith("req_")
    events = sse(raw)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names[1:3] == ["content_block_start", "ping"] and "content_block_stop" in names
    assert all(data["type"] == name for name, data in events)
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "Hello there, operator."
    start_usage = events[0][1]["message"]["usage"]
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "end_turn"
    assert start_usage["cache_creation_input_tokens"] > 100 and start_usage["input_tokens"] > 0
    assert final["usage"]["output_tokens"] >= 5
    (request,) = fake.requests
    assert request.main and request.stream and request.model == "claude-test-1"
    assert request.query == {"beta": ["true"]} and request.reply_kind == "stream:text"
    assert "x-api-key" not in request.headers  # never logged


def test_tool_use_stream_and_cache_read_on_the_next_turn() -> None:
    script = [Reply.tool_use("Bash", {"command": "touch x"}), Reply.text_reply("done")]
    with FakeAnthropic(script=script) as fake:
        _, _, raw = post(fake, "/v1/messages", turn())
        _, _, raw2 = post(fake, "/v1/messages", turn("again"))
    events = sse(raw)
    block = next(d["content_block"] for n, d in events if n == "content_block_start")
    assert block["type"] == "tool_use" and block["name"] == "Bash" and block["id"].startswith("toolu_")
    partial = "".join(d["delta"]["partial_json"] for n, d in events if n == "content_block_delta")
    assert json.loads(partial) == {"command": "touch x"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    usage2 = sse(raw2)[0][1]["message"]["usage"]
    assert usage2["cache_read_input_tokens"] > 100 and usage2["cache_creation_input_tokens"] == 0


def test_slow_reply_trickles_and_side_requests_do_not_consume_the_script() -> None:
    with FakeAnthropic(script=[Reply.slow("abcdefghij" * 2, seconds=1.0, chunk_chars=2)]) as fake:
        status, _, raw = post(fake, "/v1/messages", turn(stream=False, tools=False))
        assert status == 200 and json.loads(raw)["content"][0]["type"] == "text"
        started = time.monotonic()
        post(fake, "/v1/messages", turn())
        assert time.monotonic() - started >= 0.9
        assert fake.pending == 0
        # Exhausted script: the default echo answer.
        _, _, raw = post(fake, "/v1/messages", turn("what now"))
    text = "".join(d["delta"]["text"] for n, d in sse(raw) if n == "content_block_delta")
    assert "what now" in text


def test_other_endpoints() -> None:
    with FakeAnthropic() as fake:
        status, _, raw = post(fake, "/v1/messages/count_tokens?beta=true", turn())
        assert status == 200 and json.loads(raw)["input_tokens"] > 100
        status, _, raw = post(fake, "/api/hello", {})
        assert status == 404 and json.loads(raw)["error"]["type"] == "not_found_error"
        status, _, raw = post(fake, "/v1/messages", {"model": "x"})
        assert status == 400
    assert [r.path for r in fake.requests] == ["/v1/messages/count_tokens", "/api/hello", "/v1/messages"]


def test_error_reply_and_wait_for_timeout() -> None:
    with FakeAnthropic(script=[Reply.error(529, "overloaded_error", "Overloaded")]) as fake:
        status, headers, raw = post(fake, "/v1/messages", turn())
        assert status == 529 and json.loads(raw)["error"]["type"] == "overloaded_error"
        assert headers["request-id"].startswith("req_")
        with pytest.raises(TimeoutError, match="1/2 matching"):
            fake.wait_for(lambda r: r.main, timeout=0.2, count=2)


def test_cli_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--port" in capsys.readouterr().out
