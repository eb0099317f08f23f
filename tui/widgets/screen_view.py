"""A terminal's captured screen and scrollback, drawn line by line (the Line API: only visible lines are rendered,
so 10,000 lines of history cost what 40 do), with colours from its SGR escapes, search and follow.

Input is untrusted: a capture may hold broken escape sequences or binary bytes. Rich's decoder keeps SGR (colours,
bold, ...) and drops the sequences it knows; whatever control character is left is drawn as a visible stand-in
(one cell for one character, so the colour spans stay where they were), never obeyed and never parsed as markup.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

_ONE_CELL: dict[int, str] = {
    **{code: chr(0x2400 + code) for code in range(0x20) if code != 0x09},  # C0: ␀ … ␟
    0x7F: "\u2421",
    **{code: "\ufffd" for code in range(0x80, 0xA0)},  # C1: no picture; one cell keeps the spans aligned
}
MATCH = Style(reverse=True)
CURRENT_MATCH = Style(bgcolor="yellow", color="black", bold=True)


def decode_line(raw: str) -> Text:
    """One captured line (with SGR escapes) as Text, every leftover control character made visible."""
    line = Text.from_ansi(raw.replace("\t", "    "), end="", no_wrap=True)
    plain = line.plain
    safe = plain.translate(_ONE_CELL)
    if safe != plain:
        line = Text(safe, style=line.style, spans=line.spans, end="", no_wrap=True)
    return line


def split_lines(capture: str) -> list[str]:
    """A capture's raw lines, trailing blank lines dropped (tmux pads the screen below the last output)."""
    raws = capture.split("\n")
    while raws and not raws[-1].strip():
        raws.pop()
    return raws


def decode(raws: list[str], known: dict[str, Text] | None = None) -> list[Text]:
    """Raw lines as Text, one each. `known` maps raw lines decoded before to their Text: a scrolling screen
    repeats most of its lines, so a poll decodes only the new ones."""
    cache = known if known is not None else {}
    return [cache[raw] if raw in cache else decode_line(raw) for raw in raws]


class ScreenView(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    ScreenView {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    """

    follow: reactive[bool] = reactive(True)  # keep the newest line in view; scrolling up stops it, End resumes

    class FollowChanged(Message):
        """Following the newest line started or stopped."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: list[Text] = []
        self._raws: list[str] = []  # the raw line behind each of `lines`
        self._raw = ""
        self.needle = ""
        self.matches: list[int] = []  # line indexes holding the needle
        self.current = -1  # index into matches
        self.redraws = 0

    def watch_follow(self) -> None:
        self.post_message(self.FollowChanged())

    # -- content -------------------------------------------------------------------------------------------
    def decoded(self, capture: str) -> tuple[list[Text], list[str], int] | None:
        """The work of drawing `capture`, safe to run in a thread (it touches no widget): its lines as Text (only
        the ones not shown before are decoded), their raw forms and the widest line's cells. None: unchanged."""
        if capture == self._raw:
            return None
        raws = split_lines(capture)
        lines = decode(raws, dict(zip(self._raws, self.lines, strict=True)))
        return lines, raws, max((line.cell_len for line in lines), default=0)

    def show(self, capture: str, decoded: tuple[list[Text], list[str], int] | None = None) -> bool:
        """Draw `capture` (decoded already when `decoded` is given); False (nothing redrawn) when it is what is
        shown already."""
        if capture == self._raw:
            return False
        self.lines, self._raws, width = decoded if decoded is not None else self.decoded(capture) or ([], [], 0)
        self._raw = capture
        self.virtual_size = Size(width, len(self.lines))
        self._find()
        self.redraws += 1
        if self.follow:
            # After the refresh: the new virtual size is what scroll_end needs to find the bottom.
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        self.refresh()
        return True

    @property
    def text(self) -> str:
        return "\n".join(line.plain for line in self.lines)

    def visible_text(self) -> str:
        top = round(self.scroll_offset.y)
        return "\n".join(line.plain for line in self.lines[top : top + self.size.height])

    # -- scrolling -----------------------------------------------------------------------------------------
    def at_bottom(self) -> bool:
        return self.scroll_offset.y >= self.max_scroll_y

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new < old and not self.at_bottom():
            self.follow = False  # the operator scrolled back: hold still while the agent keeps printing
        elif self.at_bottom():
            self.follow = True

    def resume_follow(self) -> None:
        self.follow = True
        self.scroll_end(animate=False, immediate=True)
        self.refresh()

    # -- search --------------------------------------------------------------------------------------------
    def search(self, needle: str) -> int:
        """Highlight `needle` (case-insensitive) and go to its last match above the bottom; the match count."""
        self.needle = needle
        self._find()
        self.current = len(self.matches) - 1 if self.matches else -1
        self._go()
        return len(self.matches)

    def next_match(self, step: int) -> int | None:
        """Go to the next (step 1) or previous (step -1) match, wrapping; its line, or None without matches."""
        if not self.matches:
            return None
        self.current = (self.current + step) % len(self.matches)
        self._go()
        return self.matches[self.current]

    def _find(self) -> None:
        needle = self.needle.lower()
        self.matches = [i for i, line in enumerate(self.lines) if needle and needle in line.plain.lower()]
        if self.current >= len(self.matches):
            self.current = len(self.matches) - 1

    def _go(self) -> None:
        if self.current >= 0:
            self.follow = False
            line = self.matches[self.current]
            self.scroll_to(y=max(0, line - self.size.height // 2), animate=False, immediate=True)
        self.refresh()

    # -- drawing -------------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        line = self.lines[index]
        if self.needle:
            line = self._highlight(line, index)
        segments = list(line.render(self.app.console))
        strip = Strip(segments, line.cell_len).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, self.rich_style).apply_style(self.rich_style)

    def _highlight(self, line: Text, index: int) -> Text:
        needle = self.needle.lower()
        plain = line.plain.lower()
        if needle not in plain:
            return line
        line = line.copy()
        current = self.current >= 0 and self.matches[self.current] == index
        start = plain.find(needle)
        while start != -1:
            line.stylize(CURRENT_MATCH if current else MATCH, start, start + len(needle))
            start = plain.find(needle, start + len(needle))
        return line
