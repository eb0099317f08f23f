"""Jumping to an agent's pane happens on the operator's side: it moves the operator's own tmux client, which a core
on another host could not do. Outside tmux (or when the switch fails) the operator gets the attach command."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
from typing import TYPE_CHECKING

from core.errors import BenchError

if TYPE_CHECKING:
    from core.models import Agent


def attach_command(agent: Agent) -> str:
    socket = f" -L {shlex.quote(agent.socket)}" if agent.socket and agent.socket != "default" else ""
    return f"tmux{socket} attach -t {shlex.quote(agent.session_name or '')}"


async def jump_to(agent: Agent) -> None:
    """Switch the operator's tmux client to the agent's pane, or raise `conflict` with how to get there."""
    attach = attach_command(agent)
    if not os.environ.get("TMUX"):
        raise BenchError("conflict", f"Relayboard is not running inside tmux; attach with: {attach}")
    tmux = shutil.which("tmux")
    if tmux is None or not agent.pane_id:
        raise BenchError("conflict", f"cannot switch to {agent.name}'s pane here; attach with: {attach}")
    socket = ["-L", agent.socket] if agent.socket and agent.socket != "default" else []
    process = await asyncio.create_subprocess_exec(
        tmux,
        *socket,
        "switch-client",
        "-t",
        agent.pane_id,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        why = err.decode(errors="replace").strip() or "tmux refused"
        raise BenchError("conflict", f"tmux could not switch to {agent.name} ({why}); attach with: {attach}")
