"""Hostile text in every field a pane shows renders literally and never ends the app.

Agents, panes, files and the operator all put text on screen. Textual and Rich parse a plain `str` given to a
table cell, a label or a toast as markup: `[/x]` ends the app with a MarkupError (and again each time the pane
opens), `[y/N]` and `[bold red]boom[/]` lose their brackets, `[link=…]` and `[@click=…]` become links and actions.
ESC (`\\x1b[31m`) is not removed by either and would reach the terminal. Every test here puts such strings in
through the core, opens the pane, and checks two things: the app is still running, and the exact text is on
screen (as the cell's text, the widget's rendered text, and the lines the compositor draws).
"""

from __future__ import annotations

import asyncio
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, OptionList
from textual.widgets._toast import Toast

from core.bench import Bench
from core.models import Agent
from tests.support.homes import BenchHome, make_home
from tui.app import RelayboardApp
from tui.modals.adopt import AdoptModal
from tui.modals.confirm import ConfirmModal
from tui.modals.detail import DetailModal
from tui.modals.edit_agent import EditAgentModal
from tui.modals.help import HelpModal
from tui.modals.launch import LaunchModal
from tui.modals.send_input import SendInputModal
from tui.panes import PANES
from tui.screens.focus import FocusScreen
from tui.widgets.agent_preview import AgentPreview
from tui.widgets.agent_table import AgentTable
from tui.widgets.bench_table import BenchTable
from tui.widgets.readiness_banner import ReadinessBanner
from tui.widgets.table_filter import TableFilter

pytestmark = pytest.mark.slow

MARKUP = (
    "[/x]",
    "[bold red]boom[/]",
    "[y/N]",
    "[link=file:///etc/passwd]x[/link]",
    "[@click=app.quit]x[/]",
)
ANSI = "\x1b[31mred"  # only where a field allows control characters (labels and titles refuse them)
HOSTILE = (*MARKUP, ANSI)
TYPED = "[/x] [bold]hi[/bold] [y/N]"
EVIL_SESSION = "[/x]evil"  # an adopted agent's tmux session
FREE_SESSION = "[y/N]free"  # an unadopted pane the adopt picker offers
FREE_COMMAND = "[@click=app.quit]x[/]"  # that pane's foreground command (its argv[0])
BIG = (160, 50)


def shown(value: str) -> str:
    """How `value` looks on screen: the same text, ESC drawn as its control picture."""
    return value.replace("\x1b", "\u241b")


# -- helpers ------------------------------------------------------------------------------------------------------
async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def alive(app: RelayboardApp) -> None:
    assert app.is_running and app.return_code is None and app._exception is None


def screen_text(app: RelayboardApp, within: Widget | None = None) -> str:
    """The lines the compositor draws for the current screen (a modal's include the pane behind it), as text;
    `within`: only the part of them inside that widget."""
    strips = app.screen._compositor.render_strips()
    if within is None:
        return "\n".join(strip.text for strip in strips)
    region = within.region
    return "\n".join(strips[y].crop(region.x, region.right).text for y in range(region.y, region.bottom))


def cells(app: RelayboardApp, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, BenchTable)
    return [[str(cell) for cell in table.get_row(key)] for key in table.rows]


def title_of(widget: AgentPreview) -> str:
    """The border title as drawn (the public attribute is the title as escaped markup)."""
    return widget._border_title.plain if widget._border_title is not None else ""


