"""Run every benchmark; JSON lines to stdout and to benchmarks/results/latest.jsonl.

    python benchmarks/run_all.py [--quick] [--only startup,dashboard,tmux_scan,idle_cpu,socket_calls,focus]

The big home is built once here (in a temp dir removed at exit) and handed with --home to the benchmarks that read
it; tmux_scan, idle_cpu and socket set up their own private tmux servers and homes.
Exit status: 0 when every benchmark ran (goals met or not; read `met`), 1 when one failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bighome

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.jsonl"
BENCHMARKS = ("startup", "dashboard", "tmux_scan", "idle_cpu", "socket_calls", "focus")
ON_BIG_HOME = frozenset({"startup", "dashboard"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/20 size home, fewer starts")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {BENCHMARKS}")
    args = parser.parse_args(argv)
    chosen = [name for name in args.only.split(",") if name]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    env = bighome.isolate_environment(bighome.scratch_root())
    home = bighome.big_home(quick=args.quick) if ON_BIG_HOME.intersection(chosen) else None
    lines: list[str] = []
    failed: list[str] = []
    for name in chosen:
        command = [sys.executable, str(HERE / f"{name}.py")]
        command += ["--home", str(home.path)] if home is not None and name in ON_BIG_HOME else []
        command += ["--quick"] if args.quick else []
        bighome.log(f"run_all: {' '.join(command[1:])}")
        began = time.perf_counter()
        proc = subprocess.run(command, cwd=HERE.parent, env=env, stdout=subprocess.PIPE, text=True, check=False)
        bighome.log(f"run_all: {name} finished in {time.perf_counter() - began:.1f} s (exit {proc.returncode})")
        for line in proc.stdout.splitlines():
            try:
                json.loads(line)
            except json.JSONDecodeError:
                bighome.log(f"run_all: {name} printed a non-JSON line: {line[:200]}")
                continue
            lines.append(line)
            print(line, flush=True)
        if proc.returncode != 0:
            failed.append(name)
    if lines:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("".join(f"{line}\n" for line in lines))
    else:
        bighome.log(f"run_all: no figures; {RESULTS} left as it was")
    unmet = [f"{d['benchmark']}/{d['case']}" for d in map(json.loads, lines) if d.get("met") is False]
    bighome.log(f"run_all: {len(lines)} figures in {time.perf_counter() - started:.1f} s")
    bighome.log(f"run_all: goals not met: {', '.join(unmet) or 'none'}; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
