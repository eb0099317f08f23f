"""One agent full-screen: its live screen with colours and its scrollback (from tmux history), the state and its why
in the header, search, one-key answers to the prompt it waits on, and a typing mode whose keys go to the agent
through the send path and its safe-send guard.

Esc backs out one layer at a time: typing mode, then the search field, then (when one is shown) the agent's
prompt is cancelled, then the view closes; `q` always closes it. One poll at a time, as the preview does: a
capture runs in an exclusive worker and arms the timer for the next one when it is done.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from core.errors import BenchError
from tui.jump import jump_and_say
from tui.screens.base import notify_failure
from tui.widgets.agent_preview import prompt_bar
from tui.widgets.fitting_footer import FittingFooter
from tui.widgets.literal import literal
from tui.widgets.screen_view import ScreenView

if TYPE_CHECKING:
    from core.client import BenchClient
    from core.models import Agent
    from core.prompts import AgentPrompt

log = logging.getLogger(__name__)
HISTORY_LINES = 2000  # tmux's default history-limit: all the scrollback a default pane keeps
POLL_SECONDS = 0.5  # while the screen changes; it backs off to IDLE_POLL_SECONDS while nothing does
IDLE_POLL_SECONDS = 2.0
TYPE_FLUSH_SECONDS = 0.02  # keys typed within this long go to the agent in one call

# Textual key names → tmux key names (typing mode). Printable characters go as literal text.
TMUX_KEYS: dict[str, str] = {
    "enter": "Enter",
    "tab": "Tab",
    "shift+tab": "BTab",
    "backspace": "BSpace",
    "delete": "DC",
    "insert": "IC",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "home": "Home",
    "end": "End",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "space": "Space",
    **{f"f{n}": f"F{n}" for n in range(1, 13)},
    **{f"ctrl+{c}": f"C-{c}" for c in "abcdefghijklmnopqrstuvwxyz"},
}


def stroke_for(event: events.Key) -> dict[str, str] | None:
    """The keystroke typing mode sends for `event` (None: a key with no tmux equivalent)."""
    if event.key in TMUX_KEYS:
        return {"key": TMUX_KEYS[event.key]}
    if event.character and event.is_printable:
        return {"text": event.character}
    return None


class FocusScreen(Screen[None]):
    CSS_PATH = "focus.tcss"
    AUTO_FOCUS = "ScreenView"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="focus.back"),
        Binding("t", "typing", "Type", id="focus.typing"),
        Binding("slash", "search", "Search", id="focus.search"),
        Binding("n", "next_match", "Next", id="focus.next_match"),
        Binding("N", "previous_match", "Prev", show=False, id="focus.previous_match"),
        Binding("G", "follow", "Follow", id="focus.follow"),
        Binding("j", "jump", "Jump", id="focus.jump"),
        Binding("q", "close", "Close", id="focus.close"),
    ]

    def __init__(self, agent: Agent, *, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.agent = agent
        self.poll_seconds = poll_seconds
        self._interval = poll_seconds
        self.typing = False
        self.prompt: AgentPrompt | None = None
        self.polls = 0
        self._timer: Timer | None = None
        self._pending: list[dict[str, str]] = []
        self._flush: asyncio.Task[None] | None = None
        self._problem = ""

    @property
    def client(self) -> BenchClient:
        return self.app.client  # type: ignore[attr-defined,no-any-return]

    def compose(self) -> ComposeResult:
        yield Static(id="focus-header")
        yield ScreenView(id="focus-screen")
        yield Static(id="focus-prompt")
        yield Input(placeholder="search the screen and its scrollback", id="focus-search", disabled=True)
        yield Static(id="focus-mode")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one(Footer).compact = True
        self.query_one("#focus-prompt").display = False
        self.query_one("#focus-search").display = False
        self._draw_header()
        self._draw_mode()
        self._poll_now()

    def on_screen_suspend(self) -> None:
        self._stop()

    def on_screen_resume(self) -> None:
        self._poll_now()

    def on_unmount(self) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.workers.cancel_group(self, "focus-poll")

    # -- polling -------------------------------------------------------------------------------------------
    def _poll_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.run_worker(self._poll, exclusive=True, group="focus-poll", name="focus-poll")

    async def wait_for_poll(self) -> None:
        """Wait until the poll in flight, if any, is done (tests)."""
        for worker in list(self.workers):
            if worker.group == "focus-poll" and worker.is_running:
                await worker.wait()

    async def fetch(self) -> tuple[str, AgentPrompt | None]:
        """What the view shows: the pane with its scrollback, and the prompt the core recognised on the same capture
        (one tmux look per poll)."""
        from core.agents import AGENT_CAPTURE

        shot = await self.client.call(
            AGENT_CAPTURE, agent_id=self.agent.agent_id, lines=HISTORY_LINES, escapes=True, prompt=True
        )
        return shot.screen, shot.prompt

    async def _poll(self) -> None:
        from core.agents import AGENT_DETAIL

        try:
            self.agent = await self.client.call(AGENT_DETAIL, agent_id=self.agent.agent_id)
            content, prompt = await self.fetch()
            self._problem = ""
            view = self.query_one(ScreenView)
            # Decoding hundreds of new coloured lines is the costly part of a poll: off the event loop.
            decoded = await asyncio.to_thread(view.decoded, content)
            changed = view.show(content, decoded)
            # Each look costs (a tmux client, a file read): back off while nothing changes.
            self._interval = self.poll_seconds if changed else min(self._interval * 2, IDLE_POLL_SECONDS)
            self._show_prompt(prompt)
        except BenchError as exc:
            self._problem = f"{exc.code}: {exc.message}"
            self._show_prompt(None)
        except Exception:
            log.exception("focus view poll failed")
            self._problem = "internal_error: see relayboard.log in the home directory"
        self.polls += 1
        self._draw_header()
        if self.is_current:
            self._timer = self.set_timer(self._interval, self._poll_now, name="focus-next-poll")

    # -- drawing -------------------------------------------------------------------------------------------
    def header(self) -> Text:
        """The header's own part: the agent, its state and why (the log view names its file instead)."""
        agent = self.agent
        self.sub_title = agent.name
        return Text.assemble(
            (agent.name, "bold"),
            (f" — {agent.label}" if agent.label else "", ""),
            "  ",
            (agent.state, "bold"),
            ": ",
            agent.state_reason or "-",
        )

    def _draw_header(self) -> None:
        header = self.header()
        if self._problem:
            header.append(f"   {self._problem}", style="yellow")
        self.query_one("#focus-header", Static).update(literal(header))

    def _draw_mode(self) -> None:
        view = self.query_one(ScreenView)
        if self.typing:
            text = Text("TYPING into the agent: keys go to its pane · Esc leaves typing mode", style="bold reverse")
        elif not view.follow:
            text = Text("scrollback · G or End follows the newest line again", style="reverse")
        else:
            text = Text("following · PgUp scrolls back · / searches · t types into the agent", style="dim")
        self.query_one("#focus-mode", Static).update(text)

    def _show_prompt(self, prompt: AgentPrompt | None) -> None:
        self.prompt = prompt
        bar = self.query_one("#focus-prompt", Static)
        bar.display = prompt is not None
        if prompt is None:
            return
        bar.update(prompt_bar(prompt))

    # -- keys ----------------------------------------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        if self.typing:
            if event.key == "escape":
                return  # the binding leaves typing mode
            stroke = stroke_for(event)
            event.stop()
            event.prevent_default()
            if stroke is not None:
                self._type(stroke)
            return
        if self.prompt is None or self.query_one("#focus-search", Input).has_focus:
            return
        key = "enter" if event.key == "enter" else event.character or ""
        if key and any(choice.key == key for choice in self.prompt.choices):
            event.stop()
            event.prevent_default()
            self._answer(key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.typing and action != "back")  # typing: every key but Esc goes to the agent

    def _type(self, stroke: dict[str, str]) -> None:
        self._pending.append(stroke)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._send_pending())

    async def _send_pending(self) -> None:
        from core.keys import AGENT_SEND_KEYS

        await asyncio.sleep(TYPE_FLUSH_SECONDS)
        while self._pending:
            strokes, self._pending = self._pending[:256], self._pending[256:]
            try:
                await self.client.call(AGENT_SEND_KEYS, agent_id=self.agent.agent_id, keys=strokes)
            except Exception as exc:
                self._pending.clear()
                notify_failure(self, exc, "typing into the agent")
                self.typing = False
                self._draw_mode()
                return
        self._interval = self.poll_seconds
        self._poll_now()

    async def typed(self) -> None:
        """Wait until every key typed so far was sent (tests)."""
        while self._flush is not None and not self._flush.done():
            await self._flush

    def _answer(self, key: str) -> None:
        prompt = self.prompt
        if prompt is None:
            return
        from core.prompts import AGENT_ANSWER

        async def answer() -> None:
            try:
                done = await self.client.call(
                    AGENT_ANSWER, agent_id=self.agent.agent_id, fingerprint=prompt.fingerprint, key=key
                )
            except Exception as exc:
                notify_failure(self, exc, "answering the prompt")
                return
            if not done.deduplicated:
                self.notify(f"answered {self.agent.name}: {done.label}", timeout=3)
            self._poll_now()

        self.run_worker(answer(), group="focus-answer", name=f"answer-{uuid.uuid4().hex[:6]}")

    # -- actions -------------------------------------------------------------------------------------------
    def action_back(self) -> None:
        search = self.query_one("#focus-search", Input)
        if self.typing:
            self.typing = False
            self._draw_mode()
        elif search.display:
            self._close_search()
        elif self.prompt is not None and self.prompt.cancellable:
            self._answer("escape")
        else:
            self.dismiss()

    def action_close(self) -> None:
        self.dismiss()

    def action_typing(self) -> None:
        self.typing = True
        self.query_one(ScreenView).resume_follow()
        self._draw_mode()

    def action_search(self) -> None:
        field = self.query_one("#focus-search", Input)
        field.disabled = False
        field.display = True
        field.focus()

    def _close_search(self) -> None:
        field = self.query_one("#focus-search", Input)
        field.display = False
        field.disabled = True
        self.query_one(ScreenView).focus()

    @on(Input.Changed, "#focus-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_one(ScreenView).search(event.value)
        self._draw_mode()

    @on(Input.Submitted, "#focus-search")
    def _search_done(self, event: Input.Submitted) -> None:
        found = self.query_one(ScreenView).search(event.value)
        if event.value and not found:
            self.notify(f"not on the screen or in its scrollback: {event.value!r}", timeout=3)
        self._close_search()

    def action_next_match(self) -> None:
        if self.query_one(ScreenView).next_match(1) is None:
            self.notify("no search yet: press / to search", timeout=2)
        self._draw_mode()

    def action_previous_match(self) -> None:
        self.query_one(ScreenView).next_match(-1)
        self._draw_mode()

    def action_follow(self) -> None:
        self.query_one(ScreenView).resume_follow()
        self._draw_mode()

    def action_jump(self) -> None:
        self.run_worker(jump_and_say(self, self.agent), group="focus-jump")

    def on_screen_view_follow_changed(self) -> None:
        self._draw_mode()
