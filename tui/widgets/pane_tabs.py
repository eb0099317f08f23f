"""The one-line pane bar: number key and title of every pane, the current one highlighted, and at the right
whether the core runs in this process (`local`), is served by `relayboard headless` (`attached`), or is away."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.panes import PANES

FULL_WIDTH = sum(len(p.key) + 1 + len(p.title) + 2 for p in PANES)
SHORT_WIDTH = sum(1 + len(p.key) + 1 + len(p.short) for p in PANES)
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
        width = self.size.width
        mode = f" {self.mode}" if self.mode else ""
        narrow = width < FULL_WIDTH + len(mode) + 1
        # Narrower than every short label (and the mode): keys only, but the current pane keeps its name.
        tiny = narrow and width < SHORT_WIDTH + len(mode)
        text = Text(no_wrap=True, overflow="ellipsis")
        for pane in PANES:
            current = pane.id == self.current
            if not narrow:
                text.append(f" {pane.key} {pane.title} ", style="bold reverse" if current else "")
                continue
            text.append(" ")
            label = f"{pane.key} {pane.short}" if current or not tiny else pane.key
            text.append(label, style="bold reverse" if current else "")
        if not mode or (self.mode == "local" and text.cell_len + len(mode) > width):
            return text  # in-process is the usual case: said only where there is room
        # Attached or away: always said, the tabs give way (cut with an ellipsis) to make room.
        text.truncate(max(0, width - len(mode)), overflow="ellipsis")
        text.append(" " * max(0, width - text.cell_len - len(mode)))
        text.append(mode, style=MODE_STYLE.get(self.mode, ""))
        return text
