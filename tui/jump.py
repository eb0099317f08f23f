"""Jumping to an agent's pane happens on the operator's side: it moves the operator's own tmux client, which a core
on another host could not do. Three cases:

- Relayboard runs inside the agents' tmux server: the client switches to the pane.
- It runs inside another tmux server (the operator's own, the agents on a private socket): the agent opens in a
  popup of the operator's server (tmux >= 3.2), else in a new window there, attached with TMUX unset (tmux refuses
  to nest otherwise).
- It runs outside tmux: the attach command is put on the clipboard (OSC 52, so it works over SSH) and said.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import BenchError

if TYPE_CHECKING:
    from textual.screen import Screen

    from core.models import Agent

POPUP_VERSION = (3, 2)


def attach_command(agent: Agent) -> str:
    socket = f" -L {shlex.quote(agent.socket)}" if agent.socket and agent.socket != "default" else ""
    return f"tmux{socket} attach -t {shlex.quote('=' + (agent.session_name or ''))}"


def socket_path(label: str | None) -> Path:
    """Where tmux keeps the server of socket name `label` (`-L`): $TMUX_TMPDIR or /tmp, tmux-<uid>/<label>."""
    base = Path(os.environ.get("TMUX_TMPDIR") or "/tmp")
    return base / f"tmux-{os.getuid()}" / (label or "default")


def operator_server() -> Path | None:
    """The socket of the tmux server Relayboard runs inside ($TMUX is `socket,pid,session`), or None."""
    value = os.environ.get("TMUX", "")
    return Path(value.split(",", 1)[0]) if value else None


async def _tmux(*args: str) -> tuple[int, str, str]:
    tmux = shutil.which("tmux")
    if tmux is None:
        return 127, "", "tmux is not installed"
    process = await asyncio.create_subprocess_exec(
        tmux, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace").strip(), err.decode(errors="replace").strip()


def _version(text: str) -> tuple[int, int]:
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


async def jump_to(agent: Agent) -> str:
    """Show the agent's pane in the operator's tmux; what happened, for the operator. Raises `conflict` with the
    attach command (also in `details.attach`, for the clipboard) when it cannot be done from here."""
    attach = attach_command(agent)
    here = operator_server()
    if here is None:
        raise BenchError(
            "conflict", f"Relayboard is not running inside tmux; attach with: {attach}", details={"attach": attach}
        )
    if not agent.pane_id or not agent.session_name:
        raise BenchError(
            "conflict", f"{agent.name} has no tmux pane to show; attach with: {attach}", details={"attach": attach}
        )
    if here.resolve() == socket_path(agent.socket).resolve():
        code, _, err = await _tmux("-S", str(here), "switch-client", "-t", agent.pane_id)
        if code != 0:
            why = err or "refused"
            raise BenchError(
                "conflict",
                f"tmux could not switch to {agent.name} ({why}); attach with: {attach}",
                details={"attach": attach},
            )
        return f"switched your tmux client to {agent.name}"
    # Another server: open the agent's session in the operator's one.
    nested = f"env -u TMUX {attach}"
    _, version, _ = await _tmux("-V")
    if _version(version) >= POPUP_VERSION:
        code, _, err = await _tmux(
            "-S", str(here), "display-popup", "-E", "-w", "95%", "-h", "95%", "-T", f" {agent.name} ", nested
        )
        if code == 0:
            return f"opened {agent.name} in a tmux popup"
    code, _, err = await _tmux("-S", str(here), "new-window", "-n", agent.name[:20], nested)
    if code != 0:
        why = err or "refused"
        raise BenchError(
            "conflict", f"tmux could not open {agent.name} ({why}); attach with: {attach}", details={"attach": attach}
        )
    return f"opened {agent.name} in a new window of your tmux"


async def jump_and_say(screen: Screen[object], agent: Agent) -> None:
    """Jump, and tell the operator how it went; when it cannot be done from here the attach command goes to the
    clipboard (OSC 52: the operator's terminal, also over SSH) and the toast says so."""
    from tui.screens.base import notify_failure

    try:
        said = await jump_to(agent)
    except BenchError as exc:
        attach = exc.details.get("attach")
        if isinstance(attach, str):
            screen.app.copy_to_clipboard(attach)
            exc = BenchError(exc.code, f"{exc.message} (copied to the clipboard)", details=exc.details)
        notify_failure(screen, exc, "jump")
        return
    screen.notify(said, timeout=4)
