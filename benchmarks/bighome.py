"""A "big home" for the benchmarks: 10,000 agents, 1,000,000 events over 30 days, 100,000 queue messages, routes,
token usage, panes and log attachments, written straight into the SQLite file after `Bench.open` created the schema.

    python benchmarks/bighome.py DIR [--quick]     # build one into DIR (kept) and print its description as JSON

Importable by the other benchmarks: `big_home(quick=...)` builds once per size and process (under a temp dir that is
removed at exit) and returns a `BigHome` whose `settings()` and `clock()` open it the way the benchmarks must: a
private tmux socket name, token-source paths inside the home, and a clock frozen at the end of the data so that
"last 24 h" and "today" windows hold real rows. The data is deterministic (seeded) for a given size.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import concurrent.futures
import functools
import itertools
import json
import multiprocessing
import os
import queue
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

from core.bench import DB_NAME, Bench
from core.clock import FixedClock
from core.config import Settings
from storage.models import STATE_PRIORITY, BlockReason

END = datetime(2025, 6, 2, 15, 30, 0, tzinfo=UTC)  # the data ends here; FixedClock(END) is "now"
DAYS = 30
BATCH = 50_000
INFO_NAME = "bench-home.json"
SEED = 20250602


@dataclass(frozen=True)
class Spec:
    agents: int = 10_000
    events: int = 1_000_000
    queue: int = 100_000
    routes: int = 300
    token_usage: int = 60_000
    panes: int = 2_500  # tmux panes on the bench socket; 80% of them hold an agent
    processes: int = 24
    schedules: int = 12

    def scaled(self, factor: int) -> Spec:
        small = {"processes", "schedules"}  # a handful either way
        return Spec(**{k: v if k in small else max(1, v // factor) for k, v in asdict(self).items()})


FULL = Spec()
QUICK = FULL.scaled(20)


@dataclass(frozen=True)
class BigHome:
    path: Path
    socket: str
    spec: Spec
    end: datetime
    build_seconds: float

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    def settings(self) -> Settings:
        return bench_settings(self.path, self.socket)

    def clock(self) -> FixedClock:
        return FixedClock(self.end)

    def describe(self) -> dict[str, Any]:
        size = self.db_path.stat().st_size if self.db_path.exists() else 0
        return {
            "home": str(self.path),
            "socket": self.socket,
            "end": self.end.isoformat(),
            "spec": asdict(self.spec),
            "db_mb": round(size / 1e6, 1),
            "build_seconds": round(self.build_seconds, 2),
        }


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def new_socket() -> str:
    return f"relayboard-bench-{uuid.uuid4().hex[:12]}"


def bench_settings(home: Path, socket: str) -> Settings:
    """Settings that keep a benchmark away from the operator's tmux server and ~/.claude, ~/.codex."""
    return Settings(tmux_socket=socket, claude_home=home / "claude", codex_home=home / "codex")


def tmux(socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, check=False, timeout=60)


def kill_tmux(socket: str) -> None:
    """Kill the tmux server on `socket` if one runs, then remove the socket file, which tmux (3.3) leaves behind
    in /tmp/tmux-<uid>."""
    if shutil.which("tmux") is None:
        return
    tmux(socket, "kill-server")
    path = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket
    if path.is_socket() and tmux(socket, "has-session").returncode != 0:
        path.unlink(missing_ok=True)


