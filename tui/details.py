"""Every row of every table in full, as detail-view sections (heading, text): nothing cut, times absolute (UTC),
secrets never here because the core never sends them (environment variable names, not values)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tui.times import absolute
from tui.widgets.agent_table import pane_address

if TYPE_CHECKING:
    from core.models import Agent, BlackboardEntry, Event, MemoryEntry, Note, Process, QueueMessage, Route, Schedule
    from core.queue import MessageHistory
    from core.tokens import UsageGroup
    from tui.modals.detail import Section


def message_sections(found: MessageHistory, names: dict[str, str]) -> list[Section]:
    """A message in full, for its detail view: every field, its history and its cause (times absolute, UTC)."""
    m = found.message
    sections = [
        ("State", m.state + (f" ({m.failure_reason})" if m.failure_reason else "")),
        ("Why", m.block_reason or m.cancel_reason or m.last_error or "-"),
        ("To", names.get(m.target_agent_id or "", m.target_agent_id or "?")),
        ("From", f"{names.get(m.sender, m.sender)} ({m.sender_role})"),
        ("Route", m.route_id or "-"),
        ("Queued", absolute(m.enqueued_at)),
        ("Updated", absolute(m.updated_at)),
        ("Delivered", absolute(m.delivered_at)),
        ("Delayed until", absolute(m.delay_until)),
        ("Attempts", str(m.attempts)),
        ("Idempotency key", m.idempotency_key or "-"),
        ("Id", m.message_id),
        ("Text", m.payload),
    ]
    history = "\n".join(event_line(e) for e in found.events)
    sections.append(("History", history or "no events recorded for it"))
    cause = found.cause
    sections.append(("Caused by", event_line(cause) if cause else "-"))
    return sections


def event_line(event: Event) -> str:
    return f"{absolute(event.timestamp)}  {event.event_type}  {event.summary}"


def agent_sections(agent: Agent, attachment: str) -> list[Section]:
    """An agent in full: its state and what decided it, where its pane is, how it was started (environment
    variable names only: their values may be secrets and never leave the core), and its log."""
    identity = f"{agent.pane_id or '-'} at {pane_address(agent)} on tmux socket {agent.socket or '-'}"
    return [
        ("Name", agent.name + (f" — {agent.label}" if agent.label else "")),
        ("Role", agent.role + (f" ({agent.capability})" if agent.capability else "")),
        ("Kind", agent.kind),
        ("State", agent.state),
        ("Screen signal", agent.state_reason or "-"),
        ("Hook signal", "none: this agent reports no hook events (screen rules decide its state)"),
        ("Last screen change", absolute(agent.last_activity_at)),
        ("Pane", identity),
        ("Managed", "launched by Relayboard" if agent.managed else "adopted (Relayboard did not start it)"),
        ("Command", agent.command or "-"),
        ("Working directory", agent.launch_cwd or agent.project_path or "-"),
        ("Environment", ", ".join(agent.launch_env_names) or "none set by Relayboard"),
        ("Project", agent.project_path or "-"),
        ("Log", attachment),
        ("Created", absolute(agent.created_at)),
        ("Updated", f"{absolute(agent.updated_at)} (version {agent.version})"),
    ]


def event_sections(event: Event, names: dict[str, str]) -> list[Section]:
    """An event with its payload, its scope and its causality (run, step, parent, trace)."""
    agent = names.get(event.agent_id or "", event.agent_id or "-")
    return [
        ("Type", event.event_type),
        ("Time", absolute(event.timestamp)),
        ("Summary", event.summary or "-"),
        ("Origin", f"{event.origin} via {event.surface_id}" + (f" by {event.user_id}" if event.user_id else "")),
        ("Agent", agent),
        ("Project", event.project_id or "-"),
        ("Run / step", f"{event.run_id or '-'} / {event.step_id or '-'}"),
        ("Caused by", event.parent_event_id or "- (a first cause)"),
        ("Trace / span", f"{event.trace_id} / {event.span_id}"),
        ("Place on the spine", str(event.seq)),
        ("Payload", json.dumps(event.payload, indent=2, sort_keys=True, ensure_ascii=False)),
    ]


def route_sections(route: Route, names: dict[str, str], matches: list[QueueMessage]) -> list[Section]:
    """A route's matcher, template and the messages it made most recently."""
    source = names.get(route.source_agent_id, "(removed agent)") if route.source_agent_id else None
    target = names.get(route.target_agent_id, "(removed agent)") if route.target_agent_id else "-"
    recent = "\n".join(f"{absolute(m.enqueued_at)}  {m.state:<9}  {m.payload.replace(chr(10), ' ')}" for m in matches)
    return [
        ("Name", route.name),
        ("Enabled", "yes" if route.enabled else "no"),
        ("On event", route.event_type),
        ("From", source or (f"any agent with role {route.source_role}" if route.source_role else "any agent")),
        ("Matching", route.filter or "every event of that type"),
        ("To", target),
        ("Approval", "required: messages wait in the queue until approved" if route.requires_approval else "-"),
        ("Template", route.template),
        ("Recent matches", recent or "none yet"),
        ("Created", absolute(route.created_at)),
        ("Updated", f"{absolute(route.updated_at)} (version {route.version})"),
    ]


