"""Reading the event spine (`app.event.list|detail`). Writing goes through the audit recorder only."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.context import Context
from core.errors import BenchError
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.validation import Params, parse
from storage import events as repo
from storage.models import Event

EVENT_LIST = ListSpec(
    table="events",
    orders={"timestamp": "timestamp", "seq": "seq"},
    default_order="seq:desc",
    filters=frozenset({"event_type", "origin", "agent_id", "surface_id", "run_id", "project_id", "user_id"}),
    tiebreak=("seq",),
    time_column="timestamp",
)


class EventIdParams(Params):
    event_id: str = Field(min_length=1, max_length=64)


class Events:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, params: dict[str, Any] | None = None) -> ListResult[Event]:
        return await run_list(self.ctx.db, EVENT_LIST, parse(ListParams, params), Event.from_row)

    async def detail(self, params: dict[str, Any]) -> Event:
        p = parse(EventIdParams, params)
        event = await repo.get(self.ctx.db, p.event_id)
        if event is None:
            raise BenchError("not_found", f"no event {p.event_id}", details={"event_id": p.event_id})
        return event
