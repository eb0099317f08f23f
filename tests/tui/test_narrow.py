"""At 80 columns and narrower: the footer shows whole bindings only (Textual's cut the last one mid-word), the ones
it leaves out still work, and the pane bar keeps every label at 80 (the current one below that)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from tests.tui.test_agents_pane import notifications, settle
from tui.app import RelayboardApp
from tui.panes import PANES
from tui.widgets.fitting_footer import FittingFooter
from tui.widgets.pane_tabs import PaneTabs

pytestmark = pytest.mark.slow


async def open_pane(pilot: Pilot[None], key: str) -> None:
    await pilot.press(key)
    await settle(pilot)
    await pilot.pause(0.1)  # the footer fits itself after the refresh that laid it out


@pytest.mark.parametrize("width", [80, 60])
async def test_every_pane_footer_shows_whole_bindings_only(app: RelayboardApp, width: int) -> None:
    async with app.run_test(size=(width, 24)) as pilot:
        for pane in PANES:
            await open_pane(pilot, pane.key)
            footer = app.screen.query_one(FittingFooter)
            shown = [k for k in footer.query(FooterKey) if k.display]
            assert shown, pane.id
            right = max(k.region.right for k in shown)
            assert right <= width, (pane.id, [k.key for k in shown])
            for key in shown:  # each shown key is drawn whole: its description is on screen
                assert key.region.width >= len(key.key_display) + len(key.description), (pane.id, key.key)
            tabs = str(app.screen.query_one(PaneTabs).render())
            if width >= 80:  # every pane's short label, and the current one's full name where there is room
                assert all(f"{p.key} {p.short}" in tabs for p in PANES if p.id != pane.id), tabs
                # In process the full name always fits; attached, " attached" takes 9 columns and the longer names
                # give way to their short label.
                names = (pane.title,) if "attached" not in tabs else (pane.title, pane.short)
                assert any(f"{pane.key} {name}" in tabs for name in names), tabs
            else:
                assert f"{pane.key} {pane.short}" in tabs and "…" not in tabs, tabs


async def test_a_binding_the_footer_leaves_out_still_works(app: RelayboardApp) -> None:
    async with app.run_test(size=(60, 24)) as pilot:
        await open_pane(pilot, "2")
        footer = app.screen.query_one(FittingFooter)
        assert "s" in footer.hidden_keys  # scan: no room for it at 60 columns
        await pilot.press("s")
        await settle(pilot)
        assert any(m.startswith("scan found") for m in notifications(app))
