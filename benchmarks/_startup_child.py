"""One measured start of an app, run by benchmarks/startup.py in a fresh process (so imports count).

    python benchmarks/_startup_child.py {ours,bare,bare_data} --home DIR [--socket NAME] [--end ISO]

The clock starts on the first line below, before Textual, the core or the TUI are imported. Marks, in ms since
then, printed as one JSON line when the app has exited:
  paint  the first screen has been laid out and refreshed (the app's Ready event, then one refresh later)
  data   the first screen's data load (its worker named "refresh") finished and the next refresh happened
         (ours and bare_data only)
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

SIZE = (120, 40)
PANES = ("dashboard", "agents", "queue", "routes", "memory", "tokens", "terminals", "devservers", "schedules")
RECENT_SQL = "SELECT timestamp, event_type, origin, summary FROM events ORDER BY seq DESC LIMIT 10"
ERRORS: list[str] = []


async def drive(app, marks: dict[str, float], want_data: bool) -> None:  # type: ignore[no-untyped-def]
    """Run `app` headless until it has painted (and loaded its data); record the marks."""
    from textual import events
    from textual._context import message_hook
    from textual.worker import Worker, WorkerState

    def mark(name: str) -> None:
        marks.setdefault(name, time.perf_counter())
        if name == "data" and len(app._notifications):
            # The panes turn core failures into notifications; a data mark with one is not a real load.
            ERRORS.append("the pane notified an error during its first load")
        if "paint" in marks and (not want_data or "data" in marks):
            app.exit()

    def hook(message: object) -> None:
        if isinstance(message, events.Ready) and "paint" not in marks:
            app.call_after_refresh(mark, "paint")
        elif (
            want_data
            and isinstance(message, Worker.StateChanged)
            and message.state == WorkerState.SUCCESS
            and message.worker.name == "refresh"
            and "data" not in marks
        ):
            app.call_after_refresh(mark, "data")

    message_hook.set(hook)
    await app.run_async(headless=True, size=SIZE)


async def run_ours(args, marks: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    """Start the way `relayboard --home DIR` does (tui/cli.py `_tui`): libtmux first, the app with an opener,
    the core loaded and the bench opened in a thread after the first frame."""
    import asyncio
    import importlib
    from pathlib import Path

    import libtmux  # noqa: F401

    from tui.app import RelayboardApp

    home = Path(args.home)

    async def open_bench():  # type: ignore[no-untyped-def]
        client_module = await asyncio.to_thread(importlib.import_module, "core.client")
        from datetime import datetime

        from core.clock import FixedClock
        from core.config import Settings

        settings = Settings(tmux_socket=args.socket, claude_home=home / "claude", codex_home=home / "codex")
        clock = FixedClock(datetime.fromisoformat(args.end)) if args.end else None
        # As `relayboard` opens it, minus the services (a watcher tick would compete with the first load).
        client = await client_module.LocalClient.open(
            home, settings=settings, clock=clock, surface="tui", start_services=False
        )
        marks["opened"] = time.perf_counter()
        return client

    # No periodic refresh: a tick must not restart (and so hide) the first load.
    await drive(RelayboardApp(open_bench, refresh_seconds=0), marks, want_data=True)


def bare_app(load):  # type: ignore[no-untyped-def]
    """A bare Textual app with the same number of panes: nine modes, each a Screen with a DataTable and a Footer.
    With `load`, the first screen fills its table from `await load()` in a worker named "refresh"."""
    from textual.app import App
    from textual.binding import Binding
    from textual.screen import Screen
    from textual.widgets import DataTable, Footer

    class BareScreen(Screen[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield DataTable(cursor_type="row", zebra_stripes=True)
            yield Footer()

        def on_mount(self) -> None:
            self.query_one(DataTable).add_columns("Time", "Type", "Origin", "Summary")
            if load is not None:
                self.run_worker(self._load, name="refresh", exclusive=True)

        async def _load(self) -> None:
            rows = await load()
            self.query_one(DataTable).add_rows(rows)

    class BareApp(App[None]):
        MODES = {pane: type(f"Bare{pane.title()}Screen", (BareScreen,), {}) for pane in PANES}
        DEFAULT_MODE = "dashboard"
        BINDINGS = [Binding(str(i + 1), f"switch_mode('{pane}')", pane) for i, pane in enumerate(PANES)]

    return BareApp()


async def run_bare(args, marks: dict[str, float], with_data: bool) -> None:  # type: ignore[no-untyped-def]
    if not with_data:
        await drive(bare_app(None), marks, want_data=False)
        return
    from pathlib import Path

    import aiosqlite

    conn = await aiosqlite.connect(str(Path(args.home) / "relayboard.db"))
    # An empty home has no schema yet; give the baseline the one table it reads.
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, timestamp, event_type, origin, summary)"
    )
    marks["opened"] = time.perf_counter()

    async def load() -> list[tuple[str, ...]]:
        async with conn.execute(RECENT_SQL) as cur:
            return [(str(r[0])[11:19], str(r[1]), str(r[2]), str(r[3])) for r in await cur.fetchall()]

    try:
        await drive(bare_app(load), marks, want_data=True)
    finally:
        await conn.close()


def main() -> int:
    import argparse
    import asyncio
    import json
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=("ours", "bare", "bare_data"))
    parser.add_argument("--home", required=True)
    parser.add_argument("--socket", default=None)
    parser.add_argument("--end", default=None, help="freeze the clock here (the big home's end)")
    args = parser.parse_args()
    marks: dict[str, float] = {}
    if args.variant == "ours":
        asyncio.run(run_ours(args, marks))
    else:
        asyncio.run(run_bare(args, marks, with_data=args.variant == "bare_data"))
    result: dict[str, object] = {name: round((at - T0) * 1000, 2) for name, at in marks.items()}
    result["absolute"] = marks  # perf_counter is CLOCK_MONOTONIC: comparable with the parent's
    result["errors"] = ERRORS
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if "paint" in marks else 1


if __name__ == "__main__":
    raise SystemExit(main())
