"""State detection rules as data: the recorded screens of real Claude Code, Codex and bash sessions
(`tests/fixtures/screens/`, described by its `index.json`), and the rules file format itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.agent_state import RuleSet, Signals, default_rules, detect, load_rules, rules_from
from core.bench import Bench
from core.config import Settings
from core.errors import BenchError
from storage.db import Database
from storage.models import AGENT_STATES

SCREENS = Path(__file__).resolve().parents[1] / "fixtures" / "screens"
INDEX = SCREENS / "index.json"


def _index() -> dict[str, dict[str, Any]]:
    """The recorded fixtures. A missing folder or index is a failure, not a skip: the rules must be checked
    against real screens."""
    if not INDEX.is_file():
        return {"<tests/fixtures/screens/index.json is missing>": {}}
    return json.loads(INDEX.read_text())


FIXTURES = _index()


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_recorded_screen_detects_its_expected_state(name: str) -> None:
    assert INDEX.is_file(), f"{INDEX} is missing: record the screens (tools/record_screens.py)"
    meta = FIXTURES[name]
    assert {"command", "kind", "expected_state"} <= set(meta), f"{name}: index entry lacks fields"
    assert meta["expected_state"] in AGENT_STATES
    text = SCREENS / f"{name}.txt"
    assert text.is_file(), f"{name}: {text.name} is missing"
    signals = Signals(
        kind=meta["kind"],
        dead=bool(meta.get("pane_dead", False)),
        command=meta["command"],
        screen=text.read_text(),
        changed=bool(meta.get("changed", False)),  # a screen recorded mid-stream is judged as it moves
    )
    verdict = detect(signals)
    assert verdict.state == meta["expected_state"], f"{name}: rule {verdict.rule!r} said {verdict.why!r}"
    assert verdict.why and verdict.rule
    # A screen that is still moving never turns a verdict into idle or a prompt into working; the one exception is
    # named in the index: Codex's idle composer stays on screen while an answer streams above it.
    moving = detect(Signals(**{**signals.__dict__, "changed": True}))
    expected = meta.get("moving_state", meta["expected_state"])
    assert moving.state == expected, f"{name} (screen changing): {moving.why!r}"


def test_fixtures_cover_every_kind_and_the_states_the_issue_names() -> None:
    assert INDEX.is_file(), f"{INDEX} is missing"
    seen = {(m["kind"], m["expected_state"]) for m in FIXTURES.values()}
    for needed in (
        ("claude", "idle"),
        ("claude", "working"),
        ("claude", "waiting_for_input"),
        ("codex", "waiting_for_input"),
        ("shell", "idle"),
        ("shell", "working"),
    ):
        assert needed in seen, needed
    for name in FIXTURES:
        assert (SCREENS / f"{name}.ansi").is_file(), f"{name}: the raw capture (.ansi) is missing"


def test_shipped_rules_are_well_formed() -> None:
    rules = default_rules()
    names = [r.name for r in rules.rules]
    assert len(names) == len(set(names)), "rule names must be unique (the why points at one)"
    assert names[0] == "pane-dead"  # a dead pane is exited whatever its screen says
    for rule in rules.rules:
        rule.why.format(command="x")  # only {command} may be used
        assert set(rule.kinds) <= {"*", "claude", "codex", "shell", "other"}, rule.name
    assert rules_from(None) is default_rules()


@pytest.mark.parametrize(
    ("kind", "command", "dead", "state", "why"),
    [
        ("shell", "bash", False, "idle", "shell prompt (bash in the foreground)"),
        ("other", "zsh", False, "idle", "shell prompt (zsh in the foreground)"),
        ("shell", "vim", False, "working", "vim is running (no new output)"),
        ("claude", "bash", False, "exited", "Claude Code exited: bash is in the foreground"),
        ("codex", "fish", False, "exited", "Codex exited: fish is in the foreground"),
        ("claude", "node", False, "unknown", "node on screen, no known prompt or spinner"),
        ("claude", "node", True, "exited", "pane exited"),
        ("shell", "", True, "exited", "pane exited"),
    ],
)
def test_shipped_rules_on_blank_screens(kind: str, command: str, dead: bool, state: str, why: str) -> None:
    verdict = detect(Signals(kind=kind, dead=dead, command=command, screen="", changed=False))
    assert (verdict.state, verdict.why) == (state, why)


# -- the rules file format ----------------------------------------------------------------------------------------

HEADER = 'shells = ["bash", "zsh"]\n'


def _rules(body: str) -> RuleSet:
    return load_rules(HEADER + body)


def _signals(**overrides: Any) -> Signals:
    base = {"kind": "shell", "dead": False, "command": "bash", "screen": "", "changed": False}
    return Signals(**{**base, **overrides})


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (HEADER + '[[rules]]\nname = "r"\nstate = "idle"\nwhy = "w"\ncolour = "red"\n', "colour"),
        (HEADER + 'mystery = 1\n[[rules]]\nname = "r"\nstate = "idle"\nwhy = "w"\n', "mystery"),
        (HEADER + '[[rules]]\nname = "r"\nstate = "sleeping"\nwhy = "w"\n', "state"),
        (HEADER + '[[rules]]\nname = "r"\nstate = "idle"\n', "why"),
        (HEADER + '[[rules]]\nname = "r"\nstate = "idle"\nwhy = "w"\nscreen_tail = 0\n', "screen_tail"),
        ('[[rules]]\nname = "r"\nstate = "idle"\nwhy = "w"\n', "shells"),
    ],
)
def test_invalid_rules_are_rejected(text: str, complaint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load_rules(text)
    assert complaint in str(caught.value)


def test_invalid_regex_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        _rules('[[rules]]\nname = "r"\nstate = "idle"\nwhy = "w"\nscreen = "(unclosed"\n')
    assert "screen" in str(caught.value)


def test_first_matching_rule_wins() -> None:
    rules = _rules(
        '[[rules]]\nname = "specific"\nstate = "waiting_for_input"\nwhy = "asked"\nscreen = "Proceed\\\\?"\n'
        '[[rules]]\nname = "general"\nstate = "idle"\nwhy = "prompt"\ncommand_in = ["@shells"]\n'
        '[[rules]]\nname = "never"\nstate = "working"\nwhy = "shadowed"\ncommand_in = ["@shells"]\n'
    )
    asked = detect(_signals(screen="Proceed?"), rules)
    assert (asked.state, asked.rule) == ("waiting_for_input", "specific")
    plain = detect(_signals(screen="$ "), rules)
    assert (plain.state, plain.rule, plain.why) == ("idle", "general", "prompt")
    nothing = detect(_signals(command="python3"), rules)
    assert (nothing.state, nothing.why, nothing.rule) == ("unknown", "no rule matched", "")


def test_command_substitution_and_shell_expansion() -> None:
    rules = _rules(
        '[[rules]]\nname = "busy"\nstate = "working"\nwhy = "{command} busy"\ncommand_not_in = ["@shells"]\n'
    )
    assert detect(_signals(command="make"), rules).why == "make busy"
    assert detect(_signals(command=""), rules).why == "? busy"  # unknown command: a placeholder, not ""
    assert detect(_signals(command="zsh"), rules).state == "unknown"  # @shells expanded from this file's list
    assert detect(_signals(command="fish"), rules).state == "working"  # not in this file's shells


def test_conditions_kinds_dead_changed_and_screen_tail() -> None:
    rules = _rules(
        '[[rules]]\nname = "claude-only"\nkinds = ["claude"]\nstate = "working"\nwhy = "k"\n'
        '[[rules]]\nname = "gone"\nstate = "exited"\nwhy = "d"\ndead = true\n'
        '[[rules]]\nname = "moving"\nstate = "working"\nwhy = "c"\nchanged = true\n'
        '[[rules]]\nname = "tail"\nstate = "waiting_for_input"\nwhy = "t"\nscreen = "^ASK$"\nscreen_tail = 2\n'
    )
    assert detect(_signals(kind="claude"), rules).rule == "claude-only"
    assert detect(_signals(dead=True), rules).rule == "gone"
    assert detect(_signals(changed=True), rules).rule == "moving"
    # Only the last 2 non-blank lines are searched; blank lines do not count.
    assert detect(_signals(screen="x\nASK\n\n\ny\n"), rules).rule == "tail"
    assert detect(_signals(screen="ASK\nx\ny\n"), rules).rule == ""


def test_rules_file_from_settings_is_used_by_the_watcher(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(HEADER + '[[rules]]\nname = "all"\nstate = "working"\nwhy = "custom rule for {command}"\n')
    rules = rules_from(path)
    assert detect(_signals(), rules).why == "custom rule for bash"
    path.write_text("not = [valid")
    with pytest.raises(BenchError) as raised:
        rules_from(path)
    assert (raised.value.code, raised.value.field) == ("config_invalid", "rules_file")


@pytest.mark.parametrize("content", [None, "not = [valid", 'shells = []\n[[rules]]\nname = "r"\n'])
async def test_bad_rules_file_is_config_invalid_and_leaks_nothing(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    path = tmp_path / "rules.toml"
    if content is not None:
        path.write_text(content)
    opened: list[Database] = []
    original = Database.open

    async def recording_open(*args: Any, **kwargs: Any) -> Database:
        db = await original(*args, **kwargs)
        opened.append(db)
        return db

    monkeypatch.setattr(Database, "open", staticmethod(recording_open))
    error: BaseException | None = None
    try:
        try:
            bench = await Bench.open(tmp_path / "home", settings=settings.model_copy(update={"rules_file": path}))
        except Exception as exc:  # today: FileNotFoundError, TOMLDecodeError, ValidationError
            error = exc
        else:
            await bench.close()
        leaked = [db for db in opened if db._conn._running]
        assert not leaked, "the database opened before the failure was left open"
        assert isinstance(error, BenchError), repr(error)
        assert (error.code, error.details.get("field")) == ("config_invalid", "rules_file")
    finally:
        for db in opened:
            if db._conn._running:
                await db.close()
