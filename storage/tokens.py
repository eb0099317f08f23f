"""Token usage rows (deduplicated by source message) and their aggregates."""

from __future__ import annotations

from storage.db import Database, Writer
from storage.models import TokenUsage

_INSERT = (
    "INSERT INTO token_usage (dedup_key, source, agent_id, session_id, model, input_tokens, output_tokens,"
    " cache_read_tokens, cache_write_tokens, cost_usd, occurred_at) VALUES (:dedup_key, :source, :agent_id,"
    " :session_id, :model, :input_tokens, :output_tokens, :cache_read_tokens, :cache_write_tokens, :cost_usd,"
    " :occurred_at) ON CONFLICT (dedup_key) DO NOTHING"
)


async def record(w: Writer, usage: TokenUsage) -> bool:
    """False when the same source message was already counted."""
    return await w.execute(_INSERT, usage.model_dump(exclude={"usage_id"})) == 1


async def totals_since(db: Database, since: str) -> dict[str, float]:
    row = await db.fetchone(
        "SELECT coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0) AS tokens,"
        " coalesce(sum(cost_usd), 0) AS cost FROM token_usage WHERE occurred_at >= ?",
        (since,),
    )
    return {"tokens": int(row["tokens"]), "cost_usd": float(row["cost"])} if row else {"tokens": 0, "cost_usd": 0.0}


async def by_group_since(db: Database, column: str, since: str) -> list[dict[str, object]]:
    """`column` is one of a fixed set chosen by the core (agent_id, model, source)."""
    rows = await db.fetchall(
        f"SELECT coalesce({column}, '') AS grp, sum(input_tokens) AS input, sum(output_tokens) AS output,"
        " sum(cache_read_tokens + cache_write_tokens) AS cache, sum(cost_usd) AS cost, count(*) AS calls"
        f" FROM token_usage WHERE occurred_at >= ? GROUP BY {column} ORDER BY cost DESC, grp",
        (since,),
    )
    return [dict(r) for r in rows]
