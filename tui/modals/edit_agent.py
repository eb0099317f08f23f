"""Edit an agent's label, role, capability and project path. Only the fields that changed are sent; a refusal
(a stale version, an invalid value) keeps the dialog open with the error under its field."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from core.models import ROLES, Agent
from tui.modals.form import FormModal, Submit, error_row
from tui.widgets.literal import literal


class EditAgentModal(FormModal):
    CSS_PATH = "modals.tcss"
    FIELDS: ClassVar[dict[str, str]] = {
        "label": "edit-label",
        "role": "edit-role",
        "capability": "edit-capability",
        "project_path": "edit-project",
    }
    GENERAL_ERROR = "edit-error"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", "Cancel", id="edit.cancel"),
        Binding("ctrl+s", "save", "Save", id="edit.save"),
    ]

    def __init__(self, agent: Agent, submit: Submit) -> None:
        super().__init__(submit)
        self.agent = agent

    def compose(self) -> ComposeResult:
        agent = self.agent
        with Vertical(classes="dialog"):
            yield Label(literal(f"Edit {agent.name}", style="bold"))
            with Grid(classes="form"):
                yield Label("Label")
                yield Input(agent.label, placeholder="what this agent is for", id="edit-label", compact=True)
                yield from error_row("edit-label")
                yield Label("Role")
                yield Select([(r, r) for r in ROLES], value=agent.role, allow_blank=False, id="edit-role", compact=True)
                yield Label("Capability")
                yield Input(agent.capability, placeholder="e.g. python", id="edit-capability", compact=True)
                yield from error_row("edit-capability")
                yield Label("Project")
                yield Input(agent.project_path, placeholder="project path", id="edit-project", compact=True)
                yield from error_row("edit-project")
            yield Label("Tab moves · Enter or Ctrl+S saves · Escape cancels", classes="dim")
            yield Label("", id="edit-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="edit-save", compact=True)
                yield Button("Cancel", id="edit-cancel", compact=True)

    def changes(self) -> dict[str, Any]:
        values = {
            "label": self.query_one("#edit-label", Input).value.strip(),
            "role": str(self.query_one("#edit-role", Select).value),
            "capability": self.query_one("#edit-capability", Input).value.strip(),
            "project_path": self.query_one("#edit-project", Input).value.strip(),
        }
        return {field: value for field, value in values.items() if value != getattr(self.agent, field)}

    @on(Input.Submitted)
    @on(Button.Pressed, "#edit-save")
    def action_save(self) -> None:
        changes = self.changes()
        if changes.get("capability") == "":
            self.show_error("capability", "a capability can be changed but not cleared")
            return
        if not changes:
            self.dismiss({})  # nothing to send
            return
        self.send(changes)

    @on(Button.Pressed, "#edit-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
