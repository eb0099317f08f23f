"""storage.db and storage.migrations against real SQLite files."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import pytest

from core.bench import Bench
from core.config import Settings
from core.errors import BenchError
from storage import events as events_repo
from storage import migrations
from storage.db import (
    BUSY_TIMEOUT_MS,
    NETWORK_FILESYSTEMS,
    Database,
    JournalInfo,
    choose_journal,
    filesystem_type,
    split_sql,
)
from storage.errors import DatabaseCorruptError, SchemaTooNewError, StorageConflictError
from storage.models import Event

ALL_TABLES = {
    "agents",
    "panes",
    "events",
    "log_marks",
    "routes",
    "queue_messages",
    "processes",
    "schedules",
    "schedule_overrides",
    "memory_kv",
    "blackboard",
    "notes",
    "token_usage",
    "budgets",
    "budget_ledger",
    "leases",
    "settings",
    "log_attachments",
    "idempotency_keys",
    "schedule_runs",
    "ingest_offsets",
}


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _event(n: int, **overrides: object) -> Event:
    data: dict[str, object] = {
        "event_id": f"00000000-0000-0000-0000-{n:012d}",
        "timestamp": "2026-11-23T12:00:00.000000Z",
        "event_type": "note",
        "origin": "system",
        "surface_id": "headless",
        "trace_id": "t" * 32,
        "span_id": "s" * 16,
        "summary": f"event {n}",
    }
    data.update(overrides)
    return Event.model_validate(data)


@pytest.fixture
async def db(tmp_path: Path):
    opened = await Database.open(tmp_path / "relayboard.db", "wal")
    try:
        yield opened
    finally:
        await opened.close()


# -- migrations ------------------------------------------------------------------------------------------------


async def test_empty_file_is_migrated_to_the_latest_version_with_every_table(tmp_path: Path) -> None:
    path = tmp_path / "relayboard.db"
    db = await Database.open(path)
    try:
        versions = [tuple(r) for r in await db.fetchall("SELECT version, name FROM schema_migrations")]
        assert versions == [(m.version, m.name) for m in migrations.available()]
        assert versions[:2] == [(1, "initial"), (2, "managed_agents")]
        assert [v for v, _ in versions] == list(range(1, migrations.latest_version() + 1))  # no gaps
        assert await migrations.current_version(db) == migrations.latest_version()
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = ALL_TABLES - tables
        assert not missing, f"tables not created: {sorted(missing)}"
    finally:
        await db.close()


async def test_reopen_applies_nothing_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "relayboard.db"
    db = await Database.open(path)
    async with db.write() as w:
        await w.execute("INSERT INTO settings (key, value, updated_at) VALUES ('kept', '\"yes\"', 'now')")
    await db.close()

    db = await Database.open(path)
    try:
        assert await migrations.apply(db) == []
        assert await db.scalar("SELECT count(*) FROM schema_migrations") == migrations.latest_version()
        assert await db.scalar("SELECT value FROM settings WHERE key = 'kept'") == '"yes"'
    finally:
        await db.close()


async def test_version_1_database_is_upgraded_in_place_keeping_its_agents(tmp_path: Path) -> None:
    """A bench created before managed agents (schema v1) gains the launch columns with defaults on open."""
    path = tmp_path / "relayboard.db"
    initial = migrations.available()[0]
    assert (initial.version, initial.name) == (1, "initial")
    conn = sqlite3.connect(path)
    try:
        conn.executescript(initial.sql)
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO schema_migrations VALUES (1, 'initial', 'then')")
        conn.execute(
            "INSERT INTO agents (agent_id, name, role, kind, created_at, updated_at)"
            " VALUES ('a1', 'old-timer', 'worker', 'shell', 'then', 'then')"
        )
        conn.commit()
    finally:
        conn.close()

    db = await Database.open(path)
    try:
        assert await migrations.current_version(db) == migrations.latest_version()
        row = await db.fetchone("SELECT * FROM agents WHERE agent_id = 'a1'")
        assert row is not None
        assert (row["name"], row["managed"], row["command"], row["launch_cwd"]) == ("old-timer", 0, "", "")
        assert (row["launch_env"], row["screen_hash"]) == ("{}", "")
        assert await migrations.apply(db) == []
    finally:
        await db.close()


def test_split_sql_keeps_trigger_bodies_whole() -> None:
    script = (
        "-- a comment line\n"
        "CREATE TABLE t (x INTEGER);\n"
        "CREATE TRIGGER t_no_update BEFORE UPDATE ON t\nBEGIN\n    SELECT RAISE(ABORT, 'no; never');\nEND;\n"
        "INSERT INTO t VALUES (1);\n"
    )
    statements = split_sql(script)
    assert len(statements) == 3
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    assert not any(s.startswith("--") for s in statements)


async def test_schema_newer_than_this_build_is_refused_and_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "relayboard.db"
    db = await Database.open(path)
    await db.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')")
    conn.close()
    before = _fingerprint(path)

    with pytest.raises(SchemaTooNewError) as caught:
        await Database.open(path)
    assert caught.value.path == path and str(path) not in str(caught.value)  # the path is data, not message
    assert "999" in str(caught.value)
    assert caught.value.path == path
    assert _fingerprint(path) == before


async def test_schema_too_new_through_bench_is_database_unavailable(tmp_path: Path, settings: Settings) -> None:
    home = tmp_path / "home"
    bench = await Bench.open(home, settings=settings)
    await bench.close()
    path = home / "relayboard.db"
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')")
    conn.close()
    before = _fingerprint(path)

    with pytest.raises(BenchError) as caught:
        await Bench.open(home, settings=settings)
    assert caught.value.code == "database_unavailable"
    assert str(path) not in caught.value.message
    assert caught.value.details["path"] == str(path)
    assert _fingerprint(path) == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (999,)
    conn.close()


async def test_garbage_file_is_corrupt_and_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "relayboard.db"
    garbage = b"this is not a database, it is a shopping list\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(DatabaseCorruptError) as caught:
        await Database.open(path)
    assert caught.value.path == path and str(path) not in str(caught.value)  # the path is data, not message
    assert path.read_bytes() == garbage


# -- pragmas and journal modes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["wal", "delete"])
async def test_configured_journal_mode_is_what_sqlite_reports(tmp_path: Path, mode: str) -> None:
    db = await Database.open(tmp_path / "relayboard.db", mode)  # type: ignore[arg-type]
    try:
        assert await db.scalar("PRAGMA journal_mode") == mode
        assert db.journal == JournalInfo(mode, "configured")
    finally:
        await db.close()


async def test_busy_timeout_and_foreign_keys_are_on(db: Database) -> None:
    assert BUSY_TIMEOUT_MS >= 5000
    assert await db.scalar("PRAGMA busy_timeout") >= 5000
    assert await db.scalar("PRAGMA foreign_keys") == 1


@pytest.mark.parametrize("fstype", sorted(NETWORK_FILESYSTEMS))
def test_auto_journal_on_network_filesystem_is_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fstype: str
) -> None:
    monkeypatch.setattr("storage.db.filesystem_type", lambda path: fstype)
    assert choose_journal(tmp_path / "relayboard.db", "auto") == JournalInfo("delete", f"network filesystem ({fstype})")
    # An explicit choice wins over detection.
    assert choose_journal(tmp_path / "relayboard.db", "wal") == JournalInfo("wal", "configured")


@pytest.mark.parametrize("fstype", ["ext4", "xfs", "btrfs", "tmpfs", "overlay", ""])
def test_auto_journal_on_local_filesystem_is_wal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fstype: str) -> None:
    monkeypatch.setattr("storage.db.filesystem_type", lambda path: fstype)
    assert choose_journal(tmp_path / "relayboard.db", "auto") == JournalInfo("wal", "local filesystem")
    assert choose_journal(tmp_path / "relayboard.db", "delete") == JournalInfo("delete", "configured")


def test_filesystem_type_reads_proc_mounts() -> None:
    if not Path("/proc/mounts").exists():
        pytest.skip("no /proc/mounts on this platform")
    assert filesystem_type(Path("/proc/self")) == "proc"
    assert filesystem_type(Path("/")) != ""


async def test_auto_on_network_filesystem_opens_in_delete_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.db.filesystem_type", lambda path: "nfs4")
    db = await Database.open(tmp_path / "relayboard.db", "auto")
    try:
        assert await db.scalar("PRAGMA journal_mode") == "delete"
        assert db.journal.reason == "network filesystem (nfs4)"
    finally:
        await db.close()


# -- transactions -------------------------------------------------------------------------------------------------


async def test_write_rolls_back_everything_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.write() as w:
            await w.execute("INSERT INTO settings (key, value, updated_at) VALUES ('a', '1', 'now')")
            raise RuntimeError("boom")
    assert await db.scalar("SELECT count(*) FROM settings") == 0
    # The connection is usable afterwards (no transaction left open).
    async with db.write() as w:
        await w.execute("INSERT INTO settings (key, value, updated_at) VALUES ('b', '1', 'now')")
    assert await db.scalar("SELECT count(*) FROM settings") == 1


# Rollback-journal commits fsync every transaction; fewer rows keep that variant fast on real disks.
@pytest.mark.parametrize(("mode", "per_writer"), [("wal", 1000), ("delete", 250)])
async def test_two_connections_writing_concurrently_lose_nothing(tmp_path: Path, mode: str, per_writer: int) -> None:
    path = tmp_path / "relayboard.db"
    first = await Database.open(path, mode)  # type: ignore[arg-type]
    second = await Database.open(path, mode)  # type: ignore[arg-type]

    async def insert_many(db: Database, tag: str) -> None:
        for i in range(per_writer):
            async with db.write() as w:
                await events_repo.append(w, _event(i, event_id=f"{tag}-{i:06d}", summary=f"{tag} {i}"))

    try:
        await asyncio.gather(insert_many(first, "a"), insert_many(second, "b"))
        assert await first.scalar("SELECT count(*) FROM events") == 2 * per_writer
        for tag in ("a", "b"):
            assert await second.scalar("SELECT count(*) FROM events WHERE event_id LIKE ?", (f"{tag}-%",)) == per_writer
        assert await first.scalar("SELECT count(DISTINCT seq) FROM events") == 2 * per_writer
    finally:
        await first.close()
        await second.close()


async def test_open_waits_for_a_writer_in_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "relayboard.db"
    writer = await Database.open(path, "wal")
    second: Database | None = None
    try:
        async with writer.write() as w:
            await w.execute("INSERT INTO settings (key, value, updated_at) VALUES ('busy', '1', 'now')")
            opening = asyncio.create_task(Database.open(path, "wal"))
            await asyncio.sleep(0.5)  # well inside the 5 s busy timeout
        second = await opening
        assert await second.scalar("SELECT value FROM settings WHERE key = 'busy'") == "1"
    finally:
        await writer.close()
        if second is not None:
            await second.close()


# -- append-only tables -------------------------------------------------------------------------------------------


async def test_events_refuse_update_and_delete(db: Database) -> None:
    async with db.write() as w:
        await events_repo.append(w, _event(1))
    for sql in ("UPDATE events SET summary = 'rewritten'", "DELETE FROM events"):
        with pytest.raises(StorageConflictError) as caught:
            async with db.write() as w:
                await w.execute(sql)
        assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
        assert "events are append-only" in str(caught.value.__cause__)
    row = await db.fetchone("SELECT count(*) AS n, max(summary) AS s FROM events")
    assert (row["n"], row["s"]) == (1, "event 1")


async def test_budget_ledger_refuses_update_and_delete(db: Database) -> None:
    async with db.write() as w:
        await w.execute(
            "INSERT INTO budgets (budget_id, name, period, limit_usd, created_at)"
            " VALUES ('b1', 'daily', 'day', 10, 'x')"
        )
        await w.execute(
            "INSERT INTO budget_ledger (budget_id, amount_usd, reason, created_at) VALUES ('b1', 1.5, 'usage', 'x')"
        )
    for sql in ("UPDATE budget_ledger SET amount_usd = 0", "DELETE FROM budget_ledger"):
        with pytest.raises(StorageConflictError) as caught:
            async with db.write() as w:
                await w.execute(sql)
        assert "budget_ledger is append-only" in str(caught.value.__cause__)
    assert await db.scalar("SELECT sum(amount_usd) FROM budget_ledger") == 1.5


async def test_check_constraints_guard_closed_sets(db: Database) -> None:
    with pytest.raises(StorageConflictError) as caught:
        async with db.write() as w:
            await w.execute(
                "INSERT INTO agents (agent_id, name, role, kind, created_at, updated_at)"
                " VALUES ('a1', 'boss', 'boss', 'claude', 'x', 'x')"
            )
    assert "CHECK" in str(caught.value.__cause__)
    with pytest.raises(StorageConflictError) as caught:
        async with db.write() as w:
            await events_repo.append(w, _event(1).model_copy(update={"origin": "martian"}))
    assert "CHECK" in str(caught.value.__cause__)
    assert await db.scalar("SELECT count(*) FROM agents") == 0
    assert await db.scalar("SELECT count(*) FROM events") == 0


async def test_closing_twice_returns_at_once(tmp_path: Path) -> None:
    """aiosqlite's second close waited forever on its stopped thread: a bench closed by the client that owns it
    and then by the code that opened it hung (found by benchmarks/focus.py)."""

    bench = await Bench.open(tmp_path / "home")
    await asyncio.wait_for(bench.close(), 5)
    await asyncio.wait_for(bench.close(), 5)
    db = await Database.open(tmp_path / "other.db")
    await asyncio.wait_for(db.close(), 5)
    await asyncio.wait_for(db.close(), 5)
