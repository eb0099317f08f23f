"""Memory: session KV (with expiry), the versioned blackboard, and notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult

from tui.screens.base import PaneScreen
from tui.times import since, until
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from tui.modals.detail import Section


class MemoryScreen(PaneScreen):
    PANE_ID = "memory"
    SUBSYSTEMS = ()
    TOPICS = frozenset({"memory"})
    CSS_PATH = "memory.tcss"
    HELP = """\
Shared memory for agents and the operator. **Session KV**: per-scope keys with an optional time to live;
expired keys are not shown. **Blackboard**: versioned entries written with compare-and-set, so a writer holding an
old version is rejected instead of overwriting. **Notes**: titled notes with tags.
Tab moves between the tables; Enter shows the selected entry in full.
From a shell: `relayboard call app.memory.set|app.blackboard.write|app.note.add '{…}'`."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, dict[str, Any]] = {}

    def compose_body(self) -> ComposeResult:
        yield BenchTable(
            ("Scope", "Key", "Value", "Expires"),
            title="Session KV",
            flex="Value",
            id="kv-table",
            classes="memory-table",
        )
        yield EmptyState(
            'Session KV: no keys. relayboard call app.memory.set \'{"key": "goal", "value": "…"}\'', id="kv-empty"
        )
        yield BenchTable(
            ("Key", "Ver", "Value", "By"),
            title="Blackboard",
            flex="Value",
            id="blackboard-table",
            classes="memory-table",
        )
        yield EmptyState(
            "Blackboard is empty. app.blackboard.write with expected_version 0 creates an entry.", id="blackboard-empty"
        )
        yield BenchTable(
            ("Title", "Tags", "Source", "Created"),
            title="Notes",
            flex="Title",
            id="notes-table",
            classes="memory-table",
        )
        yield EmptyState('Notes: none. relayboard call app.note.add \'{"title": "…"}\'', id="notes-empty")

    async def load(self) -> dict[str, Any]:
        from core.memory import BLACKBOARD_LIST, MEMORY_LIST, NOTE_LIST

        return {
            "kv": await self.client.call(MEMORY_LIST, limit=200),
            "blackboard": await self.client.call(BLACKBOARD_LIST, limit=200),
            "notes": await self.client.call(NOTE_LIST, limit=200),
        }

    def _fill(self, name: str, rows: list[tuple[str, tuple[str, ...]]]) -> None:
        table = self.query_one(f"#{name}-table", BenchTable)
        count = table.replace_rows(rows)
        table.display = count > 0
        self.query_one(f"#{name}-empty", EmptyState).display = count == 0

    def show(self, data: dict[str, Any]) -> None:
        self._rows = {
            "kv-table": {f"{e.scope}/{e.key}": e for e in data["kv"].rows},
            "blackboard-table": {e.key: e for e in data["blackboard"].rows},
            "notes-table": {n.note_id: n for n in data["notes"].rows},
        }
        now = self.now()
        self._fill(
            "kv",
            [(f"{e.scope}/{e.key}", (e.scope, e.key, e.value, until(e.expires_at, now))) for e in data["kv"].rows],
        )
        self._fill(
            "blackboard",
            [(e.key, (e.key, str(e.version), e.value, e.updated_by)) for e in data["blackboard"].rows],
        )
        self._fill(
            "notes",
            [(n.note_id, (n.title, ", ".join(n.tags), n.source, since(n.created_at, now))) for n in data["notes"].rows],
        )

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]] | None:
        from tui.details import blackboard_sections, memory_sections, note_sections

        row = self._rows.get(table_id, {}).get(key)
        if row is None:
            return None
        if table_id == "kv-table":
            return f"Session key {row.scope}/{row.key}", memory_sections(row)
        if table_id == "blackboard-table":
            return f"Blackboard {row.key}", blackboard_sections(row)
        return f"Note {row.title}", note_sections(row)
