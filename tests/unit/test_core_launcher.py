"""Managed agents on a real tmux server (private socket): launch from presets and policy-checked commands, kill,
restart, and re-linking after Relayboard restarts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import psutil
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
    wait_for_command,
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
    ({"preset": "custom", "command": "bash -c 'x'"}, "command", "shell", "bash is a shell"),
    ({"preset": "custom", "command": "/bin/sh"}, "command", "shell", "sh is a shell"),
    ({"preset": "custom", "command": "sudo ls"}, "command", "denied_program", "sudo runs a program as another user"),
    ({"preset": "custom", "command": "rm -rf /tmp/nothing"}, "command", "denied_program", "rm destroys files"),
    ({"preset": "custom", "command": "ls; rm -rf /"}, "command", "metacharacter", "shell metacharacters are not"),
    ({"preset": "custom", "command": "python3 -c 'print(1)'"}, "command", "metacharacter", "not allowed: ( )"),
    ({"preset": "custom", "command": "python3 -c 'import os'"}, "command", "inline_code", "python3 -c runs code"),
    ({"preset": "custom", "command": "echo $HOME"}, "command", "metacharacter", "not allowed: $"),
    ({"preset": "custom", "command": "cat < /etc/passwd"}, "command", "metacharacter", "not allowed: <"),
    ({"preset": "custom", "command": "echo 'unclosed"}, "command", "unparsable", "the command does not parse"),
    ({"preset": "custom", "command": "vim notes.txt"}, "command", "not_allowlisted", "vim is not in the command"),
    ({"cwd": "/etc"}, "cwd", "cwd_sensitive", "/etc is a system directory"),
    ({"cwd": "/etc/ssh"}, "cwd", "cwd_sensitive", "/etc/ssh is inside /etc, a system directory"),
    ({"cwd": "/proc/self"}, "cwd", "cwd_sensitive", "is inside /proc, a system directory"),
    ({"cwd": "work"}, "cwd", "cwd_not_absolute", "the directory must be an absolute path"),
    ({"cwd": "//fileserver/share"}, "cwd", "cwd_network", "network (UNC) paths are not allowed"),
    ({"env": {"1BAD": "x"}}, "env", "env_name_invalid", "environment variable name '1BAD' is invalid"),
    ({"env": {"BAD-NAME": "x"}}, "env", "env_name_invalid", "environment variable name 'BAD-NAME' is invalid"),
    ({"env": {"NUL": "a\x00b"}}, "env", "env_value_invalid", "NUL's value contains a control character"),
]


async def _nothing_started(bench: Bench, tmux_socket: str, name: str = "denied") -> None:
    """Refused before anything ran: no agent, no event, no rb- session (usually no tmux server at all)."""
    assert (await bench.agents.list()).total == 0
    assert (await calls.call(bench, "app.agent.list", {})).total == 0
    assert (await bench.events.list()).total == 0
    assert not session_exists(tmux_socket, f"rb-{name}")
    listed = tmux(tmux_socket, "ls", "-F", "#{session_name}", check=False).stdout.split()
    assert not [s for s in listed if s.startswith("rb-")], listed


@pytest.mark.parametrize(("params", "field", "reason", "message"), POLICY_CASES)
async def test_command_policy_denies(
    bench: Bench, workdir: Path, tmux_socket: str, params: dict[str, Any], field: str, reason: str, message: str
) -> None:
    request = {"name": "denied", "preset": "shell", "cwd": str(workdir), **params}
    error = await calls.envelope(bench, "app.agent.launch", request)
    assert error["ok"] is False
    assert error["error"]["code"] == "policy_denied"
    assert error["error"]["details"]["field"] == field
    assert error["error"]["details"]["reason"] == reason
    assert message in error["error"]["message"]
    await _nothing_started(bench, tmux_socket)


async def test_policy_denies_missing_and_credential_directories(bench: Bench, workdir: Path) -> None:
    ssh = Path.home() / ".ssh" / "keys"  # the test's temporary HOME
    ssh.mkdir(parents=True)
    home = Path.home().resolve()
    for cwd, reason, message in (
        (workdir / "missing", "cwd_missing", f"{workdir / 'missing'} does not exist or is not a directory"),
        (ssh, "cwd_sensitive", f"{home / '.ssh' / 'keys'} is in .ssh, a credential directory"),
        (workdir / "link-to-etc", "cwd_sensitive", "/etc is a system directory"),
    ):
        if cwd.name == "link-to-etc":
            cwd.symlink_to("/etc")
        error = await failure(_launch(bench, {"name": "denied", "preset": "shell", "cwd": str(cwd)}))
        assert (error.code, error.details["field"], error.details["reason"]) == ("policy_denied", "cwd", reason)
        assert error.message == message


# The black-box campaign: each of these ran rm (the call answering internal_error) before the policy peeled
# assignments and wrappers. DIR is a real directory that must survive.
DESTRUCTIVE = [
    ("X=1 rm -rf DIR", "denied_program", "rm"),
    ("env rm -rf DIR", "denied_program", "rm"),
    ("env -i rm -rf DIR", "denied_program", "rm"),
    ("nice rm -rf DIR", "denied_program", "rm"),
    ("nice -n 5 timeout 5 env X=1 rm -rf DIR", "denied_program", "rm"),
    ("timeout 5 rm -rf DIR", "denied_program", "rm"),
    ("command rm -rf DIR", "denied_program", "rm"),
    ("exec rm -rf DIR", "denied_program", "rm"),
    ("eval rm -rf DIR", "inline_code", "eval"),
    ("nohup rm -rf DIR", "denied_program", "rm"),
    ("busybox rm -rf DIR", "denied_program", "rm"),
    ("'r''m' -rf DIR", "denied_program", "rm"),
    ("find DIR -delete", "dangerous_option", "find"),
]


@pytest.mark.parametrize(("command", "reason", "program"), DESTRUCTIVE, ids=[c[0] for c in DESTRUCTIVE])
async def test_wrapped_destructive_commands_are_refused_and_delete_nothing(
    bench: Bench, workdir: Path, tmux_socket: str, command: str, reason: str, program: str
) -> None:
    victim = workdir / "victim"
    (victim / "inner").mkdir(parents=True)
    (victim / "inner" / "precious.txt").write_text("keep me")
    request = {"name": "denied", "preset": "custom", "command": command.replace("DIR", str(victim))}
    error = await calls.envelope(bench, "app.agent.launch", {**request, "cwd": str(workdir)})
    assert error["ok"] is False, error
    assert error["error"]["code"] == "policy_denied"
    assert error["error"]["details"] == {"field": "command", "reason": reason, "program": program}
    assert program in error["error"]["message"]
    await _nothing_started(bench, tmux_socket)
    assert (victim / "inner" / "precious.txt").read_text() == "keep me"


SHELL_OPENERS = [
    ("env bash", "shell", "bash"),
    ("FOO=1 bash", "shell", "bash"),
    ("rbash", "shell", "rbash"),
    ("env -i bash --norc", "shell", "bash"),
    ("tmux new-window", "terminal", "tmux"),
    ("script -qc sh", "terminal", "script"),
    ("mkfs.ext4 DIR/disk.img", "denied_program", "mkfs.ext4"),
    ("python3", "interactive", "python3"),
]


@pytest.mark.parametrize(("command", "reason", "program"), SHELL_OPENERS, ids=[c[0] for c in SHELL_OPENERS])
async def test_commands_that_open_a_shell_are_refused(
    bench: Bench, workdir: Path, tmux_socket: str, command: str, reason: str, program: str
) -> None:
    request = {"name": "denied", "preset": "custom", "command": command.replace("DIR", str(workdir))}
    error = await failure(_launch(bench, {**request, "cwd": str(workdir)}))
    assert (error.code, error.details["field"], error.details["reason"]) == ("policy_denied", "command", reason)
    assert error.details["program"] == program
    await _nothing_started(bench, tmux_socket)


@pytest.mark.parametrize(
    ("cwd", "reason"),
    [("/", "cwd_too_broad"), ("/root", "cwd_sensitive"), ("/var/run", "cwd_sensitive"), ("~", "cwd_too_broad")],
)
async def test_refused_working_directories_start_nothing(bench: Bench, tmux_socket: str, cwd: str, reason: str) -> None:
    for preset, command in (("shell", None), ("custom", "sleep 300")):
        request = {"name": "denied", "preset": preset, "cwd": cwd, **({"command": command} if command else {})}
        error = await failure(_launch(bench, request))
        assert (error.code, error.details["field"], error.details["reason"]) == ("policy_denied", "cwd", reason)
    await _nothing_started(bench, tmux_socket)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"LD_PRELOAD": "/tmp/evil.so"}, "env_name_denied"),
        ({"BASH_ENV": "/tmp/evil.sh"}, "env_name_denied"),
        ({"PROMPT_COMMAND": "rm -rf ~"}, "env_name_denied"),
        ({"PATH": "/tmp/evil"}, "env_name_denied"),
        ({"PYTHONPATH": "/tmp/evil"}, "env_name_denied"),
        ({"NOTE": "line one\nline two"}, "env_value_invalid"),
        ({"NOTE": "carriage\rreturn"}, "env_value_invalid"),
    ],
)
async def test_refused_environments_start_nothing(
    bench: Bench, workdir: Path, tmux_socket: str, env: dict[str, str], reason: str
) -> None:
    error = await failure(_launch(bench, {"name": "denied", "preset": "shell", "cwd": str(workdir), "env": env}))
    assert (error.code, error.details["field"], error.details["reason"]) == ("policy_denied", "env", reason)
    assert env[next(iter(env))] not in error.message  # values may be secrets
    await _nothing_started(bench, tmux_socket)


async def test_a_custom_command_runs_as_the_argv_the_policy_judged(bench: Bench, workdir: Path) -> None:
    """tmux hands the command to sh -c: quoted again, the shell expands nothing the policy did not see."""
    (workdir / "rm").write_text("")  # what an unquoted `r*` would have expanded to
    command = "FOO='a b' tail -F r* ~/notes.log"
    agent = await _launch(bench, {"name": "quoted", "preset": "custom", "command": command, "cwd": str(workdir)})
    assert agent.command == f"FOO='a b' tail -F 'r*' {Path.home()}/notes.log"
    pane = await wait_for_command(bench, agent, "tail")
    assert pane.pid is not None
    shell = psutil.Process(pane.pid)

    async def tail() -> psutil.Process | None:
        return next((p for p in [shell, *shell.children(recursive=True)] if p.name() == "tail"), None)

    process = await eventually(tail, what="the tail process")
    assert process.cmdline() == ["tail", "-F", "r*", f"{Path.home()}/notes.log"]
    assert process.environ()["FOO"] == "a b"


# -- app.policy.check ---------------------------------------------------------------------------------------------


async def test_policy_check_answers_without_launching(bench: Bench, workdir: Path, tmux_socket: str) -> None:
    victim = workdir / "victim"
    victim.mkdir()
    allowed = await calls.envelope(
        bench, "app.policy.check", {"command": "timeout 1h claude --help", "cwd": str(workdir), "env": {"A": "1"}}
    )
    assert allowed == {
        "ok": True,
        "app_contract_version": "1.2",
        "result": {"allowed": True, "field": None, "reason": None, "message": "claude is allowed", "program": "claude"},
    }
    refused = await calls.envelope(bench, "app.policy.check", {"command": f"X=1 rm -rf {victim}"})
    assert refused["ok"] is True  # an answer, not a policy_denied error
    assert refused["result"] == {
        "allowed": False,
        "field": "command",
        "reason": "denied_program",
        "message": "rm destroys files, disks or the running system",
        "program": "rm",
    }
    for params, field, reason in (
        ({"command": "claude", "cwd": "/etc"}, "cwd", "cwd_sensitive"),
        ({"command": "claude", "cwd": str(workdir), "env": {"LD_PRELOAD": "x"}}, "env", "env_name_denied"),
        ({"command": "env bash"}, "command", "shell"),
        ({"command": ""}, "command", "empty"),
    ):
        verdict = (await calls.envelope(bench, "app.policy.check", params))["result"]
        assert (verdict["allowed"], verdict["field"], verdict["reason"]) == (False, field, reason), params
    bad = await calls.envelope(bench, "app.policy.check", {"command": "claude", "shell": True})
    assert (bad["ok"], bad["error"]["code"]) == (False, "validation_failed")
    missing = await calls.envelope(bench, "app.policy.check", {})
    assert (missing["error"]["code"], missing["error"]["details"]["field"]) == ("validation_failed", "command")
    # Read-only: nothing ran, nothing was recorded.
    await _nothing_started(bench, tmux_socket)
    assert victim.is_dir()


async def test_policy_check_follows_the_settings(
    tmp_path: Path, settings: Settings, fixed_clock: FixedClock, workdir: Path
) -> None:
    custom = settings.model_copy(update={"allowed_programs": ["terraform"], "allowed_env_names": ["PATH"]})
    async with await Bench.open(tmp_path / "custom", settings=custom, clock=fixed_clock) as bench:
        params = {"command": "terraform plan", "cwd": str(workdir), "env": {"PATH": "/opt/tf/bin"}}
        verdict = await calls.call(bench, "app.policy.check", params)
        assert (verdict.allowed, verdict.program) == (True, "terraform")
        agent = await _launch(
            bench, {"name": "tf", "preset": "shell", "cwd": str(workdir), "env": {"PATH": os.environ["PATH"]}}
        )
        assert agent.launch_env == {"PATH": os.environ["PATH"]}


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
        assert (error.code, error.details["reason"], error.details["program"]) == (
            "policy_denied",
            "not_allowlisted",
            "cat",
        )
        assert error.message.startswith("cat is not in the configured command_allowlist")
        assert await _launch(bench, {"name": "s", "preset": "custom", "command": "sleep 300", "cwd": str(workdir)})
    # allow_shell_commands lifts the metacharacter and shell rules, never the deny layer.
    lax = settings.model_copy(update={"allow_shell_commands": True})
    async with await Bench.open(tmp_path / "lax", settings=lax, clock=fixed_clock) as bench:
        error = await failure(
            _launch(bench, {"name": "c", "preset": "custom", "command": "sudo -s; ls", "cwd": str(workdir)})
        )
        assert (error.code, error.details["reason"], error.details["program"]) == (
            "policy_denied",
            "denied_program",
            "sudo",
        )
        error = await failure(
            _launch(bench, {"name": "c", "preset": "custom", "command": "bash -c 'rm -rf x'", "cwd": str(workdir)})
        )
        assert (error.details["reason"], error.details["program"]) == ("denied_program", "rm")
        line = await _launch(
            bench, {"name": "line", "preset": "custom", "command": "sleep 300 && sleep 1", "cwd": str(workdir)}
        )
        assert line.command == "sleep 300 && sleep 1"  # a shell line runs as given
    # project_roots decide where a launch may run.
    narrow = settings.model_copy(update={"project_roots": [tmp_path / "projects"]})
    async with await Bench.open(tmp_path / "narrow", settings=narrow, clock=fixed_clock) as bench:
        error = await failure(_launch(bench, {"name": "c", "preset": "shell", "cwd": str(workdir)}))
        assert (error.details["field"], error.details["reason"]) == ("cwd", "cwd_outside_roots")


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
    # The pane id was let go of when the scan found the pane gone (tmux may give it to another pane later).
    assert (capture.code, capture.details) == ("pane_not_found", {"pane_id": None})
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


async def test_restart_is_judged_by_the_policy_again(
    bench: Bench, workdir: Path, tmux_socket: str, settings: Settings, fixed_clock: FixedClock, tmp_path: Path
) -> None:
    agent = await launch_shell(bench, "judged", workdir)
    await calls.call(bench, "app.agent.kill", {"agent_id": agent.agent_id})
    await bench.close()
    narrow = settings.model_copy(update={"project_roots": [tmp_path / "projects"]})
    async with await Bench.open(bench.home, settings=narrow, clock=fixed_clock) as again:
        error = await failure(calls.call(again, "app.agent.restart", {"agent_id": agent.agent_id}))
        assert (error.code, error.details["field"], error.details["reason"]) == (
            "policy_denied",
            "cwd",
            "cwd_outside_roots",
        )
        assert not session_exists(tmux_socket, "rb-judged")
        assert (await again.agents.get(agent.agent_id)).state == "exited"


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


async def test_a_server_restart_frees_the_old_pane_ids_for_new_agents(
    bench: Bench, workdir: Path, tmux_socket: str
) -> None:
    """tmux numbers panes from %0 again after a restart: the agent that held %0 lets go of it, so the pane that
    now has that id can be adopted, and the old agent restarts into a session of its own."""
    first = await launch_shell(bench, "first", workdir)
    stop_server(tmux_socket)
    newcomer_pane = tmux(tmux_socket, "new-session", "-d", "-P", "-F", "#{pane_id}", "-s", "outsider", "bash").stdout
    assert newcomer_pane.strip() == first.pane_id
    await bench.refresh_states()
    released = await bench.agents.get(first.agent_id)
    assert (released.pane_id, released.session_name, released.state) == (None, "rb-first", "exited")
    panes = {p.session_name: p for p in await bench.agents.panes() if p.alive}
    newcomer = await calls.call(
        bench, "app.agent.register_from_pane", {**panes["outsider"].identity(), "name": "newcomer", "role": "worker"}
    )
    assert newcomer.pane_id == first.pane_id
    restarted = await calls.call(bench, "app.agent.restart", {"agent_id": first.agent_id})
    assert restarted.session_name == "rb-first" and restarted.pane_id not in (None, newcomer.pane_id)
    assert session_exists(tmux_socket, "rb-first") and session_exists(tmux_socket, "outsider")
    await wait_for_prompt(bench, restarted)
    await calls.call(bench, "app.send_input", {"target_agent_id": first.agent_id, "payload": "echo again-$((3+3))"})
    await wait_for_text(bench, restarted, "again-6")
    assert "again-6" not in tmux(tmux_socket, "capture-pane", "-p", "-t", "=outsider:").stdout


async def test_a_failed_launch_leaves_no_session_and_no_agent(
    bench: Bench, workdir: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _bystander(bench, workdir)

    async def broken_insert(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("core.launcher.repo.insert", broken_insert)
    answer = await calls.envelope(bench, "app.agent.launch", {"name": "doomed", "preset": "shell", "cwd": str(workdir)})
    assert answer["ok"] is False and answer["error"]["code"] == "internal_error"
    assert "disk on fire" not in answer["error"]["message"]  # an internal error says what, not our innards
    assert not session_exists(tmux_socket, "rb-doomed")
    assert [a.name for a in (await calls.call(bench, "app.agent.list", {})).rows] == []
    monkeypatch.undo()
    again = await launch_shell(bench, "doomed", workdir)  # nothing left behind stands in the way
    assert again.session_name == "rb-doomed"


async def test_a_left_behind_session_is_not_launched_over(bench: Bench, workdir: Path, tmux_socket: str) -> None:
    tmux(tmux_socket, "new-session", "-d", "-s", "rb-ghost", "bash")
    error = await failure(launch_shell(bench, "ghost", workdir))
    assert (error.code, error.field) == ("conflict", "name")
    assert "adopt its pane" in error.message
    assert session_exists(tmux_socket, "rb-ghost")  # the operator's session is not ended for them


async def test_restart_takes_over_its_own_left_behind_session(bench: Bench, workdir: Path, tmux_socket: str) -> None:
    agent = await launch_shell(bench, "homing", workdir)
    stop_server(tmux_socket)
    await bench.refresh_states()
    # The operator brings the session back by hand (a resurrect plugin would): restart reuses it, starting none.
    pane_id = tmux(tmux_socket, "new-session", "-d", "-P", "-F", "#{pane_id}", "-s", "rb-homing", "sleep 600").stdout
    restarted = await calls.call(bench, "app.agent.restart", {"agent_id": agent.agent_id})
    assert restarted.pane_id == pane_id.strip()
    sessions = tmux(tmux_socket, "list-sessions", "-F", "#{session_name}").stdout.split()
    assert sessions == ["rb-homing"]
    await wait_for_prompt(bench, restarted)  # respawned with the agent's own command (bash), not sleep


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
