"""An agent's attached log, tailed live: the end of `logs/<name>.log` (up to 1 MiB) as the screen showed it
(colours kept, cursor moves and titles dropped, carriage-return overwrites applied), following new lines, with the
focus view's search and scrollback, and `T` to jump to a time: the log from what was written then (to within one
watch interval: the core notes the log's size each time it sees it grow). Read-only: no typing, no answers.
Esc or q closes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from tui.screens.focus import FocusScreen
from tui.times import absolute, parse_when
from tui.widgets.screen_view import ScreenView

if TYPE_CHECKING:
    from core.prompts import AgentPrompt

TAIL_BYTES = 1024 * 1024


class LogScreen(FocusScreen):
    BINDINGS: ClassVar[list[Binding]] = [
        *FocusScreen.BINDINGS,
        Binding("T", "jump_time", "Jump to time", id="log.jump_time"),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.log_path = ""
        self.log_size = 0
        self.log_truncated = False
        self.since: datetime | None = None  # jumped to this time; None: the live end of the log
        self._to_top = False

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Input(
            placeholder="jump to a time (UTC): 14:05, 14:05:30, 2026-12-02 14:05, or -15m · Esc cancels",
            id="log-time",
            disabled=True,
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#log-time").display = False
        self.move_child(self.query_one("#log-time"), before=self.query_one("#focus-mode"))

    async def fetch(self) -> tuple[str, AgentPrompt | None]:
        from core.logs import LOG_TAIL

        since = None if self.since is None else self.since.isoformat()
        tail = await self.client.call(LOG_TAIL, agent_id=self.agent.agent_id, max_bytes=TAIL_BYTES, since=since)
        self.log_path, self.log_size, self.log_truncated = tail.path, tail.size, tail.truncated
        return tail.text, None

    def _show_prompt(self, prompt: AgentPrompt | None) -> None:
        # Called right after each poll's text is shown: a jump lands on the first line written at that time.
        super()._show_prompt(prompt)
        if self._to_top:
            self._to_top = False
            view = self.query_one(ScreenView)
            view.follow = False
            view.scroll_home(animate=False)

    def action_jump_time(self) -> None:
        field = self.query_one("#log-time", Input)
        field.disabled = False
        field.display = True
        field.focus()

    @on(Input.Submitted, "#log-time")
    def _time_entered(self, event: Input.Submitted) -> None:
        event.stop()
        when = parse_when(event.value, datetime.now(UTC))
        if when is None:
            self.notify(f"not a time: {event.value!r} (try 14:05, -15m or 2026-12-02 14:05)", timeout=4)
            return
        self._close_time()
        self.since, self._to_top = when, True
        self._poll_now()

    def _close_time(self) -> None:
        field = self.query_one("#log-time", Input)
        field.value = ""
        field.display = False
        field.disabled = True
        self.query_one(ScreenView).focus()

    def action_back(self) -> None:
        if self.query_one("#log-time").display:
            self._close_time()
        else:
            super().action_back()

    def action_follow(self) -> None:
        if self.since is not None:
            self.since = None  # back to the live end of the log
            self._poll_now()
        super().action_follow()

    def header(self) -> Text:
        self.sub_title = f"log of {self.agent.name}"
        header = Text.assemble(("log of ", ""), (self.agent.name, "bold"), "  ", self.log_path or "…")
        if self.since is not None:
            header.append(f"  from {absolute(self.since.isoformat())} (G: the live end)", style="bold")
        elif self.log_size:
            cut = f", the last {TAIL_BYTES // 1024} KiB" if self.log_truncated else ""
            header.append(f"  ({self.log_size:,} bytes{cut})", style="dim")
        return header

    def action_typing(self) -> None:
        self.notify("the log is read-only: Enter on the agent opens its live pane to type into", timeout=3)
