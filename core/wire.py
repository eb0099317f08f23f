"""The socket's framing (CONTRACTS.md "Socket"): one UTF-8 JSON object per `\\n`-terminated line.

Shared by the server and the socket client so both sides agree on the limits and on what a malformed line is.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from core.errors import BenchError

SOCKET_NAME = "relayboard.sock"
MAX_REQUEST_BYTES = 1024 * 1024
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
DISCARD_LIMIT = 64 * 1024 * 1024  # an oversized line longer than this is not read to its end: the connection closes
READ_CHUNK = 64 * 1024
# Deeper than this is "json decode error" at any stack depth: a value the decoder barely accepted (~980 levels)
# could not be encoded back (an echoed id), and that request went unanswered.
MAX_DEPTH = 64
REQUEST_KEYS = frozenset({"method", "params", "app_session_token", "id"})


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# NaN and ±Infinity are not JSON (RFC 8259): accepted, they would be echoed back (an id) as invalid JSON.
_DECODER = json.JSONDecoder(parse_constant=_not_json)
_JSON_SPACE = " \t\n\r"


def malformed(reason: str, message: str) -> BenchError:
    return BenchError("malformed_request", message, details={"reason": reason})


def decode_line(line: bytes) -> Any:
    """One line (without its `\\n`) as a JSON value, or `malformed_request` with the contract's reason."""
    if not line:
        raise malformed("empty line", "empty line: send one JSON object per line")
    if b"\r" in line:
        raise malformed("stray CR", "a carriage return in the line: lines end with \\n only")
    if b"\x00" in line:
        raise malformed("embedded NUL", "a NUL byte in the line")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("invalid utf-8", "the line is not valid UTF-8") from None
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        raise malformed("json decode error", "the line is not valid JSON (or is nested too deeply)") from None
    if text[end:].strip(_JSON_SPACE):
        raise malformed("trailing content", "content after the JSON object: one object per line")
    if _too_deep(value):
        raise malformed("json decode error", f"the line is nested more than {MAX_DEPTH} levels deep")
    return value


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def encode(message: dict[str, Any]) -> bytes:
    # ASCII-only JSON: no raw control character or CR can reach the wire, whatever a string holds.
    return json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"


def encode_ok(result: BaseModel, version: str, request_id: Any = None) -> bytes:
    """A success envelope with the result serialised by pydantic itself (a third of the cost of dumping to Python
    and then to JSON: the server's hot path). JSON escapes every control character, so no raw newline or CR
    reaches the line."""
    head = b'{"ok":true,"app_contract_version":' + json.dumps(version).encode("ascii") + b',"result":'
    tail = b"" if request_id is None else b',"id":' + json.dumps(request_id).encode("ascii")
    return head + result.model_dump_json().encode() + tail + b"}\n"


@dataclass(frozen=True)
class Oversized:
    """A line longer than the limit, read to its end and dropped."""

    size: int


class LineReader:
    """Lines from a stream, never buffering more than `limit` bytes of one line."""

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._reader = reader
        self._limit = limit
        self._buffer = bytearray()

    @property
    def partial(self) -> bool:
        """Part of a line has arrived and its end has not."""
        return bool(self._buffer)

    async def next(self) -> bytes | Oversized | None:
        """The next line, an `Oversized` marker, or None at end of stream (a trailing partial line is dropped)."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return Oversized(len(line)) if len(line) > self._limit else line
            if len(self._buffer) > self._limit:
                return await self._discard()
            chunk = await self._reader.read(READ_CHUNK)
            if not chunk:
                return None
            self._buffer += chunk

    async def _discard(self) -> Oversized | None:
        size = len(self._buffer)
        self._buffer.clear()
        while size <= DISCARD_LIMIT:
            chunk = await self._reader.read(READ_CHUNK)
            if not chunk:
                return None
            end = chunk.find(b"\n")
            if end >= 0:
                self._buffer += chunk[end + 1 :]
                return Oversized(size + end)
            size += len(chunk)
        raise ConnectionError("line too long to skip")
