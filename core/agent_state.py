"""Agent activity state: three signals, one verdict.

1. **Screen** — rules kept as data (`agent_rules.toml`), not code, over: is the pane dead or gone, the foreground
   command, the last lines of the screen, whether it changed since the previous look. The first rule that matches
   gives the screen's vote, with the rule's confidence.
2. **Process** — what the foreground process group is blocked in, from /proc (`core/process_signal.py`): read only
   for panes whose screen vote is in doubt (confidence below `IN_DOUBT`).
3. **Hook** — the agent's own newest hook event, where it has hooks (fed by the hooks issue; none until then).

The rule that combines them (`decide`), in order:
- a dead pane, or an agent's pane back at its shell, is `exited`: nothing outvotes it;
- the newest hook event wins while the screen has not changed since it arrived;
- otherwise the vote with the highest confidence wins, the screen on a tie. The process signal's confidences sit
  so that a process blocked reading the terminal (0.85) outranks every fallback rule ("quiet", "shell prompt",
  "output changing") but not a recognised dialog or spinner (0.9), which agree with it anyway.

The verdict keeps every vote, so the operator sees which signal won and over what.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import BenchError
from storage.models import AgentState

RULES_FILE = "agent_rules.toml"


def compile_pattern(value: object) -> object:
    """A rule file's regular expression, compiled multi-line; a bad one is a validation error naming the field
    (used by the state rules here and the prompt shapes in core/prompts.py)."""
    if not isinstance(value, str):
        return value
    try:
        return re.compile(value, re.MULTILINE)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None


class StateRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kinds: tuple[str, ...] = ("*",)
    state: AgentState
    why: str
    dead: bool | None = None
    command_in: tuple[str, ...] = ()
    command_not_in: tuple[str, ...] = ()
    screen: re.Pattern[str] | None = None
    screen_tail: int = Field(default=40, ge=1, description="only the last N non-blank lines are searched")
    changed: bool | None = None
    confidence: float = Field(default=0.8, ge=0, le=1, description="how sure a match is, against the other signals")

    _compile = field_validator("screen", mode="before")(compile_pattern)


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    shells: tuple[str, ...]
    rules: tuple[StateRule, ...]


@dataclass(frozen=True)
class Signals:
    kind: str
    dead: bool
    command: str
    screen: str
    changed: bool


@dataclass(frozen=True)
class Vote:
    signal: str  # "screen", "process" or "hook"
    state: AgentState
    confidence: float
    why: str

    def line(self) -> str:
        return f"{self.signal} {self.state} {self.confidence:.2f}: {self.why}"


@dataclass(frozen=True)
class Verdict:
    state: AgentState
    why: str
    rule: str
    confidence: float = 0.0
    votes: tuple[Vote, ...] = ()  # every signal that voted, the winner first

    @property
    def winner(self) -> str:
        return self.votes[0].signal if self.votes else "screen"


IN_DOUBT = 0.8  # a screen vote below this asks the process signal too
FINAL = 1.0  # a dead pane: no other signal is asked


def decide(
    screen: Verdict, process: Vote | None = None, hook: Vote | None = None, *, hook_fresh: bool = False
) -> Verdict:
    """The one verdict from the screen's vote and, where there are any, the process's and the hook's (see the
    module's doc for the rule). `hook_fresh`: the screen has not changed since the hook event arrived."""
    screen_vote = Vote("screen", screen.state, screen.confidence, screen.why)
    others = [vote for vote in (process, hook) if vote is not None]
    if screen.confidence >= FINAL or not others:
        return Verdict(screen.state, screen.why, screen.rule, screen.confidence, (screen_vote, *others))
    if hook is not None and hook_fresh:
        winner = hook
    else:
        ranked = [screen_vote, *(v for v in others if v.signal == "process" and v.state != "unknown")]
        winner = max(ranked, key=lambda vote: vote.confidence)  # max keeps the first (the screen) on a tie
    votes = (winner, *(v for v in (screen_vote, *others) if v is not winner))
    if winner.state == screen.state:
        # Agreeing signals keep the screen's why (the rule the operator can look up) and the surer confidence.
        return Verdict(screen.state, screen.why, screen.rule, winner.confidence, votes)
    return Verdict(
        winner.state, f"{winner.why} (over the screen: {screen.why})", winner.signal, winner.confidence, votes
    )


def _tail(screen: str, lines: int) -> str:
    kept = [line for line in screen.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _expand(names: tuple[str, ...], shells: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for name in names:
        out.update(shells if name == "@shells" else (name,))
    return out


def matches(rule: StateRule, signals: Signals, shells: tuple[str, ...]) -> bool:
    if "*" not in rule.kinds and signals.kind not in rule.kinds:
        return False
    if rule.dead is not None and rule.dead != signals.dead:
        return False
    if rule.command_in and signals.command not in _expand(rule.command_in, shells):
        return False
    if rule.command_not_in and signals.command in _expand(rule.command_not_in, shells):
        return False
    if rule.changed is not None and rule.changed != signals.changed:
        return False
    return not (rule.screen and not rule.screen.search(_tail(signals.screen, rule.screen_tail)))


def detect(signals: Signals, rules: RuleSet | None = None) -> Verdict:
    ruleset = rules or default_rules()
    for rule in ruleset.rules:
        if matches(rule, signals, ruleset.shells):
            why = rule.why.format(command=signals.command or "?")
            return Verdict(rule.state, why, rule.name, rule.confidence)
    return Verdict("unknown", "no rule matched", "", 0.0)


def load_rules(text: str) -> RuleSet:
    return RuleSet.model_validate(tomllib.loads(text))


@cache
def default_rules() -> RuleSet:
    return load_rules(resources.files("core").joinpath(RULES_FILE).read_text())


def rules_from(path: Path | None) -> RuleSet:
    """The operator's rules file when configured (a bad one is `config_invalid`), else the shipped rules."""
    if path is None:
        return default_rules()
    try:
        return load_rules(path.expanduser().read_text())
    except OSError:
        raise BenchError("config_invalid", "rules_file cannot be read", field="rules_file") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError("config_invalid", f"rules_file is not valid TOML ({exc})", field="rules_file") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BenchError("config_invalid", f"rules_file: {where}: {first['msg']}", field="rules_file") from None
