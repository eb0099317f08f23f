"""Pane discovery on a private tmux server with 200 panes in 20 sessions, against one raw `tmux list-panes`.

    python benchmarks/tmux_scan.py [--quick] [--runs N] [--sessions N] [--panes N] [--agents N]

Setup: a tmux server on a private `-L relayboard-bench-<uuid>` socket (killed at the end) with 20 sessions of two
250x80 windows of five tiled panes each, running `sleep 3600` or `cat` (cheap, and quiet); every fourth pane runs
`bash --norc --noprofile` or `cat` instead and is adopted as an agent (kind shell / other): 50 agents. Bench home,
HOME and the XDG dirs are in a temp dir removed at exit.

Timed calls, interleaved round by round (the order rotates) after warm-ups; medians (and p95) of N rounds:
  baseline    `subprocess.run(["tmux", "-L", sock, "list-panes", "-a", "-F", core.tmux.PANE_FORMAT])`
  scan        `await bench.agents.scan({"wait": True})`: the batched list-panes plus the SQLite upsert of every pane
  list_panes  `await bench.ctx.tmux.list_panes(now)`: discovery alone (libtmux in a worker thread, no database)
  watch_idle  `await bench.refresh_states()` (one watcher tick) with 50 adopted agents and no pane activity; the
              25 `cat` agents are `working` (a non-shell command in the foreground), a state the watcher recaptures
              every tick, so an idle tick still captures them (`captured_per_tick`); every agent's screen vote is in
              doubt (a shell prompt, a quiet command), so each tick also reads the process signal of all 50 (/proc)
  watch_idle_screen_only  the same tick with the process signal off (`watcher.ask_processes = False`)
Then a second loop for watch_active: before each tick (untimed) one key is typed into every agent pane, after the
wall clock's second turned over (tmux's `window_activity`, which tells the watcher what to capture, has 1 s
resolution), so every tick captures all 50 panes in its one batched capture-pane call; each tick is paired with a
baseline call. Goals: scan <= 2x baseline; watch_idle (all signals) <= 2x baseline (state-detection issue). The
other figures carry no goal. Where the time goes goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bighome

from core.bench import Bench
from core.tmux import PANE_FORMAT

GOAL_RATIO = 2.0
WINDOWS_PER_SESSION = 2
AGENT_EVERY = 4  # every 4th pane is adopted: 200 panes -> 50 agents


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def pane_command(n: int, agents: int) -> str:
    """What pane number n runs: the adopted ones alternate bash and cat, the others sleep or cat."""
    if n % AGENT_EVERY == 0 and n // AGENT_EVERY < agents:
        return "bash --norc --noprofile" if n % (2 * AGENT_EVERY) == 0 else "cat"
    return "sleep 3600" if n % 2 else "cat"


def start_server(socket: str, sessions: int, panes: int, agents: int, cwd: Path) -> None:
    """All sessions, windows and panes, one tmux invocation per session (commands chained with ';')."""
    per_window = math.ceil(panes / WINDOWS_PER_SESSION)
    n = 0
    for s in range(sessions):
        name = f"bench-{s:02d}"
        args: list[str] = []
        for w in range(WINDOWS_PER_SESSION):
            in_window = min(per_window, panes - w * per_window)
            if in_window <= 0:
                break
            first = pane_command(n, agents)
            n += 1
            if w == 0:
                args += ["new-session", "-d", "-s", name, "-x", "250", "-y", "80", "-c", str(cwd), first, ";"]
            else:
                args += ["new-window", "-d", "-t", f"={name}:", "-c", str(cwd), first, ";"]
            for _ in range(in_window - 1):
                args += ["split-window", "-d", "-t", f"={name}:{w}", "-c", str(cwd), pane_command(n, agents), ";"]
                args += ["select-layout", "-t", f"={name}:{w}", "tiled", ";"]
                n += 1
        result = bighome.tmux(socket, *args[:-1])
        if result.returncode != 0:
            raise RuntimeError(f"tmux setup of {name} failed: {result.stderr.strip()}")


async def timed(factory: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await factory()
    return (time.perf_counter() - started) * 1000


def baseline_call(socket: str, binary: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([binary, "-L", socket, "list-panes", "-a", "-F", PANE_FORMAT], capture_output=True)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"baseline list-panes failed: {result.stderr!r}")
    return elapsed


async def adopt(bench: Bench, agents: int) -> list[str]:
    status = await bench.agents.scan({"wait": True})
    if status.state != "done":
        raise RuntimeError(f"first scan failed: {status.error}")
    # Pane ids are handed out in creation order (%0, %1, ...), so the panes started as agents are every
    # AGENT_EVERY-th id.
    by_number = {int(p.pane_id[1:]): p for p in await bench.agents.panes() if p.alive}
    picked = [by_number[n] for n in sorted(by_number) if n % AGENT_EVERY == 0][:agents]
    for i, pane in enumerate(picked):
        await bench.agents.register_from_pane(
            {
                **pane.identity(),
                "name": f"bench-agent-{i:03d}",
                "role": "shell" if pane.current_command == "bash" else "worker",
            }
        )
    kinds = sorted({a.kind for a in (await bench.agents.list({"limit": 200})).rows})
    bighome.log(f"tmux_scan: adopted {len(picked)} panes as agents (kinds: {', '.join(kinds)})")
    return [p.pane_id for p in picked]


async def measure(socket: str, home: Path, args: argparse.Namespace) -> dict[str, Any]:
    binary = shutil.which("tmux") or "tmux"
    bench = await Bench.open(home, settings=bighome.bench_settings(home, socket), surface="tui")
    captured: list[int] = []
    original_capture = bench.ctx.tmux.capture_many

    async def capture_many(pane_ids: list[str], lines: int = 40) -> dict[str, str]:
        captured.append(len(pane_ids))
        return await original_capture(pane_ids, lines)

    bench.ctx.tmux.capture_many = capture_many  # type: ignore[method-assign]  # counts, on this instance only
    try:
        agent_panes = await adopt(bench, args.agents)
        found = (await bench.agents.scan({"wait": True})).panes_found
        now = bench.ctx.now()

        async def base() -> None:
            baseline_call(socket, binary)

        async def raw_in_thread() -> None:
            await asyncio.to_thread(baseline_call, socket, binary)

        async def screen_only() -> None:  # the same tick without the process signal: what /proc costs
            bench.watcher.ask_processes = False
            try:
                await bench.refresh_states()
            finally:
                bench.watcher.ask_processes = True

        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "baseline": base,
            "scan": lambda: bench.agents.scan({"wait": True}),
            "list_panes": lambda: bench.ctx.tmux.list_panes(now),
            "watch_idle": bench.refresh_states,
            "watch_idle_screen_only": screen_only,
            "raw_in_thread": raw_in_thread,  # diagnostics only: the raw call through asyncio.to_thread
        }
        for _ in range(args.warmups):
            for factory in calls.values():
                await factory()
        captured.clear()
        times: dict[str, list[float]] = {name: [] for name in calls}
        names = list(calls)
        for round_ in range(args.runs):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                times[name].append(await timed(calls[name]))
        idle_captures = sum(captured)
        rows = (await bench.agents.list({"limit": 200})).rows
        states = ", ".join(f"{n} {s}" for s, n in sorted(Counter(f"{a.kind}/{a.state}" for a in rows).items()))
        bighome.log(
            f"tmux_scan: {args.runs} rounds of scan/list_panes/watch_idle/baseline done; idle ticks captured"
            f" {idle_captures} panes in total (agents: {states}; the watcher recaptures `working` and `unknown`"
            " agents every tick)"
        )

        # watch_active: every agent pane shows new output before each tick.
        keys: list[str] = []
        for pane_id in agent_panes:
            keys += ["send-keys", "-t", pane_id, "-l", "x", ";"]
        captured.clear()
        active: list[float] = []
        active_base: list[float] = []
        for round_ in range(args.active_runs + 1):
            await asyncio.sleep(math.ceil(time.time()) - time.time() + 0.02)  # into the next wall-clock second
            if (await asyncio.to_thread(bighome.tmux, socket, *keys[:-1])).returncode != 0:
                raise RuntimeError("send-keys to the agent panes failed")
            await asyncio.sleep(0.1)  # let tmux read the echoed key from every pane
            if round_ % 2:
                took = await timed(bench.refresh_states)
                base_ms = baseline_call(socket, binary)
            else:
                base_ms = baseline_call(socket, binary)
                took = await timed(bench.refresh_states)
            if round_ == 0:
                continue  # warm-up
            active.append(took)
            active_base.append(base_ms)
        per_tick = captured[1:]
        bighome.log(f"tmux_scan: watch_active ticks captured {per_tick} panes")
        times["watch_active"] = active
        times["watch_active_baseline"] = active_base
        return {
            "times": times,
            "found": found,
            "agents": len(agent_panes),
            "idle_captures": idle_captures / args.runs,
            "active_captures": per_tick,
        }
    finally:
        await bench.close()


def figure(
    case: str, ours: list[float], base: list[float], goal: float | None, extra: dict[str, Any]
) -> dict[str, Any]:
    o, b = statistics.median(ours), statistics.median(base)
    return {
        "benchmark": "tmux_scan",
        "case": case,
        "ours_ms": round(o, 2),
        "baseline_ms": round(b, 2),
        "ratio": round(o / b, 2),
        "goal": f"<={goal:g}" if goal is not None else None,
        "met": o / b <= goal if goal is not None else None,
        "ours_p95_ms": round(percentile(ours, 95), 2),
        "baseline_p95_ms": round(percentile(base, 95), 2),
        "runs": len(ours),
        "baseline": "subprocess.run(['tmux', '-L', sock, 'list-panes', '-a', '-F', PANE_FORMAT])",
        **extra,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 rounds instead of 30 (same server size)")
    parser.add_argument("--runs", type=int, help="timed rounds (default 30, 10 with --quick)")
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--panes", type=int, default=10, help="panes per session")
    parser.add_argument("--agents", type=int, default=50)
    args = parser.parse_args(argv)
    args.runs = args.runs or (10 if args.quick else 30)
    args.active_runs = 8 if args.quick else 20  # about one second each
    if shutil.which("tmux") is None:
        bighome.log("tmux_scan: tmux is not installed; nothing measured")
        return 1
    started = time.perf_counter()
    root = bighome.scratch_root()
    bighome.isolate_environment(root)
    socket = bighome.new_socket()
    home = root / "tmux-scan-home"
    work = root / "tmux-scan-cwd"
    work.mkdir(parents=True, exist_ok=True)
    total = args.sessions * args.panes
    try:
        began = time.perf_counter()
        start_server(socket, args.sessions, args.panes, args.agents, work)
        bighome.log(
            f"tmux_scan: {total} panes in {args.sessions} sessions on -L {socket}"
            f" in {time.perf_counter() - began:.1f} s"
        )
        result = asyncio.run(measure(socket, home, args))
    finally:
        bighome.kill_tmux(socket)
    times = result["times"]
    if result["found"] != total:
        bighome.log(f"tmux_scan: WARNING the scan found {result['found']} panes, expected {total}")
    size = {"panes": result["found"], "sessions": args.sessions, "agents": result["agents"]}
    lines = [
        figure("scan_200_panes", times["scan"], times["baseline"], GOAL_RATIO, size),
        figure("list_panes_200_panes", times["list_panes"], times["baseline"], None, size),
        figure(
            "watch_idle_50_agents",
            times["watch_idle"],
            times["baseline"],
            GOAL_RATIO,
            {**size, "captured_per_tick": result["idle_captures"]},
        ),
        figure(
            "watch_idle_50_agents_screen_only",
            times["watch_idle_screen_only"],
            times["baseline"],
            None,
            size,
        ),
        figure(
            "watch_active_50_agents",
            times["watch_active"],
            times["watch_active_baseline"],
            None,
            {**size, "captured_per_tick": statistics.median(result["active_captures"] or [0])},
        ),
    ]
    med = {name: statistics.median(values) for name, values in times.items()}
    bighome.log("tmux_scan: where the time goes (medians, ms):")
    bighome.log(f"  {med['baseline']:7.2f}  raw list-panes subprocess (baseline)")
    bighome.log(f"  {med['raw_in_thread']:7.2f}  the same through asyncio.to_thread")
    bighome.log(f"  {med['list_panes']:7.2f}  TmuxAdapter.list_panes (libtmux Server.cmd + parsing 200 Pane models)")
    bighome.log(f"  {med['scan'] - med['list_panes']:7.2f}  scan minus list_panes (coalescing task + SQLite upsert)")
    bighome.log(f"  {med['watch_idle'] - med['scan']:7.2f}  idle watcher tick minus scan (agents query, detection)")
    bighome.log(f"  {med['watch_idle'] - med['watch_idle_screen_only']:7.2f}  of which the process signal (/proc)")
    bighome.log(f"  {med['watch_active'] - med['watch_idle']:7.2f}  active tick minus idle tick (capture 50 + writes)")
    for line in lines:
        print(json.dumps(line), flush=True)
    bighome.log(f"tmux_scan benchmark done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
