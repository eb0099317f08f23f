"""Command palette entries: every pane, and every action of the current pane with its help text."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.panes import PANES

if TYPE_CHECKING:
    from tui.app import RelayboardApp


def relayboard_commands(app: RelayboardApp, screen: Screen[object]) -> Iterable[SystemCommand]:
    for pane in PANES:
        yield SystemCommand(
            f"Go to {pane.title}",
            f"Switch to the {pane.title.lower()} pane (key {pane.key})",
            partial(app.action_pane, pane.id),
        )
    yield SystemCommand("Help for this pane", "What this pane shows and its keys (key ?)", app.action_help)
    yield SystemCommand("Refresh", "Reload this pane from the core (key r)", app.action_refresh)
    for binding in getattr(screen, "BINDINGS", []):
        if isinstance(binding, Binding) and binding.show:
            yield SystemCommand(
                f"{screen.__class__.__name__.removesuffix('Screen')}: {binding.description}",
                f"key {binding.key}",
                partial(screen.run_action, binding.action),
            )
