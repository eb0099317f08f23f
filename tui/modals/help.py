"""`?`: what the current pane shows, and every key that works on it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown, Static


class HelpModal(ModalScreen[None]):
    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def __init__(self, title: str, body: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.keys = keys

    def compose(self) -> ComposeResult:
        keys = Text()
        width = max(len(key) for key, _ in self.keys)
        for key, description in self.keys:
            keys.append(f"  {key:<{width}}  ", style="bold")
            keys.append(f"{description}\n")
        with VerticalScroll(classes="dialog", id="help-body"):
            yield Label(Text(self.title_text, style="bold"))
            yield Markdown(self.body, id="help-text")
            yield Label("[b]Keys[/b]")
            yield Static(keys, id="help-keys")
            yield Label("Escape closes this help.", classes="dim")

    def action_close(self) -> None:
        self.dismiss(None)
