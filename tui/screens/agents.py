"""Agents: every adopted or launched tmux pane with its role, kind, state and why, and a live preview of the
selected one; keys to launch, adopt, edit, send input, attach logs, kill, restart and jump to the pane."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import DataTable, Footer

from core.errors import BenchError
from tui.jump import jump_and_say
from tui.screens.base import PaneScreen
from tui.widgets.agent_preview import AgentPreview
from tui.widgets.agent_table import GROUP, AgentTable, pane_address
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from core.lists import ListResult
    from core.models import Agent
    from core.prompts import AgentPrompt
    from tui.modals.detail import Section


class AgentsScreen(PaneScreen):
    PANE_ID = "agents"
    SUBSYSTEMS = ("tmux_discovery", "log_attachment_workers")
    TOPICS = frozenset({"agents", "panes"})
    CSS_PATH = "agents.tcss"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (140, "-wide")]
    HELP = """\
Agents are tmux panes adopted under a name and a role (`master`, `worker`, `swarm`, `test-runner`, `shell`,
`unknown`), or launched by Relayboard in their own tmux session `rb-<name>`. **State** is what the watcher
detected (working, waiting_for_input, idle, exited, unknown) and **Why** the rule that decided it; **Active** is
how long ago the screen last changed. The box below the table (beside it on wide terminals) shows the selected
agent's screen, refreshed about once a second.

- `i` types text into the selected agent (Ctrl+S sends, followed by Enter). It refuses to type when the pane runs
  something other than the agent (e.g. an editor) unless you tick *force*.
- `n` launches a new managed agent from a preset (claude, codex, shell) or a custom command; `R` restarts a
  launched agent; `k` kills it: a launched agent's whole tmux session, an adopted agent's pane (asks first).
- `e` edits label, role, capability and project; `l` attaches or detaches the pane's log
  (`logs/<name>.log` in the Relayboard home); `L` shows that log, tailed live, with search.
- Enter or `z` opens the agent full-screen: its live screen in colour, scrollback (PgUp, `/` search, `n` next
  match, `G` follow), its prompt's choices answered with their keys, and `t` to type into it (Esc leaves typing,
  a second Esc closes the view). `j` shows the pane in your tmux: the same server switches to it, another server
  opens it in a popup (or a new window); outside tmux the attach command goes to the clipboard.
- `s` scans tmux for panes, `a` adopts one, `x` removes (unadopts) an agent: its pane keeps running.
- `g` groups the agents by project, then by tmux session, then not at all; Enter on a group's header folds
  or unfolds it (its header says how many of its agents wait for input).
- `d` shows everything about the agent: both state signals, its pane, command, environment variable names
  and log.
