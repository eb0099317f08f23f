"""The one declaration of every `app.*` call: name, params model, result model, one line of help.

A subsystem declares its calls beside its code and marks the method that implements each one:

    QUEUE_APPROVE = Call("app.queue.approve", MessageParams, QueueMessage, "Approve a blocked message.")

    class Queue:
        @QUEUE_APPROVE.implementation
        async def approve(self, p: MessageParams) -> QueueMessage: ...

`relayboard call`, `call --list`, `app.describe`, the socket server and both clients are built from `REGISTRY`
(core/calls.py imports every declaring module, so the registry is complete once it is imported). A `Call` is
typed: `await client.call(QUEUE_APPROVE, message_id=...)` returns a `QueueMessage` to a type checker too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

CALL_NAME = re.compile(r"^app(\.[a-z][a-z_]*)+$")
REGISTRY: dict[str, Call[Any, Any]] = {}


class Call(Generic[P, R]):
    """One `app.*` call. `session=False` only for the calls a socket client makes before it has a session."""

    def __init__(
        self, name: str, params: type[P], result: type[R], help: str, *, session: bool = True, mutates: bool = False
    ) -> None:
        if not CALL_NAME.match(name):
            raise ValueError(f"call name {name!r} is not app.<family>.<verb>")
        if name in REGISTRY:
            raise ValueError(f"call {name} is declared twice")
        if not help or "\n" in help:
            raise ValueError(f"call {name} needs one line of help")
        self.name = name
        self.params = params
        self.result = result
        self.help = help
        self.session = session
        self.mutates = mutates
        self.owner: type | None = None  # the class whose method implements the call, set when the class is built
        self.attribute = ""
        REGISTRY[name] = self

    def implementation(self, function: F) -> F:
        """Mark a method as this call's implementation (the owner class is recorded when the class is created)."""
        return _Implementation(self, function)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Call({self.name})"


class _Implementation:
    """Stands in for the method while its class body runs, so `__set_name__` learns the owner class; then it puts
    the plain function back, leaving the class exactly as if it had not been decorated."""

    def __init__(self, call: Call[Any, Any], function: Callable[..., Any]) -> None:
        self.call = call
        self.function = function

    def __set_name__(self, owner: type, name: str) -> None:
        if self.call.owner is not None:
            raise ValueError(f"{self.call.name} is implemented twice ({self.call.owner.__name__}, {owner.__name__})")
        self.call.owner = owner
        self.call.attribute = name
        setattr(owner, name, self.function)


def unimplemented() -> list[str]:
    return sorted(name for name, call in REGISTRY.items() if call.owner is None)


class CallInfo(BaseModel):
    name: str
    help: str
    session: bool
    mutates: bool
    params_schema: dict[str, Any]
    result_schema: dict[str, Any]


class Description(BaseModel):
    app_contract_version: str
    calls: list[CallInfo]


class DescribeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


DESCRIBE = Call("app.describe", DescribeParams, Description, "Every call with its params and result JSON schema.")


def describe(version: str) -> Description:
    return Description(
        app_contract_version=version,
        calls=[
            CallInfo(
                name=call.name,
                help=call.help,
                session=call.session,
                mutates=call.mutates,
                params_schema=call.params.model_json_schema(),
                result_schema=call.result.model_json_schema(),
            )
            for call in sorted(REGISTRY.values(), key=lambda c: c.name)
        ],
    )
