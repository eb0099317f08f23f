"""A live preview of one agent's screen, polled while its pane is visible and redrawn only when it changed.

One poll at a time: a poll runs in an exclusive worker and arms the timer for the next one only when it is done,
so polls never pile up. The screen calls `pause()` when it is hidden and `resume()` when it is shown again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import Worker, WorkerCancelled

from core.errors import BenchError

if TYPE_CHECKING:
    from core.prompts import AgentPrompt
from tui.widgets.literal import literal, printable

log = logging.getLogger(__name__)
# (agent id, lines, look for a prompt) -> the screen as text, and the prompt the core recognised on it
CaptureFn = Callable[[str, int, bool], Awaitable[tuple[str, "AgentPrompt | None"]]]
POLL_GROUP = "agent-preview"


class AgentPreview(Widget):
    DEFAULT_CSS = """
    AgentPreview {
        height: 1fr;
        padding: 0 1;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(self, capture: CaptureFn, *, interval: float = 1.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._capture = capture
        self.waiting = False  # the selected agent waits for input: its prompt is looked for on each poll
        self.prompt: AgentPrompt | None = None
        self.interval = interval
        self.agent_id: str | None = None
        self._shown: tuple[str, bool] | None = None  # (text, is_problem) as last drawn; None before the first poll
        self._running = False
        self._timer: Timer | None = None
        self._worker: Worker[None] | None = None
        self.polls = 0  # captures made, and screens drawn: tests check that an unchanged screen is not redrawn
        self.redraws = 0

    @property
    def text(self) -> str:
        """What the preview shows now: the captured screen, or why there is none."""
        return self._shown[0] if self._shown else ""

    def select(self, agent_id: str | None, title: str = "", subtitle: str = "", *, waiting: bool = False) -> None:
        """Preview `agent_id` (None: nothing selected). Titles may change without a new capture; they hold labels
        and paths the operator typed, so they are literal text, not markup."""
        self.border_title = literal(title)
        self.border_subtitle = literal(subtitle)
        if waiting != self.waiting:
            self.waiting = waiting
            if not waiting and self.prompt is not None:
                self.prompt = None
                self.refresh()
        if agent_id == self.agent_id:
            return
        self.agent_id = agent_id
        self.prompt = None
        self._shown = None
        self.refresh()
        self._poll_now()

    def pause(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.workers.cancel_group(self, POLL_GROUP)

    def resume(self) -> None:
        self._running = True
        self._poll_now()

    async def wait_for_poll(self) -> None:
        """Wait for the poll in flight, if any (a pane refresh includes the first capture of a new selection)."""
        worker = self._worker
        if worker is not None and worker.is_running:
            # Shielded: cancelling the waiter (a newer refresh) must not cancel the poll, or polling would stop.
            waiting = asyncio.ensure_future(worker.wait())
            # A cancelled waiter leaves the shielded wait running; its WorkerCancelled is read here, not logged as
            # "Task exception was never retrieved".
            waiting.add_done_callback(lambda done: done.cancelled() or done.exception())
            with contextlib.suppress(WorkerCancelled):  # replaced by a newer poll: that one draws
                await asyncio.shield(waiting)

    def _poll_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._running and self.agent_id is not None:
            self._worker = self.run_worker(self._poll, exclusive=True, group=POLL_GROUP, name="preview-poll")

    async def _poll(self) -> None:
        agent_id = self.agent_id
        if agent_id is None:
            return
        prompt = None
        try:
            # One call: the prompt (looked for only while the agent waits) is recognised on the same capture.
            screen, prompt = await self._capture(agent_id, max(1, self.content_size.height), self.waiting)
            content = (screen, False)
        except BenchError as exc:  # the pane is gone, tmux is down: said here, not as a stream of notifications
            content = (f"{exc.code}: {exc.message}", True)
        except Exception:
            log.exception("preview capture failed")
            content = ("internal_error: see relayboard.log in the home directory", True)
        self.polls += 1
        if agent_id == self.agent_id and (content != self._shown or prompt != self.prompt):
            self._shown = content
            self.prompt = prompt
            self.redraws += 1
            self.refresh()
        if self._running:
            self._timer = self.set_timer(self.interval, self._poll_now, name="preview-next-poll")

    def render(self) -> RenderableType:
        if self.agent_id is None:
            return Text("No agent selected.", style="dim")
        if self._shown is None:
            return Text("capturing…", style="dim")
        text, problem = self._shown
        if problem:
            return literal(text, style="yellow")
        height = max(1, self.content_size.height - (1 if self.prompt else 0))
        lines = text.splitlines()[-height:]
        # What the agent printed, never markup: `[/x]` on its screen must not end the app.
        shown = Text(printable("\n".join(lines)), no_wrap=True, overflow="crop", end="")
        if self.prompt is not None:
            shown.append("\n")
            shown.append_text(prompt_bar(self.prompt))
            shown.append("  Enter: answer it", style="dim")
        return shown


def prompt_bar(prompt: AgentPrompt) -> Text:
    """The prompt's question and its choices with their keys, as literal text (it comes from the agent's screen)."""
    text = Text(printable(prompt.question), style="bold")
    text.append("  ")
    for choice in prompt.choices:
        text.append(f" {choice.key} ", style="reverse")
        text.append(f" {printable(choice.label)}  ")
    if prompt.cancellable:
        text.append(" Esc ", style="reverse")
        text.append(" cancel")
    return text
