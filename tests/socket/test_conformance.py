"""Socket conformance: a real `relayboard headless` process driven with raw bytes over its Unix socket, against
CONTRACTS.md "Socket" (framing, limits, gates, sessions, notices, lifetime, robustness).

Most tests share one module-scoped server; tests that signal, kill or race a server start their own.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.socket.conftest import NOBODY, Conn, Headless, Lab, err, ok, python_for, wait_until

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
REQUEST_LIMIT = MIB
RESPONSE_LIMIT = 8 * MIB
PREFLIGHT = b'{"method":"app.preflight"}'
PREFLIGHT_KEYS = {"socket_reachable", "daemon_reachable", "code", "pid", "sessions", "max_sessions"}
HELLO_KEYS = {
    "app_session_token",
    "app_session_id",
    "daemon_version",
    "schema_version",
    "app_contract_version",
    "supported_minor_range",
    "host_user_id",
    "capability_flags",
    "state",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def preflight_ok(conn: Conn) -> dict[str, Any]:
    result = ok(conn.call("app.preflight"))
    assert result["code"] == "ok", result
    return result


def timed_preflight(server: Headless) -> float:
    """Seconds a fresh, well-behaved client needs for a preflight answer (fails if it gets none)."""
    started = time.monotonic()
    with server.connect(timeout=2.0) as probe:
        result = ok(probe.call("app.preflight", id="probe", timeout=2.0))
    assert result["pid"] == server.pid
    return time.monotonic() - started


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- envelope and framing ----------------------------------------------------------------------------------------------
def test_preflight_envelope_on_the_wire(server: Headless, conn: Conn) -> None:
    conn.send(b'{"method":"app.preflight","id":7}\n')
    line = conn.line()
    assert b"\r" not in line and b"\n" not in line
    reply = json.loads(line.decode("utf-8"))
    assert reply == {
        "ok": True,
        "app_contract_version": "1.2",
        "result": {
            "socket_reachable": True,
            "daemon_reachable": True,
            "code": "ok",
            "pid": server.pid,
            "sessions": reply["result"]["sessions"],
            "max_sessions": 8,
        },
        "id": 7,
    }
    assert is_int(reply["result"]["sessions"]) and reply["result"]["sessions"] >= 0
    # Without an id there is none in the answer; a string id comes back as given.
    assert "id" not in conn.call("app.preflight")
    assert conn.call("app.preflight", id="req-ü")["id"] == "req-ü"


DEEP = b'{"method":"app.preflight","params":' + b"[" * 5000 + b"]" * 5000 + b"}"
FRAMING = [
    pytest.param(b"\n", "empty line", id="empty-line"),
    pytest.param(PREFLIGHT + b"\r\n", "stray CR", id="crlf"),
    pytest.param(b'{"method":"app.pre\rflight"}\n', "stray CR", id="cr-inside"),
    pytest.param(b"\r\n", "stray CR", id="bare-crlf"),
    pytest.param(PREFLIGHT + b"\x00\n", "embedded NUL", id="nul-after"),
    pytest.param(b'{"method":"app.\x00preflight"}\n', "embedded NUL", id="nul-inside"),
    pytest.param(PREFLIGHT + b" x\n", "trailing content", id="trailing-word"),
    pytest.param(PREFLIGHT + PREFLIGHT + b"\n", "trailing content", id="two-objects"),
    pytest.param(b"\xff\xfe" + PREFLIGHT + b"\n", "invalid utf-8", id="bad-utf8-bom"),
    pytest.param(b'{"method":"app.preflight","id":"\xc3"}\n', "invalid utf-8", id="truncated-utf8"),
    pytest.param(b"{not json\n", "json decode error", id="not-json"),
    pytest.param(b'{"method":"app.preflight"\n', "json decode error", id="unclosed"),
    pytest.param(DEEP + b"\n", "json decode error", id="nested-5000"),
    pytest.param(b'{"method":"app.preflight","id":NaN}\n', "json decode error", id="nan"),
    pytest.param(b'{"method":"app.preflight","id":-Infinity}\n', "json decode error", id="infinity"),
    pytest.param(b"[1,2]\n", "not an object", id="array"),
    pytest.param(b'"app.preflight"\n', "not an object", id="string"),
    pytest.param(b"42\n", "not an object", id="number"),
    pytest.param(b"null\n", "not an object", id="null"),
    pytest.param(b'{"method":"app.preflight","params":[1]}\n', "not an object", id="params-array"),
]


@pytest.mark.parametrize(("line", "reason"), FRAMING)
def test_framing_errors_are_malformed_request(server: Headless, conn: Conn, line: bytes, reason: str) -> None:
    conn.send(line)
    error = err(conn.response(), "malformed_request")
    assert error["details"]["reason"] == reason
    # The connection keeps working, and so does the server for everyone else.
    assert ok(conn.call("app.preflight", id="after"))["pid"] == server.pid
    with server.connect() as other:
        preflight_ok(other)
    assert server.proc.poll() is None


def test_deep_nesting_does_not_break_the_connection(server: Headless, conn: Conn) -> None:
    # Pipelined in one write: a deep array, an ordinary request, then deep objects, all on one connection.
    deep_objects = b'{"method":"app.preflight","params":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"
    conn.send(DEEP + b"\n" + b'{"method":"app.preflight","id":1}\n' + deep_objects + b"\n")
    assert err(conn.response(), "malformed_request")["details"]["reason"] == "json decode error"
    assert ok(conn.response())["code"] == "ok"
    assert err(conn.response(), "malformed_request")["details"]["reason"] == "json decode error"
    deep_ids = b'{"method":"app.preflight","id":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    conn.send(deep_ids)
    assert err(conn.response(), "malformed_request")["details"]["reason"] == "json decode error"
    preflight_ok(conn)


def test_every_nesting_depth_gets_an_answer(conn: Conn) -> None:
    # Around the interpreter's recursion limit a value can decode yet fail to encode back: each request must
    # still be answered (its id echoed exactly), or refused as malformed; never left without an answer.
    for depth in [1, 10, 30, *range(900, 1001)]:
        request_id = b"[" * depth + b"7" + b"]" * depth
        conn.send(b'{"method":"app.preflight","id":' + request_id + b"}\n")
        line = conn.line(timeout=2)
        if line.startswith(b'{"ok":true'):
            assert line.endswith(b',"id":' + request_id + b"}"), depth  # compact JSON: the id as sent
        else:
            error = err(json.loads(line), "malformed_request")
            assert error["details"]["reason"] == "json decode error", depth
            assert depth > 30, f"a modest nesting ({depth}) was refused"
    preflight_ok(conn)


def test_unknown_request_key_is_malformed(conn: Conn) -> None:
    error = err(conn.call("app.preflight", bogus=1), "malformed_request")
    assert error["details"]["reason"] == "unknown key"


def test_unknown_method(session: Conn) -> None:
    error = err(session.call("app.no_such_call", id=3), "unknown_method")
    assert error["details"]["method"] == "app.no_such_call"


# -- size limits -------------------------------------------------------------------------------------------------------
def padded(total: int) -> bytes:
    """A preflight line of exactly `total` bytes (whitespace after the object is allowed JSON)."""
    return PREFLIGHT + b" " * (total - len(PREFLIGHT))


@pytest.mark.parametrize("size", [REQUEST_LIMIT + 1, 3 * REQUEST_LIMIT + 12345], ids=["limit+1", "3MiB+"])
def test_request_over_1mib_is_payload_too_large(server: Headless, conn: Conn, size: int) -> None:
    # The request behind it, in the same write, must survive the oversized line being skipped.
    line = b'{"method":"app.preflight","params":{"pad":"' + b"x" * size + b'"}}'
    line = line[: size - 3] + b'"}}'
    assert len(line) == size
    conn.send(line + b"\n" + b'{"method":"app.preflight","id":"next"}\n')
    error = err(conn.response(timeout=10), "payload_too_large")
    assert error["details"] == {"size_limit_bytes": REQUEST_LIMIT, "actual_size_bytes": size}
    reply = conn.response()
    assert reply["id"] == "next" and ok(reply)["code"] == "ok"
    preflight_ok(conn)


def test_request_of_exactly_1mib_is_served(conn: Conn) -> None:
    conn.send(padded(REQUEST_LIMIT) + b"\n")
    assert ok(conn.response(timeout=10))["code"] == "ok"
    conn.send(padded(REQUEST_LIMIT + 1) + b"\n")
    error = err(conn.response(timeout=10), "payload_too_large")
    assert error["details"] == {"size_limit_bytes": REQUEST_LIMIT, "actual_size_bytes": REQUEST_LIMIT + 1}


def test_response_over_8mib_is_payload_too_large(session: Conn) -> None:
    from_memory = 64 * 1024  # core/memory.py MAX_VALUE (characters; ASCII here, so bytes too)
    scope = unique("big")
    value = "v" * from_memory
    # Batches, reading each batch's answers before the next: the answers echo the values (~13 MB in all).
    for batch in range(20):
        requests = [
            session.request("app.memory.set", {"scope": scope, "key": f"k{n:03d}", "value": value}, id=n)
            for n in range(batch * 10, batch * 10 + 10)
        ]
        session.send(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
        answers = {r["id"]: r for r in (session.response(timeout=10) for _ in requests)}
        assert sorted(answers) == [r["id"] for r in requests]
        assert all(ok(a)["value"] == value for a in answers.values())
    one_over = session.call("app.memory.set", {"scope": scope, "key": "too-big", "value": value + "v"})
    assert err(one_over, "validation_failed")["details"]["field"] == "value"

    listing = {"limit": 200, "filters": {"scope": scope}}
    reply = session.call("app.memory.list", listing, id="big-list", timeout=30)
    assert reply["id"] == "big-list"
    details = err(reply, "payload_too_large")["details"]
    assert set(details) == {"size_limit_bytes", "actual_size_bytes"}
    assert details["size_limit_bytes"] == RESPONSE_LIMIT
    assert is_int(details["actual_size_bytes"]) and details["actual_size_bytes"] > RESPONSE_LIMIT
    assert details["actual_size_bytes"] > 200 * from_memory
    # Under the cap the same list is served, and the connection kept working after the refusal.
    half = ok(session.call("app.memory.list", {**listing, "limit": 100}, timeout=30))
    assert len(half["rows"]) == 100 and all(row["value"] == value for row in half["rows"])


# -- gates -------------------------------------------------------------------------------------------------------------
def test_session_gates(server: Headless, conn: Conn) -> None:
    assert err(conn.call("app.dashboard"), "app_session_required")
    assert err(conn.call("app.dashboard", token=""), "app_session_required")
    assert err(conn.call("app.dashboard", token=12345), "app_session_required")
    assert err(conn.call("app.dashboard", token="not-a-session-token"), "app_session_required")
    assert err(conn.call("app.dashboard", token=str(uuid.uuid4())), "app_session_expired")
    assert err(conn.call("app.memory.set", {"key": "gated", "value": "x"}), "app_session_required")

    with server.connect() as first:
        first.hello()
        token = first.token
        assert ok(first.call("app.dashboard"))

    # Closed: the token ends with its connection (the server notices the close asynchronously).
    def expired() -> bool:
        reply = conn.call("app.dashboard", token=token)
        if reply["ok"]:
            return False
        return err(reply, "app_session_expired") is not None

    assert wait_until(expired, timeout=5), "a token outlived its connection"
    # No session needed for preflight and hello, whatever token comes along.
    for stale in (None, token, "junk"):
        assert ok(conn.call("app.preflight", token=stale))["code"] == "ok"
    assert err(conn.call("app.memory.get", {"key": "gated"}, token=token), "app_session_expired")


def test_another_uid_is_denied_everything(lab: Lab) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the test runs a second server as uid 65534 (nobody) and connects to it as root")
    if python_for(NOBODY) is None:
        pytest.skip(f"no Python {sys.version_info[:2]} interpreter that uid {NOBODY} may execute")
    home = lab.home(owner=NOBODY)
    foreign = lab.start(home, user=NOBODY)
    assert os.stat(foreign.sock).st_uid == NOBODY  # really served by nobody
    with foreign.connect() as conn:
        requests = [
            conn.request("app.preflight", id="p"),
            conn.request("app.preflight"),
            conn.request("app.hello", {"client_id": "root"}),
            conn.request("app.dashboard"),  # the uid gate comes before the session gate
            conn.request("app.dashboard", token=str(uuid.uuid4())),
            conn.request("app.no_such_call"),
            conn.request("app.memory.set", {"key": "k", "value": "v"}, token="junk"),
        ]
        for request in requests:
            conn.send_json(request)
            reply = conn.response()
            err(reply, "permission_denied")
            assert reply.get("id") == request.get("id")
    assert foreign.proc.poll() is None
    foreign.signal(signal.SIGTERM)
    assert foreign.wait() == 0
    assert not foreign.sock.exists()


# -- hello and sessions ------------------------------------------------------------------------------------------------
def test_hello_result(server: Headless) -> None:
    with server.connect() as a, server.connect() as b:
        first = a.hello(client_version="1.2.3")
        second = b.hello(surface="tui", project_id="proj")
    for result in (first, second):
        assert set(result) == HELLO_KEYS
        token = result["app_session_token"]
        assert isinstance(token, str) and uuid.UUID(token).version == 4 and str(uuid.UUID(token)) == token
        assert is_int(result["app_session_id"]) and result["app_session_id"] >= 1
        assert isinstance(result["daemon_version"], str) and result["daemon_version"]
        assert is_int(result["schema_version"]) and result["schema_version"] >= 1
        assert result["app_contract_version"] == "1.2"
        minors = result["supported_minor_range"]
        assert set(minors) == {"min", "max"} and is_int(minors["min"]) and is_int(minors["max"])
        assert minors["min"] <= 1 <= minors["max"]
        assert result["host_user_id"] == "tester"
        assert isinstance(result["capability_flags"], dict)
        assert result["state"] == "ok"
    assert second["app_session_id"] > first["app_session_id"]
    assert second["app_session_token"] != first["app_session_token"]


@pytest.mark.usefixtures("no_sessions")
def test_hello_unsupported_major_creates_no_session(server: Headless, conn: Conn) -> None:
    reply = conn.call("app.hello", {"client_id": "future", "client_app_contract_major": 2}, id="h")
    assert reply["id"] == "h"
    error = err(reply, "app_contract_major_unsupported")
    assert error["details"] == {"daemon_app_contract_version": "1.2", "client_app_contract_major": 2}
    assert ok(conn.call("app.preflight"))["sessions"] == 0
    assert err(conn.call("app.dashboard"), "app_session_required")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"client_app_contract_major": True}, "client_app_contract_major", id="major-true"),
        pytest.param({"client_app_contract_major": 1.0}, "client_app_contract_major", id="major-float"),
        pytest.param({"client_app_contract_major": "1"}, "client_app_contract_major", id="major-string"),
        pytest.param({"client_app_contract_major": 0}, "client_app_contract_major", id="major-zero"),
        pytest.param({"client_id": ""}, "client_id", id="client-id-empty"),
        pytest.param({"client_id": "c" * 129}, "client_id", id="client-id-129"),
        pytest.param({"client_id": None}, "client_id", id="client-id-missing"),
        pytest.param({"client_version": "v" * 65}, "client_version", id="client-version-65"),
        pytest.param({"surface": "web"}, "surface", id="surface-unknown"),
        pytest.param({"surface": "headless"}, "surface", id="surface-headless"),
        pytest.param({"bogus": 1}, "bogus", id="unknown-param"),
    ],
)
@pytest.mark.usefixtures("no_sessions")
def test_hello_validation(conn: Conn, params: dict[str, Any], field: str) -> None:
    body = {"client_id": "conformance", **params}
    body = {k: v for k, v in body.items() if v is not None}
    error = err(conn.call("app.hello", body), "validation_failed")
    assert error["details"]["field"] == field
    assert ok(conn.call("app.preflight"))["sessions"] == 0


@pytest.mark.usefixtures("no_sessions")
def test_hello_accepts_the_longest_names(conn: Conn) -> None:
    result = conn.hello(client_id="c" * 128, client_version="v" * 64, client_app_contract_major=1, surface="scheduler")
    assert ok(conn.call("app.dashboard"))
    assert result["state"] == "ok"


@pytest.mark.usefixtures("no_sessions")
def test_at_most_8_sessions(server: Headless) -> None:
    conns = [server.connect() for _ in range(9)]
    try:
        results = [c.hello(client_id=f"s{n}") for n, c in enumerate(conns[:8])]
        ids = [r["app_session_id"] for r in results]
        assert ids == sorted(ids) and len(set(ids)) == 8
        assert ok(conns[8].call("app.preflight"))["sessions"] == 8

        refused = conns[8].call("app.hello", {"client_id": "ninth"}, id=9)
        details = err(refused, "validation_failed")["details"]
        assert details["reason"] == "too_many_sessions" and details["field"] == "app.hello"
        assert refused["id"] == 9
        # Nobody was evicted to make room.
        for c in conns[:8]:
            assert ok(c.call("app.routing.status"))
        assert ok(conns[8].call("app.preflight"))["sessions"] == 8

        first_token = conns[0].token
        conns[0].close()

        def hello_again() -> bool:
            reply = conns[8].call("app.hello", {"client_id": "ninth"})
            if reply["ok"]:
                conns[8].token = reply["result"]["app_session_token"]
                return True
            assert err(reply, "validation_failed")["details"]["reason"] == "too_many_sessions"
            return False

        assert wait_until(hello_again, timeout=5), "a closed connection's session was never freed"
        for c in conns[1:]:
            assert ok(c.call("app.routing.status"))
        assert err(conns[8].call("app.routing.status", token=first_token), "app_session_expired")
        assert ok(conns[8].call("app.preflight"))["sessions"] == 8
    finally:
        for c in conns:
            c.close()


def _home_files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def test_token_never_written_and_surface_stamped(server: Headless) -> None:
    key = unique("surface")
    with server.connect() as agent:
        hello = agent.hello(surface="agent", project_id="proj-x")
        token = hello["app_session_token"]
        ok(agent.call("app.memory.set", {"key": key, "value": "agent wrote this"}))
        state = ok(agent.call("app.routing.status"))["enabled"]
        ok(agent.call("app.routing.set_enabled", {"enabled": not state}))
        ok(agent.call("app.routing.set_enabled", {"enabled": state}))
        err(agent.call("app.memory.get", {"key": unique("missing")}), "not_found")
        err(agent.call("app.no_such_call"), "unknown_method")
        events = ok(agent.call("app.event.list", {"limit": 20}))["rows"]
    with server.connect() as cli:
        cli.hello()
        cli_key = unique("cli")
        ok(cli.call("app.memory.set", {"key": cli_key, "value": "cli wrote this"}))
        # The first session's token has ended; using it must not get it written anywhere either.
        err(cli.call("app.dashboard", token=token), "app_session_expired")
        cli_events = ok(cli.call("app.event.list", {"limit": 5, "filters": {"event_type": "memory_set"}}))["rows"]

    mine = [e for e in events if e["event_type"] == "memory_set" and e["payload"].get("key") == key]
    toggles = [e for e in events if e["event_type"] == "routing_toggled"][:2]
    assert len(mine) == 1 and len(toggles) == 2, events
    for event in [*mine, *toggles]:
        assert event["surface_id"] == "agent" and event["origin"] == "agent", event
        assert event["project_id"] == "proj-x", event
    theirs = [e for e in cli_events if e["payload"].get("key") == cli_key]
    assert len(theirs) == 1 and theirs[0]["surface_id"] == "cli" and theirs[0]["origin"] == "cli", cli_events

    files = _home_files(server.home)
    for name in ("relayboard.db", "audit.jsonl", "relayboard.log"):
        assert name in files, sorted(files)
    audit = files["audit.jsonl"].decode()
    assert mine[0]["event_id"] in audit and all(t["event_id"] in audit for t in toggles)
    wal = files.get("relayboard.db-wal", b"") + files["relayboard.db"]
    assert mine[0]["event_id"].encode() in wal  # the spine really is in these bytes
    needles = {token.encode(), token.upper().encode(), uuid.UUID(token).hex.encode()}
    for name, data in {**files, "stderr": server.stderr().encode()}.items():
        for needle in needles:
            assert needle not in data, f"the session token was written to {name}"


# -- where the server listens ------------------------------------------------------------------------------------------
def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def test_no_tcp_or_udp_listener(server: Headless) -> None:
    with server.connect() as conn:
        preflight_ok(conn)
        inodes = _socket_inodes(server.pid)
    assert inodes, "the server holds no socket at all"
    tables = [Path("/proc/net") / name for name in ("tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6")]
    present = [t for t in tables if t.exists()]
    assert Path("/proc/net/tcp") in present and Path("/proc/net/udp") in present
    for table in present:
        rows = table.read_text().splitlines()[1:]
        listed = {int(row.split()[9]) for row in rows if len(row.split()) > 9}
        assert not inodes & listed, f"the server has a socket in {table}"
    # The method works: its Unix socket is in /proc/net/unix, listening, under one of its own inodes.
    listening = [
        row.split()
        for row in Path("/proc/net/unix").read_text().splitlines()[1:]
        if row.endswith(" " + str(server.sock))
    ]
    assert listening, "the server's socket path is not in /proc/net/unix"
    mine = [r for r in listening if int(r[6]) in inodes]
    assert mine, "the listed socket is not the server's"
    assert any(int(r[3], 16) & 0x10000 for r in mine), "the server's Unix socket is not listening"  # __SO_ACCEPTCON


def test_socket_0600_in_a_0700_home(server: Headless) -> None:
    mode = os.stat(server.sock).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600, oct(mode)
    assert stat.S_IMODE(os.stat(server.home).st_mode) == 0o700  # the fixture made it 0755


# -- lifetime ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_stop_signal_exits_cleanly(lab: Lab, signum: signal.Signals) -> None:
    server = lab.start(lab.home())
    assert server.lock.exists()
    with server.connect() as busy, server.connect() as idle, server.connect() as partial:
        busy.hello()
        ok(busy.call("app.notice.subscribe", {}))
        preflight_ok(idle)
        partial.send(b'{"method":"app.pre')
        started = time.monotonic()
        server.signal(signum)
        assert server.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
        for client in (busy, idle, partial):
            assert client.closed_by_server(timeout=1)
    assert not server.sock.exists()
    assert not server.lock.exists()
    assert server.stderr().rstrip().endswith(f"relayboard headless: stopped ({signum.name})"), server.stderr()


def test_stale_socket_is_replaced(lab: Lab) -> None:
    home = lab.home()
    killed = lab.start(home)
    killed.signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    assert killed.sock.is_socket(), "SIGKILL should leave the socket file behind"
    with pytest.raises(ConnectionRefusedError):
        Conn(killed.sock)
    successor = lab.start(home)
    with successor.connect() as conn:
        assert preflight_ok(conn)["pid"] == successor.pid
    assert successor.lock.read_text().strip() == str(successor.pid)
    successor.signal(signal.SIGTERM)
    assert successor.wait() == 0
    assert not successor.sock.exists()


def test_second_server_on_the_same_home_refuses(lab: Lab) -> None:
    home = lab.home()
    first = lab.start(home)
    inode = os.stat(first.sock).st_ino
    second = lab.start(home, ready=False)
    try:
        assert second.wait(timeout=20) == 1
    except subprocess.TimeoutExpired:
        pytest.fail(f"the second server kept running: {second.stderr()}")
    assert "already serving" in second.stderr() and f"pid {first.pid}" in second.stderr(), second.stderr()
    assert first.proc.poll() is None
    assert os.stat(first.sock).st_ino == inode  # the second one did not touch the first's socket
    assert first.lock.read_text().strip() == str(first.pid)
    with first.connect() as conn:
        assert preflight_ok(conn)["pid"] == first.pid


# -- robustness --------------------------------------------------------------------------------------------------------
def _flood(server: Headless) -> Conn:
    """A client that sends requests with ids as fast as the server takes them and never reads an answer."""
    flood = server.connect()
    batch = b"".join(b'{"method":"app.preflight","id":%d}\n' % n for n in range(3000))
    flood.sock.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 3
    while sent < len(batch) and time.monotonic() < deadline:
        try:
            sent += flood.sock.send(batch[sent:])
        except BlockingIOError:
            time.sleep(0.01)
    assert sent > 100_000, "the flood never got going"
    return flood


def _silent(server: Headless) -> Conn:
    return server.connect()


def _half_line(server: Headless) -> Conn:
    conn = server.connect()
    conn.send(b'{"method":"app.preflight","id":"half"')
    return conn


@pytest.mark.parametrize("misbehave", [_silent, _half_line, _flood], ids=["silent", "half-line", "flood"])
def test_a_misbehaving_client_does_not_stall_others(server: Headless, misbehave: Any) -> None:
    bad = misbehave(server)
    try:
        time.sleep(0.2)  # let the server take in whatever the bad client sent
        for _ in range(3):
            assert timed_preflight(server) < 1.0
    finally:
        bad.close()


def test_all_misbehaving_clients_at_once(server: Headless) -> None:
    bad = [_silent(server), _half_line(server), _flood(server), _silent(server), _half_line(server)]
    try:
        time.sleep(0.2)
        assert timed_preflight(server) < 1.0
    finally:
        for conn in bad:
            conn.close()


def test_half_a_line_is_completed_later(server: Headless) -> None:
    with server.connect() as slow:
        slow.send(b'{"method":"app.pre')
        time.sleep(0.3)
        assert timed_preflight(server) < 1.0
        slow.send(b'flight","id":"done"}\n')
        reply = slow.response()
        assert reply["id"] == "done" and ok(reply)["pid"] == server.pid


def test_answers_with_ids_match_their_requests(session: Conn) -> None:
    scope = unique("ids")
    for n in range(20):
        ok(session.call("app.memory.set", {"scope": scope, "key": f"k{n}", "value": f"value {n}"}))
    order = list(range(20))
    random.Random(7).shuffle(order)
    ids: list[Any] = [f"get-{n}" if n % 2 else n for n in order]
    requests = [
        session.request("app.memory.get", {"scope": scope, "key": f"k{n}"}, id=i)
        for n, i in zip(order, ids, strict=True)
    ]
    requests.append(session.request("app.memory.get", {"scope": scope, "key": "absent"}, id="missing"))
    session.send(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
    answers: dict[Any, dict[str, Any]] = {}
    for _ in requests:
        reply = session.response()
        assert reply["id"] not in answers, f"two answers for id {reply['id']!r}"
        answers[reply["id"]] = reply
    assert set(answers) == {*ids, "missing"}
    for n, i in zip(order, ids, strict=True):
        assert ok(answers[i])["key"] == f"k{n}" and answers[i]["result"]["value"] == f"value {n}"
    err(answers["missing"], "not_found")


def test_answers_without_ids_come_in_order(session: Conn) -> None:
    session.send((PREFLIGHT + b"\n") * 50)
    for _ in range(50):
        reply = session.response()
        assert "id" not in reply and ok(reply)["code"] == "ok"
    # Distinguishable answers: keys that exist and keys that do not, and framing errors in between.
    scope = unique("order")
    for n in range(0, 50, 2):
        ok(session.call("app.memory.set", {"scope": scope, "key": f"k{n}", "value": str(n)}))
    lines = []
    for n in range(50):
        lines.append(json.dumps(session.request("app.memory.get", {"scope": scope, "key": f"k{n}"})).encode())
        if n % 10 == 5:
            lines.append(b"")  # an empty line: malformed_request, answered in its place
    session.send(b"\n".join(lines) + b"\n")
    for n in range(50):
        reply = session.response()
        if n % 2 == 0:
            assert ok(reply)["key"] == f"k{n}", (n, reply)
        else:
            assert err(reply, "not_found")["details"]["key"] == f"k{n}", (n, reply)
        if n % 10 == 5:
            assert err(session.response(), "malformed_request")["details"]["reason"] == "empty line"


def test_disconnect_mid_call_keeps_committed_mutations(server: Headless) -> None:
    scope = unique("gone")
    value = "g" * (64 * 1024)
    keys = [f"k{n}" for n in range(6)]
    for n, key in enumerate(keys):
        with server.connect() as leaving:
            leaving.hello()
            # With an id (answered whenever it is done) and without (answered in order): both to a client that
            # closes right after sending, without reading a byte.
            leaving.send_json(
                leaving.request("app.memory.set", {"scope": scope, "key": key, "value": value}, id=n if n % 2 else None)
            )
    with server.connect() as reader:
        reader.hello()

        def all_there() -> bool:
            listed = ok(reader.call("app.memory.list", {"limit": 50, "filters": {"scope": scope}}))
            return sorted(row["key"] for row in listed["rows"]) == keys

        assert wait_until(all_there, timeout=5), "a mutation was lost with its client"
        for key in keys:
            assert ok(reader.call("app.memory.get", {"scope": scope, "key": key}))["value"] == value
    assert server.proc.poll() is None


# -- notices -----------------------------------------------------------------------------------------------------------
def _routing_toggle(conn: Conn) -> None:
    state = ok(conn.call("app.routing.status"))["enabled"]
    assert ok(conn.call("app.routing.set_enabled", {"enabled": not state})) == {"enabled": not state}


def _toggles(conn: Conn, limit: int) -> list[dict[str, Any]]:
    """The newest routing_toggled events, oldest first."""
    rows = ok(conn.call("app.event.list", {"limit": limit, "filters": {"event_type": "routing_toggled"}}))["rows"]
    return sorted(rows, key=lambda e: e["seq"])


def test_live_notice_from_another_connection(server: Headless) -> None:
    with server.connect() as listener, server.connect() as actor:
        listener.hello()
        actor.hello()
        subscribed = ok(listener.call("app.notice.subscribe", {"topics": ["routes"]}, id="sub"))
        assert set(subscribed) == {"seq", "resync", "replay"}
        assert is_int(subscribed["seq"]) and subscribed["seq"] >= 0
        assert subscribed["resync"] is False and subscribed["replay"] == 0

        ok(actor.call("app.memory.set", {"key": unique("quiet"), "value": "not a routes event"}))
        _routing_toggle(actor)
        line = listener.notice()
        assert set(line) == {"notice"} and set(line["notice"]) == {"topic", "seq", "event"}
        notice = line["notice"]
        assert notice["topic"] == "routes"
        assert notice["event"]["event_type"] == "routing_toggled"
        assert notice["seq"] == notice["event"]["seq"] and notice["seq"] > subscribed["seq"]
        newest = _toggles(actor, 1)[-1]
        assert newest["event_id"] == notice["event"]["event_id"] and newest["seq"] == notice["seq"]
        assert notice["event"]["origin"] == "cli"
        _routing_toggle(actor)  # back as it was; heard too, and nothing else on this topic filter
        again = listener.notice()["notice"]
        assert again["seq"] > notice["seq"] and again["event"]["event_type"] == "routing_toggled"
        assert ok(listener.call("app.preflight"))["code"] == "ok"
        assert listener.notices == []


def test_resume_replays_missed_events_then_live(server: Headless) -> None:
    with server.connect() as actor:
        actor.hello()
        with server.connect() as early:
            early.hello()
            since = ok(early.call("app.notice.subscribe", {"topics": ["routes"]}))["seq"]
        for _ in range(4):
            _routing_toggle(actor)
        missed = _toggles(actor, 4)
        assert all(e["seq"] > since for e in missed)

        with server.connect() as late:
            late.hello()
            late.send_json(late.request("app.notice.subscribe", {"topics": ["routes"], "since_seq": since}, id="s"))
            first = late.message()
            assert first.get("id") == "s", f"the subscribe answer must come before the notices: {first}"
            result = ok(first)
            assert result["resync"] is False and result["replay"] == 4
            assert result["seq"] >= missed[-1]["seq"]
            replayed = [late.notice()["notice"] for _ in range(4)]
            assert [n["seq"] for n in replayed] == [e["seq"] for e in missed]
            assert [n["event"]["event_id"] for n in replayed] == [e["event_id"] for e in missed]
            assert all(n["topic"] == "routes" for n in replayed)

            _routing_toggle(actor)
            live = late.notice()["notice"]
            assert live["seq"] > replayed[-1]["seq"] and live["event"]["event_type"] == "routing_toggled"
            # Nothing duplicated or left over.
            assert ok(late.call("app.preflight"))["code"] == "ok"
            assert late.notices == []

            # Resuming from the newest seq replays nothing.
            current = ok(late.call("app.notice.subscribe", {"topics": ["routes"], "since_seq": live["seq"]}))
            assert current["replay"] == 0 and current["resync"] is False


def test_resume_too_far_behind_is_one_resync_notice(server: Headless) -> None:
    with server.connect() as conn:
        conn.hello()
        total = ok(conn.call("app.event.list", {"limit": 1}))["total"]
        scope = unique("many")
        missing = max(0, 520 - int(total or 0))
        for start in range(0, missing, 16):
            requests = [
                conn.request("app.memory.set", {"scope": scope, "key": f"k{n}", "value": "x"}, id=n)
                for n in range(start, min(start + 16, missing))
            ]
            conn.send(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
            for _ in requests:
                ok(conn.response())
        subscribed = ok(conn.call("app.notice.subscribe", {"since_seq": 0}, id="s"))
        assert subscribed["resync"] is True and subscribed["replay"] == 0
        notice = conn.notice()["notice"]
        assert notice["topic"] == "resync" and notice["event"] is None
        assert is_int(notice["seq"]) and notice["seq"] >= subscribed["seq"]


def test_notice_subscribe_needs_a_session(conn: Conn) -> None:
    err(conn.call("app.notice.subscribe", {}), "app_session_required")
    with pytest.raises(TimeoutError):
        conn.line(timeout=0.3)  # and nothing streams


def test_concurrent_clients_each_get_their_own_answers(server: Headless) -> None:
    failures: list[str] = []

    def client(n: int) -> None:
        try:
            with server.connect() as c:
                for k in range(20):
                    reply = c.call("app.preflight", id=f"{n}-{k}")
                    if reply.get("id") != f"{n}-{k}" or not reply["ok"]:
                        failures.append(repr(reply))
        except Exception as exc:  # reported below
            failures.append(f"client {n}: {exc!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not failures, failures[:5]
