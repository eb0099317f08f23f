"""`app.dashboard`: every count the operator glances at, the latest events and the active hints, in one call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

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


AttentionKind = Literal["agent_waiting", "approval", "delivery_failed", "process_crashed"]
ATTENTION_LIMIT = 50


class Attention(Model):
    """One thing that waits on the operator: what it is, which row (`ref`: an agent, message or process id), what
    to call it, why it waits, and since when."""

    kind: AttentionKind
    ref: str
    title: str
    why: str
    since: str | None = None


class Dashboard(Model):
    generated_at: str
    counts: Counts
    attention: list[Attention] = Field(
        default_factory=list, description="what waits on the operator, most urgent first (at most 50)"
    )
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
        attention=await needs_operator(ctx),
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


async def needs_operator(ctx: Context) -> list[Attention]:
    """Agents waiting for input first (an agent stalls until answered), then messages held for approval or whose
    delivery failed, then crashed processes; the longest-waiting first within each."""
    db = ctx.db
    found: list[Attention] = []
    for agent in await agents_repo.waiting(db, ATTENTION_LIMIT):
        why = agent.state_reason or "waiting for input"
        found.append(
            Attention(kind="agent_waiting", ref=agent.agent_id, title=agent.name, why=why, since=agent.last_activity_at)
        )
    for m in await queue_repo.needing_operator(db, ATTENTION_LIMIT):
        to = await agents_repo.get_name(db, m.target_agent_id)
        if m.state == "failed":
            why = f"delivery to {to} failed: {m.failure_reason or m.last_error or 'unknown'}"
            found.append(
                Attention(kind="delivery_failed", ref=m.message_id, title=m.payload, why=why, since=m.updated_at)
            )
        else:
            why = f"awaits approval before it is typed into {to}"
            found.append(Attention(kind="approval", ref=m.message_id, title=m.payload, why=why, since=m.enqueued_at))
    for p in await processes_repo.crashed(db, ATTENTION_LIMIT):
        why = f"crashed (exit code {p.exit_code})" if p.exit_code is not None else "crashed"
        found.append(
            Attention(kind="process_crashed", ref=p.process_id, title=p.name, why=f"{p.kind} {why}", since=p.updated_at)
        )
    return found[:ATTENTION_LIMIT]
