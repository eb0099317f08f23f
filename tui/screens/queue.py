"""Queue: messages on their way to agent panes; approve, delay, cancel or retry the selected one."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from tui.screens.base import PaneScreen
from tui.times import since
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from core.lists import ListResult
    from core.models import QueueMessage
    from tui.modals.detail import Section


STATE_STYLE = {"queued": "cyan", "blocked": "yellow", "delivered": "green", "canceled": "dim", "failed": "red"}
DELAY_MS = 15 * 60 * 1000


class QueueScreen(PaneScreen):
    PANE_ID = "queue"
    SUBSYSTEMS = ("routing_worker",)
    TOPICS = frozenset({"queue", "agents"})
    CSS_PATH = "queue.tcss"
    HELP = """\
Messages wait here before they are typed into an agent's pane. Order: queued, blocked, failed, delivered,
canceled, then oldest first. A blocked message shows why (awaiting approval, operator delayed, …).
`a` approves a blocked message, `d` delays a queued one by 15 minutes, `c` cancels (asks first), `t` retries a
failed one. Enter opens the message in full: its whole text, its state history and the event that caused it."""
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "approve", "Approve", id="queue.approve"),
        Binding("d", "delay", "Delay 15m", id="queue.delay"),
        Binding("c", "cancel", "Cancel msg", id="queue.cancel"),
        Binding("t", "retry", "Retry", id="queue.retry"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        yield BenchTable(
            ("State", "Why", "To", "From", "Message", "Queued"),
            title="Queue",
            flex="Message",
            id="queue-table",
        )
        yield EmptyState(
            "The queue is empty. Messages appear when you send input to an agent\n"
            '(relayboard call app.send_input \'{"target_agent_id": …, "payload": …}\') '
            "or when a route fires.",
            id="queue-empty",
        )

    async def load(self) -> tuple[ListResult[QueueMessage], dict[str, str]]:
        from core.agents import AGENT_LIST
        from core.queue import QUEUE_LIST

        agents = await self.client.call(AGENT_LIST, limit=200)
        return await self.client.call(QUEUE_LIST, limit=200), {a.agent_id: a.name for a in agents.rows}

    def show(self, data: tuple[ListResult[QueueMessage], dict[str, str]]) -> None:
        messages, self._names = data
        table = self.query_one("#queue-table", BenchTable)
        now = self.now()
        count = table.replace_rows(
            (
                m.message_id,
                (
                    Text(m.state, style=STATE_STYLE[m.state]),
                    m.block_reason or m.cancel_reason or "-",
                    self._names.get(m.target_agent_id or "", "?"),
                    self._names.get(m.sender, m.sender),
                    m.payload,
                    since(m.enqueued_at, now),
                ),
            )
            for m in messages.rows
        )
        self.query_one("#queue-empty", EmptyState).display = count == 0
        table.display = count > 0

    def _selected(self) -> str | None:
        key = self.query_one("#queue-table", BenchTable).selected_key
        if key is None:
            self.notify("Select a message first", timeout=2)
        return key

    def action_approve(self) -> None:
        from core.queue import QUEUE_APPROVE

        if key := self._selected():
            self.act(self.client.call(QUEUE_APPROVE, message_id=key), "approved")

    def action_delay(self) -> None:
        from core.queue import QUEUE_DELAY

        if key := self._selected():
            self.act(self.client.call(QUEUE_DELAY, message_id=key, delay_ms=DELAY_MS), "delayed 15 minutes")

    def action_cancel(self) -> None:
        from core.queue import QUEUE_CANCEL
        from tui.modals.confirm import ConfirmModal

        if (key := self._selected()) is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act(self.client.call(QUEUE_CANCEL, message_id=key, reason="canceled by operator"), "canceled")

        self.app.push_screen(ConfirmModal("Cancel this message? It will not be typed."), confirmed)

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]]:
        from core.queue import QUEUE_HISTORY

        found = await self.client.call(QUEUE_HISTORY, message_id=key)
        from tui.details import message_sections

        to = self._names.get(found.message.target_agent_id or "", "?")
        return f"Message to {to}", message_sections(found, self._names)

    def action_retry(self) -> None:
        from core.queue import QUEUE_RETRY

        if key := self._selected():
            self.act(self.client.call(QUEUE_RETRY, message_id=key), "requeued")
