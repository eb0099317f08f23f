"""`relayboard doctor|call|export|import` as real subprocesses (`python -m tui.cli`), on temporary homes only."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from core.bench import Bench
from core.clock import FixedClock
from core.config import load_settings
from storage import migrations
from storage.db import Database

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


# -- doctor -------------------------------------------------------------------------------------------------------


def _fingerprint(home: Path) -> str:
    """The database file itself (reading a WAL database may create its empty -wal/-shm side files)."""
    return hashlib.sha256((home / "relayboard.db").read_bytes()).hexdigest()


def test_doctor_degraded_bench_exits_1_with_text(run_cli, cli_home: Path, tmux_socket: str, tmux_bin: str) -> None:
    assert run_cli("call", "app.readiness", home=cli_home).returncode == 0  # the database exists
    before = _fingerprint(cli_home)
    done = run_cli("doctor", home=cli_home)
    assert done.returncode == 1, done.stderr
    assert _fingerprint(cli_home) == before  # doctor looks, never writes (found: it migrated and analysed)
    lines = done.stdout.splitlines()
    assert lines[0] == "Relayboard readiness: degraded"
    rows = [re.match(r"  \[(.{4})\] (\S+)", line) for line in lines[1:9]]
    assert [m.group(2) for m in rows if m] == [
        "tmux_discovery",
        "sqlite",
        "jsonl",
        "routing_worker",
        "log_attachment_workers",
        "scheduler",
        "process_supervisor",
        "token_sources",
    ]
    assert f"  [DOWN] tmux_discovery           no tmux server on socket '{tmux_socket}'" in lines
    schema = f"schema v{migrations.latest_version()}, integrity checked"
    assert any(line.startswith("  [ok  ] sqlite") and line.endswith(schema) for line in lines)
    # Log attachment workers are built: with no agent there is nothing to attach, so the row is ok.
    assert "  [ok  ] log_attachment_workers   0 attached" in lines
    assert "  hint start_tmux_server (action_required): No tmux server is running on the configured socket." in lines
    assert f"       fix: tmux -L {tmux_socket} new-session -d" in lines
    assert (cli_home / "relayboard.db").is_file()


def test_doctor_json_prints_the_envelope(run_cli, cli_home: Path, tmux_bin: str) -> None:
    assert run_cli("call", "app.readiness", home=cli_home).returncode == 0
    done = run_cli("doctor", "--json", home=cli_home)
    assert done.returncode == 1
    envelope = done.json()
    assert envelope["ok"] is True
    assert envelope["app_contract_version"] == "1.2"
    assert envelope["result"]["state"] == "degraded"
    assert envelope["result"]["server"]["code"] == "socket_missing"
    rows = {row["name"]: row for row in envelope["result"]["subsystems"]}
    assert rows["sqlite"]["status"] == "ok"
    assert rows["tmux_discovery"]["hint"] == "start_tmux_server"


def test_doctor_everything_down_exits_2_and_keeps_the_corrupt_file(run_cli, cli_home: Path, tmp_path: Path) -> None:
    garbage = os.urandom(8192)
    (cli_home / "relayboard.db").write_bytes(garbage)
    (cli_home / "audit.jsonl").mkdir()
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()

    done = run_cli("doctor", "--json", home=cli_home, env={"PATH": str(empty_bin)})
    assert done.returncode == 2, done.stdout + done.stderr
    report = done.json()["result"]
    assert report["state"] == "unavailable"
    assert {row["status"] for row in report["subsystems"]} == {"unavailable"}
    rows = {row["name"]: row for row in report["subsystems"]}
    assert rows["sqlite"]["hint"] == "repair_database"
    assert "is corrupt or not a SQLite database" in rows["sqlite"]["reason"]
    assert rows["tmux_discovery"]["hint"] == "install_tmux"
    assert rows["jsonl"]["hint"] == "audit_log_unwritable"
    codes = {hint["code"]: hint["severity"] for hint in report["hints"]}
    assert codes == {
        "install_tmux": "action_required",
        "repair_database": "action_required",
        "audit_log_unwritable": "action_required",
    }
    assert (cli_home / "relayboard.db").read_bytes() == garbage

    text = run_cli("doctor", home=cli_home, env={"PATH": str(empty_bin)})
    assert text.returncode == 2
    assert text.stdout.splitlines()[0] == "Relayboard readiness: unavailable"
    assert (cli_home / "relayboard.db").read_bytes() == garbage


def test_doctor_with_invalid_config_exits_2(run_cli, cli_home: Path) -> None:
    (cli_home / "config.toml").write_text("tmux_sockett = 'typo'\n")
    done = run_cli("doctor", home=cli_home)
    assert done.returncode == 2
    assert not (cli_home / "relayboard.db").exists()
    assert done.stderr.strip() == "error: config_invalid: config.toml: tmux_sockett: Extra inputs are not permitted"
    assert done.stdout == ""


def test_doctor_json_with_invalid_config_prints_the_error_envelope(run_cli, cli_home: Path) -> None:
    (cli_home / "config.toml").write_text("tmux_sockett = 'typo'\n")
    done = run_cli("doctor", "--json", home=cli_home)
    assert done.returncode == 2
    assert done.json() == {
        "ok": False,
        "app_contract_version": "1.2",
        "error": {
            "code": "config_invalid",
            "message": "config.toml: tmux_sockett: Extra inputs are not permitted",
            "details": {"field": "tmux_sockett"},
        },
    }
    assert not (cli_home / "relayboard.db").exists()


# -- call ---------------------------------------------------------------------------------------------------------


def test_call_dashboard_prints_counts(run_cli, cli_home: Path, tmux_bin: str) -> None:
    done = run_cli("call", "app.dashboard", home=cli_home)
    assert done.returncode == 0, done.stderr
    envelope = done.json()
    assert (envelope["ok"], envelope["app_contract_version"]) == (True, "1.2")
    counts = envelope["result"]["counts"]
    assert counts["agents"]["total"] == 0
    assert counts["panes"] == {"total": 0, "registered": 0, "unregistered": 0}
    assert counts["events"]["total"] == 0
    assert [hint["code"] for hint in envelope["result"]["hints"]] == ["start_tmux_server"]


def test_call_unknown_method_exits_1(run_cli, cli_home: Path) -> None:
    done = run_cli("call", "app.nope", "{}", home=cli_home)
    assert done.returncode == 1
    envelope = done.json()
    assert envelope["ok"] is False
    assert envelope["error"] == {
        "code": "unknown_method",
        "message": "no method app.nope",
        "details": {"method": "app.nope"},
    }


def test_call_invalid_json_is_malformed_request(run_cli, cli_home: Path) -> None:
    done = run_cli("call", "app.agent.list", "{not json", home=cli_home)
    assert done.returncode == 2
    error = done.json()["error"]
    assert error["code"] == "malformed_request"
    assert error["details"] == {"reason": "json decode error"}
    not_object = run_cli("call", "app.agent.list", "[1, 2]", home=cli_home)
    assert not_object.returncode == 1
    assert not_object.json()["error"]["code"] == "malformed_request"


def test_call_list_validation_errors(run_cli, cli_home: Path) -> None:
    big = run_cli("call", "app.agent.list", '{"limit": 500}', home=cli_home)
    assert big.returncode == 1
    error = big.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["field"] == "limit"

    like = run_cli("call", "app.agent.list", '{"filters": {"name": "a%"}}', home=cli_home).json()["error"]
    assert like["code"] == "validation_failed"
    assert "exact match only" in like["message"]

    order = run_cli("call", "app.agent.list", '{"order_by": "password:asc"}', home=cli_home).json()["error"]
    assert (order["code"], order["details"]["field"]) == ("validation_failed", "order_by")


async def test_call_cursor_pagination_over_seven_notes(run_cli, cli_home: Path, fixed_clock: FixedClock) -> None:
    bench = await Bench.open(cli_home, settings=load_settings(cli_home), clock=fixed_clock)
    try:
        for i in range(7):
            await bench.memory.note_add({"title": f"note {i}"})
            fixed_clock.advance(timedelta(seconds=1))
    finally:
        await bench.close()

    titles: list[str] = []
    sizes: list[int] = []
    first_cursor = None
    params: dict = {"limit": 3}
    while True:
        done = run_cli("call", "app.note.list", json.dumps(params), home=cli_home)
        assert done.returncode == 0, done.stdout
        page = done.json()["result"]
        sizes.append(len(page["rows"]))
        titles += [row["title"] for row in page["rows"]]
        if page["cursor_next"] is None:
            break
        first_cursor = first_cursor or page["cursor_next"]
        params = {"limit": 3, "cursor_next": page["cursor_next"]}
    assert sizes == [3, 3, 1]
    assert titles == [f"note {i}" for i in reversed(range(7))]

    reused = run_cli(
        "call",
        "app.note.list",
        json.dumps({"limit": 3, "cursor_next": first_cursor, "filters": {"source": "x"}}),
        home=cli_home,
    )
    assert reused.returncode == 1
    error = reused.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("validation_failed", "cursor_next")


def test_call_with_home_that_is_a_file(run_cli, tmp_path: Path) -> None:
    home = tmp_path / "file-home"
    home.write_text("not a directory")
    done = run_cli("call", "app.dashboard", home=home)
    assert done.returncode == 2
    error = done.json()["error"]
    assert error["code"] == "database_unavailable"
    assert error["details"]["path"] == str(home) and str(home) not in error["message"]  # paths are data
    assert home.read_text() == "not a directory"


def test_call_creates_an_unknown_home(run_cli, tmp_path: Path, tmux_socket: str) -> None:
    home = tmp_path / "brand" / "new"
    config = tmp_path / "config.toml"
    config.write_text(f'tmux_socket = "{tmux_socket}"\n')
    done = run_cli("call", "app.agent.list", home=home, env={"RELAYBOARD_CONFIG": str(config)})
    assert done.returncode == 0, done.stdout + done.stderr
    result = done.json()["result"]
    assert (result["rows"], result["total"], result["cursor_next"]) == ([], 0, None)
    assert (home / "relayboard.db").is_file()


async def test_call_waits_while_another_window_writes(run_cli, cli_home: Path) -> None:
    db = await Database.open(cli_home / "relayboard.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYBOARD_", "TMUX"))}
    try:
        async with db.write() as w:
            await w.execute("INSERT INTO settings (key, value, updated_at) VALUES ('held', '1', 'now')")
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tui.cli",
                "call",
                "app.dashboard",
                "--home",
                str(cli_home),
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            # Hold the lock for 3.5 s (under the 5 s busy timeout), or until the call gives up.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(proc.wait()), 3.5)
        stdout, _ = await proc.communicate()
    finally:
        await db.close()
    envelope = json.loads(stdout)
    assert envelope["ok"] is True, envelope
    assert proc.returncode == 0


# -- export / import ----------------------------------------------------------------------------------------------


async def test_export_then_import_through_the_cli(run_cli, cli_home: Path, tmp_path: Path) -> None:
    bench = await Bench.open(cli_home, settings=load_settings(cli_home))
    try:
        await bench.memory.note_add({"title": "keep me"})
        await bench.routes.set_enabled({"enabled": False})
    finally:
        await bench.close()

    target = tmp_path / "bench.json"
    exported = run_cli("export", str(target), home=cli_home)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"exported 4 rows from 22 tables to {target}"
    document = json.loads(target.read_text())
    assert [n["title"] for n in document["tables"]["notes"]] == ["keep me"]

    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{definitely not json")
    rejected = run_cli("import", str(corrupt), home=cli_home)
    assert rejected.returncode == 1
    assert rejected.stderr.strip() == f"error: validation_failed: not a JSON document (line 1) ({corrupt})"

    fresh = tmp_path / "fresh-home"
    fresh.mkdir()
    (fresh / "config.toml").write_text((cli_home / "config.toml").read_text())
    imported = run_cli("import", str(target), home=fresh)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(f"imported {target}; previous database backed up to {fresh / 'backups'}")
    assert len(list((fresh / "backups").glob("relayboard-*.db"))) == 1
    notes = run_cli("call", "app.note.list", home=fresh).json()["result"]
    assert [n["title"] for n in notes["rows"]] == ["keep me"]


async def test_export_leaves_launch_env_values_out_unless_asked(run_cli, cli_home: Path, tmp_path: Path) -> None:
    bench = await Bench.open(cli_home, settings=load_settings(cli_home))
    try:
        workdir = tmp_path / "work"
        workdir.mkdir()
        await bench.launcher.launch(
            {"name": "keyed", "preset": "shell", "cwd": str(workdir), "env": {"API_TOKEN": "tok-5551212"}}
        )
    finally:
        await bench.ctx.tmux.kill_server()
        await bench.close()
    plain = tmp_path / "plain.json"
    done = run_cli("export", str(plain), home=cli_home)
    assert done.returncode == 0, done.stderr
    assert "tok-5551212" not in plain.read_text()
    assert done.stderr.strip() == (
        "left out the launch environment values of 1 agent(s) (keyed: API_TOKEN); pass --include-secrets to keep them"
    )
    document = json.loads(plain.read_text())
    assert document["secrets_left_out"] == [{"agent": "keyed", "env": ["API_TOKEN"]}]
    assert json.loads(document["tables"]["agents"][0]["launch_env"]) == {"API_TOKEN": ""}
    full = tmp_path / "full.json"
    done = run_cli("export", str(full), "--include-secrets", home=cli_home)
    assert done.returncode == 0 and done.stderr == ""
    assert "tok-5551212" in full.read_text()


def test_export_to_a_missing_directory_or_onto_a_directory_is_one_line(run_cli, cli_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "bench.json"
    done = run_cli("export", str(missing), home=cli_home)
    assert (done.returncode, done.stdout) == (1, "")
    assert (
        done.stderr == f"error: validation_failed: cannot write the export: its directory does not exist ({missing})\n"
    )
    done = run_cli("export", str(tmp_path), home=cli_home)
    assert done.returncode == 1
    assert done.stderr.startswith("error: validation_failed: the export target is a directory")
    assert done.stderr.rstrip().endswith(f"({tmp_path})")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_output_piped_into_head_ends_with_one_line(cli_home: Path) -> None:
    """app.describe prints ~230 KB: far more than a pipe holds, so `head` closes it while Relayboard writes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYBOARD_", "TMUX"))}
    command = f"{sys.executable} -m tui.cli call app.describe --home {cli_home} | head -c 10; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", command], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.stdout == '{\n  "ok": '
    assert done.returncode == 1
    assert done.stderr == "relayboard: output closed before it was all written (broken pipe)\n"


def test_call_with_params_nested_5000_deep_is_malformed_request(run_cli, cli_home: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    done = run_cli("call", "app.agent.list", f'{{"filters": {deep}}}', home=cli_home)
    assert done.returncode == 2
    error = done.json()["error"]
    assert (error["code"], error["details"]) == ("malformed_request", {"reason": "json decode error"})


# -- layering -----------------------------------------------------------------------------------------------------


def test_core_and_storage_do_not_import_textual_or_rich(tmp_path: Path) -> None:
    code = (
        "import core.bench, core.calls, core.demo, storage.db, storage.transfer, tui.cli; import sys; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); "
        "assert not bad, bad"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
