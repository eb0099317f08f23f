"""Memory: session KV (with expiry), the versioned blackboard, and notes."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from tui.screens.base import PaneScreen
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState


class MemoryScreen(PaneScreen):
    PANE_ID = "memory"
    SUBSYSTEMS = ()
    TOPICS = frozenset({"memory"})
    CSS_PATH = "memory.tcss"
    HELP = """\
Shared memory for agents and the operator. **Session KV**: per-scope keys with an optional time to live;
expired keys are not shown. **Blackboard**: versioned entries written with compare-and-set, so a writer holding an
old version is rejected instead of overwriting. **Notes**: titled notes with tags. Tab moves between the tables.
From a shell: `relayboard call app.memory.set|app.blackboard.write|app.note.add '{…}'`."""

    def compose_body(self) -> ComposeResult:
        yield Static("Session KV", classes="section-title")
        yield BenchTable(("Scope", "Key", "Value", "Expires"), id="kv-table", classes="memory-table")
        yield EmptyState('No keys. relayboard call app.memory.set \'{"key": "goal", "value": "…"}\'', id="kv-empty")
        yield Static("Blackboard", classes="section-title")
        yield BenchTable(("Key", "Ver", "Value", "By"), id="blackboard-table", classes="memory-table")
        yield EmptyState(
            "Blackboard is empty. app.blackboard.write with expected_version 0 creates an entry.", id="blackboard-empty"
        )
        yield Static("Notes", classes="section-title")
        yield BenchTable(("Title", "Tags", "Source", "Created"), id="notes-table", classes="memory-table")
        yield EmptyState('No notes. relayboard call app.note.add \'{"title": "…"}\'', id="notes-empty")

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
        self._fill(
            "kv",
            [
                (f"{e.scope}/{e.key}", (e.scope, e.key, e.value[:50], (e.expires_at or "never")[:16]))
                for e in data["kv"].rows
            ],
        )
        self._fill(
            "blackboard",
            [(e.key, (e.key, str(e.version), e.value[:50], e.updated_by)) for e in data["blackboard"].rows],
        )
        self._fill(
            "notes",
            [(n.note_id, (n.title[:50], ", ".join(n.tags), n.source, n.created_at[:16])) for n in data["notes"].rows],
        )
