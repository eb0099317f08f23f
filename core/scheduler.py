"""Scheduled agents as stored. The leader-elected scheduler loop is not built yet; readiness reports
`scheduler` as unavailable until it is."""

from __future__ import annotations

from typing import Any

from core.context import Context
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.registry import Call
from core.validation import parse
from storage.models import Schedule

SCHEDULER_MISSING = "scheduler is not built yet; schedules are stored but never fire"
SCHEDULE_LIST_SPEC = ListSpec(
    table="schedules",
    orders={"name": "name", "start_time": "start_time"},
    default_order="start_time:asc",
    filters=frozenset({"enabled", "agent_id"}),
)


SCHEDULE_LIST = Call("app.schedule.list", ListParams, ListResult[Schedule], "Scheduled agent runs.")


class Scheduler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @SCHEDULE_LIST.implementation
    async def list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Schedule]:
        return await run_list(self.ctx.db, SCHEDULE_LIST_SPEC, parse(ListParams, params), Schedule.from_row)
