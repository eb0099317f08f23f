"""The socket's framing in-process (the conformance suite drives the same over a real server): every malformed
line has its reason, lines are never buffered past the limit, and answers are one line of valid JSON."""

from __future__ import annotations

import asyncio
import json

import pytest

from core.errors import BenchError
from core.sessions import Preflight
from core.wire import MAX_DEPTH, LineReader, Oversized, decode_line, encode, encode_ok


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "empty line"),
        (b'{"method":"app.preflight"}\r', "stray CR"),
        (b'{"method":"app\rpreflight"}', "stray CR"),
        (b'{"method":"app.preflight"}\x00', "embedded NUL"),
        (b'{"method":"app.preflight"} x', "trailing content"),
        (b'{"method":"app.preflight"}{}', "trailing content"),
        (b'{"method":"\xff\xfe"}', "invalid utf-8"),
        (b"{not json", "json decode error"),
        (b'{"id": NaN}', "json decode error"),
        (b'{"id": -Infinity}', "json decode error"),
        (b"[" * 5000 + b"]" * 5000, "json decode error"),
        (b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), "json decode error"),
        (b"[" * 100 + b"]" * 100, "json decode error"),  # lists count as deep as objects
        (b'{"deep":' + b"[" * 100 + b"]" * 100 + b', "x": 1}', "json decode error"),  # a scalar beside it
        (b'{"method":"app.preflight"}\x0c', "trailing content"),  # form feed is not JSON whitespace
    ],
)
def test_malformed_lines_have_their_reason(line: bytes, reason: str) -> None:
    with pytest.raises(BenchError) as caught:
        decode_line(line)
    assert (caught.value.code, caught.value.details) == ("malformed_request", {"reason": reason})


def test_good_lines_decode_with_surrounding_json_space() -> None:
    assert decode_line(b'  {"method": "app.preflight"}\t ') == {"method": "app.preflight"}
    assert decode_line(b"[1, 2]") == [1, 2]  # a value, not yet a request: the server says "not an object"
    nested = b'{"a":' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH
    assert decode_line(nested) is not None  # exactly the limit is fine
    assert decode_line('{"name": "é ☃"}'.encode()) == {"name": "é ☃"}


def test_answers_are_one_ascii_line_and_the_fast_path_matches() -> None:
    message = {"ok": True, "result": {"text": "line\nbreak\r and \x1b and é"}, "id": 3}
    data = encode(message)
    assert data.endswith(b"\n") and data.count(b"\n") == 1 and b"\r" not in data
    assert data.isascii() and json.loads(data) == message
    result = Preflight(socket_reachable=True, daemon_reachable=True, code="ok", pid=7, sessions=1, max_sessions=8)
    fast = encode_ok(result, "1.2", "req-9")
    assert fast.endswith(b"}\n") and fast.count(b"\n") == 1
    assert json.loads(fast) == {"ok": True, "app_contract_version": "1.2", "result": result.model_dump(), "id": "req-9"}
    assert "id" not in json.loads(encode_ok(result, "1.2"))


async def _lines(chunks: list[bytes], limit: int) -> list[object]:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    lines = LineReader(reader, limit)
    out: list[object] = []
    while (line := await lines.next()) is not None:
        out.append(line)
    return out


async def test_line_reader_splits_limits_and_recovers() -> None:
    assert await _lines([b"ab\ncd", b"\n\nef"], 10) == [b"ab", b"cd", b""]  # a partial line at EOF is dropped
    assert await _lines([b"x" * 10 + b"\nok\n"], 10) == [b"x" * 10, b"ok"]  # exactly the limit is a line
    assert await _lines([b"x" * 11 + b"\nok\n"], 10) == [Oversized(11), b"ok"]
    # A long line arriving in pieces is skipped without being held, counted to its end, and the next is read.
    assert await _lines([b"y" * 7, b"y" * 7, b"y" * 7, b"y\nafter\n"], 10) == [Oversized(22), b"after"]


async def test_a_line_of_exactly_the_limit_arriving_in_pieces_is_a_line() -> None:
    reader = asyncio.StreamReader()
    lines = LineReader(reader, 10)
    pending = asyncio.create_task(lines.next())
    reader.feed_data(b"x" * 10)
    await asyncio.sleep(0)
    reader.feed_data(b"\n")
    assert await pending == b"x" * 10


async def test_an_oversized_line_arriving_in_pieces_is_skipped_and_counted() -> None:
    reader = asyncio.StreamReader()
    lines = LineReader(reader, 10)
    pending = asyncio.create_task(lines.next())
    for piece in (b"y" * 8, b"y" * 8, b"y" * 8, b"yy\nnext\n"):  # 26 bytes before the newline, in four reads
        reader.feed_data(piece)
        await asyncio.sleep(0)
    assert await pending == Oversized(26)
    assert await lines.next() == b"next"
    pending = asyncio.create_task(lines.next())
    reader.feed_data(b"w" * 12)  # over the limit, then the newline first thing in the next read
    await asyncio.sleep(0)
    reader.feed_data(b"\nafter\n")
    assert await pending == Oversized(12)
    assert await lines.next() == b"after"
    reader.feed_data(b"z" * 20)
    reader.feed_eof()
    assert await lines.next() is None  # the connection ended inside an oversized line


async def test_line_reader_knows_a_line_is_half_sent() -> None:
    reader = asyncio.StreamReader()
    lines = LineReader(reader, 100)
    reader.feed_data(b"half")
    pending = asyncio.create_task(lines.next())
    await asyncio.sleep(0)
    assert lines.partial and not pending.done()
    reader.feed_data(b" done\n")
    assert await pending == b"half done"
    assert not lines.partial
