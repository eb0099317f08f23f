"""`relayboard`: the TUI, the demo bench, `headless`, `doctor`, export/import, and `call` for scripts.

Textual is imported only by the commands that open the TUI, so `doctor` and `call` stay fast over SSH. Every
command ends with one clear line and an exit code; a traceback is a bug (they go to relayboard.log).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
import tomllib
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import BenchError
from core.home import resolve_home
from core.redaction import RedactingFilter

if TYPE_CHECKING:
    from core.client import BenchClient
    from core.readiness import ReadinessReport
    from core.sessions import Preflight

EXIT_BY_STATE = {"ready": 0, "degraded": 1, "unavailable": 2}
SYMBOL = {"ok": "ok  ", "degraded": "WARN", "unavailable": "DOWN"}
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="Relayboard home (default: $RELAYBOARD_HOME, else the platform data dir)",
    )
    common.add_argument(
        "--socket",
        type=Path,
        default=argparse.SUPPRESS,
        help="attach to the core serving this socket (default: <home>/relayboard.sock when one answers there)",
    )
    parser = argparse.ArgumentParser(
        prog="relayboard", parents=[common], description="Terminal workbench for a bench of AI coding agents."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("tui", parents=[common], help="open the TUI (the default)")
    demo = sub.add_parser("demo", parents=[common], help="open the TUI on a fresh, seeded demo bench")
    demo.add_argument("--keep", action="store_true", help="keep the demo home and tmux server afterwards")
    sub.add_parser(
        "headless", parents=[common], help="run the core without a UI and serve app.* on <home>/relayboard.sock"
    )
    doctor = sub.add_parser("doctor", parents=[common], help="check readiness; exit 0 ready, 1 degraded, 2 down")
    doctor.add_argument("--json", action="store_true", help="print the readiness report as JSON")
    export = sub.add_parser("export", parents=[common], help="write the bench to a JSON file")
    export.add_argument("file", type=Path)
    export.add_argument(
        "--include-secrets", action="store_true", help="also write managed agents' launch environment values"
    )
    imp = sub.add_parser("import", parents=[common], help="replace the bench from a JSON file (backup first)")
    imp.add_argument("file", type=Path)
    sub.add_parser(
        "repair", parents=[common], help="restore the latest good backup (the damaged database is kept aside)"
    )
    call = sub.add_parser("call", parents=[common], help="run one app.* call and print its JSON envelope")
    call.add_argument("method", nargs="?", help="e.g. app.dashboard, app.agent.list (--list shows them all)")
    call.add_argument("params", nargs="?", default="{}", help="JSON object of parameters")
    call.add_argument("--list", action="store_true", help="list every call with one line of help")
    return parser


def _setup_logging(home: Path) -> None:
    # Internal errors go to a file in the home, never to the screen (they leak paths and stack traces).
    try:
        home.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(home / "relayboard.log")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # On the handler, not a logger: records of every child logger pass through it.
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _error(exc: BenchError) -> None:
    """One line; the file it is about, when there is one, from the details (messages name no path)."""
    path = exc.details.get("path")
    print(f"error: {exc.code}: {exc.message}" + (f" ({path})" if path else ""), file=sys.stderr)


# -- doctor -----------------------------------------------------------------------------------------------------
def _print_report(report: ReadinessReport, server: Preflight, socket: Path) -> None:
    print(f"Relayboard readiness: {report.state}")
    for row in report.subsystems:
        line = f"  [{SYMBOL[row.status]}] {row.name:<24}"
        line += f" {row.reason}" if row.reason else f" {row.detail}"
        print(line.rstrip())
    for hint in report.hints:
        print(f"  hint {hint.code} ({hint.severity}): {hint.message}\n       fix: {hint.action}")
    print(_server_line(server, socket))


def _server_line(server: Preflight, socket: Path) -> str:
    if server.code == "ok":
        return f"  server: running, pid {server.pid}, {server.sessions} of {server.max_sessions} sessions, on {socket}"
    if server.code == "socket_missing":
        return "  server: not running (relayboard headless keeps the core alive without a TUI)"
    if server.code == "socket_permission_denied":
        return f"  server: {socket} exists but is not yours to open"
    return f"  server: not answering on {socket} (a stale socket; the next relayboard headless replaces it)"


async def _doctor(home: Path, as_json: bool) -> int:
    from core.bench import diagnose
    from core.calls import failure, ok
    from core.client import preflight, socket_of

    try:
        report = await diagnose(home)
    except BenchError as exc:
        if as_json:
            print(json.dumps(failure(exc)))
        else:
            _error(exc)
        return 2
    socket = socket_of(home)
    server = await preflight(socket)
    if as_json:
        envelope = ok(report)
        envelope["result"]["server"] = server.model_dump(mode="json")
        print(json.dumps(envelope, indent=2))
    else:
        _print_report(report, server, socket)
    if report.subsystem("sqlite").status == "unavailable":
        return 2  # nothing works without storage, whatever else is up
    return EXIT_BY_STATE[report.state]


async def _repair(home: Path) -> int:
    from datetime import UTC, datetime

    from core.bench import repair

    try:
        backup, aside = await repair(home, datetime.now(UTC))
    except BenchError as exc:
        _error(exc)
        return 1
    print(f"restored {backup}; the previous database is kept as {aside}")
    return 0


# -- call -------------------------------------------------------------------------------------------------------
def _list_calls() -> int:
    from core.calls import REGISTRY

    width = max(len(name) for name in REGISTRY)
    for name in sorted(REGISTRY):
        call = REGISTRY[name]
        marks = ("" if call.session else " (no session)") + (" [mutates]" if call.mutates else "")
        print(f"{name:<{width}}  {call.help}{marks}")
    return 0


async def _call(home: Path, method: str, raw: str, socket: Path | None) -> int:
    from core.bench import Bench
    from core.calls import envelope, failure
    from core.client import SocketClient, attached_path

    try:
        params: Any = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else " (nested too deeply)"
        error = BenchError("malformed_request", f"params are not JSON{where}", details={"reason": "json decode error"})
        print(json.dumps(failure(error)))
        return 2
    path = await attached_path(home, socket)
    if path is not None:
        # A core serves this home: go through it (one writer, and the call is stamped surface cli).
        try:
            client = await SocketClient.connect(path, surface="cli", client_id="relayboard-cli", reconnect=False)
        except BenchError as exc:
            print(json.dumps(failure(exc)))
            return 2
        try:
            result = await client.request(method, params)
        except BenchError as exc:
            result = failure(exc)
        finally:
            await client.close()
        result.pop("id", None)
    else:
        try:
            bench = await Bench.open(home, surface="cli")
        except BenchError as exc:
            print(json.dumps(failure(exc)))
            return 2
        async with bench:
            result = await envelope(bench, method, params)  # as the bench's own surface: cli
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


# -- export / import --------------------------------------------------------------------------------------------
async def _transfer(home: Path, command: str, file: Path, include_secrets: bool) -> int:
    from core.bench import Bench

    try:
        bench = await Bench.open(home, surface="cli")
    except BenchError as exc:
        _error(exc)
        return 2
    async with bench:
        try:
            if command == "export":
                summary = await bench.export_bench(file, include_secrets=include_secrets)
                print(f"exported {sum(summary.rows.values())} rows from {len(summary.rows)} tables to {file}")
                if summary.left_out:
                    names = "; ".join(f"{item.agent}: {', '.join(item.env)}" for item in summary.left_out)
                    print(
                        f"left out the launch environment values of {len(summary.left_out)} agent(s) ({names}); "
                        "pass --include-secrets to keep them",
                        file=sys.stderr,
                    )
            else:
                backup = await bench.import_bench(file)
                print(f"imported {file}; previous database backed up to {backup}")
        except BenchError as exc:
            _error(exc)
            return 1
    return 0


# -- headless ---------------------------------------------------------------------------------------------------
async def _until_signalled() -> int:
    """Wait for SIGTERM, SIGINT or SIGHUP; returns the signal number."""
    loop = asyncio.get_running_loop()
    received: asyncio.Future[int] = loop.create_future()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, lambda s=signum: received.done() or received.set_result(s))
    try:
        return await received
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


async def _headless(home: Path, socket: Path | None) -> int:
    from core.bench import Bench
    from core.server import Server
    from tui.heap import freeze_heap

    try:
        bench = await Bench.open(home, surface="headless")
    except BenchError as exc:
        _error(exc)
        return 2
    server = Server(bench, socket)
    try:
        await server.start()
    except BenchError as exc:
        await bench.close()
        _error(exc)
        return 1
    await bench.start()
    freeze_heap()  # the loaded core is never collected: full collections then scan only what came since (tui/app.py)
    print(f"relayboard headless: serving {home} on {server.path} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        signum = await _until_signalled()
    finally:
        await server.close()
        await bench.close()
    print(f"relayboard headless: stopped ({signal.Signals(signum).name})", file=sys.stderr)
    return 0


# -- the TUI ----------------------------------------------------------------------------------------------------
class _Stopper:
    """SIGTERM, SIGINT and SIGHUP end the TUI as `q` does, then the caller's cleanup runs: a closed terminal or a
    dropped SSH link hangs up the process, and that must not leave anything behind.

    * Before the app runs (the demo seeding), the signal cancels the command, so its cleanup runs all the same.
    * SIGHUP while the app runs: the terminal is gone, so Textual can neither restore it nor be trusted to shut
      down (its output thread dies on the first failed write and the next writes block for good: seen here).
      `hangup` (close the core, the demo's cleanup) runs at once on the event loop, then the process exits.
    * SIGTERM, SIGINT: the app exits and the terminal is restored; should that not finish within `GRACE`
      seconds, `last_resort` (synchronous cleanup) runs from a thread and the process exits anyway.
    """

    GRACE = 4.0

    def __init__(
        self,
        hangup: Callable[[], Awaitable[None]] | None = None,
        last_resort: Callable[[], None] | None = None,
    ) -> None:
        self.app: Any = None
        self.signum: int | None = None
        self._hangup = hangup
        self._last_resort = last_resort
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()

    def __enter__(self) -> _Stopper:
        for signum in STOP_SIGNALS:
            self._loop.add_signal_handler(signum, self._stop, signum)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum in STOP_SIGNALS:
            self._loop.remove_signal_handler(signum)

    def _stop(self, signum: int) -> None:
        logging.getLogger(__name__).info("stopping on %s", signal.Signals(signum).name)
        first, self.signum = self.signum is None, signum
        if not first:
            return
        if self.app is None or not self.app.is_running:
            if self._task is not None:
                self._task.cancel()
        elif signum == signal.SIGHUP:
            self._loop.create_task(self._hung_up())
        else:
            self.app.exit(return_code=128 + signum)
            timer = threading.Timer(self.GRACE, self._give_up)
            timer.daemon = True
            timer.start()

    async def _hung_up(self) -> None:
        try:
            if self._hangup is not None:
                await self._hangup()
        finally:
            logging.shutdown()
            os._exit(128 + signal.SIGHUP)

    def _give_up(self) -> None:
        logging.getLogger(__name__).warning("the app did not exit within %.0f s; exiting without it", self.GRACE)
        try:
            if self._last_resort is not None:
                self._last_resort()
        finally:
            logging.shutdown()
            os._exit(self.code or 1)

    @property
    def code(self) -> int | None:
        return None if self.signum is None else 128 + self.signum


def _refresh_seconds(home: Path) -> float | None:
    """The one UI setting the TUI needs before the core loads, read without it (no pydantic before first paint)."""
    path = Path(os.environ.get("RELAYBOARD_CONFIG") or home / "config.toml")
    try:
        value = tomllib.loads(path.read_text()).get("refresh_seconds")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return float(value) if isinstance(value, int | float) and 0.5 <= value <= 60 else None


async def _tui(home: Path, socket: Path | None) -> int:
    # libtmux reads sys.stdout.encoding when imported, which fails once Textual has taken stdout: import it
    # first. Everything else of the core loads in the opener, after the first frame is painted.
    import libtmux  # noqa: F401

    from tui.app import RelayboardApp
    from tui.preferences import FILE_NAME as PREFERENCES_FILE

    async def open_client() -> BenchClient:
        client_module = await asyncio.to_thread(importlib.import_module, "core.client")
        path = await client_module.attached_path(home, socket)
        if path is not None:
            client: BenchClient = await client_module.SocketClient.connect(path, surface="tui")
            return client
        return await client_module.LocalClient.open(home, surface="tui")  # type: ignore[no-any-return]

    app = RelayboardApp(
        open_client,
        refresh_seconds=_refresh_seconds(home),
        exit_on_open_failure=True,
        preferences=home / PREFERENCES_FILE,
        freeze_heap=True,
    )

    async def close_core() -> None:  # the database closed and the services stopped; managed agents stay in tmux
        if app._client is not None:
            await app._client.close()

    with _Stopper(hangup=close_core) as stopper:
        stopper.app = app
        try:
            await app.run_async()  # on exit the app closes its client: database closed, services stopped
        except OSError:
            # The terminal went away under it (a hang-up): the core was still closed by the app's unmount.
            logging.getLogger(__name__).info("terminal lost while exiting", exc_info=True)
    return stopper.code or app.return_code or 0


async def _demo(keep: bool) -> int:
    from core.bench import Bench
    from core.client import LocalClient
    from core.config import Settings
    from core.demo import DEMO_PREFIX, make_demo_home, reap_stale_demos, seed_demo
    from core.tmux import TmuxAdapter
    from tui.app import RelayboardApp
    from tui.preferences import FILE_NAME as PREFERENCES_FILE

    if shutil.which("tmux") is None:
        print("error: the demo needs tmux (sudo apt-get install tmux)", file=sys.stderr)
        return 2
    for stale in await asyncio.to_thread(reap_stale_demos):
        print(f"removed the leftovers of a killed demo: {stale}", file=sys.stderr)
    socket = f"{DEMO_PREFIX}{uuid.uuid4().hex[:8]}"
    home = make_demo_home(socket)
    _setup_logging(home)
    settings = Settings(tmux_socket=socket, claude_home=home / "claude", codex_home=home / "codex")
    bench: Bench | None = None

    def remove_leftovers() -> None:
        if not keep:
            TmuxAdapter(socket).kill_server_now()
            shutil.rmtree(home, ignore_errors=True)

    async def hung_up() -> None:
        await _demo_cleanup(bench, home, socket, keep)

    with _Stopper(hangup=hung_up, last_resort=remove_leftovers) as stopper:
        try:
            bench = await Bench.open(home, surface="tui", settings=settings)
            print("seeding the demo bench…", file=sys.stderr)
            await seed_demo(bench)
            await bench.start()
            stopper.app = RelayboardApp(LocalClient(bench), preferences=home / PREFERENCES_FILE, freeze_heap=True)
            try:
                await stopper.app.run_async()
            except OSError:
                logging.getLogger(__name__).info("terminal lost while exiting", exc_info=True)
        except asyncio.CancelledError:
            pass  # a signal before the app ran: clean up below all the same
        finally:
            await asyncio.shield(_demo_cleanup(bench, home, socket, keep))
    if keep:
        print(f"demo home kept at {home} (tmux -L {socket})", file=sys.stderr)
    return stopper.code or 0


async def _demo_cleanup(bench: Any, home: Path, socket: str, keep: bool) -> None:
    from core.tmux import TmuxAdapter

    if bench is not None:
        await bench.close()
    if not keep:
        await asyncio.to_thread(TmuxAdapter(socket).kill_server_now)
        await asyncio.to_thread(shutil.rmtree, home, True)


def _run(args: argparse.Namespace) -> int:
    command = args.command or "tui"
    socket: Path | None = getattr(args, "socket", None)
    if command == "demo":
        return asyncio.run(_demo(args.keep))
    if command == "call" and args.list:
        return _list_calls()
    home = resolve_home(getattr(args, "home", None))
    _setup_logging(home)
    if command == "doctor":
        return asyncio.run(_doctor(home, args.json))
    if command == "call":
        if not args.method:
            print("error: give a method (relayboard call --list shows them all)", file=sys.stderr)
            return 2
        return asyncio.run(_call(home, args.method, args.params, socket))
    if command == "repair":
        return asyncio.run(_repair(home))
    if command in ("export", "import"):
        return asyncio.run(_transfer(home, command, args.file, getattr(args, "include_secrets", False)))
    if command == "headless":
        return asyncio.run(_headless(home, socket))
    return asyncio.run(_tui(home, socket))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`relayboard call … | head`): say so once, and do not flush into the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("relayboard: output closed before it was all written (broken pipe)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("relayboard: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
