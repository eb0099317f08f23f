"""Shared shape of the terminals and dev-servers panes: the processes of one kind, by state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult

from tui.screens.base import PaneScreen
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from core.lists import ListResult
    from core.models import Process
    from tui.modals.detail import Section


STATE_STYLE = {
    "running": "green",
    "stopped": "dim",
    "crashed": "bold red",
    "paused": "yellow",
    "pausing": "yellow",
    "paused_graceful": "yellow",
}


class ProcessListScreen(PaneScreen):
    SUBSYSTEMS = ("process_supervisor",)
    TOPICS = frozenset({"processes"})
    CSS_PATH = "process_list.tcss"
    EMPTY: ClassVar[str] = ""
    TABLE_TITLE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._processes: dict[str, Process] = {}

    def compose_body(self) -> ComposeResult:
        yield BenchTable(
            ("Name", "State", "Command", "PID", "Restarts", "URL"),
            title=self.TABLE_TITLE,
            flex="Command",
            id="process-table",
        )
        yield EmptyState(self.EMPTY, id="process-empty")

    def list_call(self) -> Any:
        """The `app.*.list` call of this pane's processes."""
        raise NotImplementedError

    async def load(self) -> ListResult[Process]:
        return await self.client.call(self.list_call(), limit=200)

    def show(self, data: ListResult[Process]) -> None:
        table = self.query_one("#process-table", BenchTable)
        self._processes = {p.process_id: p for p in data.rows}
        count = table.replace_rows(
            (
                p.process_id,
                (
                    p.name,
                    Text(p.state, style=STATE_STYLE[p.state]),
                    p.command,
                    str(p.pid or "-"),
                    str(p.restarts),
                    p.url or "-",
                ),
            )
            for p in data.rows
        )
        table.display = count > 0
        self.query_one("#process-empty", EmptyState).display = count == 0

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]] | None:
        from tui.details import process_sections

        process = self._processes.get(key)
        return None if process is None else (f"{process.kind} {process.name}", process_sections(process))
