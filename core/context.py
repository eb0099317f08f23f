"""What every subsystem shares: storage, time, settings, the recorder and the notice hub. Built once by Bench."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.audit import Recorder
from core.clock import Clock, stamp
from core.config import Settings
from core.notices import NoticeHub
from core.tmux import TmuxAdapter
from storage.db import Database


@dataclass(frozen=True)
class Context:
    home: Path
    db: Database
    clock: Clock
    settings: Settings
    recorder: Recorder
    hub: NoticeHub
    tmux: TmuxAdapter

    def now(self) -> str:
        return stamp(self.clock.now())
