"""The Bench: the single entry point of the core. `await Bench.open(home)`, call, `await bench.close()`.

It wires the subsystems together and owns their lifetime, including the background services (`await
bench.start()`); the behaviour lives in the subsystem modules, each of which declares its `app.*` calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from core.agents import Agents
from core.audit import Recorder, Scope
from core.clock import Clock, SystemClock
from core.config import Settings, load_settings
from core.context import Context
from core.dashboard import DASHBOARD, Dashboard, DashboardParams, build_dashboard
from core.errors import BenchError
from core.events import Events
from core.keys import Keystrokes
from core.launcher import Launcher
from core.logs import Logs
from core.memory import Memory
from core.notices import NoticeHub
from core.processes import Processes
from core.prompts import Prompts
from core.queue import Queue
from core.readiness import READINESS, DatabaseState, Readiness, ReadinessReport, default_probes
from core.registry import DESCRIBE, Call, DescribeParams, Description, describe
from core.routes import Routes
from core.scheduler import Scheduler
from core.services import IntegrityCheck, Service
from core.sessions import APP_CONTRACT_VERSION, Sessions
from core.tmux import TmuxAdapter
from core.tokens import Tokens
from core.validation import Params, parse
from core.watcher import REFRESH_STATES, AgentWatcher, RefreshResult
from storage import backups, transfer
from storage import events as events_repo
from storage.db import Database
from storage.errors import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseMissingError,
    DatabaseReadOnlyError,
    ExportFailedError,
    ImportRejectedError,
    SchemaTooNewError,
    StorageConflictError,
    StorageError,
)
from storage.models import Surface

log = logging.getLogger(__name__)
DB_NAME = "relayboard.db"
AUDIT_NAME = "audit.jsonl"
READINESS_REUSE_SECONDS = 1.0  # a report this fresh, with no notice since, is reused (a refresh asks twice)
DOCTOR_CHECK_SECONDS = 10.0  # doctor checks the whole file, but gives up (and says so) on a huge one


def storage_hint(exc: StorageError) -> str | None:
    if isinstance(exc, DatabaseLockedError):
        return "database_locked"
    if isinstance(exc, DatabaseReadOnlyError):
        return "database_read_only"
    if isinstance(exc, DatabaseCorruptError):
        return "repair_database"
    if isinstance(exc, SchemaTooNewError):
        return None
    return "repair_database"  # missing with history, damaged, or failing: restore the latest good backup


def storage_failure(exc: StorageError) -> BenchError:
    """A storage failure as the closed code the operator sees (never `internal_error`)."""
    if isinstance(exc, StorageConflictError):
        return BenchError("conflict", "another change was made at the same time; reload and try again")
    return BenchError(
        "database_unavailable", str(exc), details={"path": str(exc.path or ""), "hint": storage_hint(exc)}
    )


def history_without_database(home: Path) -> str:
    """ "missing" or "empty" when the database is gone from a home that had one (its audit file or backups say
    so), so it must be restored, not silently recreated empty; "" otherwise."""
    path = home / DB_NAME
    state = "missing" if not path.exists() else "empty" if path.stat().st_size == 0 else ""
    if not state:
        return ""
    audit = home / AUDIT_NAME
    had_history = (audit.is_file() and audit.stat().st_size > 0) or any((home / "backups").glob("*.db"))
    return state if had_history else ""


def _prepare_home(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(
            "database_unavailable", "cannot create the home directory", details={"path": str(home)}
        ) from exc


class Bench:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.agents = Agents(ctx)
        self.launcher = Launcher(ctx, self.agents)
        self.logs = Logs(ctx, self.agents)
        self.watcher = AgentWatcher(ctx, self.agents, self.launcher, self.logs)
        self.queue = Queue(ctx, self.agents)
        self.keystrokes = Keystrokes(ctx, self.agents)
        self.prompts = Prompts(self.agents, self.keystrokes)
        self.routes = Routes(ctx)
        self.events = Events(ctx)
        self.memory = Memory(ctx)
        self.tokens = Tokens(ctx)
        self.processes = Processes(ctx)
        self.scheduler = Scheduler(ctx)
        self.sessions = Sessions(ctx)
        # Background loops, started by `start()`; the pipeline, scheduler, supervisor and token readers join here.
        self.integrity = IntegrityCheck(ctx.db, ctx.home / "backups", ctx.clock)
        self.services: list[Service] = [self.watcher, self.integrity]
        self._readiness = Readiness(
            default_probes(
                ctx.settings,
                ctx.tmux,
                ctx.recorder.audit_path,
                watcher=self.watcher.health,
                audit_outage=lambda: ctx.recorder.outage,
            ),
            ctx.clock,
        )
        self._last_report: tuple[float, int, ReadinessReport] | None = None
        self._closed = False
        owners = (self, self.agents, self.launcher, self.logs, self.queue, self.routes, self.events, self.memory)
        owners += (self.tokens, self.processes, self.scheduler, self.sessions, self.keystrokes, self.prompts)
        # By every class in each owner's MRO: a call is declared on the class that defines the method.
        self._owners: dict[type, object] = {cls: owner for owner in owners for cls in type(owner).__mro__}

    @classmethod
    async def open(
        cls,
        home: Path,
        *,
        clock: Clock | None = None,
        surface: Surface = "cli",
        settings: Settings | None = None,
    ) -> Bench:
        """Open (creating if needed) the bench in `home`. No in-memory fallback: storage failure is fatal.
        Messages a dead process left claimed are resolved (failed, `interrupted`) before anything else runs."""
        home = Path(home)
        _prepare_home(home)
        settings = settings or load_settings(home)
        lost = history_without_database(home)
        if lost:
            raise BenchError(
                "database_unavailable",
                f"the database is {lost}, but this home has history: restore it instead of starting empty",
                details={"path": str(home / DB_NAME), "hint": "repair_database"},
            )
        try:
            db = await Database.open(home / DB_NAME, settings.journal_mode)
        except StorageError as exc:
            log.warning("database open failed", exc_info=True)
            raise BenchError(
                "database_unavailable",
                str(exc),
                details={"path": str(exc.path or home / DB_NAME), "hint": storage_hint(exc)},
            ) from None
        try:
            clock = clock or SystemClock()
            hub = NoticeHub(await events_repo.last_seq(db))
            scope = Scope(settings.user_id, surface, settings.project_id)
            recorder = Recorder(home / AUDIT_NAME, clock, scope, hub, db)
            await recorder.load_outage()
            tmux = TmuxAdapter(settings.tmux_socket, settings.tmux_binary)
            bench = cls(
                Context(home=home, db=db, clock=clock, settings=settings, recorder=recorder, hub=hub, tmux=tmux)
            )
            await bench.queue.resolve_interrupted()
            return bench
        except StorageError as exc:
            await db.close()
            raise storage_failure(exc) from None
        except BaseException:
            await db.close()  # e.g. a bad rules_file: never leave the connection's thread behind
            raise

    async def start(self) -> None:
        """Start the background services (the TUI's in-process client and `relayboard headless` do)."""
        for service in self.services:
            await service.start()

    async def close(self) -> None:
        """Stop the services, flush the audit trail, close the database; closing again does nothing (the client
        that owns a bench and the code that opened it may both close it)."""
        if self._closed:
            return
        self._closed = True
        for service in reversed(self.services):
            await service.stop()
        await self.ctx.recorder.flush()
        await self.ctx.db.close()

    async def __aenter__(self) -> Bench:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def hub(self) -> NoticeHub:
        return self.ctx.hub

    @property
    def home(self) -> Path:
        return self.ctx.home

    def implementation(self, call: Call[Any, Any]) -> Any:
        """The bound method that serves `call` on this bench."""
        owner = self._owners.get(call.owner) if call.owner is not None else None
        if owner is None:
            raise BenchError("unknown_method", f"{call.name} is not served here", details={"method": call.name})
        return getattr(owner, call.attribute)

    @REFRESH_STATES.implementation
    async def refresh_states(self, params: Params | dict[str, Any] | None = None) -> RefreshResult:
        """Run one watcher pass now (scan, capture, detect); the watcher service also runs it every
        `watch_seconds`."""
        parse(Params, params)
        return RefreshResult(changed=await self.watcher.tick())

    @READINESS.implementation
    async def readiness(self, params: Params | dict[str, Any] | None = None) -> ReadinessReport:
        parse(Params, params)
        generation = self.ctx.hub.generation
        report = await self._readiness.report(DatabaseState(self.ctx.db, self.ctx.db.path))
        self._last_report = (time.monotonic(), generation, report)
        return report

    @DASHBOARD.implementation
    async def dashboard(self, params: DashboardParams | dict[str, Any] | None = None) -> Dashboard:
        """The dashboard pane asks for readiness and then for this (which carries the hints): the hints of a
        report at most a second old, with no notice since, are reused instead of probing everything twice."""
        p = parse(DashboardParams, params)
        report = None
        if self._last_report is not None:
            at, generation, last = self._last_report
            if generation == self.ctx.hub.generation and time.monotonic() - at <= READINESS_REUSE_SECONDS:
                report = last
        report = report or await self.readiness()
        return await build_dashboard(self.ctx, report.hints, p)

    @DESCRIBE.implementation
    async def describe(self, params: DescribeParams | dict[str, Any] | None = None) -> Description:
        parse(DescribeParams, params)
        return describe(APP_CONTRACT_VERSION)

    async def export_bench(self, target: Path, *, include_secrets: bool = False) -> transfer.ExportSummary:
        """The bench as one JSON file; launch environment values are left out unless `include_secrets`."""
        try:
            return await transfer.export_file(
                self.ctx.db, target, self.ctx.clock.now(), include_secrets=include_secrets
            )
        except ExportFailedError as exc:
            raise BenchError("validation_failed", str(exc), field="file", details={"path": str(exc.path)}) from None

    async def import_bench(self, source: Path) -> Path:
        """All-or-nothing import; returns the path of the backup written first."""
        try:
            backup = await transfer.import_file(self.ctx.db, source, self.home / "backups", self.ctx.clock.now())
        except ImportRejectedError as exc:
            raise BenchError("validation_failed", str(exc), field="file", details={"path": str(source)}) from None
        except StorageError as exc:
            raise storage_failure(exc) from None
        self.ctx.hub.publish_topic("bench")
        return backup


async def diagnose(home: Path, *, clock: Clock | None = None, settings: Settings | None = None) -> ReadinessReport:
    """Readiness for `relayboard doctor`, looking only: the database is opened read-only (never created, migrated
    or written: its checksum stays), checked whole within `DOCTOR_CHECK_SECONDS`, and reported even when it cannot
    be opened at all."""
    home = Path(home)
    settings = settings or load_settings(home)
    clock = clock or SystemClock()
    tmux = TmuxAdapter(settings.tmux_socket, settings.tmux_binary)
    readiness = Readiness(default_probes(settings, tmux, home / AUDIT_NAME), clock)
    path = home / DB_NAME
    lost = history_without_database(home)
    if lost:
        error = f"the database is {lost}, but this home has history: restore it (relayboard repair)"
        return await readiness.report(DatabaseState(None, path, error=error, error_hint="repair_database"))
    try:
        db = await Database.open_read_only(path)
    except DatabaseMissingError:
        return await readiness.report(DatabaseState(None, path, missing=True))
    except StorageError as exc:
        return await readiness.report(DatabaseState(None, path, error=str(exc), error_hint=storage_hint(exc)))
    try:
        await db.check_integrity(DOCTOR_CHECK_SECONDS)
        return await readiness.report(DatabaseState(db, path))
    except StorageError as exc:
        return await readiness.report(DatabaseState(None, path, error=str(exc), error_hint=storage_hint(exc)))
    finally:
        await db.close()


async def repair(home: Path, now: datetime) -> tuple[Path, Path]:
    """`relayboard repair`: the latest good backup in place of the database, the old file kept aside.
    Returns (backup restored, where the old file went). Refused while a core serves the home."""
    from core.client import preflight, socket_of

    if (await preflight(socket_of(home))).code == "ok":
        raise BenchError("conflict", "a Relayboard core serves this home: stop it (relayboard headless) first")
    backup = await backups.latest_good(home / "backups")
    if backup is None:
        raise BenchError(
            "not_found",
            "no backup in this home passes its integrity check; the database was left as it is",
            details={"path": str(home / "backups")},
        )
    aside = await asyncio.to_thread(backups.restore, backup, home / DB_NAME, now)
    return backup, aside
