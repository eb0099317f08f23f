"""Routes (event → message for an agent) and the routing kill switch."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from core.agents import InputRole
from core.context import Context
from core.errors import BenchError
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.registry import Call
from core.validation import SQLITE_INT_MAX, Label, Name, Params, TypableText, parse
from storage import agents as agents_repo
from storage import routes as repo
from storage import settings as settings_repo
from storage.models import Agent, Model, Route

ROUTE_LIST_SPEC = ListSpec(
    table="routes",
    orders={"name": "name", "created_at": "created_at", "event_type": "event_type"},
    default_order="name:asc",
    filters=frozenset({"enabled", "event_type", "source_agent_id", "target_agent_id", "source_role"}),
)
ROUTING_SWITCH = "routing_enabled"
EVENT_TYPE = r"^[a-z][a-z0-9_]{0,63}$"


class RouteIdParams(Params):
    route_id: str = Field(min_length=1, max_length=64)


class AddRouteParams(Params):
    name: Name
    event_type: str = Field(pattern=EVENT_TYPE)
    template: TypableText = Field(min_length=1, max_length=4096)  # becomes input typed into the target's pane
    target_agent_id: str = Field(min_length=1, max_length=64)
    source_agent_id: str | None = Field(default=None, max_length=64)
    source_role: InputRole | None = None
    filter: Label = ""
    enabled: bool = True
    requires_approval: bool = False


class UpdateRouteParams(Params):
    route_id: str = Field(min_length=1, max_length=64)
    expected_version: int | None = Field(default=None, ge=1, le=SQLITE_INT_MAX)
    name: Name | None = None
    event_type: str | None = Field(default=None, pattern=EVENT_TYPE)
    template: TypableText | None = Field(default=None, min_length=1, max_length=4096)
    target_agent_id: str | None = Field(default=None, max_length=64)
    filter: Label | None = None
    enabled: bool | None = None
    requires_approval: bool | None = None


class SetEnabledParams(Params):
    enabled: bool


class RoutingState(Model):
    enabled: bool


ROUTE_LIST = Call("app.route.list", ListParams, ListResult[Route], "Routes: which event becomes which message.")
ROUTE_DETAIL = Call("app.route.detail", RouteIdParams, Route, "One route.")
ROUTE_ADD = Call(
    "app.route.add", AddRouteParams, Route, "Add a route from an event to a message for an agent.", mutates=True
)
ROUTE_UPDATE = Call("app.route.update", UpdateRouteParams, Route, "Change or enable/disable a route.", mutates=True)
ROUTE_REMOVE = Call("app.route.remove", RouteIdParams, Route, "Delete a route.", mutates=True)
ROUTING_SET = Call(
    "app.routing.set_enabled",
    SetEnabledParams,
    RoutingState,
    "The routing kill switch: off delivers nothing.",
    mutates=True,
)
ROUTING_STATUS = Call("app.routing.status", Params, RoutingState, "Whether routing is switched on.")


class Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @ROUTE_LIST.implementation
    async def list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Route]:
        return await run_list(self.ctx.db, ROUTE_LIST_SPEC, parse(ListParams, params), Route.from_row)

    async def _get(self, route_id: str) -> Route:
        route = await repo.get(self.ctx.db, route_id)
        if route is None:
            raise BenchError("route_not_found", f"no route {route_id}", details={"route_id": route_id})
        return route

    @ROUTE_DETAIL.implementation
    async def detail(self, params: RouteIdParams | dict[str, Any]) -> Route:
        return await self._get(parse(RouteIdParams, params).route_id)

    async def _require_agent(self, agent_id: str, field: str) -> Agent:
        agent = await agents_repo.get(self.ctx.db, agent_id)
        if agent is None:
            raise BenchError("agent_not_found", f"no agent {agent_id}", field=field, details={"agent_id": agent_id})
        return agent

    @ROUTE_ADD.implementation
    async def add(self, params: AddRouteParams | dict[str, Any]) -> Route:
        p = parse(AddRouteParams, params)
        target = await self._require_agent(p.target_agent_id, "target_agent_id")
        if p.source_agent_id:
            await self._require_agent(p.source_agent_id, "source_agent_id")
        now = self.ctx.now()
        route = Route(route_id=uuid.uuid4().hex[:12], created_at=now, updated_at=now, **p.model_dump())
        async with self.ctx.db.write() as w:
            if await w.fetchone("SELECT 1 FROM routes WHERE name = ?", (p.name,)):
                raise BenchError("validation_failed", f"a route named {p.name!r} exists", field="name")
            await repo.insert(w, route)
            event = await self.ctx.recorder.stage(
                w,
                "route_created",
                f"route {p.name}: {p.event_type} → {target.name}",
                {"route_id": route.route_id, "name": p.name},
            )
        self.ctx.recorder.committed(event)
        return route

    @ROUTE_UPDATE.implementation
    async def update(self, params: UpdateRouteParams | dict[str, Any]) -> Route:
        p = parse(UpdateRouteParams, params)
        changes = p.model_dump(exclude={"route_id", "expected_version"}, exclude_none=True)
        if "target_agent_id" in changes:
            await self._require_agent(changes["target_agent_id"], "target_agent_id")
        async with self.ctx.db.write() as w:
            current = await repo.get(w, p.route_id)
            if current is None:
                raise BenchError("route_not_found", f"no route {p.route_id}", details={"route_id": p.route_id})
            if p.expected_version is not None and p.expected_version != current.version:
                raise BenchError(
                    "stale_object",
                    f"route {current.name} is at version {current.version}",
                    details={"version": current.version},
                )
            if changes:
                await repo.update(w, p.route_id, changes, self.ctx.now())
            # The template is what the operator stores (like a queue payload): the audit says it changed and
            # its size, never copies it.
            recorded = {k: v for k, v in changes.items() if k != "template"}
            if "template" in changes:
                recorded["template_chars"] = len(changes["template"])
            event = await self.ctx.recorder.stage(
                w, "route_updated", f"updated route {current.name}", {"route_id": p.route_id, "changes": recorded}
            )
        self.ctx.recorder.committed(event)
        return await self._get(p.route_id)

    @ROUTE_REMOVE.implementation
    async def remove(self, params: RouteIdParams | dict[str, Any]) -> Route:
        p = parse(RouteIdParams, params)
        route = await self._get(p.route_id)
        async with self.ctx.db.write() as w:
            await repo.delete(w, p.route_id)
            event = await self.ctx.recorder.stage(
                w, "route_deleted", f"deleted route {route.name}", {"route_id": p.route_id}
            )
        self.ctx.recorder.committed(event)
        return route

    async def routing_enabled(self) -> bool:
        return bool(await settings_repo.get(self.ctx.db, ROUTING_SWITCH, True))

    @ROUTING_STATUS.implementation
    async def status(self, params: Params | dict[str, Any] | None = None) -> RoutingState:
        parse(Params, params)
        return RoutingState(enabled=await self.routing_enabled())

    @ROUTING_SET.implementation
    async def set_enabled(self, params: SetEnabledParams | dict[str, Any]) -> RoutingState:
        p = parse(SetEnabledParams, params)
        async with self.ctx.db.write() as w:
            await settings_repo.put(w, ROUTING_SWITCH, p.enabled, self.ctx.now())
            event = await self.ctx.recorder.stage(
                w, "routing_toggled", f"routing {'enabled' if p.enabled else 'disabled'}", {"enabled": p.enabled}
            )
        self.ctx.recorder.committed(event)
        return RoutingState(enabled=p.enabled)
