"""Notices: what clients hear about changes, by topic, each carrying the spine `seq` it is current to.

An event notice carries its event (and `seq` is the event's); a change with no event (a state the watcher observed,
a scan) carries the newest `seq` the hub has seen. A client that reconnects subscribes again from the last `seq` it
saw: the events it missed are replayed from the spine, or, when too many were missed, it is told to `resync`.

Subscriptions are bounded queues: a subscriber that does not keep up loses its backlog and gets one `resync` notice
instead of making the core buffer without limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: clients import this module before the models are loaded
    from storage.models import Event

log = logging.getLogger(__name__)

TOPICS = ("agents", "panes", "queue", "routes", "memory", "tokens", "processes", "schedules", "readiness", "bench")
RESYNC = "resync"  # not a data topic: "reload everything", sent to every subscriber whatever it asked for
# Event types map to the topic of what they change; the longest matching prefix wins.
_TOPIC_BY_PREFIX = (
    ("agent_", "agents"),
    ("log_", "agents"),
    ("input_sent", "queue"),
    ("queue_", "queue"),
    ("route_", "routes"),
    ("routing_", "routes"),
    ("memory_", "memory"),
    ("blackboard_", "memory"),
    ("note_", "memory"),
    ("tokens_", "tokens"),
    ("budget_", "tokens"),
    ("process_", "processes"),
    ("schedule_", "schedules"),
    ("bench_", "bench"),
)
QUEUE_SIZE = 256


def topic_of(event_type: str) -> str:
    best = ("", "bench")
    for prefix, topic in _TOPIC_BY_PREFIX:
        if event_type.startswith(prefix) and len(prefix) > len(best[0]):
            best = (prefix, topic)
    return best[1]


@dataclass(frozen=True)
class Notice:
    topic: str
    seq: int
    event: Event | None = None


class Subscription:
    """An async iterator of notices for a set of topics (None: every topic)."""

    def __init__(self, hub: NoticeHub, topics: frozenset[str] | None, size: int) -> None:
        self._hub = hub
        self.topics = topics
        self._queue: asyncio.Queue[Notice] = asyncio.Queue(maxsize=size)

    def wants(self, notice: Notice) -> bool:
        return self.topics is None or notice.topic in self.topics or notice.topic == RESYNC

    def offer(self, notice: Notice) -> None:
        if not self.wants(notice):
            return
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            # Too slow to keep up: forget the backlog, ask the subscriber to reload instead.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(Notice(RESYNC, notice.seq))

    async def get(self) -> Notice:
        return await self._queue.get()

    def get_nowait(self) -> Notice:
        return self._queue.get_nowait()

    def empty(self) -> bool:
        return self._queue.empty()

    def qsize(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._hub.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Notice]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Notice]:
        try:
            while True:
                yield await self._queue.get()
        finally:
            self.close()


class NoticeHub:
    """Fan-out of notices inside one core process."""

    def __init__(self, last_seq: int = 0) -> None:
        self._subscriptions: list[Subscription] = []
        self.last_seq = last_seq
        self.generation = 0  # moves on every notice: "has anything changed since I last looked?"

    def subscribe(self, topics: Iterable[str] | None = None, size: int = QUEUE_SIZE) -> Subscription:
        subscription = Subscription(self, None if topics is None else frozenset(topics), size)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def publish(self, notice: Notice) -> None:
        self.last_seq = max(self.last_seq, notice.seq)
        self.generation += 1
        for subscription in list(self._subscriptions):
            try:
                subscription.offer(notice)
            except Exception:
                log.exception("notice subscriber failed")

    def publish_event(self, event: Event) -> None:
        self.publish(Notice(topic_of(event.event_type), event.seq, event))

    def publish_topic(self, topic: str) -> None:
        """A change without an event (observed state, a scan): current as of the newest seq."""
        self.publish(Notice(topic, self.last_seq))
