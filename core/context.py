"""What every subsystem shares: storage, time, settings, the recorder and the bus. Built once by Bench."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.audit import EventBus, Recorder
from core.clock import Clock, stamp
from core.config import Settings
from core.tmux import TmuxAdapter
from storage.db import Database


@dataclass(frozen=True)
class Context:
    home: Path
    db: Database
    clock: Clock
    settings: Settings
    recorder: Recorder
    bus: EventBus
    tmux: TmuxAdapter

    def now(self) -> str:
        return stamp(self.clock.now())
