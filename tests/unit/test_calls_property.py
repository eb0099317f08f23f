"""Every registered call, driven through `core.calls.envelope` with generated inputs (hypothesis).

Whatever a caller sends, the answer is an envelope: `ok` with a result, or an error whose code is in the closed set
(core/errors.py) and is never `internal_error`; nothing escapes `envelope`, and nothing in the answer is text that
cannot be written as UTF-8 JSON. After an accepted change, the reads of its family still answer (nothing stored
poisons a later list or summary).

Two kinds of input per call:
  (a) arbitrary JSON-ish params: dicts with the call's field names and random keys, wrong types, huge and negative
      integers, floats (NaN, infinities), booleans, nested lists and dicts, None; sometimes not a dict at all;
  (b) schema-aware params: each field of the call's params model gets a value of its type, either plausible
      (ids of a seeded bench, real cursors, names, keys) or hostile (integers at and beyond SQLite's 64 bits, lone
      surrogates, NUL and control characters, 100 KB strings, unrepresentable dates, over-long path components,
      names tmux session names cannot hold, valid base64 cursors of hostile JSON, filters with huge integers).

Safety: the bench of these tests launches nothing but `cat` (every preset is `cat`, custom commands are allowed
only from a fixed harmless set, by the generator itself and not only by the policy), only on its private tmux
socket, only with a working directory inside the test's temporary directory. Nothing typed reaches a shell: every
pane runs `cat`.

One bench per call, shared by that call's examples (hence the suppressed function-scoped-fixture health check):
each call's examples are independent of each other's outcome, and a fresh bench per example would cost the run.
`RELAYBOARD_PROPERTY_EXAMPLES=2000 pytest -m slow tests/unit/test_calls_property.py` runs the long version.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import re
import traceback
import types
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic.fields import FieldInfo

from core import calls
from core.agents import AGENT_LIST_SPEC, PANE_LIST_SPEC
from core.bench import Bench
from core.config import Settings
from core.errors import ERROR_CODES
from core.events import EVENT_LIST_SPEC
from core.lists import ListParams, ListSpec, _binding
from core.memory import BLACKBOARD_LIST_SPEC, KV_LIST_SPEC, NOTE_LIST_SPEC
from core.notices import TOPICS
from core.processes import process_list_spec
from core.queue import QUEUE_LIST_SPEC
from core.registry import REGISTRY
from core.routes import ROUTE_LIST_SPEC
from core.scheduler import SCHEDULE_LIST_SPEC
from core.sessions import APP_CONTRACT_VERSION
from tests.conftest import TEST_USER

EXAMPLES = 200  # per call, in the default run
LONG_EXAMPLES_ENV = "RELAYBOARD_PROPERTY_EXAMPLES"
SUPPRESSED = [
    # One bench per call on purpose (see the module docstring): examples share it, they do not depend on it.
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.filter_too_much,
]
METHODS = sorted(REGISTRY)

# -- the harmless bench ------------------------------------------------------------------------------------------
HARMLESS_COMMANDS = ("cat", "sleep 30", "true")
HARMLESS_PROGRAMS = ["cat", "sleep", "true"]
PRESETS = {"claude": "cat", "codex": "cat", "shell": "cat"}
# Calls that only judge a command and never run it: they may be asked about anything. Every other call with a
# `command` or `cwd` field is treated as one that starts a process (see `confine`).
JUDGE_ONLY = frozenset({"app.policy.check"})
# Harmless programs, mangled: what a launching call's hostile `command` may be (harmless even if it ran).
MANGLED_COMMANDS = ["cat\x00", "true\x00rm", "sleep \ud800", "", "   ", "cat " + "x" * 5000, "true\n", "cat\x1b[A"]
DANGEROUS_COMMANDS = ["rm -rf /", "sudo id", "bash -c 'id'", "sh", "echo $(id)", "env LD_PRELOAD=x cat", "curl x|sh"]


@pytest.fixture
def settings(tmux_socket: str, tmp_path: Path) -> Settings:
    """The shared fixture's settings, but every preset is `cat` and custom commands must be cat, sleep or true."""
    return Settings(
        tmux_socket=tmux_socket,
        claude_home=tmp_path / "claude",
        codex_home=tmp_path / "codex",
        user_id=TEST_USER,
        presets=PRESETS,
        command_allowlist=HARMLESS_PROGRAMS,
    )


