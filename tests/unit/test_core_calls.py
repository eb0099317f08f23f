"""The `app.*` facade in-process: envelopes, error codes, the list contract, opening homes and config."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core import calls
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings, load_settings, resolve_home
from core.errors import ERROR_CODES, BenchError


async def _fail(bench: Bench, method: str, params: Any = None) -> dict[str, Any]:
    result = await calls.envelope(bench, method, params)
    assert result["ok"] is False, result
    assert result["app_contract_version"] == "1.2"
    assert isinstance(result["error"]["details"], dict)
    return result["error"]


def test_error_codes_are_the_contract_set() -> None:
    assert len(ERROR_CODES) == 32 == len(set(ERROR_CODES))
    assert all(re.fullmatch(r"^[a-z][a-z0-9_]*$", code) for code in ERROR_CODES)
    for code in ("pane_already_registered", "stale_object", "conflict", "database_unavailable", "config_invalid"):
        assert code in ERROR_CODES
    with pytest.raises(ValueError, match="unknown error code"):
        BenchError("totally_made_up", "x")  # type: ignore[arg-type]


async def test_ok_envelope(bench: Bench) -> None:
    result = await calls.envelope(bench, "app.dashboard", {})
    assert result["ok"] is True
    assert result["app_contract_version"] == "1.2"
    counts = result["result"]["counts"]
    assert counts["agents"]["total"] == 0
    assert counts["queue"] == {"queued": 0, "blocked": 0, "delivered": 0, "canceled": 0, "failed": 0}
    readiness = await calls.envelope(bench, "app.readiness", None)
    assert [s["name"] for s in readiness["result"]["subsystems"]][:3] == ["tmux_discovery", "sqlite", "jsonl"]


async def test_unknown_method(bench: Bench) -> None:
    unknown = await _fail(bench, "app.does.not.exist")
    assert unknown == {
        "code": "unknown_method",
        "message": "no method app.does.not.exist",
        "details": {"method": "app.does.not.exist"},
    }


@pytest.mark.parametrize(
    ("method", "field"),
    [
        ("app.agent.launch", "name"),
        ("app.agent.kill", "agent_id"),
        ("app.agent.restart", "agent_id"),
        ("app.agent.capture", "agent_id"),
        ("app.log.attach", "agent_id"),
        ("app.log.detach", "agent_id"),
    ],
)
async def test_agent_lifecycle_calls_are_built(bench: Bench, method: str, field: str) -> None:
    """Once planned, now routed: an empty request reaches the call's own validation, not `unknown_method`."""
    error = await _fail(bench, method, {})
    assert error["code"] == "validation_failed", error
    assert error["details"]["field"] == field


async def test_agent_lifecycle_calls_on_a_missing_agent(bench: Bench) -> None:
    for method in ("app.agent.kill", "app.agent.restart", "app.agent.capture", "app.log.attach", "app.log.detach"):
        error = await _fail(bench, method, {"agent_id": "nope"})
        assert (error["code"], error["details"]) == ("agent_not_found", {"agent_id": "nope"}), method


async def test_params_must_be_an_object(bench: Bench) -> None:
    for params in ([1, 2], "text", 3):
        error = await _fail(bench, "app.agent.list", params)
        assert (error["code"], error["details"]) == ("malformed_request", {"reason": "not an object"})


# -- the list contract --------------------------------------------------------------------------------------------


@pytest.fixture
async def seven_notes(bench: Bench, fixed_clock: FixedClock) -> list[str]:
    ids = []
    for i in range(7):
        ids.append(
            (await bench.memory.note_add({"title": f"note {i}", "source": "lead" if i < 2 else "operator"})).note_id
        )
        fixed_clock.advance(timedelta(seconds=1))
    return ids


