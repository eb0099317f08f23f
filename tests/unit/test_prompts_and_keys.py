"""Prompt shapes on the recorded real screens, key sends through the guard with idempotency (real tmux panes), and
the tmux argument rule that dropped a trailing `;` from typed text."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from core.bench import Bench
from core.errors import BenchError
from core.keys import stored_key
from core.prompts import load_prompt_rules, recognise
from core.terminal_text import readable
from storage import key_sends

SCREENS = Path(__file__).resolve().parents[1] / "fixtures" / "screens"
INDEX = json.loads((SCREENS / "index.json").read_text())
EXPECTED_PROMPTS = {
    "claude_permission": "claude-permission-menu",
    "claude_permission_edit": "claude-permission-menu",
    "claude_permission_write": "claude-permission-menu",
    "codex_signin": "press-enter",
    "codex_approval": "codex-approval",
}


@pytest.mark.parametrize("name", sorted(INDEX))
def test_prompt_shapes_on_every_recorded_screen(name: str) -> None:
    found = recognise(INDEX[name]["kind"], (SCREENS / f"{name}.txt").read_text())
    assert (found.shape.id if found else None) == EXPECTED_PROMPTS.get(name)


def test_claude_menu_choices_are_read_from_the_screen() -> None:
    found = recognise("claude", (SCREENS / "claude_permission.txt").read_text())
    assert found is not None and found.question == "Do you want to proceed?"
    assert [(key, typed) for key, _, typed in found.choices] == [
        ("1", ("1",)),
        ("2", ("2",)),
        ("3", ("3",)),
        ("4", ("4",)),
    ]
    assert found.choices[0][1] == "Yes" and found.choices[3][1] == "No"
    assert found.shape.cancel == ("Escape",)


def test_codex_approval_choices_and_their_keys_are_read_from_the_screen() -> None:
    found = recognise("codex", (SCREENS / "codex_approval.txt").read_text())
    assert found is not None and found.question == "Would you like to run the following command?"
    assert [(key, label, typed) for key, label, typed in found.choices] == [
        ("y", "Yes, proceed", ("y",)),
        ("p", "Yes, and don't ask again for commands that start with `touch relayboard-was-here.txt`", ("p",)),
    ]
    assert found.shape.cancel == ("Escape",)  # Codex's third choice, "No, and tell Codex …", is its Esc
    assert recognise("claude", (SCREENS / "codex_approval.txt").read_text()) is None  # a Codex shape only


@pytest.mark.parametrize(
    ("screen", "shape", "keys"),
    [
        ("Continue? [y/N] ", "yes-no-default-no", ["y", "n", "enter"]),
        ("Overwrite? [Y/n]", "yes-no-default-yes", ["y", "n", "enter"]),
        ("Proceed (y/n)? ", None, None),  # the question mark after the choices: not the shape at the end
        ("Proceed (y/n) ", "yes-no", ["y", "n"]),
        ("Are you sure you want to continue connecting (yes/no)? ", None, None),
        ("Really delete? (yes/no) ", "yes-no-words", ["y", "n"]),
        ("Press Enter to continue...", "press-enter", ["enter"]),
        ("press any key to continue", "press-enter", ["enter"]),
        ("Continue? [y/N] y\n$ ", None, None),  # answered: the question is no longer the last line
        ("$ echo '[y/N]' done", None, None),
    ],
)
def test_shell_question_shapes(screen: str, shape: str | None, keys: list[str] | None) -> None:
    found = recognise("shell", screen)
    assert (found.shape.id if found else None) == shape
    if found is not None:
        assert [k for k, _, _ in found.choices] == keys


def test_a_bad_prompt_rule_names_its_field() -> None:
    with pytest.raises(ValueError, match="question"):
        load_prompt_rules('[[prompts]]\nid = "x"\nquestion = "("\nchoices = "fixed"\nfixed = []\n')
    with pytest.raises(ValueError, match="needs `choice`"):
        load_prompt_rules('[[prompts]]\nid = "x"\nquestion = "q"\nchoices = "numbered"\n')


def test_hostile_screens_never_raise() -> None:
    for screen in ["", "\x00\x1b[999m" * 1000, "[y/N]" * 10_000, "\ud800 [y/N]", "1. " * 5000 + "\nDo you want to x?"]:
        recognise("claude", screen)
        recognise("shell", screen)


# -- keys through real panes ----------------------------------------------------------------------------------
async def screen_of(bench: Bench, agent_id: str, needle: str, within: float = 5.0) -> str:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        screen = (await bench.agents.capture({"agent_id": agent_id})).screen
        if needle in screen or asyncio.get_running_loop().time() > deadline:
            return screen
        await asyncio.sleep(0.05)


async def test_keys_and_text_reach_the_pane(bench: Bench, adopt) -> None:
    agents = await adopt(bench, {"k1": "worker"})
    agent = agents["k1"]
    sent = await bench.keystrokes.send_keys(
        {"agent_id": agent.agent_id, "keys": [{"text": "echo keys-$((2+3))"}, {"key": "Enter"}]}
    )
    assert (sent.state, sent.deduplicated) == ("typed", False)
    assert "keys-5" in await screen_of(bench, agent.agent_id, "keys-5")


async def test_a_trailing_semicolon_is_typed(bench: Bench, adopt) -> None:
    """tmux read an argument ending in `;` as the end of the command: `echo semi;` was typed as `echo semi`."""
    agent = (await adopt(bench, {"k2": "worker"}))["k2"]
    await bench.queue.send_input({"target_agent_id": agent.agent_id, "payload": "echo semi-colon;", "submit": False})
    await bench.keystrokes.send_keys({"agent_id": agent.agent_id, "keys": [{"text": " echo after;"}, {"key": "Enter"}]})
    screen = await screen_of(bench, agent.agent_id, "after")
    assert "echo semi-colon; echo after;" in screen


async def test_an_idempotency_key_types_once_even_when_pressed_together(bench: Bench, adopt) -> None:
    agent = (await adopt(bench, {"k3": "worker"}))["k3"]
    press = {
        "agent_id": agent.agent_id,
        "keys": [{"text": "echo once-$((40+2))"}, {"key": "Enter"}],
        "idempotency_key": "p1",
    }
    results = await asyncio.gather(*(bench.keystrokes.send_keys(press) for _ in range(5)))
    assert sorted(r.deduplicated for r in results) == [False, True, True, True, True]
    screen = await screen_of(bench, agent.agent_id, "once-42")
    await asyncio.sleep(0.3)
    screen = (await bench.agents.capture({"agent_id": agent.agent_id})).screen
    assert screen.count("echo once-$((40+2))") == 1
    other = (await adopt(bench, {"k4": "worker"}))["k4"]
    with pytest.raises(BenchError) as caught:
        await bench.keystrokes.send_keys({**press, "agent_id": other.agent_id})
    assert (caught.value.code, caught.value.details.get("field")) == ("validation_failed", "idempotency_key")


async def test_a_claim_left_by_a_dead_process_is_failed_interrupted_not_retyped(bench: Bench, adopt) -> None:
    agent = (await adopt(bench, {"k5": "worker"}))["k5"]
    async with bench.ctx.db.write() as w:
        await key_sends.claim(w, stored_key("dead-1"), agent.agent_id, "[]", dead_claimer(), bench.ctx.now())
    again = await bench.keystrokes.send_keys(
        {"agent_id": agent.agent_id, "keys": [{"text": "echo retyped"}], "idempotency_key": "dead-1"}
    )
    assert (again.state, again.deduplicated, again.error) == ("failed", True, "interrupted")
    assert "retyped" not in (await bench.agents.capture({"agent_id": agent.agent_id})).screen


def dead_claimer() -> str:
    import socket

    return f"{socket.gethostname()}:999999999:1"


@pytest.mark.parametrize(
    "keys",
    [
        [{"key": "rm -rf"}],
        [{"key": "Enter", "text": "x"}],
        [{}],
        [{"text": ""}],
        [{"text": "a\nb"}],
        [{"text": "\x1b[2J"}],
        [{"text": "x\x00"}],
        [],
    ],
)
async def test_bad_keys_are_validation_failed_and_nothing_is_typed(bench: Bench, adopt, keys: list) -> None:
    agent = (await adopt(bench, {"k6": "worker"}))["k6"]
    with pytest.raises(BenchError) as caught:
        await bench.keystrokes.send_keys({"agent_id": agent.agent_id, "keys": keys})
    assert caught.value.code == "validation_failed"
    assert str(caught.value.details.get("field", "")).startswith("keys")


async def test_keys_respect_the_safe_send_guard(bench: Bench, adopt) -> None:
    agent = (await adopt(bench, {"k7": "worker"}))["k7"]
    await bench.keystrokes.send_keys({"agent_id": agent.agent_id, "keys": [{"text": "sleep 30"}, {"key": "Enter"}]})
    await asyncio.sleep(0.5)
    await bench.agents.scan({"wait": True})
    with pytest.raises(BenchError) as caught:
        await bench.keystrokes.send_keys({"agent_id": agent.agent_id, "keys": [{"text": "x"}]})
    assert (caught.value.code, caught.value.details.get("reason")) == ("conflict", "foreground_command")
    forced = await bench.keystrokes.send_keys({"agent_id": agent.agent_id, "keys": [{"key": "C-c"}], "force": True})
    assert forced.state == "typed"


async def test_queue_history_has_the_message_events_oldest_first_and_its_cause(bench: Bench, adopt) -> None:
    agent = (await adopt(bench, {"q1": "worker"}))["q1"]
    async with bench.ctx.db.write() as w:
        cause = await bench.ctx.recorder.stage(w, "test_failed", "tests failed in api", agent_id=agent.agent_id)
    bench.ctx.recorder.committed(cause)
    message, _ = await bench.queue.enqueue(
        target_agent_id=agent.agent_id,
        payload="look at the failure",
        sender="route",
        sender_role="master",
        source_event_id=cause.event_id,
        block_reason="awaiting_approval",
    )
    await bench.queue.approve({"message_id": message.message_id})
    await bench.queue.cancel({"message_id": message.message_id, "reason": "not now"})
    found = await bench.queue.history({"message_id": message.message_id})
    assert found.message.state == "canceled"
    kinds = [e.event_type for e in found.events]
    assert kinds == ["queue_message_enqueued", "queue_message_approved", "queue_message_canceled"]
    assert [e.seq for e in found.events] == sorted(e.seq for e in found.events)
    assert found.cause is not None and found.cause.event_id == cause.event_id
    other, _ = await bench.queue.enqueue(
        target_agent_id=agent.agent_id, payload="unrelated", sender="operator", sender_role="master"
    )
    assert all(e.payload.get("message_id") == message.message_id for e in found.events)
    assert (await bench.queue.history({"message_id": other.message_id})).cause is None


def test_log_text_is_what_the_screen_showed() -> None:
    raw = "a\x1b[31mred\x1b[0m\x1b[2J\x1b[H b\r\nprogress 10%\rprogress 100%\n\x1b]0;title\x07ok\x07\x08\n"
    assert readable(raw) == "a\x1b[31mred\x1b[0m b\nprogress 100%\nok\n"


async def test_log_tail_returns_the_end_whole_lines_and_says_it_was_cut(bench: Bench, adopt, tmp_path: Path) -> None:
    agent = (await adopt(bench, {"t1": "worker"}))["t1"]
    attachment = await bench.logs.attach({"agent_id": agent.agent_id})
    path = Path(attachment.path)
    path.write_text("".join(f"line {n:05d}\n" for n in range(5000)))  # 55,000 bytes
    tail = await bench.logs.tail({"agent_id": agent.agent_id, "max_bytes": 1000})
    assert tail.truncated and tail.size == 55_000
    lines = tail.text.splitlines()
    assert lines[-1] == "line 04999" and all(line.startswith("line ") and len(line) == 10 for line in lines)
    whole = await bench.logs.tail({"agent_id": agent.agent_id, "max_bytes": 1024 * 1024})
    assert not whole.truncated and whole.text.splitlines()[0] == "line 00000"
    path.unlink()
    with pytest.raises(BenchError) as caught:
        await bench.logs.tail({"agent_id": agent.agent_id})
    assert (caught.value.code, caught.value.details["reason"]) == ("log_attach_blocked", "unreadable")
    assert str(path) not in caught.value.message  # the path is in details, not the message
