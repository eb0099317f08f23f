"""Pane logs through `pipe-pane` into `<home>/logs/<agent>.log`, on real panes: attach, detach, blocked on dead
panes, degraded (with the attach_logs hint) when the pane or the file goes, and re-opened after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core import calls
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from storage.models import Agent, LogAttachment
from tests.unit.agent_helpers import (
    drain,
    event_types,
    eventually,
    failure,
    launch_shell,
    live_pane,
    tmux,
    wait_for_dead,
    wait_for_text,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tmux_bin")]


@pytest.fixture
async def shell(bench: Bench, workdir: Path) -> Agent:
    await bench.ctx.tmux.new_session("bystander", "bash", str(workdir))  # the server outlives a killed agent
    return await launch_shell(bench, "logged", workdir)


async def _attach(bench: Bench, agent: Agent) -> LogAttachment:
    return await calls.call(bench, "app.log.attach", {"agent_id": agent.agent_id})


async def _type(bench: Bench, agent: Agent, text: str) -> None:
    await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": text})


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


async def _in_log(path: Path, text: str, within: float = 3.0) -> str:
    async def probe() -> str:
        content = await asyncio.to_thread(_read, path)
        return content if text in content else ""

    return await eventually(probe, within=within, what=f"{text!r} in {path.name}")


async def _hint_targets(bench: Bench) -> list[tuple[str, str | None]]:
    return [(h.code, h.target.id if h.target else None) for h in (await bench.readiness()).hints]


async def test_attach_writes_the_pane_output_and_detach_stops_it(bench: Bench, shell: Agent) -> None:
    attached = await _attach(bench, shell)
    path = bench.home / "logs" / "logged.log"
    assert (attached.agent_id, attached.path, attached.state, attached.reason) == (
        shell.agent_id,
        str(path),
        "active",
        "",
    )
    pane = await live_pane(bench, shell)
    assert pane is not None and pane.pipe_open
    await _type(bench, shell, "echo logged-line-$((2+3))")
    await _in_log(path, "logged-line-5")
    readiness = (await bench.readiness()).subsystem("log_attachment_workers")
    assert (readiness.status, readiness.detail) == ("ok", "1 attached")
    assert (await bench.dashboard()).counts.log_attachments == {"active": 1, "degraded": 0, "none": 0}

    detached = await calls.call(bench, "app.log.detach", {"agent_id": shell.agent_id})
    assert detached.state == "detached"
    pane = await live_pane(bench, shell)
    assert pane is not None and not pane.pipe_open
    size = path.stat().st_size
    await _type(bench, shell, "echo after-detach-$((4+4))")
    await wait_for_text(bench, shell, "after-detach-8")
    await drain(bench, shell)
    await asyncio.sleep(0.2)  # a pipe still open would have copied the lines by now
    assert path.stat().st_size == size
    assert "after-detach-8" not in path.read_text(errors="replace")

    types = await event_types(bench, shell.agent_id)
    assert [t for t in types if t.startswith("log_")] == ["log_attached", "log_detached"]
    twice = await failure(calls.call(bench, "app.log.detach", {"agent_id": shell.agent_id}))
    assert (twice.code, twice.details) == ("not_found", {"agent_id": shell.agent_id})
    assert (await bench.dashboard()).counts.log_attachments == {"active": 0, "degraded": 0, "none": 1}


async def test_attach_to_a_dead_or_killed_pane_is_blocked(bench: Bench, shell: Agent) -> None:
    await _type(bench, shell, "exit")
    await wait_for_dead(bench, shell)
    dead = await failure(_attach(bench, shell))
    assert dead.code == "log_attach_blocked"
    assert dead.details == {"agent_id": shell.agent_id, "reason": "pane_dead"}
    await calls.call(bench, "app.agent.kill", {"agent_id": shell.agent_id})
    gone = await failure(_attach(bench, shell))
    assert (gone.code, gone.details) == ("log_attach_blocked", {"agent_id": shell.agent_id, "reason": "pane_dead"})
    assert not (bench.home / "logs" / "logged.log").exists()
    assert "log_attached" not in await event_types(bench, shell.agent_id)


async def test_missing_log_file_degrades_with_the_attach_logs_hint(bench: Bench, shell: Agent) -> None:
    attached = await _attach(bench, shell)
    path = Path(attached.path)
    await _type(bench, shell, "echo before-unlink")
    await _in_log(path, "before-unlink")  # the pipe's `cat >>` has opened the file (it would create it again)
    await asyncio.to_thread(path.unlink)
    await bench.refresh_states()
    degraded = await bench.logs.get(shell.agent_id)
    assert degraded is not None
    assert (degraded.state, degraded.reason) == ("degraded", "log file is missing")
    report = await bench.readiness()
    row = report.subsystem("log_attachment_workers")
    assert (row.status, row.hint) == ("degraded", "attach_logs")
    assert row.reason == "1 log attachment(s) degraded (logged: log file is missing)"
    (hint,) = [h for h in report.hints if h.code == "attach_logs"]
    assert (hint.severity, hint.subsystem) == ("info", "log_attachment_workers")
    assert hint.target is not None and (hint.target.kind, hint.target.id) == ("agent", shell.agent_id)
    assert hint.action == "agents pane (2): select logged, press l"
    assert report.state == "degraded"
    assert (await bench.dashboard()).counts.log_attachments == {"active": 0, "degraded": 1, "none": 0}
    # No event for what the watcher found: it is a state, not an operator's action.
    assert (await event_types(bench, shell.agent_id)).count("log_attached") == 1

    # Attaching again repairs it: the file is back and the hint gone.
    repaired = await _attach(bench, shell)
    assert (repaired.state, repaired.reason) == ("active", "")
    assert await asyncio.to_thread(path.exists)
    assert ("attach_logs", shell.agent_id) not in await _hint_targets(bench)


async def test_attaching_twice_keeps_logging_once(bench: Bench, shell: Agent) -> None:
    attached = await _attach(bench, shell)
    path = Path(attached.path)
    await _type(bench, shell, "echo first-$((1+1))")
    await _in_log(path, "first-2")
    again = await _attach(bench, shell)
    assert (again.state, again.attached_at) == ("active", attached.attached_at)
    pane = await live_pane(bench, shell)
    assert pane is not None and pane.pipe_open, "the second attach closed the pipe"
    await _type(bench, shell, "echo once-$((3+4))")
    assert (await _in_log(path, "once-7")).count("once-7") == 1


async def test_reattach_after_the_file_was_deleted_logs_again(bench: Bench, shell: Agent) -> None:
    path = Path((await _attach(bench, shell)).path)
    await _type(bench, shell, "echo before-unlink")
    await _in_log(path, "before-unlink")
    await asyncio.to_thread(path.unlink)
    await bench.refresh_states()
    await _attach(bench, shell)
    await _type(bench, shell, "echo fresh-file-$((5+5))")
    await _in_log(path, "fresh-file-10", within=1.0)


async def test_killed_pane_degrades_as_pane_exited(bench: Bench, shell: Agent) -> None:
    await _attach(bench, shell)
    await calls.call(bench, "app.agent.kill", {"agent_id": shell.agent_id})
    await bench.refresh_states()
    attachment = await bench.logs.get(shell.agent_id)
    assert attachment is not None and (attachment.state, attachment.reason) == ("degraded", "pane exited")
    assert ("attach_logs", shell.agent_id) in await _hint_targets(bench)
    row = (await bench.readiness()).subsystem("log_attachment_workers")
    assert row.reason == "1 log attachment(s) degraded (logged: pane exited)"
    # Detach works on a gone pane (nothing to close) and clears the hint.
    await calls.call(bench, "app.log.detach", {"agent_id": shell.agent_id})
    assert ("attach_logs", shell.agent_id) not in await _hint_targets(bench)


async def test_attachment_is_reopened_after_a_restart(
    bench: Bench, shell: Agent, tmux_socket: str, settings: Settings, fixed_clock: FixedClock
) -> None:
    path = Path((await _attach(bench, shell)).path)
    await bench.close()
    tmux(tmux_socket, "pipe-pane", "-t", shell.pane_id or "")  # the pipe closed while Relayboard was away
    async with await Bench.open(bench.home, settings=settings, clock=fixed_clock) as again:
        pane = await live_pane(again, shell)
        assert pane is not None and not pane.pipe_open
        await again.refresh_states()
        pane = await live_pane(again, shell)
        assert pane is not None and pane.pipe_open
        attachment = await again.logs.get(shell.agent_id)
        assert attachment is not None and attachment.state == "active"
        await _type(again, shell, "echo reopened-$((6+6))")
        await _in_log(path, "reopened-12")


async def test_log_calls_validate_and_find_agents(bench: Bench) -> None:
    for method in ("app.log.attach", "app.log.detach"):
        missing = await failure(calls.call(bench, method, {"agent_id": "nope"}))
        assert (missing.code, missing.details) == ("agent_not_found", {"agent_id": "nope"})
        bad = await failure(calls.call(bench, method, {"agent_id": "x", "path": "/tmp/elsewhere.log"}))
        assert (bad.code, bad.details["field"]) == ("validation_failed", "path")
