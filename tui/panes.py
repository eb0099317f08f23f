"""The panes of the app, in number-key order. One table so tabs, bindings and the palette agree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaneInfo:
    id: str
    key: str
    title: str
    short: str  # used when the terminal is narrow: every short label fits in 80 columns


PANES: tuple[PaneInfo, ...] = (
    PaneInfo("dashboard", "1", "Dashboard", "Dash"),
    PaneInfo("agents", "2", "Agents", "Agents"),
    PaneInfo("queue", "3", "Queue", "Queue"),
    PaneInfo("routes", "4", "Routes", "Routes"),
    PaneInfo("memory", "5", "Memory", "Mem"),
    PaneInfo("tokens", "6", "Tokens", "Tokens"),
    PaneInfo("terminals", "7", "Terminals", "Terms"),
    PaneInfo("devservers", "8", "Dev servers", "Devs"),
    PaneInfo("schedules", "9", "Schedules", "Sched"),
)
PANE_BY_ID = {pane.id: pane for pane in PANES}
