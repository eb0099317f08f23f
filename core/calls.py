"""The `app.*` method table and the versioned envelope: how the CLI (and later a socket) reaches the facade.

Every call takes a JSON object and returns a pydantic model or a plain JSON object. Names are CONTRACTS.md's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from core.bench import Bench
from core.errors import BenchError

log = logging.getLogger(__name__)
APP_CONTRACT_VERSION = "1.0"
Handler = Callable[[Bench, dict[str, Any]], Awaitable[Any]]

CALLS: dict[str, Handler] = {
    "app.readiness": lambda b, p: b.readiness(p),
    "app.dashboard": lambda b, p: b.dashboard(p),
    "app.pane.list": lambda b, p: b.agents.panes(p),
    "app.pane.detail": lambda b, p: b.agents.pane_detail(p),
    "app.scan.panes": lambda b, p: b.agents.scan(p),
    "app.scan.status": lambda b, p: b.agents.scan_status(p),
    "app.agent.list": lambda b, p: b.agents.list(p),
    "app.agent.detail": lambda b, p: b.agents.detail(p),
    "app.agent.register_from_pane": lambda b, p: b.agents.register_from_pane(p),
    "app.agent.update": lambda b, p: b.agents.update(p),
    "app.agent.remove": lambda b, p: b.agents.remove(p),
    "app.agent.launch": lambda b, p: b.launcher.launch(p),
    "app.agent.kill": lambda b, p: b.launcher.kill(p),
    "app.agent.restart": lambda b, p: b.launcher.restart(p),
    "app.agent.capture": lambda b, p: b.agents.capture(p),
    "app.agent.refresh_states": lambda b, p: b.refresh_states(p),
    "app.log.attach": lambda b, p: b.logs.attach(p),
    "app.log.detach": lambda b, p: b.logs.detach(p),
    "app.send_input": lambda b, p: b.queue.send_input(p),
    "app.event.list": lambda b, p: b.events.list(p),
    "app.event.detail": lambda b, p: b.events.detail(p),
    "app.queue.list": lambda b, p: b.queue.list(p),
    "app.queue.detail": lambda b, p: b.queue.detail(p),
    "app.queue.approve": lambda b, p: b.queue.approve(p),
    "app.queue.delay": lambda b, p: b.queue.delay(p),
    "app.queue.cancel": lambda b, p: b.queue.cancel(p),
    "app.queue.retry": lambda b, p: b.queue.retry(p),
    "app.route.list": lambda b, p: b.routes.list(p),
    "app.route.detail": lambda b, p: b.routes.detail(p),
    "app.route.add": lambda b, p: b.routes.add(p),
    "app.route.update": lambda b, p: b.routes.update(p),
    "app.route.remove": lambda b, p: b.routes.remove(p),
    "app.routing.set_enabled": lambda b, p: b.routes.set_enabled(p),
    "app.memory.set": lambda b, p: b.memory.kv_set(p),
    "app.memory.get": lambda b, p: b.memory.kv_get(p),
    "app.memory.delete": lambda b, p: b.memory.kv_delete(p),
    "app.memory.list": lambda b, p: b.memory.kv_list(p),
    "app.blackboard.read": lambda b, p: b.memory.blackboard_read(p),
    "app.blackboard.write": lambda b, p: b.memory.blackboard_write(p),
    "app.blackboard.list": lambda b, p: b.memory.blackboard_list(p),
    "app.note.add": lambda b, p: b.memory.note_add(p),
    "app.note.list": lambda b, p: b.memory.note_list(p),
    "app.note.delete": lambda b, p: b.memory.note_delete(p),
    "app.tokens.record": lambda b, p: b.tokens.record(p),
    "app.tokens.summary": lambda b, p: b.tokens.summary(p),
    "app.terminal.list": lambda b, p: b.processes.list("terminal", p),
    "app.devserver.list": lambda b, p: b.processes.list("devserver", p),
    "app.process.list": lambda b, p: b.processes.list("agent_run", p),
    "app.schedule.list": lambda b, p: b.scheduler.list(p),
}
# In CONTRACTS.md v1.0 but built by later issues: named here so the error says so instead of "unknown".
PLANNED: tuple[str, ...] = ()


def to_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


async def call(bench: Bench, method: str, params: dict[str, Any] | None = None) -> Any:
    handler = CALLS.get(method)
    if handler is None:
        if method in PLANNED:
            raise BenchError(
                "unknown_method", f"{method} is part of contract 1.0 but not built yet", details={"method": method}
            )
        raise BenchError("unknown_method", f"no method {method}", details={"method": method})
    return await handler(bench, params if params is not None else {})


def ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "app_contract_version": APP_CONTRACT_VERSION, "result": to_json(result)}


def failure(error: BenchError) -> dict[str, Any]:
    return {"ok": False, "app_contract_version": APP_CONTRACT_VERSION, "error": error.to_dict()}


async def envelope(bench: Bench, method: str, params: Any) -> dict[str, Any]:
    """Run a call and wrap the outcome; unexpected exceptions are logged, never echoed."""
    try:
        if params is not None and not isinstance(params, dict):
            raise BenchError("malformed_request", "params must be a JSON object", details={"reason": "not_object"})
        return ok(await call(bench, method, params))
    except BenchError as exc:
        return failure(exc)
    except Exception:
        log.exception("internal error in %s", method)
        return failure(BenchError("internal_error", "internal error; see the log for details"))
