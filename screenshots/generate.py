"""Regenerate screenshots/<pane>.svg: every pane of the demo bench at 100x30, frozen clock.

Run with `make screenshots` (or `.venv/bin/python screenshots/generate.py`). Uses a private tmux socket and a
temporary home; nothing of the operator's is touched.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from core.bench import Bench
from core.client import LocalClient
from core.clock import FixedClock
from core.config import Settings
from core.demo import seed_demo
from tui.app import RelayboardApp
from tui.panes import PANES

OUT = Path(__file__).resolve().parent
SIZE = (100, 30)
FROZEN_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="relayboard-shots-"))
    socket = f"relayboard-shots-{uuid.uuid4().hex[:8]}"
    settings = Settings(tmux_socket=socket, claude_home=root / "claude", codex_home=root / "codex")
    bench = await Bench.open(root / "home", clock=FixedClock(FROZEN_AT), settings=settings, surface="tui")
    try:
        await seed_demo(bench)
        app = RelayboardApp(LocalClient(bench), refresh_seconds=0)
        async with app.run_test(size=SIZE) as pilot:
            for pane in PANES:
                await pilot.press(pane.key)
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
                target = OUT / f"{pane.key}-{pane.id}.svg"
                target.write_text(app.export_screenshot(title=f"Relayboard: {pane.title}"))
                print(f"wrote {target.relative_to(OUT.parent)}", file=sys.stderr)
    finally:
        await bench.ctx.tmux.kill_server()
        await bench.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