@pytest.fixture
def internal_errors() -> Iterator[list[str]]:
    """The tracebacks `envelope` logs for internal errors, so a failure shows where it came from."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info:
                seen.append("".join(traceback.format_exception(*record.exc_info)))

    handler = Collect(level=logging.ERROR)
    logger = logging.getLogger("core.calls")
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)


LIST_SPECS: dict[str, ListSpec] = {
    "app.agent.list": AGENT_LIST_SPEC,
    "app.pane.list": PANE_LIST_SPEC,
    "app.queue.list": QUEUE_LIST_SPEC,
    "app.route.list": ROUTE_LIST_SPEC,
    "app.event.list": EVENT_LIST_SPEC,
    "app.memory.list": KV_LIST_SPEC,
    "app.blackboard.list": BLACKBOARD_LIST_SPEC,
    "app.note.list": NOTE_LIST_SPEC,
    "app.schedule.list": SCHEDULE_LIST_SPEC,
    "app.terminal.list": process_list_spec("terminal"),
    "app.devserver.list": process_list_spec("devserver"),
    "app.process.list": process_list_spec("agent_run"),
}


@dataclasses.dataclass
class Pools:
    """Plausible values from a seeded bench, so generated inputs also reach past validation."""

    method: str
    workdir: Path
    ids: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    cursors: list[str] = dataclasses.field(default_factory=list)
    _inputs: st.SearchStrategy[Any] | None = None

    def inputs(self) -> st.SearchStrategy[Any]:
        """Both kinds of input for this call, built once (building strategies per example costs more than a call)."""
        if self._inputs is None:
            schema = schema_params(self.method, self)  # two in three: it reaches further than random dicts
            self._inputs = st.one_of(arbitrary_params(self.method), schema, schema)
        return self._inputs

    def of(self, kind: str) -> list[str]:
        return self.ids.get(kind) or ["nothing-seeded"]


ID_FIELDS = {
    "agent_id": "agent",
    "target_agent_id": "agent",
    "sender_agent_id": "agent",
    "source_agent_id": "agent",
    "message_id": "message",
    "route_id": "route",
    "note_id": "note",
    "event_id": "event",
    "scan_id": "scan",
    "pane_id": "pane",
    "session_name": "session",
    "socket": "socket",
    "key": "key",
    "scope": "scope",
}
NEEDS_NO_SEED = frozenset(
    {"app.describe", "app.preflight", "app.hello", "app.readiness", "app.routing.status", "app.routing.set_enabled"}
)


async def seed(bench: Bench, method: str, workdir: Path) -> Pools:
    """A managed agent and an adopted one (both panes run `cat`), queue messages in three states, a route, a note,
    a key, a blackboard entry, token usage and the events of all that."""
    pools = Pools(method, workdir)
    managed = await bench.launcher.launch({"name": "seed-managed", "preset": "shell", "cwd": str(workdir)})
    await bench.ctx.tmux.new_session("seed-adopted", "cat", str(workdir))
    scan = await bench.agents.scan({"wait": True})
    pane = next(p for p in await bench.agents.panes() if p.session_name == "seed-adopted")
    # kind other: no foreground-command guard (the scan may have caught the pane's `sh -c` before it became cat).
    adopted = await bench.agents.register_from_pane(
        {**pane.identity(), "name": "seed-adopted", "role": "master", "kind": "other"}
    )
    queued, _ = await bench.queue.enqueue(
        target_agent_id=adopted.agent_id, payload="queued", sender="operator", sender_role="master"
    )
    blocked, _ = await bench.queue.enqueue(
        target_agent_id=adopted.agent_id,
        payload="blocked",
        sender="operator",
        sender_role="master",
        block_reason="awaiting_approval",
    )
    sent = await bench.queue.send_input({"target_agent_id": adopted.agent_id, "payload": "typed into cat"})
    route = await bench.routes.add(
        {"name": "seed-route", "event_type": "test_failed", "template": "t", "target_agent_id": adopted.agent_id}
    )
    note = await bench.memory.note_add({"title": "seed note", "tags": ["seed"]})
    await bench.memory.kv_set({"scope": "bench", "key": "seed/key", "value": "v"})
    await bench.memory.blackboard_write({"key": "seed/board", "value": "v", "expected_version": 0})
    await bench.tokens.record({"model": "claude-sonnet-4", "input_tokens": 10, "agent_id": adopted.agent_id})
    events = await bench.events.list({"limit": 5})
    pools.ids = {
        "agent": [managed.agent_id, adopted.agent_id],
        "message": [queued.message_id, blocked.message_id, sent.message_id],
        "route": [route.route_id],
        "note": [note.note_id],
        "event": [e.event_id for e in events.rows],
        "scan": [scan.scan_id],
        "pane": [p.pane_id for p in await bench.agents.panes()],
        "session": ["seed-adopted", "rb-seed-managed"],
        "socket": [bench.ctx.tmux.socket_label],
        "key": ["seed/key", "seed/board"],
        "scope": ["bench"],
    }
    if method in LIST_SPECS:
        for limit in (1, 2):
            page = await calls.envelope(bench, method, {"limit": limit})
            if page["ok"] and page["result"]["cursor_next"]:
                pools.cursors.append(page["result"]["cursor_next"])
    return pools


@pytest.fixture
async def pools(request: pytest.FixtureRequest, bench: Bench, workdir: Path) -> Pools:
    method = request.node.callspec.params["method"]
    return Pools(method, workdir) if method in NEEDS_NO_SEED else await seed(bench, method, workdir)


# -- hostile values ------------------------------------------------------------------------------------------------
LONG = "x" * 100_000  # 100 KB
HOSTILE_INTS = [
    0,
    -1,
    1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    2**70,
    10**30,
    -(10**30),
    10**400,
]
HOSTILE_STRINGS = [
    "",
    " ",
    "\ud800",
    "a\ud800b",
    "\udfff",
    "\udc80",  # a surrogate os.fsencode would pass on as a raw byte
    "\ud83d\ude00",  # a surrogate pair left unjoined
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m",
    "\x07\x08\x7f\x9b",
    "line\nbreak",
    "cr\r",
    "\t",
    "\u202eevil",
    "\ufeff",
    "[bold]markup[/]",
    "%s%n%x",
    "' OR 1=1 --",
    "../../../etc/passwd",
    "-n",
    "--",
    "$(id)",
    "null",
    "0",
    "NaN",
    LONG,
    LONG + "\ud800",
    "é" * 50_000,  # 100 KB of UTF-8 in 50 000 characters
    "\U0001f600" * 1000,
]
HOSTILE_DATES = [
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "0999-12-31T23:59:59Z",
    "+275760-09-13T00:00:00Z",
    "-000001-01-01T00:00:00Z",
    "2026-11-23T12:00:00",  # no timezone
    "2026-11-23",
    "2026-13-45T25:61:61Z",
    "2026-11-23T12:00:00+24:00",
    "2026-11-23T12:00:00\x00Z",
    "tomorrow",
    "",
    "1e308",
]
HOSTILE_NAMES = [
    "a.b",
    "a:b",
    "a b",
    "rb-x.y",
    ".hidden",
    "-dash",
    "name\n",
    "x" * 65,
    "x" * 300,
    "ÄÖÜ",
    "a/b",
    "a\x00b",
    "\ud800",
]
VALID_NAMES = ["w1", "w2", "worker-3", "tests_4", "Lead5"]


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def hostile_cursors(method: str) -> list[str]:
    """Valid base64 of hostile JSON. Bound to the list's default order with no filters, so a forged cursor gets past
    the binding check when the rest of the params are defaults, and its offset is what is tested."""
    spec = LIST_SPECS.get(method)
    binding = _binding(spec.default_order, ListParams()) if spec else "0" * 16
    forged = [_cursor({"o": o, "b": binding}) for o in (2**63 - 1, 2**63, 2**64 + 1, 2**70, 10**100, -(2**70))]
    forged += [_cursor({"o": o, "b": binding}) for o in (True, 1.5, None, "1", [1], {"o": 1})]
    return forged + HOSTILE_CURSORS


HOSTILE_CURSORS = [
    _cursor([1, 2]),
    _cursor("o"),
    _cursor({"o": 1, "b": "\ud800"}),
    base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
    base64.urlsafe_b64encode(b'{"o": 1e999, "b": "x"}').decode(),
    "not base64!",
    "é",
    "\ud800",
    "=" * 600,
]
FILTER_NAMES = [
    "role", "state", "kind", "name", "managed", "session_name", "alive", "agent_id", "current_command",
    "block_reason", "target_agent_id", "route_id", "sender", "scope", "updated_by", "source", "enabled",
    "event_type", "source_agent_id", "source_role", "origin", "surface_id", "run_id", "project_id", "user_id",
]  # fmt: skip


UNRESOLVABLE = ("", "relative/dir", "~", "//fileserver/share")  # (~ is the test's temporary HOME)


def _path_cases(workdir: Path) -> list[str]:
    base = str(workdir)
    return [
        base,
        f"{base}/",
        f"{base}/{'x' * 300}",  # one component longer than NAME_MAX
        f"{base}/{'é' * 200}",  # 200 characters, 400 bytes
        f"{base}/{'a/' * 2100}",  # longer than PATH_MAX
        f"{base}/a\x00b",
        f"{base}\x00",
        f"{base}/\ud800",
        f"{base}/missing",
        f"{base}/../{workdir.name}",
        f"{base}/{'x' * 300}/..",
        *UNRESOLVABLE,
    ]


def _salted(strings: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text with a lone surrogate, a NUL or a control character put in at a random place."""

    def put(text: str, where: int, bad: str) -> str:
        at = where % (len(text) + 1)
        return text[:at] + bad + text[at:]

    return st.builds(put, strings, st.integers(0, 64), st.sampled_from(["\ud800", "\udfff", "\x00", "\x1b", "\x7f"]))


