"""Token usage and cost: recording (deduplicated by source message) and summaries by agent and model."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from core.clock import stamp
from core.context import Context
from core.errors import BenchError
from core.registry import Call
from core.tokens.pricing import cost_usd, price_for
from core.validation import Params, TimestampText, parse
from storage import agents as agents_repo
from storage import tokens as repo
from storage.models import Model, TokenUsage

PERIODS = {"today": None, "7d": timedelta(days=7), "30d": timedelta(days=30)}
# Per count and record: far beyond any model's context, and small enough that SQLite's integer sums over millions
# of records never overflow (an overflowing sum() is an error that would break every later summary).
MAX_TOKENS = 10**12


class RecordParams(Params):
    source: Literal["claude", "codex", "manual"] = "manual"
    model: str = Field(min_length=1, max_length=128)
    input_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS)
    output_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS)
    cache_read_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS)
    cache_write_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS)
    agent_id: str | None = Field(default=None, max_length=64)
    session_id: str = Field(default="", max_length=128)
    dedup_key: str | None = Field(default=None, max_length=256)
    # Stored in the fixed-width form summaries compare against (any timezone is accepted and converted to UTC).
    occurred_at: TimestampText | None = None


class SummaryParams(Params):
    period: Literal["today", "7d", "30d"] = "today"


class UsageGroup(Model):
    key: str
    input_tokens: int
    output_tokens: int
    cache_tokens: int
    cost_usd: float
    calls: int
    priced: bool = True


class TokenSummary(Model):
    period: str
    since: str
    total_tokens: int
    cost_usd: float
    by_agent: list[UsageGroup]
    by_model: list[UsageGroup]


class TokensRecorded(Model):
    recorded: bool
    deduplicated: bool
    cost_usd: float


TOKENS_RECORD = Call(
    "app.tokens.record", RecordParams, TokensRecorded, "Record token usage (deduplicated by dedup_key).", mutates=True
)
TOKENS_SUMMARY = Call("app.tokens.summary", SummaryParams, TokenSummary, "Usage and cost by agent and model.")


class Tokens:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @TOKENS_RECORD.implementation
    async def record(self, params: RecordParams | dict[str, Any]) -> TokensRecorded:
        p = parse(RecordParams, params)
        if p.agent_id and await agents_repo.get(self.ctx.db, p.agent_id) is None:
            raise BenchError(
                "agent_not_found", f"no agent {p.agent_id}", field="agent_id", details={"agent_id": p.agent_id}
            )
        occurred = p.occurred_at or self.ctx.now()
        key = p.dedup_key or hashlib.sha256(repr(sorted(p.model_dump().items())).encode()).hexdigest()
        cost = cost_usd(p.model, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens)
        usage = TokenUsage(
            usage_id=0,
            dedup_key=key,
            cost_usd=cost,
            occurred_at=occurred,
            **p.model_dump(exclude={"dedup_key", "occurred_at"}),
        )
        async with self.ctx.db.write() as w:
            recorded = await repo.record(w, usage)
            event = None
            if recorded:
                event = await self.ctx.recorder.stage(
                    w,
                    "tokens_recorded",
                    f"{p.input_tokens + p.output_tokens:,} tokens of {p.model} (${cost:.4f})",
                    {"model": p.model, "source": p.source, "cost_usd": cost, "session_id": p.session_id},
                    agent_id=p.agent_id,
                )
        if event is not None:
            self.ctx.recorder.committed(event)
        return TokensRecorded(recorded=recorded, deduplicated=not recorded, cost_usd=cost)

    def _since(self, period: str) -> str:
        now = self.ctx.clock.now()
        delta = PERIODS[period]
        start = now.replace(hour=0, minute=0, second=0, microsecond=0) if delta is None else now - delta
        return stamp(start)

    async def today(self) -> dict[str, float]:
        return await repo.totals_since(self.ctx.db, self._since("today"))

    @TOKENS_SUMMARY.implementation
    async def summary(self, params: SummaryParams | dict[str, Any] | None = None) -> TokenSummary:
        p = parse(SummaryParams, params)
        since = self._since(p.period)
        totals = await repo.totals_since(self.ctx.db, since)
        names = {a["agent_id"]: a["name"] for a in await self.ctx.db.fetchall("SELECT agent_id, name FROM agents")}

        def groups(rows: list[dict[str, Any]], label: Any) -> list[UsageGroup]:
            return [
                UsageGroup(
                    key=label(r["grp"]),
                    input_tokens=r["input"],
                    output_tokens=r["output"],
                    cache_tokens=r["cache"],
                    cost_usd=round(r["cost"], 6),
                    calls=r["calls"],
                    priced=price_for(r["grp"]) is not None if label is str else True,
                )
                for r in rows
            ]

        by_agent = groups(
            await repo.by_group_since(self.ctx.db, "agent_id", since),
            lambda grp: names.get(grp, grp or "(unattributed)"),
        )
        by_model = groups(await repo.by_group_since(self.ctx.db, "model", since), str)
        return TokenSummary(
            period=p.period,
            since=since,
            total_tokens=int(totals["tokens"]),
            cost_usd=round(totals["cost_usd"], 6),
            by_agent=by_agent,
            by_model=by_model,
        )
