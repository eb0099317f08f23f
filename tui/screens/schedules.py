"""Schedules: agents that run in UTC windows on chosen days."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult

from tui.screens.base import PaneScreen
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from core.lists import ListResult
    from core.models import Schedule
    from tui.modals.detail import Section


DAYS = "MTWTFSS"


def day_mask_text(mask: int) -> str:
    return "".join(day if mask & (1 << i) else "·" for i, day in enumerate(DAYS))


class SchedulesScreen(PaneScreen):
    PANE_ID = "schedules"
    SUBSYSTEMS = ("scheduler",)
    TOPICS = frozenset({"schedules"})
    CSS_PATH = "process_list.tcss"
    HELP = """\
Scheduled agents run in a UTC window (start time and duration, windows may cross midnight) on the days of their
mask, with manual overrides (skip, run now, extend). Only one Relayboard per database leads the scheduler.
The scheduler is not built yet; the banner says so."""

    def __init__(self) -> None:
        super().__init__()
        self._schedules: dict[str, Schedule] = {}

    def compose_body(self) -> ComposeResult:
        yield BenchTable(("Name", "Days", "Start (UTC)", "Minutes", "On", "Max"), title="Schedules", id="process-table")
        yield EmptyState("No schedules. The scheduler is not built yet (see the banner above).", id="process-empty")

    async def load(self) -> ListResult[Schedule]:
        from core.scheduler import SCHEDULE_LIST

        return await self.client.call(SCHEDULE_LIST, limit=200)

    def show(self, data: ListResult[Schedule]) -> None:
        table = self.query_one("#process-table", BenchTable)
        self._schedules = {s.schedule_id: s for s in data.rows}
        count = table.replace_rows(
            (
                s.schedule_id,
                (
                    s.name,
                    day_mask_text(s.day_mask),
                    s.start_time,
                    str(s.duration_minutes),
                    "yes" if s.enabled else "no",
                    str(s.max_concurrency),
                ),
            )
            for s in data.rows
        )
        table.display = count > 0
        self.query_one("#process-empty", EmptyState).display = count == 0

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]] | None:
        from core.agents import AGENT_LIST
        from tui.details import schedule_sections

        schedule = self._schedules.get(key)
        if schedule is None:
            return None
        names = {a.agent_id: a.name for a in (await self.client.call(AGENT_LIST, limit=200)).rows}
        return f"Schedule {schedule.name}", schedule_sections(schedule, day_mask_text(schedule.day_mask), names)