hostile_ints = st.sampled_from(HOSTILE_INTS) | st.sampled_from(HOSTILE_INTS) | st.integers()
hostile_text = st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=16) | _salted(st.text(max_size=12))
json_scalars = (
    st.none()
    | st.booleans()
    | hostile_ints
    | st.floats(allow_nan=True, allow_infinity=True)
    | hostile_text
    | st.sampled_from(HOSTILE_DATES)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6) | hostile_text, children, max_size=3)
    ),
    max_leaves=6,
)


# -- (a) arbitrary params ------------------------------------------------------------------------------------------
def arbitrary_params(method: str) -> st.SearchStrategy[Any]:
    names = list(REGISTRY[method].params.model_fields)
    keys = st.sampled_from([*names, "extra", "", "app_session_token", "\ud800", "x" * 200]) | st.text(max_size=10)
    if names:
        keys = st.sampled_from(names) | keys
    as_dict = st.dictionaries(keys, json_scalars | json_scalars | json_values, max_size=max(4, len(names) + 2))
    return st.one_of(as_dict, as_dict, json_values)  # sometimes not an object at all


# -- (b) schema-aware params ---------------------------------------------------------------------------------------
def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """(base type, union members) of an annotation; Annotated is looked through."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return tp, [a for a in typing.get_args(tp) if a is not type(None)]
    return tp, [tp]


def _kind(tp: Any) -> str:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "literal"
    if origin is dict or tp is dict:
        return "dict"
    if origin is list or tp is list:
        return "list"
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if isinstance(tp, type) and issubclass(tp, datetime):
        return "datetime"
    return "str"


def _members(info: FieldInfo) -> list[Any]:
    return _unwrap(info.annotation)[1]


def _valid_dates() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
    return moments.map(lambda d: d.isoformat().replace("+00:00", "Z"))


def valid_value(name: str, tp: Any, pools: Pools) -> st.SearchStrategy[Any]:
    """A value of the right type that could well be accepted."""
    kind = _kind(tp)
    if name in ID_FIELDS:
        return st.sampled_from(pools.of(ID_FIELDS[name]))
    if name == "cursor_next":
        return st.sampled_from(pools.cursors or ["none"])
    if name == "name":
        return st.sampled_from(VALID_NAMES)
    if name == "cwd":
        return st.sampled_from([str(pools.workdir), f"{pools.workdir}/"])
    if name == "command":
        return st.sampled_from(HARMLESS_COMMANDS)  # whatever the call: plausible input is harmless input
    spec = LIST_SPECS.get(pools.method)
    if name == "order_by" and spec:
        return st.sampled_from([f"{o}:{d}" for o in sorted(spec.orders) for d in ("asc", "desc")] + [None])
    if name in ("since", "until", "occurred_at"):
        return _valid_dates()
    if name == "filters":
        names = sorted(spec.filters) if spec and spec.filters else FILTER_NAMES
        values = st.none() | st.booleans() | st.integers(0, 9) | st.sampled_from([*pools.of("agent"), "master", "x"])
        return st.dictionaries(st.sampled_from(names), values, max_size=2)
    if name == "env":
        return st.dictionaries(st.sampled_from(["RB_TEST", "LANG", "RB_X"]), st.text("abc", max_size=8), max_size=2)
    if name == "topics":
        return st.lists(st.sampled_from(TOPICS), max_size=3, unique=True)
    if name == "tags":
        return st.lists(st.text("abcdef", min_size=1, max_size=8), max_size=3)
    if name == "event_type":
        return st.sampled_from(["test_failed", "agent_exited", "x1"])
    if kind == "literal":
        return st.sampled_from(typing.get_args(tp))
    if kind == "bool":
        return st.booleans()
    if kind == "int":
        return st.integers(0, 60)
    if kind == "float":
        return st.floats(0, 60)
    if kind == "dict":
        return st.dictionaries(st.text("abc", min_size=1, max_size=4), st.text(max_size=4), max_size=2)
    if kind == "list":
        return st.lists(st.text("abc", min_size=1, max_size=4), max_size=3)
    if kind == "datetime":
        return _valid_dates()
    return st.text("abcdefghij-_ ", min_size=1, max_size=30) | st.text(min_size=1, max_size=10)


def hostile_value(name: str, tp: Any, pools: Pools) -> st.SearchStrategy[Any]:
    """A value of the right JSON type with hostile content (or, sometimes, of the wrong type)."""
    kind = _kind(tp)
    if name == "cwd":
        strategy = st.sampled_from(_path_cases(pools.workdir))
    elif name in ("since", "until", "occurred_at"):
        strategy = st.sampled_from(HOSTILE_DATES)
    elif name == "cursor_next":
        strategy = st.sampled_from(hostile_cursors(pools.method))
    elif name == "name":
        strategy = st.sampled_from(HOSTILE_NAMES)
    elif name == "command":
        # Never a command that could do anything if the policy let it through: harmless programs, mangled. Only a
        # call that judges commands without running them is asked about dangerous ones.
        strategy = st.sampled_from(MANGLED_COMMANDS + (DANGEROUS_COMMANDS if pools.method in JUDGE_ONLY else []))
    elif name == "filters":
        strategy = st.dictionaries(
            st.sampled_from(FILTER_NAMES) | hostile_text, hostile_ints | hostile_text | st.booleans(), max_size=3
        )
    elif name == "env":
        env_names = st.sampled_from(["RB_X", "1BAD", "BAD-NAME", "FOO\n", "", "X" * 200, "\ud800", "A\x00"])
        strategy = st.dictionaries(env_names, hostile_text, max_size=3)
    elif kind == "int":
        strategy = hostile_ints
    elif kind == "float":
        strategy = st.floats(allow_nan=True, allow_infinity=True) | hostile_ints
    elif kind == "bool":
        strategy = st.booleans()
    elif kind == "dict":
        strategy = st.dictionaries(hostile_text, hostile_text | hostile_ints, max_size=3)
    elif kind == "list":
        strategy = st.lists(hostile_text, max_size=20)
    elif kind == "datetime":
        strategy = st.sampled_from(HOSTILE_DATES)
    else:
        strategy = hostile_text
    return strategy | json_scalars if kind != "str" else strategy | st.sampled_from([None, 0, 2**63, True, [], {}])


def schema_params(method: str, pools: Pools) -> st.SearchStrategy[dict[str, Any]]:
    fields = REGISTRY[method].params.model_fields
    names = sorted(fields)
    # Per field and per member of its type: (a plausible value, a hostile one). Built once: building strategies
    # inside the draw would cost more than the call.
    choices = {
        name: [(valid_value(name, tp, pools), hostile_value(name, tp, pools)) for tp in _members(info)]
        for name, info in fields.items()
    }
    how_hostile = st.sampled_from(["valid", "one", "one", "one", "some"])
    one_field = st.sampled_from(names) if names else st.nothing()
    some_fields = st.sets(one_field, min_size=1)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        hostile: set[str] = set()
        if fields:
            how = draw(how_hostile)
            if how == "one":
                hostile = {draw(one_field)}
            elif how == "some":
                hostile = draw(some_fields)
        params: dict[str, Any] = {}
        for name, info in fields.items():
            if not (info.is_required() or name in hostile or draw(st.booleans())):
                continue
            valid, bad = draw(st.sampled_from(choices[name])) if len(choices[name]) > 1 else choices[name][0]
            params[name] = draw(bad if name in hostile else valid)
        return params

    return build()


def confine(method: str, params: Any, workdir: Path) -> Any:
    """What a call that may start a process (any call with a `command` or `cwd` field that is not judge-only) may be
    asked to run: only a harmless command, only inside the test's directory. The schema-aware generator keeps to
    that by itself; this makes sure the arbitrary params do too."""
    if method in JUDGE_ONLY or not isinstance(params, dict):
        return params
    params = dict(params)
    command = params.get("command")
    if isinstance(command, str) and command not in HARMLESS_COMMANDS and command not in MANGLED_COMMANDS:
        params["command"] = "cat"
    cwd = params.get("cwd")
    if isinstance(cwd, str) and not cwd.startswith(str(workdir)) and cwd not in UNRESOLVABLE:
        params["cwd"] = f"{workdir}/{cwd.lstrip('/')}"
    return params


# -- what every answer must be -------------------------------------------------------------------------------------
def _utf8_json(response: dict[str, Any]) -> None:
    """The answer as the socket would write it, and as a UTF-8 client would read it."""
    json.dumps(response, ensure_ascii=False, allow_nan=False).encode("utf-8")


def family_reads(method: str) -> list[str]:
    """The reads that must still answer after `method` changed something."""
    family = method.split(".")[1]
    extra = {
        "send_input": ["app.queue.list"],
        "agent": ["app.pane.list", "app.queue.list"],
        "tokens": ["app.tokens.summary", "app.dashboard"],
        "routing": ["app.routing.status"],
        "scan": ["app.pane.list", "app.agent.list"],
        "log": ["app.agent.list"],
    }.get(family, [])
    reads = [n for n, c in REGISTRY.items() if not c.mutates and n.split(".")[1] == family and n.endswith(".list")]
    return [*reads, *extra, "app.event.list"]


async def answer(bench: Bench, method: str, params: Any, internal_errors: list[str]) -> dict[str, Any]:
    before = len(internal_errors)
    response = await calls.envelope(bench, method, params)  # anything escaping fails the example by itself
    assert isinstance(response, dict) and response.get("app_contract_version") == APP_CONTRACT_VERSION
    assert isinstance(response.get("ok"), bool)
    _utf8_json(response)
    if not response["ok"]:
        code = response["error"]["code"]
        assert code in ERROR_CODES, f"{method}: code {code!r} is outside the closed set"
        if code == "internal_error":
            logged = "\n".join(internal_errors[before:]) or "(nothing logged)"
            pytest.fail(f"{method}({_short(params)}) -> internal_error\n{logged}")
    return response


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 600 else text[:600] + "…"


async def drive(bench: Bench, method: str, params: Any, internal_errors: list[str]) -> None:
    response = await answer(bench, method, params, internal_errors)
    if response["ok"] and REGISTRY[method].mutates:
        for read in family_reads(method):
            after = await answer(bench, read, {}, internal_errors)
            assert after["ok"], f"after {method}({_short(params)}), {read} fails: {after['error']}"


# -- the corners, every run: one field at a time, every hostile value of its type ---------------------------------
CORNER_STRINGS = ["", "\ud800", "a\udfff", "\udc80", "\x00", "a\x00b", "\x1b[31m", "line\nbreak", LONG]
CORNER_STRINGS += [LONG + "\ud800", "é" * 50_000]
WRONG_TYPES: list[Any] = [None, 2**63, 1.5, float("nan"), float("inf"), True, [], {}, "1"]
BASE_TEXT = {"event_type": "test_failed", "template": "t", "payload": "x", "model": "m", "title": "t", "value": "v"}
# Further starting points whose corners reach past a first refusal (custom commands reach the policy).
EXTRA_BASES = {"app.agent.launch": [{"preset": "custom", "command": "cat"}]}


def base_value(name: str, tp: Any, pools: Pools) -> Any:
    """A concrete plausible value: the corner sweep varies one field at a time around these."""
    kind = _kind(tp)
    if name in ID_FIELDS:
        return pools.of(ID_FIELDS[name])[-1]  # the adopted agent (runs cat, no guard), the delivered message, ...
    if name == "name":
        return "w1"
    if name == "cwd":
        return str(pools.workdir)
    if name == "command":
        return "cat"
    if name in ("since", "until", "occurred_at"):
        return "2026-11-23T12:00:00Z"
    if name in BASE_TEXT:
        return BASE_TEXT[name]
    if kind == "literal":
        return typing.get_args(tp)[0]
    return {"bool": False, "int": 1, "float": 1.0, "dict": {}, "list": []}.get(kind, "x")


def corner_values(name: str, tp: Any, pools: Pools) -> list[Any]:
    kind = _kind(tp)
    if name == "cwd":
        values: list[Any] = _path_cases(pools.workdir)
    elif name in ("since", "until", "occurred_at"):
        values = list(HOSTILE_DATES)
    elif name == "cursor_next":
        values = hostile_cursors(pools.method)
    elif name == "name":
        values = list(HOSTILE_NAMES)
    elif name == "command":
        values = MANGLED_COMMANDS + (DANGEROUS_COMMANDS if pools.method in JUDGE_ONLY else [])
    elif name == "filters":
        spec = LIST_SPECS.get(pools.method)
        first = sorted(spec.filters)[0] if spec and spec.filters else "agent_id"
        values = [{first: v} for v in [*HOSTILE_INTS, *CORNER_STRINGS, 1.5, float("nan"), [], {}]]
        values += [{"\ud800": 1}, {"x" * 100: 1}, dict.fromkeys(FILTER_NAMES, 1)]
    elif name == "env":
        values = [{"RB_X": v} for v in [*CORNER_STRINGS, 1, None]]
        values += [{"\ud800": "x"}, {"A\x00": "x"}, {"FOO\n": "x"}, {"": "x"}, {f"K{i}": "v" for i in range(65)}]
    elif kind == "int":
        values = list(HOSTILE_INTS)
    elif kind == "literal":
        values = [*typing.get_args(tp), "\ud800", "", "x\x00"]
    elif kind == "list":
        values = [[v] for v in CORNER_STRINGS] + [[1], [None], [2**63], ["x"] * 100]
    elif kind == "dict":
        values = [{"k": v} for v in CORNER_STRINGS] + [{"\ud800": "v"}, {"k": 2**63}]
    elif kind == "bool":
        values = [True, False, 1, "true"]
    else:
        values = list(CORNER_STRINGS)
    return values + WRONG_TYPES


def corner_cases(method: str, pools: Pools) -> Iterator[dict[str, Any]]:
    fields = REGISTRY[method].params.model_fields
    required = {n: base_value(n, _members(i)[0], pools) for n, i in fields.items() if i.is_required()}
    for base in [required, *({**required, **extra} for extra in EXTRA_BASES.get(method, []))]:
        yield base
        for name, info in fields.items():
            for tp in _members(info):
                for value in corner_values(name, tp, pools):
                    yield {**base, name: value}
    yield {**required, "unknown": 1}


@pytest.mark.parametrize("method", METHODS)
async def test_every_call_answers_within_the_closed_set_at_the_corners(
    method: str, bench: Bench, pools: Pools, internal_errors: list[str]
) -> None:
    """Deterministic, so each run tries every hostile class on every field of every call (the random run below
    tries combinations, wrong shapes and arbitrary text)."""
    for params in corner_cases(method, pools):
        await drive(bench, method, confine(method, params, pools.workdir), internal_errors)


@pytest.mark.parametrize("method", METHODS)
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SUPPRESSED)
@given(data=st.data())
async def test_every_call_answers_within_the_closed_set(
    method: str, data: st.DataObject, bench: Bench, pools: Pools, internal_errors: list[str]
) -> None:
    params = confine(method, data.draw(pools.inputs(), label="params"), pools.workdir)
    await drive(bench, method, params, internal_errors)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get(LONG_EXAMPLES_ENV), reason=f"set {LONG_EXAMPLES_ENV}=N for a long run")
@pytest.mark.timeout(0)
@pytest.mark.parametrize("method", METHODS)
@hypothesis_settings(
    max_examples=int(os.environ.get(LONG_EXAMPLES_ENV) or EXAMPLES), deadline=None, suppress_health_check=SUPPRESSED
)
@given(data=st.data())
async def test_every_call_answers_within_the_closed_set_long_run(
    method: str, data: st.DataObject, bench: Bench, pools: Pools, internal_errors: list[str]
) -> None:
    params = confine(method, data.draw(pools.inputs(), label="params"), pools.workdir)
    await drive(bench, method, params, internal_errors)


@hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SUPPRESSED)
@given(method=json_values | st.text(max_size=40).map(lambda s: "app." + s), params=json_values)
async def test_unknown_methods_answer_unknown_method(method: Any, params: Any, bench: Bench) -> None:
    if isinstance(method, str) and method in REGISTRY:
        return
    response = await calls.envelope(bench, method, params if isinstance(params, dict) else {})
    json.dumps(response, allow_nan=False)  # as the socket writes it (ASCII JSON)
    _utf8_json(response)
    assert response["error"]["code"] == "unknown_method"
    assert re.fullmatch(r"no method .*", response["error"]["message"], re.S)


# -- regressions the property test found (each failed before its fix) ----------------------------------------------
async def _refused(bench: Bench, method: str, params: dict[str, Any]) -> dict[str, Any]:
    response = await calls.envelope(bench, method, params)
    _utf8_json(response)
    assert response["ok"] is False, response
    return response["error"]


def _note_cursor(offset: Any) -> str:
    return _cursor({"o": offset, "b": _binding(NOTE_LIST_SPEC.default_order, ListParams())})


@pytest.mark.parametrize("offset", [2**63, 2**70, 10**100, True])
async def test_a_forged_cursor_offset_sqlite_cannot_bind_is_validation_failed(bench: Bench, offset: Any) -> None:
    """Was internal_error (OverflowError binding OFFSET) for the huge offsets; `true` was read as offset 1."""
    error = await _refused(bench, "app.note.list", {"cursor_next": _note_cursor(offset)})
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "cursor_next")


async def test_the_largest_bindable_cursor_offset_is_an_empty_page(bench: Bench) -> None:
    page = await calls.envelope(bench, "app.note.list", {"cursor_next": _note_cursor(2**63 - 1)})
    assert page["ok"] and (page["result"]["rows"], page["result"]["cursor_next"]) == ([], None)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
@pytest.mark.parametrize("method", ["app.event.list", "app.agent.list", "app.queue.list", "app.pane.list"])
async def test_filter_integers_beyond_sqlite_are_validation_failed(bench: Bench, method: str, value: int) -> None:
    """Was internal_error (OverflowError binding the filter value)."""
    name = sorted(LIST_SPECS[method].filters)[0]
    error = await _refused(bench, method, {"filters": {name: value}})
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "filters")


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("app.tokens.record", {"model": "m", "input_tokens": 2**63}, "input_tokens"),
        ("app.tokens.record", {"model": "claude-sonnet-4", "output_tokens": 10**400}, "output_tokens"),
        ("app.tokens.record", {"model": "m", "cache_read_tokens": 2**62}, "cache_read_tokens"),
        ("app.tokens.record", {"model": "m", "cache_write_tokens": 10**12 + 1}, "cache_write_tokens"),
        ("app.notice.subscribe", {"since_seq": 2**63}, "since_seq"),
        ("app.blackboard.write", {"key": "k", "value": "v", "expected_version": 2**63}, "expected_version"),
        ("app.agent.update", {"agent_id": "a", "expected_version": 2**64}, "expected_version"),
        ("app.route.update", {"route_id": "r", "expected_version": 2**64}, "expected_version"),
        ("app.hello", {"client_id": "c", "client_app_contract_major": 2**63}, "client_app_contract_major"),
    ],
)
async def test_integers_beyond_sqlite_are_validation_failed(
    bench: Bench, method: str, params: dict[str, Any], field: str
) -> None:
    """tokens.record and notice.subscribe were internal_error (OverflowError: the cost as a float, the row or the
    spine position bound to SQLite); the others answered as if such a version could exist."""
    error = await _refused(bench, method, params)
    assert (error["code"], error["details"]["field"]) == ("validation_failed", field)


async def test_token_counts_that_sqlite_could_not_sum_are_refused_and_summaries_keep_answering(bench: Bench) -> None:
    """Two records of 2**62 tokens each were accepted, and then SQLite's sum() overflowed: every later summary was
    database_unavailable. A record is at most MAX_TOKENS per count now."""
    from core.tokens import MAX_TOKENS

    for _ in range(2):
        error = await _refused(bench, "app.tokens.record", {"model": "m", "input_tokens": 2**62})
        assert error["details"]["field"] == "input_tokens"
    biggest = {f"{kind}_tokens": MAX_TOKENS for kind in ("input", "output", "cache_read", "cache_write")}
    for n in range(2):
        assert (await calls.envelope(bench, "app.tokens.record", {"model": "m", "dedup_key": f"k{n}", **biggest}))["ok"]
    summary = await calls.envelope(bench, "app.tokens.summary", {})
    assert summary["ok"] and summary["result"]["total_tokens"] == 8 * MAX_TOKENS
    assert (await calls.envelope(bench, "app.dashboard", {}))["ok"]


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("app.event.list", {"filters": {"agent_id": "\ud800"}}, "filters"),
        ("app.event.list", {"filters": {"\ud800": 1}}, "filters"),
        ("app.note.add", {"title": "t", "tags": ["ok", "\ud800"]}, "tags"),
        ("app.agent.launch", {"name": "n", "cwd": "/tmp", "env": {"X": "\udfff"}}, "env"),
        ("app.agent.launch", {"name": "n", "cwd": "/tmp", "env": {"\ud800": "x"}}, "env"),
        ("app.send_input", {"target_agent_id": "a", "payload": "a\ud800"}, "payload"),
        ("app.memory.set", {"key": "k", "value": "\ud83d"}, "value"),
        ("app.policy.check", {"command": "cat", "env": {"A": "\ud800"}}, "env"),
    ],
)
async def test_lone_surrogates_anywhere_are_validation_failed_with_the_field(
    bench: Bench, method: str, params: dict[str, Any], field: str
) -> None:
    """Nested strings (filter values and keys, list items, env) were not checked: the filter was internal_error
    (UnicodeEncodeError in SQLite), the launch env internal_error, and the note's tag was stored and echoed back."""
    if method not in REGISTRY:
        pytest.skip(f"{method} is not built in this tree")
    error = await _refused(bench, method, params)
    assert (error["code"], error["details"]["field"], error["details"]["reason"]) == (
        "validation_failed",
        field,
        "string_unicode",
    )
    assert (await bench.memory.note_list()).total == 0


