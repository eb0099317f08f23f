"""Backups of a home's database: written before every import and once a day by a running core (after the file
passed its integrity check), and restored by `relayboard repair`, which keeps the damaged file aside.

Every backup is written whole to a temporary name, flushed and renamed (Database.backup_to), so a kill while one is
written never leaves a partial file that would open as an empty database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import datetime
from pathlib import Path

from storage import migrations
from storage.db import Database, check_file

AUTO_PREFIX = "auto-"
KEEP_AUTO = 5


def backups(directory: Path) -> list[Path]:
    """Newest first (names carry a sortable UTC stamp; the file time breaks ties)."""
    found = [p for p in directory.glob("*.db") if p.is_file()]
    return sorted(found, key=lambda p: (p.name.rsplit("-", 1)[-1], p.stat().st_mtime), reverse=True)


async def daily(db: Database, directory: Path, now: datetime) -> Path | None:
    """A backup when the newest automatic one is more than a day old; the oldest beyond `KEEP_AUTO` go."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    autos = [p for p in backups(directory) if p.name.startswith(AUTO_PREFIX)]
    if autos and now.timestamp() - autos[0].stat().st_mtime < 24 * 3600:
        return None
    target = directory / f"{AUTO_PREFIX}relayboard-{now.strftime('%Y%m%dT%H%M%SZ')}.db"
    await db.backup_to(target)
    for old in autos[KEEP_AUTO - 1 :]:
        old.unlink(missing_ok=True)
    return target


async def latest_good(directory: Path) -> Path | None:
    """The newest backup that passes a full integrity check and whose schema this code can open."""
    for candidate in backups(directory):
        if (await check_file(candidate, None)).state != "ok":
            continue
        try:
            db = await Database.open_read_only(candidate)
        except Exception:
            continue
        try:
            if await migrations.current_version(db) <= migrations.latest_version():
                return candidate
        finally:
            await db.close()
    return None


def restore(backup: Path, database: Path, now: datetime) -> Path:
    """Put `backup` in place of `database`; the file that was there (and its -wal/-shm) moves aside first.
    Returns where the old file went."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    aside = database.with_name(f"{database.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{database}{suffix}")
        if old.exists():
            old.replace(Path(f"{aside}{suffix}"))
    tmp = database.with_name(f".{database.name}.restoring")
    shutil.copyfile(backup, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(database)
    return aside
