"""A DataTable that is refilled from snapshots without losing the operator's place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable


class BenchTable(DataTable[str | Text]):
    def __init__(self, columns: Sequence[str], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._columns = columns

    def on_mount(self) -> None:
        self.add_columns(*self._columns)

    def replace_rows(self, rows: Iterable[tuple[str, Sequence[str | Text]]]) -> int:
        """Rows are (key, cells). Keeps the cursor on the same key when it is still there."""
        selected = self.selected_key
        self.clear()
        count = 0
        for key, cells in rows:
            self.add_row(*cells, key=key)
            count += 1
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)
        return count

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # the cursor can point past the end while rows are replaced
            return None
        return key.value