async def test_an_unknown_key_is_never_echoed_unencodable_or_unbounded(bench: Bench) -> None:
    """The failing field is the caller's key: an over-long one was repeated in full, twice (field and message)."""
    error = await _refused(bench, "app.note.list", {"\ud800": 1})
    assert (error["details"]["field"], error["details"]["reason"]) == ("params", "string_unicode")
    error = await _refused(bench, "app.note.list", {"k" * 10_000: 1})
    assert len(error["details"]["field"]) <= 128 and len(error["message"]) < 300


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+01:00",  # before datetime.min in UTC
        "9999-12-31T23:59:59-01:00",  # after datetime.max in UTC
        "0999-12-31T23:59:59Z",  # representable, but stamp() would not be fixed width
        "0001-01-01T00:00:00Z",
    ],
)
async def test_times_outside_the_stored_range_are_validation_failed(bench: Bench, when: str) -> None:
    """The first two were internal_error (OverflowError converting to UTC) in every list's since/until and in
    queue.delay's until; the others were stored or compared as non-fixed-width text (wrong order)."""
    for method, params, field in (
        ("app.event.list", {"since": when}, "since"),
        ("app.queue.list", {"until": when}, "until"),
        ("app.queue.delay", {"message_id": "m", "until": when}, "until"),
        ("app.tokens.record", {"model": "m", "occurred_at": when}, "occurred_at"),
    ):
        error = await _refused(bench, method, params)
        assert (error["code"], error["details"]["field"]) == ("validation_failed", field), method


