"""The agents table: one row per agent, its columns fitted to the width it has.

Narrower than `WIDE`, the pane and project columns give way (the preview's title shows them for the selected
agent), and the why is always cut to the width that is left: the preview shows it in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

from tui.widgets.bench_table import BenchTable
from tui.widgets.literal import literal

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
MIN_WHY = 10
SCROLLBAR = 2  # kept free, so the columns do not move when a vertical scrollbar appears


def since(stamp: str | None, now: datetime) -> str:
    """How long ago, by the bench clock (frozen in snapshots): `<1m`, `5m`, `3h`, `2d`. Minutes at the finest:
    a seconds counter would change every row at every refresh, and redrawing a 50-row table every 3 s is most of
    what an idle agents pane costs."""
    if not stamp:
        return "-"
    seconds = max(0, int((now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "<1m"


def pane_address(agent: Agent) -> str:
    if agent.session_name is None:
        return "-"
    return f"{agent.session_name}:{agent.window_index}.{agent.pane_index}"


class AgentTable(BenchTable):
    def __init__(self, **kwargs: object) -> None:
        super().__init__((), **kwargs)
        self._agents: Sequence[Agent] = ()
        self._now: datetime | None = None
        self._fitted_width = 0
        self._layout: tuple[list[str], list[int], list[tuple[str, ...]]] | None = None

    def show_agents(self, agents: Sequence[Agent], now: datetime) -> int:
        """Refill the table (keeping the cursor on the same agent); returns the number of rows."""
        self._agents = agents
        self._now = now
        self._fill()
        return self.row_count

    def on_resize(self) -> None:
        if self.size.width != self._fitted_width and self._now is not None:
            self._fill()

    def _fill(self) -> None:
        assert self._now is not None
        width = self.size.width or self.app.size.width
        self._fitted_width = self.size.width
        wide = width >= WIDE
        rows = [self._cells(agent, wide) for agent in self._agents]
        labels = ["Name", "Role", "Kind", "State", "Why", *(["Pane", "Project"] if wide else []), "Active"]
        widths = [max([cell_len(label), *(literal(row[i]).cell_len for row in rows)]) for i, label in enumerate(labels)]
        why = labels.index("Why")
        room = width - SCROLLBAR - 2 * self.cell_padding * len(labels) - sum(widths) + widths[why]
        widths[why] = max(MIN_WHY, min(widths[why], room))
        shown = [(a.agent_id, *map(str, r)) for a, r in zip(self._agents, rows, strict=True)]
        layout = (labels, widths, shown)
        if layout == self._layout:
            return  # the same cells: a refresh that changed nothing costs no rebuild (50 agents, every 3 s)
        previous = self._layout
        self._layout = layout
        if (
            previous is not None
            and previous[:2] == (labels, widths)
            and [r[0] for r in previous[2]] == [r[0] for r in shown]
        ):
            # Same columns and rows: update only the cells that changed (the "Active" column moves every
            # refresh; rebuilding 50 rows for it was most of the pane's idle CPU).
            for (key, *old), (_, *new), cells in zip(previous[2], shown, rows, strict=True):
                for index, (before, after) in enumerate(zip(old, new, strict=True)):
                    if before != after:
                        value = self._why(cells[index], widths[why]) if index == why else literal(cells[index])
                        self.update_cell(key, labels[index].lower(), value)
            return
        selected = self.selected_key
        self.clear(columns=True)
        for label, column_width in zip(labels, widths, strict=True):
            self.add_column(label, width=column_width, key=label.lower())
        for agent, cells in zip(self._agents, rows, strict=True):
            shown_cells = [literal(cell) for cell in cells]
            shown_cells[why] = self._why(cells[why], widths[why])
            self.add_row(*shown_cells, key=agent.agent_id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    @staticmethod
    def _why(cell: str | Text, width: int) -> Text:
        text = literal(cell).copy()
        text.truncate(width, overflow="ellipsis")
        return text

    def _cells(self, agent: Agent, wide: bool) -> list[str | Text]:
        assert self._now is not None
        location = [pane_address(agent), agent.project_path or "-"] if wide else []
        return [
            agent.name,
            agent.role,
            agent.kind,
            Text(agent.state, style=STATE_STYLE.get(agent.state, "")),
            agent.state_reason or "-",
            *location,
            since(agent.last_activity_at, self._now),
        ]
