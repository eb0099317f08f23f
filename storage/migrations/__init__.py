"""Numbered schema migrations (`NNNN_name.sql`), applied in order on open and recorded in
`schema_migrations`. Each runs in its own `BEGIN IMMEDIATE` transaction, so two processes opening the same
new file apply it once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING

from storage.errors import SchemaTooNewError

if TYPE_CHECKING:
    from storage.db import Database

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    return max(m.version for m in available())


async def current_version(db: Database) -> int:
    exists = await db.scalar("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'")
    if not exists:
        return 0
    return int(await db.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations") or 0)


async def apply(db: Database) -> list[int]:
    """Apply what is missing; refuse a database migrated by a newer Relayboard."""
    known = available()
    newest = known[-1].version
    applied: list[int] = []
    async with db.write() as w:
        await w.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    on_disk = await current_version(db)
    if on_disk > newest:
        raise SchemaTooNewError(
            f"the database has schema version {on_disk}, newer than this Relayboard knows ({newest}); "
            "upgrade Relayboard or point --home at another directory",
            db.path,
        )
    for migration in known:
        async with db.write() as w:
            done = await w.fetchone("SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,))
            if done:
                continue
            await w.executescript(migration.sql)
            await w.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            applied.append(migration.version)
    return applied
