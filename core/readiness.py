"""Readiness: one row per subsystem, in the order CONTRACTS.md fixes, aggregated, with hints.

Each row comes from a probe that the subsystem's owner provides (the agent watcher for `tmux_discovery`, the log
attachments for `log_attachment_workers`, …); a subsystem a later issue builds is a `NotBuilt` placeholder until
then, so adding a subsystem is a module and one line where the Bench lists its probes. Probes only read.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from core.audit import AuditOutage, recorded_outage
from core.clock import Clock, stamp
from core.config import Settings
from core.hints import Hint, HintTarget, make_hint
from core.registry import Call
from core.routes import ROUTING_SWITCH
from core.services import ServiceHealth
from core.tmux import TmuxAdapter
from core.validation import Params
from storage import migrations
from storage.db import Database
from storage.errors import StorageError
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
    state: Aggregate
    checked_at: str
    subsystems: list[Subsystem]
    hints: list[Hint]

    def subsystem(self, name: str) -> Subsystem:
        return next(s for s in self.subsystems if s.name == name)

    def hints_for(self, names: tuple[str, ...]) -> list[Hint]:
        return [h for h in self.hints if h.subsystem in names]


READINESS = Call("app.readiness", Params, ReadinessReport, "Every subsystem: ok, degraded or unavailable, with hints.")


@dataclass(frozen=True)
class DatabaseState:
    """What the bench knows about its database when readiness runs (db is None when it failed to open)."""

    db: Database | None
    path: Path
    error: str = ""
    error_hint: str | None = None
    missing: bool = False  # no database yet (a new home): the first open creates it


@dataclass(frozen=True)
class Facts:
    """Read once per report and shared by the probes."""

    database: DatabaseState
    counts: dict[str, int]


class Probe(Protocol):
    subsystem: str

    async def probe(self, facts: Facts, hints: list[Hint]) -> Subsystem: ...


def aggregate(rows: list[Subsystem]) -> Aggregate:
    if all(r.status == "ok" for r in rows):
        return "ready"
    if all(r.status == "unavailable" for r in rows):
        return "unavailable"
    return "degraded"


def service_failure(name: str, subsystem: str, health: ServiceHealth, hints: list[Hint]) -> Subsystem | None:
    """A degraded row for a service whose loop keeps failing (None while it is healthy)."""
    if not health.failures:
        return None
    retry = f"; retrying in {health.retry_in:.0f} s" if health.retry_in is not None else ""
    hints.append(make_hint("service_failed", subsystem))
    return Subsystem(
        name=subsystem,
        status="degraded",
        hint="service_failed",
        reason=f"{name} failed {health.failures} time(s) in a row ({health.last_error}){retry}",
    )


class TmuxProbe:
    subsystem = "tmux_discovery"

    def __init__(self, settings: Settings, tmux: TmuxAdapter, watcher: Callable[[], ServiceHealth] | None) -> None:
        self.settings = settings
        self.tmux = tmux
        self.watcher = watcher

    async def probe(self, facts: Facts, hints: list[Hint]) -> Subsystem:
        name = self.subsystem
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
        health = self.watcher() if self.watcher else ServiceHealth(running=False)
        failed = service_failure("agent watcher", name, health, hints)
        if failed is not None:
            return failed
        if facts.counts and facts.counts["agents"] == 0:
            hints.append(make_hint("register_first_agent", name))
        watching = f", states every {self.settings.watch_seconds:g} s" if health.running else ""
        return Subsystem(name=name, status="ok", detail=f"socket {self.tmux.socket_label}{watching}")


class SqliteProbe:
    subsystem = "sqlite"

    async def probe(self, facts: Facts, hints: list[Hint]) -> Subsystem:
        name = self.subsystem
        database = facts.database
        db = database.db
        if database.missing:
            return Subsystem(
                name=name,
                status="degraded",
                reason="no database yet; the first relayboard (or relayboard call) creates it",
            )
        if db is None:
            if database.error_hint:
                hints.append(make_hint(database.error_hint, name))
            return Subsystem(
                name=name, status="unavailable", reason=database.error or "database not open", hint=database.error_hint
            )
        integrity = db.integrity
        if integrity.state == "damaged":
            hints.append(make_hint("repair_database", name))
            return Subsystem(
                name=name,
                status="unavailable",
                hint="repair_database",
                reason=f"the database is damaged ({integrity.detail}); no writes until it is repaired",
            )
        await db.scalar("SELECT 1")
        version = await migrations.current_version(db)
        if version > migrations.latest_version():
            return Subsystem(
                name=name,
                status="unavailable",
                reason=f"the database has schema version {version}, newer than this Relayboard knows "
                f"({migrations.latest_version()}); upgrade Relayboard",
            )
        journal = db.journal
        checked = {"ok": "checked", "incomplete": f"check {integrity.detail}", "unchecked": "not checked yet"}
        detail = f"journal {journal.mode} ({journal.reason}), schema v{version}, integrity {checked[integrity.state]}"
        if version < migrations.latest_version():
            detail += f" (this Relayboard migrates it to v{migrations.latest_version()} on open)"
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


class JsonlProbe:
    """The audit file: writable now, and no outage open, whichever process of this home had it (recorded in the
    database, so a `doctor` in another terminal sees the core's outage)."""

    subsystem = "jsonl"

    def __init__(self, audit_path: Path, outage: Callable[[], AuditOutage | None]) -> None:
        self.audit_path = audit_path
        self.outage = outage

    async def probe(self, facts: Facts, hints: list[Hint]) -> Subsystem:
        name = self.subsystem
        path = self.audit_path
        if path.is_dir() or not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            hints.append(make_hint("audit_log_unwritable", name))
            return Subsystem(
                name=name, status="unavailable", reason="audit file is not writable", hint="audit_log_unwritable"
            )
        outage = self.outage()
        if outage is None and facts.database.db is not None:
            with contextlib.suppress(StorageError):
                outage = await recorded_outage(facts.database.db)
        if outage is not None:
            hints.append(make_hint("audit_log_unwritable", name))
            return Subsystem(
                name=name,
                status="degraded",
                reason=f"{outage.describe()}; last error: {outage.error}",
                hint="audit_log_unwritable",
            )
        return Subsystem(name=name, status="ok", detail="audit.jsonl writable")


class RoutingProbe:
    """The delivery worker is not built yet; the switch and the routes still have hints worth showing."""

    subsystem = "routing_worker"

    async def probe(self, facts: Facts, hints: list[Hint]) -> Subsystem:
        name = self.subsystem
        counts = facts.counts
        hint = None
        if facts.database.db is not None and not counts.get("routing_enabled", 1):
            hints.append(make_hint("routing_disabled", name))
            hint = "routing_disabled"
        elif counts.get("agents", 0) and not counts.get("routes_enabled", 0):
            hints.append(make_hint("enable_first_route", name))
            hint = "enable_first_route"
        return Subsystem(name=name, status="unavailable", reason=ROUTING_MISSING, hint=hint)


class AttachmentsProbe:
    subsystem = "log_attachment_workers"

    async def probe(self, facts: Facts, hints: list[Hint]) -> Subsystem:
        name = self.subsystem
        db = facts.database.db
        counts = facts.counts
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


class TokenSourcesProbe:
    subsystem = "token_sources"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def probe(self, facts: Facts, hints: list[Hint]) -> Subsystem:
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
                name=self.subsystem, status="unavailable", reason="no Claude Code or Codex log directories found"
            )
        return Subsystem(
            name=self.subsystem,
            status="degraded",
            detail=f"found: {', '.join(found)}",
            reason="log readers are not built yet; usage comes from app.tokens.record",
        )


