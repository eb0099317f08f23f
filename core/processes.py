"""Child processes (terminals, dev servers, agent runs) as stored. The supervisor that starts, pauses and
restarts them is not built yet; readiness reports `process_supervisor` as unavailable until it is."""

from __future__ import annotations

from typing import Any, Literal

from core.context import Context
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.registry import Call
from core.validation import parse
from storage.models import Process

SUPERVISOR_MISSING = "process supervisor is not built yet; terminals and dev servers cannot be started"
ProcessKind = Literal["terminal", "devserver", "agent_run"]

TERMINAL_LIST = Call("app.terminal.list", ListParams, ListResult[Process], "Embedded PTY terminals.")
DEVSERVER_LIST = Call("app.devserver.list", ListParams, ListResult[Process], "Dev-server processes.")
PROCESS_LIST = Call("app.process.list", ListParams, ListResult[Process], "Agent runs the supervisor started.")


def process_list_spec(kind: ProcessKind) -> ListSpec:
    return ListSpec(
        table="processes",
        orders={"name": "name", "state": "state", "updated_at": "updated_at"},
        default_order="name:asc",
        filters=frozenset({"state"}),
        fixed={"kind": kind},
    )


class Processes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, kind: ProcessKind, params: ListParams | dict[str, Any] | None = None) -> ListResult[Process]:
        return await run_list(self.ctx.db, process_list_spec(kind), parse(ListParams, params), Process.from_row)

    @TERMINAL_LIST.implementation
    async def terminals(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Process]:
        return await self.list("terminal", params)

    @DEVSERVER_LIST.implementation
    async def devservers(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Process]:
        return await self.list("devserver", params)

    @PROCESS_LIST.implementation
    async def agent_runs(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Process]:
        return await self.list("agent_run", params)