def memory_sections(entry: MemoryEntry) -> list[Section]:
    return [
        ("Scope", entry.scope),
        ("Key", entry.key),
        ("Expires", absolute(entry.expires_at) if entry.expires_at else "never"),
        ("Updated", absolute(entry.updated_at)),
        ("Value", entry.value),
    ]


def blackboard_sections(entry: BlackboardEntry) -> list[Section]:
    return [
        ("Key", entry.key),
        ("Version", str(entry.version)),
        ("Written by", entry.updated_by or "-"),
        ("Updated", absolute(entry.updated_at)),
        ("Value", entry.value),
    ]


def note_sections(note: Note) -> list[Section]:
    return [
        ("Title", note.title),
        ("Tags", ", ".join(note.tags) or "-"),
        ("Source", note.source),
        ("Created", absolute(note.created_at)),
        ("Updated", absolute(note.updated_at)),
        ("Body", note.body or "-"),
    ]


def process_sections(process: Process) -> list[Section]:
    exit_code = "-" if process.exit_code is None else str(process.exit_code)
    return [
        ("Name", process.name),
        ("Kind", process.kind),
        ("State", process.state),
        ("Command", process.command),
        ("Working directory", process.cwd or "-"),
        ("PID", str(process.pid or "-")),
        ("Exit code", exit_code),
        ("Restarts", str(process.restarts)),
        ("URL", process.url or "-"),
        ("Created", absolute(process.created_at)),
        ("Updated", absolute(process.updated_at)),
    ]


def schedule_sections(schedule: Schedule, days: str, names: dict[str, str]) -> list[Section]:
    agent = names.get(schedule.agent_id, "(removed agent)") if schedule.agent_id else "-"
    return [
        ("Name", schedule.name),
        ("Enabled", "yes" if schedule.enabled else "no"),
        ("Days", days),
        ("Window (UTC)", f"from {schedule.start_time} for {schedule.duration_minutes} minutes"),
        ("Agent", agent),
        ("Command", schedule.command or "-"),
        ("At most at once", str(schedule.max_concurrency)),
        ("Created", absolute(schedule.created_at)),
        ("Updated", absolute(schedule.updated_at)),
    ]


def usage_sections(group: UsageGroup, grouped_by: str, period: str) -> list[Section]:
    cost = f"${group.cost_usd:.2f}" if group.priced else "unpriced: the model is not in the price table"
    return [
        (grouped_by, group.key),
        ("Period", period),
        ("Input tokens", f"{group.input_tokens:,}"),
        ("Output tokens", f"{group.output_tokens:,}"),
        ("Cache tokens", f"{group.cache_tokens:,}"),
        ("Cost", cost),
        ("Calls", f"{group.calls:,}"),
    ]
