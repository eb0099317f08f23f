"""Serving `app.*` calls from the registry: validate the params, stamp the caller, run the implementation, and
wrap the outcome in the versioned envelope. The CLI, the socket server and the in-process client all go through
`invoke`; nothing reaches a subsystem another way.

Importing this module imports every module that declares calls (through core.bench), so `REGISTRY` is complete.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from core.audit import Scope, calling_as
from core.bench import Bench, storage_failure
from core.errors import BenchError
from core.registry import REGISTRY, Call, unimplemented
from core.sessions import APP_CONTRACT_VERSION
from core.validation import parse, safe_text
from storage.errors import StorageError

log = logging.getLogger(__name__)

if unimplemented():  # a declared call nobody implements would answer unknown_method: refuse to start instead
    raise RuntimeError(f"calls declared without an implementation: {', '.join(unimplemented())}")


def lookup(method: object) -> Call[Any, Any]:
    if not isinstance(method, str) or method not in REGISTRY:
        name = safe_text(method if isinstance(method, str) else repr(method), 128)  # echoed: valid UTF-8 only
        raise BenchError("unknown_method", f"no method {name}", details={"method": name})
    return REGISTRY[method]


async def invoke(bench: Bench, call: Call[Any, Any], params: Any, caller: Scope) -> BaseModel:
    """Run one call for `caller`. Raises BenchError only (storage failures are mapped to their closed codes)."""
    p = parse(call.params, params)
    implementation = bench.implementation(call)
    with calling_as(caller):
        try:
            return await implementation(p)
        except StorageError as exc:
            log.warning("storage failure in %s", call.name, exc_info=True)
            raise storage_failure(exc) from None


async def call(bench: Bench, method: str, params: Any = None, caller: Scope | None = None) -> BaseModel:
    """A call by name, as the bench's own surface unless `caller` says otherwise (scripts, the demo, tests)."""
    return await invoke(bench, lookup(method), params, caller or bench.ctx.recorder.default_scope)


def ok(result: Any) -> dict[str, Any]:
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    return {"ok": True, "app_contract_version": APP_CONTRACT_VERSION, "result": data}


def failure(error: BenchError) -> dict[str, Any]:
    return {"ok": False, "app_contract_version": APP_CONTRACT_VERSION, "error": error.to_dict()}


async def envelope(bench: Bench, method: object, params: Any, caller: Scope | None = None) -> dict[str, Any]:
    """Run a call by name and wrap the outcome; unexpected exceptions are logged, never echoed."""
    try:
        if params is not None and not isinstance(params, dict):
            raise BenchError("malformed_request", "params must be a JSON object", details={"reason": "not an object"})
        return ok(await invoke(bench, lookup(method), params, caller or bench.ctx.recorder.default_scope))
    except BenchError as exc:
        return failure(exc)
    except RecursionError:
        return failure(BenchError("malformed_request", "request nested too deeply", details={"reason": "too deep"}))
    except Exception:
        log.exception("internal error in %s", method if isinstance(method, str) else "?")
        return failure(BenchError("internal_error", "internal error; see the log for details"))