async def test_the_last_representable_time_is_accepted(bench: Bench) -> None:
    assert (await calls.envelope(bench, "app.event.list", {"until": "9999-12-31T23:59:59Z"}))["ok"]
    assert (await calls.envelope(bench, "app.event.list", {"since": "1000-01-01T00:00:00Z"}))["ok"]


async def test_token_times_are_stored_in_utc_so_today_means_today(bench: Bench) -> None:
    """occurred_at was stored as given: 00:30 at +01:00 (23:30 UTC yesterday) compared as text counted as today."""
    yesterday = {"model": "m", "input_tokens": 5, "occurred_at": "2026-11-23T00:30:00+01:00", "dedup_key": "y"}
    today = {"model": "m", "input_tokens": 7, "occurred_at": "2026-11-23T11:00:00+01:00", "dedup_key": "t"}
    for record in (yesterday, today):
        assert (await calls.envelope(bench, "app.tokens.record", record))["ok"]
    summary = await calls.envelope(bench, "app.tokens.summary", {"period": "today"})
    assert summary["result"]["total_tokens"] == 7
    error = await _refused(bench, "app.tokens.record", {"model": "m", "occurred_at": "2026-11-23T12:00:00"})
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "occurred_at")


async def test_a_nul_in_a_payload_is_refused_before_anything_is_queued(bench: Bench, adopt) -> None:
    """A NUL cannot be typed (tmux's arguments end at it): the message was queued, claimed, and typing failed with
    internal_error (ValueError: embedded null byte), leaving it claimed and queued for good. Now it is refused."""
    lead = (await adopt(bench, {"lead": "master"}))["lead"]
    for payload in ("echo a\x00b", "\x00"):
        error = await _refused(
            bench, "app.send_input", {"target_agent_id": lead.agent_id, "payload": payload, "idempotency_key": "k"}
        )
        assert (error["code"], error["details"]["field"]) == ("validation_failed", "payload")
        assert "NUL" in error["message"]
    assert (await bench.queue.list()).total == 0
    assert await bench.ctx.db.fetchall("SELECT * FROM queue_messages") == []
    assert await bench.ctx.db.fetchall("SELECT * FROM idempotency_keys") == []
    # Escape sequences and other controls stay allowed: agents may legitimately send them.
    sent = await calls.envelope(bench, "app.send_input", {"target_agent_id": lead.agent_id, "payload": "\x1b[A"})
    assert sent["ok"] and sent["result"]["state"] == "delivered"


