"""Reading the event spine (`app.event.list|detail`). Writing goes through the audit recorder only."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.context import Context
from core.errors import BenchError
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.registry import Call
from core.validation import Params, parse
from storage import events as repo
from storage.models import Event

EVENT_LIST_SPEC = ListSpec(
    table="events",
    orders={"timestamp": "timestamp", "seq": "seq"},
    default_order="seq:desc",
    filters=frozenset({"event_type", "origin", "agent_id", "surface_id", "run_id", "project_id", "user_id"}),
    tiebreak=("seq",),
    time_column="timestamp",
)


class EventIdParams(Params):
    event_id: str = Field(min_length=1, max_length=64)


EVENT_LIST = Call("app.event.list", ListParams, ListResult[Event], "The event spine, newest first.")
EVENT_DETAIL = Call("app.event.detail", EventIdParams, Event, "One event with its payload.")


class Events:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @EVENT_LIST.implementation
    async def list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Event]:
        return await run_list(self.ctx.db, EVENT_LIST_SPEC, parse(ListParams, params), Event.from_row)

    @EVENT_DETAIL.implementation
    async def detail(self, params: EventIdParams | dict[str, Any]) -> Event:
        p = parse(EventIdParams, params)
        event = await repo.get(self.ctx.db, p.event_id)
        if event is None:
            raise BenchError("not_found", f"no event {p.event_id}", details={"event_id": p.event_id})
        return event
