"""Managed agents on a real tmux server (private socket): launch from presets and policy-checked commands, kill,
restart, and re-linking after Relayboard restarts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import calls
from core.bench import Bench
from core.clock import FixedClock
from core.config import Settings
from storage.models import Agent
from tests.unit.agent_helpers import (
    drain,
    event_types,
    eventually,
    failure,
    launch_shell,
    live_pane,
    screen,
    session_exists,
    stop_server,
    tmux,
    wait_for_prompt,
    wait_for_text,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tmux_bin")]


async def _launch(bench: Bench, params: dict[str, Any]) -> Agent:
    return await calls.call(bench, "app.agent.launch", params)


# -- launch -------------------------------------------------------------------------------------------------------


async def test_launch_shell_preset_in_its_own_session(
    bench: Bench, workdir: Path, tmux_socket: str, fixed_clock: FixedClock
) -> None:
    agent = await launch_shell(bench, "sh1", workdir)
    assert (agent.name, agent.kind, agent.role, agent.managed) == ("sh1", "shell", "worker", True)
    assert (agent.session_name, agent.window_index, agent.pane_index) == ("rb-sh1", 0, 0)
    assert (agent.socket, agent.command, agent.launch_cwd) == (tmux_socket, "bash", str(workdir))
    assert agent.created_at == "2026-11-23T12:00:00.000000Z"
    assert session_exists(tmux_socket, "rb-sh1")
    panes = tmux(tmux_socket, "list-panes", "-t", "=rb-sh1:", "-F", "#{pane_id} #{pane_current_path}").stdout.split()
    assert panes == [agent.pane_id, str(workdir)]
    # remain-on-exit is on (a window option), so an exit leaves a dead pane to see.
    option = tmux(tmux_socket, "show-options", "-w", "-v", "-t", "=rb-sh1:", "remain-on-exit").stdout.strip()
    assert option == "on"

    detail = await calls.call(bench, "app.agent.detail", {"agent_id": agent.agent_id})
    assert detail == agent
    (event,) = (await bench.events.list({"filters": {"event_type": "agent_launched"}})).rows
    assert (event.agent_id, event.summary) == (agent.agent_id, "launched sh1 (shell) in rb-sh1")
    assert event.payload == {"preset": "shell", "command": "bash", "env_names": []}

    sent = await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "echo hello"})
    assert (sent.state, sent.deduplicated) == ("delivered", False)
    shown = await wait_for_text(bench, agent, "\nhello")
    assert "echo hello" in shown
    result = await calls.envelope(bench, "app.agent.capture", {"agent_id": agent.agent_id})
    assert result["ok"] is True
    assert result["result"]["pane_id"] == agent.pane_id
    assert "\nhello" in result["result"]["screen"]

    await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "pwd"})
    await wait_for_text(bench, agent, f"\n{workdir}")


async def test_launch_names_are_unique_and_nothing_starts_twice(bench: Bench, workdir: Path, tmux_socket: str) -> None:
    await launch_shell(bench, "twin", workdir)
    again = await failure(_launch(bench, {"name": "twin", "preset": "shell", "cwd": str(workdir)}))
    assert (again.code, again.details["field"]) == ("validation_failed", "name")
    sessions = tmux(tmux_socket, "list-sessions", "-F", "#{session_name}").stdout.split()
    assert sessions == ["rb-twin"]
    assert (await bench.agents.list()).total == 1
    bad_name = await failure(_launch(bench, {"name": "no spaces allowed", "preset": "shell", "cwd": str(workdir)}))
    assert (bad_name.code, bad_name.details["field"]) == ("validation_failed", "name")


async def test_allowed_custom_command_launches_as_kind_other(bench: Bench, workdir: Path) -> None:
    agent = await _launch(
        bench, {"name": "sleeper", "preset": "custom", "command": "sleep 300", "cwd": str(workdir), "role": "swarm"}
    )
    assert (agent.kind, agent.command, agent.role, agent.managed) == ("other", "sleep 300", "swarm", True)
    pane = await live_pane(bench, agent)
    assert pane is not None and pane.current_command == "sleep"
    await bench.refresh_states()
    state = await bench.agents.get(agent.agent_id)
    assert state.state == "working" and "sleep is running" in state.state_reason


POLICY_CASES = [
    ({"preset": "custom", "command": "bash -c 'x'"}, "command", "bash is a shell"),
    ({"preset": "custom", "command": "/bin/sh"}, "command", "sh is a shell"),
    ({"preset": "custom", "command": "sudo ls"}, "command", "sudo is blocked"),
    ({"preset": "custom", "command": "rm -rf /tmp/nothing"}, "command", "rm is blocked"),
    ({"preset": "custom", "command": "ls; rm -rf /"}, "command", "shell metacharacters are not allowed"),
    ({"preset": "custom", "command": "python3 -c 'print(1)'"}, "command", "shell metacharacters are not allowed"),
    ({"preset": "custom", "command": "echo $HOME"}, "command", "shell metacharacters are not allowed"),
    ({"preset": "custom", "command": "cat < /etc/passwd"}, "command", "shell metacharacters are not allowed"),
    ({"preset": "custom", "command": "echo 'unclosed"}, "command", "command does not parse"),
    ({"cwd": "/etc"}, "cwd", "/etc is a sensitive directory"),
    ({"cwd": "/etc/ssh"}, "cwd", "/etc is a sensitive directory"),
    ({"cwd": "/proc/self"}, "cwd", "is a sensitive directory"),
    ({"cwd": "work"}, "cwd", "the directory must be an absolute path"),
    ({"cwd": "//fileserver/share"}, "cwd", "network (UNC) paths are not allowed"),
    ({"env": {"1BAD": "x"}}, "env", "environment variable name '1BAD' is invalid"),
    ({"env": {"BAD-NAME": "x"}}, "env", "environment variable name 'BAD-NAME' is invalid"),
    ({"env": {"NUL": "a\x00b"}}, "env", "environment variable NUL has an invalid value"),
]


@pytest.mark.parametrize(("params", "field", "reason"), POLICY_CASES)
async def test_command_policy_denies(
    bench: Bench, workdir: Path, tmux_socket: str, params: dict[str, Any], field: str, reason: str
) -> None:
    request = {"name": "denied", "preset": "shell", "cwd": str(workdir), **params}
    error = await calls.envelope(bench, "app.agent.launch", request)
    assert error["ok"] is False
    assert error["error"]["code"] == "policy_denied"
    assert error["error"]["details"]["field"] == field
    assert reason in error["error"]["details"]["reason"]
    assert error["error"]["message"] == error["error"]["details"]["reason"]
    # Refused before anything ran: no agent, no event, no tmux server even started.
    assert (await bench.agents.list()).total == 0
    assert (await bench.events.list()).total == 0
    assert not session_exists(tmux_socket, "rb-denied")


async def test_policy_denies_missing_and_credential_directories(bench: Bench, workdir: Path) -> None:
    ssh = Path.home() / ".ssh" / "keys"  # the test's temporary HOME
    ssh.mkdir(parents=True)
    for cwd, reason in (
        (workdir / "missing", "the directory does not exist"),
        (ssh, f"{Path.home().resolve() / '.ssh'} is a sensitive directory"),
        (workdir / "link-to-etc", "/etc is a sensitive directory"),
    ):
        if cwd.name == "link-to-etc":
            cwd.symlink_to("/etc")
        error = await failure(_launch(bench, {"name": "denied", "preset": "shell", "cwd": str(cwd)}))
        assert (error.code, error.details["field"], error.details["reason"]) == ("policy_denied", "cwd", reason)


async def test_custom_preset_needs_a_command_and_presets_take_none(bench: Bench, workdir: Path) -> None:
    missing = await failure(_launch(bench, {"name": "c", "preset": "custom", "cwd": str(workdir)}))
    assert (missing.code, missing.details["field"]) == ("validation_failed", "command")
    extra = await failure(_launch(bench, {"name": "c", "preset": "shell", "command": "sleep 1", "cwd": str(workdir)}))
    assert (extra.code, extra.details["field"]) == ("validation_failed", "command")
    unknown = await failure(_launch(bench, {"name": "c", "preset": "emacs", "cwd": str(workdir)}))
    assert (unknown.code, unknown.details["field"]) == ("validation_failed", "preset")


async def test_command_allowlist_and_shell_switch_from_settings(
    tmp_path: Path, settings: Settings, fixed_clock: FixedClock, workdir: Path
) -> None:
    strict = settings.model_copy(update={"command_allowlist": ["sleep"]})
    async with await Bench.open(tmp_path / "strict", settings=strict, clock=fixed_clock) as bench:
        error = await failure(
            _launch(bench, {"name": "c", "preset": "custom", "command": "cat notes.txt", "cwd": str(workdir)})
        )
        assert error.code == "policy_denied"
        assert error.details["reason"] == "cat is not in the configured command allowlist"
    # allow_shell_commands lifts the metacharacter and shell rules, never the blocked commands.
    lax = settings.model_copy(update={"allow_shell_commands": True})
    async with await Bench.open(tmp_path / "lax", settings=lax, clock=fixed_clock) as bench:
        error = await failure(
            _launch(bench, {"name": "c", "preset": "custom", "command": "sudo -s; ls", "cwd": str(workdir)})
        )
        assert (error.code, error.details["reason"]) == ("policy_denied", "sudo is blocked by the command policy")


# -- kill and restart ---------------------------------------------------------------------------------------------


async def _bystander(bench: Bench, cwd: Path) -> None:
    """Another session on the server, so killing the agent's session does not end the tmux server (the tests
    below cover the case where it does)."""
    await bench.ctx.tmux.new_session("bystander", "bash", str(cwd))


async def test_kill_then_restart_a_managed_agent(bench: Bench, workdir: Path, tmux_socket: str) -> None:
    await _bystander(bench, workdir)
    agent = await launch_shell(bench, "victim", workdir)
    killed = await calls.call(bench, "app.agent.kill", {"agent_id": agent.agent_id})
    assert not session_exists(tmux_socket, "rb-victim")
    assert (killed.state, killed.state_reason, killed.managed) == ("exited", "killed by the operator", True)
    assert killed.version == agent.version + 1
    (event,) = (await bench.events.list({"filters": {"event_type": "agent_killed"}})).rows
    assert (event.agent_id, event.summary, event.payload) == (agent.agent_id, "killed victim", {"managed": True})
    capture = await failure(calls.call(bench, "app.agent.capture", {"agent_id": agent.agent_id}))
    assert (capture.code, capture.details) == ("pane_not_found", {"pane_id": agent.pane_id})
    # The watcher agrees: the pane is gone.
    await bench.refresh_states()
    assert (await bench.agents.get(agent.agent_id)).state == "exited"

    restarted = await calls.call(bench, "app.agent.restart", {"agent_id": agent.agent_id})
    assert session_exists(tmux_socket, "rb-victim")
    assert restarted.pane_id != agent.pane_id
    assert (restarted.session_name, restarted.window_index, restarted.pane_index) == ("rb-victim", 0, 0)
    assert (restarted.state, restarted.state_reason) == ("unknown", "just (re)started")
    pane = await live_pane(bench, restarted)
    assert pane is not None and pane.alive and pane.cwd == str(workdir)
    (event,) = (await bench.events.list({"filters": {"event_type": "agent_restarted"}})).rows
    assert (event.agent_id, event.payload) == (agent.agent_id, {"pane_id": restarted.pane_id})
    await wait_for_prompt(bench, restarted)
    await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "echo back-$((1+1))"})
    await wait_for_text(bench, restarted, "back-2")


async def test_killing_the_last_session_on_the_server(bench: Bench, workdir: Path, tmux_socket: str) -> None:
    agent = await launch_shell(bench, "last", workdir)
    killed = await calls.call(bench, "app.agent.kill", {"agent_id": agent.agent_id})
    assert not session_exists(tmux_socket, "rb-last")
    assert killed.state == "exited"
    assert "agent_killed" in await event_types(bench, agent.agent_id)


async def test_restart_when_no_tmux_server_runs(bench: Bench, workdir: Path, tmux_socket: str) -> None:
    agent = await launch_shell(bench, "lonely", workdir)
    stop_server(tmux_socket)
    restarted = await calls.call(bench, "app.agent.restart", {"agent_id": agent.agent_id})
    assert session_exists(tmux_socket, "rb-lonely")
    assert restarted.session_name == "rb-lonely"


async def test_restart_of_a_live_agent_respawns_its_pane(bench: Bench, workdir: Path) -> None:
    agent = await launch_shell(bench, "phoenix", workdir)
    before = await live_pane(bench, agent)
    await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "echo old-$((2+2))"})
    await wait_for_text(bench, agent, "old-4")
    restarted = await calls.call(bench, "app.agent.restart", {"agent_id": agent.agent_id})
    assert restarted.pane_id == agent.pane_id  # respawn-pane -k keeps the pane, replaces the process
    after = await eventually(lambda: live_pane(bench, agent))
    assert before is not None and after.pid != before.pid
    await wait_for_prompt(bench, restarted)
    assert "old-4" not in await screen(bench, agent)  # a fresh terminal
    assert (await event_types(bench, agent.agent_id))[-1] == "agent_restarted"


async def test_adopted_agents_cannot_be_restarted_but_can_be_killed(bench: Bench, adopt, tmux_socket: str) -> None:
    crew = await adopt(bench, {"adoptee": "worker", "bystander": "worker"})
    adoptee = crew["adoptee"]
    error = await failure(calls.call(bench, "app.agent.restart", {"agent_id": adoptee.agent_id}))
    assert error.code == "conflict"
    assert "adopted, not launched" in error.message
    assert session_exists(tmux_socket, "adoptee")

    killed = await calls.call(bench, "app.agent.kill", {"agent_id": adoptee.agent_id})
    assert (killed.state, killed.managed) == ("exited", False)
    assert not session_exists(tmux_socket, "adoptee")  # its only pane was killed
    assert session_exists(tmux_socket, "bystander")
    (event,) = (await bench.events.list({"filters": {"event_type": "agent_killed"}})).rows
    assert event.payload == {"managed": False}


# -- re-linking after Relayboard restarts -------------------------------------------------------------------------


async def test_new_bench_on_the_same_home_keeps_the_live_pane(
    bench: Bench, workdir: Path, settings: Settings, fixed_clock: FixedClock
) -> None:
    agent = await launch_shell(bench, "keeper", workdir)
    await bench.close()
    async with await Bench.open(bench.home, settings=settings, clock=fixed_clock) as again:
        assert (await again.refresh_states()).model_dump() == {"changed": 1}
        found = await again.agents.get(agent.agent_id)
        assert found.pane_id == agent.pane_id
        assert (found.state, found.state_reason) == ("idle", "shell prompt (bash in the foreground)")
        assert "agent_relinked" not in await event_types(again)
        await calls.call(again, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "echo still-here"})
        await wait_for_text(again, found, "\nstill-here")


async def _replace_session_by_hand(tmux_socket: str, name: str, cwd: Path) -> str:
    """The operator (or a crash and a script) kills the agent's session and starts one of the same name; returns
    the new pane id."""
    tmux(tmux_socket, "kill-session", "-t", f"={name}")
    created = tmux(tmux_socket, "new-session", "-d", "-P", "-F", "#{pane_id}", "-s", name, "-c", str(cwd), "bash")
    return created.stdout.strip()


async def test_refresh_states_relinks_a_managed_agent_to_its_new_pane(
    bench: Bench, workdir: Path, tmux_socket: str, settings: Settings, fixed_clock: FixedClock
) -> None:
    await bench.ctx.tmux.new_session("elsewhere", "bash", str(workdir))  # keeps the server (and pane ids) going
    agent = await launch_shell(bench, "mover", workdir)
    await bench.close()
    new_pane = await _replace_session_by_hand(tmux_socket, "rb-mover", workdir)
    assert new_pane != agent.pane_id

    async with await Bench.open(bench.home, settings=settings, clock=fixed_clock) as again:
        await again.refresh_states()
        relinked = await again.agents.get(agent.agent_id)
        assert (relinked.pane_id, relinked.session_name) == (new_pane, "rb-mover")
        (event,) = (await again.events.list({"filters": {"event_type": "agent_relinked"}})).rows
        assert (event.agent_id, event.payload) == (agent.agent_id, {"pane_id": new_pane})
        assert event.summary == f"re-linked mover to {new_pane}"

        async def idle() -> Agent | None:
            await again.refresh_states()
            found = await again.agents.get(agent.agent_id)
            return found if found.state == "idle" else None

        await eventually(idle, what="mover detected idle on its new pane")
        await wait_for_prompt(again, relinked)
        await calls.call(again, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "echo moved-$((3*3))"})
        await wait_for_text(again, relinked, "moved-9")


async def test_the_relinking_pass_detects_the_state_of_the_new_pane(
    bench: Bench, workdir: Path, tmux_socket: str
) -> None:
    await bench.ctx.tmux.new_session("elsewhere", "bash", str(workdir))
    agent = await launch_shell(bench, "mover", workdir)
    await bench.refresh_states()
    await _replace_session_by_hand(tmux_socket, "rb-mover", workdir)
    await bench.refresh_states()
    relinked = await bench.agents.get(agent.agent_id)
    assert relinked.pane_id != agent.pane_id
    assert relinked.state != "exited", relinked.state_reason


async def test_a_reused_pane_id_after_a_server_restart_is_not_trusted(
    bench: Bench, workdir: Path, tmux_socket: str, settings: Settings, fixed_clock: FixedClock
) -> None:
    agent = await launch_shell(bench, "first", workdir)
    await bench.close()
    stop_server(tmux_socket)
    # The operator starts tmux again: an unrelated session first (it gets the old pane id), then the agent's.
    intruder = tmux(tmux_socket, "new-session", "-d", "-P", "-F", "#{pane_id}", "-s", "intruder", "bash").stdout
    assert intruder.strip() == agent.pane_id
    ours = tmux(tmux_socket, "new-session", "-d", "-P", "-F", "#{pane_id}", "-s", "rb-first", "bash").stdout.strip()
    async with await Bench.open(bench.home, settings=settings, clock=fixed_clock) as again:
        await again.refresh_states()
        found = await again.agents.get(agent.agent_id)
        assert (found.pane_id, found.session_name) == (ours, "rb-first")
        await calls.call(again, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "echo mine"})
        await wait_for_text(again, found, "\nmine")
        assert "mine" not in tmux(tmux_socket, "capture-pane", "-p", "-t", "=intruder:").stdout


# -- what a launch records ----------------------------------------------------------------------------------------


async def test_env_reaches_the_agent_but_never_the_audit(
    bench_home: Path, settings: Settings, fixed_clock: FixedClock, workdir: Path
) -> None:
    secret = "hunter2-Zq8vX1"
    plain = "plain-value-7731"
    async with await Bench.open(bench_home, settings=settings, clock=fixed_clock, surface="tui") as bench:
        await _bystander(bench, workdir)
        agent = await launch_shell(bench, "envy", workdir, env={"RB_TEST_TOKEN": secret, "RB_PLAIN": plain})
        await calls.call(bench, "app.send_input", {"target_agent_id": agent.agent_id, "payload": "echo [$RB_PLAIN]"})
        await wait_for_text(bench, agent, f"[{plain}]")
        await drain(bench, agent)
        await calls.call(bench, "app.agent.kill", {"agent_id": agent.agent_id})
        restarted = await calls.call(bench, "app.agent.restart", {"agent_id": agent.agent_id})
        await wait_for_prompt(bench, restarted)
        await bench.ctx.tmux.send_text(restarted.pane_id or "", "echo [$RB_PLAIN]", True)  # restart keeps the env
        await wait_for_text(bench, restarted, f"[{plain}]")

        events = (await bench.events.list({"limit": 200})).rows
        launched = next(e for e in events if e.event_type == "agent_launched")
        assert launched.payload["env_names"] == ["RB_PLAIN", "RB_TEST_TOKEN"]
        assert {e.origin for e in events} == {"tui"}
        spine = json.dumps([e.model_dump() for e in events])
        responses = json.dumps(
            [
                await calls.envelope(bench, "app.agent.detail", {"agent_id": agent.agent_id}),
                await calls.envelope(bench, "app.agent.list", {}),
                await calls.envelope(bench, "app.dashboard", {}),
            ]
        )
    audit = (bench_home / "audit.jsonl").read_text()
    for text in (spine, audit, responses):
        assert secret not in text and plain not in text
    assert "RB_TEST_TOKEN" in audit
    assert '"origin": "tui"' in audit and '"origin": "cli"' not in audit


async def test_launch_needs_a_tmux_server_binary(
    bench: Bench, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    error = await failure(_launch(bench, {"name": "nowhere", "preset": "shell", "cwd": str(workdir)}))
    assert error.code == "tmux_unavailable"
    assert (await bench.agents.list()).total == 0
