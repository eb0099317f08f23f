"""Readiness where the operator is looking: the pane's subsystems that are not ok, and their hints.

Empty (hidden) when everything this pane depends on is well.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.readiness import ReadinessReport

STATUS_STYLE = {"degraded": ("!", "yellow"), "unavailable": ("x", "red")}
SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "action_required": "bold red"}


class ReadinessBanner(Static):
    def __init__(self, subsystems: tuple[str, ...] | None) -> None:
        """`subsystems=None` shows every subsystem (the dashboard)."""
        super().__init__("")
        self.subsystems = subsystems
        self.display = False

    def show_report(self, report: ReadinessReport) -> None:
        wanted = self.subsystems
        rows = [r for r in report.subsystems if r.status != "ok" and (wanted is None or r.name in wanted)]
        hints = report.hints if wanted is None else report.hints_for(wanted)
        text = Text(no_wrap=True, overflow="ellipsis")
        for row in rows:
            glyph, style = STATUS_STYLE[row.status]
            text.append(f" {glyph} ", style=f"bold {style}")
            text.append(f"{row.name} {row.status}", style=style)
            text.append(f": {row.reason}\n")
        for hint in hints:
            text.append(" » ", style=SEVERITY_STYLE[hint.severity])
            text.append(f"{hint.message} ")
            text.append(f"[{hint.action}]\n", style="dim")
        text.rstrip()
        self.update(text)
        self.display = bool(rows or hints)
