"""Background loops the Bench owns: started with the core, probed for readiness, stopped with it.

A service is one small protocol (`start`, `stop`, `health`). `LoopService` is the common shape: `tick()` every
`interval` seconds. Its failures are contained: a failing tick is logged, counted and shown in the readiness row
of the subsystem the service serves (degraded, with the `service_failed` hint), and the loop carries on after an
exponential backoff. No exception from a service ever leaves it: the core stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.audit import Scope, calling_as
from core.clock import Clock
from core.errors import BenchError
from storage import backups
from storage.db import Database

log = logging.getLogger(__name__)
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0


@dataclass(frozen=True)
class ServiceHealth:
    running: bool
    failures: int = 0  # consecutive failed ticks; 0 once a tick succeeds again
    last_error: str = ""
    retry_in: float | None = None  # seconds until the next attempt after a failure


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> ServiceHealth: ...


def safe_message(exc: BaseException) -> str:
    """What may be shown of a failure: a core error's message, else only the exception's type (text leaks paths)."""
    return exc.message if isinstance(exc, BenchError) else type(exc).__name__


class LoopService:
    name = "service"

    def __init__(self, interval: Callable[[], float], scope: Scope) -> None:
        self._interval = interval
        self._scope = scope  # what its events are stamped with: the core itself, not whoever started it
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._last_error = ""
        self._retry_at: float | None = None

    async def tick(self) -> object:
        raise NotImplementedError

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"relayboard-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def health(self) -> ServiceHealth:
        retry_in = None if self._retry_at is None else max(0.0, self._retry_at - time.monotonic())
        return ServiceHealth(self.running, self._failures, self._last_error, retry_in)

    def backoff(self) -> float:
        return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, self._failures - 1))

    async def _run(self) -> None:
        with calling_as(self._scope):
            while True:
                try:
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._failures += 1
                    self._last_error = safe_message(exc)
                    delay = self.backoff()
                    self._retry_at = time.monotonic() + delay
                    log.exception("%s failed (%d in a row); retrying in %.0f s", self.name, self._failures, delay)
                    await asyncio.sleep(delay)
                    continue
                self._failures, self._last_error, self._retry_at = 0, "", None
                await asyncio.sleep(self._interval())


class IntegrityCheck:
    """Once per start, in the background: finishes the integrity check a start could not complete in its budget
    (a big database) — once it finds damage the database takes no more writes and readiness says so — and, on a
    file that passed, writes the day's backup for `relayboard repair` to restore."""

    name = "integrity_check"
    BUDGET = 120.0
    DELAY = 5.0  # after the start: the first screens come first (a 1 GB check takes a core for about a second)

    def __init__(self, db: Database, backups_dir: Path, clock: Clock) -> None:
        self.db = db
        self.backups_dir = backups_dir
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="relayboard-integrity-check")

    async def _run(self) -> None:
        try:
            result = self.db.integrity
            if result.state in ("unchecked", "incomplete"):
                await asyncio.sleep(self.DELAY)
                result = await self.db.check_integrity(self.BUDGET)
            if result.state == "damaged":
                log.error("the database failed its integrity check: %s", result.detail)
            elif result.state == "ok":
                await backups.daily(self.db, self.backups_dir, self.clock.now())
        except Exception:
            log.exception("integrity check or daily backup failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def health(self) -> ServiceHealth:
        return ServiceHealth(running=self._task is not None and not self._task.done())
