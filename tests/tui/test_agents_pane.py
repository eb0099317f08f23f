"""The agents pane driven by keys against a real tmux server (private socket per test): launch, send input (also
multi-line, refused by the safe-send guard, forced, too large), logs, kill, restart, edit, jump, and the preview
that polls only while visible and redraws only when the screen changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, TextArea

from core.agents import AGENT_LIST
from core.bench import Bench
from core.logs import LOG_DETAIL
from core.models import Agent
from tests.support.homes import BenchHome
from tui.app import RelayboardApp
from tui.modals.confirm import ConfirmModal
from tui.modals.edit_agent import EditAgentModal
from tui.modals.launch import LaunchModal
from tui.modals.send_input import SendInputModal
from tui.widgets.agent_preview import AgentPreview
from tui.widgets.agent_table import AgentTable

pytestmark = pytest.mark.slow


# -- helpers ------------------------------------------------------------------------------------------------------
async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot: Pilot[None], check: Callable[[], bool], what: str, within: float = 8.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.1)


def table(app: App[None]) -> AgentTable:
    return app.screen.query_one(AgentTable)


def preview(app: App[None]) -> AgentPreview:
    return app.screen.query_one(AgentPreview)


def notifications(app: App[None]) -> list[str]:
    return [n.message for n in app._notifications]


def screen_lines(app: App[None]) -> list[str]:
    return [line.strip() for line in preview(app).text.splitlines()]


async def agent_named(app: RelayboardApp, name: str) -> Agent:
    """The agent as the app's client sees it (in-process or over the socket)."""
    return next(a for a in (await app.client.call(AGENT_LIST)).rows if a.name == name)


async def open_agents(pilot: Pilot[None]) -> None:
    await pilot.press("2")
    await settle(pilot)


async def select(pilot: Pilot[None], agent: Agent) -> None:
    grid = table(pilot.app)
    grid.move_cursor(row=grid.get_row_index(agent.agent_id))
    await settle(pilot)
    assert preview(pilot.app).agent_id == agent.agent_id


async def send(pilot: Pilot[None], *keys: str, force: bool = False) -> None:
    """`i`, type `keys` into the text area, tick force if asked, Ctrl+S."""
    await pilot.press("i")
    await pilot.pause()
    assert isinstance(pilot.app.screen, SendInputModal)
    await pilot.press(*keys)
    if force:
        pilot.app.screen.query_one(Checkbox).focus()
        await pilot.press("space")
    await pilot.press("ctrl+s")
    await settle(pilot)


# -- tests --------------------------------------------------------------------------------------------------------
async def test_launch_modal_starts_a_managed_shell(app: RelayboardApp, demo_home: BenchHome) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_agents(pilot)
        await pilot.press("n")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, LaunchModal)
        assert not modal.query_one("#launch-command", Input).display  # only for the custom preset
        assert Path(modal.query_one("#launch-cwd", Input).value).is_absolute()
        await pilot.press(*"builder", "tab", "enter", "down", "down", "enter")  # preset: claude -> codex -> shell
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert table(app).row_count == 6
        agent = await agent_named(app, "builder")
        assert (agent.kind, agent.managed, agent.session_name, agent.role) == ("shell", True, "rb-builder", "worker")
        assert demo_home.tmux("has-session", "-t", "=rb-builder").returncode == 0
        assert any(m == "launched builder in tmux session rb-builder" for m in notifications(app))


async def test_launch_modal_checks_the_form_before_the_core(app: RelayboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agents(pilot)
        await pilot.press("n")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, LaunchModal)
        modal.query_one("#launch-cwd", Input).value = "relative/dir"
        await pilot.press(*"x1", "ctrl+s")
        await pilot.pause()
        assert app.screen is modal
        assert "absolute" in str(modal.query_one("#launch-cwd-error").render())  # under the field it is about
        assert modal.focused is modal.query_one("#launch-cwd")
        await pilot.press("escape")
        await settle(pilot)
        assert table(app).row_count == 5


