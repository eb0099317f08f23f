"""Every table of every pane, on the demo bench: `o`/`O` and a header click sort it (and the order survives a
refresh), `/` filters it (the title counts what is left, Escape brings every row back), Enter opens the row in full
in a detail view whose text holds what the row shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.agents import AGENT_LIST
from core.bench import Bench
from core.client import LocalClient
from tests.support.homes import BenchHome
from tui.app import RelayboardApp
from tui.modals.detail import DetailModal
from tui.screens.focus import FocusScreen
from tui.widgets.agent_table import AgentTable
from tui.widgets.bench_table import BenchTable, sort_value
from tui.widgets.table_filter import TableFilter

pytestmark = pytest.mark.slow


@pytest.fixture
def app(demo_bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RelayboardApp:
    """The in-process client only: table manners are the TUI's own (every call they make is also driven over the
    socket by the other pane tests), and the suite's time is a budget."""
    monkeypatch.chdir(tmp_path)
    return RelayboardApp(LocalClient(demo_bench), refresh_seconds=0)


BIG = (160, 50)
# (pane key, table id): every table the demo bench fills.
TABLES = (
    ("1", "recent"),
    ("2", "agents-table"),
    ("3", "queue-table"),
    ("4", "routes-table"),
    ("5", "kv-table"),
    ("5", "blackboard-table"),
    ("5", "notes-table"),
    ("6", "by-agent"),
    ("6", "by-model"),
)


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_table(pilot: Pilot[None], pane: str, table_id: str) -> BenchTable:
    await pilot.press(pane)
    await settle(pilot)
    table = pilot.app.screen.query_one(f"#{table_id}", BenchTable)
    table.focus()
    await pilot.pause()
    assert table.row_count >= 2, f"the demo bench fills {table_id}"
    return table


def column(table: BenchTable, label: str) -> list[str]:
    index = table.visible_columns().index(label)
    return [table.get_row(key)[index].plain for key in table.shown_keys]


def ordered(values: list[str], descending: bool) -> bool:
    present = [sort_value(v) for v in values if sort_value(v)[0] != 2]
    placeholders = [v for v in values if sort_value(v)[0] == 2]
    return present == sorted(present, reverse=descending) and values[len(present) :] == placeholders


@pytest.mark.parametrize(("pane", "table_id"), TABLES)
async def test_every_table_sorts_filters_and_opens_its_rows(app: RelayboardApp, pane: str, table_id: str) -> None:
    """One app per table (three behaviours, one start: the suite's time is a budget)."""
    async with app.run_test(size=BIG) as pilot:
        table = await open_table(pilot, pane, table_id)
        # `o` sorts by each column in turn, `O` reverses, past the last column the core's order comes back.
        natural = table.shown_keys
        for label in table.visible_columns():
            await pilot.press("o")
            assert table.sort_by == label and not table.descending
            assert ordered(column(table, label), descending=False), (label, column(table, label))
            assert str(table.columns[label].label).endswith("▲")  # type: ignore[index]
        await pilot.press("O")
        last = table.visible_columns()[-1]
        assert table.descending and ordered(column(table, last), descending=True)
        assert str(table.columns[last].label).endswith("▼")  # type: ignore[index]
        await pilot.press("o")
        assert table.sort_by is None and table.shown_keys == natural

        # `/` filters; the title counts what is left; Enter keeps the filter, Escape on the table clears it.
        total = table.row_count
        wanted_key = table.shown_keys[-1]
        needle = table.get_row(wanted_key)[0].plain[:12]
        await pilot.press("slash")
        bar = app.screen.query_one(TableFilter)
        assert bar.display and bar.has_focus
        await pilot.press(*needle)
        assert wanted_key in table.shown_keys
        for key in table.shown_keys:
            assert any(needle.casefold() in cell.plain.casefold() for cell in table.get_row(key)) or isinstance(
                table, AgentTable
            )
        shown = table.row_count
        assert table.title_shown.startswith(table.table_title)
        assert (f"{shown} of {total}" in table.title_shown) and f"/{needle.strip()}" in table.title_shown
        await pilot.press("enter")
        assert table.has_focus and not bar.display and table.row_count == shown
        await pilot.press("escape")
        assert table.row_count == total and table.filter_text == ""
        assert table.title_shown == f"{table.table_title} · {total}"

        # Enter (d on an agent: Enter opens its screen) shows the row in full.
        await pilot.press("down")
        row = [cell.plain for cell in table.get_row(table.selected_key)]  # type: ignore[arg-type]
        await pilot.press("d" if table_id == "agents-table" else "enter")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, DetailModal), type(modal)
        for cell in row:
            if not cell.endswith("…") and cell not in ("-", "<1m") and not cell[:1].isdigit():
                assert cell in modal.text, (cell, modal.text)
        await pilot.press("escape")
        assert app.screen is table.screen


async def test_the_order_survives_a_refresh_and_the_cursor_keeps_its_row(app: RelayboardApp) -> None:
    async with app.run_test(size=BIG) as pilot:
        table = await open_table(pilot, "3", "queue-table")
        await pilot.press("o", "o", "o")  # by To
        assert table.sort_by == "To"
        await pilot.press("down", "down")
        selected, order = table.selected_key, table.shown_keys
        app.screen.refresh_data()  # type: ignore[attr-defined]
        await settle(pilot)
        assert table.shown_keys == order and table.selected_key == selected
        assert ordered(column(table, "To"), descending=False)


