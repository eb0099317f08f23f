"""tui.toml: the theme (persisted when the operator picks one), every binding remappable by its id, and a clear
`config_invalid` for an unknown id, a clash, an unknown theme or a broken file, with the defaults kept. NO_COLOR
draws the app in monochrome."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.bench import Bench
from core.client import BenchClient, LocalClient
from core.errors import BenchError
from tui.app import RelayboardApp
from tui.keymap import binding_scopes
from tui.modals.confirm import ConfirmModal
from tui.preferences import check_keymap

pytestmark = pytest.mark.slow
WINDOW_CHROME = {"ff5f57", "febc2e", "28c840", "c5c8c6"}  # the screenshot's window buttons and title, not the app


@pytest.fixture
def client(demo_bench: Bench) -> BenchClient:
    """In process only: look and keys are the TUI's own, whichever way it reaches the core."""
    return LocalClient(demo_bench)


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def prefs_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tui.toml"
    path.write_text(text)
    return path


def problems(app: RelayboardApp) -> list[str]:
    return [n.message for n in app._notifications if n.message.startswith("config_invalid")]


# -- the keymap's checks, without an app ----------------------------------------------------------------------
def test_the_shipped_bindings_have_ids_and_no_clash_anywhere() -> None:
    scopes = binding_scopes()
    assert check_keymap({}, scopes) == {}
    missing = [(scope, b.key) for scope, bindings in scopes.items() for b in bindings if not b.id]
    assert missing == [], "every binding has an id, so every binding can be remapped"
    ids = {b.id for bindings in scopes.values() for b in bindings}
    assert {"agents.kill", "queue.approve", "focus.typing", "table.sort", "app.quit", "detail.copy"} <= ids


@pytest.mark.parametrize(
    ("keys", "field", "says"),
    [
        ({"agents.explode": "X"}, "keys.agents.explode", "unknown binding id"),
        ({"agents.kill": "s"}, "keys.agents.kill", "'s' is already agents.scan in AgentsScreen"),
        ({"agents.kill": "q"}, "keys.agents.kill", "'q' is already app.quit"),  # quit: it would never run
        ({"queue.approve": "o"}, "keys.queue.approve", "table.sort"),  # over the table's sort
        ({"agents.kill": ""}, "keys.agents.kill", "keys must be a string"),
        ({"agents.kill": 3}, "keys.agents.kill", "keys must be a string"),
    ],
)
def test_a_wrong_keymap_entry_is_config_invalid_naming_it(keys: dict[str, object], field: str, says: str) -> None:
    with pytest.raises(BenchError) as caught:
        check_keymap(keys, binding_scopes())
    assert caught.value.code == "config_invalid" and caught.value.details["field"] == field
    assert says in caught.value.message, caught.value.message


def test_a_key_freed_by_a_remap_can_be_taken() -> None:
    keymap = {"agents.kill": "K", "agents.scan": "k"}  # swap-like: k goes from kill to scan
    assert check_keymap(keymap, binding_scopes()) == keymap


# -- in the app -----------------------------------------------------------------------------------------------
async def test_a_remapped_binding_answers_to_its_new_key_only(client: BenchClient, tmp_path: Path) -> None:
    path = prefs_file(tmp_path, '[keys]\n"agents.kill" = "K"\n')
    app = RelayboardApp(client, refresh_seconds=0, preferences=path)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        await pilot.press("K")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert problems(app) == []


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[keys]\n"agents.kill" = "s"\n', r"keys\.agents\.kill: 's' is already agents\.scan"),
        ('[keys]\n"nope.nothing" = "Z"\n', r"keys\.nope\.nothing: unknown binding id"),
        ("theme = [", r"tui\.toml is not valid TOML"),
        ('colour = "red"\n', r"colour: unknown setting"),
    ],
)
async def test_a_bad_file_is_said_once_and_the_defaults_stay(
    client: BenchClient, tmp_path: Path, text: str, said: str
) -> None:
    app = RelayboardApp(client, refresh_seconds=0, preferences=prefs_file(tmp_path, text))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.press("2")
        await settle(pilot)
        found = problems(app)
        assert len(found) == 1 and re.search(said, found[0]), found
        assert str(tmp_path / "tui.toml") in found[0] and "defaults kept" in found[0]
        await pilot.press("k")  # the shipped key still works
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)


async def test_the_theme_is_read_and_a_theme_picked_is_written_back(client: BenchClient, tmp_path: Path) -> None:
    path = prefs_file(tmp_path, 'theme = "relayboard-high-contrast"\n[keys]\n"agents.kill" = "K"\n')
    app = RelayboardApp(client, refresh_seconds=0, preferences=path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.theme == "relayboard-high-contrast"
        app.theme = "relayboard-256"  # what the palette's "Change theme" does
        await pilot.pause()
    saved = tomllib.loads(path.read_text())
    assert saved == {"theme": "relayboard-256", "keys": {"agents.kill": "K"}}  # the keys are kept
    again = RelayboardApp(client, refresh_seconds=0, preferences=path)
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert again.theme == "relayboard-256"


async def test_an_unknown_theme_is_config_invalid_and_the_default_is_used(client: BenchClient, tmp_path: Path) -> None:
    app = RelayboardApp(client, refresh_seconds=0, preferences=prefs_file(tmp_path, 'theme = "neon-dreams"\n'))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
        found = problems(app)
        assert len(found) == 1 and "theme: unknown theme 'neon-dreams'" in found[0]
        assert "relayboard-high-contrast" in found[0]  # it lists what there is


async def test_no_color_draws_every_pane_without_colour(
    client: BenchClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = RelayboardApp(client, refresh_seconds=0)
    async with app.run_test(size=(100, 30)) as pilot:
        for key in "123456789":
            await pilot.press(key)
            await settle(pilot)
            colours = set(re.findall(r"#([0-9a-fA-F]{6})", app.export_screenshot()))
            coloured = {c for c in colours if len({c[0:2], c[2:4], c[4:6]}) > 1} - WINDOW_CHROME
            assert app.no_color and coloured == set(), (key, sorted(coloured)[:5])
