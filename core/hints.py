"""The hint registry: every hint code, its severity, what it says and the key or command that fixes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.models import Model

Severity = Literal["info", "warning", "action_required"]
TargetKind = Literal["container", "pane", "agent", "route", "message", "event", "process", "schedule"]


class HintTarget(Model):
    kind: TargetKind
    id: str


class Hint(Model):
    code: str
    severity: Severity
    message: str
    action: str
    subsystem: str
    target: HintTarget | None = None


@dataclass(frozen=True)
class HintSpec:
    severity: Severity
    message: str
    action: str


HINTS: dict[str, HintSpec] = {
    # from the agent-bench contract
    "register_first_agent": HintSpec(
        "info", "No agents yet: adopt a tmux pane as your first agent.", "agents pane (2), then a (adopt)"
    ),
    "attach_logs": HintSpec(
        "info", "Agent output is not being logged, so no events can be classified.", "agents pane (2): select, l"
    ),
    "enable_first_route": HintSpec(
        "info", "No route is enabled: events reach no agent.", "relayboard call app.route.add '{...}'"
    ),
    "start_bench_container": HintSpec(
        "action_required", "The bench container is not running.", "docker start <container>"
    ),
    "check_container_filter": HintSpec(
        "warning", "No container matches the configured filter.", "edit container_filter in config.toml"
    ),
    "docker_unavailable_hint": HintSpec("action_required", "Docker is not reachable.", "start the Docker daemon"),
    # Relayboard
    "install_tmux": HintSpec(
        "action_required", "tmux is not installed or not on PATH; agents cannot run.", "sudo apt-get install tmux"
    ),
    "start_tmux_server": HintSpec(
        "action_required",
        "No tmux server is running on the configured socket.",
        "tmux new-session -d (or tmux -L <socket> new-session -d)",
    ),
    "database_read_only": HintSpec(
        "action_required",
        "The database cannot be written; changes will fail.",
        "fix permissions of the home directory, or relayboard --home DIR",
    ),
    "database_locked": HintSpec(
        "warning",
        "Another process holds the database lock past the busy timeout.",
        "close the other Relayboard, or wait and press r",
    ),
    "repair_database": HintSpec(
        "action_required",
        "The database is damaged, missing or not a Relayboard database; nothing more is written to it.",
        "relayboard repair (restores the latest good backup; the damaged file is kept aside)",
    ),
    "routing_disabled": HintSpec(
        "warning",
        "Routing is switched off: nothing is delivered.",
        "relayboard call app.routing.set_enabled '{\"enabled\": true}'",
    ),
    "audit_log_unwritable": HintSpec(
        "action_required",
        "The audit file cannot be written; events are in SQLite only.",
        "fix permissions of audit.jsonl in the home directory",
    ),
    "budget_near_limit": HintSpec("warning", "A budget is close to its limit.", "tokens pane (6)"),
    "budget_exceeded": HintSpec("action_required", "A budget is exceeded: deliveries are blocked.", "tokens pane (6)"),
    "scheduler_follower": HintSpec(
        "info", "Another Relayboard holds the scheduler lease; this one follows.", "nothing to do"
    ),
    "start_headless": HintSpec(
        "action_required",
        "The Relayboard core this TUI is attached to is not reachable; it reconnects when it is back.",
        "relayboard headless (in a tmux window or as a systemd user unit: see the README)",
    ),
    "hooks_off": HintSpec(
        "info", "This agent was adopted, so its own hooks do not report to Relayboard.", "launch it with n instead"
    ),
    "service_failed": HintSpec(
        "warning",
        "A background service of the core keeps failing; it restarts by itself with backoff.",
        "see relayboard.log in the Relayboard home",
    ),
}


def make_hint(code: str, subsystem: str, target: HintTarget | None = None, action: str | None = None) -> Hint:
    """`action` replaces the registry's generic fix with the exact command for this bench."""
    spec = HINTS[code]
    return Hint(
        code=code,
        severity=spec.severity,
        message=spec.message,
        action=action or spec.action,
        subsystem=subsystem,
        target=target,
    )