- `/` filters the list by any text (also label, pane and project); Escape clears the filter. `o` sorts by the
  next column, `O` reverses."""
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("i", "send_input", "Send", id="agents.send_input"),
        Binding("n", "launch", "New", id="agents.launch"),
        Binding("e", "edit", "Edit", id="agents.edit"),
        Binding("l", "toggle_log", "Log", id="agents.toggle_log"),
        Binding("L", "view_log", "View log", show=False, id="agents.view_log"),
        Binding("k", "kill", "Kill", id="agents.kill"),
        Binding("R", "restart", "Restart", id="agents.restart"),
        Binding("z", "focus", "Focus", id="agents.focus"),
        Binding("j", "jump", "Jump", id="agents.jump"),
        Binding("s", "scan", "Scan", id="agents.scan"),
        Binding("a", "adopt", "Adopt", id="agents.adopt"),
        Binding("x", "remove", "Remove", id="agents.remove"),
        Binding("d", "detail", "Detail", show=False, id="agents.detail"),
        Binding("g", "group", "Group", show=False, id="agents.group"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._agents: list[Agent] = []

    def compose_body(self) -> ComposeResult:
        with Container(id="agents-body"):
            yield AgentTable(id="agents-table")
            yield AgentPreview(self._capture, id="agents-preview")
        yield EmptyState(
            "No agents yet. Press n to launch one, or s to scan tmux for panes and a to adopt one.\n"
            "From a shell: relayboard call app.agent.register_from_pane '{…}'",
            id="agents-empty",
        )

    # -- data ----------------------------------------------------------------------------------------------
    async def load(self) -> ListResult[Agent]:
        from core.agents import AGENT_LIST

        return await self.client.call(AGENT_LIST, limit=200)

    def show(self, data: ListResult[Agent]) -> None:
        self._agents = data.rows
        self._render_rows()

    async def _refresh(self) -> None:
        await super()._refresh()
        # The first capture of a newly selected agent is part of the refresh: a refreshed pane is whole.
        await self.query_one(AgentPreview).wait_for_poll()

    def _render_rows(self) -> None:
        self.query_one(AgentTable).show_agents(self._agents, self.now())
        self.query_one("#agents-empty", EmptyState).display = not self._agents
        self.query_one("#agents-body").display = bool(self._agents)
        self._preview_selected()

    def _selected(self) -> Agent | None:
        agent_id = self.query_one(AgentTable).selected_key
        return next((a for a in self._agents if a.agent_id == agent_id), None)

    def _preview_selected(self) -> None:
        agent = self._selected()
        preview = self.query_one(AgentPreview)
        if agent is None:
            preview.select(None, "preview")
            return
        where = " · ".join(part for part in (pane_address(agent), agent.project_path) if part)
        title = f"{agent.name}{' — ' + agent.label if agent.label else ''} · {where}"
        preview.select(
            agent.agent_id,
            title,
            f"{agent.state}: {agent.state_reason or '-'}",
            waiting=agent.state == "waiting_for_input",
        )

    async def _capture(self, agent_id: str, lines: int, prompt: bool) -> tuple[str, AgentPrompt | None]:
        from core.agents import AGENT_CAPTURE

        shot = await self.client.call(AGENT_CAPTURE, agent_id=agent_id, lines=min(lines, 500), prompt=prompt)
        return shot.screen, shot.prompt

    @on(DataTable.RowHighlighted, "#agents-table")
    def row_highlighted(self) -> None:
        # The table's cursor, not the message: a refill highlights row 0 on its way back to the selected row.
        self._preview_selected()

    @on(DataTable.RowSelected, "#agents-table")
    def row_selected(self, event: DataTable.RowSelected[object]) -> None:
        event.prevent_default()  # Enter on an agent opens its screen, not the detail view (`d`)
        key = event.row_key.value
        if key is not None and key.startswith(GROUP):
            self.query_one(AgentTable).toggle_group(key)  # Enter on a group's header folds or unfolds it
            return
        self.action_focus()

    def action_group(self) -> None:
        grouping = self.query_one(AgentTable).cycle_grouping()
        self.notify(f"grouped by {grouping}" if grouping else "not grouped", timeout=2)

    def on_mount(self) -> None:
        # Eleven keys of its own: the compact footer shows most of them at 80 columns (`?` lists them all).
        self.query_one(Footer).compact = True

    def on_screen_resume(self) -> None:
        self.query_one(AgentPreview).resume()

    def on_screen_suspend(self) -> None:
        self.query_one(AgentPreview).pause()

    # -- actions -------------------------------------------------------------------------------------------
    def _require_selected(self) -> Agent | None:
        agent = self._selected()
        if agent is None:
            self.notify("Select an agent first", timeout=2)
        return agent

    def action_scan(self) -> None:
        from core.agents import SCAN_PANES

        async def scan() -> None:
            status = await self.client.call(SCAN_PANES, wait=True)
            if status.state == "failed":
                self.notify(f"tmux_unavailable: {status.error}", severity="error")
            else:
                self.notify(f"scan found {status.panes_found} panes", timeout=3)
            self.refresh_data()

        self.act(scan(), "scan finished")

    def action_adopt(self) -> None:
        from core.agents import PANE_LIST

        async def pick() -> None:
            free = await self.client.call(PANE_LIST, limit=200, filters={"alive": True, "agent_id": None})
            if not free.rows:
                self.notify("No unadopted panes. Press s to scan, or start one: tmux new-session -d", timeout=4)
                return
            from core.agents import AGENT_REGISTER
            from tui.modals.adopt import AdoptModal

            def adopted(agent: Agent | None) -> None:
                if agent is not None:
                    self.notify(f"adopted {agent.name}", timeout=3)
                    self.refresh_data()

            # The dialog adopts through the core, so a taken or invalid name keeps what was chosen and typed.
            self.app.push_screen(AdoptModal(free.rows, submit=lambda p: self.client.call(AGENT_REGISTER, p)), adopted)

        self.run_guarded(pick(), "the adopt picker")

    def action_launch(self) -> None:
        from core.launcher import LAUNCH
        from tui.modals.launch import LaunchModal, default_cwd

        def launched(agent: Agent | None) -> None:
            if agent is not None:
                self.notify(f"launched {agent.name} in tmux session {agent.session_name}", timeout=3)
                self.refresh_data()

        # The form sends the launch itself, so a refusal keeps what was typed (and says which field is wrong).
        self.app.push_screen(LaunchModal(default_cwd(), submit=lambda p: self.client.call(LAUNCH, p)), launched)

    def action_edit(self) -> None:
        if (agent := self._require_selected()) is None:
            return
        from tui.modals.edit_agent import EditAgentModal

        sent: dict[str, Any] = {}

        async def save(changes: dict[str, Any]) -> Agent:
            from core.agents import AGENT_UPDATE

            sent.update(changes)
            # expected_version: an edit made meanwhile (another window, the CLI) is refused as stale_object.
            params = {"agent_id": agent.agent_id, "expected_version": agent.version, **changes}
            return await self.client.call(AGENT_UPDATE, params)

        def saved(result: Agent | dict[str, Any] | None) -> None:
            if result is None:
                return
            if result == {}:
                self.notify(f"{agent.name}: nothing changed", timeout=2)
                return
            self.notify(f"updated {agent.name}: {', '.join(sorted(sent))}", timeout=3)
            self.refresh_data()

        self.app.push_screen(EditAgentModal(agent, submit=save), saved)

    def action_send_input(self) -> None:
        if (agent := self._require_selected()) is None:
            return
        from tui.modals.send_input import SendInputModal

        async def send(values: dict[str, Any]) -> int:
            from core.queue import SEND_INPUT

            params = {"target_agent_id": agent.agent_id, "payload": values["payload"], "force": values["force"]}
            try:
                await self.client.call(SEND_INPUT, params)
            except BenchError as exc:
                if exc.details.get("reason") == "foreground_command":  # the guard: the answer is the force box
                    raise BenchError(exc.code, exc.message, field="force", details=exc.details) from None
                raise
            return values["payload"].count("\n") + 1

        def sent(lines: int | None) -> None:
            if lines:
                self.notify(f"typed {lines} line{'s' if lines > 1 else ''} into {agent.name}", timeout=3)
                self.refresh_data()

        self.app.push_screen(SendInputModal(agent.name, agent.kind, submit=send), sent)

    def action_toggle_log(self) -> None:
        if (agent := self._require_selected()) is None:
            return

        from core.logs import LOG_ATTACH, LOG_DETACH, LOG_DETAIL

        async def toggle() -> None:
            try:
                attached = (await self.client.call(LOG_DETAIL, agent_id=agent.agent_id)).state != "detached"
            except BenchError as exc:
                if exc.code != "not_found":
                    raise
                attached = False
            if attached:
                await self._act(self.client.call(LOG_DETACH, agent_id=agent.agent_id), f"detached {agent.name}'s log")
            else:
                done = f"{agent.name}'s output now goes to logs/{agent.name}.log"
                await self._act(self.client.call(LOG_ATTACH, agent_id=agent.agent_id), done)

        self.run_guarded(toggle(), "log toggle")

    def action_kill(self) -> None:
        if (agent := self._require_selected()) is None:
            return
        from tui.modals.confirm import ConfirmModal

        what = (
            f"Its whole tmux session {agent.session_name} is stopped."
            if agent.managed
            else f"Its tmux pane {pane_address(agent)} is closed."
        )

        def confirmed(yes: bool | None) -> None:
            from core.launcher import KILL

            if yes:
                self.act(self.client.call(KILL, agent_id=agent.agent_id), f"killed {agent.name}")

        self.app.push_screen(ConfirmModal(f"Kill agent {agent.name}? {what}"), confirmed)

    def action_restart(self) -> None:
        if (agent := self._require_selected()) is None:
            return
        if not agent.managed:
            self.notify(f"{agent.name} was adopted, not launched: only launched agents restart", timeout=4)
            return
        from tui.modals.confirm import ConfirmModal

        def confirmed(yes: bool | None) -> None:
            from core.launcher import RESTART

            if yes:
                self.act(self.client.call(RESTART, agent_id=agent.agent_id), f"restarted {agent.name}")

        self.app.push_screen(
            ConfirmModal(f"Restart agent {agent.name}? Its process is stopped and started again."), confirmed
        )

    def action_focus(self) -> None:
        if (agent := self._require_selected()) is None:
            return
        from tui.screens.focus import FocusScreen

        self.app.push_screen(FocusScreen(agent))

    def action_detail(self) -> None:
        if (agent := self._require_selected()) is not None:
            self.open_detail("agents-table", agent.agent_id)

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]]:
        from core.agents import AGENT_DETAIL
        from core.logs import LOG_DETAIL

        agent = await self.client.call(AGENT_DETAIL, agent_id=key)
        try:
            log = await self.client.call(LOG_DETAIL, agent_id=key)
            attachment = f"{log.state}: {log.path}" + (f" ({log.reason})" if log.reason else "")
        except BenchError as exc:
            if exc.code != "not_found":
                raise
            attachment = "not attached (l attaches it)"
        from tui.details import agent_sections

        return f"Agent {agent.name}", agent_sections(agent, attachment)

    def action_view_log(self) -> None:
        if (agent := self._require_selected()) is None:
            return
        from tui.screens.log_view import LogScreen

        self.app.push_screen(LogScreen(agent))

    def action_jump(self) -> None:
        if (agent := self._require_selected()) is None:
            return
        from core.agents import AGENT_DETAIL

        async def jump() -> None:
            # The pane as the core knows it now (the watcher keeps it current), then the operator's own tmux.
            await jump_and_say(self, await self.client.call(AGENT_DETAIL, agent_id=agent.agent_id))

        self.run_guarded(jump(), "jump")

    def action_remove(self) -> None:
        if (agent := self._require_selected()) is None:
            return
        from tui.modals.confirm import ConfirmModal

        def confirmed(yes: bool | None) -> None:
            from core.agents import AGENT_REMOVE

            if yes:
                self.act(
                    self.client.call(AGENT_REMOVE, agent_id=agent.agent_id),
                    f"removed {agent.name}; its tmux pane keeps running",
                )

        self.app.push_screen(ConfirmModal(f"Remove agent {agent.name}? The tmux pane keeps running."), confirmed)
