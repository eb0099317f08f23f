"""Prompts an agent waits on that the operator can answer with one key: Claude Code's numbered permission menu,
`[y/N]` and `(yes/no)` questions, `Press Enter to continue`. The shapes are data (`prompt_rules.toml`), tried on
the last lines of the screen as the state rules are.

A recognised prompt has a fingerprint (its pane, shape, question, choices and the lines around it). An answer names
the fingerprint it was given: when the screen no longer shows that prompt the answer is `stale_object` and nothing
is typed; when it does, the answer is a key send under the idempotency key `answer:<agent>:<fingerprint>:<key>`,
so a double press types once.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.agent_state import compile_pattern
from core.errors import BenchError
from core.keys import NAMED_KEYS, KeysSent, KeyStroke, Keystrokes
from core.registry import Call
from core.validation import Params, parse
from storage.models import Agent, Model

if TYPE_CHECKING:
    from core.agents import Agents

PROMPT_RULES_FILE = "prompt_rules.toml"
SCREEN_LINES = 40


class FixedChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(min_length=1, max_length=8)
    label: str
    keys: tuple[str, ...] = Field(min_length=1)


class PromptShape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kinds: tuple[str, ...] = ("*",)
    question: re.Pattern[str]
    when: re.Pattern[str] | None = None
    last_line: bool = False
    choices: Literal["numbered", "fixed"]
    choice: re.Pattern[str] | None = None
    fixed: tuple[FixedChoice, ...] = ()
    cancel: tuple[str, ...] = ()
    tail: int = Field(default=20, ge=1, le=SCREEN_LINES)

    _compile = field_validator("question", "when", "choice", mode="before")(compile_pattern)

    @model_validator(mode="after")
    def _consistent(self) -> PromptShape:
        if self.choices == "numbered" and self.choice is None:
            raise ValueError("a numbered prompt needs `choice` (the pattern of one choice line)")
        if self.choices == "fixed" and not self.fixed:
            raise ValueError("a fixed prompt needs `fixed` (its choices)")
        return self


class PromptRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    prompts: tuple[PromptShape, ...]


class PromptChoice(Model):
    key: str = Field(description="what the operator presses: a digit, y, n or enter")
    label: str


class AgentPrompt(Model):
    shape: str = Field(description="the prompt rule that recognised it (prompt_rules.toml)")
    question: str
    choices: list[PromptChoice]
    cancellable: bool = Field(description="Esc answers it (cancels)")
    fingerprint: str = Field(description="names this prompt on this screen; an answer must give it back")


class PromptParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)


class PromptResult(Model):
    agent_id: str
    prompt: AgentPrompt | None = Field(description="the prompt the agent waits on, or null")


class AnswerParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)
    fingerprint: str = Field(min_length=1, max_length=64)
    key: str = Field(min_length=1, max_length=8, description="a choice's key, or escape to cancel")
    force: bool = False


class Answered(Model):
    agent_id: str
    shape: str
    key: str
    label: str
    state: str
    deduplicated: bool


AGENT_PROMPT = Call(
    "app.agent.prompt", PromptParams, PromptResult, "The prompt the agent waits on, with its choices (or null)."
)
AGENT_ANSWER = Call(
    "app.agent.answer",
    AnswerParams,
    Answered,
    "Answer the agent's prompt with one of its choices; stale_object when the screen shows another prompt.",
    mutates=True,
)


@dataclass(frozen=True)
class Recognised:
    shape: PromptShape
    question: str
    choices: tuple[tuple[str, str, tuple[str, ...]], ...]  # (key, label, keys typed)
    context: str

    def fingerprint(self, pane_id: str) -> str:
        text = "\x1f".join([pane_id, self.shape.id, self.question, repr(self.choices), self.context])
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]

    def public(self, pane_id: str) -> AgentPrompt:
        return AgentPrompt(
            shape=self.shape.id,
            question=self.question,
            choices=[PromptChoice(key=k, label=label) for k, label, _ in self.choices],
            cancellable=bool(self.shape.cancel),
            fingerprint=self.fingerprint(pane_id),
        )


def _lines(screen: str) -> list[str]:
    # Trailing spaces differ between a capture with escapes and one without (coloured blanks): never part of a
    # prompt, so never part of its fingerprint.
    return [line.rstrip() for line in screen.splitlines() if line.strip()]


def recognise(kind: str, screen: str, rules: PromptRules | None = None) -> Recognised | None:
    """The first prompt shape that matches the end of `screen`, with its choices; None when none does."""
    lines = _lines(screen)
    if not lines:
        return None
    for shape in (rules or default_prompt_rules()).prompts:
        if "*" not in shape.kinds and kind not in shape.kinds:
            continue
        tail = lines[-shape.tail :]
        if shape.last_line:
            last = tail[-1]
            if shape.when is not None and not shape.when.search(last):
                continue
            match = shape.question.search(last)
            if match is None:
                continue
            question = (match.group(1) if match.groups() else match.group(0)).strip()
            choices = tuple((c.key, c.label, c.keys) for c in shape.fixed)
            return Recognised(shape, question, choices, "\n".join(tail[-3:]))
        found = _numbered_or_fixed(shape, tail)
        if found is not None:
            return found
    return None


def _numbered_or_fixed(shape: PromptShape, tail: list[str]) -> Recognised | None:
    for index in range(len(tail) - 1, -1, -1):
        match = shape.question.search(tail[index])
        if match is None:
            continue
        question = (match.group(1) if match.groups() else match.group(0)).strip()
        if shape.choices == "fixed":
            choices = tuple((c.key, c.label, c.keys) for c in shape.fixed)
        else:
            assert shape.choice is not None
            numbered: list[tuple[str, str, tuple[str, ...]]] = []
            for line in tail[index + 1 :]:
                choice = shape.choice.search(line)
                if choice is None:
                    if numbered:
                        break  # the menu ended
                    continue
                numbered.append((choice.group(1), choice.group(2), (choice.group(1),)))
            if not numbered:
                continue
            choices = tuple(numbered)
        if shape.when is not None and not shape.when.search("\n".join(tail)):
            continue
        return Recognised(shape, question, choices, "\n".join(tail[index:]))
    return None


def load_prompt_rules(text: str) -> PromptRules:
    return PromptRules.model_validate(tomllib.loads(text))


@cache
def default_prompt_rules() -> PromptRules:
    return load_prompt_rules(resources.files("core").joinpath(PROMPT_RULES_FILE).read_text())


def _stroke(name: str) -> KeyStroke:
    return KeyStroke(key=name) if name in NAMED_KEYS else KeyStroke(text=name)


class Prompts:
    def __init__(self, agents: Agents, keystrokes: Keystrokes) -> None:
        self.agents = agents
        self.keystrokes = keystrokes

    async def _current(self, agent: Agent) -> tuple[str, Recognised | None]:
        pane = await self.agents.live_pane(agent)
        if pane is None or not pane.alive:
            raise BenchError("pane_not_found", f"{agent.name}'s pane is gone", details={"pane_id": agent.pane_id})
        screen = await self.agents.ctx.tmux.capture(pane.pane_id, SCREEN_LINES)
        return pane.pane_id, recognise(agent.kind, screen)

    @AGENT_PROMPT.implementation
    async def prompt(self, params: PromptParams | dict[str, Any]) -> PromptResult:
        p = parse(PromptParams, params)
        agent = await self.agents.get(p.agent_id)
        pane_id, found = await self._current(agent)
        return PromptResult(agent_id=agent.agent_id, prompt=found.public(pane_id) if found else None)

    @AGENT_ANSWER.implementation
    async def answer(self, params: AnswerParams | dict[str, Any]) -> Answered:
        p = parse(AnswerParams, params)
        agent = await self.agents.get(p.agent_id)
        pane_id, found = await self._current(agent)
        key = p.key.lower() if p.key.lower() in ("enter", "escape", "y", "n") else p.key
        idempotency = f"answer:{agent.agent_id}:{p.fingerprint}:{key}"
        if found is None or found.fingerprint(pane_id) != p.fingerprint:
            # The screen moved on. A press that was already typed (the prompt is gone because of it) says so;
            # anything else would answer a question the operator has not seen.
            previous = await self.keystrokes.previous(agent, idempotency)
            if previous is not None:
                return Answered(
                    agent_id=agent.agent_id, shape="", key=key, label="", state=previous.state, deduplicated=True
                )
            current = found.public(pane_id).model_dump() if found else None
            raise BenchError(
                "stale_object",
                f"{agent.name} no longer shows that prompt; nothing was typed",
                details={"agent_id": agent.agent_id, "current": current},
            )
        if key == "escape":
            if not found.shape.cancel:
                raise BenchError("validation_failed", "this prompt cannot be cancelled with Esc", field="key")
            label, names = "cancel", found.shape.cancel
        else:
            chosen = [c for c in found.choices if c[0] == key]
            if not chosen:
                keys = ", ".join(c[0] for c in found.choices)
                raise BenchError("validation_failed", f"not a choice of this prompt (choices: {keys})", field="key")
            _, label, names = chosen[0]
        sent: KeysSent = await self.keystrokes.send_once(
            agent,
            [_stroke(n) for n in names],
            idempotency,
            p.force,
            event=(
                "agent_prompt_answered",
                f"answered {agent.name}'s prompt: {label}",
                {"shape": found.shape.id, "question": found.question, "key": key, "label": label},
            ),
        )
        return Answered(
            agent_id=agent.agent_id,
            shape=found.shape.id,
            key=key,
            label=label,
            state=sent.state,
            deduplicated=sent.deduplicated,
        )
