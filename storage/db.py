"""The SQLite file of a Relayboard home: pragmas, journal mode, the writer path and the reader.

Writers go through `Database.write()`, which serialises writers inside this process with a lock and across
processes with `BEGIN IMMEDIATE`, so a second Relayboard window waits (busy_timeout) instead of failing
half-way through a transaction. Reads (`fetchall`, `fetchone`, `scalar`) run on a second, query-only connection:
a reader never sees rows another coroutine has written but not yet committed on the writer's connection.
Every sqlite error, in a read or inside a write, leaves here as a `StorageError` subclass, never raw.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from storage import migrations
from storage.errors import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseReadOnlyError,
    StorageConflictError,
    StorageError,
)

JournalPreference = Literal["auto", "wal", "delete"]
BUSY_TIMEOUT_MS = 5000
# WAL needs shared memory that network filesystems do not provide reliably; SQLite's own docs say so.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "afs", "ceph", "glusterfs", "lustre", "virtiofs"}
)


@dataclass(frozen=True)
class JournalInfo:
    mode: str  # what SQLite reports: "wal" or "delete"
    reason: str  # why this mode was chosen; shown by readiness


def filesystem_type(path: Path) -> str:
    """The mount type holding `path`, from /proc/mounts; "" when unknown (not Linux)."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return ""
    target = str(path.resolve())
    best, best_type = "", ""
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, best_type = mount, parts[2]
    return best_type


def choose_journal(path: Path, preference: JournalPreference) -> JournalInfo:
    if preference == "wal":
        return JournalInfo("wal", "configured")
    if preference == "delete":
        return JournalInfo("delete", "configured")
    fstype = filesystem_type(path.parent)
    if fstype in NETWORK_FILESYSTEMS:
        return JournalInfo("delete", f"network filesystem ({fstype})")
    return JournalInfo("wal", "local filesystem")


def _classify(exc: BaseException, path: Path) -> StorageError:
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, sqlite3.IntegrityError):
        # A constraint another writer won first (the same name adopted twice at once, …): a conflict, not damage.
        return StorageConflictError(f"database {path}: a constraint refused the change", path)
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return DatabaseLockedError(f"database {path} is locked by another process", path)
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return DatabaseCorruptError(f"database {path} is corrupt or not a SQLite file", path)
    if "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text:
        return DatabaseReadOnlyError(f"database {path} cannot be opened for writing", path)
    return StorageError(f"database {path} failed: {type(exc).__name__}", path)


class Database:
    """The writer connection (pragmas applied, migrations run) and a query-only reader beside it."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, journal: JournalInfo) -> None:
        self._conn = conn
        self._reader: aiosqlite.Connection | None = None
        self.path = path
        self.journal = journal
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, journal: JournalPreference = "auto") -> Database:
        path = Path(path)
        if path.exists() and not os.access(path, os.R_OK):
            raise DatabaseReadOnlyError(f"database {path} is not readable", path)
        info = choose_journal(path, journal)
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise _classify(exc, path) from exc
        conn.row_factory = sqlite3.Row
        db = cls(conn, path, info)
        try:
            await db._apply_pragmas()
            await migrations.apply(db)
            await db.refresh_statistics()
            db._reader = await db._open_reader()
        except BaseException as exc:
            await db.close()
            if isinstance(exc, sqlite3.Error | OSError):
                raise _classify(exc, path) from exc
            raise
        return db

    async def _open_reader(self) -> aiosqlite.Connection:
        reader = await aiosqlite.connect(str(self.path), isolation_level=None)
        reader.row_factory = sqlite3.Row
        try:
            await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await reader.execute("PRAGMA foreign_keys = ON")  # the same pragmas as the writer, so reads agree
            await reader.execute("PRAGMA query_only = ON")  # a read path that tried to write would fail loudly
        except BaseException:
            await reader.close()
            raise
        return reader

    async def _apply_pragmas(self) -> None:
        await self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await self._conn.execute("PRAGMA foreign_keys = ON")
        actual = await self._set_journal_mode()
        if actual != self.journal.mode:
            self.journal = JournalInfo(actual, f"SQLite refused {self.journal.mode}")
        await self._conn.execute("PRAGMA synchronous = NORMAL")
        # Touch the schema so a corrupt or foreign file fails here, not on the first query. The cursor is
        # drained and closed: an open read statement would keep a read lock, and a later BEGIN IMMEDIATE
        # that has to upgrade it fails at once instead of waiting busy_timeout.
        async with self._conn.execute("SELECT count(*) FROM sqlite_master") as cur:
            await cur.fetchall()

    async def refresh_statistics(self) -> None:
        """Bounded ANALYZE (a few ms even on a 1M-event bench): without statistics SQLite counts the last day's
        events by walking the whole (event_type, timestamp) index instead of skip-scanning it."""
        await self._conn.execute("PRAGMA analysis_limit = 400")
        async with self.write() as w:
            await w.execute("ANALYZE")

    async def _set_journal_mode(self) -> str:
        """Switching to WAL needs a moment alone with the file and SQLite does not wait for it (no busy
        handler), so two windows opening a new database at once retry here for up to busy_timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                async with self._conn.execute(f"PRAGMA journal_mode = {self.journal.mode}") as cur:
                    row = await cur.fetchone()
                return str(row[0]).lower() if row else "unknown"
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._reader.close()
            self._reader = None
        await self._conn.close()

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        conn = self._reader or self._conn  # the writer only while migrations run, before the reader exists
        try:
            async with conn.execute(sql, params) as cur:
                return list(await cur.fetchall())
        except sqlite3.Error as exc:
            raise _classify(exc, self.path) from exc

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return row[0] if row is not None else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Writer]:
        """A `BEGIN IMMEDIATE` transaction: commit on success, roll back on any exception."""
        async with self._write_lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _classify(exc, self.path) from exc
            try:
                yield Writer(self._conn, self.path)
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):  # a failed statement may have ended the transaction
                    await self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _classify(exc, self.path) from exc
                raise
            try:
                await self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    await self._conn.execute("ROLLBACK")
                raise _classify(exc, self.path) from exc

    async def backup_to(self, target: Path) -> None:
        """A consistent copy through SQLite's online backup API (safe while others write)."""
        dest = await aiosqlite.connect(str(target))
        try:
            await self._conn.backup(dest)
        finally:
            await dest.close()


class Writer:
    """What a write transaction may do. A sqlite error is raised as a `StorageError` (and `Database.write()`
    rolls back), so a busy, locked or full database reaches the caller as a closed code, never as a traceback."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    async def _cursor(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> aiosqlite.Cursor:
        try:
            return await self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _classify(exc, self._path) from exc

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        return (await self._cursor(sql, params)).rowcount

    async def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        return int((await self._cursor(sql, params)).lastrowid or 0)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        try:
            await self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _classify(exc, self._path) from exc

    async def executescript(self, script: str) -> None:
        # executescript would COMMIT our transaction first; run statements one by one instead.
        for statement in split_sql(script):
            await self._cursor(statement, ())

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        cur = await self._cursor(sql, params)
        try:
            return list(await cur.fetchall())
        except sqlite3.Error as exc:
            raise _classify(exc, self._path) from exc

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


def split_sql(script: str) -> list[str]:
    """Split a migration into complete statements (triggers contain `;` inside BEGIN…END)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
