"""RelayboardApp: the panes as app modes, global keys, the palette, and the bridge from core notices."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from core.errors import BenchError
from tui.bridge import BenchChanged, connect
from tui.commands import relayboard_commands
from tui.panes import PANE_BY_ID, PANES
from tui.screens.agents import AgentsScreen
from tui.screens.base import PaneScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.devservers import DevServersScreen
from tui.screens.memory import MemoryScreen
from tui.screens.queue import QueueScreen
from tui.screens.routes import RoutesScreen
from tui.screens.schedules import SchedulesScreen
from tui.screens.terminals import TerminalsScreen
from tui.screens.tokens import TokensScreen

if TYPE_CHECKING:
    from core.bench import Bench

    BenchOpener = Callable[[], Awaitable[Bench]]


SCREENS_BY_PANE: dict[str, type[PaneScreen]] = {
    "dashboard": DashboardScreen,
    "agents": AgentsScreen,
    "queue": QueueScreen,
    "routes": RoutesScreen,
    "memory": MemoryScreen,
    "tokens": TokensScreen,
    "terminals": TerminalsScreen,
    "devservers": DevServersScreen,
    "schedules": SchedulesScreen,
}
GLOBAL_KEYS = [
    ("1-9", "switch pane"),
    ("?", "help for this pane"),
    ("ctrl+p", "command palette"),
    ("r", "refresh"),
    ("q", "quit"),
]


class RelayboardApp(App[None]):
    TITLE = "Relayboard"
    CSS_PATH = "app.tcss"
    MODES: ClassVar[dict[str, type[Screen[None]]]] = dict(SCREENS_BY_PANE)  # type: ignore[assignment]
    DEFAULT_MODE = "dashboard"
    BINDINGS: ClassVar[list[Binding]] = [
        *(Binding(p.key, f"pane('{p.id}')", p.title, show=False, id=f"pane.{p.id}") for p in PANES),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("r", "refresh", "Refresh", id="app.refresh"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        bench: Bench | BenchOpener,
        *,
        refresh_seconds: float | None = 3.0,
        watch: bool = False,
        exit_on_open_failure: bool = False,
    ) -> None:
        """`bench` is an open Bench (the CLI) or an async opener the app runs in its own event loop (snapshot
        tests and benchmarks, whose app runs under a fresh `asyncio.run`); an opened bench is closed on exit."""
        super().__init__()
        # An opener is a plain callable; a Bench is not. (Bench is not imported here: the TUI paints its first
        # frame before the core and pydantic are loaded.)
        self._opener: BenchOpener | None = bench if callable(bench) else None
        self._bench: Bench | None = None if callable(bench) else bench
        self._open_lock = asyncio.Lock()
        self._disconnect: Callable[[], None] | None = connect(self._bench.bus, self) if self._bench else None
        self.refresh_seconds = refresh_seconds  # None: take it from the bench's settings once it is open
        self.exit_on_open_failure = exit_on_open_failure
        self.watch = watch  # run the core's agent watcher (state detection) while the app is open
        self._pending_refresh = False

    @property
    def bench(self) -> Bench:
        if self._bench is None:
            raise BenchError("database_unavailable", "the bench is still opening")
        return self._bench

    async def get_bench(self) -> Bench:
        """The bench, opened on first use when the app was given an opener."""
        async with self._open_lock:
            if self._bench is None and self._opener is not None:
                try:
                    self._bench = await self._opener()
                except BenchError as exc:
                    if self.exit_on_open_failure:
                        self.exit(
                            return_code=2,
                            message=f"error: {exc.code}: {exc.message}\nrun `relayboard doctor` for details",
                        )
                    raise
                self._disconnect = connect(self._bench.bus, self)
                if self.refresh_seconds is None:
                    self._arm_refresh(self._bench.ctx.settings.refresh_seconds)
        return self.bench

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        if self.refresh_seconds:
            self._arm_refresh(self.refresh_seconds)
        if self.watch:
            self.run_worker(self._start_watcher, name="start-watcher", group="watcher")

    def _arm_refresh(self, seconds: float) -> None:
        if seconds > 0:
            self.set_interval(seconds, self._tick, name="pane-refresh")

    async def _start_watcher(self) -> None:
        try:
            (await self.get_bench()).watcher.start()
        except BenchError as exc:
            self.notify(f"{exc.code}: {exc.message}", severity="error")

    async def on_unmount(self) -> None:
        if self._disconnect:
            self._disconnect()
        if self._bench is not None:
            await self._bench.watcher.stop()
        if self._opener is not None and self._bench is not None:
            await self._bench.close()

    def _active_pane(self) -> PaneScreen | None:
        screen = self.screen
        return screen if isinstance(screen, PaneScreen) else None

    def _tick(self) -> None:
        # Only the visible pane refreshes; hidden panes reload when they are shown again.
        if pane := self._active_pane():
            pane.refresh_data()

    def on_bench_changed(self, message: BenchChanged) -> None:
        # Coalesce bursts of notices (one action records several events) into one refresh.
        if not self._pending_refresh:
            self._pending_refresh = True
            self.call_after_refresh(self._refresh_after_change)

    def _refresh_after_change(self) -> None:
        self._pending_refresh = False
        self._tick()

    def action_pane(self, pane_id: str) -> None:
        if pane_id in PANE_BY_ID and self.current_mode != pane_id:
            self.switch_mode(pane_id)

    def action_refresh(self) -> None:
        self._tick()

    def action_help(self) -> None:
        pane = self._active_pane()
        if pane is None:
            return
        from tui.modals.help import HelpModal  # Markdown and its parser load only when help is first opened

        keys = [(b.key, b.description) for b in pane.BINDINGS if b.description] + GLOBAL_KEYS
        self.push_screen(HelpModal(PANE_BY_ID[pane.PANE_ID].title, pane.HELP, keys))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from relayboard_commands(self, screen)
        yield from super().get_system_commands(screen)
