"""Time to first paint of Relayboard against a bare Textual app with the same number of panes, same run.

    python benchmarks/startup.py [--quick] [--home DIR] [--runs N]

Every start is a fresh `python benchmarks/_startup_child.py ...` process, so imports count; the child's clock
starts before it imports Textual or Relayboard. Variants, interleaved round by round after one discarded warm-up
start each per case (which also fills the bytecode cache; --quick warms up on the first case only):
  ours       Bench.open + RelayboardApp, headless, 120x40; first paint = the dashboard screen laid out and refreshed
  bare       a Textual app with nine modes, each a Screen with a DataTable and a Footer
  bare_data  bare + an aiosqlite connection whose first screen loads the ten latest events in a worker
Cases: an empty home (a fresh directory every start, so ours also creates the schema) and the big home.
Figures (medians of N starts): first paint, ours vs bare (goal <= 1.3 on the big home); and, secondary, time until
the dashboard's data is rendered, ours vs bare_data.

Bytecode: children get PYTHONPYCACHEPREFIX=<temp dir> (and PYTHONDONTWRITEBYTECODE unset), so after the warm-up
both apps start from cached bytecode as an installed Relayboard would, without writing __pycache__ into the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bighome

HERE = Path(__file__).resolve().parent
CHILD = HERE / "_startup_child.py"
REPO = HERE.parent
GOAL_RATIO = 1.3
VARIANTS = ("ours", "bare", "bare_data")
TIMEOUT_S = 120


def child_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    env["PYTHONHASHSEED"] = "0"
    return env


class Case:
    """Where a variant starts: the big home (shared) or an empty home (a new directory each start)."""

    def __init__(self, name: str, root: Path, big: bighome.BigHome | None) -> None:
        self.name = name
        self.root = root
        self.big = big
        self.count = 0

    def args(self, variant: str) -> list[str]:
        if self.big is not None:
            home, socket, end = self.big.path, self.big.socket, self.big.end.isoformat()
        else:
            self.count += 1
            home = self.root / f"empty-{self.count:03d}-{variant}"
            home.mkdir(parents=True)
            socket, end = f"relayboard-bench-{uuid.uuid4().hex[:12]}", None
        args = [variant, "--home", str(home), "--socket", socket]
        return [*args, "--end", end] if end else args

    def socket_of(self, args: list[str]) -> str:
        return args[args.index("--socket") + 1]


def start(case: Case, variant: str, env: dict[str, str]) -> dict[str, Any]:
    args = case.args(variant)
    spawned = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(CHILD), *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    finally:
        if case.big is None:
            bighome.kill_tmux(case.socket_of(args))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{variant} on {case.name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if result.get("errors"):
        raise RuntimeError(f"{variant} on {case.name}: {result['errors']}")
    # Including interpreter start-up: from spawning the process to the mark (perf_counter is system-wide).
    result["process"] = {k: round((v - spawned) * 1000, 2) for k, v in result.pop("absolute").items()}
    return result


def run_case(case: Case, runs: int, env: dict[str, str], warm_up: bool) -> dict[str, list[dict[str, Any]]]:
    if warm_up:
        bighome.log(f"startup/{case.name}: warm-up start of each variant (discarded)")
        for variant in VARIANTS:
            start(case, variant, env)
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for round_ in range(runs):
        order = VARIANTS[round_ % 3 :] + VARIANTS[: round_ % 3]  # rotate who starts first
        for variant in order:
            results[variant].append(start(case, variant, env))
        summary = ", ".join(
            f"{v} {results[v][-1]['paint']:.0f}/{results[v][-1].get('data', float('nan')):.0f}" for v in VARIANTS
        )
        bighome.log(f"startup/{case.name}: round {round_ + 1}/{runs} paint/data ms: {summary}")
    return results


def figure(case: str, mark: str, ours: list[dict[str, Any]], base: list[dict[str, Any]], goal: bool) -> dict[str, Any]:
    ours_ms = [r[mark] for r in ours]
    base_ms = [r[mark] for r in base]
    o, b = statistics.median(ours_ms), statistics.median(base_ms)
    ratio = o / b
    return {
        "benchmark": "startup",
        "case": case,
        "ours_ms": round(o, 1),
        "baseline_ms": round(b, 1),
        "ratio": round(ratio, 3),
        "goal": f"<={GOAL_RATIO}" if goal else None,
        "met": ratio <= GOAL_RATIO if goal else None,
        "runs": len(ours_ms),
        "ours_runs_ms": ours_ms,
        "baseline_runs_ms": base_ms,
        # The same marks measured by the parent from process spawn, i.e. including interpreter start-up.
        "ours_process_ms": round(statistics.median(r["process"][mark] for r in ours), 1),
        "baseline_process_ms": round(statistics.median(r["process"][mark] for r in base), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/20 size home and 3 starts per variant")
    parser.add_argument("--home", type=Path, help="a prebuilt big home (benchmarks/bighome.py DIR)")
    parser.add_argument("--runs", type=int, help="starts per variant and case (default 5, 3 with --quick)")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)
    started = time.perf_counter()
    root = bighome.scratch_root()
    bighome.isolate_environment(root)
    env = child_env(root)
    big = bighome.home_for(args)
    big_name = "quick_home" if big.spec != bighome.FULL else "big_home"
    cases = [Case("empty_home", root, None), Case(big_name, root, big)]
    lines = []
    try:
        for i, case in enumerate(cases):
            # --quick warms up once (bytecode cache); a full run also warms the big home's pages.
            results = run_case(case, runs, env, warm_up=i == 0 or not args.quick)
            goal = case.big is not None
            lines.append(figure(case.name, "paint", results["ours"], results["bare"], goal))
            data = figure(f"{case.name}_data", "data", results["ours"], results["bare_data"], False)
            data["secondary"] = "time until the first screen's data is rendered; baseline is bare_data"
            lines.append(data)
    finally:
        bighome.kill_tmux(big.socket)
    for line in lines:
        print(json.dumps(line), flush=True)
    bighome.log(f"startup benchmark done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
