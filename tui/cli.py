"""`relayboard`: the TUI, the demo bench, `doctor`, export/import, and `call` for scripts.

Textual is imported only by the commands that open the TUI, so `doctor` and `call` stay fast over SSH.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import BenchError
from core.home import resolve_home

if TYPE_CHECKING:
    from core.bench import Bench
    from core.readiness import ReadinessReport

EXIT_BY_STATUS = {"ready": 0, "degraded": 1, "unavailable": 2}
SYMBOL = {"ok": "ok  ", "degraded": "WARN", "unavailable": "DOWN"}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="Relayboard home (default: $RELAYBOARD_HOME, else the platform data dir)",
    )
    parser = argparse.ArgumentParser(
        prog="relayboard", parents=[common], description="Terminal workbench for a bench of AI coding agents."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("tui", parents=[common], help="open the TUI (the default)")
    demo = sub.add_parser("demo", parents=[common], help="open the TUI on a fresh, seeded demo bench")
    demo.add_argument("--keep", action="store_true", help="keep the demo home and tmux server afterwards")
    doctor = sub.add_parser("doctor", parents=[common], help="check readiness; exit 0 ready, 1 degraded, 2 down")
    doctor.add_argument("--json", action="store_true", help="print the readiness report as JSON")
    export = sub.add_parser("export", parents=[common], help="write the bench to a JSON file")
    export.add_argument("file", type=Path)
    imp = sub.add_parser("import", parents=[common], help="replace the bench from a JSON file (backup first)")
    imp.add_argument("file", type=Path)
    call = sub.add_parser("call", parents=[common], help="run one facade call and print its JSON envelope")
    call.add_argument("method", help="e.g. app.dashboard, app.agent.list")
    call.add_argument("params", nargs="?", default="{}", help="JSON object of parameters")
    return parser


def _setup_logging(home: Path) -> None:
    # Internal errors go to a file in the home, never to the screen (they leak paths and stack traces).
    try:
        home.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(home / "relayboard.log")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _print_report(report: ReadinessReport) -> None:
    print(f"Relayboard readiness: {report.status}")
    for row in report.subsystems:
        line = f"  [{SYMBOL[row.status]}] {row.name:<24}"
        line += f" {row.reason}" if row.reason else f" {row.detail}"
        print(line.rstrip())
    for hint in report.hints:
        print(f"  hint {hint.code} ({hint.severity}): {hint.message}\n       fix: {hint.action}")


async def _doctor(home: Path, as_json: bool) -> int:
    from core.bench import diagnose
    from core.calls import failure, ok

    try:
        report = await diagnose(home)
    except BenchError as exc:
        if as_json:
            print(json.dumps(failure(exc)))
        else:
            print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(ok(report), indent=2))
    else:
        _print_report(report)
    return EXIT_BY_STATUS[report.status]


async def _call(home: Path, method: str, raw: str) -> int:
    from core.bench import Bench
    from core.calls import envelope, failure

    try:
        params: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        result = failure(
            BenchError(
                "malformed_request", f"params are not JSON (column {exc.colno})", details={"reason": "invalid_json"}
            )
        )
        print(json.dumps(result))
        return 2
    try:
        bench = await Bench.open(home, surface="cli")
    except BenchError as exc:
        print(json.dumps(failure(exc)))
        return 2
    async with bench:
        result = await envelope(bench, method, params)
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


async def _transfer(home: Path, command: str, file: Path) -> int:
    from core.bench import Bench

    try:
        bench = await Bench.open(home, surface="cli")
    except BenchError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    async with bench:
        try:
            if command == "export":
                counts = await bench.export_bench(file)
                print(f"exported {sum(counts.values())} rows from {len(counts)} tables to {file}")
            else:
                backup = await bench.import_bench(file)
                print(f"imported {file}; previous database backed up to {backup}")
        except BenchError as exc:
            print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
            return 1
    return 0


async def _tui(home: Path) -> int:
    # libtmux reads sys.stdout.encoding when imported, which fails once Textual has taken stdout: import it
    # first. Everything else of the core loads in the opener, after the first frame is painted.
    import libtmux  # noqa: F401

    from tui.app import RelayboardApp

    async def open_bench() -> Bench:
        bench_module = await asyncio.to_thread(importlib.import_module, "core.bench")
        return await bench_module.Bench.open(home, surface="tui")

    app = RelayboardApp(open_bench, refresh_seconds=None, watch=True, exit_on_open_failure=True)
    await app.run_async()
    return app.return_code or 0


async def _demo(keep: bool) -> int:
    from core.bench import Bench
    from core.config import Settings
    from core.demo import seed_demo
    from tui.app import RelayboardApp

    home = Path(tempfile.mkdtemp(prefix="relayboard-demo-"))
    _setup_logging(home)
    settings = Settings(
        tmux_socket=f"relayboard-demo-{uuid.uuid4().hex[:8]}", claude_home=home / "claude", codex_home=home / "codex"
    )
    if shutil.which(settings.tmux_binary) is None:
        print("error: the demo needs tmux (sudo apt-get install tmux)", file=sys.stderr)
        return 2
    bench = await Bench.open(home, surface="tui", settings=settings)
    try:
        print("seeding the demo bench…", file=sys.stderr)
        await seed_demo(bench)
        await RelayboardApp(bench, watch=True).run_async()
    finally:
        if not keep:
            await bench.ctx.tmux.kill_server()
        await bench.close()
        if keep:
            print(f"demo home kept at {home} (tmux -L {settings.tmux_socket})")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "tui"
    if command == "demo":
        return asyncio.run(_demo(args.keep))
    home = resolve_home(getattr(args, "home", None))
    _setup_logging(home)
    if command == "doctor":
        return asyncio.run(_doctor(home, args.json))
    if command == "call":
        return asyncio.run(_call(home, args.method, args.params))
    if command in ("export", "import"):
        return asyncio.run(_transfer(home, command, args.file))
    return asyncio.run(_tui(home))


if __name__ == "__main__":
    sys.exit(main())