async def test_a_launch_the_core_refuses_keeps_what_was_typed_with_the_error_under_its_field(
    app: RelayboardApp, demo_home: BenchHome
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agents(pilot)
        await pilot.press("n")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, LaunchModal)
        modal.query_one("#launch-cwd", Input).value = "/etc"  # a system directory: the command policy refuses it
        await pilot.press(*"builder", "ctrl+s")
        await settle(pilot)
        assert app.screen is modal  # still open
        assert modal.query_one("#launch-name", Input).value == "builder"  # nothing typed is lost
        assert modal.query_one("#launch-cwd", Input).value == "/etc"
        error = modal.query_one("#launch-cwd-error")
        assert error.display and str(error.render()).startswith("policy_denied:")
        assert modal.focused is modal.query_one("#launch-cwd")
        assert not str(modal.query_one("#launch-error").render())
        assert demo_home.tmux("has-session", "-t", "=rb-builder").returncode != 0  # nothing was started
        # An error that quotes what was typed shows it as typed: markup in a path is text under the field.
        modal.query_one("#launch-cwd", Input).value = "/etc/[/x][bold]b"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is modal and "/etc/[/x][bold]b" in str(modal.query_one("#launch-cwd-error").render())
        modal.query_one("#launch-cwd", Input).value = str(demo_home.home)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, LaunchModal)
        assert any(m == "launched builder in tmux session rb-builder" for m in notifications(app))


async def test_send_input_shows_in_the_preview_and_multi_line_is_one_paste(app: RelayboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agents(pilot)
        lead = await agent_named(app, "lead")
        await select(pilot, lead)
        await send(pilot, *"echo from-tui")
        assert "typed 1 line into lead" in notifications(app)
        await until(pilot, lambda: "from-tui" in screen_lines(app), "the preview to show the output")

        await send(pilot, *"echo one", "enter", *"echo two")
        await until(pilot, lambda: {"one", "two"} <= set(screen_lines(app)), "both lines to run")
        assert "typed 2 lines into lead" in notifications(app)


async def test_safe_send_guard_refuses_then_force_types(app: RelayboardApp, demo_bench: Bench) -> None:
    bench = demo_bench
    pane = next(p for p in await bench.agents.panes() if p.session_name == "scratch")
    claude = await bench.agents.register_from_pane(
        {"pane_id": pane.pane_id, "session_name": "scratch", "window_index": pane.window_index,
         "pane_index": pane.pane_index, "name": "claude-1", "kind": "claude"}
    )  # fmt: skip
    async with app.run_test(size=(100, 30)) as pilot:
        await open_agents(pilot)
        await select(pilot, claude)
        await send(pilot, *"echo guarded")
        form = app.screen
        assert isinstance(form, SendInputModal)  # refused: the dialog stays, with the text and why
        refused = str(form.query_one("#send-force-error").render())
        assert refused.startswith("conflict:") and "runs 'bash', not claude" in refused and "force" in refused
        assert form.query_one(TextArea).text == "echo guarded" and form.focused is form.query_one(Checkbox)
        await pilot.pause(1.2)
        assert "guarded" not in (await bench.agents.capture({"agent_id": claude.agent_id})).screen

        await pilot.press("space", "ctrl+s")  # tick force (it has the focus) and send again
        await settle(pilot)
        assert not isinstance(app.screen, SendInputModal)
        assert "typed 1 line into claude-1" in notifications(app)
        await until(pilot, lambda: "guarded" in screen_lines(app), "the forced text to run")


async def test_payload_over_16_kib_is_payload_too_large_under_the_text_which_is_kept(app: RelayboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agents(pilot)
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one(TextArea).text = "x" * (16 * 1024 + 1)
        await pilot.pause()
        assert "16385 / 16384 bytes" in str(app.screen.query_one("#send-size").render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, SendInputModal) and len(form.query_one(TextArea).text) == 16 * 1024 + 1
        assert str(form.query_one("#send-text-error").render()).startswith("payload_too_large: payload is 16385 bytes")


async def test_log_toggle_attaches_and_detaches(app: RelayboardApp, demo_home: BenchHome) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_agents(pilot)
        lead = await agent_named(app, "lead")
        await select(pilot, lead)
        await pilot.press("l")
        await settle(pilot)
        log_file = demo_home.home / "logs" / "lead.log"
        assert log_file.exists()
        attachment = await app.client.call(LOG_DETAIL, agent_id=lead.agent_id)
        assert attachment.state == "active"
        assert "lead's output now goes to logs/lead.log" in notifications(app)

        await send(pilot, *"echo into-the-log")
        await until(pilot, lambda: "into-the-log" in log_file.read_text(errors="replace"), "the pane output in the log")

        await pilot.press("l")
        await settle(pilot)
        attachment = await app.client.call(LOG_DETAIL, agent_id=lead.agent_id)
        assert attachment.state == "detached"


async def test_kill_asks_then_restart_brings_it_back(
    app: RelayboardApp, demo_home: BenchHome, demo_bench: Bench
) -> None:
    bench = demo_bench
    worker = await bench.launcher.launch({"name": "runner", "preset": "shell", "cwd": str(demo_home.home)})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_agents(pilot)
        await select(pilot, worker)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "Kill agent runner? Its whole tmux session rb-runner is stopped." == app.screen.question
        await pilot.press("enter")  # the default answer is no
        await settle(pilot)
        assert demo_home.tmux("has-session", "-t", "=rb-runner").returncode == 0
        await pilot.press("k")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert (await agent_named(app, "runner")).state == "exited"
        assert demo_home.tmux("has-session", "-t", "=rb-runner").returncode != 0
        row = table(app).get_row(worker.agent_id)
        assert str(row[3]) == "exited"

        await pilot.press("R", "y")
        await settle(pilot)
        assert demo_home.tmux("has-session", "-t", "=rb-runner").returncode == 0
        assert "restarted runner" in notifications(app)

        # An adopted agent has no command to restart with: said before asking anything.
        await select(pilot, await agent_named(app, "lead"))
        await pilot.press("R")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert any("only launched agents restart" in m for m in notifications(app))


async def test_edit_updates_the_row_and_a_stale_edit_is_refused(app: RelayboardApp, demo_bench: Bench) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await open_agents(pilot)
        lead = await agent_named(app, "lead")
        await select(pilot, lead)
        await pilot.press("e")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, EditAgentModal)
        modal.query_one("#edit-label", Input).value = "reviews every PR"
        modal.query_one("#edit-project", Input).value = "~/src/other"
        await pilot.press("ctrl+s")
        await settle(pilot)
        updated = await agent_named(app, "lead")
        assert (updated.label, updated.project_path, updated.version) == ("reviews every PR", "~/src/other", 2)
        assert "~/src/other" in [str(cell) for cell in table(app).get_row(lead.agent_id)]  # 120 columns: project
        assert "reviews every PR" in str(preview(app).border_title)

        # Someone else edits meanwhile: saving the now stale form is refused, not applied.
        await pilot.press("e")
        await pilot.pause()
        await demo_bench.agents.update({"agent_id": lead.agent_id, "label": "changed elsewhere"})
        form = app.screen
        form.query_one("#edit-label", Input).value = "mine"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form and form.query_one("#edit-label", Input).value == "mine"  # kept, not lost
        assert str(form.query_one("#edit-error").render()).startswith("stale_object:")
        assert (await agent_named(app, "lead")).label == "changed elsewhere"
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, EditAgentModal)


