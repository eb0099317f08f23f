"""Routes: which events become which queue messages for which agent."""

from __future__ import annotations

from typing import Any

from storage.db import Database, Writer
from storage.models import Route

ROUTE_COLUMNS = (
    "route_id",
    "name",
    "enabled",
    "source_agent_id",
    "source_role",
    "event_type",
    "filter",
    "target_agent_id",
    "template",
    "requires_approval",
    "version",
    "created_at",
    "updated_at",
)


async def insert(w: Writer, route: Route) -> None:
    await w.execute(
        f"INSERT INTO routes ({', '.join(ROUTE_COLUMNS)}) VALUES ({', '.join(':' + c for c in ROUTE_COLUMNS)})",
        route.model_dump(),
    )


async def get(db: Database | Writer, route_id: str) -> Route | None:
    row = await db.fetchone("SELECT * FROM routes WHERE route_id = ?", (route_id,))
    return Route.from_row(row) if row else None


async def update(w: Writer, route_id: str, changes: dict[str, Any], now: str) -> None:
    sets = ", ".join(f"{column} = :{column}" for column in changes)
    await w.execute(
        f"UPDATE routes SET {sets}, version = version + 1, updated_at = :_now WHERE route_id = :_id",
        {**changes, "_now": now, "_id": route_id},
    )


async def naming_agent(w: Writer, agent_id: str) -> list[Route]:
    rows = await w.fetchall(
        "SELECT * FROM routes WHERE source_agent_id = ? OR target_agent_id = ? ORDER BY name", (agent_id, agent_id)
    )
    return [Route.from_row(r) for r in rows]


async def delete(w: Writer, route_id: str) -> None:
    await w.execute("DELETE FROM routes WHERE route_id = ?", (route_id,))


async def counts(db: Database) -> dict[str, int]:
    row = await db.fetchone(
        "SELECT count(*) FILTER (WHERE enabled) AS on_, count(*) FILTER (WHERE NOT enabled) AS off FROM routes"
    )
    return {"enabled": int(row["on_"]) if row else 0, "disabled": int(row["off"]) if row else 0}
