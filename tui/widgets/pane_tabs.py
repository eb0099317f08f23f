"""The one-line pane bar: number key and title of every pane, the current one highlighted, and at the right
whether the core runs in this process (`local`), is served by `relayboard headless` (`attached`), or is away."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.panes import PANES

FULL_WIDTH = sum(len(p.key) + 1 + len(p.title) + 2 for p in PANES)
MODE_STYLE = {"local": "dim", "attached": "bold cyan", "detached": "bold red"}


class PaneTabs(Widget):
    DEFAULT_CSS = """
    PaneTabs { height: 1; background: $panel; color: $text-muted; }
    """
    mode: reactive[str] = reactive("", layout=False)

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def render(self) -> Text:
        mode = f" {self.mode} " if self.mode else ""
        narrow = self.size.width < FULL_WIDTH + len(mode)
        text = Text(no_wrap=True, overflow="ellipsis")
        for pane in PANES:
            label = f" {pane.key} {pane.short if narrow else pane.title} "
            text.append(label, style="bold reverse" if pane.id == self.current else "")
        if mode:
            text.append(" " * max(1, self.size.width - text.cell_len - len(mode)))
            text.append(mode, style=MODE_STYLE.get(self.mode, ""))
        return text
