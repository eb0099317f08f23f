"""An agent's attached log, tailed live: the end of `logs/<name>.log` (up to 1 MiB) as the screen showed it
(colours kept, cursor moves and titles dropped, carriage-return overwrites applied), following new lines, with the
focus view's search and scrollback. Read-only: no typing, no answers. Esc or q closes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from tui.screens.focus import FocusScreen

if TYPE_CHECKING:
    from core.prompts import AgentPrompt

TAIL_BYTES = 1024 * 1024


class LogScreen(FocusScreen):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.log_path = ""
        self.log_size = 0
        self.log_truncated = False

    async def fetch(self) -> tuple[str, AgentPrompt | None]:
        from core.logs import LOG_TAIL

        tail = await self.client.call(LOG_TAIL, agent_id=self.agent.agent_id, max_bytes=TAIL_BYTES)
        self.log_path, self.log_size, self.log_truncated = tail.path, tail.size, tail.truncated
        return tail.text, None

    def header(self) -> Text:
        self.sub_title = f"log of {self.agent.name}"
        header = Text.assemble(("log of ", ""), (self.agent.name, "bold"), "  ", self.log_path or "…")
        if self.log_size:
            cut = f", the last {TAIL_BYTES // 1024} KiB" if self.log_truncated else ""
            header.append(f"  ({self.log_size:,} bytes{cut})", style="dim")
        return header

    def action_typing(self) -> None:
        self.notify("the log is read-only: Enter on the agent opens its live pane to type into", timeout=3)
