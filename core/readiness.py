"""Readiness: one probe per subsystem, in the order CONTRACTS.md fixes, aggregated, with hints.

Probes only read. A subsystem that a later issue builds reports `unavailable` with that reason until then.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.clock import Clock, stamp
from core.config import Settings
from core.hints import Hint, HintTarget, make_hint
from core.processes import SUPERVISOR_MISSING
from core.routes import ROUTING_SWITCH
from core.scheduler import SCHEDULER_MISSING
from core.tmux import TmuxAdapter
from storage import migrations
from storage.db import Database
from storage.models import Model

Status = Literal["ok", "degraded", "unavailable"]
Aggregate = Literal["ready", "degraded", "unavailable"]
SUBSYSTEMS = (
    "tmux_discovery",
    "sqlite",
    "jsonl",
    "routing_worker",
    "log_attachment_workers",
    "scheduler",
    "process_supervisor",
    "token_sources",
)
ROUTING_MISSING = "delivery worker is not built yet; queued messages wait"


class Subsystem(Model):
    name: str
    status: Status
    reason: str = ""
    hint: str | None = None
    detail: str = ""


class ReadinessReport(Model):
    status: Aggregate
    checked_at: str
    subsystems: list[Subsystem]
    hints: list[Hint]

    def subsystem(self, name: str) -> Subsystem:
        return next(s for s in self.subsystems if s.name == name)

    def hints_for(self, names: tuple[str, ...]) -> list[Hint]:
        return [h for h in self.hints if h.subsystem in names]


@dataclass(frozen=True)
class DatabaseState:
    """What the bench knows about its database when readiness runs (db is None when it failed to open)."""

    db: Database | None
    path: Path
    error: str = ""
    error_hint: str | None = None


def aggregate(rows: list[Subsystem]) -> Aggregate:
    if all(r.status == "ok" for r in rows):
        return "ready"
    if all(r.status == "unavailable" for r in rows):
        return "unavailable"
    return "degraded"


class ReadinessProbe:
    def __init__(self, settings: Settings, tmux: TmuxAdapter, clock: Clock, audit_path: Path) -> None:
        self.settings = settings
        self.tmux = tmux
        self.clock = clock
        self.audit_path = audit_path

    async def run(
        self, database: DatabaseState, audit_failed: bool = False, watcher_running: bool = False
    ) -> ReadinessReport:
        hints: list[Hint] = []
        counts = await _bench_counts(database.db)
        rows = [
            await self._tmux(hints, counts, watcher_running),
            await self._sqlite(database, hints),
            self._jsonl(audit_failed, hints),
            self._routing(database.db is not None, counts, hints),
            await self._attachments(database.db, counts, hints),
            Subsystem(name="scheduler", status="unavailable", reason=SCHEDULER_MISSING),
            Subsystem(name="process_supervisor", status="unavailable", reason=SUPERVISOR_MISSING),
            self._tokens(),
        ]
        return ReadinessReport(status=aggregate(rows), checked_at=stamp(self.clock.now()), subsystems=rows, hints=hints)

    async def _tmux(self, hints: list[Hint], counts: dict[str, int], watcher_running: bool) -> Subsystem:
        name = "tmux_discovery"
        probe = await self.tmux.probe()
        if probe.binary is None:
            hints.append(make_hint("install_tmux", name))
            return Subsystem(name=name, status="unavailable", reason="tmux not found on PATH", hint="install_tmux")
        if not probe.alive:
            socket = self.tmux.socket_name
            command = f"tmux -L {socket} new-session -d" if socket else "tmux new-session -d"
            hints.append(make_hint("start_tmux_server", name, action=command))
            return Subsystem(
                name=name,
                status="unavailable",
                hint="start_tmux_server",
                reason=f"no tmux server on socket {self.tmux.socket_label!r}",
            )
        if counts and counts["agents"] == 0:
            hints.append(make_hint("register_first_agent", name))
        watching = f", states every {self.settings.watch_seconds:g} s" if watcher_running else ""
        return Subsystem(name=name, status="ok", detail=f"socket {self.tmux.socket_label}{watching}")

    async def _sqlite(self, database: DatabaseState, hints: list[Hint]) -> Subsystem:
        name = "sqlite"
        db = database.db
        if db is None:
            if database.error_hint:
                hints.append(make_hint(database.error_hint, name))
            return Subsystem(
                name=name, status="unavailable", reason=database.error or "database not open", hint=database.error_hint
            )
        await db.scalar("SELECT 1")
        version = await migrations.current_version(db)
        journal = db.journal
        detail = f"journal {journal.mode} ({journal.reason}), schema v{version}"
        writable = os.access(db.path, os.W_OK) and os.access(db.path.parent, os.W_OK)
        if not writable:
            hints.append(make_hint("database_read_only", name))
            return Subsystem(
                name=name, status="degraded", reason="database is read-only", hint="database_read_only", detail=detail
            )
        if journal.mode != "wal" and journal.reason != "configured":
            return Subsystem(
                name=name,
                status="degraded",
                detail=detail,
                reason=f"journal {journal.mode}: {journal.reason}; concurrent windows wait longer",
            )
        return Subsystem(name=name, status="ok", detail=detail)

    def _jsonl(self, audit_failed: bool, hints: list[Hint]) -> Subsystem:
        name = "jsonl"
        path = self.audit_path
        if path.is_dir() or not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            hints.append(make_hint("audit_log_unwritable", name))
            return Subsystem(
                name=name, status="unavailable", reason="audit file is not writable", hint="audit_log_unwritable"
            )
        if audit_failed:
            hints.append(make_hint("audit_log_unwritable", name))
            return Subsystem(
                name=name, status="degraded", reason="last audit append failed", hint="audit_log_unwritable"
            )
        return Subsystem(name=name, status="ok", detail="audit.jsonl writable")

    def _routing(self, db_open: bool, counts: dict[str, int], hints: list[Hint]) -> Subsystem:
        name = "routing_worker"
        hint = None
        if db_open and not counts.get("routing_enabled", 1):
            hints.append(make_hint("routing_disabled", name))
            hint = "routing_disabled"
        elif counts.get("agents", 0) and not counts.get("routes_enabled", 0):
            hints.append(make_hint("enable_first_route", name))
            hint = "enable_first_route"
        return Subsystem(name=name, status="unavailable", reason=ROUTING_MISSING, hint=hint)

    async def _attachments(self, db: Database | None, counts: dict[str, int], hints: list[Hint]) -> Subsystem:
        name = "log_attachment_workers"
        if db is None:
            return Subsystem(name=name, status="unavailable", reason="database not open")
        rows = await db.fetchall(
            "SELECT a.agent_id, a.name, l.reason FROM log_attachments l JOIN agents a USING (agent_id)"
            " WHERE l.state = 'degraded' ORDER BY +a.name"
        )
        for row in rows:
            hints.append(
                make_hint(
                    "attach_logs",
                    name,
                    HintTarget(kind="agent", id=row["agent_id"]),
                    action=f"agents pane (2): select {row['name']}, press l",
                )
            )
        if rows:
            worst = ", ".join(f"{r['name']}: {r['reason']}" for r in rows[:3])
            return Subsystem(
                name=name,
                status="degraded",
                hint="attach_logs",
                reason=f"{len(rows)} log attachment(s) degraded ({worst})",
            )
        if counts.get("agents", 0) and not counts.get("attachments_active", 0):
            hints.append(make_hint("attach_logs", name))
            return Subsystem(name=name, status="ok", hint="attach_logs", detail="no agent has its log attached")
        return Subsystem(name=name, status="ok", detail=f"{counts.get('attachments_active', 0)} attached")

    def _tokens(self) -> Subsystem:
        found = [
            label
            for label, path in (
                ("claude", self.settings.claude_home / "projects"),
                ("codex", self.settings.codex_home / "sessions"),
            )
            if path.is_dir()
        ]
        if not found:
            return Subsystem(
                name="token_sources", status="unavailable", reason="no Claude Code or Codex log directories found"
            )
        return Subsystem(
            name="token_sources",
            status="degraded",
            detail=f"found: {', '.join(found)}",
            reason="log readers are not built yet; usage comes from app.tokens.record",
        )


async def _bench_counts(db: Database | None) -> dict[str, int]:
    if db is None:
        return {}
    row = await db.fetchone(
        "SELECT (SELECT count(*) FROM agents) AS agents,"
        " (SELECT count(*) FROM routes WHERE enabled = 1) AS routes_enabled,"
        " (SELECT count(*) FROM log_attachments WHERE state = 'active') AS attachments_active,"
        " coalesce((SELECT value FROM settings WHERE key = ?), 'true') = 'true' AS routing_enabled",
        (ROUTING_SWITCH,),
    )
    return {k: int(v) for k, v in dict(row).items()} if row else {}
