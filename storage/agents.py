"""Agents and the tmux panes they sit in."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from storage.db import Database, Writer
from storage.models import Agent, Pane

AGENT_COLUMNS = (
    "agent_id",
    "name",
    "role",
    "capability",
    "kind",
    "label",
    "project_path",
    "socket",
    "pane_id",
    "session_name",
    "window_index",
    "pane_index",
    "managed",
    "state",
    "state_reason",
    "version",
    "created_at",
    "updated_at",
    "last_activity_at",
    "command",
    "launch_cwd",
    "launch_env",
)


async def get(db: Database, agent_id: str) -> Agent | None:
    row = await db.fetchone("SELECT * FROM agents WHERE agent_id = ?", (agent_id,))
    return Agent.from_row(row) if row else None


async def get_by_name(db: Database, name: str) -> Agent | None:
    row = await db.fetchone("SELECT * FROM agents WHERE name = ?", (name,))
    return Agent.from_row(row) if row else None


async def get_by_pane(db: Database | Writer, socket: str, pane_id: str) -> Agent | None:
    row = await db.fetchone("SELECT * FROM agents WHERE socket = ? AND pane_id = ?", (socket, pane_id))
    return Agent.from_row(row) if row else None


async def get_name(db: Database | Writer, agent_id: str | None) -> str:
    """The agent's name for messages; "(removed agent)" when it no longer exists."""
    row = await db.fetchone("SELECT name FROM agents WHERE agent_id = ?", (agent_id,))
    return str(row["name"]) if row else "(removed agent)"


async def insert(w: Writer, agent: Agent) -> None:
    data = agent.model_dump()
    data["launch_env"] = json.dumps(agent.launch_env)
    cols = ", ".join(AGENT_COLUMNS)
    marks = ", ".join(f":{c}" for c in AGENT_COLUMNS)
    await w.execute(f"INSERT INTO agents ({cols}) VALUES ({marks})", data)


async def update(w: Writer, agent_id: str, changes: dict[str, Any], now: str) -> None:
    sets = ", ".join(f"{column} = :{column}" for column in changes)
    await w.execute(
        f"UPDATE agents SET {sets}, version = version + 1, updated_at = :_now WHERE agent_id = :_id",
        {**changes, "_now": now, "_id": agent_id},
    )


async def set_observed(w: Writer, agent_id: str, changes: dict[str, Any]) -> None:
    """What the watcher observed (state, screen hash, activity): no version bump, it is not an edit."""
    sets = ", ".join(f"{column} = :{column}" for column in changes)
    await w.execute(f"UPDATE agents SET {sets} WHERE agent_id = :_id", {**changes, "_id": agent_id})


async def delete(w: Writer, agent_id: str) -> None:
    await w.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,))


async def upsert_panes(w: Writer, socket: str, panes: Iterable[Pane], now: str) -> None:
    """Record one scan: seen panes are alive, panes missing from it are marked dead, never deleted."""
    seen = list(panes)
    await w.executemany(
        "INSERT INTO panes (socket, pane_id, session_name, window_index, pane_index, pid, current_command,"
        " cwd, width, height, alive, first_seen, last_seen) VALUES (:socket, :pane_id, :session_name,"
        " :window_index, :pane_index, :pid, :current_command, :cwd, :width, :height, 1, :first_seen,"
        " :last_seen) ON CONFLICT (socket, pane_id) DO UPDATE SET session_name = excluded.session_name,"
        " window_index = excluded.window_index, pane_index = excluded.pane_index, pid = excluded.pid,"
        " current_command = excluded.current_command, cwd = excluded.cwd, width = excluded.width,"
        " height = excluded.height, alive = 1, last_seen = excluded.last_seen",
        [p.model_dump(exclude={"alive", "agent_id", "pipe_open", "activity"}) for p in seen],
    )
    ids = [p.pane_id for p in seen]
    marks = ",".join("?" for _ in ids)
    not_seen = f" AND pane_id NOT IN ({marks})" if ids else ""
    await w.execute(f"UPDATE panes SET alive = 0 WHERE socket = ?{not_seen}", [socket, *ids])


async def release_gone_panes(w: Writer, socket: str, live: Iterable[tuple[str, str]]) -> int:
    """Agents whose pane is not in this scan (pane id, session) let go of the id: tmux reuses ids from %0 after a
    restart, and a stale claim on one would refuse the agent that now sits in it (UNIQUE socket + pane id).
    The session name stays, so a managed agent is still found by it and re-linked."""
    pairs = list(live)
    if not pairs:
        return await w.execute("UPDATE agents SET pane_id = NULL WHERE socket = ? AND pane_id IS NOT NULL", (socket,))
    values = ", ".join("(?, ?)" for _ in pairs)
    return await w.execute(
        f"UPDATE agents SET pane_id = NULL WHERE socket = ? AND pane_id IS NOT NULL"
        f" AND (pane_id, coalesce(session_name, '')) NOT IN (VALUES {values})",
        [socket, *(item for pair in pairs for item in pair)],
    )


async def get_pane(db: Database, socket: str, pane_id: str) -> Pane | None:
    row = await db.fetchone(
        "SELECT p.*, a.agent_id FROM panes p LEFT JOIN agents a ON a.socket = p.socket AND a.pane_id = p.pane_id"
        " WHERE p.socket = ? AND p.pane_id = ?",
        (socket, pane_id),
    )
    return Pane.from_row(row) if row else None


async def list_panes(db: Database, socket: str) -> list[Pane]:
    rows = await db.fetchall(
        "SELECT p.*, a.agent_id FROM panes p LEFT JOIN agents a ON a.socket = p.socket AND a.pane_id = p.pane_id"
        " WHERE p.socket = ? ORDER BY p.alive DESC, p.session_name, p.window_index, p.pane_index",
        (socket,),
    )
    return [Pane.from_row(r) for r in rows]


async def pane_counts(db: Database, socket: str) -> dict[str, int]:
    row = await db.fetchone(
        "SELECT count(*) AS total, count(a.agent_id) AS registered FROM panes p LEFT JOIN agents a"
        " ON a.socket = p.socket AND a.pane_id = p.pane_id WHERE p.socket = ? AND p.alive = 1",
        (socket,),
    )
    total = int(row["total"]) if row else 0
    registered = int(row["registered"]) if row else 0
    return {"total": total, "registered": registered, "unregistered": total - registered}


async def waiting(db: Database, limit: int) -> list[Agent]:
    """Agents waiting for the operator, the longest-waiting first (their screen has been still the longest)."""
    rows = await db.fetchall(
        "SELECT * FROM agents WHERE state = 'waiting_for_input' ORDER BY last_activity_at, name LIMIT ?", (limit,)
    )
    return [Agent.from_row(r) for r in rows]
