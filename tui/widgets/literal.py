"""Text from agents, panes, files and the operator, shown exactly as it is.

Two things make untrusted text unsafe to draw. Markup: Textual and Rich parse a plain `str` given to a label, a
table cell or a toast as markup, so `[/x]` ends the app with a MarkupError and `[y/N]` vanishes; `Text` is never
parsed. Control characters: neither Rich nor Textual removes ESC, so `\\x1b[31m` in a queue message would reach
the terminal and be obeyed (colours, titles, the clipboard). They are drawn as their Unicode control pictures
(`␛`) instead; tab and newline stay, they are layout.
"""

from __future__ import annotations

from rich.text import Text

_VISIBLE: dict[int, str] = {
    **{code: chr(0x2400 + code) for code in range(0x20) if code not in (0x09, 0x0A)},  # C0: ␀ … ␟
    0x7F: "\u2421",  # ␡
    **{code: f"\\x{code:02x}" for code in range(0x80, 0xA0)},  # C1 (0x9b is CSI): no picture, the escape
}


def printable(value: str) -> str:
    """`value` with every control character but tab and newline replaced by a visible stand-in."""
    return value.translate(_VISIBLE)


def literal(value: str | Text, style: str = "") -> Text:
    """`value` as Text drawn literally: a `str` is never markup and its control characters are visible. A `Text`
    (built by the TUI itself, with its styles) is returned as it is."""
    return value if isinstance(value, Text) else Text(printable(value), style=style)
