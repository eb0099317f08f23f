"""Export → import round trips and all-or-nothing import, on real benches (real tmux panes, real SQLite)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from core.demo import seed_demo
from core.errors import BenchError
from storage import migrations, transfer


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _count(db_file: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


async def _add_budget_rows(bench: Bench) -> None:
    """No facade call writes budgets yet; put one budget and one ledger entry in through the writer."""
    async with bench.ctx.db.write() as w:
        await w.execute(
            "INSERT INTO budgets (budget_id, name, period, limit_usd, created_at)"
            " VALUES ('bud-1', 'daily', 'day', 25.0, '2026-11-23T00:00:00.000000Z')"
        )
        await w.execute(
            "INSERT INTO budget_ledger (budget_id, amount_usd, reason, created_at)"
            " VALUES ('bud-1', 2.84, 'demo usage', '2026-11-23T12:00:00.000000Z')"
        )


@pytest.fixture
async def seeded(bench: Bench, tmux_bin: str) -> Bench:
    await seed_demo(bench)
    await bench.routes.set_enabled({"enabled": False})
    await _add_budget_rows(bench)
    return bench


@pytest.mark.slow
async def test_export_import_export_round_trip(
    seeded: Bench, tmp_path: Path, settings: Settings, fixed_clock: FixedClock
) -> None:
    file_a = tmp_path / "a.json"
    counts = (await seeded.export_bench(file_a)).rows
    assert counts["agents"] == 5
    assert counts["panes"] == 6
    assert counts["routes"] == 3
    assert counts["queue_messages"] == 6
    assert counts["events"] > 0
    assert counts["settings"] == 1
    assert counts["budget_ledger"] == 1
    assert set(counts) == set(transfer.TABLES)
    assert not file_a.with_name("a.json.tmp").exists()

    second_home = tmp_path / "second"
    second = await Bench.open(second_home, settings=settings, clock=fixed_clock)
    try:
        backup = await second.import_bench(file_a)
        assert backup.parent == second_home / "backups"
        assert backup.exists() and backup.stat().st_size > 0
        assert _count(backup, "agents") == 0  # the backup is the state before the import: empty
        file_b = tmp_path / "b.json"
        await second.export_bench(file_b)
    finally:
        await second.close()

    doc_a, doc_b = _load(file_a), _load(file_b)
    assert doc_a["format"] == doc_b["format"] == "relayboard-export"
    assert doc_a["schema_version"] == doc_b["schema_version"] == migrations.latest_version()
    states = sorted(m["state"] for m in doc_a["tables"]["queue_messages"])
    # The demo types two messages into its shells (delivered); the rest wait in the queue.
    assert states == ["blocked", "blocked", "canceled", "delivered", "delivered", "queued"]
    assert doc_b["tables"] == doc_a["tables"]


@pytest.mark.slow
async def test_reimport_into_same_bench_keeps_append_only_rows_once(seeded: Bench, tmp_path: Path) -> None:
    file_a = tmp_path / "a.json"
    await seeded.export_bench(file_a)
    backup = await seeded.import_bench(file_a)
    assert (_count(backup, "agents"), _count(backup, "budget_ledger")) == (5, 1)
    file_b = tmp_path / "b.json"
    await seeded.export_bench(file_b)
    tables_a, tables_b = _load(file_a)["tables"], _load(file_b)["tables"]
    assert len(tables_b["events"]) == len(tables_a["events"])
    assert len(tables_b["budget_ledger"]) == 1
    assert tables_b == tables_a


def _corrupt_variants(source: dict[str, Any]) -> dict[str, str]:
    def with_tables(**changes: Any) -> str:
        doc = json.loads(json.dumps(source))
        doc["tables"].update(changes)
        return json.dumps(doc)

    agents = source["tables"]["agents"]
    boss = [{**agents[0], "role": "boss"}, *agents[1:]]
    wrong_marker = {**source, "format": "someone-elses-export"}
    newer_schema = {**source, "schema_version": migrations.latest_version() + 1}
    orphan_attachment = [
        {
            "agent_id": "no-such-agent",
            "path": "/tmp/x.log",
            "state": "active",
            "reason": "",
            "attached_at": "2026-11-23T12:00:00.000000Z",
            "updated_at": "2026-11-23T12:00:00.000000Z",
        }
    ]
    bad_event = [{**source["tables"]["events"][0], "event_id": "new-event", "origin": "martian"}]
    return {
        "not json": "{this is not json",
        "wrong format marker": json.dumps(wrong_marker),
        "newer schema": json.dumps(newer_schema),
        "check constraint (role boss)": with_tables(agents=boss),
        "unknown table": with_tables(passwords=[{"user": "root"}]),
        "unknown column": with_tables(notes=[{"note_id": "n1", "title": "t", "evil": "x"}]),
        "foreign key": with_tables(log_attachments=orphan_attachment),
        "bad event in last table": with_tables(events=bad_event),
    }


@pytest.mark.slow
async def test_corrupt_imports_are_rejected_and_change_nothing(seeded: Bench, tmp_path: Path) -> None:
    before_file = tmp_path / "before.json"
    await seeded.export_bench(before_file)
    before = _load(before_file)
    variants = _corrupt_variants(before)

    for label, content in variants.items():
        bad = tmp_path / f"bad-{label.replace(' ', '-')}.json"
        bad.write_text(content)
        with pytest.raises(BenchError) as caught:
            await seeded.import_bench(bad)
        assert caught.value.code == "validation_failed", label
        assert caught.value.details.get("field") == "file", label
        after_file = tmp_path / "after.json"
        await seeded.export_bench(after_file)
        assert _load(after_file)["tables"] == before["tables"], f"{label}: the database changed"

    messages = {}
    for label, content in variants.items():
        bad = tmp_path / "again.json"
        bad.write_text(content)
        with pytest.raises(BenchError) as caught:
            await seeded.import_bench(bad)
        messages[label] = caught.value.message
    assert messages["not json"] == "not a JSON document (line 1)"
    assert messages["wrong format marker"] == "not a Relayboard export (missing format marker)"
    latest = migrations.latest_version()
    assert messages["newer schema"] == f"export has schema version {latest + 1}, this database has {latest}"
    assert messages["unknown table"] == "export has unknown tables: passwords"
    assert "unknown columns: ['evil']" in messages["unknown column"]
    for label in ("check constraint (role boss)", "foreign key", "bad event in last table"):
        assert "nothing was changed" in messages[label], label


async def test_import_of_missing_file_is_validation_failed(bench: Bench, tmp_path: Path) -> None:
    with pytest.raises(BenchError) as caught:
        await bench.import_bench(tmp_path / "nope.json")
    assert caught.value.code == "validation_failed"
    assert caught.value.message == "cannot read the import file"
    assert caught.value.details["path"] == str(tmp_path / "nope.json")
    assert not (bench.home / "backups").exists()


async def test_rejected_document_writes_no_backup(bench: Bench, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "relayboard-export", "format_version": 99, "tables": {}}))
    with pytest.raises(BenchError) as caught:
        await bench.import_bench(bad)
    assert caught.value.message == "unsupported export format_version 99"
    assert not (bench.home / "backups").exists()


async def test_export_of_empty_bench_lists_every_table(bench: Bench, tmp_path: Path) -> None:
    target = tmp_path / "empty.json"
    summary = await bench.export_bench(target)
    assert summary.rows == dict.fromkeys(transfer.TABLES, 0)
    assert summary.left_out == []
    doc = _load(target)
    assert doc["format_version"] == 1
    assert doc["exported_at"] == "2026-11-23T12:00:00+00:00"
    assert sorted(doc["tables"]) == sorted(transfer.TABLES)
