"""What every pane shares: the pane bar, the readiness banner, the footer, and the refresh cycle.

A pane loads a snapshot through the client in a worker, renders it, and refreshes again when a notice of one of
its topics arrives (debounced: a burst of notices is one refresh) or the app's timer ticks while it is visible. A
refresh in flight is never cancelled by a newer request: the request marks the pane dirty and one more refresh
runs when the current one ends. Core failures become notifications; a core that is away is said by the banner.

Panes name the core's calls (`from core.agents import AGENT_LIST`) inside the methods that make them, not at
module level: the TUI paints its first frame before the core and pydantic are loaded (the client's opener loads
them in a thread), and by the time a pane loads data they are in `sys.modules`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable

from core.errors import BenchError
from core.notices import RESYNC
from tui.times import parse_stamp
from tui.widgets.bench_table import BenchTable
from tui.widgets.fitting_footer import FittingFooter
from tui.widgets.pane_tabs import PaneTabs
from tui.widgets.readiness_banner import ReadinessBanner
from tui.widgets.table_filter import TableFilter

if TYPE_CHECKING:
    from core.client import BenchClient
    from core.readiness import ReadinessReport
    from tui.app import RelayboardApp
    from tui.modals.detail import Section

log = logging.getLogger(__name__)
ALWAYS = ("sqlite", "jsonl")  # every pane depends on storage and the audit trail
DEBOUNCE_SECONDS = 0.15
REPEAT_QUIET_SECONDS = 10.0  # the same failure is not toasted again within this long


def notify_failure(widget: Any, exc: BaseException, what: str) -> None:
    """The one failure-to-notification path: a core failure with its code; anything else is logged, never shown
    raw (exception text leaks paths)."""
    if isinstance(exc, BenchError):
        # The core keeps absolute paths out of its messages (a remote client must not learn the host's layout) and
        # puts them in details.path: the operator at this screen is the one who owns them.
        path = exc.details.get("path")
        where = f" ({path})" if isinstance(path, str) and path else ""
        text = f"{exc.code}: {exc.message}{where}"
        app = getattr(widget, "app", widget)
        now = time.monotonic()
        last = getattr(app, "_last_failure", None)
        if last is not None and last[0] == text and now - last[1] < REPEAT_QUIET_SECONDS:
            return  # every refresh of every pane meets the same failure: one toast says it
        app._last_failure = (text, now)
        widget.notify(text, severity="error", title="Relayboard")
    else:
        log.error("%s failed", what, exc_info=exc)
        widget.notify("internal_error: see relayboard.log in the home directory", severity="error")


class PaneScreen(Screen[None]):
    PANE_ID: ClassVar[str] = ""
    SUBSYSTEMS: ClassVar[tuple[str, ...] | None] = ()
    TOPICS: ClassVar[frozenset[str] | None] = frozenset()  # notices that change what this pane shows; None: all
    HELP: ClassVar[str] = ""
    BINDINGS: ClassVar[list[Binding]] = []
    AUTO_FOCUS = "DataTable"
    readiness: ReadinessReport | None = None  # the report of the refresh in progress, for `load`

    def __init__(self) -> None:
        super().__init__()
        self._refreshing = False
        self._dirty = False
        self._debounce: Timer | None = None
        self.refreshes = 0  # completed refreshes (tests check that a burst of notices is not a burst of loads)
        self._reveal: str | None = None  # a row to put the cursor on once the next snapshot shows

    def compose(self) -> ComposeResult:
        yield PaneTabs(self.PANE_ID)
        subsystems = None if self.SUBSYSTEMS is None else (*self.SUBSYSTEMS, *ALWAYS)
        yield ReadinessBanner(subsystems)
        yield from self.compose_body()
        yield TableFilter(id="table-filter")
        yield FittingFooter()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    @property
    def client(self) -> BenchClient:
        return self.relayboard.client

    @property
    def relayboard(self) -> RelayboardApp:
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.refresh_data()

    def on_screen_resume(self) -> None:
        self.refresh_data()

    # -- refresh cycle ------------------------------------------------------------------------------------------
    def notice(self, topic: str) -> None:
        """A notice arrived while this pane is visible: refresh soon if it is about what the pane shows."""
        if self.TOPICS is not None and topic not in self.TOPICS and topic != RESYNC:
            return
        if self._debounce is None:
            self._debounce = self.set_timer(DEBOUNCE_SECONDS, self._debounced, name="refresh-debounce")

    def _debounced(self) -> None:
        self._debounce = None
        self.refresh_data()

    def refresh_data(self) -> None:
        if self._refreshing:
            self._dirty = True
            return
        self._refreshing = True
        self.run_worker(self._refresh_cycle, group=f"refresh-{self.PANE_ID}", name="refresh", exit_on_error=False)

    async def _refresh_cycle(self) -> None:
        try:
            while True:
                self._dirty = False
                await self._refresh()
                self.refreshes += 1
                if not self._dirty:
                    return
        finally:
            self._refreshing = False

    async def _refresh(self) -> None:
        try:
            client = await self.relayboard.get_client()  # the opener loads the core in a thread: first paint first
            from core.readiness import READINESS  # loaded by now; importing it before would block the first frame

            report = self.readiness = await client.call(READINESS)
            self.query_one(PaneTabs).mode = client.mode if client.connected else "detached"
            if not client.connected:
                self.query_one(ReadinessBanner).show_report(report)
                return  # the banner says the core is away and how to bring it back; the last data stays
            data = await self.load()
        except BenchError as exc:
            if exc.code != "daemon_unavailable":  # the banner says that one on the next refresh
                notify_failure(self, exc, f"refresh of {self.PANE_ID}")
            return
        except Exception as exc:
            notify_failure(self, exc, f"refresh of {self.PANE_ID}")
            return
        self.query_one(ReadinessBanner).show_report(report)
        self.show(data)
        if self._reveal is not None:
            key, self._reveal = self._reveal, None
            if not any(table.select_key(key) for table in self.query(BenchTable)):
                self.notify("that row is gone (it changed meanwhile)", timeout=3)

    async def load(self) -> Any:
        """Fetch this pane's snapshot through the client."""
        raise NotImplementedError

    def show(self, data: Any) -> None:
        """Render a snapshot. Called on the event loop after `load` returned."""
        raise NotImplementedError

    def reveal(self, key: str) -> None:
        """Put the cursor on row `key` of whichever table has it, after a fresh snapshot."""
        self._reveal = key
        self.refresh_data()

    def now(self) -> datetime:
        """The core's time of the last snapshot (frozen in screenshots, the server's clock when attached)."""
        if self.readiness is None:
            return datetime.now(UTC)
        return parse_stamp(self.readiness.checked_at)

    # -- tables: filter and detail ---------------------------------------------------------------------------
    @on(BenchTable.FilterRequested)
    def _filter_requested(self, event: BenchTable.FilterRequested) -> None:
        self.query_one(TableFilter).open(event.table)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected[Any]) -> None:
        key = event.row_key.value
        if isinstance(event.data_table, BenchTable) and event.data_table.id and key is not None:
            self.open_detail(event.data_table.id, key)

    def open_detail(self, table_id: str, key: str) -> None:
        """Enter on a row: its detail view, loaded through the core (the row may have changed since)."""

        async def show() -> None:
            found = await self.detail(table_id, key)
            if found is not None:
                from tui.modals.detail import DetailModal

                self.app.push_screen(DetailModal(*found))

        self.run_guarded(show(), "the detail view")

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]] | None:
        """The title and sections of the row `key` of table `table_id`, in full; None: the row has no detail."""
        return None

    # -- operator actions ---------------------------------------------------------------------------------------
    def act(self, coro: Awaitable[Any], done: str) -> None:
        """Run one operator action through the client in a worker; success and failure both become a notification."""
        self.run_worker(self._act(coro, done), group=f"action-{self.PANE_ID}", exit_on_error=False)

    def run_guarded(self, coro: Awaitable[Any], what: str) -> None:
        """A worker whose failure is a notification, never the end of the app."""

        async def guarded() -> None:
            try:
                await coro
            except Exception as exc:
                notify_failure(self, exc, what)

        self.run_worker(guarded(), group=f"action-{self.PANE_ID}", exit_on_error=False)

    async def _act(self, coro: Awaitable[Any], done: str) -> None:
        try:
            await coro
        except Exception as exc:
            notify_failure(self, exc, f"action on {self.PANE_ID}")
            return
        self.notify(done, timeout=3)
        self.refresh_data()
