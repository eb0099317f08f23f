"""Tokens: usage and cost by agent and by model for today, 7 or 30 days."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.screens.base import PaneScreen
from tui.widgets.bench_table import BenchTable
from tui.widgets.empty_state import EmptyState

if TYPE_CHECKING:
    from core.tokens import TokenSummary, UsageGroup
    from tui.modals.detail import Section


PERIODS = ("today", "7d", "30d")


def _cells(group: UsageGroup) -> tuple[str, ...]:
    return (
        group.key,
        f"{group.input_tokens:,}",
        f"{group.output_tokens:,}",
        f"{group.cache_tokens:,}",
        f"${group.cost_usd:.2f}" if group.priced else "unpriced",
        str(group.calls),
    )


class TokensScreen(PaneScreen):
    PANE_ID = "tokens"
    SUBSYSTEMS = ("token_sources",)
    TOPICS = frozenset({"tokens", "agents"})
    CSS_PATH = "tokens.tcss"
    HELP = """\
Token usage and its cost from the shipped offline price table, grouped by agent and by model. `p` cycles the
period: today (UTC), 7 days, 30 days. Models missing from the price table show as *unpriced*, never as $0."""
    BINDINGS: ClassVar[list[Binding]] = [Binding("p", "period", "Period", id="tokens.period")]

    def __init__(self) -> None:
        super().__init__()
        self.period = "today"
        self._groups: dict[str, dict[str, UsageGroup]] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(id="tokens-total")
        columns = ("Input", "Output", "Cache", "Cost", "Calls")
        yield BenchTable(("Agent", *columns), title="By agent", id="by-agent", classes="tokens-table")
        yield BenchTable(("Model", *columns), title="By model", id="by-model", classes="tokens-table")
        yield EmptyState(
            "No token usage in this period. Usage is recorded with app.tokens.record;\n"
            "reading Claude Code and Codex logs arrives with the tokens subsystem.",
            id="tokens-empty",
        )

    async def load(self) -> TokenSummary:
        from core.tokens import TOKENS_SUMMARY

        return await self.client.call(TOKENS_SUMMARY, period=self.period)

    def show(self, data: TokenSummary) -> None:
        total = Text(f"{data.period}: ", style="bold")
        total.append(f"{data.total_tokens:,} tokens   ${data.cost_usd:.2f}", style="bold")
        total.append(f"   (since {data.since[:16].replace('T', ' ')} UTC, p changes period)", style="dim")
        self.query_one("#tokens-total", Static).update(total)
        by_agent = self.query_one("#by-agent", BenchTable)
        by_model = self.query_one("#by-model", BenchTable)
        count = by_agent.replace_rows((g.key, _cells(g)) for g in data.by_agent)
        by_model.replace_rows((g.key, _cells(g)) for g in data.by_model)
        self._groups = {"by-agent": {g.key: g for g in data.by_agent}, "by-model": {g.key: g for g in data.by_model}}
        for widget in (by_agent, by_model):
            widget.display = count > 0
        self.query_one("#tokens-empty", EmptyState).display = count == 0

    def action_period(self) -> None:
        self.period = PERIODS[(PERIODS.index(self.period) + 1) % len(PERIODS)]
        self.refresh_data()

    async def detail(self, table_id: str, key: str) -> tuple[str, list[Section]] | None:
        from tui.details import usage_sections

        group = self._groups.get(table_id, {}).get(key)
        if group is None:
            return None
        grouped_by = "Agent" if table_id == "by-agent" else "Model"
        return f"{grouped_by} {group.key}", usage_sections(group, grouped_by, self.period)
