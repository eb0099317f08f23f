"""The one-line pane bar: number key and title of every pane, the current one highlighted, and at the right
whether the core runs in this process (`local`), is served by `relayboard headless` (`attached`), or is away."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.panes import PANES

FULL_WIDTH = sum(len(p.key) + 1 + len(p.title) + 2 for p in PANES)
SHORT_WIDTH = sum(1 + len(p.key) + 1 + len(p.short) for p in PANES)  # one more than the bar's widest
PANE_IDS = frozenset(p.id for p in PANES)
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
        if not narrow:
            for pane in PANES:
                text.append(f" {pane.key} {pane.title} ", style="bold reverse" if pane.id == self.current else "")
        else:
            # Labels one space apart; the current one takes the spaces beside it into its highlight, so it reads
            # as a tab and the bar stays as wide (the widest case, the first pane current, is one more).
            labels = [f"{p.key} {p.short}" if p.id == self.current or not tiny else p.key for p in PANES]
            at = next(i for i, p in enumerate(PANES) if p.id == self.current) if self.current in PANE_IDS else -1
            for i, label in enumerate(labels):
                if i == at:
                    text.append(f" {label} ", style="bold reverse")
                elif i == at + 1:
                    text.append(label)
                else:
                    text.append(("" if i == 0 else " ") + label)
        if not mode or (self.mode == "local" and text.cell_len + len(mode) > width):
            return text  # in-process is the usual case: said only where there is room
        # Attached or away: always said, the tabs give way (cut with an ellipsis) to make room.
        text.truncate(max(0, width - len(mode)), overflow="ellipsis")
        text.append(" " * max(0, width - text.cell_len - len(mode)))
        text.append(mode, style=MODE_STYLE.get(self.mode, ""))
        return text
