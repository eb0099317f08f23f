"""Every place the TUI reads keys, with the bindings that apply there: what a keymap in tui.toml is checked
against (an id must exist; two bindings must not share a key in one place)."""

from __future__ import annotations

from textual.binding import Binding

from tui.app import SCREENS_BY_PANE, RelayboardApp
from tui.modals.adopt import AdoptModal
from tui.modals.confirm import ConfirmModal
from tui.modals.detail import DetailModal
from tui.modals.edit_agent import EditAgentModal
from tui.modals.help import HelpModal
from tui.modals.launch import LaunchModal
from tui.modals.send_input import SendInputModal
from tui.screens.focus import FocusScreen
from tui.screens.log_view import LogScreen
from tui.widgets.bench_table import BenchTable
from tui.widgets.table_filter import TableFilter

OVERLAYS = (
    FocusScreen,
    LogScreen,
    DetailModal,
    ConfirmModal,
    HelpModal,
    LaunchModal,
    EditAgentModal,
    SendInputModal,
    AdoptModal,
)


def _bindings(owner: type) -> list[Binding]:
    return [b for b in getattr(owner, "BINDINGS", []) if isinstance(b, Binding)]


def binding_scopes() -> dict[str, list[Binding]]:
    """A pane's keys are its own, its tables' and the app's (1-9, ?, r, q); a full-screen view or a dialog
    overrides the app's on purpose (`q` closes the focus view), so it is a place of its own."""
    app = _bindings(RelayboardApp)
    table = _bindings(BenchTable)
    scopes = {cls.__name__: [*_bindings(cls), *table, *app] for cls in SCREENS_BY_PANE.values()}
    scopes["TableFilter"] = _bindings(TableFilter)
    for overlay in OVERLAYS:
        scopes[overlay.__name__] = _bindings(overlay)
    return scopes