def toasts(app: RelayboardApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def assert_on_screen(app: RelayboardApp, *values: str, within: Widget | None = None) -> None:
    text = screen_text(app, within)
    assert "\x1b" not in text  # no escape sequence reaches the terminal
    for value in values:
        assert shown(value) in text, f"{value!r} is not on screen"


async def open_pane(pilot: Pilot[None], key: str) -> None:
    await pilot.press(key)
    await settle(pilot)
    alive(pilot.app)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Hostile:
    agents: dict[str, Agent]  # by name, after the hostile edits
    evil: Agent  # adopted from tmux session EVIL_SESSION


async def _seed(bench: Bench, home: BenchHome) -> Hostile:
    """Hostile text in every free-text field, through the core's own calls."""
    # Agents: label, project and capability (one line, no control characters).
    demo = (await bench.agents.list()).rows
    for i, agent in enumerate(demo):
        await bench.agents.update(
            {
                "agent_id": agent.agent_id,
                "label": MARKUP[i % 5],
                "project_path": MARKUP[(i + 1) % 5],
                "capability": MARKUP[(i + 2) % 5],
            }
        )
    lead = next(a for a in demo if a.name == "lead")
    # tmux: a session whose name is markup (adopted), and a free pane whose command is markup.
    shell = "env PS1='$ ' bash --norc --noprofile"
    assert home.tmux("new-session", "-d", "-s", EVIL_SESSION, shell).returncode == 0
    free_command = f"bash -c \"exec -a '{FREE_COMMAND}' sleep 600\""
    assert home.tmux("new-session", "-d", "-s", FREE_SESSION, free_command).returncode == 0
    for _ in range(50):  # until bash has exec'd the command (the scan records what runs at that moment)
        shown_command = home.tmux("display", "-p", "-t", f"={FREE_SESSION}:", "#{pane_current_command}").stdout
        if shown_command.strip() == FREE_COMMAND:
            break
        await asyncio.sleep(0.1)
    await bench.agents.scan({"wait": True})
    pane = next(p for p in await bench.agents.panes() if p.session_name == EVIL_SESSION and p.alive)
    await bench.agents.register_from_pane({**pane.identity(), "name": "evil", "role": "worker"})
    # Queue: payloads and senders (blocked, so nothing delivers them), and cancel reasons.
    for i, text in enumerate(HOSTILE):
        await bench.queue.enqueue(
            target_agent_id=lead.agent_id,
            payload=text,
            sender=text,
            sender_role="master",
            block_reason="awaiting_approval",
        )
        message, _ = await bench.queue.enqueue(
            target_agent_id=lead.agent_id, payload=f"to cancel {i}", sender="operator", sender_role="master"
        )
        await bench.queue.cancel({"message_id": message.message_id, "reason": text})
    # Routes: the name is restricted, template and filter are free text (the filter refuses control characters).
    for i, text in enumerate(HOSTILE):
        await bench.routes.add(
            {
                "name": f"hostile-{i}",
                "event_type": "error",
                "target_agent_id": lead.agent_id,
                "template": text,
                "filter": "" if text == ANSI else text,
            }
        )
    # Memory: scopes and keys are restricted to [A-Za-z0-9._:/-]; values, writers and notes are free text.
    for i, text in enumerate(HOSTILE):
        await bench.memory.kv_set({"scope": "hostile", "key": f"k{i}", "value": text})
        await bench.memory.blackboard_write(
            {"key": f"hostile/{i}", "value": text, "expected_version": 0, "updated_by": text}
        )
    # Tokens: the model name comes from a log file.
    for text in HOSTILE:
        await bench.tokens.record({"agent_id": lead.agent_id, "model": text, "input_tokens": 10})
    # Notes last: their titles are the summaries of the most recent events the dashboard lists.
    for text in HOSTILE:
        await bench.memory.note_add(
            {
                "title": "esc" if text == ANSI else text,
                "body": text,
                "tags": [text, "t"],
                "source": text,
            }
        )
    agents = {a.name: a for a in (await bench.agents.list()).rows}
    return Hostile(agents=agents, evil=agents["evil"])


@pytest.fixture
async def hostile(demo_bench: Bench, demo_home: BenchHome) -> Hostile:
    return await _seed(demo_bench, demo_home)


@pytest.fixture
def outside_tmux(monkeypatch: pytest.MonkeyPatch) -> None:
    """`j` then says the attach command (quoting the session name) instead of switching a real client."""
    monkeypatch.delenv("TMUX", raising=False)


async def select(pilot: Pilot[None], agent: Agent) -> None:
    grid = pilot.app.screen.query_one(AgentTable)
    grid.move_cursor(row=grid.get_row_index(agent.agent_id))
    await settle(pilot)
    assert pilot.app.screen.query_one(AgentPreview).agent_id == agent.agent_id


# -- tables -------------------------------------------------------------------------------------------------------
async def test_queue_payloads_senders_and_cancel_reasons_are_literal(app: RelayboardApp, hostile: Hostile) -> None:
    async with app.run_test(size=BIG) as pilot:
        await open_pane(pilot, "3")
        rows = cells(app, "#queue-table")
        for text in HOSTILE:
            assert ["blocked", "awaiting_approval", "lead", shown(text), shown(text)] in [row[:5] for row in rows]
            assert any(row[0] == "canceled" and row[1] == shown(text) for row in rows), text
        assert_on_screen(app, *HOSTILE)
        # Each message's detail view: the payload and the sender drawn as typed, in full.
        table = app.screen.query_one("#queue-table", BenchTable)
        for index, row in enumerate(rows):
            if row[0] != "blocked" or row[4] not in {shown(t) for t in HOSTILE}:
                continue
            table.move_cursor(row=index)
            table.focus()
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, DetailModal)
            alive(app)
            assert_on_screen(app, f"Text: {row[4]}", within=app.screen.query_one("#detail-body"))
            await pilot.press("escape")
            await settle(pilot)


