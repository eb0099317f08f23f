"""The filter line of a pane: `/` on any table opens it under the pane, every keystroke filters that table, Enter
keeps the filter and goes back to the table (its title shows the filter), Escape clears it. One per screen, for
whichever table asked (messages up: the table asks; method calls down: the line sets the table's filter)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.binding import Binding
from textual.widgets import Input

from tui.widgets.bench_table import BenchTable


class TableFilter(Input):
    DEFAULT_CSS = """
    TableFilter {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    TableFilter:focus {
        border: none;
    }
    """
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "clear", "Clear filter", id="filter.clear")]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(disabled=True, **kwargs)  # type: ignore[arg-type]
        self.target: BenchTable | None = None

    def open(self, table: BenchTable) -> None:
        self.target = table
        self.placeholder = f"filter {table.table_title or 'the table'}: any text of a row · Enter keeps · Esc clears"
        self.value = table.filter_text
        self.disabled = False
        self.display = True
        self.focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.target is not None and self.display:
            self.target.set_filter(self.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close()

    def action_clear(self) -> None:
        if self.target is not None:
            self.target.set_filter("")
        self._close()

    def _close(self) -> None:
        # Disabled while hidden, so it never takes focus (and the number keys) from the table.
        self.display = False
        self.disabled = True
        if self.target is not None:
            self.target.focus()
