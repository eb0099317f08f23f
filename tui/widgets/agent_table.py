"""The agents table: one row per agent, its columns fitted to the width it has.

Narrower than `WIDE`, the pane and project columns give way (the preview's title shows them for the selected
agent), and the why is always cut to the width that is left: the preview shows it in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from tui.times import since
from tui.widgets.bench_table import BenchTable

if TYPE_CHECKING:
    from core.models import Agent

STATE_STYLE = {
    "working": "green",
    "waiting_for_input": "bold yellow",
    "idle": "cyan",
    "exited": "red",
    "unknown": "dim",
}
WIDE = 110  # table width from which the pane and project columns are shown (below, the why needs the room)


def pane_address(agent: Agent) -> str:
    if agent.session_name is None:
        return "-"
    return f"{agent.session_name}:{agent.window_index}.{agent.pane_index}"


COLUMNS = ("Name", "Role", "Kind", "State", "Why", "Pane", "Project", "Active")
NARROW = tuple(c for c in COLUMNS if c not in ("Pane", "Project"))
GROUP = "group:"  # the key prefix of a group's header row
GROUPINGS = (None, "project", "session")
HEADER_WIDTH = 28  # a group's name is cut from the left beyond this (the end of a path says the most)
Row = tuple[str, tuple[Text, ...]]


def group_header(name: str, members: int, waiting: int, collapsed: bool, labels: Sequence[str]) -> tuple[Text, ...]:
    shown = name if len(name) <= HEADER_WIDTH else "…" + name[-(HEADER_WIDTH - 1) :]
    cells = {label: Text("") for label in labels}
    cells["Name"] = Text.assemble(("▸ " if collapsed else "▾ ", "bold"), (shown, "bold"), f" ({members})")
    if waiting:
        cells["State"] = Text(f"{waiting} waiting", style=STATE_STYLE["waiting_for_input"])
    return tuple(cells[label] for label in labels)


class AgentTable(BenchTable):
    def __init__(self, **kwargs: object) -> None:
        # The why gets the width that is left (the preview shows it in full).
        super().__init__(COLUMNS, title="Agents", flex="Why", **kwargs)
        self.group_by: str | None = None  # None, "project" or "session"
        self.collapsed: set[str] = set()  # header keys of the groups folded away
        self._group_of: dict[str, dict[str, str]] = {}
        self._waiting: set[str] = set()

    def show_agents(self, agents: Sequence[Agent], now: datetime) -> int:
        """Refill the table (keeping the cursor on the same agent); returns the number of agents."""
        self._group_of = {
            a.agent_id: {"project": a.project_path or "(no project)", "session": a.session_name or "(no pane)"}
            for a in agents
        }
        self._waiting = {a.agent_id for a in agents if a.state == "waiting_for_input"}
        return self.replace_rows(
            # The filter also finds what the narrow table does not show: the label, the pane, the project.
            (agent.agent_id, self._cells(agent, now), f"{agent.label} {pane_address(agent)} {agent.project_path}")
            for agent in agents
        )

    def visible_columns(self) -> tuple[str, ...]:
        return COLUMNS if self.width_now() >= WIDE else NARROW

    def cycle_grouping(self) -> str | None:
        """No groups → by project → by tmux session → no groups. Returns the new grouping."""
        self.group_by = GROUPINGS[(GROUPINGS.index(self.group_by) + 1) % len(GROUPINGS)]
        self.collapsed.clear()
        self._render_rows()
        return self.group_by

    def toggle_group(self, key: str) -> None:
        """Fold or unfold the group whose header is `key`; the cursor stays on the header."""
        self.collapsed ^= {key}
        self._render_rows()
        if key in self.rows:
            self.move_cursor(row=self.get_row_index(key), animate=False)

    def grouped(self, rows: list[Row], labels: tuple[str, ...]) -> list[Row]:
        """Under one header per project or session (by name), each group in the sort the operator chose; a
        header counts its agents and says how many wait for input, folded or not."""
        if self.group_by is None:
            return rows
        groups: dict[str, list[Row]] = {}
        for key, cells in rows:
            groups.setdefault(self._group_of[key][self.group_by], []).append((key, cells))
        shown: list[Row] = []
        for name in sorted(groups, key=str.casefold):
            members = groups[name]
            key = GROUP + name
            waiting = sum(1 for k, _ in members if k in self._waiting)
            shown.append((key, group_header(name, len(members), waiting, key in self.collapsed, labels)))
            if key not in self.collapsed:
                shown.extend(members)
        return shown

    @staticmethod
    def _cells(agent: Agent, now: datetime) -> list[str | Text]:
        return [
            agent.name,
            agent.role,
            agent.kind,
            Text(agent.state, style=STATE_STYLE.get(agent.state, "")),
            agent.state_reason or "-",
            pane_address(agent),
            agent.project_path or "-",
            since(agent.last_activity_at, now),
        ]