async def test_memory_values_writers_and_notes_are_literal(app: RelayboardApp, hostile: Hostile) -> None:
    async with app.run_test(size=BIG) as pilot:
        await open_pane(pilot, "5")
        kv = cells(app, "#kv-table")
        blackboard = cells(app, "#blackboard-table")
        notes = cells(app, "#notes-table")
        for i, text in enumerate(HOSTILE):
            assert ["hostile", f"k{i}", shown(text)] in [row[:3] for row in kv]
            assert [f"hostile/{i}", "1", shown(text), shown(text)] in blackboard
            title = "esc" if text == ANSI else text
            assert [title, f"{shown(text)}, t", shown(text)] in [row[:3] for row in notes]
        assert_on_screen(app, *HOSTILE)


async def test_route_templates_are_literal(app: RelayboardApp, hostile: Hostile) -> None:
    async with app.run_test(size=BIG) as pilot:
        await open_pane(pilot, "4")
        templates = [row[6] for row in cells(app, "#routes-table")]
        for text in HOSTILE:
            assert shown(text) in templates
        assert_on_screen(app, *HOSTILE)


async def test_token_model_names_are_literal(app: RelayboardApp, hostile: Hostile) -> None:
    async with app.run_test(size=BIG) as pilot:
        await open_pane(pilot, "6")
        models = [row[0] for row in cells(app, "#by-model")]
        for text in HOSTILE:
            assert shown(text) in models
        assert_on_screen(app, *HOSTILE)


async def test_dashboard_event_summaries_are_literal(app: RelayboardApp, hostile: Hostile) -> None:
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)  # the dashboard is the first pane
        alive(app)
        summaries = [row[3] for row in cells(app, "#recent")]
        for text in MARKUP:
            assert f"note {text}" in summaries
        assert_on_screen(app, *(f"note {text}" for text in MARKUP))


# -- the agents pane, its preview and its modals ------------------------------------------------------------------
async def test_agent_label_project_and_capability_are_literal(app: RelayboardApp, hostile: Hostile) -> None:
    # 120 columns: the table is wide enough for its Pane and Project columns, the preview sits below it.
    async with app.run_test(size=(120, 40)) as pilot:
        await open_pane(pilot, "2")
        table = app.screen.query_one(AgentTable)
        preview = app.screen.query_one(AgentPreview)
        for name in ("lead", "api-worker", "api-tests", "web-worker", "swarm-1"):
            agent = hostile.agents[name]
            row = [str(cell) for cell in table.get_row(agent.agent_id)]
            assert row[0] == name and row[6] == agent.project_path
            await select(pilot, agent)
            alive(app)
            assert title_of(preview) == f"{name} — {agent.label} · {row[5]} · {agent.project_path}"
            assert_on_screen(app, agent.label, agent.project_path)
            await pilot.press("e")
            await pilot.pause()
            modal = app.screen
            assert isinstance(modal, EditAgentModal)
            alive(app)
            fields = (("label", agent.label), ("capability", agent.capability), ("project", agent.project_path))
            for field, value in fields:
                field_input = modal.query_one(f"#edit-{field}", Input)
                assert field_input.value == value
                assert_on_screen(app, value, within=field_input)
            await pilot.press("escape")
            await settle(pilot)
        assert all(text in {a.label for a in hostile.agents.values()} for text in MARKUP)


