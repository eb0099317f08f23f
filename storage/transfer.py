"""Move a bench between hosts as one JSON document.

Import is all-or-nothing: the document is validated, the database is backed up (timestamped copy), then every
table is replaced in one `BEGIN IMMEDIATE` transaction. Append-only tables (events, budget_ledger) are never
deleted from, even by an import: their rows are appended when not already present.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage import migrations
from storage.db import Database
from storage.errors import ExportFailedError, ImportRejectedError

FORMAT = "relayboard-export"
FORMAT_VERSION = 1
# Parents before children, so inserts satisfy foreign keys; deletes run in reverse.
TABLES = (
    "settings",
    "panes",
    "agents",
    "log_attachments",
    "log_marks",
    "routes",
    "queue_messages",
    "idempotency_keys",
    "key_sends",
    "processes",
    "schedules",
    "schedule_overrides",
    "schedule_runs",
    "memory_kv",
    "blackboard",
    "notes",
    "token_usage",
    "ingest_offsets",
    "budgets",
    "leases",
    "events",
    "budget_ledger",
)
APPEND_ONLY = {"events": "event_id", "budget_ledger": "entry_id"}
# Row order is part of the document so that export → import → export is byte-for-byte equal.
_ORDER = {"events": "seq", "budget_ledger": "entry_id", "token_usage": "usage_id"}
_INTERNAL_COLUMNS = {"events": {"seq"}}


async def _columns(db: Database, table: str) -> list[str]:
    rows = await db.fetchall(f"PRAGMA table_info({table})")
    hidden = _INTERNAL_COLUMNS.get(table, set())
    return [str(r["name"]) for r in rows if r["name"] not in hidden]


@dataclass(frozen=True)
class LeftOut:
    """Launch environment values of one agent that the export did not write (names only)."""

    agent: str
    env: list[str]


@dataclass(frozen=True)
class ExportSummary:
    rows: dict[str, int]
    left_out: list[LeftOut] = field(default_factory=list)


def _strip_env(rows: list[dict[str, Any]]) -> list[LeftOut]:
    """Launch env values may be API keys: keep the names, drop the values (`--include-secrets` keeps them)."""
    left_out = []
    for row in rows:
        env = json.loads(row.get("launch_env") or "{}")
        if env:
            left_out.append(LeftOut(str(row["name"]), sorted(env)))
            row["launch_env"] = json.dumps(dict.fromkeys(env, ""))
    return left_out


async def export_document(
    db: Database, now: datetime | None = None, *, include_secrets: bool = False
) -> tuple[dict[str, Any], list[LeftOut]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in TABLES:
        columns = await _columns(db, table)
        order = _ORDER.get(table, "rowid")
        rows = await db.fetchall(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
        tables[table] = [dict(r) for r in rows]
    left_out = [] if include_secrets else _strip_env(tables["agents"])
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_version": await migrations.current_version(db),
        "exported_at": (now or datetime.now(UTC)).isoformat(),
        "tables": tables,
        "secrets_left_out": [{"agent": item.agent, "env": item.env} for item in left_out],
    }
    return document, left_out


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise ExportFailedError("the export target is a directory; give a file name in it, e.g. bench.json", target)
    if not target.parent.is_dir():
        raise ExportFailedError("cannot write the export: its directory does not exist", target)


async def export_file(
    db: Database, target: Path, now: datetime | None = None, *, include_secrets: bool = False
) -> ExportSummary:
    await asyncio.to_thread(_check_target, target)
    document, left_out = await export_document(db, now, include_secrets=include_secrets)
    tmp = target.with_name(target.name + ".tmp")
    try:
        await asyncio.to_thread(tmp.write_text, json.dumps(document, indent=1, sort_keys=True))
        await asyncio.to_thread(tmp.replace, target)  # a crash mid-write never leaves a truncated export behind
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportFailedError(f"cannot write the export ({exc.strerror or type(exc).__name__})", target) from exc
    return ExportSummary({table: len(rows) for table, rows in document["tables"].items()}, left_out)


async def _validate(db: Database, raw: str) -> dict[str, list[dict[str, Any]]]:
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImportRejectedError(f"not a JSON document (line {exc.lineno})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ImportRejectedError("not a Relayboard export (missing format marker)")
    if document.get("format_version") != FORMAT_VERSION:
        raise ImportRejectedError(f"unsupported export format_version {document.get('format_version')!r}")
    ours = await migrations.current_version(db)
    if document.get("schema_version") != ours:
        raise ImportRejectedError(
            f"export has schema version {document.get('schema_version')!r}, this database has {ours}"
        )
    unknown_keys = sorted(
        set(document) - {"format", "format_version", "schema_version", "exported_at", "tables", "secrets_left_out"}
    )
    if unknown_keys:
        raise ImportRejectedError(f"export has unknown keys: {', '.join(unknown_keys)}")
    tables = document.get("tables")
    if not isinstance(tables, dict):
        raise ImportRejectedError("export has no tables object")
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ImportRejectedError(f"export has unknown tables: {', '.join(unknown)}")
    for table, rows in tables.items():
        allowed = set(await _columns(db, table))
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ImportRejectedError(f"table {table} must be a list of objects")
        for index, row in enumerate(rows):
            extra = set(row) - allowed
            if extra:
                raise ImportRejectedError(f"table {table} row {index} has unknown columns: {sorted(extra)}")
    return tables


async def import_file(db: Database, source: Path, backup_dir: Path, now: datetime | None = None) -> Path:
    """Returns the backup path. Raises ImportRejectedError (nothing written) on any invalid content."""
    try:
        raw = await asyncio.to_thread(source.read_text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRejectedError("cannot read the import file", source) from exc
    tables = await _validate(db, raw)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    await asyncio.to_thread(backup_dir.mkdir, parents=True, exist_ok=True)
    backup = backup_dir / f"relayboard-{stamp}.db"
    await db.backup_to(backup)
    try:
        async with db.write() as w:
            # FK checks at COMMIT: tables are swapped wholesale, so intermediate states are inconsistent.
            await w.execute("PRAGMA defer_foreign_keys = ON")
            for table in reversed(TABLES):
                if table not in APPEND_ONLY:
                    await w.execute(f"DELETE FROM {table}")
            for table in TABLES:
                rows = tables.get(table, [])
                # ON CONFLICT (key) rather than OR IGNORE: OR IGNORE would also swallow CHECK failures.
                keep = f" ON CONFLICT ({APPEND_ONLY[table]}) DO NOTHING" if table in APPEND_ONLY else ""
                for row in rows:
                    columns = list(row)
                    marks = ", ".join("?" for _ in columns)
                    await w.execute(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){keep}",
                        [row[c] for c in columns],
                    )
    except ImportRejectedError:
        raise
    except Exception as exc:
        raise ImportRejectedError(f"import violates the schema ({type(exc).__name__}); nothing was changed") from exc
    return backup
