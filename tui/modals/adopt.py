"""Adopt a tmux pane as an agent: pick an unadopted pane, name it, give it a role. The dialog adopts through the
core itself: a refused name (taken, invalid) keeps the choice and the name, with the error under it."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from core.models import ROLES, Pane
from tui.modals.form import FormModal, Submit
from tui.widgets.literal import literal


class AdoptModal(FormModal):
    CSS_PATH = "modals.tcss"
    FIELDS: ClassVar[dict[str, str]] = {"name": "adopt-name", "role": "adopt-role"}
    GENERAL_ERROR = "adopt-error"
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel", id="adopt.cancel")]

    def __init__(self, panes: list[Pane], submit: Submit) -> None:
        super().__init__(submit)
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
            yield Label("", id="adopt-name-error", classes="error field-error")
            yield Select([(role, role) for role in ROLES], value="worker", allow_blank=False, id="adopt-role")
            yield Label("", id="adopt-error", classes="error")

    @on(Input.Submitted, "#adopt-name")
    def submit(self) -> None:
        options = self.query_one("#adopt-panes", OptionList)
        if options.highlighted is None:
            options.highlighted = 0
        option = options.get_option_at_index(options.highlighted)
        pane = next(p for p in self.panes if p.pane_id == option.id)
        name = self.query_one("#adopt-name", Input).value.strip()
        role = str(self.query_one("#adopt-role", Select).value)
        self.send({**pane.identity(), "name": name, "role": role})

    @on(OptionList.OptionSelected, "#adopt-panes")
    def pane_chosen(self) -> None:
        self.query_one("#adopt-name", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
