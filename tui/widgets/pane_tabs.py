"""The one-line pane bar: number key and title of every pane, the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tui.panes import PANES

FULL_WIDTH = sum(len(p.key) + 1 + len(p.title) + 2 for p in PANES)


class PaneTabs(Widget):
    DEFAULT_CSS = """
    PaneTabs { height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def render(self) -> Text:
        narrow = self.size.width < FULL_WIDTH
        text = Text(no_wrap=True, overflow="ellipsis")
        for pane in PANES:
            label = f" {pane.key} {pane.short if narrow else pane.title} "
            if pane.id == self.current:
                text.append(label, style="bold reverse")
            else:
                text.append(label)
        return text