def run_coro(factory: Callable[[], Any]) -> Any:
    """asyncio.run, also when called from inside a running loop (then in a helper thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


async def create_schema(home: Path, socket: str) -> None:
    bench = await Bench.open(home, settings=bench_settings(home, socket), clock=FixedClock(END))
    await bench.close()


# --- row generators -------------------------------------------------------------------------------------------

ROLES = ("master", "worker", "swarm", "test-runner", "shell", "unknown")
ROLE_WEIGHTS = (1, 50, 25, 10, 10, 4)
KIND_BY_ROLE = {
    "master": ("claude",),
    "worker": ("claude", "claude", "codex"),
    "swarm": ("claude", "codex"),
    "test-runner": ("shell",),
    "shell": ("shell",),
    "unknown": ("other", "shell"),
}
AGENT_STATES = ("working", "waiting_for_input", "idle", "exited", "unknown")
AGENT_STATE_WEIGHTS = (35, 15, 30, 15, 5)
# (event_type, weight, origin choices): what the core records, plus what agents and routes emit.
EVENT_TYPES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("agent_state_changed", 300, ("agent", "system")),
    ("agent_output", 180, ("agent",)),
    ("tool_call", 120, ("agent",)),
    ("test_passed", 60, ("agent",)),
    ("test_failed", 25, ("agent",)),
    ("build_failed", 8, ("agent",)),
    ("task_completed", 30, ("agent",)),
    ("queue_message_enqueued", 70, ("route", "tui", "cli")),
    ("queue_message_delivered", 60, ("system", "route")),
    ("queue_message_approved", 8, ("tui", "cli")),
    ("queue_message_canceled", 6, ("tui", "cli")),
    ("queue_message_delayed", 4, ("tui", "cli")),
    ("queue_message_retried", 3, ("tui", "cli", "app")),
    ("route_matched", 50, ("route",)),
    ("token_usage_recorded", 40, ("system", "app")),
    ("memory_set", 10, ("agent", "cli", "app")),
    ("note_added", 3, ("tui", "cli")),
    ("schedule_window_started", 2, ("scheduler",)),
    ("schedule_window_ended", 2, ("scheduler",)),
    ("process_started", 2, ("tui", "cli", "scheduler")),
    ("process_exited", 2, ("system",)),
    ("agent_registered", 2, ("tui", "cli")),
    ("agent_updated", 2, ("tui", "cli", "app")),
    ("agent_removed", 1, ("tui", "cli")),
    ("route_created", 1, ("tui", "cli")),
    ("route_updated", 1, ("tui", "cli")),
    ("routing_toggled", 1, ("tui",)),
)
SURFACE_BY_ORIGIN = {
    "cli": "cli",
    "app": "headless",
    "tui": "tui",
    "route": "headless",
    "system": "headless",
    "scheduler": "scheduler",
    "agent": "agent",
}
QUEUE_STATES = ("delivered", "canceled", "failed", "queued", "blocked")
QUEUE_WEIGHTS = (70, 10, 5, 8, 7)
BLOCK_REASONS = get_args(BlockReason)
MODELS = (
    ("claude", "claude-sonnet-4", 3.0, 15.0),
    ("claude", "claude-opus-4", 15.0, 75.0),
    ("claude", "claude-haiku-3-5", 0.8, 4.0),
    ("codex", "gpt-5-codex", 1.25, 10.0),
)


class Stamps:
    """Fast `YYYY-MM-DDTHH:MM:SS.ffffffZ` for microsecond offsets after the start (strftime once per minute)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._minutes: dict[int, str] = {}

    def __call__(self, offset_us: int) -> str:
        seconds, micros = divmod(offset_us, 1_000_000)
        minute, second = divmod(seconds, 60)
        prefix = self._minutes.get(minute)
        if prefix is None:
            prefix = (self.start + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")
            self._minutes[minute] = prefix
        return f"{prefix}{second:02d}.{micros:06d}Z"


def _hex(rng: random.Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


@dataclass
class World:
    rng: random.Random
    stamps: Stamps
    span_us: int
    socket: str
    agent_ids: list[str]
    agent_names: list[str]
    master_ids: list[str]
    route_ids: list[str]


def agent_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    rng = w.rng
    roles = rng.choices(ROLES, ROLE_WEIGHTS, k=spec.agents)
    roles[0] = "master"
    states = rng.choices(AGENT_STATES, AGENT_STATE_WEIGHTS, k=spec.agents)
    with_pane = int(spec.panes * 0.8)
    for i in range(spec.agents):
        agent_id = _hex(rng, 12)
        role = roles[i]
        name = f"{role}-{i:05d}"
        w.agent_ids.append(agent_id)
        w.agent_names.append(name)
        if role == "master":
            w.master_ids.append(agent_id)
        created = rng.randrange(0, w.span_us // 2)
        updated = rng.randrange(created, w.span_us)
        pane = i < with_pane
        yield (
            agent_id,
            name,
            role,
            rng.choice(("python", "typescript", "go", "rust", "")),
            rng.choice(KIND_BY_ROLE[role]),
            f"{role} on project {i % 40}",
            f"/srv/src/project-{i % 40}",
            w.socket if pane else None,
            f"%{i}" if pane else None,
            f"session-{i // 8}" if pane else None,
            (i // 4) % 2 if pane else None,
            i % 4 if pane else None,
            1 if pane and i % 3 else 0,
            states[i] if pane else rng.choice(("exited", "unknown")),
            "" if states[i] != "exited" else "pane closed",
            1 + rng.randrange(0, 6),
            w.stamps(created),
            w.stamps(updated),
            w.stamps(updated) if pane else None,
        )


AGENT_SQL = (
    "INSERT INTO agents (agent_id, name, role, capability, kind, label, project_path, socket, pane_id, session_name,"
    " window_index, pane_index, managed, state, state_reason, version, created_at, updated_at, last_activity_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def pane_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    rng = w.rng
    for i in range(spec.panes):
        first = rng.randrange(0, w.span_us // 2)
        yield (
            w.socket,
            f"%{i}",
            f"session-{i // 8}",
            (i // 4) % 2,
            i % 4,
            10_000 + i,
            rng.choice(("claude", "codex", "bash", "node", "python3")),
            f"/srv/src/project-{i % 40}",
            200,
            50,
            0 if i % 10 == 9 else 1,
            w.stamps(first),
            w.stamps(w.span_us - rng.randrange(0, 600_000_000)),
        )


PANE_SQL = (
    "INSERT INTO panes (socket, pane_id, session_name, window_index, pane_index, pid, current_command, cwd, width,"
    " height, alive, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def attachment_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    rng = w.rng
    states = rng.choices(("active", "degraded", "detached"), (70, 10, 20), k=int(spec.panes * 0.8))
    for i, state in enumerate(states[: len(w.agent_ids)]):
        at = rng.randrange(0, w.span_us)
        yield (
            w.agent_ids[i],
            f"/tmp/relayboard-logs/{w.agent_ids[i]}.log",
            state,
            "" if state == "active" else "pipe-pane failed" if state == "degraded" else "pane exited",
            w.stamps(at),
            w.stamps(at),
        )


ATTACHMENT_SQL = (
    "INSERT INTO log_attachments (agent_id, path, state, reason, attached_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
)


def route_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    rng = w.rng
    for i in range(spec.routes):
        route_id = _hex(rng, 12)
        w.route_ids.append(route_id)
        created = rng.randrange(0, w.span_us)
        event_type = rng.choice(("test_failed", "build_failed", "task_completed", "agent_state_changed"))
        yield (
            route_id,
            f"route-{i:04d}",
            0 if i % 5 == 4 else 1,
            rng.choice(w.agent_ids),
            None,
            event_type,
            "" if i % 3 else "summary contains 'error'",
            rng.choice(w.master_ids),
            f"{event_type} in {{agent}}: {{summary}}",
            1 if i % 7 == 0 else 0,
            1,
            w.stamps(created),
            w.stamps(created),
        )


ROUTE_SQL = (
    "INSERT INTO routes (route_id, name, enabled, source_agent_id, source_role, event_type, filter, target_agent_id,"
    " template, requires_approval, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def event_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    """Time-ordered events (seq order is time order, as when Relayboard appends them). A hot loop: ~4 µs a row."""
    rng = w.rng
    n = spec.events
    span = w.span_us
    random_ = rng.random
    getrandbits = rng.getrandbits
    offsets = sorted([int(random_() * span) for _ in range(n)])
    # One (event_type, origin, surface, agent_or_none) "kind" per event, drawn up front.
    kinds: list[tuple[str, str, str, bool]] = []
    weights: list[float] = []
    for event_type, weight, origins in EVENT_TYPES:
        for origin in origins:
            agent_choices = (True, False) if origin == "system" else (True,)  # half the system events name no agent
            for with_agent in agent_choices:
                kinds.append((event_type, origin, SURFACE_BY_ORIGIN[origin], with_agent))
                weights.append(weight / len(origins) / len(agent_choices))
    picks = rng.choices(kinds, weights, k=n)
    agent_count = len(w.agent_ids)
    hot = max(1, agent_count // 10)  # a tenth of the agents make most of the noise
    hot_or_all = rng.choices((hot, agent_count), (7, 3), k=n)
    agent_ids = w.agent_ids
    names = w.agent_names
    start = w.stamps.start
    last_minute = -1
    prefix = ""
    previous_id = None
    trace = f"{getrandbits(128):032x}"
    for i in range(n):
        event_type, origin, surface, with_agent = picks[i]
        index = getrandbits(32) % hot_or_all[i]
        seconds, micros = divmod(offsets[i], 1_000_000)
        minute, second = divmod(seconds, 60)
        if minute != last_minute:
            prefix = (start + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")
            last_minute = minute
        h = f"{getrandbits(128):032x}"
        event_id = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
        chained = random_() < 0.15
        if not chained:
            trace = f"{getrandbits(128):032x}"
        yield (
            event_id,
            f"{prefix}{second:02d}.{micros:06d}Z",
            event_type,
            origin,
            agent_ids[index] if with_agent else None,
            "operator",
            surface,
            "",
            previous_id if chained else None,
            trace,
            f"{getrandbits(64):016x}",
            f"{event_type} by {names[index]} (#{i})",
            "{}" if i & 3 else f'{{"n":{i}}}',
        )
        previous_id = event_id


EVENT_SQL = (
    "INSERT INTO events (event_id, timestamp, event_type, origin, agent_id, user_id, surface_id, project_id,"
    " parent_event_id, trace_id, span_id, summary, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def queue_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    rng = w.rng
    states = rng.choices(QUEUE_STATES, QUEUE_WEIGHTS, k=spec.queue)
    offsets = sorted(rng.randrange(0, w.span_us) for _ in range(spec.queue))
    for i in range(spec.queue):
        state = states[i]
        # Open messages are recent; the rest are spread over the month.
        enqueued = offsets[i] if state not in ("queued", "blocked") else w.span_us - rng.randrange(0, 7_200_000_000)
        block = rng.choice(BLOCK_REASONS) if state == "blocked" else None
        delay = w.stamps(w.span_us + 3_600_000_000) if block == "operator_delayed" else None
        updated = min(w.span_us, enqueued + rng.randrange(0, 60_000_000))
        yield (
            _hex(rng, 12),
            state,
            STATE_PRIORITY[state],
            block,
            rng.choice(w.route_ids) if i % 2 else None,
            None,
            rng.choice(w.master_ids),
            "master",
            rng.choice(w.agent_ids),
            f"please look at failure #{i}: the test suite reported an error",
            f"key-{i}" if i % 10 == 0 else None,
            delay,
            1 if state in ("delivered", "failed") else 0,
            "target pane gone" if state == "failed" else "",
            "operator canceled" if state == "canceled" else "",
            2 if state != "queued" else 1,
            w.stamps(enqueued),
            w.stamps(updated),
            w.stamps(updated) if state == "delivered" else None,
        )


QUEUE_SQL = (
    "INSERT INTO queue_messages (message_id, state, state_priority, block_reason, route_id, source_event_id, sender,"
    " sender_role, target_agent_id, payload, idempotency_key, delay_until, attempts, last_error, cancel_reason,"
    " version, enqueued_at, updated_at, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
IDEMPOTENCY_SQL = (
    "INSERT INTO idempotency_keys (key, message_id, created_at)"
    " SELECT idempotency_key, message_id, enqueued_at FROM queue_messages WHERE idempotency_key IS NOT NULL"
)


def token_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    rng = w.rng
    offsets = sorted(rng.randrange(0, w.span_us) for _ in range(spec.token_usage))
    for i in range(spec.token_usage):
        source, model, price_in, price_out = rng.choice(MODELS)
        tokens_in = rng.randrange(200, 40_000)
        tokens_out = rng.randrange(50, 8_000)
        cache_read = rng.randrange(0, 120_000)
        cost = (tokens_in * price_in + tokens_out * price_out + cache_read * price_in * 0.1) / 1e6
        yield (
            f"{source}:{_hex(rng, 16)}:{i}",
            source,
            rng.choice(w.agent_ids),
            f"session-{i // 50}",
            model,
            tokens_in,
            tokens_out,
            cache_read,
            rng.randrange(0, 5_000),
            round(cost, 6),
            w.stamps(offsets[i]),
        )


TOKEN_SQL = (
    "INSERT INTO token_usage (dedup_key, source, agent_id, session_id, model, input_tokens, output_tokens,"
    " cache_read_tokens, cache_write_tokens, cost_usd, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def process_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    states = ("running", "stopped", "crashed", "paused")
    for i in range(spec.processes):
        at = w.stamps(w.rng.randrange(0, w.span_us))
        kind = ("terminal", "devserver", "agent_run")[i % 3]
        yield (_hex(w.rng, 12), kind, f"{kind}-{i}", "npm run dev", "/srv/src", states[i % 4], at, at)


PROCESS_SQL = (
    "INSERT INTO processes (process_id, kind, name, command, cwd, state, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def schedule_rows(w: World, spec: Spec) -> Iterator[tuple[Any, ...]]:
    for i in range(spec.schedules):
        at = w.stamps(w.rng.randrange(0, w.span_us))
        yield (_hex(w.rng, 12), f"nightly-{i}", w.rng.choice(w.agent_ids), "", "02:00", 60, 127, i % 4 != 3, at, at)


SCHEDULE_SQL = (
    "INSERT INTO schedules (schedule_id, name, agent_id, command, start_time, duration_minutes, day_mask, enabled,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _batches(rows: Callable[[], Iterable[Sequence[Any]]], fork: bool) -> Iterator[list[Sequence[Any]]]:
    """Batches of `rows()`, generated in a forked helper process where fork exists, so that making the next batch
    (pure Python) overlaps with SQLite inserting this one. The child inherits the generator state (seeded RNG,
    agent ids) by fork, so the data is the same either way."""
    if not fork or "fork" not in multiprocessing.get_all_start_methods():
        iterator = iter(rows())
        while batch := list(itertools.islice(iterator, BATCH)):
            yield batch
        return
    ctx = multiprocessing.get_context("fork")
    batches: Any = ctx.Queue(maxsize=4)

    def produce() -> None:
        iterator = iter(rows())
        while batch := list(itertools.islice(iterator, BATCH)):
            batches.put(batch)
        batches.put(None)

    child = ctx.Process(target=produce, name="bighome-rows", daemon=True)
    child.start()
    try:
        while True:
            try:
                batch = batches.get(timeout=5)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"row generator died (exit code {child.exitcode})") from None
                continue
            if batch is None:
                break
            yield batch
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()


def _insert(
    conn: sqlite3.Connection,
    label: str,
    sql: str,
    rows: Callable[[], Iterable[Sequence[Any]]],
    total: int,
    fork: bool = False,
) -> None:
    """Insert `rows()` in batches. `fork=True` only for generators that do not add to the World (a forked child's
    additions would be lost)."""
    started = time.perf_counter()
    done = 0
    for batch in _batches(rows, fork):
        conn.executemany(sql, batch)
        done += len(batch)
        if total >= 10 * BATCH and done % (10 * BATCH) == 0:
            log(f"  {label}: {done:,}/{total:,} ({time.perf_counter() - started:.1f} s)")
    log(f"  {label}: {done:,} rows in {time.perf_counter() - started:.1f} s")


def _secondary_indexes(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    """The named (non-constraint) indexes of `table`, as the migrations wrote them."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
    ).fetchall()
    return [(str(name), str(sql)) for name, sql in rows]


def fill(db_path: Path, spec: Spec, socket: str) -> None:
    """Write the rows straight into the file Bench.open created, in one transaction, then check them."""
    world = World(
        rng=random.Random(SEED),
        stamps=Stamps(END - timedelta(days=DAYS)),
        span_us=DAYS * 86_400_000_000,
        socket=socket,
        agent_ids=[],
        agent_names=[],
        master_ids=[],
        route_ids=[],
    )
    # (table, insert, generator, rows, fork): agents and routes first, the others pick from them.
    tables: list[tuple[str, str, Callable[[World, Spec], Iterator[tuple[Any, ...]]], int, bool]] = [
        ("agents", AGENT_SQL, agent_rows, spec.agents, False),
        ("panes", PANE_SQL, pane_rows, spec.panes, False),
        ("log_attachments", ATTACHMENT_SQL, attachment_rows, int(spec.panes * 0.8), False),
        ("routes", ROUTE_SQL, route_rows, spec.routes, False),
        ("processes", PROCESS_SQL, process_rows, spec.processes, False),
        ("schedules", SCHEDULE_SQL, schedule_rows, spec.schedules, False),
        ("token_usage", TOKEN_SQL, token_rows, spec.token_usage, False),
        ("queue_messages", QUEUE_SQL, queue_rows, spec.queue, True),
        ("events", EVENT_SQL, event_rows, spec.events, True),
    ]
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        # Nobody else has the file open: no journal, no fsync, a big page cache for the random event_id index.
        # CHECK constraints are verified once at the end (quick_check) instead of per row: evaluating their
        # IN-lists costs ~5 µs a row, a quarter of the build.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -512000")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute("BEGIN")
        for table, sql, generate, total, fork in tables:
            world.rng = random.Random(f"{SEED}:{table}")  # one stream per table: forked generators stay distinct
            # Building secondary indexes once, sorted, beats updating them row by row.
            indexes = _secondary_indexes(conn, table) if total >= 10 * BATCH else []
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            _insert(conn, table, sql, functools.partial(generate, world, spec), total, fork)
            started = time.perf_counter()
            for _, index_sql in indexes:
                conn.execute(index_sql)
            if indexes:
                log(f"  {table}: {len(indexes)} indexes rebuilt in {time.perf_counter() - started:.1f} s")
        conn.execute(IDEMPOTENCY_SQL)
        conn.execute("COMMIT")
        conn.execute("PRAGMA ignore_check_constraints = OFF")
        started = time.perf_counter()
        for table, *_ in tables:
            problems = [str(r[0]) for r in conn.execute(f'PRAGMA quick_check("{table}")')]
            if problems != ["ok"]:
                raise RuntimeError(f"big home violates the schema in {table}: {problems[:5]}")
        log(f"  quick_check (CHECK and NOT NULL constraints) ok in {time.perf_counter() - started:.1f} s")
        # Back to what Relayboard uses (it sets WAL again on open anyway).
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


def build(home: Path, spec: Spec, socket: str | None = None) -> BigHome:
    """Build a big home in `home` (must not hold a database yet)."""
    home = Path(home)
    if (home / DB_NAME).exists():
        raise SystemExit(f"{home / DB_NAME} already exists; give an empty directory")
    socket = socket or new_socket()
    started = time.perf_counter()
    log(f"building big home in {home}: {spec}")
    run_coro(lambda: create_schema(home, socket))
    fill(home / DB_NAME, spec, socket)
    home_info = BigHome(home, socket, spec, END, time.perf_counter() - started)
    (home / INFO_NAME).write_text(json.dumps(home_info.describe(), indent=2))
    log(f"big home ready in {home_info.build_seconds:.1f} s ({home_info.describe()['db_mb']} MB)")
    return home_info


def load(home: Path) -> BigHome:
    """A big home built earlier (by `python benchmarks/bighome.py DIR` or by run_all)."""
    info = json.loads((Path(home) / INFO_NAME).read_text())
    return BigHome(Path(home), info["socket"], Spec(**info["spec"]), datetime.fromisoformat(info["end"]), 0.0)


_CACHE: dict[Spec, BigHome] = {}
_ROOT: list[Path] = []


def scratch_root() -> Path:
    """One temp dir per process for everything the benchmarks write; removed at exit."""
    if not _ROOT:
        root = Path(tempfile.mkdtemp(prefix="relayboard-bench-"))
        _ROOT.append(root)
        atexit.register(shutil.rmtree, root, ignore_errors=True)
    return _ROOT[0]


def big_home(quick: bool = False, spec: Spec | None = None) -> BigHome:
    """The big home of this size, built once per process."""
    spec = spec or (QUICK if quick else FULL)
    if spec not in _CACHE:
        home = scratch_root() / f"bighome-{spec.agents}a-{spec.events}e-{spec.queue}q"
        home.mkdir(parents=True)
        built = build(home, spec)
        atexit.register(kill_tmux, built.socket)
        _CACHE[spec] = built
    return _CACHE[spec]


def home_for(args: argparse.Namespace) -> BigHome:
    """`--home DIR` (prebuilt, e.g. by run_all) or a fresh one of the size `--quick` asks for."""
    if getattr(args, "home", None):
        return load(args.home)
    return big_home(quick=args.quick)


def isolate_environment(root: Path) -> dict[str, str]:
    """Point HOME (and the XDG dirs) at a temp dir so nothing touches the real home; returns the env for children."""
    fake = root / "fake-home"
    fake.mkdir(parents=True, exist_ok=True)
    os.environ["HOME"] = str(fake)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[name] = str(fake / name.lower())
    for name in list(os.environ):
        if name.startswith("TEXTUAL") or name.startswith("RELAYBOARD"):
            del os.environ[name]
    return dict(os.environ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="empty directory to build the home in (kept afterwards)")
    parser.add_argument("--quick", action="store_true", help="a 1/20 size home")
    args = parser.parse_args(argv)
    isolate_environment(scratch_root())
    args.dir.mkdir(parents=True, exist_ok=True)
    built = build(args.dir, QUICK if args.quick else FULL)
    print(json.dumps(built.describe()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
