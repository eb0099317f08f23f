"""The table every pane uses: refilled from snapshots without losing the operator's place, with the same manners
everywhere. `o` sorts by the next column (the core's order after the last one), `O` reverses, a click on a header
sorts by it (a second click reverses); `/` filters by any text of the row, Escape clears the filter; the title
counts the rows (`Queue · 3 of 40 · /deploy`); a cell cut to its column ends in an ellipsis (the detail view, Enter,
shows it whole).

Every cell is shown literally: a `str` (a message, a label, a model name from a log) becomes `Text` here, because
DataTable parses plain strings as markup, and `[/x]` in an agent's output would end the app (see `literal`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from tui.widgets.literal import literal

Cell = str | Text
# A row as a pane gives it: (key, cells) or (key, cells, more text the filter also searches, e.g. a hidden label).
RowIn = tuple[str, Sequence[Cell]] | tuple[str, Sequence[Cell], str]
SCROLLBAR = 2  # kept free, so the columns do not move when a vertical scrollbar appears
MIN_FLEX = 10
ARROW = {False: " ▲", True: " ▼"}
_NUMBER = re.compile(r"^[$€£]?-?[\d,]*\.?\d+\s*%?$")
_DURATION = re.compile(r"^(in )?(<1|\d+)([mhd])( ago)?$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}
_DIGITS = re.compile(r"(\d+)")


def sort_value(text: str) -> tuple[int, float | str | tuple[str | int, ...]]:
    """How a cell orders when its column is sorted: numbers by size (`1,234`, `$0.25`, `12 %`), times to come and
    ages on one time line, latest first (`in 3h`, `in 5m`, `due`, `<1m`, `5m`, `2d`), other text without regard to
    case with its numbers by size (`swarm-2` before `swarm-10`), and the placeholders (`-`, empty, `never`) after
    everything else, whichever the direction."""
    value = text.strip()
    if value in ("", "-", "?", "never"):
        return (2, "")
    if value == "due":
        return (0, 0.0)
    if _NUMBER.match(value):
        return (0, float(value.strip("$€£% ").replace(",", "")))
    if match := _DURATION.match(value):
        ahead, amount, unit = match.group(1), match.group(2), match.group(3)
        seconds = (0.5 if amount == "<1" else int(amount)) * _UNIT[unit]
        return (0, -seconds if ahead else seconds)
    # Natural order: `swarm-2` before `swarm-10` (text and number parts alternate, so the parts always compare).
    return (1, tuple(int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(value.casefold()))))


class BenchTable(DataTable[Text]):
    DEFAULT_CSS = """
    BenchTable {
        border-top: solid $primary-background;
        border-title-align: left;
        border-title-style: bold;
        border-title-color: $text-muted;
    }
    BenchTable:focus {
        border-top: solid $primary 60%;
        border-title-color: $text;
    }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        # Not in the footer: the pane's own keys need its room at 80 columns (`?` lists these with them).
        Binding("o", "sort_next", "Sort", show=False, id="table.sort"),
        Binding("O", "sort_reverse", "Reverse sort", show=False, id="table.sort_reverse"),
        Binding("slash", "filter", "Filter", show=False, id="table.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="table.clear_filter"),
    ]

    class FilterRequested(Message):
        """`/` on a table: the screen opens its filter line for it (messages up; the screen owns the input)."""

        def __init__(self, table: BenchTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> BenchTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[str],
        *,
        title: str = "",
        max_widths: dict[str, int] | None = None,
        flex: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._columns = tuple(columns)
        self.table_title = title
        self.max_widths = dict(max_widths or {})
        self.flex = flex
        self._fitted_width = 0
        self.sort_by: str | None = None  # a column label; None: the order the core gave
        self.descending = False
        self.filter_text = ""
        self.title_shown = ""  # the title as drawn: `Queue · 3 of 40 · /deploy`
        self._source: list[tuple[str, tuple[Text, ...], str]] = []
        self._shown: list[tuple[str, tuple[Text, ...]]] = []
        self._layout: tuple[tuple[str, ...], tuple[int, ...], str | None, bool] | None = None

    def on_mount(self) -> None:
        self._render_rows()

    # -- what the pane calls ---------------------------------------------------------------------------------
    def replace_rows(self, rows: Iterable[RowIn]) -> int:
        """Show this snapshot (filtered and sorted as the operator asked). Returns how many rows the snapshot
        has, filtered or not: a pane shows its empty state only when there is nothing at all."""
        source = []
        for row in rows:
            key, cells = row[0], row[1]
            shown = tuple(_one_line(cell) for cell in cells)
            extra = row[2] if len(row) > 2 else ""  # type: ignore[misc]
            haystack = " ".join([*(cell.plain for cell in shown), extra]).casefold()
            source.append((key, shown, haystack))
        self._source = source
        self._render_rows()
        return len(source)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self._render_rows()

    def sort_rows(self, label: str | None, descending: bool = False) -> None:
        """Sort by the column `label` (None: the core's order). Not DataTable.sort: the snapshot, not the rows on
        screen, is what gets sorted, so the order survives every refresh."""
        self.sort_by = label if label in self.visible_columns() else None
        self.descending = descending if self.sort_by else False
        self._render_rows()

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # the cursor can point past the end while rows are replaced
            return None
        return key.value

    def select_key(self, key: str) -> bool:
        """Cursor and focus on row `key`; a filter that hides it is cleared first. False: no such row."""
        if self.filter_text and key not in self.rows and any(k == key for k, _, _ in self._source):
            self.set_filter("")
        if key not in self.rows:
            return False
        self.move_cursor(row=self.get_row_index(key), animate=False)
        self.focus()
        return True

    @property
    def shown_keys(self) -> list[str]:
        """Row keys in the order they are on screen."""
        return [key for key, _ in self._shown]

    # -- what subclasses may change --------------------------------------------------------------------------
    def visible_columns(self) -> tuple[str, ...]:
        """The columns shown at the current width (all of them, unless a subclass drops some when narrow)."""
        return self._columns

    def width_now(self) -> int:
        """The table's width, or the app's before the table is laid out (the first fill comes before that)."""
        return self.size.width or self.app.size.width

    def fit_widths(self, labels: Sequence[str], rows: Sequence[tuple[Text, ...]]) -> tuple[int, ...]:
        """Each shown column's width, so that the table never scrolls sideways (its last column stays on screen):
        every column as wide as its content (or its maximum); the flexible column (the longest free text: a
        message, a why) takes the width the others leave; when that is not enough, the widest columns give way
        one cell at a time, down to their heading. A cut cell ends in an ellipsis; Enter shows it whole."""
        floors = [cell_len(label) + 2 for label in labels]  # +2: room for the sort arrow
        widths: list[int] = []
        for index, label in enumerate(labels):
            content = max([floors[index], *(row[index].cell_len for row in rows)])
            cap = self.max_widths.get(label)
            widths.append(min(cap, content) if cap is not None else content)
        room = self.width_now() - SCROLLBAR - 2 * self.cell_padding * len(labels)
        if self.flex in labels:
            flex = labels.index(self.flex)
            floors[flex] = max(floors[flex], MIN_FLEX)
            left = room - sum(w for i, w in enumerate(widths) if i != flex)
            widths[flex] = max(floors[flex], min(widths[flex], left))
        excess = sum(widths) - room
        while excess > 0:
            widest = max(range(len(widths)), key=lambda i: widths[i] - floors[i])
            if widths[widest] <= floors[widest]:
                break  # every column at its heading: narrower than this, the table scrolls
            widths[widest] -= 1
            excess -= 1
        return tuple(widths)

    def on_resize(self) -> None:
        if self.size.width != self._fitted_width:
            self._fitted_width = self.size.width
            self._render_rows()

    def grouped(
        self, rows: list[tuple[str, tuple[Text, ...]]], labels: tuple[str, ...]
    ) -> list[tuple[str, tuple[Text, ...]]]:
        """The rows as shown, after filter and sort: a subclass may put them under group headers."""
        return rows

    # -- keys and clicks -------------------------------------------------------------------------------------
    def action_sort_next(self) -> None:
        labels = self.visible_columns()
        if self.sort_by is None:
            self.sort_rows(labels[0])
        else:
            index = labels.index(self.sort_by) + 1
            self.sort_rows(labels[index] if index < len(labels) else None)

    def action_sort_reverse(self) -> None:
        if self.sort_by is None:
            self.sort_rows(self.visible_columns()[0], descending=True)
        else:
            self.sort_rows(self.sort_by, not self.descending)

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        label = str(event.column_key.value)
        self.sort_rows(label, descending=not self.descending if label == self.sort_by else False)

    def action_filter(self) -> None:
        self.post_message(self.FilterRequested(self))

    def action_clear_filter(self) -> None:
        if not self.filter_text:
            raise SkipAction()  # nothing to clear: Escape means what the screen says it means
        self.set_filter("")  # the title says so: no toast

    # -- drawing ---------------------------------------------------------------------------------------------
    def _arranged(self, labels: tuple[str, ...]) -> list[tuple[str, tuple[Text, ...]]]:
        needle = self.filter_text.casefold()
        rows = [(key, cells) for key, cells, haystack in self._source if needle in haystack]
        if self.sort_by in labels:
            column = self._columns.index(self.sort_by)  # type: ignore[arg-type]
            # Placeholders last in both directions: sort the rest, then append them.
            keyed = [(sort_value(cells[column].plain), key, cells) for key, cells in rows]
            present = sorted((k for k in keyed if k[0][0] != 2), key=lambda k: k[0], reverse=self.descending)
            rows = [(key, cells) for _, key, cells in present + [k for k in keyed if k[0][0] == 2]]
        indexes = [self._columns.index(label) for label in labels]
        return [(key, tuple(cells[i] for i in indexes)) for key, cells in rows]

    def _render_rows(self) -> None:
        if not self.is_mounted:
            return
        labels = self.visible_columns()
        rows = self._arranged(labels)
        matching = len(rows)
        rows = self.grouped(rows, labels)
        widths = self.fit_widths(labels, [cells for _, cells in rows])
        shown = [(key, tuple(map(_cut, cells, widths))) for key, cells in rows]
        self._set_title(matching)
        layout = (labels, widths, self.sort_by, self.descending)
        if layout == self._layout and shown == self._shown:
            return  # a refresh that changed nothing costs nothing (50 rows, every 3 s)
        if layout == self._layout and [k for k, _ in shown] == [k for k, _ in self._shown]:
            # The same rows in the same order (the common refresh): update only the cells that changed.
            for row, ((_, cells), (_, old)) in enumerate(zip(shown, self._shown, strict=True)):
                for column, (cell, before) in enumerate(zip(cells, old, strict=True)):
                    if cell != before:
                        self.update_cell_at((row, column), cell)
            self._shown = shown
            return
        selected = self.selected_key
        new_columns = layout != self._layout  # other columns, widths or sort arrow: the header is rebuilt too
        self.clear(columns=new_columns)
        if new_columns:
            for label, width in zip(labels, widths, strict=True):
                heading = label + ARROW[self.descending] if label == self.sort_by else label
                self.add_column(Text(heading), width=width, key=label)
        for key, cells in shown:
            self.add_row(*cells, key=key)
        self._layout = layout
        self._shown = shown
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    def _set_title(self, shown: int) -> None:
        total = len(self._source)
        count = f"{shown} of {total}" if shown != total or self.filter_text else str(total)
        parts = [part for part in (self.table_title, count, f"/{self.filter_text}" if self.filter_text else "") if part]
        title = " · ".join(parts)
        if title != self.title_shown:
            self.title_shown = title
            self.border_title = literal(title)


def _one_line(cell: Cell) -> Text:
    """A cell is one line: newlines in a message become spaces (the detail view shows them)."""
    if isinstance(cell, Text):
        return cell
    return literal(cell.replace("\r\n", " ").replace("\n", " "))


def _cut(cell: Text, width: int) -> Text:
    if cell.cell_len <= width:
        return cell
    cut = cell.copy()
    cut.truncate(width, overflow="ellipsis")
    return cut
