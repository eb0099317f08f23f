"""What every pane shares: the pane bar, the readiness banner, the footer, and the refresh cycle.

A pane loads a snapshot from the core in an exclusive worker, renders it, and is refreshed again when the core
publishes a change or the app's timer ticks while the pane is visible. Core failures become notifications.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from core.errors import BenchError
from tui.widgets.pane_tabs import PaneTabs
from tui.widgets.readiness_banner import ReadinessBanner

if TYPE_CHECKING:
    from core.bench import Bench
    from core.readiness import ReadinessReport
    from tui.app import RelayboardApp

log = logging.getLogger(__name__)
ALWAYS = ("sqlite", "jsonl")  # every pane depends on storage and the audit trail


class PaneScreen(Screen[None]):
    PANE_ID: ClassVar[str] = ""
    SUBSYSTEMS: ClassVar[tuple[str, ...] | None] = ()
    HELP: ClassVar[str] = ""
    BINDINGS: ClassVar[list[Binding]] = []
    AUTO_FOCUS = "DataTable"
    readiness: ReadinessReport | None = None  # the report of the refresh in progress, for `load`

    def compose(self) -> ComposeResult:
        yield PaneTabs(self.PANE_ID)
        subsystems = None if self.SUBSYSTEMS is None else (*self.SUBSYSTEMS, *ALWAYS)
        yield ReadinessBanner(subsystems)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    @property
    def bench(self) -> Bench:
        return self.relayboard.bench

    @property
    def relayboard(self) -> RelayboardApp:
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.refresh_data()

    def on_screen_resume(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        self.run_worker(self._refresh, exclusive=True, group=f"refresh-{self.PANE_ID}", name="refresh")

    async def _refresh(self) -> None:
        try:
            bench = await self.relayboard.get_bench()
            report = self.readiness = await bench.readiness()
            data = await self.load()
        except Exception as exc:
            self._notify_failure(exc, "refresh")
            return
        self.query_one(ReadinessBanner).show_report(report)
        self.show(data)

    async def load(self) -> Any:
        """Fetch this pane's snapshot from the core."""
        raise NotImplementedError

    def show(self, data: Any) -> None:
        """Render a snapshot. Called on the event loop after `load` returned."""
        raise NotImplementedError

    def act(self, coro: Any, done: str) -> None:
        """Run one operator action through the core in a worker; success and failure both become a notification."""
        self.run_worker(self._act(coro, done), group=f"action-{self.PANE_ID}")

    async def _act(self, coro: Any, done: str) -> None:
        try:
            await coro
        except Exception as exc:
            self._notify_failure(exc, "action")
            return
        self.notify(done, timeout=3)
        self.refresh_data()

    def _notify_failure(self, exc: Exception, what: str) -> None:
        """A core failure as a notification with its code; anything else is logged, never shown raw."""
        if isinstance(exc, BenchError):
            self.notify(f"{exc.code}: {exc.message}", severity="error", title="Relayboard")
        else:
            log.error("%s on %s failed", what, self.PANE_ID, exc_info=exc)
            self.notify("internal_error: see relayboard.log in the home directory", severity="error")
