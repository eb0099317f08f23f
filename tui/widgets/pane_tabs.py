"""The one-line pane bar: number key and title of every pane, the current one highlighted, and at the right
whether the core runs in this process (`local`), is served by `relayboard headless` (`attached`), or is away."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.panes import PANES, PaneInfo

FULL_WIDTH = sum(len(p.key) + 1 + len(p.title) + 2 for p in PANES)
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
        text = Text(no_wrap=True, overflow="ellipsis")
        if width >= FULL_WIDTH + len(mode) + 1:
            for pane in PANES:
                text.append(f" {pane.key} {pane.title} ", style="bold reverse" if pane.id == self.current else "")
        else:
            # Narrower: the other panes' short labels (or keys only) and the current pane's full name, which fits
            # at 80 columns (the widest, Dev servers, takes 79), so every pane names itself on screen; narrower
            # still, the current pane's short label.
            room = width - (len(mode) if self.mode != "local" else 0)
            at = next(i for i, p in enumerate(PANES) if p.id == self.current) if self.current in PANE_IDS else -1
            for current, others in (("title", "short"), ("short", "short"), ("short", "key")):
                text = self._bar([self._label(p, current if i == at else others) for i, p in enumerate(PANES)], at)
                if text.cell_len <= room:
                    break
        if not mode or (self.mode == "local" and text.cell_len + len(mode) > width):
            return text  # in-process is the usual case: said only where there is room
        # Attached or away: always said, the tabs give way (cut with an ellipsis) to make room.
        text.truncate(max(0, width - len(mode)), overflow="ellipsis")
        text.append(" " * max(0, width - text.cell_len - len(mode)))
        text.append(mode, style=MODE_STYLE.get(self.mode, ""))
        return text

    @staticmethod
    def _label(pane: PaneInfo, form: str) -> str:
        return pane.key if form == "key" else f"{pane.key} {pane.title if form == 'title' else pane.short}"

    @staticmethod
    def _bar(labels: list[str], at: int) -> Text:
        """Labels one space apart; the current one takes the spaces beside it into its highlight, so it reads as a
        tab and the bar stays as wide (the current pane last is one more)."""
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, label in enumerate(labels):
            if i == at:
                text.append(f" {label} ", style="bold reverse")
            elif i == at + 1:
                text.append(label)
            else:
                text.append(("" if i == 0 else " ") + label)
        return text
