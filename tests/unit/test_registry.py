"""The call registry: one declaration per call, the same names as CONTRACTS.md, strict parameters everywhere,
and `app.describe` built from it."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from core import calls
from core.bench import Bench
from core.registry import REGISTRY
from core.sessions import APP_CONTRACT_VERSION

CONTRACTS = Path(__file__).resolve().parents[2] / "core" / "CONTRACTS.md"
NAME = re.compile(r"`(app\.[a-z_.|*]+)")


def _expand(token: str) -> set[str]:
    """`app.agent.list|detail` → {app.agent.list, app.agent.detail}."""
    first, *rest = token.split("|")
    family = first.rsplit(".", 1)[0]
    return {first, *(f"{family}.{verb}" for verb in rest)}


def _contract_names() -> tuple[set[str], set[str]]:
    """(exact names the contract says exist, family wildcards and planned names it reserves)."""
    text = CONTRACTS.read_text()
    v1 = text[text.index("Calls (v1.0)") : text.index("## Error codes")]
    added = text[text.index("## Calls added in 1.x") : text.index("## Inbox")]
    built_added, _, planned = added.partition("and planned")
    exact: set[str] = set()
    reserved: set[str] = set()
    for token in NAME.findall(v1) + NAME.findall(built_added):
        target = reserved if token.endswith(".*") else exact
        target |= _expand(token)
    for token in NAME.findall(planned):
        reserved |= _expand(token)
    return exact, reserved


def test_registry_and_contracts_name_the_same_calls() -> None:
    exact, reserved = _contract_names()
    families = {name[:-1] for name in reserved if name.endswith(".*")}
    registered = set(REGISTRY)
    assert exact <= registered, f"in CONTRACTS.md but not built: {sorted(exact - registered)}"
    unnamed = {n for n in registered - exact if not any(n.startswith(f) for f in families)}
    assert not unnamed, f"built but not named in CONTRACTS.md: {sorted(unnamed)}"
    assert not (registered & (reserved - {n for n in reserved if n.endswith(".*")})), "planned names are built"


def test_every_call_has_models_help_and_an_implementation() -> None:
    assert len(REGISTRY) >= 55
    for call in REGISTRY.values():
        assert issubclass(call.params, BaseModel) and issubclass(call.result, BaseModel), call.name
        assert call.owner is not None and callable(getattr(call.owner, call.attribute)), call.name
        assert call.help and "\n" not in call.help, call.name
        assert call.params.model_config.get("extra") == "forbid", call.name
    assert {c.name for c in REGISTRY.values() if not c.session} == {"app.preflight", "app.hello"}


async def test_describe_lists_every_call_with_its_schemas(bench: Bench) -> None:
    described = await calls.call(bench, "app.describe")
    assert described.app_contract_version == APP_CONTRACT_VERSION == "1.2"
    by_name = {c.name: c for c in described.calls}
    assert set(by_name) == set(REGISTRY)
    send = by_name["app.send_input"]
    assert send.mutates and send.session
    assert set(send.params_schema["properties"]) >= {"target_agent_id", "payload", "idempotency_key"}
    assert set(send.result_schema["properties"]) == {"message_id", "state", "deduplicated"}
    agents = by_name["app.agent.list"].result_schema
    assert set(agents["properties"]) == {"rows", "total", "total_estimate", "cursor_next", "ordering"}


def _int_fields(model: type[BaseModel]) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        args = typing.get_args(field.annotation) or (field.annotation,)
        if int in args and bool not in args:
            names.append(name)
    return names


INT_CALLS = sorted((c.name, f) for c in REGISTRY.values() for f in _int_fields(c.params))


def test_there_are_integer_parameters_to_check() -> None:
    assert ("app.dashboard", "recent_limit") in INT_CALLS and ("app.agent.list", "limit") in INT_CALLS
    assert len(INT_CALLS) >= 20


@pytest.mark.parametrize(("method", "field"), INT_CALLS, ids=[f"{m}.{f}" for m, f in INT_CALLS])
@pytest.mark.parametrize("bad", [True, 1.0, "5"], ids=["bool", "float", "numeric-string"])
async def test_integer_parameters_are_strict(bench: Bench, method: str, field: str, bad: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        REGISTRY[method].params.model_validate({field: bad})
    assert any(error["loc"] == (field,) for error in caught.value.errors()), caught.value.errors()
    result = await calls.envelope(bench, method, {field: bad})
    assert result["ok"] is False and result["error"]["code"] == "validation_failed", result


async def test_the_cli_lists_every_call(run_cli) -> None:  # type: ignore[no-untyped-def]
    done = run_cli("call", "--list")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines()]
    assert listed == sorted(REGISTRY)
    assert any(line.startswith("app.hello ") and "(no session)" in line for line in done.stdout.splitlines())


# -- the declaration itself --------------------------------------------------------------------------------------
@pytest.fixture
def scratch_names() -> Any:
    """Names a test declares, removed from the registry again afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        REGISTRY.pop(name, None)


def test_a_call_is_declared_once_with_a_name_and_one_line_of_help(scratch_names: list[str]) -> None:
    from core.registry import Call, unimplemented
    from core.validation import Params

    call = Call("app.test.probe", Params, Params, "A probe.", session=False, mutates=True)
    scratch_names.append(call.name)
    assert REGISTRY["app.test.probe"] is call
    assert (call.name, call.owner, call.attribute) == ("app.test.probe", None, "")
    assert (call.params, call.result, call.help, call.session, call.mutates) == (
        Params,
        Params,
        "A probe.",
        False,
        True,
    )
    assert "app.test.probe" in unimplemented()
    default = Call("app.test.defaults", Params, Params, "Defaults.")
    scratch_names.append(default.name)
    assert (default.session, default.mutates) == (True, False)
    for bad in ("test.probe", "app", "app.Test.probe", "app.test.", "app.test-probe", "app..x"):
        with pytest.raises(ValueError, match="is not app"):
            Call(bad, Params, Params, "x")
    with pytest.raises(ValueError, match="declared twice"):
        Call("app.test.probe", Params, Params, "again")
    for help_text in ("", "two\nlines"):
        with pytest.raises(ValueError, match="one line of help"):
            Call("app.test.helpless", Params, Params, help_text)
    assert "app.test.helpless" not in REGISTRY


def test_the_implementation_is_recorded_on_its_class_and_only_once(scratch_names: list[str]) -> None:
    from core.registry import Call, unimplemented
    from core.validation import Params

    call = Call("app.test.implemented", Params, Params, "Implemented.")
    scratch_names.append(call.name)

    class Owner:
        @call.implementation
        async def serve(self, params: Params) -> Params:
            return params

    assert (call.owner, call.attribute) == (Owner, "serve")
    assert "serve" in Owner.__dict__ and callable(Owner.__dict__["serve"])  # the plain function, put back
    assert not hasattr(Owner.__dict__["serve"], "call")
    assert call.name not in unimplemented()
    with pytest.raises((ValueError, RuntimeError)) as caught:

        class Twice:
            @call.implementation
            async def again(self, params: Params) -> Params:
                return params

    assert "implemented twice" in str(caught.value) + str(caught.value.__cause__)
    assert call.owner is Owner
