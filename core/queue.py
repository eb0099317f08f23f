"""The message queue between events (or the operator) and agent panes.

Only a `master` sender may enqueue input; the operator counts as master. An idempotency key is durable: the
same key returns the first message and never enqueues twice. Delivery into panes is the pipeline's job; typing
happens only under a claim (compare-and-set, claimer and time recorded), so a message is typed at most once even
when the process dies between typing and recording that it typed: the next start finds the dead claim and fails
the message as `interrupted` instead of typing it again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from pydantic import Field, model_validator

from core.claimer import holder_is_gone, this_process
from core.clock import parse_stamp, stamp
from core.context import Context
from core.delivery import LivePanes, type_into
from core.errors import BenchError
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.registry import Call
from core.validation import Params, TimestampText, TypableText, parse
from storage import agents as agents_repo
from storage import events as events_repo
from storage import queue as repo
from storage.models import (
    STATE_PRIORITY,
    BlockReason,
    Event,
    FailureReason,
    Model,
    QueueMessage,
    QueueState,
    Role,
)

MAX_PAYLOAD = 16 * 1024
QUEUE_LIST_SPEC = ListSpec(
    table="queue_messages",
    orders={"state_priority": "state_priority", "enqueued_at": "enqueued_at", "updated_at": "updated_at"},
    default_order="state_priority:asc",
    filters=frozenset({"state", "block_reason", "target_agent_id", "route_id", "sender"}),
    tiebreak=("enqueued_at", "rowid"),
    time_column="enqueued_at",
)
_HELD_KEYS: ContextVar[frozenset[str]] = ContextVar("relayboard_held_idempotency_keys", default=frozenset())
FINAL_STATES = frozenset({"delivered", "canceled", "failed"})
OPERATOR = "operator"


class SendParams(Params):
    target_agent_id: str = Field(min_length=1, max_length=64)
    payload: TypableText = Field(min_length=1)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    sender_agent_id: str | None = Field(default=None, max_length=64)
    submit: bool = Field(default=True, description="press Enter after the text")
    force: bool = Field(default=False, description="type even if the pane's foreground command is unexpected")


class MessageParams(Params):
    message_id: str = Field(min_length=1, max_length=64)


class DelayParams(MessageParams):
    delay_ms: int | None = Field(default=None, ge=1, le=7 * 24 * 3600 * 1000)
    until: TimestampText | None = None  # normalised to the stored form (UTC)

    @model_validator(mode="after")
    def _one_of(self) -> DelayParams:
        if (self.delay_ms is None) == (self.until is None):
            raise ValueError("give exactly one of delay_ms or until")
        return self


class CancelParams(MessageParams):
    reason: str = Field(default="", max_length=256)


class SendResult(Model):
    message_id: str
    state: QueueState
    deduplicated: bool


class MessageHistory(Model):
    message: QueueMessage
    events: list[Event] = Field(description="the message's events, oldest first: its state history")
    cause: Event | None = Field(description="the event a route turned into this message (source_event_id), if any")


SEND_INPUT = Call(
    "app.send_input",
    SendParams,
    SendResult,
    "Type text into an agent's pane (idempotency key: at most once).",
    mutates=True,
)
QUEUE_LIST = Call("app.queue.list", ListParams, ListResult[QueueMessage], "Messages on their way to agent panes.")
QUEUE_DETAIL = Call("app.queue.detail", MessageParams, QueueMessage, "One queue message in full.")
QUEUE_HISTORY = Call(
    "app.queue.history", MessageParams, MessageHistory, "A message with its state history and the event that caused it."
)
QUEUE_APPROVE = Call("app.queue.approve", MessageParams, QueueMessage, "blocked → queued.", mutates=True)
QUEUE_DELAY = Call(
    "app.queue.delay", DelayParams, QueueMessage, "queued → blocked (operator_delayed) until a time.", mutates=True
)
QUEUE_CANCEL = Call("app.queue.cancel", CancelParams, QueueMessage, "queued or blocked → canceled.", mutates=True)
QUEUE_RETRY = Call("app.queue.retry", MessageParams, QueueMessage, "failed → queued, explicitly.", mutates=True)


def failure_reason(error: BenchError) -> FailureReason:
    """Why typing failed, in the contract's closed set."""
    reason = error.details.get("reason")
    if error.code == "agent_not_found" or reason == "target_unavailable":
        return "target_unavailable"
    if reason == "foreground_command":
        return "guard_refused"
    return "tmux_error"