async def test_a_route_template_with_a_nul_is_refused(bench: Bench, adopt) -> None:
    """A route's template becomes input typed into its target: one with a NUL would only make untypable messages."""
    lead = (await adopt(bench, {"lead": "master"}))["lead"]
    route = {"name": "r", "event_type": "test_failed", "template": "a\x00b", "target_agent_id": lead.agent_id}
    error = await _refused(bench, "app.route.add", route)
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "template")
    added = await calls.envelope(bench, "app.route.add", {**route, "template": "ok"})
    error = await _refused(bench, "app.route.update", {"route_id": added["result"]["route_id"], "template": "\x00"})
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "template")


@pytest.mark.parametrize("name", ["api.tests", "lead\n", "a:b", "a b"])
async def test_agent_names_are_names_a_tmux_session_can_hold(bench: Bench, adopt, name: str) -> None:
    """A managed agent's session is rb-<name> and tmux session names cannot hold '.': a rename to one made the
    next restart fail in libtmux (BadSessionName). "lead\\n" passed the name pattern (`$` matches before a final
    newline)."""
    lead = (await adopt(bench, {"lead": "master"}))["lead"]
    error = await _refused(bench, "app.agent.update", {"agent_id": lead.agent_id, "name": name})
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "name")
    assert (await bench.agents.detail({"agent_id": lead.agent_id})).name == "lead"


