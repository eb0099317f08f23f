"""Adopt a tmux pane as an agent: pick an unadopted pane, name it, give it a role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from core.models import ROLES, Pane
from tui.widgets.literal import literal


@dataclass(frozen=True)
class AdoptRequest:
    pane: Pane
    name: str
    role: str


class AdoptModal(ModalScreen[AdoptRequest | None]):
    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel", id="adopt.cancel")]

    def __init__(self, panes: list[Pane]) -> None:
        super().__init__()
        self.panes = panes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("[b]Adopt a tmux pane[/b]  (Tab moves, Enter adopts, Escape cancels)")
            yield OptionList(
                *(
                    Option(
                        # tmux session names and commands are whatever someone typed: literal text.
                        literal(f"{p.session_name}:{p.window_index}.{p.pane_index}  {p.pane_id}  {p.current_command}"),
                        id=p.pane_id,
                    )
                    for p in self.panes
                ),
                id="adopt-panes",
            )
            yield Input(placeholder="agent name (letters, digits, . _ -)", id="adopt-name")
            yield Select([(role, role) for role in ROLES], value="worker", allow_blank=False, id="adopt-role")

    @on(Input.Submitted, "#adopt-name")
    def submit(self) -> None:
        options = self.query_one("#adopt-panes", OptionList)
        if options.highlighted is None:
            options.highlighted = 0
        option = options.get_option_at_index(options.highlighted)
        pane = next(p for p in self.panes if p.pane_id == option.id)
        name = self.query_one("#adopt-name", Input).value.strip()
        role = str(self.query_one("#adopt-role", Select).value)
        self.dismiss(AdoptRequest(pane=pane, name=name, role=role))

    @on(OptionList.OptionSelected, "#adopt-panes")
    def pane_chosen(self) -> None:
        self.query_one("#adopt-name", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