async def test_cursor_pages_3_3_1_and_is_bound_to_filters(bench: Bench, seven_notes: list[str]) -> None:
    seen: list[str] = []
    sizes = []
    cursor = None
    cursors = []
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor_next"] = cursor
        page = (await calls.envelope(bench, "app.note.list", params))["result"]
        assert page["total"] == 7
        assert page["ordering"] == "created_at:desc"
        sizes.append(len(page["rows"]))
        seen += [row["note_id"] for row in page["rows"]]
        cursor = page["cursor_next"]
        if cursor is None:
            break
        cursors.append(cursor)
        assert len(cursor) <= 512
    assert sizes == [3, 3, 1]
    assert seen == list(reversed(seven_notes))  # newest first, no overlap, nothing skipped

    for changed in ({"filters": {"source": "operator"}}, {"order_by": "title"}, {"order_by": "created_at:asc"}):
        error = await _fail(bench, "app.note.list", {"limit": 3, "cursor_next": cursors[0], **changed})
        assert (error["code"], error["details"]["field"]) == ("validation_failed", "cursor_next"), changed
    for garbage in ("not-a-cursor", "!!!", "e30"):  # "e30" is base64 of "{}"
        error = await _fail(bench, "app.note.list", {"cursor_next": garbage})
        assert (error["code"], error["details"]["field"]) == ("validation_failed", "cursor_next"), garbage
    too_long = await _fail(bench, "app.note.list", {"cursor_next": "A" * 513})
    assert (too_long["code"], too_long["details"]["field"]) == ("validation_failed", "cursor_next")


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"limit": 500}, "limit", "less than or equal to 200"),
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"order_by": "password"}, "order_by", "order_by must be one of: created_at, last_activity_at, name, role"),
        ({"order_by": "name:sideways"}, "order_by", "order_by must be one of"),
        ({"filters": {"name": "a%"}}, "filters", "exact match only"),
        ({"filters": {"name": "<script>"}}, "filters", "exact match only"),
        ({"filters": {"name": "a*"}}, "filters", "exact match only"),
        ({"filters": {"password": "x"}}, "filters.password", "unknown filter 'password'"),
        ({"since": "2026-11-23T00:00:00Z"}, "since", "this list has no time range"),
        ({"bogus": 1}, "bogus", "Extra inputs are not permitted"),
    ],
)
async def test_agent_list_rejects_bad_list_params(bench: Bench, params: dict[str, Any], field: str, text: str) -> None:
    error = await _fail(bench, "app.agent.list", params)
    assert error["code"] == "validation_failed"
    assert error["details"]["field"] == field
    assert text in error["message"]


async def test_limit_default_and_bounds(bench: Bench, fixed_clock: FixedClock) -> None:
    for i in range(60):
        await bench.memory.kv_set({"key": f"k{i:02d}", "value": str(i)})
    default = await bench.memory.kv_list()
    assert (len(default.rows), default.total) == (50, 60)
    assert default.cursor_next is not None
    everything = await bench.memory.kv_list({"limit": 200})
    assert len(everything.rows) == 60 and everything.cursor_next is None


# -- opening homes and config -------------------------------------------------------------------------------------


async def test_unknown_home_is_created(tmp_path: Path, settings: Settings) -> None:
    home = tmp_path / "does" / "not" / "exist" / "yet"
    bench = await Bench.open(home, settings=settings)
    try:
        assert home.is_dir()
        assert (home / "relayboard.db").is_file()
        assert bench.home == home
    finally:
        await bench.close()


async def test_home_that_is_a_file_is_database_unavailable(tmp_path: Path, settings: Settings) -> None:
    home = tmp_path / "not-a-dir"
    home.write_text("I am a file")
    with pytest.raises(BenchError) as caught:
        await Bench.open(home, settings=settings)
    assert caught.value.code == "database_unavailable"
    assert str(home) not in caught.value.message  # a remote client must not learn the host's layout
    assert caught.value.details["path"] == str(home)
    assert home.read_text() == "I am a file"


async def test_settings_come_from_config_toml(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('tmux_socket = "relayboard-test-cfg"\njournal_mode = "delete"\n')
    loaded = load_settings(home)
    assert (loaded.tmux_socket, loaded.journal_mode) == ("relayboard-test-cfg", "delete")
    assert load_settings(tmp_path / "elsewhere").tmux_socket is None  # no file: defaults


@pytest.mark.parametrize(
    ("content", "field", "text"),
    [
        ("bogus_key = 1\n", "bogus_key", "config.toml: bogus_key: Extra inputs are not permitted"),
        ('journal_mode = "fast"\n', "journal_mode", "config.toml: journal_mode:"),
        ("refresh_seconds = 0.01\n", "refresh_seconds", "config.toml: refresh_seconds:"),
        ("this is = = not toml\n", None, "config.toml is not valid TOML"),
    ],
)
def test_invalid_config_is_config_invalid(tmp_path: Path, content: str, field: str | None, text: str) -> None:
    (tmp_path / "config.toml").write_text(content)
    with pytest.raises(BenchError) as caught:
        load_settings(tmp_path)
    assert caught.value.code == "config_invalid"
    assert text in caught.value.message
    assert caught.value.details.get("field") == field


def test_home_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYBOARD_HOME", str(tmp_path / "from-env"))
    assert resolve_home(str(tmp_path / "from-flag")) == tmp_path / "from-flag"
    assert resolve_home(None) == tmp_path / "from-env"
    monkeypatch.delenv("RELAYBOARD_HOME")
    default = resolve_home(None)
    assert default.name == "relayboard"
    assert str(default).startswith(str(Path.home()))  # the temporary HOME of this test
