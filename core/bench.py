"""The Bench: the single entry point of the core. `await Bench.open(home)`, call, `await bench.close()`.

It wires the subsystems together and owns their lifetime; the behaviour lives in the subsystem modules.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.agents import Agents
from core.audit import EventBus, Recorder, Scope
from core.clock import Clock, SystemClock
from core.config import Settings, load_settings
from core.context import Context
from core.dashboard import Dashboard, build_dashboard
from core.errors import BenchError
from core.events import Events
from core.launcher import Launcher
from core.logs import Logs
from core.memory import Memory
from core.processes import Processes
from core.queue import Queue
from core.readiness import DatabaseState, ReadinessProbe, ReadinessReport
from core.routes import Routes
from core.scheduler import Scheduler
from core.tmux import TmuxAdapter
from core.tokens import Tokens
from core.validation import Params, parse
from core.watcher import AgentWatcher
from storage import transfer
from storage.db import Database
from storage.errors import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseReadOnlyError,
    ImportRejectedError,
    SchemaTooNewError,
    StorageError,
)
from storage.models import Surface

log = logging.getLogger(__name__)
DB_NAME = "relayboard.db"
AUDIT_NAME = "audit.jsonl"


def storage_hint(exc: StorageError) -> str | None:
    if isinstance(exc, DatabaseLockedError):
        return "database_locked"
    if isinstance(exc, DatabaseReadOnlyError):
        return "database_read_only"
    if isinstance(exc, DatabaseCorruptError):
        return "repair_database"
    if isinstance(exc, SchemaTooNewError):
        return None
    return "repair_database"


def _prepare_home(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(
            "database_unavailable", f"cannot create home directory {home}", details={"path": str(home)}
        ) from exc


class Bench:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.agents = Agents(ctx)
        self.launcher = Launcher(ctx, self.agents)
        self.logs = Logs(ctx, self.agents)
        self.watcher = AgentWatcher(ctx, self.agents, self.launcher, self.logs)
        self.queue = Queue(ctx, self.agents)
        self.routes = Routes(ctx)
        self.events = Events(ctx)
        self.memory = Memory(ctx)
        self.tokens = Tokens(ctx)
        self.processes = Processes(ctx)
        self.scheduler = Scheduler(ctx)
        self._probe = ReadinessProbe(ctx.settings, ctx.tmux, ctx.clock, ctx.recorder.audit_path)

    @classmethod
    async def open(
        cls,
        home: Path,
        *,
        clock: Clock | None = None,
        surface: Surface = "cli",
        settings: Settings | None = None,
    ) -> Bench:
        """Open (creating if needed) the bench in `home`. No in-memory fallback: storage failure is fatal."""
        home = Path(home)
        _prepare_home(home)
        settings = settings or load_settings(home)
        try:
            db = await Database.open(home / DB_NAME, settings.journal_mode)
        except StorageError as exc:
            log.warning("database open failed", exc_info=True)
            raise BenchError(
                "database_unavailable",
                str(exc),
                details={"path": str(exc.path or home / DB_NAME), "hint": storage_hint(exc)},
            ) from None
        clock = clock or SystemClock()
        bus = EventBus()
        recorder = Recorder(home / AUDIT_NAME, clock, Scope(settings.user_id, surface, settings.project_id), bus)
        tmux = TmuxAdapter(settings.tmux_socket, settings.tmux_binary)
        try:
            return cls(Context(home=home, db=db, clock=clock, settings=settings, recorder=recorder, bus=bus, tmux=tmux))
        except BaseException:
            await db.close()  # e.g. a bad rules_file: never leave the connection's thread behind
            raise

    async def close(self) -> None:
        await self.watcher.stop()
        await self.ctx.db.close()

    async def __aenter__(self) -> Bench:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def bus(self) -> EventBus:
        return self.ctx.bus

    @property
    def home(self) -> Path:
        return self.ctx.home

    async def refresh_states(self, params: dict[str, Any] | None = None) -> dict[str, int]:
        """Run one watcher pass now (scan, capture, detect); the TUI also runs it every `watch_seconds`."""
        parse(Params, params)
        return {"changed": await self.watcher.tick()}

    async def readiness(self, params: dict[str, Any] | None = None) -> ReadinessReport:
        parse(Params, params)
        state = DatabaseState(self.ctx.db, self.ctx.db.path)
        return await self._probe.run(
            state, audit_failed=self.ctx.recorder.jsonl_failed, watcher_running=self.watcher.running
        )

    async def dashboard(
        self, params: dict[str, Any] | None = None, *, readiness: ReadinessReport | None = None
    ) -> Dashboard:
        """`readiness`: a report the caller just made (the TUI has one per refresh), so it is not probed twice."""
        report = readiness or await self.readiness()
        return await build_dashboard(self.ctx, report.hints, params)

    async def export_bench(self, target: Path) -> dict[str, int]:
        return await transfer.export_file(self.ctx.db, target, self.ctx.clock.now())

    async def import_bench(self, source: Path) -> Path:
        """All-or-nothing import; returns the path of the backup written first."""
        try:
            backup = await transfer.import_file(self.ctx.db, source, self.home / "backups", self.ctx.clock.now())
        except ImportRejectedError as exc:
            raise BenchError("validation_failed", str(exc), field="file") from None
        except StorageError as exc:
            raise BenchError("database_unavailable", str(exc)) from None
        self.ctx.bus.publish_topic("bench")
        return backup


async def diagnose(home: Path, *, clock: Clock | None = None, settings: Settings | None = None) -> ReadinessReport:
    """Readiness for `relayboard doctor`: works even when the database cannot be opened."""
    home = Path(home)
    settings = settings or load_settings(home)
    clock = clock or SystemClock()
    try:
        bench = await Bench.open(home, clock=clock, settings=settings)
    except BenchError as exc:
        probe = ReadinessProbe(
            settings, TmuxAdapter(settings.tmux_socket, settings.tmux_binary), clock, home / AUDIT_NAME
        )
        state = DatabaseState(None, home / DB_NAME, error=exc.message, error_hint=exc.details.get("hint"))
        return await probe.run(state)
    async with bench:
        return await bench.readiness()
