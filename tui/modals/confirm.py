"""A yes/no question before a destructive action. Only y confirms; Enter, n and Escape answer no (the default: a
reflexive Enter must not kill an agent)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from tui.widgets.literal import literal


class ConfirmModal(ModalScreen[bool]):
    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape,enter", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(literal(self.question))  # names agents and panes: literal, never markup
            yield Label("[b]y[/b]: yes    [b]n[/b] / Enter / Escape: no (the default)", classes="dim")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
