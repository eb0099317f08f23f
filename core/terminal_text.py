"""Terminal output as text: which bytes are escapes and what a screen makes of them. One definition for the log
viewer (colours kept, everything else dropped, carriage returns applied) and for prompt recognition on captures
taken with escapes (everything dropped)."""

from __future__ import annotations

import re

ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erase
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, links (tmux -e emits OSC 8 from 3.4), clipboard
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]"  # controls but tab, newline, carriage return and ESC
)
SGR = re.compile(r"\x1b\[[0-9;:]*m")


def plain(text: str) -> str:
    """`text` without any escape or control sequence: a capture taken with escapes as the plain text the prompt
    shapes are written for."""
    return ESCAPES.sub("", text)


def readable(raw: str) -> str:
    """Terminal output as a viewer can show it line by line: colours (SGR) kept, every other escape dropped, and a
    carriage return rewinding the line as the screen would."""
    lines = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        kept = ESCAPES.sub(lambda m: m.group(0) if SGR.fullmatch(m.group(0)) else "", line)
        if "\r" in kept:
            kept = kept.rsplit("\r", 1)[-1] or kept.replace("\r", "")
        lines.append(kept)
    return "\n".join(lines)
