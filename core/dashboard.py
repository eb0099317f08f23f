"""`app.dashboard`: every count the operator glances at, the latest events and the active hints, in one call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from core.clock import stamp
from core.context import Context
from core.hints import Hint
from core.registry import Call
from core.validation import Params, parse
from storage import agents as agents_repo
from storage import events as events_repo
from storage import processes as processes_repo
from storage import queue as queue_repo
from storage import routes as routes_repo
from storage import tokens as tokens_repo
from storage.listing import count_by
from storage.models import AGENT_STATES, PROCESS_STATES, QUEUE_STATES, ROLES, Model


class DashboardParams(Params):
    recent_limit: int = Field(default=10, ge=1, le=50)


class RecentEvent(Model):
    id: str
    timestamp: str
    type: str
    origin: str
    agent_id: str | None
    summary: str


class Counts(Model):
    panes: dict[str, int]
    agents: dict[str, Any]
    log_attachments: dict[str, int]
    events: dict[str, Any]
    queue: dict[str, int]
    routes: dict[str, int]
    processes: dict[str, Any]
    schedules: dict[str, int]
    tokens: dict[str, Any]


class Dashboard(Model):
    generated_at: str
    counts: Counts
    recent: list[RecentEvent]
    hints: list[Hint]


DASHBOARD = Call("app.dashboard", DashboardParams, Dashboard, "Counts of everything, recent events and every hint.")


async def build_dashboard(ctx: Context, hints: list[Hint], params: dict[str, Any] | None = None) -> Dashboard:
    p = parse(DashboardParams, params)
    db = ctx.db
    now = ctx.clock.now()
    by_role = await count_by(db, "agents", "role")
    by_state = await count_by(db, "agents", "state")
    attachments = await count_by(db, "log_attachments", "state")
    total_agents = sum(by_role.values())
    queue = await queue_repo.counts(db)
    processes = await processes_repo.process_counts(db)
    today = stamp(now.replace(hour=0, minute=0, second=0, microsecond=0))
    tokens_today = await tokens_repo.totals_since(db, today)
    recent = await events_repo.recent(db, p.recent_limit)
    counts = Counts(
        panes=await agents_repo.pane_counts(db, ctx.tmux.socket_label),
        agents={
            "total": total_agents,
            "by_role": {r: by_role.get(r, 0) for r in ROLES},
            "by_state": {s: by_state.get(s, 0) for s in AGENT_STATES},
        },
        log_attachments={
            "active": attachments.get("active", 0),
            "degraded": attachments.get("degraded", 0),
            "none": total_agents - attachments.get("active", 0) - attachments.get("degraded", 0),
        },
        events={
            "total": await events_repo.total(db),
            "last_24h_by_type": await events_repo.counts_since(db, stamp(now - timedelta(hours=24))),
        },
        queue={s: queue.get(s, 0) for s in QUEUE_STATES},
        routes=await routes_repo.counts(db),
        processes={"by_state": {s: processes.get(s, 0) for s in PROCESS_STATES}},
        schedules={"active": await processes_repo.active_schedules(db)},
        tokens={"today": int(tokens_today["tokens"]), "cost_usd_today": round(tokens_today["cost_usd"], 4)},
    )
    return Dashboard(
        generated_at=stamp(now),
        counts=counts,
        recent=[
            RecentEvent(
                id=e.event_id,
                timestamp=e.timestamp,
                type=e.event_type,
                origin=e.origin,
                agent_id=e.agent_id,
                summary=e.summary,
            )
            for e in recent
        ],
        hints=hints,
    )