async def test_route_names_keep_their_dots_but_not_a_trailing_newline(bench: Bench, adopt) -> None:
    lead = (await adopt(bench, {"lead": "master"}))["lead"]
    route = {"event_type": "test_failed", "template": "t", "target_agent_id": lead.agent_id}
    assert (await calls.envelope(bench, "app.route.add", {**route, "name": "ci.failures"}))["ok"]
    error = await _refused(bench, "app.route.add", {**route, "name": "ci\n"})
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "name")


@pytest.mark.parametrize("pane_id", ["%١٢", "%" + "9" * 21])
async def test_pane_ids_are_ascii_digits(bench: Bench, pane_id: str) -> None:
    error = await _refused(bench, "app.pane.detail", {"pane_id": pane_id})
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "pane_id")


# -- found by the property test in the launcher and the dispatcher (each failed before its fix) -------------------
async def test_launching_a_dotted_name_is_validation_failed(bench: Bench, workdir: Path, tmux_socket: str) -> None:
    error = await _refused(bench, "app.agent.launch", {"name": "api.tests", "cwd": str(workdir)})
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "name")


@pytest.mark.parametrize("cwd", ["{workdir}/" + "x" * 300, "{workdir}/a\x00b"])
async def test_a_cwd_the_filesystem_cannot_take_is_refused_by_launch_and_by_the_policy_check(
    bench: Bench, workdir: Path, cwd: str
) -> None:
    """Were internal_error (OSError ENAMETOOLONG from is_dir(), ValueError for the NUL) in the command policy;
    fixed there (core/policy.py) while this suite was written. Kept: the property test found them."""
    cwd = cwd.format(workdir=workdir)
    error = await _refused(bench, "app.agent.launch", {"name": "n", "cwd": cwd})
    assert (error["code"], error["details"]["field"]) == ("policy_denied", "cwd")
    verdict = await calls.envelope(bench, "app.policy.check", {"command": "cat", "cwd": cwd})
    assert verdict["ok"] and (verdict["result"]["allowed"], verdict["result"]["field"]) == (False, "cwd")


async def test_an_unknown_method_name_is_echoed_as_valid_utf8(bench: Bench) -> None:
    response = await calls.envelope(bench, "app.\ud800", {})
    assert response["error"]["code"] == "unknown_method"
    _utf8_json(response)
