"""Type text into an agent's pane: several lines if need be, sent as one paste followed by Enter.

Ctrl+S or the Send button sends, Escape cancels. "Force" skips the safe-send guard, which refuses to type into a
pane whose foreground command is not the agent's own (an editor, a shell where Claude Code was). The dialog sends
through the core itself: a refusal (the guard, a payload too large) keeps the text, with the error under it.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Label, TextArea

from tui.modals.form import FormModal, Submit
from tui.widgets.literal import literal

MAX_BYTES = 16 * 1024  # the core's limit; shown here, enforced there


class SendInputModal(FormModal):
    CSS_PATH = "modals.tcss"
    FIELDS: ClassVar[dict[str, str]] = {"payload": "send-text", "force": "send-force"}
    GENERAL_ERROR = "send-error"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "send", "Send", id="send_input.send"),
        Binding("escape", "cancel", "Cancel", id="send_input.cancel"),
    ]

    def __init__(self, agent_name: str, kind: str, submit: Submit) -> None:
        super().__init__(submit)
        self.agent_name = agent_name
        self.kind = kind

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="send-dialog"):
            title = literal(f"Send input to {self.agent_name}", style="bold")
            title.append(literal(f" ({self.kind})"))
            yield Label(title)
            yield TextArea(id="send-text", soft_wrap=True, show_line_numbers=False)
            yield Label("", id="send-text-error", classes="error field-error")
            yield Label(
                f"0 / {MAX_BYTES} bytes · Enter adds a line; Ctrl+S sends (then Enter)", id="send-size", classes="dim"
            )
            yield Checkbox("Force: type even if the pane runs something else", id="send-force", compact=True)
            yield Label("", id="send-force-error", classes="error field-error")
            yield Label("", id="send-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Send", variant="primary", id="send-go", compact=True)
                yield Button("Cancel", id="send-cancel", compact=True)

    @on(TextArea.Changed, "#send-text")
    def text_changed(self, event: TextArea.Changed) -> None:
        size = len(event.text_area.text.encode("utf-8", "surrogatepass"))
        label = self.query_one("#send-size", Label)
        label.update(f"{size} / {MAX_BYTES} bytes · Enter adds a line; Ctrl+S sends (then Enter)")
        label.set_class(size > MAX_BYTES, "error")

    @on(Button.Pressed, "#send-go")
    def action_send(self) -> None:
        text = self.query_one("#send-text", TextArea).text
        if not text.strip():
            self.show_error("payload", "type something to send")
            return
        self.send({"payload": text, "force": self.query_one("#send-force", Checkbox).value})

    @on(Button.Pressed, "#send-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
