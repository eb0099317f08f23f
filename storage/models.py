"""Pydantic row models: what repositories return and what the core hands to the TUI and CLI."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["master", "worker", "swarm", "test-runner", "shell", "unknown"]
AgentKind = Literal["claude", "codex", "shell", "other"]
AgentState = Literal["working", "waiting_for_input", "idle", "exited", "unknown"]
QueueState = Literal["queued", "blocked", "delivered", "canceled", "failed"]
BlockReason = Literal[
    "awaiting_approval",
    "operator_delayed",
    "target_unavailable",
    "target_busy",
    "permission_denied",
    "budget_exceeded",
    "loop_detected",
    "routing_disabled",
]
FailureReason = Literal[
    "interrupted", "target_unavailable", "tmux_error", "guard_refused", "payload_too_large", "retries_exhausted"
]
Origin = Literal["cli", "app", "tui", "route", "system", "scheduler", "agent"]
Surface = Literal["tui", "cli", "headless", "agent", "scheduler"]
ProcessState = Literal["stopped", "running", "pausing", "paused", "paused_graceful", "crashed"]
ProcessKind = Literal["terminal", "devserver", "agent_run"]
AttachmentState = Literal["active", "degraded", "detached"]

ROLES: tuple[Role, ...] = ("master", "worker", "swarm", "test-runner", "shell", "unknown")
ROLE_PRIORITY: dict[str, int] = {role: i + 1 for i, role in enumerate(ROLES)}
AGENT_STATES: tuple[AgentState, ...] = ("working", "waiting_for_input", "idle", "exited", "unknown")
QUEUE_STATES: tuple[QueueState, ...] = ("queued", "blocked", "delivered", "canceled", "failed")
STATE_PRIORITY: dict[str, int] = {"queued": 1, "blocked": 2, "failed": 3, "delivered": 4, "canceled": 5}
PROCESS_STATES: tuple[ProcessState, ...] = (
    "stopped",
    "running",
    "pausing",
    "paused",
    "paused_graceful",
    "crashed",
)


class Model(BaseModel):
    """Base of every Relayboard model. Validators are built on first use, not at import: building ~40 schemas
    at import time was a fifth of the TUI's start-up."""

    model_config = ConfigDict(defer_build=True)


class Row(Model):
    model_config = ConfigDict(frozen=True, defer_build=True)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Any:
        return cls.model_validate(dict(row))


class Pane(Row):
    socket: str
    pane_id: str
    session_name: str
    window_index: int
    pane_index: int
    pid: int | None = None
    current_command: str = ""
    cwd: str = ""
    width: int = 0
    height: int = 0
    alive: bool = True
    first_seen: str
    last_seen: str
    agent_id: str | None = None
    # Live-only, from the scan, not stored: whether pipe-pane is open, and tmux's window activity time.
    pipe_open: bool = False
    activity: int = 0

    def identity(self) -> dict[str, Any]:
        """What `app.agent.register_from_pane` needs to name this pane (CONTRACTS.md: pane identity)."""
        return {
            "pane_id": self.pane_id,
            "session_name": self.session_name,
            "window_index": self.window_index,
            "pane_index": self.pane_index,
        }


class Agent(Row):
    agent_id: str
    name: str
    role: Role
    capability: str = ""
    kind: AgentKind
    label: str = ""
    project_path: str = ""
    socket: str | None = None
    pane_id: str | None = None
    session_name: str | None = None
    window_index: int | None = None
    pane_index: int | None = None
    managed: bool = False
    state: AgentState = "unknown"
    state_reason: str = ""
    version: int = 1
    created_at: str
    updated_at: str
    last_activity_at: str | None = None
    command: str = ""
    launch_cwd: str = ""
    launch_env: dict[str, str] = Field(default_factory=dict, exclude=True)  # may hold secrets: left out of responses
    launch_env_names: list[str] = Field(default_factory=list)  # what the operator may see of it: the names
    screen_hash: str = Field(default="", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _env_names(cls, data: Any) -> Any:
        # Derived where the values are known (storage, the launcher); a client gets the names in the response.
        if isinstance(data, dict) and data.get("launch_env") and not data.get("launch_env_names"):
            env = data["launch_env"]
            data = {**data, "launch_env_names": sorted(json.loads(env) if isinstance(env, str) else env)}
        return data

    @field_validator("launch_env", mode="before")
    @classmethod
    def _decode_env(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @property
    def role_priority(self) -> int:
        return ROLE_PRIORITY[self.role]


class Event(Row):
    seq: int = 0  # place on the spine (assigned by SQLite); notices carry it so clients can resume
    event_id: str
    timestamp: str
    event_type: str
    origin: Origin
    agent_id: str | None = None
    user_id: str = ""
    surface_id: Surface
    project_id: str = ""
    run_id: str | None = None
    step_id: str | None = None
    parent_event_id: str | None = None
    trace_id: str
    span_id: str
    summary: str = ""
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("payload", mode="before")
    @classmethod
    def _decode(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class Route(Row):
    route_id: str
    name: str
    enabled: bool
    source_agent_id: str | None = None
    source_role: Role | None = None
    event_type: str
    filter: str = ""
    target_agent_id: str | None = None
    template: str
    requires_approval: bool = False
    version: int = 1
    created_at: str
    updated_at: str


class QueueMessage(Row):
    message_id: str
    state: QueueState
    state_priority: int
    block_reason: BlockReason | None = None
    route_id: str | None = None
    source_event_id: str | None = None
    sender: str
    sender_role: Role
    target_agent_id: str | None = None
    payload: str
    idempotency_key: str | None = None
    delay_until: str | None = None
    attempts: int = 0
    last_error: str = ""
    cancel_reason: str = ""
    version: int = 1
    enqueued_at: str
    updated_at: str
    delivered_at: str | None = None
    # Who took the message for typing, and when (a claim is not a state: the message stays queued meanwhile).
    claimed_by: str | None = None
    claimed_at: str | None = None
    failure_reason: FailureReason | None = None


class Process(Row):
    process_id: str
    kind: ProcessKind
    name: str
    command: str
    cwd: str = ""
    state: ProcessState
    pid: int | None = None
    exit_code: int | None = None
    restarts: int = 0
    url: str = ""
    created_at: str
    updated_at: str


class Schedule(Row):
    schedule_id: str
    name: str
    agent_id: str | None = None
    command: str = ""
    start_time: str
    duration_minutes: int
    day_mask: int
    enabled: bool
    max_concurrency: int = 1
    created_at: str
    updated_at: str


class MemoryEntry(Row):
    scope: str
    key: str
    value: str
    expires_at: str | None = None
    updated_at: str


class BlackboardEntry(Row):
    key: str
    version: int
    value: str
    updated_by: str = ""
    updated_at: str


class Note(Row):
    note_id: str
    title: str
    body: str = ""
    tags: list[str] = Field(default_factory=list)
    source: str = "operator"
    created_at: str
    updated_at: str

    @field_validator("tags", mode="before")
    @classmethod
    def _decode(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class TokenUsage(Row):
    usage_id: int
    dedup_key: str
    source: Literal["claude", "codex", "manual"]
    agent_id: str | None = None
    session_id: str = ""
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    occurred_at: str


class LogAttachment(Row):
    agent_id: str
    path: str
    state: AttachmentState
    reason: str = ""
    attached_at: str
    updated_at: str
