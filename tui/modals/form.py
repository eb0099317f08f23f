"""A modal form that sends itself through the core: when the core refuses, the dialog stays open with everything
that was typed, the error under the field it names (the error's `details.field`) and the focus on that field.
Esc cancels. Each form maps the core's field names to its widgets (`FIELDS`) and yields `error_row(widget_id)`
under each of them; anything without a field of its own is said in the dialog's general error line."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Label

from core.errors import BenchError
from tui.widgets.literal import literal

log = logging.getLogger(__name__)
Submit = Callable[[dict[str, Any]], Awaitable[Any]]


def error_row(widget_id: str) -> ComposeResult:
    """The two grid cells under a field: nothing under its label, its error under the input (hidden when none)."""
    yield Label("", classes="field-error-gap")
    yield Label("", id=f"{widget_id}-error", classes="error field-error")


class FormModal(ModalScreen[Any]):
    FIELDS: ClassVar[dict[str, str]] = {}  # the core's field name -> the widget id that holds it
    GENERAL_ERROR: ClassVar[str] = ""  # the id of the dialog's general error line

    def __init__(self, submit: Submit) -> None:
        super().__init__()
        self._submit = submit
        self.sending = False

    def on_mount(self) -> None:
        self.clear_errors()

    def clear_errors(self) -> None:
        for label in self.query(".field-error"):
            label.display = False
        for gap in self.query(".field-error-gap"):
            gap.display = False

    def show_error(self, field: str | None, message: str) -> None:
        """`message` under `field`'s widget (and the focus there), else in the general line."""
        self.clear_errors()
        widget_id = self.FIELDS.get(field or "")
        if widget_id is None and field:
            widget_id = self.FIELDS.get(field.split(".", 1)[0])  # env.NAME, keys.0: the field they belong to
        if widget_id is not None and self.query(f"#{widget_id}-error"):
            label = self.query_one(f"#{widget_id}-error", Label)
            label.update(literal(message))
            label.display = True
            siblings = list(label.parent.children) if label.parent else []
            index = siblings.index(label) if label in siblings else 0
            if index and siblings[index - 1].has_class("field-error-gap"):
                siblings[index - 1].display = True
            self.query_one(f"#{widget_id}").focus()
            if self.GENERAL_ERROR:
                self.query_one(f"#{self.GENERAL_ERROR}", Label).update("")
            return
        if self.GENERAL_ERROR:
            self.query_one(f"#{self.GENERAL_ERROR}", Label).update(literal(message))

    def send(self, params: dict[str, Any]) -> None:
        """Through the core; the dialog closes with the core's answer only when it is accepted."""
        if self.sending:
            return  # one at a time: a second Enter while the first is on its way does nothing
        self.sending = True
        self.run_worker(self._send(params), exclusive=True, group="form-send", exit_on_error=False)

    async def _send(self, params: dict[str, Any]) -> None:
        try:
            result = await self._submit(params)
        except BenchError as exc:
            field = exc.details.get("field")
            self.show_error(field if isinstance(field, str) else None, f"{exc.code}: {exc.message}")
            return
        except Exception:
            log.exception("form submit failed")
            self.show_error(None, "internal_error: see relayboard.log in the home directory")
            return
        finally:
            self.sending = False
        self.dismiss(result)
