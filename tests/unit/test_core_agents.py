"""Pane discovery and agent adoption against a real tmux server on a private socket."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import pytest

from core.bench import Bench
from core.errors import BenchError
from storage.models import Pane

pytestmark = pytest.mark.slow


def _tmux_pane_ids(tmux_bin: str, socket: str) -> set[str]:
    done = subprocess.run(
        [tmux_bin, "-L", socket, "list-panes", "-a", "-F", "#{pane_id}"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return set(done.stdout.split())


def _register_params(pane: Pane, **extra: Any) -> dict[str, Any]:
    return {**pane.identity(), **extra}


@pytest.fixture
async def three_panes(bench: Bench, start_panes) -> list[Pane]:
    await start_panes(bench, {"alpha": 2, "beta": 1})
    status = await bench.agents.scan({"wait": True})
    assert status.state == "done"
    return await bench.agents.panes()


async def _error(coro: Any) -> BenchError:
    with pytest.raises(BenchError) as caught:
        await coro
    return caught.value


async def test_scan_finds_three_panes_in_two_sessions(bench: Bench, start_panes, tmux_socket: str) -> None:
    await start_panes(bench, {"alpha": 2, "beta": 1})
    status = await bench.agents.scan({"wait": True})
    assert status.state == "done"
    assert status.panes_found == 3
    assert status.error == ""
    panes = await bench.agents.panes()
    assert [(p.session_name, p.window_index, p.pane_index) for p in panes] == [
        ("alpha", 0, 0),
        ("alpha", 0, 1),
        ("beta", 0, 0),
    ]
    assert all(p.alive and p.socket == tmux_socket and p.current_command == "bash" for p in panes)
    assert all(p.pid and p.pid > 0 for p in panes)
    assert len({p.pane_id for p in panes}) == 3
    dashboard = await bench.dashboard()
    assert dashboard.counts.panes == {"total": 3, "registered": 0, "unregistered": 3}


async def test_register_from_pane_and_duplicates(bench: Bench, three_panes: list[Pane]) -> None:
    pane = three_panes[0]
    agent = await bench.agents.register_from_pane(_register_params(pane, name="api-worker", label="  orders API  "))
    assert agent.name == "api-worker"
    assert agent.role == "worker"  # the default role
    assert agent.kind == "shell"  # guessed from `bash`
    assert agent.label == "orders API"  # trimmed
    assert (agent.pane_id, agent.session_name, agent.window_index, agent.pane_index) == (pane.pane_id, "alpha", 0, 0)
    assert agent.version == 1
    assert agent.created_at == "2026-11-23T12:00:00.000000Z"

    again = await _error(bench.agents.register_from_pane(_register_params(pane, name="another-name")))
    assert again.code == "pane_already_registered"
    assert again.details == {"agent_id": agent.agent_id}
    assert "api-worker" in again.message

    same_name = await _error(bench.agents.register_from_pane(_register_params(three_panes[1], name="api-worker")))
    assert same_name.code == "validation_failed"
    assert same_name.details["field"] == "name"

    listed = await bench.agents.list()
    assert [a.name for a in listed.rows] == ["api-worker"]
    detail = await bench.agents.detail({"agent_id": agent.agent_id})
    assert detail == agent
    pane_detail = await bench.agents.pane_detail({"pane_id": pane.pane_id})
    assert pane_detail.agent_id == agent.agent_id


async def test_identity_mismatch_is_pane_not_found(bench: Bench, three_panes: list[Pane]) -> None:
    pane = three_panes[0]
    for wrong in ({"window_index": 7}, {"pane_index": 5}, {"session_name": "beta"}, {"pane_id": "%999"}):
        params = {**_register_params(pane, name="x1"), **wrong}
        error = await _error(bench.agents.register_from_pane(params))
        assert error.code == "pane_not_found", wrong
        assert error.details == {"pane_id": params["pane_id"]}
    assert (await bench.agents.list()).total == 0
    unknown = await _error(bench.agents.pane_detail({"pane_id": "%999"}))
    assert (unknown.code, unknown.details) == ("pane_not_found", {"pane_id": "%999"})


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"name": "bad name!"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "ok", "label": "two\nlines"}, "label"),
        ({"name": "ok", "label": "x" * 257}, "label"),
        ({"name": "ok", "role": "boss"}, "role"),
        ({"name": "ok", "kind": "gpt"}, "kind"),
        ({"name": "ok", "surprise": 1}, "surprise"),
    ],
)
async def test_register_rejects_bad_input(bench: Bench, three_panes: list[Pane], extra: dict, field: str) -> None:
    error = await _error(bench.agents.register_from_pane(_register_params(three_panes[0], **extra)))
    assert error.code == "validation_failed"
    assert error.details["field"] == field
    assert (await bench.agents.list()).total == 0


async def test_slave_is_accepted_as_worker(bench: Bench, three_panes: list[Pane]) -> None:
    agent = await bench.agents.register_from_pane(_register_params(three_panes[0], name="w1", role="slave"))
    assert agent.role == "worker"
    assert agent.role_priority == 2
    master = await bench.agents.register_from_pane(_register_params(three_panes[1], name="m1", role="master"))
    updated = await bench.agents.update({"agent_id": master.agent_id, "role": "slave"})
    assert updated.role == "worker"


async def test_update_versions_and_stale_writes(bench: Bench, three_panes: list[Pane]) -> None:
    agent = await bench.agents.register_from_pane(
        _register_params(three_panes[0], name="w1", label="old", project_path="~/src/x", capability="py")
    )
    first = await bench.agents.update({"agent_id": agent.agent_id, "label": "new label", "expected_version": 1})
    assert (first.label, first.version) == ("new label", 2)

    stale = await _error(bench.agents.update({"agent_id": agent.agent_id, "label": "lost", "expected_version": 1}))
    assert stale.code == "stale_object"
    assert stale.details == {"version": 2}
    assert (await bench.agents.get(agent.agent_id)).label == "new label"

    # Last write wins without expected_version; empty string clears label and project_path.
    cleared = await bench.agents.update({"agent_id": agent.agent_id, "label": "", "project_path": ""})
    assert (cleared.label, cleared.project_path, cleared.version) == ("", "", 3)

    no_role = await _error(bench.agents.update({"agent_id": agent.agent_id, "role": ""}))
    assert (no_role.code, no_role.details["field"]) == ("validation_failed", "role")
    newline = await _error(bench.agents.update({"agent_id": agent.agent_id, "label": "a\nb"}))
    assert (newline.code, newline.details["field"]) == ("validation_failed", "label")
    missing = await _error(bench.agents.update({"agent_id": "nope", "label": "x"}))
    assert (missing.code, missing.details) == ("agent_not_found", {"agent_id": "nope"})


async def test_capability_cannot_be_cleared(bench: Bench, three_panes: list[Pane]) -> None:
    agent = await bench.agents.register_from_pane(_register_params(three_panes[0], name="w1", capability="python"))
    try:
        await bench.agents.update({"agent_id": agent.agent_id, "capability": ""})
    except BenchError as exc:
        assert exc.code == "validation_failed"
        assert exc.details["field"] == "capability"
    assert (await bench.agents.get(agent.agent_id)).capability == "python"


async def test_rename_to_existing_name_is_rejected(bench: Bench, three_panes: list[Pane]) -> None:
    first = await bench.agents.register_from_pane(_register_params(three_panes[0], name="w1"))
    await bench.agents.register_from_pane(_register_params(three_panes[1], name="w2"))
    error = await _error(bench.agents.update({"agent_id": first.agent_id, "name": "w2"}))
    assert (error.code, error.details["field"]) == ("validation_failed", "name")
    assert (await bench.agents.get(first.agent_id)).name == "w1"


async def test_remove_unadopts_but_leaves_the_pane_running(
    bench: Bench, three_panes: list[Pane], tmux_bin: str, tmux_socket: str
) -> None:
    pane = three_panes[2]
    agent = await bench.agents.register_from_pane(_register_params(pane, name="b1"))
    removed = await bench.agents.remove({"agent_id": agent.agent_id})
    assert removed.agent_id == agent.agent_id
    gone = await _error(bench.agents.detail({"agent_id": agent.agent_id}))
    assert (gone.code, gone.details) == ("agent_not_found", {"agent_id": agent.agent_id})
    assert pane.pane_id in _tmux_pane_ids(tmux_bin, tmux_socket)
    await bench.agents.scan({"wait": True})
    rescanned = await bench.agents.pane_detail({"pane_id": pane.pane_id})
    assert rescanned.alive and rescanned.agent_id is None
    # The pane can be adopted again.
    again = await bench.agents.register_from_pane(_register_params(pane, name="b1"))
    assert again.agent_id != agent.agent_id


async def test_killed_pane_is_marked_dead_not_deleted(
    bench: Bench, three_panes: list[Pane], tmux_bin: str, tmux_socket: str
) -> None:
    victim = three_panes[1]
    kill = [tmux_bin, "-L", tmux_socket, "kill-pane", "-t", victim.pane_id]
    await asyncio.to_thread(subprocess.run, kill, check=True, timeout=10)
    status = await bench.agents.scan({"wait": True})
    assert status.panes_found == 2
    after = {p.pane_id: p.alive for p in await bench.agents.panes()}
    assert after == {three_panes[0].pane_id: True, victim.pane_id: False, three_panes[2].pane_id: True}
    error = await _error(bench.agents.register_from_pane(_register_params(victim, name="ghost")))
    assert error.code == "pane_not_found"
    assert (await bench.dashboard()).counts.panes == {"total": 2, "registered": 0, "unregistered": 2}


async def test_concurrent_scans_are_coalesced(bench: Bench, three_panes: list[Pane]) -> None:
    first = await bench.agents.scan({"wait": False})
    second = await bench.agents.scan({"wait": False})
    assert first.scan_id == second.scan_id
    assert first.state == "running"
    final = await bench.agents.scan({"wait": True})
    assert final.scan_id == first.scan_id
    assert (final.state, final.panes_found) == ("done", 3)
    assert (await bench.agents.scan_status({"scan_id": first.scan_id})).state == "done"
    missing = await _error(bench.agents.scan_status({"scan_id": "nope"}))
    assert (missing.code, missing.details) == ("scan_not_found", {"scan_id": "nope"})


async def test_scan_without_server_fails_with_reason(bench: Bench, tmux_bin: str, tmux_socket: str) -> None:
    status = await bench.agents.scan({"wait": True})
    assert status.state == "failed"
    assert status.panes_found == 0
    assert status.error == f"no tmux server is running on socket {tmux_socket!r}"
    assert await bench.agents.panes() == []


async def test_agent_events_carry_scope(bench: Bench, three_panes: list[Pane]) -> None:
    agent = await bench.agents.register_from_pane(_register_params(three_panes[0], name="w1", role="swarm"))
    await bench.agents.update({"agent_id": agent.agent_id, "label": "busy"})
    await bench.agents.remove({"agent_id": agent.agent_id})
    events = (await bench.events.list({"order_by": "seq:asc"})).rows
    assert [e.event_type for e in events] == ["agent_registered", "agent_updated", "agent_removed"]
    assert all(e.agent_id == agent.agent_id for e in events)
    assert events[0].summary == f"registered w1 (swarm) from {three_panes[0].pane_id}"
    assert events[0].payload == {"name": "w1", "role": "swarm", "kind": "shell", "pane_id": three_panes[0].pane_id}
    assert events[1].payload == {"changes": {"label": "busy"}}


async def test_agent_list_order_filters_and_role_priority(bench: Bench, adopt) -> None:
    await adopt(bench, {"zed": "worker", "alice": "master", "tess": "test-runner", "sam": "swarm"})
    rows = (await bench.agents.list()).rows
    assert [a.name for a in rows] == ["alice", "zed", "sam", "tess"]  # role_priority, then name
    by_name = await bench.agents.list({"order_by": "name:desc"})
    assert [a.name for a in by_name.rows] == ["zed", "tess", "sam", "alice"]
    assert by_name.ordering == "name:desc"
    workers = await bench.agents.list({"filters": {"role": "worker"}})
    assert [a.name for a in workers.rows] == ["zed"]
    assert workers.total == 1
