"""Keystrokes into an agent's pane: the focus view's typing mode and one-key answers to prompts.

Keys go through the same safe-send guard as typed text (never into a pane whose foreground command is not the
agent's, unless forced). Without an idempotency key nothing is recorded (typing mode: a row and an event per
keystroke would bury the timeline); with one, the send is claimed in `key_sends` before anything is typed, so a
repeated press or a retry types once, across processes and restarts.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, model_validator

from core.claimer import holder_is_gone, this_process
from core.context import Context
from core.delivery import LivePanes, press_into
from core.errors import BenchError
from core.registry import Call
from core.tmux import literal_arg
from core.validation import Params, parse
from storage import agents as agents_repo
from storage import key_sends as repo
from storage.models import Agent, Model

FUNCTION_KEYS = tuple(f"F{n}" for n in range(1, 13))
CONTROL_KEYS = tuple(f"C-{c}" for c in "abcdefghijklmnopqrstuvwxyz")
# tmux key names a keystroke may carry (a closed set: send-keys would read anything else as a key table lookup).
NAMED_KEYS = frozenset(
    {
        "Enter",
        "Escape",
        "Tab",
        "BTab",
        "BSpace",
        "Space",
        "Up",
        "Down",
        "Left",
        "Right",
        "Home",
        "End",
        "PageUp",
        "PageDown",
        "IC",
        "DC",
        *FUNCTION_KEYS,
        *CONTROL_KEYS,
    }
)
MAX_TEXT_PER_KEY = 4096


class KeyStroke(Model):
    key: str | None = Field(default=None, description="a tmux key name: Enter, Escape, Up, C-c, F1, ...")
    text: str | None = Field(default=None, max_length=MAX_TEXT_PER_KEY, description="literal text, typed as is")

    @model_validator(mode="after")
    def _one(self) -> KeyStroke:
        if (self.key is None) == (self.text is None):
            raise ValueError("give exactly one of key or text")
        if self.key is not None and self.key not in NAMED_KEYS:
            raise ValueError(f"unknown key {self.key!r}; one of Enter, Escape, Tab, BSpace, arrows, F1-F12, C-a..C-z")
        if self.text is not None:
            if not self.text:
                raise ValueError("text cannot be empty")
            if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in self.text):
                raise ValueError("text must not hold control characters; send them as keys (Enter, C-c, ...)")
        return self

    def tmux_args(self) -> list[str]:
        return ["-l", "--", literal_arg(self.text)] if self.text is not None else [self.key or ""]


class SendKeysParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)
    keys: list[KeyStroke] = Field(min_length=1, max_length=256)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    force: bool = Field(default=False, description="type even if the pane's foreground command is unexpected")


class KeysSent(Model):
    agent_id: str
    state: Literal["typed", "failed", "claimed"] = Field(
        description="typed; failed (not typed, see error); claimed (another call is typing it now)"
    )
    deduplicated: bool = Field(description="the idempotency key was used before: nothing was typed by this call")
    error: str = ""


AGENT_SEND_KEYS = Call(
    "app.agent.send_keys",
    SendKeysParams,
    KeysSent,
    "Press keys in an agent's pane (named keys and literal text), behind the safe-send guard.",
    mutates=True,
)


def stored_key(key: str) -> str:
    """What `key_sends` keeps of an idempotency key: its digest (a match is all it is for, and a caller that used a
    secret as its key must not find it in the database)."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def encode(keys: list[KeyStroke]) -> str:
    return json.dumps([k.model_dump(exclude_none=True) for k in keys], ensure_ascii=False)


class Keystrokes:
    def __init__(self, ctx: Context, panes: LivePanes) -> None:
        self.ctx = ctx
        self.panes = panes

    async def _agent(self, agent_id: str) -> Agent:
        agent = await agents_repo.get(self.ctx.db, agent_id)
        if agent is None:
            raise BenchError("agent_not_found", f"no agent {agent_id}", details={"agent_id": agent_id})
        return agent

    async def _type(self, agent: Agent, keys: list[KeyStroke], force: bool) -> None:
        # A fresh look at the pane every time (one list-panes, a few ms): a cached one let keys into a `sleep` that
        # had started half a second earlier.
        pane = await self.panes.live_pane(agent)
        await press_into(self.ctx, agent, pane, [k.tmux_args() for k in keys], force=force)

    @AGENT_SEND_KEYS.implementation
    async def send_keys(self, params: SendKeysParams | dict[str, Any]) -> KeysSent:
        p = parse(SendKeysParams, params)
        agent = await self._agent(p.agent_id)
        if p.idempotency_key is None:
            await self._type(agent, p.keys, p.force)
            return KeysSent(agent_id=agent.agent_id, state="typed", deduplicated=False)
        return await self.send_once(agent, p.keys, p.idempotency_key, p.force)

    async def send_once(
        self,
        agent: Agent,
        keys: list[KeyStroke],
        key: str,
        force: bool,
        event: tuple[str, str, dict[str, Any]] | None = None,
    ) -> KeysSent:
        """Claim `key`, type, settle; the key used before returns what became of that send. `event` (type, summary,
        payload) is recorded with the claim when given."""
        encoded = encode(keys)
        key = stored_key(key)
        recorded = None
        async with self.ctx.db.write() as w:
            claimed = await repo.claim(w, key, agent.agent_id, encoded, this_process(), self.ctx.now())
            if claimed and event:
                recorded = await self.ctx.recorder.stage(w, *event, agent_id=agent.agent_id)
        if recorded is not None:
            self.ctx.recorder.committed(recorded)
        if not claimed:
            previous = await self._previous(agent, key)
            if previous is None:  # pragma: no cover - the row was there a moment ago and rows are never deleted
                raise BenchError("conflict", "the idempotency key's send vanished; try again")
            return previous
        try:
            await self._type(agent, keys, force)
        except BenchError as exc:
            async with self.ctx.db.write() as w:
                await repo.settle(w, key, "failed", exc.message, self.ctx.now())
            raise
        except BaseException:
            async with self.ctx.db.write() as w:
                await repo.settle(w, key, "failed", "interrupted", self.ctx.now())
            raise
        async with self.ctx.db.write() as w:
            await repo.settle(w, key, "typed", "", self.ctx.now())
        return KeysSent(agent_id=agent.agent_id, state="typed", deduplicated=False)

    async def previous(self, agent: Agent, key: str) -> KeysSent | None:
        """What became of the send made under idempotency key `key` (None: the key was never used)."""
        return await self._previous(agent, stored_key(key))

    async def _previous(self, agent: Agent, key: str) -> KeysSent | None:
        previous = await repo.get(self.ctx.db, key)
        if previous is None:
            return None
        if previous.agent_id != agent.agent_id:
            raise BenchError(
                "validation_failed",
                "this idempotency key was used for another agent",
                field="idempotency_key",
                details={"agent_id": previous.agent_id},
            )
        if previous.state == "claimed" and previous.claimed_by and holder_is_gone(previous.claimed_by):
            # Its holder died between claiming and settling: whether the keys arrived is unknown, never retyped.
            async with self.ctx.db.write() as w:
                await repo.settle(w, key, "failed", "interrupted", self.ctx.now())
            previous = await repo.get(self.ctx.db, key) or previous
        return KeysSent(agent_id=agent.agent_id, state=previous.state, deduplicated=True, error=previous.error)
