"""`await bench.dashboard()` on the big home: p50 and p95, against the cheapest query on the same file.

    python benchmarks/dashboard.py [--quick] [--home DIR] [--calls N]

Baseline (same run, same file, calls interleaved with ours): a raw aiosqlite `SELECT count(*) FROM events`.
Goal: dashboard p50 <= 50 ms. To stderr: where the time goes (readiness, each SQL statement the dashboard runs,
with its EXPLAIN QUERY PLAN), measured in a separate instrumented pass after the timed one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bighome

from core.bench import Bench

GOAL_P50_MS = 50.0
BASELINE_SQL = "SELECT count(*) FROM events"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) — no interpolation, so p95 of 30 calls is the 29th slowest."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


async def baseline_call(conn: aiosqlite.Connection) -> None:
    async with conn.execute(BASELINE_SQL) as cur:
        await cur.fetchone()


async def timed(coro_factory: Any) -> float:
    started = time.perf_counter()
    await coro_factory()
    return (time.perf_counter() - started) * 1000


async def measure(home: bighome.BigHome, calls: int, warmups: int) -> tuple[list[float], list[float]]:
    bench = await Bench.open(home.path, settings=home.settings(), clock=home.clock(), surface="tui")
    conn = await aiosqlite.connect(str(home.db_path))
    try:
        for _ in range(warmups):
            await bench.dashboard()
            await baseline_call(conn)
        ours: list[float] = []
        base: list[float] = []
        for i in range(calls):
            # Alternate which goes first so neither always runs right after the other's cache warm-up.
            if i % 2:
                ours.append(await timed(bench.dashboard))
                base.append(await timed(lambda: baseline_call(conn)))
            else:
                base.append(await timed(lambda: baseline_call(conn)))
                ours.append(await timed(bench.dashboard))
        return ours, base
    finally:
        await conn.close()
        await bench.close()


async def breakdown(home: bighome.BigHome, calls: int) -> None:
    """Instrument one bench's Database.fetchall (on the instance only) to time every statement of a dashboard."""
    bench = await Bench.open(home.path, settings=home.settings(), clock=home.clock(), surface="tui")
    db = bench.ctx.db
    original = db.fetchall
    spent: dict[str, list[float]] = defaultdict(list)
    params_of: dict[str, Any] = {}
    recording = False

    async def fetchall(sql: str, params: Any = ()) -> Any:
        started = time.perf_counter()
        try:
            return await original(sql, params)
        finally:
            if recording:
                spent[sql].append((time.perf_counter() - started) * 1000)
                params_of[sql] = params

    db.fetchall = fetchall  # type: ignore[method-assign]
    try:
        await bench.dashboard()
        totals, readiness, probe = [], [], []
        for _ in range(calls):
            recording = True
            totals.append(await timed(bench.dashboard))
            recording = False
            readiness.append(await timed(bench.readiness))
            probe.append(await timed(bench.ctx.tmux.probe))
        db.fetchall = original  # type: ignore[method-assign]
        total = statistics.median(totals)
        bighome.log(f"dashboard breakdown (median of {calls} instrumented calls, total {total:.1f} ms):")
        bighome.log(f"  {statistics.median(readiness):8.2f} ms  bench.readiness(), run first by every dashboard call")
        bighome.log(
            f"  {statistics.median(probe):8.2f} ms    of which the tmux probe (`tmux -L <socket> list-sessions`)"
        )
        rows = sorted(spent.items(), key=lambda item: -statistics.median(item[1]))
        for sql, times in rows:
            per_call = len(times) / calls
            bighome.log(f"  {statistics.median(times):8.2f} ms  x{per_call:g}  {' '.join(sql.split())[:150]}")
        bighome.log("EXPLAIN QUERY PLAN of the statements above 1 ms:")
        for sql, times in rows:
            if statistics.median(times) < 1.0:
                continue
            plan = await original(f"EXPLAIN QUERY PLAN {sql}", params_of[sql])
            bighome.log(f"  {' '.join(sql.split())[:150]}")
            for row in plan:
                bighome.log(f"      {row['detail']}")
    finally:
        await bench.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/20 size home")
    parser.add_argument("--home", type=Path, help="a prebuilt big home (benchmarks/bighome.py DIR)")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-statement breakdown on stderr")
    args = parser.parse_args(argv)
    bighome.isolate_environment(bighome.scratch_root())
    started = time.perf_counter()
    home = bighome.home_for(args)
    case = "quick_home" if home.spec != bighome.FULL else "big_home"
    try:
        bighome.log(f"dashboard: {args.warmups} warm-ups, then {args.calls} calls each (ours and baseline)")
        ours, base = asyncio.run(measure(home, args.calls, args.warmups))
        if not args.no_breakdown:
            asyncio.run(breakdown(home, min(args.calls, 10)))
    finally:
        bighome.kill_tmux(home.socket)
    for label, q, goal in (("p50", 50, GOAL_P50_MS), ("p95", 95, None)):
        ours_ms, base_ms = percentile(ours, q), percentile(base, q)
        line = {
            "benchmark": "dashboard",
            "case": f"{case}_{label}",
            "ours_ms": round(ours_ms, 2),
            "baseline_ms": round(base_ms, 2),
            "ratio": round(ours_ms / base_ms, 2),
            "goal": f"ours_ms<={goal:g}" if goal is not None else None,
            "met": ours_ms <= goal if goal is not None else None,
            "calls": args.calls,
            "baseline": BASELINE_SQL,
            "rows": {"events": home.spec.events, "agents": home.spec.agents, "queue": home.spec.queue},
        }
        print(json.dumps(line), flush=True)
    bighome.log(f"dashboard benchmark done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
