"""Agent activity state from several signals, by rules kept as data (`agent_rules.toml`), not code.

Signals per agent: is the pane dead or gone, the foreground command, the last lines of the screen, and whether
the screen changed since the previous look. The first rule that matches wins and its `why` is shown to the
operator, so a surprising state can be traced to the rule (and the signal) that produced it.
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
class Verdict:
    state: AgentState
    why: str
    rule: str


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
            return Verdict(rule.state, rule.why.format(command=signals.command or "?"), rule.name)
    return Verdict("unknown", "no rule matched", "")


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
