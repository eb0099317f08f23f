"""Terminals: embedded PTY shells the operator opens inside Relayboard."""

from __future__ import annotations

from typing import Any

from tui.screens.process_list import ProcessListScreen


class TerminalsScreen(ProcessListScreen):
    PANE_ID = "terminals"
    HELP = """\
Embedded terminals run a shell in a pseudo-terminal inside Relayboard and render it here. The process supervisor
that starts them is not built yet; the banner says so and this list stays empty until it is."""
    TABLE_TITLE = "Terminals"
    EMPTY = (
        "No terminals. Embedded PTY terminals arrive with the process supervisor\n"
        "(see the banner above); until then use the agents pane (2) for tmux shells."
    )

    def list_call(self) -> Any:
        from core.processes import TERMINAL_LIST

        return TERMINAL_LIST
