"""Database integrity: damage is found (at open, or by the background check), nothing more is written into a
damaged file, a lost database in a home with history is not silently recreated, doctor only looks, and
`relayboard repair` restores the latest good backup with the damaged file kept aside."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
from pathlib import Path

import pytest

from core import calls
from core.bench import Bench, diagnose
from core.clock import FixedClock
from core.config import Settings
from core.errors import BenchError
from storage import backups
from storage.db import Database
from storage.errors import DatabaseCorruptError

pytestmark = pytest.mark.slow


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _bench_with_history(home: Path, settings: Settings, clock: FixedClock, notes: int = 300) -> None:
    bench = await Bench.open(home, settings=settings, clock=clock)
    try:
        for i in range(notes):
            await bench.memory.note_add({"title": f"note {i}", "body": "x" * 400})
    finally:
        await bench.close()
    with sqlite3.connect(home / "relayboard.db") as conn:  # everything in the main file, as after a clean close
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def damage_middle(path: Path) -> None:
    """Garbage over a page in the middle of the file (a bad disk block, a stray write): the page that holds the
    events table, so the damage lands on data whatever the schema's layout (the middle page itself was once the
    empty root page of a newly added table, which no check reads as damage)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        (page,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events'").fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
    with path.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(b"\xde\xad\xbe\xef" * (page_size // 4))


async def test_garbage_in_the_middle_is_found_at_open_and_nothing_is_written(
    bench_home: Path, settings: Settings, fixed_clock: FixedClock
) -> None:
    await _bench_with_history(bench_home, settings, fixed_clock)
    path = bench_home / "relayboard.db"
    damage_middle(path)
    before = digest(path)
    with pytest.raises(BenchError) as caught:
        await Bench.open(bench_home, settings=settings, clock=fixed_clock)
    assert caught.value.code == "database_unavailable"
    assert caught.value.details["hint"] == "repair_database"
    assert "integrity check" in caught.value.message and str(path) not in caught.value.message
    assert digest(path) == before  # no migration, no ANALYZE, no write of any kind
    report = await diagnose(bench_home, clock=fixed_clock, settings=settings)
    row = report.subsystem("sqlite")
    assert (row.status, row.hint) == ("unavailable", "repair_database")
    assert digest(path) == before


async def test_damage_found_after_open_stops_every_write(
    bench_home: Path, settings: Settings, fixed_clock: FixedClock
) -> None:
    await _bench_with_history(bench_home, settings, fixed_clock)
    bench = await Bench.open(bench_home, settings=settings, clock=fixed_clock)
    try:
        damage_middle(bench.ctx.db.path)
        assert (await bench.ctx.db.check_integrity(None)).state == "damaged"  # what the background check does
        result = await calls.envelope(bench, "app.memory.set", {"key": "k", "value": "v"})
        assert (result["ok"], result["error"]["code"]) == (False, "database_unavailable")
        assert result["error"]["details"]["hint"] == "repair_database"
        row = (await bench.readiness()).subsystem("sqlite")
        assert (row.status, row.hint) == ("unavailable", "repair_database")
        with pytest.raises(DatabaseCorruptError):
            async with bench.ctx.db.write():
                pass
    finally:
        await bench.close()


async def test_a_big_database_is_checked_in_the_background_then_backed_up(
    bench_home: Path, settings: Settings, fixed_clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _bench_with_history(bench_home, settings, fixed_clock)
    db = await Database.open(bench_home / "relayboard.db", check_budget=0.0)
    assert db.integrity.state == "incomplete"  # a start that could not wait for the check
    await db.close()
    monkeypatch.setattr("storage.db.OPEN_CHECK_MAX_BYTES", 1024)  # a "large" file: checked after the start
    monkeypatch.setattr("core.services.IntegrityCheck.DELAY", 0.0)
    bench = await Bench.open(bench_home, settings=settings, clock=fixed_clock)
    try:
        assert bench.ctx.db.integrity.state == "incomplete"
        await bench.start()
        for _ in range(100):
            if list((bench_home / "backups").glob("auto-*.db")):
                break
            await asyncio.sleep(0.05)
        assert bench.ctx.db.integrity.state == "ok"
        (auto,) = (bench_home / "backups").glob("auto-*.db")
        assert (await backups.latest_good(bench_home / "backups")) == auto
        detail = (await bench.readiness()).subsystem("sqlite").detail
        assert detail.endswith("integrity checked")
    finally:
        await bench.close()
    again = await Bench.open(bench_home, settings=settings, clock=fixed_clock)
    try:
        await again.start()
        await asyncio.sleep(0.3)
        assert len(list((bench_home / "backups").glob("auto-*.db"))) == 1  # one a day, not one a start
    finally:
        await again.close()


@pytest.mark.parametrize("how", ["missing", "empty"])
async def test_a_lost_database_in_a_home_with_history_is_not_recreated_empty(
    bench_home: Path, settings: Settings, fixed_clock: FixedClock, how: str
) -> None:
    await _bench_with_history(bench_home, settings, fixed_clock, notes=3)
    path = bench_home / "relayboard.db"
    for side in bench_home.glob("relayboard.db*"):
        side.unlink()
    if how == "empty":
        path.write_bytes(b"")
    with pytest.raises(BenchError) as caught:
        await Bench.open(bench_home, settings=settings, clock=fixed_clock)
    assert caught.value.code == "database_unavailable" and caught.value.details["hint"] == "repair_database"
    assert f"the database is {how}, but this home has history" in caught.value.message
    assert path.exists() == (how == "empty") and (not path.exists() or path.stat().st_size == 0)
    row = (await diagnose(bench_home, clock=fixed_clock, settings=settings)).subsystem("sqlite")
    assert (row.status, row.hint) == ("unavailable", "repair_database")


async def test_an_empty_database_in_a_new_home_is_simply_created(
    bench_home: Path, settings: Settings, fixed_clock: FixedClock
) -> None:
    bench_home.mkdir(parents=True)
    (bench_home / "relayboard.db").write_bytes(b"")  # e.g. touched by hand before the first start
    async with await Bench.open(bench_home, settings=settings, clock=fixed_clock) as bench:
        assert (await bench.readiness()).subsystem("sqlite").status == "ok"


async def test_doctor_on_a_new_home_creates_nothing(
    tmp_path: Path, settings: Settings, fixed_clock: FixedClock
) -> None:
    home = tmp_path / "new"
    home.mkdir()
    row = (await diagnose(home, clock=fixed_clock, settings=settings)).subsystem("sqlite")
    assert (row.status, row.reason) == (
        "degraded",
        "no database yet; the first relayboard (or relayboard call) creates it",
    )
    assert list(home.iterdir()) == []


async def test_a_backup_is_never_left_half_written(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "backup.db"

    def killed(tmp: Path, final: Path) -> None:  # the process dies between writing and renaming
        raise KeyboardInterrupt

    monkeypatch.setattr("storage.db._fsync_and_rename", killed)
    with pytest.raises(KeyboardInterrupt):
        await bench.ctx.db.backup_to(target)
    assert not target.exists()  # nothing that would open as an empty database
    monkeypatch.undo()
    await bench.ctx.db.backup_to(target)
    assert target.exists() and (await backups.latest_good(tmp_path)) == target
    assert not list(tmp_path.glob(".*partial"))


def test_repair_restores_the_latest_good_backup_and_keeps_the_damaged_file(
    run_cli, cli_home: Path, tmp_path: Path
) -> None:
    assert run_cli("call", "app.note.add", '{"title": "before the damage"}', home=cli_home).returncode == 0
    # A good backup (what every import and the daily check write), then more work, then damage.
    export = tmp_path / "bench.json"
    assert run_cli("export", str(export), home=cli_home).returncode == 0
    assert run_cli("import", str(export), home=cli_home).returncode == 0
    with sqlite3.connect(cli_home / "relayboard.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    older_bad = cli_home / "backups" / "relayboard-99990101T000000000000Z.db"  # newest by name, but damaged
    older_bad.write_bytes(b"not a database at all" * 100)
    damage_middle(cli_home / "relayboard.db")
    damaged = digest(cli_home / "relayboard.db")
    doctor = run_cli("doctor", home=cli_home)
    assert doctor.returncode == 2, doctor.stdout  # storage down: 2, whatever else is up

    done = run_cli("repair", home=cli_home)
    assert done.returncode == 0, done.stderr
    (aside,) = [p for p in cli_home.glob("relayboard.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert digest(aside) == damaged
    assert "restored" in done.stdout and str(aside) in done.stdout and "99990101" not in done.stdout
    notes = run_cli("call", "app.note.list", home=cli_home).json()["result"]["rows"]
    assert [n["title"] for n in notes] == ["before the damage"]


def test_repair_without_a_good_backup_changes_nothing(run_cli, cli_home: Path) -> None:
    assert run_cli("call", "app.readiness", home=cli_home).returncode == 0
    before = digest(cli_home / "relayboard.db")
    done = run_cli("repair", home=cli_home)
    assert done.returncode == 1
    assert done.stderr.startswith("error: not_found: no backup in this home passes its integrity check")
    assert digest(cli_home / "relayboard.db") == before
