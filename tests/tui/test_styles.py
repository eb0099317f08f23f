"""A pane looks the same however many other panes and modals were opened before it.

Textual applies every loaded stylesheet to the whole app: a pane's `CSS_PATH` is loaded when the pane is first
shown and stays. A bare rule in one pane's .tcss (once `EmptyState { padding: 0 2; }` in memory.tcss) then
restyles every other pane from that moment on. So every rule of a pane's .tcss is scoped under its screen class,
and every rule of modals.tcss under `ModalScreen`. Checked two ways: by rendering (each pane after a tour of all
panes and modals against the same pane in an app that opened nothing else), and statically (every selector).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen

import tui.app as tui_app
from core.client import BenchClient
from tests.support.homes import make_home
from tui.app import SCREENS_BY_PANE, RelayboardApp
from tui.modals.adopt import AdoptModal
from tui.modals.confirm import ConfirmModal
from tui.modals.edit_agent import EditAgentModal
from tui.modals.help import HelpModal
from tui.modals.launch import LaunchModal
from tui.modals.send_input import SendInputModal
from tui.panes import PANES
from tui.screens.focus import FocusScreen

SIZE = (100, 30)
TUI = Path(tui_app.__file__).parent


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def starting_in(pane_id: str, client: BenchClient | object) -> RelayboardApp:
    """An app that shows `pane_id` first, so no other pane's stylesheet has ever been loaded."""

    class OnlyThisPane(RelayboardApp):
        DEFAULT_MODE = pane_id
        CSS_PATH = str(TUI / "app.tcss")  # a relative CSS_PATH resolves against the subclass's file

    return OnlyThisPane(client, refresh_seconds=0)  # type: ignore[arg-type]


def picture(app: RelayboardApp) -> str:
    """The current screen as SVG text, without the export's content-hash ids."""
    return re.sub(r"terminal-\d+", "terminal", app.export_screenshot())


async def alone(pane_id: str, client: BenchClient | object) -> str:
    app = starting_in(pane_id, client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.current_mode == pane_id
        return picture(app)


async def press_modal(pilot: Pilot[None], key: str, modal: type[ModalScreen[object]]) -> None:
    await pilot.press(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, modal), (key, pilot.app.screen)
    await pilot.press("escape")
    await settle(pilot)
    assert not isinstance(pilot.app.screen, ModalScreen)


async def tour(pilot: Pilot[None], *, agent_modals: bool) -> None:
    """Every pane by its key with its help open once, and the agents pane's modals."""
    await settle(pilot)
    for pane in PANES:
        await pilot.press(pane.key)
        await settle(pilot)
        await press_modal(pilot, "question_mark", HelpModal)
        if pane.id == "agents" and agent_modals:
            for key, modal in (
                ("n", LaunchModal),
                ("a", AdoptModal),
                ("e", EditAgentModal),
                ("i", SendInputModal),
                ("k", ConfirmModal),
                ("x", ConfirmModal),
            ):
                await press_modal(pilot, key, modal)


async def compare_after_tour(client: BenchClient | object, *, agent_modals: bool) -> None:
    expected = {pane.id: await alone(pane.id, client) for pane in PANES}
    app = RelayboardApp(client, refresh_seconds=0)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await tour(pilot, agent_modals=agent_modals)
        # Queue first: the pane a leaked rule was first seen on.
        for pane in sorted(PANES, key=lambda p: p.id != "queue"):
            await pilot.press(pane.key)
            await settle(pilot)
            assert app.current_mode == pane.id
            assert picture(app) == expected[pane.id], f"the {pane.id} pane looks different after the tour"


@pytest.mark.slow
# In process only: stylesheets are the TUI's own, whichever client it has (~30 s a run).
@pytest.mark.parametrize("client", ["local"], indirect=True)
async def test_panes_look_the_same_after_every_pane_and_modal_was_opened(client: BenchClient) -> None:
    """The demo bench: agents, queue, routes, memory and tokens have rows; the process panes show empty states."""
    await compare_after_tour(client, agent_modals=True)


@pytest.fixture
async def empty_client(tmp_path: Path) -> AsyncIterator[BenchClient]:
    """A fresh home and no tmux server: every pane shows its empty state (the queue's too)."""
    client = await make_home(tmp_path).client_opener()()
    try:
        yield client
    finally:
        await client.close()


@pytest.mark.slow
async def test_empty_panes_look_the_same_after_every_pane_was_opened(empty_client: BenchClient) -> None:
    await compare_after_tour(empty_client, agent_modals=False)


# -- static: every selector is scoped -----------------------------------------------------------------------------
def _rules(path: Path) -> list[str]:
    """The selectors of every rule in a .tcss file (comments removed; nesting is refused, the check is simple)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.DOTALL)
    selectors: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "{":
            assert depth == 0, f"{path.name}: nested rules are not checked here; flatten them"
            selectors.extend(s.strip() for s in text[start:index].split(","))
            depth = 1
        elif char == "}":
            depth -= 1
            start = index + 1
    assert depth == 0 and not text[start:].strip(), f"{path.name}: unbalanced braces"
    return selectors


SCREENS_OVER_PANES = (FocusScreen,)  # screens pushed over a pane (not a pane of their own)


def _starts_with(selector: str, names: set[str]) -> bool:
    return any(re.match(rf"{re.escape(name)}(?![A-Za-z0-9_-])", selector) for name in names)


def _stylesheet_users() -> dict[Path, set[str]]:
    """Each pane stylesheet, with the screen classes it styles: those whose CSS_PATH (maybe inherited) names it,
    and the class that declares it (a type selector matches subclasses)."""
    users: dict[Path, set[str]] = {}
    for screen in (*SCREENS_BY_PANE.values(), *SCREENS_OVER_PANES):
        owner = next(cls for cls in screen.__mro__ if "CSS_PATH" in vars(cls))
        path = (Path(inspect.getfile(owner)).parent / str(owner.CSS_PATH)).resolve()
        users.setdefault(path, set()).update({screen.__name__, owner.__name__})
    return users


def test_every_pane_stylesheet_rule_is_scoped_under_its_screen() -> None:
    users = _stylesheet_users()
    files = sorted((TUI / "screens").glob("*.tcss"))
    assert files and set(files) == set(users), "a .tcss file in tui/screens that no pane loads, or one outside it"
    for path in files:
        selectors = _rules(path)
        assert selectors, path.name
        for selector in selectors:
            assert _starts_with(selector, users[path]), (
                f"{path.name}: `{selector}` must start with one of {sorted(users[path])}"
            )


def test_every_modal_stylesheet_rule_is_scoped_under_modal_screen() -> None:
    path = TUI / "modals" / "modals.tcss"
    for selector in _rules(path):
        assert _starts_with(selector, {"ModalScreen"}), f"{path.name}: `{selector}` must start with ModalScreen"


def test_the_scoping_names_are_real_screen_classes() -> None:
    """The static check trusts class names: each must be a Screen the app shows (or their shared base)."""
    names = set().union(*_stylesheet_users().values())
    classes = {
        cls.__name__: cls for screen in (*SCREENS_BY_PANE.values(), *SCREENS_OVER_PANES) for cls in screen.__mro__
    }
    for name in names:
        assert issubclass(classes[name], Screen), name
    assert issubclass(AdoptModal, ModalScreen) and issubclass(HelpModal, ModalScreen)
