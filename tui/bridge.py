"""The one place core notices become Textual messages. The core knows nothing about Textual."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from core.client import BenchClient


class BenchChanged(Message):
    """Something on the bench changed; `topic` says what (agents, queue, …, or resync: reload everything)."""

    def __init__(self, topic: str, seq: int) -> None:
        super().__init__()
        self.topic = topic
        self.seq = seq


async def forward_notices(client: BenchClient, target: MessagePump) -> None:
    """Post every notice of `client` to `target` until cancelled (a worker of the app runs this)."""
    async for notice in client.notices():
        target.post_message(BenchChanged(notice.topic, notice.seq))
