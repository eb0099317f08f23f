"""Launch a managed agent: a name, a preset (or a custom command), a working directory and a role.

The form sends `app.agent.launch` itself: the core checks the name, the command policy and the directory, and a
refusal keeps the dialog open with what was typed and the error under the field it names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from core.models import ROLES
from tui.modals.form import FormModal, Submit, error_row

PRESETS = ("claude", "codex", "shell", "custom")


def default_cwd() -> str:
    """Where Relayboard was started, else the operator's home directory: both absolute."""
    try:
        return os.getcwd()
    except OSError:  # the directory was removed under us
        return str(Path.home())


def _problem(name: str, preset: str, command: str, cwd: str) -> tuple[str, str] | None:
    """What stops the form from being sent, and the field it is about (the core checks the rest)."""
    if not name:
        return "name", "give the agent a name"
    if preset == "custom" and not command:
        return "command", "the custom preset needs a command"
    if not Path(cwd).is_absolute():
        return "cwd", "the directory must be an absolute path"
    return None


class LaunchModal(FormModal):
    CSS_PATH = "modals.tcss"
    FIELDS: ClassVar[dict[str, str]] = {
        "name": "launch-name",
        "preset": "launch-preset",
        "command": "launch-command",
        "cwd": "launch-cwd",
        "role": "launch-role",
    }
    GENERAL_ERROR = "launch-error"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", "Cancel", id="launch.cancel"),
        Binding("ctrl+s", "launch", "Launch", id="launch.submit"),
    ]

    def __init__(self, cwd: str, submit: Submit) -> None:
        super().__init__(submit)
        self.cwd = cwd

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("[b]Launch a managed agent[/b]")
            with Grid(classes="form"):
                yield Label("Name")
                yield Input(placeholder="letters, digits, . _ -", id="launch-name", compact=True)
                yield from error_row("launch-name")
                yield Label("Preset")
                yield Select(
                    [(p, p) for p in PRESETS], value="claude", allow_blank=False, id="launch-preset", compact=True
                )
                yield Label("Command", id="launch-command-label", classes="custom-only")
                yield Input(
                    placeholder="program and arguments", id="launch-command", compact=True, classes="custom-only"
                )
                yield from error_row("launch-command")
                yield Label("Cwd")
                yield Input(self.cwd, placeholder="absolute directory", id="launch-cwd", compact=True)
                yield from error_row("launch-cwd")
                yield Label("Role")
                yield Select([(r, r) for r in ROLES], value="worker", allow_blank=False, id="launch-role", compact=True)
            yield Label("Runs in tmux session rb-<name> and keeps running after you quit.", classes="dim")
            yield Label("Tab moves · Enter or Ctrl+S launches · Escape cancels", classes="dim")
            yield Label("", id="launch-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Launch", variant="primary", id="launch-go", compact=True)
                yield Button("Cancel", id="launch-cancel", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._show_command(False)

    @on(Select.Changed, "#launch-preset")
    def preset_changed(self, event: Select.Changed) -> None:
        self._show_command(event.value == "custom")

    def _show_command(self, custom: bool) -> None:
        for widget in self.query(".custom-only"):
            widget.display = custom

    @on(Input.Submitted)
    @on(Button.Pressed, "#launch-go")
    def action_launch(self) -> None:
        name = self.query_one("#launch-name", Input).value.strip()
        preset = str(self.query_one("#launch-preset", Select).value)
        command = self.query_one("#launch-command", Input).value.strip()
        cwd = self.query_one("#launch-cwd", Input).value.strip()
        problem = _problem(name, preset, command, cwd)
        if problem:
            self.show_error(problem[0], problem[1])
            return
        params: dict[str, Any] = {
            "name": name,
            "preset": preset,
            "cwd": cwd,
            "role": str(self.query_one("#launch-role", Select).value),
        }
        if preset == "custom":
            params["command"] = command
        self.send(params)

    @on(Button.Pressed, "#launch-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