async def test_a_header_click_sorts_by_it_and_a_second_click_reverses(app: RelayboardApp) -> None:
    async with app.run_test(size=BIG) as pilot:
        table = await open_table(pilot, "4", "routes-table")
        await pilot.click(f"#{table.id}", offset=(2, 1))  # row 0 is the title line, row 1 the header
        await pilot.pause()
        assert table.sort_by == "Name" and not table.descending
        await pilot.click(f"#{table.id}", offset=(2, 1))
        await pilot.pause()
        assert table.sort_by == "Name" and table.descending
        assert ordered(column(table, "Name"), descending=True)


async def test_a_filter_that_matches_nothing_says_0_of_n_and_keeps_the_table(app: RelayboardApp) -> None:
    async with app.run_test(size=BIG) as pilot:
        table = await open_table(pilot, "2", "agents-table")
        total = table.row_count
        await pilot.press("slash", *"no-such-agent-zz")
        assert table.row_count == 0 and table.display
        assert f"0 of {total}" in table.title_shown
        await pilot.press("escape")  # Escape in the filter line clears it too
        assert table.row_count == total and table.has_focus


async def test_the_agents_filter_also_finds_what_the_narrow_table_hides(app: RelayboardApp) -> None:
    async with app.run_test(size=(100, 40)) as pilot:
        table = await open_table(pilot, "2", "agents-table")
        assert "Project" not in table.visible_columns()
        await pilot.press("slash", *"shop/web")  # the project path of the demo's web agents
        assert sorted(column(table, "Name")) == ["swarm-1", "web-worker"]


async def test_a_long_message_is_cut_with_an_ellipsis_and_whole_in_its_detail(app: RelayboardApp) -> None:
    from core.queue import SEND_INPUT

    async with app.run_test(size=BIG) as pilot:
        agents = await app.client.call(AGENT_LIST, limit=5)
        long = "echo " + " ".join(f"word{i}" for i in range(40))
        await app.client.call(SEND_INPUT, target_agent_id=agents.rows[0].agent_id, payload=long)
        table = await open_table(pilot, "3", "queue-table")
        key = next(k for k in table.shown_keys if table.get_row(k)[4].plain.startswith("echo word0"))
        cell = table.get_row(key)[4]
        assert cell.plain.endswith("…") and cell.cell_len < len(long)  # cut to the room the other columns leave
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("enter")
        await settle(pilot)
        assert long in app.screen.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["10", "9", "1,200", "-", "$0.50"], ["$0.50", "9", "10", "1,200", "-"]),
        (["5m", "<1m", "2d", "3h", "-"], ["<1m", "5m", "3h", "2d", "-"]),
        (["in 2h", "never", "in 5m", "due"], ["in 2h", "in 5m", "due", "never"]),
        (["beta", "Alpha", "", "gamma"], ["Alpha", "beta", "gamma", ""]),
        (["swarm-10", "swarm-2", "swarm-1", "lead"], ["lead", "swarm-1", "swarm-2", "swarm-10"]),
    ],
)
def test_sort_values_order_numbers_ages_and_text_as_an_operator_reads_them(
    values: list[str], expected: list[str]
) -> None:
    assert sorted(values, key=sort_value) == expected


async def test_agents_group_by_project_then_session_and_a_group_folds(app: RelayboardApp) -> None:
    async with app.run_test(size=BIG) as pilot:
        table = await open_table(pilot, "2", "agents-table")
        assert isinstance(table, AgentTable)
        await pilot.press("g")
        headers = [k for k in table.shown_keys if k.startswith("group:")]
        assert headers == ["group:~/src/shop", "group:~/src/shop/api", "group:~/src/shop/web"]
        assert table.get_row("group:~/src/shop/api")[0].plain == "▾ ~/src/shop/api (2)"
        members = table.shown_keys[table.shown_keys.index("group:~/src/shop/api") + 1 :][:2]
        names = {table.get_row(k)[0].plain for k in members}
        assert names == {"api-worker", "api-tests"}
        assert table.title_shown == "Agents · 5"  # headers are not agents
        table.move_cursor(row=table.get_row_index("group:~/src/shop/api"))
        await pilot.press("enter")  # folds: its agents leave the table, the header stays under the cursor
        await pilot.pause()
        assert table.get_row("group:~/src/shop/api")[0].plain == "▸ ~/src/shop/api (2)"
        assert not set(members) & set(table.shown_keys) and table.selected_key == "group:~/src/shop/api"
        assert not isinstance(app.screen, FocusScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert set(members) <= set(table.shown_keys)
        await pilot.press("g")
        assert [k for k in table.shown_keys if k.startswith("group:")] == ["group:api", "group:lead", "group:web"]
        await pilot.press("g")
        assert not any(k.startswith("group:") for k in table.shown_keys) and table.row_count == 5


async def test_a_group_header_counts_the_agents_waiting_in_it(app: RelayboardApp, demo_home: BenchHome) -> None:
    from core.watcher import REFRESH_STATES
    from tests.tui.test_focus_view import type_in

    type_in(demo_home, "lead", 'read -p "Go on? [y/N] " a')
    async with app.run_test(size=BIG) as pilot:
        for _ in range(40):
            await app.client.call(REFRESH_STATES)
            agents = (await app.client.call(AGENT_LIST)).rows
            if any(a.name == "lead" and a.state == "waiting_for_input" for a in agents):
                break
            await pilot.pause(0.1)
        table = await open_table(pilot, "2", "agents-table")
        await pilot.press("g", "g")  # by tmux session
        header = table.get_row("group:lead")
        assert header[table.visible_columns().index("State")].plain == "1 waiting"
