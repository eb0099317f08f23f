"""Dev servers: long-running project processes with a lifecycle, logs and crash restart."""

from __future__ import annotations

from typing import Any

from tui.screens.process_list import ProcessListScreen


class DevServersScreen(ProcessListScreen):
    PANE_ID = "devservers"
    HELP = """\
Dev servers are project processes (`npm run dev`, `uvicorn …`) with states stopped, running, pausing, paused,
paused_graceful and crashed, a command policy, logs and crash restart. The process supervisor is not built yet;
the banner says so and this list stays empty until it is."""
    TABLE_TITLE = "Dev servers"
    EMPTY = (
        "No dev servers. Starting them needs the process supervisor, which is not built yet\n(see the banner above)."
    )

    def list_call(self) -> Any:
        from core.processes import DEVSERVER_LIST

        return DEVSERVER_LIST
