"""The closed set of error codes (CONTRACTS.md) and the one exception the facade raises."""

from __future__ import annotations

from typing import Any, Literal, get_args

from core.redaction import redact, redact_text

ErrorCode = Literal[
    # from the agent-bench contract
    "host_only",
    "app_session_required",
    "app_session_expired",
    "app_contract_major_unsupported",
    "unknown_method",
    "validation_failed",
    "not_found",
    "stale_object",
    "pane_already_registered",
    "pane_not_found",
    "agent_not_found",
    "route_not_found",
    "queue_message_not_found",
    "scan_timeout",
    "scan_not_found",
    "daemon_unavailable",
    "socket_missing",
    "socket_permission_denied",
    "docker_unavailable",
    "tmux_unavailable",
    "container_inactive",
    "log_attach_blocked",
    "routing_disabled",
    "permission_denied",
    "payload_too_large",
    "internal_error",
    "malformed_request",
    # Relayboard 1.x
    "conflict",
    "policy_denied",
    "budget_exceeded",
    "database_unavailable",
    "config_invalid",
]
ERROR_CODES: tuple[str, ...] = get_args(ErrorCode)


class BenchError(Exception):
    """A failure the operator can act on. `message` is safe to show: no paths from exception text."""

    def __init__(
        self, code: ErrorCode, message: str, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        # Messages and details often repeat what the caller sent (a name, a cwd): a secret in it is not echoed.
        message = redact_text(message)
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.field = field
        self.details: dict[str, Any] = redact(dict(details or {}))
        if field is not None:
            self.details.setdefault("field", field)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