PROCESS_NAME = "[/x][b]read"  # a process may name itself (/proc/self/comm, 15 bytes at most)


async def test_a_process_named_with_markup_shows_literally_in_the_why(
    app: RelayboardApp, demo_bench: Bench, demo_home: BenchHome
) -> None:
    # The process signal's why names the foreground process: a name is text from the pane, never markup.
    program = f"open('/proc/self/comm', 'w').write({PROCESS_NAME!r}); input()"
    assert demo_home.tmux("new-session", "-d", "-s", "comm", f"python3 -c {shlex.quote(program)}").returncode == 0
    await demo_bench.agents.scan({"wait": True})
    pane = next(p for p in await demo_bench.agents.panes() if p.session_name == "comm" and p.alive)
    agent = await demo_bench.agents.register_from_pane({**pane.identity(), "name": "named", "role": "worker"})
    why = f"{PROCESS_NAME} is reading the terminal (read)"
    for _ in range(50):
        await demo_bench.refresh_states()
        current = next(a for a in (await demo_bench.agents.list()).rows if a.agent_id == agent.agent_id)
        if current.state_reason.startswith(why):
            break
        await asyncio.sleep(0.1)
    assert current.state == "waiting_for_input" and current.state_reason.startswith(why), current.state_reason
    async with app.run_test(size=BIG) as pilot:
        await open_pane(pilot, "2")
        table = app.screen.query_one(AgentTable)
        cell = str(table.get_row(agent.agent_id)[4])  # cut to its column, with an ellipsis
        assert cell.startswith(PROCESS_NAME) and current.state_reason.startswith(cell.removesuffix("…")), cell
        await select(pilot, current)
        assert_on_screen(app, f"waiting_for_input: {PROCESS_NAME} is reading the terminal")  # the preview's border
        app.push_screen(FocusScreen(current))
        await settle(pilot)
        alive(app)
        assert_on_screen(app, why)


async def test_text_typed_into_an_agent_shows_literally_in_the_preview(app: RelayboardApp, demo_bench: Bench) -> None:
    lead = next(a for a in (await demo_bench.agents.list()).rows if a.name == "lead")
    await demo_bench.queue.send_input({"target_agent_id": lead.agent_id, "payload": f"echo '{TYPED}'"})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_pane(pilot, "2")
        await select(pilot, lead)
        preview = app.screen.query_one(AgentPreview)
        for _ in range(50):
            if any(line.strip() == TYPED for line in preview.text.splitlines()):
                break
            await pilot.pause(0.1)
        await pilot.pause()
        alive(app)
        assert TYPED in preview.text
        assert TYPED in str(preview.render())
        assert TYPED in screen_text(app)
        assert f"echo '{TYPED}'" in screen_text(app)


