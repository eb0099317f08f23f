"""Readiness probes, hints and the dashboard against real tmux, real SQLite and real directories."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from core.bench import Bench, diagnose
from core.clock import FixedClock
from core.config import Settings
from core.errors import BenchError
from core.hints import HINTS
from core.readiness import SUBSYSTEMS, Subsystem, aggregate
from storage import migrations
from tests.unit.agent_helpers import launch_shell, stop_server, tmux

CONTRACT_ORDER = [
    "tmux_discovery",
    "sqlite",
    "jsonl",
    "routing_worker",
    "log_attachment_workers",
    "scheduler",
    "process_supervisor",
    "token_sources",
]


def _row(name: str, status: str) -> Subsystem:
    return Subsystem(name=name, status=status)  # type: ignore[arg-type]


def test_aggregate() -> None:
    assert aggregate([_row("a", "ok"), _row("b", "ok")]) == "ready"
    assert aggregate([_row("a", "unavailable"), _row("b", "unavailable")]) == "unavailable"
    assert aggregate([_row("a", "ok"), _row("b", "unavailable")]) == "degraded"
    assert aggregate([_row("a", "degraded"), _row("b", "degraded")]) == "degraded"
    assert aggregate([_row("a", "ok"), _row("b", "degraded")]) == "degraded"


def test_hint_registry_matches_contract() -> None:
    expected = {
        "register_first_agent": "info",
        "attach_logs": "info",
        "enable_first_route": "info",
        "start_bench_container": "action_required",
        "check_container_filter": "warning",
        "docker_unavailable_hint": "action_required",
    }
    for code, severity in expected.items():
        assert HINTS[code].severity == severity, code
    for code in (
        "install_tmux",
        "start_tmux_server",
        "database_read_only",
        "routing_disabled",
        "audit_log_unwritable",
        "budget_near_limit",
        "budget_exceeded",
        "scheduler_follower",
    ):
        assert code in HINTS, code


async def test_without_tmux_on_path(bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    report = await bench.readiness()
    assert [s.name for s in report.subsystems] == CONTRACT_ORDER == list(SUBSYSTEMS)
    tmux = report.subsystem("tmux_discovery")
    assert (tmux.status, tmux.reason, tmux.hint) == ("unavailable", "tmux not found on PATH", "install_tmux")
    (hint,) = [h for h in report.hints if h.code == "install_tmux"]
    assert (hint.severity, hint.subsystem) == ("action_required", "tmux_discovery")
    assert hint.action == "sudo apt-get install tmux"
    assert report.state == "degraded"  # sqlite and jsonl are fine
    assert report.checked_at == "2026-11-23T12:00:00.000000Z"


async def test_no_server_on_socket(bench: Bench, tmux_bin: str, tmux_socket: str) -> None:
    report = await bench.readiness()
    tmux = report.subsystem("tmux_discovery")
    assert (tmux.status, tmux.hint) == ("unavailable", "start_tmux_server")
    assert tmux.reason == f"no tmux server on socket {tmux_socket!r}"
    assert [h.code for h in report.hints] == ["start_tmux_server"]
    assert report.hints[0].severity == "action_required"


@pytest.mark.slow
async def test_live_private_server(bench: Bench, start_panes, tmux_socket: str) -> None:
    await start_panes(bench, {"solo": 1})
    report = await bench.readiness()
    tmux = report.subsystem("tmux_discovery")
    assert (tmux.status, tmux.reason, tmux.detail) == ("ok", "", f"socket {tmux_socket}")
    assert [h.code for h in report.hints] == ["register_first_agent"]
    assert report.hints[0].severity == "info"


@pytest.mark.slow
async def test_hints_follow_bench_state(bench: Bench, adopt) -> None:
    await adopt(bench, {"lead": "master"})
    codes = [h.code for h in (await bench.readiness()).hints]
    assert "register_first_agent" not in codes
    assert "enable_first_route" in codes
    await bench.routes.set_enabled({"enabled": False})
    report = await bench.readiness()
    codes = [h.code for h in report.hints]
    assert "routing_disabled" in codes
    assert "enable_first_route" not in codes  # the kill switch is the more urgent fix
    routing = report.subsystem("routing_worker")
    assert (routing.status, routing.hint) == ("unavailable", "routing_disabled")
    assert next(h for h in report.hints if h.code == "routing_disabled").severity == "warning"


@pytest.mark.parametrize("mode", ["wal", "delete"])
async def test_sqlite_row_names_the_journal_mode(
    tmp_path: Path, settings: Settings, fixed_clock: FixedClock, mode: str
) -> None:
    configured = settings.model_copy(update={"journal_mode": mode})
    bench = await Bench.open(tmp_path / "home", settings=configured, clock=fixed_clock)
    try:
        sqlite_row = (await bench.readiness()).subsystem("sqlite")
        assert sqlite_row.status == "ok"
        assert sqlite_row.detail == (
            f"journal {mode} (configured), schema v{migrations.latest_version()}, integrity checked"
        )
    finally:
        await bench.close()


async def test_network_filesystem_degrades_sqlite(
    tmp_path: Path, settings: Settings, fixed_clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.db.filesystem_type", lambda path: "nfs4")
    bench = await Bench.open(tmp_path / "home", settings=settings, clock=fixed_clock)
    try:
        sqlite_row = (await bench.readiness()).subsystem("sqlite")
        assert sqlite_row.status == "degraded"
        assert sqlite_row.reason == "journal delete: network filesystem (nfs4); concurrent windows wait longer"
        assert sqlite_row.detail == (
            f"journal delete (network filesystem (nfs4)), schema v{migrations.latest_version()}, integrity checked"
        )
    finally:
        await bench.close()


async def test_token_sources_follow_log_directories(bench: Bench, settings: Settings) -> None:
    row = (await bench.readiness()).subsystem("token_sources")
    assert (row.status, row.reason) == ("unavailable", "no Claude Code or Codex log directories found")
    (settings.claude_home / "projects").mkdir(parents=True)
    row = (await bench.readiness()).subsystem("token_sources")
    assert (row.status, row.detail) == ("degraded", "found: claude")
    (settings.codex_home / "sessions").mkdir(parents=True)
    assert (await bench.readiness()).subsystem("token_sources").detail == "found: claude, codex"


async def test_features_not_built_yet_are_unavailable_with_reason(bench: Bench) -> None:
    report = await bench.readiness()
    for name in ("routing_worker", "scheduler", "process_supervisor"):
        row = report.subsystem(name)
        assert row.status == "unavailable", name
        assert "not built yet" in row.reason, name
    assert report.state != "ready"


async def test_log_attachment_workers_are_built(bench: Bench) -> None:
    """No agents, no attachments: nothing is wrong, and nothing to hint about."""
    row = (await bench.readiness()).subsystem("log_attachment_workers")
    assert (row.status, row.reason, row.hint, row.detail) == ("ok", "", None, "0 attached")
    assert "not built yet" not in row.reason


@pytest.mark.slow
async def test_adopted_agent_without_log_gets_the_attach_logs_hint(bench: Bench, adopt) -> None:
    await adopt(bench, {"lead": "master"})
    report = await bench.readiness()
    row = report.subsystem("log_attachment_workers")
    assert (row.status, row.hint, row.detail) == ("ok", "attach_logs", "no agent has its log attached")
    (hint,) = [h for h in report.hints if h.code == "attach_logs"]
    assert (hint.severity, hint.subsystem, hint.target) == ("info", "log_attachment_workers", None)


async def test_diagnose_corrupt_database(tmp_path: Path, settings: Settings, fixed_clock: FixedClock) -> None:
    home = tmp_path / "home"
    home.mkdir()
    garbage = b"\x00garbage\xff" * 512
    (home / "relayboard.db").write_bytes(garbage)
    report = await diagnose(home, clock=fixed_clock, settings=settings)
    sqlite_row = report.subsystem("sqlite")
    assert (sqlite_row.status, sqlite_row.hint) == ("unavailable", "repair_database")
    assert sqlite_row.reason == "the database file is corrupt or not a SQLite database"
    assert "repair_database" in [h.code for h in report.hints]
    assert [s.name for s in report.subsystems] == CONTRACT_ORDER
    assert (home / "relayboard.db").read_bytes() == garbage


async def test_diagnose_schema_too_new(tmp_path: Path, settings: Settings, fixed_clock: FixedClock) -> None:
    home = tmp_path / "home"
    bench = await Bench.open(home, settings=settings, clock=fixed_clock)
    await bench.close()
    with sqlite3.connect(home / "relayboard.db") as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
    conn.close()
    sqlite_row = (await diagnose(home, clock=fixed_clock, settings=settings)).subsystem("sqlite")
    assert sqlite_row.status == "unavailable"
    assert f"schema version 999, newer than this Relayboard knows ({migrations.latest_version()})" in sqlite_row.reason


async def test_dashboard_counts_recents_and_params(bench: Bench, fixed_clock: FixedClock) -> None:
    for i in range(12):
        await bench.routes.set_enabled({"enabled": i % 2 == 0})
    dashboard = await bench.dashboard()
    assert dashboard.generated_at == "2026-11-23T12:00:00.000000Z"
    assert dashboard.counts.events == {"total": 12, "last_24h_by_type": {"routing_toggled": 12}}
    assert dashboard.counts.agents["total"] == 0
    assert dashboard.counts.routes == {"enabled": 0, "disabled": 0}
    assert len(dashboard.recent) == 10
    assert dashboard.recent[0].summary == "routing disabled"  # newest first: i = 11
    assert (dashboard.recent[0].type, dashboard.recent[0].origin) == ("routing_toggled", "cli")
    assert len((await bench.dashboard({"recent_limit": 3})).recent) == 3
    for bad in (0, 51):
        with pytest.raises(BenchError) as caught:
            await bench.dashboard({"recent_limit": bad})
        assert (caught.value.code, caught.value.details["field"]) == ("validation_failed", "recent_limit")
    with pytest.raises(BenchError) as caught:
        await bench.readiness({"verbose": True})
    assert (caught.value.code, caught.value.details["field"]) == ("validation_failed", "verbose")


@pytest.mark.slow
async def test_tmux_server_going_away_and_coming_back(bench: Bench, tmux_socket: str, workdir: Path) -> None:
    await launch_shell(bench, "survivor", workdir)
    assert (await bench.readiness()).subsystem("tmux_discovery").status == "ok"

    stop_server(tmux_socket)
    started = time.monotonic()
    report = await bench.readiness()
    assert time.monotonic() - started < 5
    tmux_row = report.subsystem("tmux_discovery")
    assert (tmux_row.status, tmux_row.hint) == ("unavailable", "start_tmux_server")
    assert tmux_row.reason == f"no tmux server on socket {tmux_socket!r}"
    (hint,) = [h for h in report.hints if h.code == "start_tmux_server"]
    assert (hint.severity, hint.subsystem) == ("action_required", "tmux_discovery")
    assert hint.action == f"tmux -L {tmux_socket} new-session -d"
    assert report.state == "degraded"
    dashboard = await bench.dashboard()
    assert "start_tmux_server" in [h.code for h in dashboard.hints]
    scan = await bench.agents.scan({"wait": True})
    assert scan.state == "failed" and tmux_socket in scan.error

    # The operator runs the hinted command: tmux is back.
    tmux(tmux_socket, *hint.action.split()[3:])
    report = await bench.readiness()
    assert report.subsystem("tmux_discovery").status == "ok"
    assert "start_tmux_server" not in [h.code for h in report.hints]
    assert (await bench.agents.scan({"wait": True})).state == "done"
