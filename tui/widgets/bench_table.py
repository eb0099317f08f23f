"""A DataTable that is refilled from snapshots without losing the operator's place.

Every cell is shown literally: a `str` (a message, a label, a model name from a log) becomes `Text` here, because
DataTable parses plain strings as markup, and `[/x]` in an agent's output would end the app (see `literal`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable

from tui.widgets.literal import literal

Cell = str | Text


class BenchTable(DataTable[Text]):
    def __init__(self, columns: Sequence[str], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._columns = columns
        self._shown: list[tuple[str, tuple[Text, ...]]] = []

    def on_mount(self) -> None:
        self.add_columns(*self._columns)

    def replace_rows(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> int:
        """Rows are (key, cells). Redraws as little as it can: nothing when the snapshot is unchanged, only the
        changed cells when the same rows come back in the same order (the common refresh), else a rebuild that
        keeps the cursor on the same key when it is still there."""
        new = [(key, tuple(literal(cell) for cell in cells)) for key, cells in rows]
        if new == self._shown:
            return len(new)
        if [key for key, _ in new] == [key for key, _ in self._shown]:
            for row, ((_key, cells), (_, old)) in enumerate(zip(new, self._shown, strict=True)):
                for column, (cell, before) in enumerate(zip(cells, old, strict=True)):
                    if cell != before:
                        self.update_cell_at((row, column), cell)
            self._shown = new
            return len(new)
        selected = self.selected_key
        self.clear()
        for key, cells in new:
            self.add_row(*cells, key=key)
        self._shown = new
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)
        return len(new)

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # the cursor can point past the end while rows are replaced
            return None
        return key.value
