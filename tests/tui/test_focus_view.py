"""The focus view against real tmux panes of the demo bench (bash, private socket): Enter opens it, it shows what
the agent printed with its colours, scrollback reaches 500 lines back, search finds, typing mode types into the
pane, a `read -p "… [y/N]"` question is answered with `y` and the shell goes on, a double press types once, and
jump works outside tmux and from inside another tmux server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from rich.style import Style
from textual.pilot import Pilot

from core.bench import Bench
from core.errors import BenchError
from core.models import Agent
from core.prompts import AGENT_ANSWER, AGENT_PROMPT
from tests.support.homes import BenchHome
from tests.tui.test_agents_pane import agent_named, notifications, open_agents, select, settle, table, until
from tui.app import RelayboardApp
from tui.jump import jump_to
from tui.screens.focus import FocusScreen
from tui.widgets.screen_view import ScreenView, decode, split_lines

pytestmark = pytest.mark.slow


def focus(pilot: Pilot[None]) -> FocusScreen:
    screen = pilot.app.screen
    assert isinstance(screen, FocusScreen), screen
    return screen


def view(pilot: Pilot[None]) -> ScreenView:
    return focus(pilot).query_one(ScreenView)


async def open_focus(pilot: Pilot[None], app: RelayboardApp, name: str) -> Agent:
    await open_agents(pilot)
    agent = await agent_named(app, name)
    await select(pilot, agent)
    table(app).focus()
    await pilot.press("enter")
    await pilot.pause()
    await until(pilot, lambda: focus(pilot).polls >= 1, "the first capture")
    return agent


def type_in(home: BenchHome, session: str, line: str) -> None:
    home.tmux("send-keys", "-t", f"={session}:", "-l", "--", line)
    home.tmux("send-keys", "-t", f"={session}:", "Enter")


async def test_enter_opens_the_agent_full_screen_with_its_colours(app: RelayboardApp, demo_home: BenchHome) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_focus(pilot, app, "lead")
        type_in(demo_home, "lead", "printf '\\033[31mred-%s\\033[0m\\n' alert")
        await until(pilot, lambda: "red-alert" in view(pilot).text, "the printed line in the focus view")
        line = next(t for t in view(pilot).lines if t.plain == "red-alert")
        colours = [Style.normalize(s.style) if isinstance(s.style, str) else s.style for s in line.spans]
        assert any(c.color is not None and c.color.number == 1 for c in colours if isinstance(c, Style))  # red
        header = str(focus(pilot).query_one("#focus-header").render())
        assert "lead" in header and "idle" in header  # the state and its why in the header
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FocusScreen)  # Esc closes it (nothing else was open)


async def test_scrollback_reaches_five_hundred_lines_back_and_search_finds_it(
    app: RelayboardApp, demo_home: BenchHome
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_focus(pilot, app, "lead")
        type_in(demo_home, "lead", "echo far-back-marker; seq 1 500")
        await until(pilot, lambda: view(pilot).text.rstrip().endswith("$"), "seq to finish")
        await until(pilot, lambda: "far-back-marker" in view(pilot).text, "the marker in the scrollback")
        # Following: the bottom is shown (the scroll to it comes with the refresh after the new lines).
        await until(pilot, lambda: "far-back-marker" not in view(pilot).visible_text(), "the view to follow")
        await pilot.press("slash", *"far-back", "enter")
        await pilot.pause()
        assert "far-back-marker" in view(pilot).visible_text()
        assert not view(pilot).follow
        polls = focus(pilot).polls
        await until(pilot, lambda: focus(pilot).polls >= polls + 2, "two more polls")
        assert "far-back-marker" in view(pilot).visible_text()  # scrolled back stays put while polling
        await pilot.press("G")
        await pilot.pause()
        assert view(pilot).follow and "far-back-marker" not in view(pilot).visible_text()
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        assert not view(pilot).follow


async def test_typing_mode_types_into_the_pane_and_esc_leaves_it(app: RelayboardApp, demo_home: BenchHome) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_focus(pilot, app, "lead")
        await pilot.press("t")
        assert focus(pilot).typing
        await pilot.press(*"echo typed-$((6*7))", "enter")  # `q`, `j` and `/` would be bindings outside typing
        await focus(pilot).typed()
        await until(pilot, lambda: "typed-42" in view(pilot).text, "the command's output")
        await pilot.press("escape")
        assert not focus(pilot).typing and isinstance(app.screen, FocusScreen)  # first Esc: out of typing mode
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FocusScreen)  # the second closes the view


async def test_a_yes_no_question_is_answered_with_y_and_the_shell_goes_on(
    app: RelayboardApp, demo_home: BenchHome
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        agent = await open_focus(pilot, app, "lead")
        type_in(demo_home, "lead", 'read -p "Continue? [y/N] " a; echo "answer=$a"')
        await until(pilot, lambda: focus(pilot).prompt is not None, "the prompt to be recognised", within=10)
        prompt = focus(pilot).prompt
        assert prompt is not None
        assert (prompt.shape, prompt.question) == ("yes-no-default-no", "Continue? [y/N]")
        assert [c.key for c in prompt.choices] == ["y", "n", "enter"]
        bar = str(focus(pilot).query_one("#focus-prompt").render())
        assert "Continue? [y/N]" in bar and " y " in bar and "yes" in bar  # `[y/N]` shown literally, not markup
        await pilot.press("y")
        await until(pilot, lambda: "answer=y" in view(pilot).text, "the shell to go on with the answer")
        await settle(pilot)
        # The same answer again (a double press, a retry): typed once, never a second `y` in the shell.
        again = await app.client.call(AGENT_ANSWER, agent_id=agent.agent_id, fingerprint=prompt.fingerprint, key="y")
        assert again.deduplicated
        assert view(pilot).text.count("answer=y") == 1


async def test_the_watcher_reads_a_shell_question_as_waiting_for_input(demo_bench, demo_home: BenchHome) -> None:
    lead = next(a for a in (await demo_bench.agents.list()).rows if a.name == "lead")
    type_in(demo_home, "lead", 'read -p "Continue? [y/N] " a')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await demo_bench.watcher.tick()
        current = await demo_bench.agents.get(lead.agent_id)
        if current.state == "waiting_for_input":
            break
    assert (current.state, current.state_reason) == (
        "waiting_for_input",
        "question: waits for an answer (bash in the foreground)",
    )


async def test_an_answer_to_a_prompt_the_screen_no_longer_shows_is_stale(
    app: RelayboardApp, demo_home: BenchHome
) -> None:
    async with app.run_test(size=(100, 30)):
        agent = await agent_named(app, "lead")
        type_in(demo_home, "lead", 'read -p "Proceed? [y/N] " a; echo "got=$a"')
        deadline = time.monotonic() + 10
        prompt = None
        while prompt is None and time.monotonic() < deadline:
            prompt = (await app.client.call(AGENT_PROMPT, agent_id=agent.agent_id)).prompt
        assert prompt is not None
        type_in(demo_home, "lead", "n")  # answered in the pane meanwhile
        deadline = time.monotonic() + 10
        while (await app.client.call(AGENT_PROMPT, agent_id=agent.agent_id)).prompt and time.monotonic() < deadline:
            pass
        with pytest.raises(BenchError) as caught:
            await app.client.call(AGENT_ANSWER, agent_id=agent.agent_id, fingerprint=prompt.fingerprint, key="y")
        assert caught.value.code == "stale_object"
        screen = demo_home.tmux("capture-pane", "-p", "-t", "=lead:").stdout
        assert "got=n" in screen and "got=y" not in screen


def test_broken_escapes_and_binary_bytes_render_literally() -> None:
    lines = decode(
        split_lines(
            "ok \x1b[31mred\x1b[0m\n\x1b[999;;;mweird\x1b]0;title\x07 \x00\x07\x9b2J end\n[bold]x[/] [@click=quit]"
        )
    )
    assert lines[0].plain == "ok red"
    assert "weird" in lines[1].plain and "end" in lines[1].plain and "\x00" not in lines[1].plain
    assert "\x9b" not in lines[1].plain and "\x07" not in lines[1].plain
    assert lines[2].plain == "[bold]x[/] [@click=quit]"  # markup stays text


def run(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


async def test_jump_from_inside_another_tmux_server_opens_a_window_there(
    demo_bench, demo_home: BenchHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = f"relayboard-test-op-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(run, "-L", operator, "new-session", "-d", "-s", "mine", "sleep 600")
    try:
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        pid = await asyncio.to_thread(run, "-L", operator, "display-message", "-p", "#{pid}")
        monkeypatch.setenv("TMUX", f"{socket_dir / operator},{pid.strip()},0")
        lead = next(a for a in (await demo_bench.agents.list()).rows if a.name == "lead")
        said = await jump_to(lead)
        # No client is attached to the operator's server here, so the popup is refused and a window opens.
        assert said == "opened lead in a new window of your tmux"
        windows = await asyncio.to_thread(
            run, "-L", operator, "list-windows", "-a", "-F", "#{window_name} #{pane_start_command}"
        )
        assert f"env -u TMUX tmux -L {demo_home.settings.tmux_socket} attach -t =lead" in windows
    finally:
        await asyncio.to_thread(run, "-L", operator, "kill-server")
        (Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / operator).unlink(missing_ok=True)


async def test_focus_view_notifications_stay_literal(app: RelayboardApp, demo_home: BenchHome) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_focus(pilot, app, "lead")
        type_in(demo_home, "lead", "echo '[/x] [bold]b[/bold] [@click=app.quit]q'")
        await until(pilot, lambda: "[/x] [bold]b[/bold]" in view(pilot).text, "markup shown as text")
        assert isinstance(app.screen, FocusScreen)
        assert not [m for m in notifications(app) if m.startswith("internal_error")]


async def test_the_agents_pane_shows_the_prompt_and_enter_answers_it_in_the_focus_view(
    app: RelayboardApp, demo_bench, demo_home: BenchHome
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_agents(pilot)
        lead = await agent_named(app, "lead")
        type_in(demo_home, "lead", 'read -p "Deploy now? [y/N] " a; echo "deploy=$a"')
        deadline = time.monotonic() + 10
        while (await demo_bench.agents.get(lead.agent_id)).state != "waiting_for_input":
            assert time.monotonic() < deadline, "the watcher never saw the question"
            await demo_bench.watcher.tick()
        app.screen.refresh_data()
        await settle(pilot)
        await select(pilot, lead)
        shown = app.screen.query_one("#agents-preview")
        await until(pilot, lambda: shown.prompt is not None, "the prompt in the preview")
        rendered = str(shown.render())
        assert "Deploy now? [y/N]" in rendered and "Enter: answer it" in rendered
        table(app).focus()
        await pilot.press("enter")
        await until(pilot, lambda: focus(pilot).prompt is not None, "the prompt in the focus view")
        await pilot.press("n")
        await until(pilot, lambda: "deploy=n" in view(pilot).text, "the shell to go on with the answer")


async def test_the_log_viewer_tails_the_attached_log_as_the_screen_showed_it(
    app: RelayboardApp, demo_home: BenchHome
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_agents(pilot)
        lead = await agent_named(app, "lead")
        await select(pilot, lead)
        await pilot.press("L")  # no log attached yet: said in the view, not a crash
        await until(pilot, lambda: focus(pilot).polls >= 1, "the first look")
        assert "never had a log attached" in str(focus(pilot).query_one("#focus-header").render())
        await pilot.press("q")
        await settle(pilot)
        await pilot.press("l")  # attach
        await settle(pilot)
        type_in(demo_home, "lead", "printf 'step 10%%\\rstep 100%%\\n\\033[32mlogged-ok\\033[0m\\n'")
        await pilot.press("L")
        await until(pilot, lambda: "logged-ok" in view(pilot).text, "the log line in the viewer", within=10)
        shown = view(pilot).text
        assert "step 100%" in shown and "step 10%step" not in shown  # the carriage return rewound the line
        assert str(demo_home.home / "logs" / "lead.log") in str(focus(pilot).query_one("#focus-header").render())
        type_in(demo_home, "lead", "echo later-line")
        await until(pilot, lambda: "later-line" in view(pilot).text, "a new line to be followed", within=10)
        await pilot.press("t")  # read-only
        assert not focus(pilot).typing
        await pilot.press("slash", *"logged", "enter")
        assert view(pilot).matches


async def test_the_log_viewer_jumps_to_a_time(app: RelayboardApp, demo_home: BenchHome, demo_bench: Bench) -> None:
    """The watcher notes the log's size as it grows; `T` with a time shows what was written from then on."""
    from datetime import timedelta

    from core.watcher import REFRESH_STATES

    log = demo_home.home / "logs" / "lead.log"
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await open_agents(pilot)
        await select(pilot, await agent_named(app, "lead"))
        await pilot.press("l")  # attach
        await settle(pilot)
        type_in(demo_home, "lead", "echo before-$((1+1))")
        await until(pilot, lambda: log.exists() and "before-2" in log.read_text(errors="replace"), "the first line")
        await app.client.call(REFRESH_STATES)  # a watcher pass notes the size at 12:00
        demo_bench.ctx.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
        type_in(demo_home, "lead", "echo after-$((2+2))")
        await until(pilot, lambda: "after-4" in log.read_text(errors="replace"), "the second line")
        await app.client.call(REFRESH_STATES)  # and at 12:10
        await pilot.press("L")
        await until(pilot, lambda: "after-4" in view(pilot).text, "the log in the viewer", within=10)
        assert "before-2" in view(pilot).text
        await pilot.press("T", *"not a time", "enter")
        await pilot.pause()
        assert any("not a time: 'not a time'" in n.message for n in app._notifications)
        await pilot.press("ctrl+a", "ctrl+k", *"2026-11-23 12:05", "enter")  # between the two lines
        await until(pilot, lambda: "before-2" not in view(pilot).text, "the log from 12:05 on", within=10)
        assert "after-4" in view(pilot).text and not view(pilot).follow
        assert "from 2026-11-23 12:05:00 UTC" in str(focus(pilot).query_one("#focus-header").render())
        await pilot.press("G")  # back to the live end
        await until(pilot, lambda: "before-2" in view(pilot).text, "the whole log again", within=10)
