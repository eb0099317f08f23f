"""One row of any table in full: every field as it is (a table cuts long text; here nothing is cut), literal text
never parsed as markup, scrollable, and copied whole with `c` (OSC 52: the operator's terminal clipboard, also over
SSH). Times are shown absolute here (lists show them relative). Esc or q closes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.widgets.literal import literal

Section = tuple[str, str]  # (heading, text)


class DetailModal(ModalScreen[None]):
    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="detail.close"),
        Binding("q", "close", "Close", show=False, id="detail.close_q"),
        Binding("c", "copy", "Copy", id="detail.copy"),
    ]

    def __init__(self, title: str, sections: list[Section]) -> None:
        super().__init__()
        self.title_text = title
        self.sections = sections

    @property
    def text(self) -> str:
        """Everything the view shows, as the clipboard gets it."""
        parts = [self.title_text]
        parts += [f"{heading}:\n{body}" if "\n" in body else f"{heading}: {body}" for heading, body in self.sections]
        return "\n".join(parts)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="detail-dialog"):
            yield Label(literal(self.title_text, style="bold"))
            with VerticalScroll(id="detail-body"):
                for heading, body in self.sections:
                    shown = Text.assemble((f"{heading}: ", "bold"), literal(body or "-"))
                    yield Static(shown, classes="detail-field")
            yield Label("c copies all · Esc closes", classes="dim")

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("copied to the clipboard", timeout=2)

    def action_close(self) -> None:
        self.dismiss(None)
