"""Log marks on a real SQLite file: the size a log had at a time, truncation drops the marks past the new end, and
the oldest go beyond the cap. (The viewer's jump to a time through them: tests/tui/test_focus_view.py.)"""

from __future__ import annotations

from pathlib import Path

from storage import log_marks
from storage.db import Database


async def open_db(tmp_path: Path) -> Database:
    db = await Database.open(tmp_path / "relayboard.db")  # migrated to the latest schema on open
    async with db.write() as w:
        await w.execute(
            "INSERT INTO agents (agent_id, name, role, kind, created_at, updated_at) VALUES ('a1', 'lead', 'master',"
            " 'shell', '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z')"
        )
    return db


async def test_size_at_is_the_last_mark_at_or_before_the_time(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    try:
        async with db.write() as w:
            await log_marks.add(w, "a1", "2026-12-01T10:00:00.000000Z", 100)
            await log_marks.add(w, "a1", "2026-12-01T10:05:00.000000Z", 250)
        assert await log_marks.size_at(db, "a1", "2026-12-01T09:59:59.000000Z") == 0  # before any: the start
        assert await log_marks.size_at(db, "a1", "2026-12-01T10:00:00.000000Z") == 100
        assert await log_marks.size_at(db, "a1", "2026-12-01T10:04:59.000000Z") == 100
        assert await log_marks.size_at(db, "a1", "2026-12-01T11:00:00.000000Z") == 250
        assert await log_marks.last(db, "a1") == 250
        async with db.write() as w:
            await log_marks.drop_past(w, "a1", 120)  # truncated to 120 bytes
        assert await log_marks.last(db, "a1") == 100
        async with db.write() as w:
            for minute in range(10):
                await log_marks.add(w, "a1", f"2026-12-01T12:{minute:02d}:00.000000Z", 1000 + minute)
            await log_marks.prune(w, "a1", keep=3)
        rows = await db.fetchall("SELECT at FROM log_marks WHERE agent_id = 'a1' ORDER BY at")
        assert [r[0][11:16] for r in rows] == ["12:07", "12:08", "12:09"]
    finally:
        await db.close()
