"""What a pane says when it has nothing to show: why, and what to do next (literal text: it quotes commands)."""

from __future__ import annotations

from textual.widgets import Static


class EmptyState(Static):
    DEFAULT_CSS = """
    EmptyState { color: $text-muted; padding: 1 2; height: auto; }
    """

    def __init__(self, message: str, **kwargs: object) -> None:
        super().__init__(message, markup=False, **kwargs)  # type: ignore[arg-type]
        self.display = False
