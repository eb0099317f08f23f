"""Dashboard: the whole bench at a glance, recent events, and every readiness hint."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from tui.screens.base import PaneScreen
from tui.times import since
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from core.dashboard import Dashboard
    from tui.modals.detail import Section


NEEDS_LABEL = {
    "agent_waiting": Text("waiting", style="bold yellow"),
    "approval": Text("approve?", style="yellow"),
    "delivery_failed": Text("failed", style="bold red"),
    "process_crashed": Text("crashed", style="bold red"),
}


def _line(title: str, values: dict[str, int]) -> Text:
    """`Title: a 1 · b 2` with zero counts left out, so a card stays a few lines high."""
    text = Text(f"{title}: ", style="bold")
    shown = [f"{key.replace('_', ' ')} {value}" for key, value in values.items() if value]
    text.append(" · ".join(shown) if shown else "none", style="" if shown else "dim")
    return text


def _card(*lines: Text) -> Text:
    return Text("\n").join(lines)


class DashboardScreen(PaneScreen):
    PANE_ID = "dashboard"
    SUBSYSTEMS: ClassVar[tuple[str, ...] | None] = None
    TOPICS: ClassVar[frozenset[str] | None] = None
    CSS_PATH = "dashboard.tcss"
    HELP = """\
The dashboard counts everything on the bench in one core call (`app.dashboard`): agents by role and state,
panes, log attachments, queue states, routes, processes, schedules, token usage today, the ten most recent
events, and every readiness hint with the key or command that fixes it.

**Needs you** lists, most urgent first, what waits on you: agents waiting for input (Enter opens the agent's
screen, where its prompt is answered with one key), messages awaiting approval and failed deliveries (Enter shows
the message in the queue), crashed processes (Enter shows the process in its pane).

It refreshes when the core records a change and every few seconds while it is visible."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="cards"):
            yield Static(id="card-agents", classes="card")
            yield Static(id="card-work", classes="card")
            yield Static(id="card-resources", classes="card")
        yield BenchTable(
            ("Needs", "What", "Why", "For"), title="Needs you", max_widths={"What": 40}, flex="Why", id="needs"
        )
        yield Static(
            "Nothing needs you: no agent waits for input, no message awaits approval or failed, no process crashed.",
            id="needs-none",
            markup=False,
        )
        yield BenchTable(("Time", "Type", "Origin", "Summary"), title="Recent events", flex="Summary", id="recent")
        yield EmptyState(
            "No events yet. Adopt an agent (2, then s and a) and its actions are recorded here.", id="recent-empty"
        )

    async def load(self) -> Dashboard:
        from core.dashboard import DASHBOARD

        return await self.client.call(DASHBOARD)

    def show(self, data: Dashboard) -> None:
        c = data.counts
        panes = Text(f"Panes: {c.panes['total']}", style="bold")
        panes.append(f" ({c.panes['unregistered']} not adopted)")
        agents = _card(
            Text(f"Agents: {c.agents['total']}", style="bold"),
            _line("Roles", c.agents["by_role"]),
            _line("States", c.agents["by_state"]),
            panes,
        )
        self.query_one("#card-agents", Static).update(agents)
        events = Text(f"Events: {c.events['total']}", style="bold")
        events.append(f" ({sum(c.events['last_24h_by_type'].values())} in 24 h)")
        work = _card(
            _line("Queue", c.queue), _line("Routes", {"on": c.routes["enabled"], "off": c.routes["disabled"]}), events
        )
        self.query_one("#card-work", Static).update(work)
        tokens = Text("Tokens today: ", style="bold")
        tokens.append(f"{c.tokens['today']:,} (${c.tokens['cost_usd_today']:.2f})")
        logs = Text("Logs attached: ", style="bold")
        logs.append(f"{c.log_attachments['active']} of {c.agents['total']}")
        resources = _card(tokens, _line("Processes", c.processes["by_state"]), _line("Schedules", c.schedules), logs)
        self.query_one("#card-resources", Static).update(resources)
        now = self.now()
        needs = self.query_one("#needs", BenchTable)
        waiting = needs.replace_rows(
            (f"{item.kind}:{item.ref}", (NEEDS_LABEL[item.kind], item.title, item.why, since(item.since, now)))
            for item in data.attention
        )
        needs.display = waiting > 0
        self.query_one("#needs-none").display = waiting == 0
        table = self.query_one("#recent", BenchTable)
        count = table.replace_rows(
            (event.id, (since(event.timestamp, now), event.type, event.origin, event.summary)) for event in data.recent
        )
        self.query_one("#recent-empty", EmptyState).display = count == 0
        table.display = count > 0

    def open_detail(self, table_id: str, key: str) -> None:
        if table_id != "needs":
            super().open_detail(table_id, key)
            return
        # A "needs you" row leads to where it is answered: the agent's screen, the message in the queue, the process.
        kind, _, ref = key.partition(":")
        if kind == "agent_waiting":
            self.run_guarded(self._focus_agent(ref), "opening the agent")
        elif kind in ("approval", "delivery_failed"):
            self.run_guarded(self.relayboard.reveal("queue", ref), "opening the queue")
        else:
            self.run_guarded(self._reveal_process(ref), "opening the process")

    async def _focus_agent(self, agent_id: str) -> None:
        from core.agents import AGENT_DETAIL
        from tui.screens.focus import FocusScreen

        self.app.push_screen(FocusScreen(await self.client.call(AGENT_DETAIL, agent_id=agent_id)))

    async def _reveal_process(self, process_id: str) -> None:
        from core.processes import DEVSERVER_LIST, TERMINAL_LIST

        for pane, call in (("devservers", DEVSERVER_LIST), ("terminals", TERMINAL_LIST)):
            found = await self.client.call(call, limit=200)
            if any(p.process_id == process_id for p in found.rows):
                await self.relayboard.reveal(pane, process_id)
                return
        self.notify("that process is not a terminal or dev server", timeout=3)

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]]:
        from core.agents import AGENT_LIST
        from core.events import EVENT_DETAIL
        from tui.details import event_sections

        event = await self.client.call(EVENT_DETAIL, event_id=key)
        names = {a.agent_id: a.name for a in (await self.client.call(AGENT_LIST, limit=200)).rows}
        return f"Event {event.event_type}", event_sections(event, names)
