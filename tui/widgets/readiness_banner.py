"""Readiness where the operator is looking: the pane's subsystems that are not ok, and their hints.

Subsystems with a hint come first, each followed by its fix, so the action stays visible when the banner is
clipped on a small terminal. Empty (hidden) when everything this pane depends on is well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from tui.widgets.literal import printable

if TYPE_CHECKING:
    from core.hints import Hint
    from core.readiness import ReadinessReport


STATUS_STYLE = {"degraded": ("!", "yellow"), "unavailable": ("x", "red")}
SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "action_required": "bold red"}


def _hint_line(text: Text, hint: Hint) -> None:
    # The fix first: on a narrow terminal the line is cut at the right, and the fix is what the operator needs.
    text.append("   » ", style=SEVERITY_STYLE[hint.severity])
    # Text, never markup; and visible control characters: a hint quotes the configured socket name, a reason what
    # tmux or the database said.
    text.append(printable(hint.action), style="bold")
    text.append(printable(f"  {hint.message}\n"), style="dim")


class ReadinessBanner(Static):
    def __init__(self, subsystems: tuple[str, ...] | None) -> None:
        """`subsystems=None` shows every subsystem (the dashboard)."""
        super().__init__("")
        self.subsystems = subsystems
        self.display = False
        self._shown = self._spans = ""

    def show_report(self, report: ReadinessReport) -> None:
        wanted = self.subsystems
        rows = [r for r in report.subsystems if r.status != "ok" and (wanted is None or r.name in wanted)]
        hints = report.hints if wanted is None else report.hints_for(wanted)
        rows.sort(key=lambda r: r.hint is None)  # stable: contract order within each group
        text = Text(no_wrap=True, overflow="ellipsis")
        shown: set[str] = set()
        for row in rows:
            glyph, style = STATUS_STYLE[row.status]
            text.append(f" {glyph} ", style=f"bold {style}")
            text.append(f"{row.name} {row.status}", style=style)
            text.append(printable(f": {row.reason}\n"))
            for hint in hints:
                if hint.subsystem == row.name:
                    _hint_line(text, hint)
                    shown.add(hint.code)
        for hint in hints:
            if hint.code not in shown:
                _hint_line(text, hint)
        text.rstrip()
        if text.plain != self._shown or str(text.spans) != self._spans:  # unchanged: no relayout, no repaint
            self._shown, self._spans = text.plain, str(text.spans)
            self.update(text)
        self.display = bool(rows or hints)
