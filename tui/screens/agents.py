"""Agents: every adopted tmux pane with its role, kind, state and why; scan, adopt, filter, remove."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from core.lists import ListResult
from storage.models import Agent
from tui.modals.adopt import AdoptModal, AdoptRequest
from tui.modals.confirm import ConfirmModal
from tui.screens.base import PaneScreen
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

STATE_STYLE = {
    "working": "green",
    "waiting_for_input": "bold yellow",
    "idle": "cyan",
    "exited": "red",
    "unknown": "dim",
}


class AgentsScreen(PaneScreen):
    PANE_ID = "agents"
    SUBSYSTEMS = ("tmux_discovery", "log_attachment_workers")
    CSS_PATH = "agents.tcss"
    HELP = """\
Agents are tmux panes adopted under a name and a role (`master`, `worker`, `swarm`, `test-runner`, `shell`,
`unknown`). Press `s` to scan the tmux server for panes, `a` to adopt one, `/` to filter the list by any text,
`x` to remove (unadopt) the selected agent: its tmux pane keeps running."""
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("s", "scan", "Scan tmux", id="agents.scan"),
        Binding("a", "adopt", "Adopt pane", id="agents.adopt"),
        Binding("slash", "filter", "Filter", id="agents.filter"),
        Binding("x", "remove", "Remove", id="agents.remove"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="agents.clear_filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._agents: list[Agent] = []

    def compose_body(self) -> ComposeResult:
        # Disabled while hidden, so it never takes focus (and the number keys) from the table.
        yield Input(
            placeholder="filter: any text in name, role, kind, state, label…", id="agents-filter", disabled=True
        )
        yield BenchTable(("Name", "Role", "Kind", "State", "Why", "Pane", "Project", "Label"), id="agents-table")
        yield EmptyState(
            "No agents yet. Press s to scan tmux for panes, then a to adopt one.\n"
            "From a shell: relayboard call app.agent.register_from_pane '{…}'",
            id="agents-empty",
        )

    async def load(self) -> ListResult[Agent]:
        return await self.bench.agents.list({"limit": 200})

    def show(self, data: ListResult[Agent]) -> None:
        self._agents = data.rows
        self._render_rows()

    def _render_rows(self) -> None:
        needle = self.query_one("#agents-filter", Input).value.strip().lower()
        table = self.query_one("#agents-table", BenchTable)

        def visible(agent: Agent) -> bool:
            haystack = " ".join((agent.name, agent.role, agent.kind, agent.state, agent.label, agent.project_path))
            return needle in haystack.lower()

        count = table.replace_rows(
            (
                a.agent_id,
                (
                    a.name,
                    a.role,
                    a.kind,
                    Text(a.state, style=STATE_STYLE[a.state]),
                    a.state_reason or "-",
                    f"{a.session_name}:{a.window_index}.{a.pane_index}",
                    a.project_path,
                    a.label,
                ),
            )
            for a in self._agents
            if visible(a)
        )
        empty = self.query_one("#agents-empty", EmptyState)
        empty.display = not self._agents
        table.display = bool(self._agents)
        if self._agents and count == 0:
            self.notify(f"no agent matches {needle!r}", timeout=2)

    @on(Input.Changed, "#agents-filter")
    def filter_changed(self) -> None:
        self._render_rows()

    @on(Input.Submitted, "#agents-filter")
    def filter_done(self) -> None:
        self.query_one("#agents-table", BenchTable).focus()

    def action_filter(self) -> None:
        field = self.query_one("#agents-filter", Input)
        field.disabled = False
        field.display = True
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#agents-filter", Input)
        field.value = ""
        field.display = False
        field.disabled = True
        self.query_one("#agents-table", BenchTable).focus()

    def action_scan(self) -> None:
        async def scan() -> None:
            status = await self.bench.agents.scan({"wait": True})
            if status.state == "failed":
                self.notify(f"tmux_unavailable: {status.error}", severity="error")
            else:
                self.notify(f"scan found {status.panes_found} panes", timeout=3)
            self.refresh_data()

        self.run_worker(self.act(scan(), "scan finished"), group="agents-action")

    def action_adopt(self) -> None:
        async def pick() -> None:
            panes = [p for p in await self.bench.agents.panes() if p.alive and p.agent_id is None]
            if not panes:
                self.notify("No unadopted panes. Press s to scan, or start one: tmux new-session -d", timeout=4)
                return
            self.app.push_screen(AdoptModal(panes), self._adopt_chosen)

        self.run_worker(pick(), group="agents-action")

    def _adopt_chosen(self, request: AdoptRequest | None) -> None:
        if request is None:
            return
        pane = request.pane
        params = {
            "pane_id": pane.pane_id,
            "session_name": pane.session_name,
            "window_index": pane.window_index,
            "pane_index": pane.pane_index,
            "name": request.name,
            "role": request.role,
        }
        self.run_worker(
            self.act(self.bench.agents.register_from_pane(params), f"adopted {request.name}"), group="agents-action"
        )

    def action_remove(self) -> None:
        agent_id = self.query_one("#agents-table", BenchTable).selected_key
        agent = next((a for a in self._agents if a.agent_id == agent_id), None)
        if agent is None:
            self.notify("Select an agent first", timeout=2)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_worker(
                    self.act(
                        self.bench.agents.remove({"agent_id": agent.agent_id}),
                        f"removed {agent.name}; its tmux pane keeps running",
                    ),
                    group="agents-action",
                )

        self.app.push_screen(ConfirmModal(f"Remove agent {agent.name}? The tmux pane keeps running."), confirmed)
