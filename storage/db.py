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
    DatabaseMissingError,
    DatabaseReadOnlyError,
    StorageConflictError,
    StorageError,
)

JournalPreference = Literal["auto", "wal", "delete"]
BUSY_TIMEOUT_MS = 5000
# A start checks a small file whole before anything is written (~30 ms for 32 MiB); a bigger one is left to the
# running core's background check, so a big bench does not pay a second of disk and CPU on every start.
OPEN_CHECK_MAX_BYTES = 32 * 1024 * 1024
OPEN_CHECK_SECONDS = 0.2
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
    """A sqlite failure as the storage error it means. Messages name no path (a remote client must not learn the
    host's layout): the path travels in `.path` for a local CLI to print."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, sqlite3.IntegrityError):
        # A constraint another writer won first (the same name adopted twice at once, …): a conflict, not damage.
        return StorageConflictError("a constraint of the database refused the change", path)
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return DatabaseLockedError("the database is locked by another process", path)
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return DatabaseCorruptError("the database file is corrupt or not a SQLite database", path)
    if "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text:
        return DatabaseReadOnlyError("the database cannot be opened for writing", path)
    if "disk is full" in text or "disk i/o" in text:
        return StorageError("the disk holding the database is full or failing", path)
    return StorageError(f"the database failed ({type(exc).__name__})", path)


@dataclass(frozen=True)
class Integrity:
    """What the last integrity check (`PRAGMA quick_check`) found."""

    state: Literal["unchecked", "ok", "damaged", "incomplete"]
    detail: str = ""


class Database:
    """The writer connection (pragmas applied, migrations run) and a query-only reader beside it."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, journal: JournalInfo, read_only: bool = False) -> None:
        self._conn = conn
        self._closed = False
        self._reader: aiosqlite.Connection | None = None
        self.path = path
        self.journal = journal
        self.read_only = read_only
        self.integrity = Integrity("unchecked")
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: Path, journal: JournalPreference = "auto", *, check_budget: float = OPEN_CHECK_SECONDS
    ) -> Database:
        """Open for writing: the integrity check first (nothing is written into a damaged file, not even the
        migrations), then pragmas, migrations and statistics. The check gets `check_budget` seconds: a small
        database is checked whole; a bigger one is left `incomplete` for `check_integrity` to finish later."""
        path = Path(path)
        if path.exists() and not os.access(path, os.R_OK):
            raise DatabaseReadOnlyError("the database file is not readable", path)
        info = choose_journal(path, journal)
        size = path.stat().st_size if path.exists() else 0
        if size == 0:
            integrity = Integrity("ok", "new database")
        elif size > OPEN_CHECK_MAX_BYTES:
            integrity = Integrity("incomplete", "deferred (a large file is checked in the background)")
        else:
            integrity = await check_file(path, check_budget)
            if integrity.state == "damaged":
                raise DatabaseCorruptError(f"the database failed its integrity check ({integrity.detail})", path)
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise _classify(exc, path) from exc
        conn.row_factory = sqlite3.Row
        db = cls(conn, path, info)
        db.integrity = integrity
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

    @classmethod
    async def open_read_only(cls, path: Path) -> Database:
        """For looking only (`relayboard doctor`): no pragma that writes, no migration, no statistics; the file and
        its checksum stay as they are. A file that does not exist is not created."""
        path = Path(path)
        if not path.exists():
            raise DatabaseMissingError("there is no database in this home yet", path)
        try:
            conn = await aiosqlite.connect(_read_only_uri(path), uri=True, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise _classify(exc, path) from exc
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            async with conn.execute("PRAGMA journal_mode") as cur:
                row = await cur.fetchone()
        except BaseException as exc:
            await conn.close()  # never leave the connection's thread behind (it keeps the process alive)
            if isinstance(exc, sqlite3.Error | OSError):
                raise _classify(exc, path) from exc
            raise
        mode = str(row[0]).lower() if row else "unknown"
        return cls(conn, path, JournalInfo(mode, "as found"), read_only=True)

    async def check_integrity(self, budget: float | None) -> Integrity:
        """Check the whole file (in at most `budget` seconds) and remember the answer: a damaged database takes no
        more writes."""
        self.integrity = await check_file(self.path, budget)
        return self.integrity

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
        """Close both connections; a second close does nothing (aiosqlite's would wait forever on its stopped
        thread)."""
        if self._closed:
            return
        self._closed = True
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
        """A `BEGIN IMMEDIATE` transaction: commit on success, roll back on any exception. Refused outright on a
        database that failed its integrity check (writing into a damaged file spreads the damage)."""
        if self.integrity.state == "damaged":
            raise DatabaseCorruptError(f"the database failed its integrity check ({self.integrity.detail})", self.path)
        if self.read_only:
            raise DatabaseReadOnlyError("this database was opened for reading only", self.path)
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
        """A consistent copy through SQLite's online backup API (safe while others write), written to a temporary
        file, flushed to disk and renamed into place: a kill half-way never leaves a partial file at `target` (one
        that would open as an empty database)."""
        tmp = target.with_name(f".{target.name}.partial")
        tmp.unlink(missing_ok=True)
        dest = await aiosqlite.connect(str(tmp))
        try:
            await self._conn.backup(dest)
        finally:
            await dest.close()
        await asyncio.to_thread(_fsync_and_rename, tmp, target)


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


def _fsync_and_rename(tmp: Path, target: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


async def check_file(path: Path, budget: float | None) -> Integrity:
    """`PRAGMA quick_check` of the file on a connection of its own, read-only, stopped after `budget` seconds (a
    1 GB database takes about a second warm, several cold; the bench must not wait for that on every start)."""
    try:
        conn = await aiosqlite.connect(_read_only_uri(path), uri=True, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        return Integrity("incomplete", f"could not be checked ({type(exc).__name__})")
    try:
        if budget is not None:
            deadline = time.monotonic() + budget
            await conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            async with conn.execute("PRAGMA quick_check(3)") as cur:
                rows = [str(r[0]) for r in await cur.fetchall()]
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc).lower():
                return Integrity("incomplete", f"not finished within {budget:g} s")
            return Integrity("damaged", _first_line(str(exc)))
        except sqlite3.DatabaseError as exc:
            return Integrity("damaged", _first_line(str(exc)))
        return Integrity("ok") if rows == ["ok"] else Integrity("damaged", "; ".join(rows)[:200])
    finally:
        await conn.close()


def _read_only_uri(path: Path) -> str:
    return f"{Path(os.path.abspath(path)).as_uri()}?mode=ro"


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else "unreadable"


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
