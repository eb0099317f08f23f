"""Dashboard: the whole bench at a glance, recent events, and every readiness hint."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from tui.screens.base import PaneScreen
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from core.dashboard import Dashboard


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

It refreshes when the core records a change and every few seconds while it is visible."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="cards"):
            yield Static(id="card-agents", classes="card")
            yield Static(id="card-work", classes="card")
            yield Static(id="card-resources", classes="card")
        yield Static("Recent events", classes="section-title")
        yield BenchTable(("Time", "Type", "Origin", "Summary"), id="recent")
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
        table = self.query_one("#recent", BenchTable)
        count = table.replace_rows(
            (event.id, (event.timestamp[11:19], event.type, event.origin, event.summary)) for event in data.recent
        )
        self.query_one("#recent-empty", EmptyState).display = count == 0
        table.display = count > 0