class NotBuilt:
    """The row of a subsystem a later issue builds: unavailable, saying so."""

    def __init__(self, subsystem: str, reason: str) -> None:
        self.subsystem = subsystem
        self.reason = reason

    async def probe(self, facts: Facts, hints: list[Hint]) -> Subsystem:
        return Subsystem(name=self.subsystem, status="unavailable", reason=self.reason)


class Readiness:
    def __init__(self, probes: Sequence[Probe], clock: Clock) -> None:
        by_name = {p.subsystem: p for p in probes}
        if sorted(by_name) != sorted(SUBSYSTEMS) or len(by_name) != len(probes):
            raise ValueError(f"readiness needs exactly one probe per subsystem: {', '.join(SUBSYSTEMS)}")
        self.probes = [by_name[name] for name in SUBSYSTEMS]
        self.clock = clock

    async def report(self, database: DatabaseState) -> ReadinessReport:
        hints: list[Hint] = []
        facts = Facts(database, await _bench_counts(database.db))
        rows = [await probe.probe(facts, hints) for probe in self.probes]
        return ReadinessReport(state=aggregate(rows), checked_at=stamp(self.clock.now()), subsystems=rows, hints=hints)


def default_probes(
    settings: Settings,
    tmux: TmuxAdapter,
    audit_path: Path,
    *,
    watcher: Callable[[], ServiceHealth] | None = None,
    audit_outage: Callable[[], AuditOutage | None] = lambda: None,
) -> list[Probe]:
    """The probes of a bench; later subsystems replace their `NotBuilt` line here."""
    from core.processes import SUPERVISOR_MISSING
    from core.scheduler import SCHEDULER_MISSING

    return [
        TmuxProbe(settings, tmux, watcher),
        SqliteProbe(),
        JsonlProbe(audit_path, audit_outage),
        RoutingProbe(),
        AttachmentsProbe(),
        NotBuilt("scheduler", SCHEDULER_MISSING),
        NotBuilt("process_supervisor", SUPERVISOR_MISSING),
        TokenSourcesProbe(settings),
    ]


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