class Queue:
    def __init__(self, ctx: Context, panes: LivePanes) -> None:
        self.ctx = ctx
        self.panes = panes
        self._key_locks: dict[str, asyncio.Lock] = {}

    @QUEUE_LIST.implementation
    async def list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[QueueMessage]:
        return await run_list(self.ctx.db, QUEUE_LIST_SPEC, parse(ListParams, params), QueueMessage.from_row)

    @QUEUE_DETAIL.implementation
    async def detail(self, params: MessageParams | dict[str, Any]) -> QueueMessage:
        return await self._get(parse(MessageParams, params).message_id)

    @QUEUE_HISTORY.implementation
    async def history(self, params: MessageParams | dict[str, Any]) -> MessageHistory:
        message = await self._get(parse(MessageParams, params).message_id)
        events = await events_repo.of_message(self.ctx.db, message.target_agent_id, message.message_id)
        cause = await events_repo.get(self.ctx.db, message.source_event_id) if message.source_event_id else None
        return MessageHistory(message=message, events=events, cause=cause)

    async def _get(self, message_id: str) -> QueueMessage:
        message = await repo.get(self.ctx.db, message_id)
        if message is None:
            raise BenchError(
                "queue_message_not_found", f"no queue message {message_id}", details={"message_id": message_id}
            )
        return message

    @SEND_INPUT.implementation
    async def send_input(self, params: SendParams | dict[str, Any]) -> SendResult:
        """Type text into an agent's pane now. The message is recorded first, claimed, typed, then marked delivered
        (or failed, with the reason). The same idempotency key returns the first message and never types again,
        across calls, restarts and processes; a first message that was recorded but never claimed (the caller
        died before typing) is typed by the repeated call, once."""
        raw = params.payload if isinstance(params, SendParams) else (params or {}).get("payload")
        try:
            size = len(raw.encode()) if isinstance(raw, str) else 0
        except UnicodeEncodeError:  # e.g. a lone surrogate from JSON "\ud800": not text a pane can receive
            raise BenchError("validation_failed", "payload is not valid UTF-8 text", field="payload") from None
        if size > MAX_PAYLOAD:
            raise BenchError(
                "payload_too_large",
                f"payload is {size} bytes; the limit is {MAX_PAYLOAD}",
                field="payload",
                details={"size_limit_bytes": MAX_PAYLOAD, "actual_size_bytes": size},
            )
        p = parse(SendParams, params)
        sender, role = OPERATOR, "master"
        if p.sender_agent_id:
            sender_agent = await agents_repo.get(self.ctx.db, p.sender_agent_id)
            if sender_agent is None:
                raise BenchError(
                    "agent_not_found", f"no agent {p.sender_agent_id}", details={"agent_id": p.sender_agent_id}
                )
            sender, role = sender_agent.agent_id, sender_agent.role
        async with self._key_lock(p.idempotency_key):
            message, deduplicated = await self.enqueue(
                target_agent_id=p.target_agent_id,
                payload=p.payload,
                sender=sender,
                sender_role=role,
                idempotency_key=p.idempotency_key,
            )
            unclaimed = message.state == "queued" and message.claimed_by is None and message.block_reason is None
            if not deduplicated or unclaimed:
                message = await self._deliver(message, submit=p.submit, force=p.force)
        return SendResult(message_id=message.message_id, state=message.state, deduplicated=deduplicated)

    async def _deliver(self, message: QueueMessage, *, submit: bool, force: bool) -> QueueMessage:
        """Claim, type, settle. Someone else's claim (or a message no longer queued) is left alone."""
        async with self.ctx.db.write() as w:
            claimed = await repo.claim(w, message.message_id, this_process(), self.ctx.now())
        message = await self._get(message.message_id)
        if not claimed:
            return message
        agent = await agents_repo.get(self.ctx.db, message.target_agent_id or "")
        try:
            if agent is None:
                raise BenchError("agent_not_found", "the target agent was removed", details={"agent_id": None})
            pane = await self.panes.live_pane(agent)
            await type_into(self.ctx, agent, pane, message.payload, submit=submit, force=force)
        except BenchError as exc:
            reason = failure_reason(exc)
            await self._settle(
                message, "failed", "queue_message_failed", f"not typed: {exc.message}", exc.message, reason
            )
            raise BenchError(exc.code, exc.message, details={**exc.details, "message_id": message.message_id}) from None
        except asyncio.CancelledError:
            # Whether the keys reached the pane is unknown: fail it as interrupted now (never typed again silently).
            await asyncio.shield(
                self._settle(
                    message, "failed", "queue_message_failed", "interrupted while typing", "interrupted", "interrupted"
                )
            )
            raise
        return await self._settle(message, "delivered", "input_sent", f"typed {len(message.payload)} chars", "")

    async def resolve_interrupted(self) -> int:
        """On start: a message still claimed by a process of this host that is gone is failed as `interrupted`.
        Whether it was typed is unknown, so it is never typed again by itself; the operator may retry it."""
        resolved = 0
        for message in await repo.claimed(self.ctx.db):
            if message.claimed_by and holder_is_gone(message.claimed_by):
                await self._settle(
                    message,
                    "failed",
                    "queue_message_failed",
                    "interrupted: its sender exited while typing; not typed again (check the pane, then retry)",
                    f"claimed by {message.claimed_by}, which exited before settling",
                    "interrupted",
                )
                resolved += 1
        return resolved

    async def _settle(
        self,
        message: QueueMessage,
        state: str,
        event_type: str,
        summary: str,
        error: str,
        reason: FailureReason | None = None,
    ) -> QueueMessage:
        now = self.ctx.now()
        changes: dict[str, Any] = {
            "state": state,
            "state_priority": STATE_PRIORITY[state],
            "last_error": error,
            "attempts": message.attempts + 1,
            "failure_reason": reason,
        }
        if state == "delivered":
            changes["delivered_at"] = now
        async with self.ctx.db.write() as w:
            await repo.transition(w, message.message_id, message.version, changes, now)
            target = await agents_repo.get_name(w, message.target_agent_id)
            event = await self.ctx.recorder.stage(
                w,
                event_type,
                f"{summary} into {target}",
                {"message_id": message.message_id, "state": state, "error": error, "failure_reason": reason},
                agent_id=message.target_agent_id,
            )
        self.ctx.recorder.committed(event)
        return await self._get(message.message_id)

    @asynccontextmanager
    async def _key_lock(self, key: str | None) -> AsyncIterator[None]:
        """One caller per idempotency key at a time in this process; the UNIQUE key row covers other processes.
        Re-entrant within a task: send_input holds the key over enqueue and typing, and enqueue takes it again."""
        if key is None or key in _HELD_KEYS.get():
            yield
            return
        lock = self._key_locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = _HELD_KEYS.set(_HELD_KEYS.get() | {key})
            try:
                yield
            finally:
                _HELD_KEYS.reset(token)
        if not lock.locked():
            self._key_locks.pop(key, None)

    async def enqueue(
        self,
        *,
        target_agent_id: str,
        payload: str,
        sender: str,
        sender_role: Role,
        idempotency_key: str | None = None,
        route_id: str | None = None,
        source_event_id: str | None = None,
        block_reason: BlockReason | None = None,
    ) -> tuple[QueueMessage, bool]:
        """Queue a message (send_input delivers it at once; routes and the demo leave it for delivery). Returns
        (message, deduplicated)."""
        async with self._key_lock(idempotency_key):
            if sender_role != "master":
                raise BenchError("permission_denied", f"only a master may send input; sender role is {sender_role}")
            target = await agents_repo.get(self.ctx.db, target_agent_id)
            if target is None:
                raise BenchError(
                    "agent_not_found", f"no agent {target_agent_id}", details={"agent_id": target_agent_id}
                )
            now = self.ctx.now()
            async with self.ctx.db.write() as w:
                if idempotency_key:
                    first = await repo.by_idempotency_key(w, idempotency_key)
                    if first is not None:
                        return first, True
                state = "blocked" if block_reason else "queued"
                message = QueueMessage(
                    message_id=uuid.uuid4().hex[:12],
                    state=state,
                    state_priority=STATE_PRIORITY[state],
                    block_reason=block_reason,
                    route_id=route_id,
                    source_event_id=source_event_id,
                    sender=sender,
                    sender_role=sender_role,
                    target_agent_id=target_agent_id,
                    payload=payload,
                    idempotency_key=idempotency_key,
                    enqueued_at=now,
                    updated_at=now,
                )
                await repo.insert(w, message)
                event = await self.ctx.recorder.stage(
                    w,
                    "queue_message_enqueued",
                    f"queued {len(payload)} chars for {target.name}" + (f" ({block_reason})" if block_reason else ""),
                    {"message_id": message.message_id, "state": state, "block_reason": block_reason},
                    agent_id=target_agent_id,
                )
            self.ctx.recorder.committed(event)
            return message, False

    async def _transition(
        self, message_id: str, allowed: set[str], changes: dict[str, Any], event_type: str, summary: str
    ) -> QueueMessage:
        async with self.ctx.db.write() as w:
            current = await repo.get(w, message_id)
            if current is None:
                raise BenchError(
                    "queue_message_not_found", f"no queue message {message_id}", details={"message_id": message_id}
                )
            if current.state in FINAL_STATES:
                raise BenchError(
                    "stale_object", f"message {message_id} is already {current.state}", details={"state": current.state}
                )
            if current.state not in allowed:
                raise BenchError(
                    "conflict",
                    f"message {message_id} is {current.state}; this action needs {' or '.join(sorted(allowed))}",
                )
            if "state" in changes:
                changes = {**changes, "state_priority": STATE_PRIORITY[changes["state"]]}
            if not await repo.transition(w, message_id, current.version, changes, self.ctx.now()):
                raise BenchError("stale_object", f"message {message_id} changed meanwhile")
            target = await agents_repo.get_name(w, current.target_agent_id)
            event = await self.ctx.recorder.stage(
                w,
                event_type,
                summary.format(target=target),
                {"message_id": message_id, **changes},
                agent_id=current.target_agent_id,
            )
        self.ctx.recorder.committed(event)
        return await self._get(message_id)

    @QUEUE_APPROVE.implementation
    async def approve(self, params: MessageParams | dict[str, Any]) -> QueueMessage:
        p = parse(MessageParams, params)
        return await self._transition(
            p.message_id,
            {"blocked"},
            {"state": "queued", "block_reason": None, "delay_until": None},
            "queue_message_approved",
            "approved message to {target}",
        )

    @QUEUE_DELAY.implementation
    async def delay(self, params: DelayParams | dict[str, Any]) -> QueueMessage:
        p = parse(DelayParams, params)
        if p.until is not None:
            until = parse_stamp(p.until)  # validated (a timezone, a representable time) and normalised already
        else:
            until = self.ctx.clock.now() + timedelta(milliseconds=p.delay_ms or 0)
        return await self._transition(
            p.message_id,
            {"queued"},
            {"state": "blocked", "block_reason": "operator_delayed", "delay_until": stamp(until)},
            "queue_message_delayed",
            f"delayed message to {{target}} until {stamp(until)[11:16]} UTC",
        )

    @QUEUE_CANCEL.implementation
    async def cancel(self, params: CancelParams | dict[str, Any]) -> QueueMessage:
        p = parse(CancelParams, params)
        return await self._transition(
            p.message_id,
            {"queued", "blocked"},
            {"state": "canceled", "cancel_reason": p.reason},
            "queue_message_canceled",
            "canceled message to {target}",
        )

    @QUEUE_RETRY.implementation
    async def retry(self, params: MessageParams | dict[str, Any]) -> QueueMessage:
        """Failed is final for approve/delay/cancel, but the operator may requeue it explicitly."""
        p = parse(MessageParams, params)
        async with self.ctx.db.write() as w:
            current = await repo.get(w, p.message_id)
            if current is None:
                raise BenchError(
                    "queue_message_not_found", f"no queue message {p.message_id}", details={"message_id": p.message_id}
                )
            if current.state != "failed":
                raise BenchError(
                    "stale_object" if current.state in FINAL_STATES else "conflict",
                    f"message {p.message_id} is {current.state}; only failed messages retry",
                )
            changes = {
                "state": "queued",
                "state_priority": STATE_PRIORITY["queued"],
                "last_error": "",
                "failure_reason": None,
                "claimed_by": None,
                "claimed_at": None,
            }
            if not await repo.transition(w, p.message_id, current.version, changes, self.ctx.now()):
                raise BenchError("stale_object", f"message {p.message_id} changed meanwhile")
            event = await self.ctx.recorder.stage(
                w,
                "queue_message_retried",
                f"retry message to {await agents_repo.get_name(w, current.target_agent_id)}",
                {"message_id": p.message_id},
                agent_id=current.target_agent_id,
            )
        self.ctx.recorder.committed(event)
        return await self._get(p.message_id)
