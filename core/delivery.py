"""Typing into an agent's pane, behind the safe-send guard: never type into a pane whose foreground command is
not the agent's expected one (the operator opened vim, the agent crashed to a shell) unless forced."""

from __future__ import annotations

from typing import Protocol

from core.context import Context
from core.errors import BenchError
from storage.models import Agent, Pane

# What the foreground command of a healthy agent of each kind looks like (Claude Code and Codex run on node).
EXPECTED_COMMANDS: dict[str, frozenset[str]] = {
    "claude": frozenset({"claude", "node"}),
    "codex": frozenset({"codex", "node"}),
    "shell": frozenset({"bash", "zsh", "sh", "fish", "dash", "ksh"}),
}


class LivePanes(Protocol):
    async def live_pane(self, agent: Agent) -> Pane | None:
        """The agent's pane as tmux shows it now (None when it is gone)."""
        ...


def guard(agent: Agent, pane: Pane | None, force: bool) -> None:
    if pane is None or not pane.alive:
        raise BenchError(
            "conflict",
            f"{agent.name}'s pane is gone or dead; nothing was typed",
            details={"reason": "target_unavailable"},
        )
    expected = EXPECTED_COMMANDS.get(agent.kind)
    if expected and pane.current_command not in expected and not force:
        raise BenchError(
            "conflict",
            f"{agent.name}'s pane runs {pane.current_command!r}, not {agent.kind}; nothing was typed "
            "(send with force to type anyway)",
            details={"reason": "foreground_command", "command": pane.current_command},
        )


# Codex (0.169) takes keys that arrive in one burst for a paste, and an Enter inside a paste becomes a newline in
# its composer: the task was typed but never submitted (seen with the real CLI, tests/agents/test_relayboard_codex.py).
# Its Enter goes on its own, after a pause.
ENTER_AFTER_SECONDS = {"codex": 0.3}


async def type_into(ctx: Context, agent: Agent, pane: Pane | None, text: str, *, submit: bool, force: bool) -> None:
    guard(agent, pane, force)
    assert pane is not None
    await ctx.tmux.send_text(pane.pane_id, text, submit, ENTER_AFTER_SECONDS.get(agent.kind, 0.0))


async def press_into(ctx: Context, agent: Agent, pane: Pane | None, strokes: list[list[str]], *, force: bool) -> None:
    """Keys, behind the same guard as typed text: each stroke is send-keys arguments (a key name or `-l -- x`)."""
    guard(agent, pane, force)
    assert pane is not None
    await ctx.tmux.send_keys(pane.pane_id, strokes)