async def test_jump_outside_tmux_tells_the_attach_command(app: RelayboardApp, demo_home: BenchHome) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agents(pilot)
        await pilot.press("j")
        await settle(pilot)
        socket = demo_home.settings.tmux_socket
        jumps = [m for m in notifications(app) if m.startswith("conflict:")]
        assert len(jumps) == 1
        assert f"tmux -L {socket} attach -t =lead" in jumps[0] and "copied to the clipboard" in jumps[0]
        assert app.clipboard == f"tmux -L {socket} attach -t =lead"


async def test_preview_redraws_only_on_change_and_polls_only_while_visible(app: RelayboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agents(pilot)
        view = preview(app)
        await until(pilot, lambda: view.polls >= 1, "the first capture")
        assert view.redraws == 1 and "$" in view.text
        polls = view.polls
        await until(pilot, lambda: view.polls >= polls + 3, "three more polls", within=6)
        assert view.redraws == 1  # the same screen three more times: drawn once
        assert app.screen.focused is table(app)  # the preview never takes the focus

        await pilot.press("3")  # hidden: no polling
        await pilot.pause(0.2)
        polls = view.polls
        await pilot.pause(2.2)
        assert view.polls == polls
        await pilot.press("2")
        await until(pilot, lambda: view.polls > polls, "polling to resume")


async def test_preview_says_when_the_pane_is_gone(app: RelayboardApp, demo_home: BenchHome) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agents(pilot)
        demo_home.tmux("kill-session", "-t", "=lead")
        await until(pilot, lambda: "pane_not_found" in preview(app).text, "the preview to say the pane is gone")
        assert not [m for m in notifications(app) if "pane_not_found" in m]  # said in the preview, not as toasts
