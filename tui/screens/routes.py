"""Routes: which event from which agent becomes which message for which agent; the routing kill switch."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.screens.base import PaneScreen
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from core.lists import ListResult
    from core.models import Route
    from tui.modals.detail import Section

    RoutesSnapshot = tuple[ListResult[Route], dict[str, str], bool]


class RoutesScreen(PaneScreen):
    PANE_ID = "routes"
    SUBSYSTEMS = ("routing_worker",)
    TOPICS = frozenset({"routes", "agents"})
    CSS_PATH = "routes.tcss"
    HELP = """\
A route turns an event (`test_failed`, `error`, `task_done`, …) from a source agent or role into a message for a
target agent, optionally held for approval. `e` enables or disables the selected route; `k` is the routing
kill switch: when routing is off nothing is delivered."""
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("e", "toggle_route", "Enable/disable", id="routes.toggle"),
        Binding("k", "kill_switch", "Routing on/off", id="routes.kill_switch"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._routes: list[Route] = []
        self._routing_on = True
        self._names: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(id="routing-state")
        yield BenchTable(
            ("Name", "On", "Event", "From", "To", "Approval", "Template"),
            title="Routes",
            flex="Template",
            id="routes-table",
        )
        yield EmptyState(
            "No routes yet. Add one from a shell:\n"
            'relayboard call app.route.add \'{"name": "tests-to-lead", "event_type": "test_failed", '
            '"target_agent_id": …, "template": "Tests failed: {summary}"}\'',
            id="routes-empty",
        )

    async def load(self) -> RoutesSnapshot:
        from core.agents import AGENT_LIST
        from core.routes import ROUTE_LIST, ROUTING_STATUS

        agents = await self.client.call(AGENT_LIST, limit=200)
        names = {a.agent_id: a.name for a in agents.rows}
        routing = await self.client.call(ROUTING_STATUS)
        return await self.client.call(ROUTE_LIST, limit=200), names, routing.enabled

    def show(self, data: RoutesSnapshot) -> None:
        routes, self._names, self._routing_on = data
        names = self._names
        self._routes = routes.rows
        state = Text("Routing ")
        state.append(
            "ON" if self._routing_on else "OFF (kill switch: press k)",
            style="bold green" if self._routing_on else "bold red",
        )
        self.query_one("#routing-state", Static).update(state)
        table = self.query_one("#routes-table", BenchTable)
        count = table.replace_rows(
            (
                r.route_id,
                (
                    r.name,
                    Text("yes", "green") if r.enabled else Text("no", "dim"),
                    r.event_type,
                    _agent(names, r.source_agent_id, r.source_role or "any"),
                    _agent(names, r.target_agent_id, "?"),
                    "required" if r.requires_approval else "-",
                    r.template,
                ),
            )
            for r in self._routes
        )
        self.query_one("#routes-empty", EmptyState).display = count == 0
        table.display = count > 0

    def action_toggle_route(self) -> None:
        key = self.query_one("#routes-table", BenchTable).selected_key
        route = next((r for r in self._routes if r.route_id == key), None)
        if route is None:
            self.notify("Select a route first", timeout=2)
            return
        from core.routes import ROUTE_UPDATE

        call = self.client.call(
            ROUTE_UPDATE, route_id=route.route_id, enabled=not route.enabled, expected_version=route.version
        )
        self.act(call, f"{route.name} {'disabled' if route.enabled else 'enabled'}")

    def action_kill_switch(self) -> None:
        from core.routes import ROUTING_SET

        if not self._routing_on:
            self.act(self.client.call(ROUTING_SET, enabled=True), "routing on")
            return
        from tui.modals.confirm import ConfirmModal

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act(self.client.call(ROUTING_SET, enabled=False), "routing off: nothing is delivered")

        self.app.push_screen(
            ConfirmModal("Switch routing off? No message is delivered to any agent until it is on again."), confirmed
        )

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]]:
        from core.queue import QUEUE_LIST
        from core.routes import ROUTE_DETAIL
        from tui.details import route_sections

        route = await self.client.call(ROUTE_DETAIL, route_id=key)
        recent = await self.client.call(
            QUEUE_LIST, limit=10, order_by="enqueued_at:desc", filters={"route_id": route.route_id}
        )
        return f"Route {route.name}", route_sections(route, self._names, recent.rows)


def _agent(names: dict[str, str], agent_id: str | None, otherwise: str) -> str:
    """An agent's name; a route that names an agent since removed says so instead of widening to "any"."""
    if agent_id is None:
        return otherwise
    return names.get(agent_id, "(removed agent)")
