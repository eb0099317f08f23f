"""Relayboard over its Unix socket (`relayboard headless`, a second process) against the same core in-process.

    python benchmarks/socket_calls.py [--quick] [--rounds N] [--calls N] [--starts N]

One home (a temp dir under /tmp: the socket path must fit in 107 bytes) holding 50 agents adopted from real idle
bash panes on a private tmux server (as idle_cpu.py builds them); `relayboard headless --home H` serves it in a
subprocess with its services running (the watcher on those 50 panes), as in production. Baselines, same run:
  calls       `app.dashboard` and `app.agent.list` (limit 50) through a `SocketClient` vs a `LocalClient` on its own
              `Bench.open` of the same home in this process (no services), interleaved call by call, the order
              alternating each round, after discarded warm-ups. Figure: the p50 overhead of the socket (socket p50 -
              in-process p50), goal <= 2 ms; p95 reported too. A breakdown of the overhead goes to stderr.
  concurrent  8 `SocketClient`s (8 connections) x 1,000 `app.agent.list` calls each, back to back, vs the same
              8,000 calls through one `LocalClient` by 8 concurrent tasks, in alternating blocks: calls/s and p99.
  attach      time from spawning the TUI (`RelayboardApp`, headless, 120x40, a fresh process per start) to the
              dashboard's data shown, attaching to the running server (the opener of `relayboard`: `attached_path`
              then `SocketClient.connect`) vs opening the home in-process (startup.py's `ours` opener); both driven
              by `_startup_child.drive` in `socket_calls.py --child ...`, interleaved after one discarded start each.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

T0 = time.perf_counter()  # a child's clock (child-relative marks); the parent also measures from spawn

if TYPE_CHECKING:
    from core.client import LocalClient, SocketClient

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GOAL_OVERHEAD_MS = 2.0
AGENTS = 50
LIST_LIMIT = 50
CLIENTS = 8
BLOCKS = 4  # the concurrent figure alternates socket and in-process blocks of calls_per_client / BLOCKS each
IDLE_S = 4.0  # the server's idle CPU (its watcher ticks every 2 s) is measured over this long, then subtracted
START_TIMEOUT_S = 60
CHILD_TIMEOUT_S = 120


# --- child: one measured TUI start --------------------------------------------------------------------------------


async def run_attached(args: argparse.Namespace, marks: dict[str, float]) -> None:
    """Start the way `relayboard --home DIR` does when a core serves the home (tui/cli.py `_tui`): libtmux first,
    the app with an opener that finds the socket (`attached_path`: a preflight) and connects to it."""
    import asyncio
    import importlib

    import libtmux  # noqa: F401
    from _startup_child import drive

    from tui.app import RelayboardApp

    home = Path(args.home)

    async def open_client():  # type: ignore[no-untyped-def]
        client_module = await asyncio.to_thread(importlib.import_module, "core.client")
        path = await client_module.attached_path(home)
        if path is None:
            raise RuntimeError(f"no core answers on {client_module.socket_of(home)}")
        client = await client_module.SocketClient.connect(path, surface="tui")
        marks["opened"] = time.perf_counter()
        return client

    await drive(RelayboardApp(open_client, refresh_seconds=0), marks, want_data=True)


def child_main(args: argparse.Namespace) -> int:
    import asyncio

    import _startup_child

    marks: dict[str, float] = {}
    if args.child == "attach":
        asyncio.run(run_attached(args, marks))
    else:  # in-process, exactly startup.py's `ours` (LocalClient.open, no services, the system clock)
        asyncio.run(_startup_child.run_ours(argparse.Namespace(home=args.home, socket=args.socket, end=None), marks))
    result: dict[str, Any] = {name: round((at - T0) * 1000, 2) for name, at in marks.items()}
    result["absolute"] = marks
    result["errors"] = _startup_child.ERRORS
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if "data" in marks else 1


# --- parent: the home, the server ---------------------------------------------------------------------------------


def make_home(root: Path, socket_name: str, agents: int) -> Path:
    """A short home under /tmp with `agents` idle bash panes adopted on a private tmux server, and a config.toml
    giving `relayboard headless` (which reads no --settings) the same private socket and token paths."""
    import bighome
    import idle_cpu

    home = Path(tempfile.mkdtemp(prefix="rb-", dir="/tmp"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    work = root / "socket-cwd"
    work.mkdir(parents=True, exist_ok=True)
    idle_cpu.start_server(socket_name, agents, work)
    idle_cpu.adopt_all(home, socket_name, agents)
    settings = bighome.bench_settings(home, socket_name)
    config = {
        "tmux_socket": settings.tmux_socket,
        "claude_home": settings.claude_home,
        "codex_home": settings.codex_home,
    }
    (home / "config.toml").write_text("".join(f"{key} = {json.dumps(str(value))}\n" for key, value in config.items()))
    return home


def start_headless(home: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`relayboard headless --home H` in a subprocess; returns once a core answers `app.preflight` on the socket."""
    import bighome

    from core.client import preflight, socket_of

    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "headless", "--home", str(home)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    started = time.perf_counter()
    path = socket_of(home)
    while time.perf_counter() - started < START_TIMEOUT_S:
        if proc.poll() is not None:
            raise RuntimeError(f"relayboard headless exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        if path.exists() and bighome.run_coro(lambda: preflight(path, wait=1.0)).code == "ok":
            waited = time.perf_counter() - started
            bighome.log(f"socket: relayboard headless (pid {proc.pid}) serving {path} after {waited:.2f} s")
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(
        f"relayboard headless did not answer within {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}"
    )


def stop_headless(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class CPU:
    """CPU seconds (user + system) of this process and of the server, between two samples."""

    def __init__(self, server_pid: int) -> None:
        import psutil

        self._server = psutil.Process(server_pid)
        self._at = self._sample()
        self.server_idle = 0.0  # the server's CPU seconds per second with no client (its watcher), once measured

    def _sample(self) -> tuple[float, float, float]:
        t = self._server.cpu_times()
        return time.perf_counter(), time.process_time(), t.user + t.system

    def lap(self) -> tuple[float, float, float]:
        """(wall, this process, server minus its idle rate) seconds since the previous lap."""
        now = self._sample()
        wall, ours, server = (b - a for a, b in zip(self._at, now, strict=True))
        self._at = now
        return wall, ours, server - self.server_idle * wall

    async def measure_idle(self, seconds: float) -> None:
        import asyncio

        import bighome

        self.server_idle = 0.0
        self.lap()
        await asyncio.sleep(seconds)
        wall, _, server = self.lap()
        self.server_idle = server / wall
        bighome.log(f"socket: the server idle (its watcher on the panes) uses {self.server_idle * 100:.1f} % of a core")


CPU_WAIT: dict[str, float | None] = {}  # phase -> % of its wall time some task waited for a CPU


def cpu_stall_us() -> int | None:
    """Microseconds some task has waited for a CPU since boot (Linux PSI, /proc/pressure/cpu; None without it)."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(some.rsplit("total=", 1)[1])


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Record in CPU_WAIT how much of the phase some task waited for a CPU: other work on the machine shows up
    there (and in the tails), to tell a busy machine from a slow Relayboard. The concurrent phase keeps both cores
    busy by itself (server and clients), so its figure is high even on a quiet machine."""
    import bighome

    stalled, started = cpu_stall_us(), time.perf_counter()
    try:
        yield
    finally:
        now, wall = cpu_stall_us(), time.perf_counter() - started
        CPU_WAIT[name] = None if stalled is None or now is None else round((now - stalled) / 1e4 / wall, 1)
        load = os.getloadavg()[0]
        bighome.log(f"socket/{name}: tasks waited for a CPU {CPU_WAIT[name]} % of {wall:.1f} s (load {load:.2f})")


# --- parent: the figures ------------------------------------------------------------------------------------------


async def timed(factory: Any) -> float:
    started = time.perf_counter()
    await factory()
    return (time.perf_counter() - started) * 1000


async def per_call(
    socket_client: SocketClient, local: LocalClient, rounds: int, warmups: int, cpu: CPU
) -> dict[str, tuple[list[float], list[float]]]:
    """{call name: (socket ms, in-process ms)}: both calls on both clients every round, interleaved."""
    import bighome

    from core.agents import AGENT_LIST
    from core.dashboard import DASHBOARD

    calls = {
        "dashboard": (DASHBOARD, {}),
        "agent_list": (AGENT_LIST, {"limit": LIST_LIMIT}),
    }
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in calls}
    for round_ in range(warmups + rounds):
        if round_ == warmups:
            cpu.lap()
        for name, (call, params) in calls.items():
            if round_ % 2:  # alternate who goes first, so neither always follows the other's cache warm-up
                on_socket = await timed(lambda: socket_client.call(call, params))  # noqa: B023
                in_process = await timed(lambda: local.call(call, params))  # noqa: B023
            else:
                in_process = await timed(lambda: local.call(call, params))  # noqa: B023
                on_socket = await timed(lambda: socket_client.call(call, params))  # noqa: B023
            if round_ >= warmups:
                times[name][0].append(on_socket)
                times[name][1].append(in_process)
    wall, ours, server = cpu.lap()
    done = rounds * len(calls)
    bighome.log(
        f"socket/calls: {rounds} rounds in {wall:.1f} s; CPU over the rounds: this process {ours:.1f} s, "
        f"server {server:.1f} s beyond its idle rate (~{server / done * 1000:.2f} ms of server CPU per socket call)"
    )
    return times


async def concurrent(
    path: Path, local: LocalClient, clients: int, calls_per_client: int, cpu: CPU
) -> dict[str, dict[str, Any]]:
    """`clients` socket connections x calls_per_client `app.agent.list` calls each, against the same number of
    calls by `clients` tasks on one LocalClient; in BLOCKS alternating blocks after one short warm-up block each."""
    import asyncio

    import bighome

    from core.agents import AGENT_LIST
    from core.client import SocketClient

    sockets = [
        await SocketClient.connect(path, surface="tui", client_id=f"relayboard-bench-{i}", reconnect=False)
        for i in range(clients)
    ]
    totals: dict[str, dict[str, Any]] = {
        name: {"seconds": 0.0, "latencies": [], "cpu_ours": 0.0, "cpu_server": 0.0} for name in ("socket", "local")
    }

    async def worker(client: Any, n: int, into: list[float]) -> None:
        for _ in range(n):
            started = time.perf_counter()
            await client.call(AGENT_LIST, {"limit": LIST_LIMIT})
            into.append((time.perf_counter() - started) * 1000)

    async def block(name: str, n: int, record: bool) -> None:
        latencies: list[float] = []
        workers = sockets if name == "socket" else [local] * clients
        cpu.lap()
        await asyncio.gather(*(worker(client, n, latencies) for client in workers))
        wall, ours, server = cpu.lap()
        if record:
            totals[name]["seconds"] += wall
            totals[name]["latencies"] += latencies
            totals[name]["cpu_ours"] += ours
            totals[name]["cpu_server"] += server
            bighome.log(
                f"socket/concurrent: {name} block of {clients}x{n} in {wall:.2f} s ({clients * n / wall:.0f}/s)"
            )

    try:
        per_block = max(1, calls_per_client // BLOCKS)
        for name in ("socket", "local"):
            await block(name, max(1, per_block // 10), record=False)
        for i in range(BLOCKS):
            for name in ("socket", "local") if i % 2 == 0 else ("local", "socket"):
                await block(name, per_block, record=True)
    finally:
        for client in sockets:
            await client.close()
    return totals


async def breakdown(socket_client: SocketClient, local: LocalClient, samples: int) -> None:
    """Where the socket's overhead goes, to stderr: the cost of a trivial round trip, and the (de)serialisation each
    side adds to the two calls, timed here on this process's results (medians)."""
    import bighome

    from core.agents import AGENT_LIST
    from core.calls import ok
    from core.dashboard import DASHBOARD
    from core.sessions import PREFLIGHT
    from core.wire import encode

    floor_socket = [await timed(lambda: socket_client.call(PREFLIGHT)) for _ in range(samples)]
    floor_local = [await timed(lambda: local.call(PREFLIGHT)) for _ in range(samples)]
    bighome.log(
        f"socket breakdown (medians of {samples}): app.preflight (no work) socket "
        f"{statistics.median(floor_socket):.3f} ms, in-process {statistics.median(floor_local):.3f} ms"
    )
    for name, call, params in (("dashboard", DASHBOARD, {}), ("agent_list", AGENT_LIST, {"limit": LIST_LIMIT})):
        result = await local.call(call, params)
        dump, load, size = [], [], 0
        for _ in range(samples):
            started = time.perf_counter()
            line = encode({**ok(result), "id": 1})
            dump.append((time.perf_counter() - started) * 1000)
            size = len(line)
            started = time.perf_counter()
            call.result.model_validate(json.loads(line)["result"])
            load.append((time.perf_counter() - started) * 1000)
        bighome.log(
            f"  {name}: {size:,} bytes; server model_dump+encode {statistics.median(dump):.3f} ms, client "
            f"json.loads+model_validate {statistics.median(load):.3f} ms"
        )


async def sessions_ended(path: Path) -> None:
    """Until the server has ended every session (it does when it notices the connection closed), 10 s at most."""
    import asyncio

    from core.client import preflight

    for _ in range(500):
        answer = await preflight(path)
        if not answer.sessions:
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"the server still holds {answer.sessions} session(s) after 10 s")


def measure_calls(
    home: Path, socket_name: str, server_pid: int, rounds: int, warmups: int, clients: int, calls_per_client: int
) -> tuple[dict[str, tuple[list[float], list[float]]], dict[str, dict[str, Any]]]:
    import asyncio

    import bighome

    from core.client import LocalClient, SocketClient, socket_of

    async def run() -> tuple[dict[str, tuple[list[float], list[float]]], dict[str, dict[str, Any]]]:
        local = await LocalClient.open(
            home, settings=bighome.bench_settings(home, socket_name), surface="tui", start_services=False
        )
        socket_client = await SocketClient.connect(
            socket_of(home), surface="tui", client_id="relayboard-bench", reconnect=False
        )
        cpu = CPU(server_pid)
        try:
            await cpu.measure_idle(IDLE_S)
            bighome.log(f"socket/calls: {warmups} warm-up rounds, then {rounds} rounds of both calls on both clients")
            with phase("calls"):
                times = await per_call(socket_client, local, rounds, warmups, cpu)
            await breakdown(socket_client, local, 50)
            await socket_client.close()  # the core serves at most MAX_SESSIONS (8) sessions: make room
            await sessions_ended(socket_of(home))
            bighome.log(f"socket/concurrent: {clients} clients x {calls_per_client} app.agent.list calls each way")
            with phase("concurrent"):
                totals = await concurrent(socket_of(home), local, clients, calls_per_client, cpu)
            totals["socket"]["server_idle"] = cpu.server_idle
            return times, totals
        finally:
            await socket_client.close()
            await local.close()

    return asyncio.run(run())


def start_tui(variant: str, home: Path, socket_name: str, env: dict[str, str]) -> dict[str, Any]:
    spawned = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "socket_calls.py"),
            "--child",
            variant,
            "--home",
            str(home),
            "--socket",
            socket_name,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"TUI start ({variant}) failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if result.get("errors"):
        raise RuntimeError(f"TUI start ({variant}): {result['errors']}")
    result["process"] = {k: round((v - spawned) * 1000, 2) for k, v in result.pop("absolute").items()}
    return result


def measure_attach(home: Path, socket_name: str, env: dict[str, str], starts: int) -> dict[str, list[dict[str, Any]]]:
    import bighome

    variants = ("attach", "local")
    bighome.log("socket/attach: one warm-up start of each variant (discarded)")
    for variant in variants:
        start_tui(variant, home, socket_name, env)
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for i in range(starts):
        for variant in variants if i % 2 == 0 else variants[::-1]:
            results[variant].append(start_tui(variant, home, socket_name, env))
        summary = ", ".join(
            f"{v} {results[v][-1]['process']['paint']:.0f}/{results[v][-1]['process']['data']:.0f}" for v in variants
        )
        bighome.log(f"socket/attach: start {i + 1}/{starts} paint/data ms from spawn: {summary}")
    return results


# --- output ---------------------------------------------------------------------------------------------------------


def call_lines(times: dict[str, tuple[list[float], list[float]]], warmups: int) -> list[dict[str, Any]]:
    from dashboard import percentile

    lines = []
    for name, (on_socket, in_process) in times.items():
        for label, q in (("p50", 50), ("p95", 95)):
            ours_ms, base_ms = percentile(on_socket, q), percentile(in_process, q)
            overhead = ours_ms - base_ms
            goal = label == "p50"
            lines.append(
                {
                    "benchmark": "socket",
                    "case": f"{name}_{label}",
                    "ours_ms": round(ours_ms, 3),
                    "baseline_ms": round(base_ms, 3),
                    "ratio": round(ours_ms / base_ms, 2),
                    "goal": f"overhead_ms<={GOAL_OVERHEAD_MS:g}" if goal else None,
                    "met": overhead <= GOAL_OVERHEAD_MS if goal else None,
                    "overhead_ms": round(overhead, 3),
                    "calls": len(on_socket),
                    "warmups": warmups,
                    "call": "app.dashboard" if name == "dashboard" else f"app.agent.list limit={LIST_LIMIT}",
                    "agents": AGENTS,
                    "baseline": "LocalClient on its own Bench.open of the same home (no services), interleaved",
                    "cpu_wait_pct": CPU_WAIT.get("calls"),
                }
            )
    return lines


def concurrent_lines(totals: dict[str, dict[str, Any]], clients: int, calls_per_client: int) -> list[dict[str, Any]]:
    from dashboard import percentile

    sock, local = totals["socket"], totals["local"]
    ours_rate = len(sock["latencies"]) / sock["seconds"]
    base_rate = len(local["latencies"]) / local["seconds"]
    common = {
        "clients": clients,
        "calls_per_client": calls_per_client,
        "call": f"app.agent.list limit={LIST_LIMIT}",
        "agents": AGENTS,
    }
    case = f"concurrent_{clients}x{calls_per_client}"
    ours_p99, base_p99 = percentile(sock["latencies"], 99), percentile(local["latencies"], 99)
    cpu = {
        # CPU seconds per 1,000 calls: where the work went (the server's less its idle rate, i.e. its watcher).
        "ours_cpu_client_s_per_1k": round(sock["cpu_ours"] / len(sock["latencies"]) * 1000, 2),
        "ours_cpu_server_s_per_1k": round(sock["cpu_server"] / len(sock["latencies"]) * 1000, 2),
        "baseline_cpu_s_per_1k": round(local["cpu_ours"] / len(local["latencies"]) * 1000, 2),
        "server_idle_pct": round(sock["server_idle"] * 100, 1),
    }
    return [
        {
            "benchmark": "socket",
            "case": f"{case}_throughput",
            "ours_calls_per_s": round(ours_rate, 1),
            "baseline_calls_per_s": round(base_rate, 1),
            "ratio": round(ours_rate / base_rate, 3),
            "goal": None,
            "met": None,
            **common,
            **cpu,
            "baseline": f"the same calls through one LocalClient by {clients} concurrent tasks, in this process",
            "cpu_wait_pct": CPU_WAIT.get("concurrent"),
        },
        {
            "benchmark": "socket",
            "case": f"{case}_p99",
            "ours_ms": round(ours_p99, 2),
            "baseline_ms": round(base_p99, 2),
            "ratio": round(ours_p99 / base_p99, 2),
            "goal": None,
            "met": None,
            "ours_p50_ms": round(percentile(sock["latencies"], 50), 2),
            "baseline_p50_ms": round(percentile(local["latencies"], 50), 2),
            **common,
            "baseline": f"the same calls through one LocalClient by {clients} concurrent tasks, in this process",
            "cpu_wait_pct": CPU_WAIT.get("concurrent"),
        },
    ]


def attach_line(results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    def median(variant: str, mark: str, process: bool = True) -> float:
        return round(statistics.median(r["process"][mark] if process else r[mark] for r in results[variant]), 1)

    ours, base = median("attach", "data"), median("local", "data")
    return {
        "benchmark": "socket",
        "case": "attach_data",
        "ours_ms": ours,
        "baseline_ms": base,
        "ratio": round(ours / base, 3),
        "goal": None,
        "met": None,
        "runs": len(results["attach"]),
        "ours_runs_ms": [r["process"]["data"] for r in results["attach"]],
        "baseline_runs_ms": [r["process"]["data"] for r in results["local"]],
        # First paint does not wait for the core; the child-relative marks start after interpreter start-up.
        "ours_paint_ms": median("attach", "paint"),
        "baseline_paint_ms": median("local", "paint"),
        "ours_opened_ms": median("attach", "opened"),
        "baseline_opened_ms": median("local", "opened"),
        "ours_child_data_ms": median("attach", "data", process=False),
        "baseline_child_data_ms": median("local", "data", process=False),
        "baseline": "the same TUI opening the home in-process (LocalClient.open, no services), fresh process per start",
        "cpu_wait_pct": CPU_WAIT.get("attach"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, calls and starts")
    parser.add_argument("--rounds", type=int, help="rounds of both calls on both clients (default 300, 100 quick)")
    parser.add_argument("--warmups", type=int, default=20)
    parser.add_argument("--calls", type=int, help="calls per concurrent client (default 1000, 200 quick)")
    parser.add_argument("--starts", type=int, help="TUI starts per variant (default 8, 3 quick)")
    parser.add_argument("--child", choices=("attach", "local"), help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)

    import bighome
    import startup

    rounds = args.rounds or (100 if args.quick else 300)
    calls_per_client = args.calls or (200 if args.quick else 1000)
    starts = args.starts or (3 if args.quick else 8)
    started = time.perf_counter()
    root = bighome.scratch_root()
    env = bighome.isolate_environment(root)
    child_env = startup.child_env(root)
    socket_name = bighome.new_socket()
    home: Path | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        home = make_home(root, socket_name, AGENTS)
        bighome.log(f"socket: home {home} with {AGENTS} agents on tmux -L {socket_name}")
        server = start_headless(home, env, root / "headless.log")
        times, totals = measure_calls(home, socket_name, server.pid, rounds, args.warmups, CLIENTS, calls_per_client)
        with phase("attach"):
            attach = measure_attach(home, socket_name, child_env, starts)
    finally:
        try:
            if server is not None:
                stop_headless(server)
        finally:
            bighome.kill_tmux(socket_name)
            if home is not None:
                shutil.rmtree(home, ignore_errors=True)
    lines = [
        *call_lines(times, args.warmups),
        *concurrent_lines(totals, CLIENTS, calls_per_client),
        attach_line(attach),
    ]
    for line in lines:
        print(json.dumps(line), flush=True)
    bighome.log(f"socket benchmark done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
