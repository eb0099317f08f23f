"""RelayboardApp: the panes as app modes, global keys, the palette, and notices from the core.

The app knows one `BenchClient` (core/client.py): in-process or attached to `relayboard headless` over its socket.
It starts nothing in the core itself; the client's opener does (the in-process client starts the core's services).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

import tui.preferences as preferences_module
from core.errors import BenchError
from tui.bridge import BenchChanged, forward_notices
from tui.commands import relayboard_commands
from tui.heap import freeze_heap
from tui.panes import PANE_BY_ID, PANES
from tui.preferences import THEMES
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
from tui.widgets.literal import printable

if TYPE_CHECKING:
    from core.client import BenchClient

    ClientOpener = Callable[[], Awaitable[BenchClient]]


FREEZE_AFTER_SECONDS = 2.0

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
TABLE_KEYS = [
    ("enter", "the selected row in full (c copies it)"),
    ("o / O", "sort by the next column / reverse (or click a header)"),
    ("/", "filter the table by any text (Escape clears)"),
]
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
        client: BenchClient | ClientOpener,
        *,
        refresh_seconds: float | None = 3.0,
        exit_on_open_failure: bool = False,
        preferences: Path | None = None,
        freeze_heap: bool = False,
    ) -> None:
        """`client` is an open client, or an async opener the app runs in its own event loop (the CLI paints its
        first frame before the core loads; snapshot tests run under a fresh `asyncio.run`). A client the app
        opened itself is closed when it exits. `refresh_seconds=None`: every 3 s (the core's default).
        `preferences`: the operator's tui.toml (theme and keys; None: the defaults, as in tests and screenshots).
        `freeze_heap`: once the core is loaded, move every object alive to the collector's permanent generation
        (`gc.freeze`), so that a full collection scans only what the session made since: the ~120,000 objects of
        the imported modules otherwise cost each one 80-100 ms, a visible stall in the focus view (measured by
        benchmarks/focus.py). For the CLI's long-lived process only: what is frozen is never freed."""
        super().__init__()
        for theme in THEMES:
            self.register_theme(theme)
        self.preferences = preferences_module.load(preferences, self.available_themes)  # the theme now, keys later
        # An opener is a plain callable; a client is not (the core is not imported here: see above).
        self._opener: ClientOpener | None = client if callable(client) else None
        self._client: BenchClient | None = None if callable(client) else client
        self._open_lock = asyncio.Lock()
        self._notices: asyncio.Task[None] | None = None
        self.refresh_seconds = 3.0 if refresh_seconds is None else refresh_seconds
        self.exit_on_open_failure = exit_on_open_failure
        self.freeze_heap = freeze_heap

    @property
    def client(self) -> BenchClient:
        if self._client is None:
            raise BenchError("database_unavailable", "the bench is still opening")
        return self._client

    async def get_client(self) -> BenchClient:
        """The client, opened on first use when the app was given an opener."""
        async with self._open_lock:
            if self._client is None and self._opener is not None:
                try:
                    self._client = await self._opener()
                except BenchError as exc:
                    if self.exit_on_open_failure:
                        self.exit(
                            return_code=2,
                            message=f"error: {exc.code}: {exc.message}\nrun `relayboard doctor` for details",
                        )
                    raise
                self._follow(self._client)
        return self.client

    def _follow(self, client: BenchClient) -> None:
        # A task, not a worker: it never completes, and "wait for the workers" must mean "wait for the work".
        if self._notices is None:
            self._notices = asyncio.create_task(forward_notices(client, self), name="relayboard-notices")
            if self.freeze_heap:
                # After the first pane's data is in: what the start-up made is then frozen with the modules.
                self.set_timer(FREEZE_AFTER_SECONDS, freeze_heap, name="freeze-heap")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every toast is literal text with its control characters visible, whatever `markup` says: toasts quote
        names, session names, commands and the core's messages, and Textual's `Widget.notify` (every screen's)
        passes `markup=True` on to here."""
        del markup
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout, markup=False)

    def on_mount(self) -> None:
        self.theme = self.preferences.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        for problem in self.preferences.problems:
            self._say_problem(problem)
        if self.preferences.wanted_keys:
            # The keymap is checked against every screen's bindings, which means importing the modals: in a thread,
            # after the first frame (never blocking the loop: a hang-up must still be answered at once).
            self.run_worker(self._apply_keymap(), name="keymap", exit_on_error=False)
        if self._client is not None:
            self._follow(self._client)
        if self.refresh_seconds > 0:
            self.set_interval(self.refresh_seconds, self._tick, name="pane-refresh")

    async def on_unmount(self) -> None:
        if self._notices is not None:
            self._notices.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._notices
        if self._opener is not None and self._client is not None:
            await self._client.close()

    async def _apply_keymap(self) -> None:
        keymap = await asyncio.to_thread(importlib.import_module, "tui.keymap")
        scopes = await asyncio.to_thread(keymap.binding_scopes)
        problem = preferences_module.apply_keys(self.preferences, scopes)
        if problem is not None:
            self._say_problem(problem)
        elif self.preferences.keys:
            self.set_keymap(self.preferences.keys)

    def _say_problem(self, problem: BenchError) -> None:
        path = problem.details.get("path", "")
        self.notify(f"{problem.code}: {problem.message} ({path}); defaults kept", severity="error", timeout=10)

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self.preferences.theme:
            try:
                self.preferences.save_theme(theme.name)
            except OSError as exc:
                self.notify(f"the theme could not be saved: {exc.strerror}", severity="warning")

    def _active_pane(self) -> PaneScreen | None:
        screen = self.screen
        return screen if isinstance(screen, PaneScreen) else None

    def _tick(self) -> None:
        # Only the visible pane refreshes; hidden panes reload when they are shown again.
        if pane := self._active_pane():
            pane.refresh_data()

    def on_bench_changed(self, message: BenchChanged) -> None:
        if pane := self._active_pane():
            pane.notice(message.topic)

    def action_pane(self, pane_id: str) -> None:
        if pane_id in PANE_BY_ID and self.current_mode != pane_id:
            self.switch_mode(pane_id)

    async def reveal(self, pane_id: str, key: str) -> None:
        """Show pane `pane_id` with the cursor on row `key` (the dashboard's "needs you" list leads here)."""
        if self.current_mode != pane_id:
            await self.switch_mode(pane_id)
        if pane := self._active_pane():
            pane.reveal(key)

    def action_refresh(self) -> None:
        self._tick()

    def action_help(self) -> None:
        pane = self._active_pane()
        if pane is None:
            return
        from tui.modals.help import HelpModal  # Markdown and its parser load only when help is first opened

        keys = [(b.key, b.description) for b in pane.BINDINGS if b.description] + TABLE_KEYS + GLOBAL_KEYS
        self.push_screen(HelpModal(PANE_BY_ID[pane.PANE_ID].title, pane.HELP, keys))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from relayboard_commands(self, screen)
        yield from super().get_system_commands(screen)