async def test_session_names_and_commands_are_literal_in_table_confirm_toast_and_adopt_picker(
    app: RelayboardApp, hostile: Hostile, outside_tmux: None
) -> None:
    evil = hostile.evil
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_pane(pilot, "2")
        table = app.screen.query_one(AgentTable)
        assert str(table.get_row(evil.agent_id)[5]) == f"{EVIL_SESSION}:0.0"
        await select(pilot, evil)
        assert EVIL_SESSION in title_of(app.screen.query_one(AgentPreview))
        assert_on_screen(app, f"{EVIL_SESSION}:0.0")

        # Kill and remove ask first; the question names the pane.
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        alive(app)
        question = app.screen.query("Label").first()
        assert str(question.render()) == f"Kill agent evil? Its tmux pane {EVIL_SESSION}:0.0 is closed."
        assert_on_screen(app, f"{EVIL_SESSION}:0.0", within=question)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        alive(app)
        await pilot.press("n")
        await settle(pilot)

        # An action's error quotes the session name: the toast shows it as it is.
        await pilot.press("j")
        await settle(pilot)
        alive(app)
        expected = f"attach -t {shlex.quote('=' + EVIL_SESSION)}"
        assert any(expected in n.message for n in app._notifications)
        assert any(expected in toast for toast in toasts(app)), toasts(app)

        # The adopt picker lists the free pane by session name and command.
        await pilot.press("a")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, AdoptModal)
        alive(app)
        options = picker.query_one("#adopt-panes", OptionList)
        drawn = [line.strip("▊▎ ") for line in screen_text(app, within=options).splitlines()]
        assert any(line.startswith(f"{FREE_SESSION}:0.0  %") and line.endswith(f"  {FREE_COMMAND}") for line in drawn)
        await pilot.press("escape")
        await settle(pilot)
        alive(app)


async def test_a_filter_that_matches_nothing_shows_literally_in_the_title(app: RelayboardApp, hostile: Hostile) -> None:
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await open_pane(pilot, "2")
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one(TableFilter).value = "[/nomatch] [b]"
        await settle(pilot)
        alive(app)
        table = app.screen.query_one(AgentTable)
        assert table.row_count == 0
        assert table._border_title is not None
        assert re.search(r"Agents · 0 of \d+ · /\[/nomatch\] \[b\]$", table._border_title.plain)
        assert_on_screen(app, "/[/nomatch] [b]")


# -- every pane, every modal --------------------------------------------------------------------------------------
# In process only: the longest Pilot test (~55 s); every text it shows also crosses the socket in the tests above.
@pytest.mark.parametrize("client", ["local"], indirect=True)
async def test_every_pane_and_modal_opens_on_hostile_data(app: RelayboardApp, hostile: Hostile) -> None:
    async with app.run_test(size=BIG, notifications=True) as pilot:
        await settle(pilot)
        for pane in PANES:
            await open_pane(pilot, pane.key)
            assert app.current_mode == pane.id
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpModal)
            alive(app)
            assert pane.title in screen_text(app)
            await pilot.press("escape")
            await settle(pilot)
        await open_pane(pilot, "2")
        for agent in hostile.agents.values():
            await select(pilot, agent)
            for key, modal in (("e", EditAgentModal), ("i", SendInputModal), ("k", ConfirmModal), ("x", ConfirmModal)):
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, modal), key
                alive(app)
                await pilot.press("escape")
                await settle(pilot)
            await pilot.press("z")  # the focus view: its header holds the label, its body the pane
            await pilot.pause()
            assert isinstance(app.screen, FocusScreen)
            await app.screen.wait_for_poll()
            alive(app)
            await pilot.press("q")
            await settle(pilot)
        for key, modal in (("n", LaunchModal), ("a", AdoptModal)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, modal), key
            alive(app)
            await pilot.press("escape")
            await settle(pilot)
        for pane in PANES:  # and back through every pane once more: reopening must not crash either
            await open_pane(pilot, pane.key)
        alive(app)


async def test_readiness_banner_quotes_a_socket_name_literally(tmp_path: Path) -> None:
    """A fresh home whose tmux socket name is markup (and an escape sequence), with no server on it: the reason and
    the fix name it as it is."""
    socket = f"rb-[/x]-[y/N]-[bold]b[/bold]-{ANSI}-no-server"
    home = make_home(tmp_path, socket=socket)
    app = RelayboardApp(home.client_opener(), refresh_seconds=0)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        alive(app)
        banner = str(app.screen.query_one(ReadinessBanner).render())
        assert f"no tmux server on socket {socket!r}" in banner  # the core quotes it with repr: \x1b as text
        assert f"tmux -L {shown(socket)} new-session -d" in banner
        assert_on_screen(app, f"tmux -L {socket} new-session -d")
