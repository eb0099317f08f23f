"""The one place core notices become Textual messages. The core knows nothing about Textual."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from core.audit import EventBus, Notice


class BenchChanged(Message):
    """Something on the bench changed; `topic` says what (agents, queue, event, …)."""

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.topic = topic


def connect(bus: EventBus, target: MessagePump) -> Callable[[], None]:
    """Forward every notice to `target` as a BenchChanged message; returns the disconnect function."""

    def forward(notice: Notice) -> None:
        target.post_message(BenchChanged(notice.topic))

    return bus.subscribe(forward)
