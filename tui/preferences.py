"""The operator's look and keys: `tui.toml` beside the bench's home (where the TUI runs: a core on another host
does not choose your terminal's colours).

    theme = "relayboard-high-contrast"   # any theme of the command palette's "Change theme"

    [keys]                              # binding id = keys (comma-separated), as posting and Textual name them
    "agents.kill" = "K"
    "queue.approve" = "a,enter"

The theme the operator picks in the palette is written back here. A file that is not valid TOML, a theme that does
not exist, an unknown binding id or two bindings on one key in the same place are `config_invalid` naming what is
wrong; the defaults stay in force (for a bad key entry: every key entry, so no half-applied keymap surprises).
`NO_COLOR` (any value) is honoured by Textual itself: the whole app is drawn in monochrome.

Read without pydantic: this runs before the first frame, and the core's heavy imports load after it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from textual.binding import Binding
from textual.theme import Theme

from core.errors import BenchError

FILE_NAME = "tui.toml"
DEFAULT_THEME = "textual-dark"

# High contrast: pure black and white, saturated accents, nothing at half strength.
HIGH_CONTRAST = Theme(
    name="relayboard-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF00FF",
    warning="#FFAF00",
    error="#FF0000",
    success="#00FF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1C1C1C",
    boost="#262626",
    dark=True,
    text_alpha=1.0,
    luminosity_spread=0.0,
)
# Safe for 256 colours: every colour is one of xterm's 256, so a terminal without true colour shows what was meant
# instead of the nearest match of a shade it lacks (two greys that became one, a cursor the row's colour).
XTERM_256 = Theme(
    name="relayboard-256",
    primary="#0087D7",
    secondary="#5F87AF",
    accent="#D78700",
    warning="#D7AF00",
    error="#D70000",
    success="#5FAF00",
    foreground="#D0D0D0",
    background="#121212",
    surface="#1C1C1C",
    panel="#303030",
    boost="#262626",
    dark=True,
    luminosity_spread=0.0,
)
THEMES = (HIGH_CONTRAST, XTERM_256)


@dataclass
class Preferences:
    path: Path | None
    theme: str = DEFAULT_THEME
    keys: dict[str, str] = field(default_factory=dict)  # the keymap in force (checked)
    wanted_keys: object = field(default_factory=dict)  # the file's [keys], not checked yet
    problems: list[BenchError] = field(default_factory=list)  # each said once, at start

    def save_theme(self, theme: str) -> None:
        """Write the theme back, keeping the key entries (the file is ours: comments are not kept)."""
        self.theme = theme
        if self.path is None:
            return
        lines = [f"theme = {json.dumps(theme)}"]  # a JSON string is a valid TOML basic string
        if self.keys:
            lines += ["", "[keys]", *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(self.keys.items()))]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".toml.tmp")
        temporary.write_text("\n".join(lines) + "\n")
        temporary.replace(self.path)  # never a half-written file after a crash


def load(path: Path | None, known_themes: Iterable[str]) -> Preferences:
    """The preferences in `path` (none: defaults), the theme checked; the keys are checked by `apply_keys` (that
    needs every screen's bindings, so it runs only when the file has keys, and off the event loop)."""
    prefs = Preferences(path)
    if path is None or not path.exists():
        return prefs
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        prefs.problems.append(
            BenchError("config_invalid", f"{FILE_NAME} is not valid TOML ({exc})", details={"path": str(path)})
        )
        return prefs
    for name in sorted(set(data) - {"theme", "keys"}):
        prefs.problems.append(_invalid(path, name, "unknown setting (theme and [keys] are known)"))
    theme = data.get("theme", DEFAULT_THEME)
    if not isinstance(theme, str) or theme not in set(known_themes):
        names = ", ".join(sorted(known_themes))
        prefs.problems.append(_invalid(path, "theme", f"unknown theme {theme!r}; one of: {names}"))
    else:
        prefs.theme = theme
    prefs.wanted_keys = data.get("keys", {})
    return prefs


def apply_keys(prefs: Preferences, scopes: Mapping[str, list[Binding]]) -> BenchError | None:
    """Check the file's keys against `scopes` (every place keys are read: a screen with its widgets and the app's
    global keys): set `prefs.keys`, or return the problem (and keep no key of the file)."""
    try:
        prefs.keys = check_keymap(prefs.wanted_keys, scopes)
    except BenchError as exc:
        exc.details["path"] = str(prefs.path)
        return exc
    return None


def check_keymap(keys: object, scopes: Mapping[str, list[Binding]]) -> dict[str, str]:
    """`keys` as a keymap, or `config_invalid` naming the first entry that is wrong: not a string, an unknown
    binding id, or a key that two bindings would share in one place (the second would never run)."""
    if not isinstance(keys, dict):
        raise BenchError("config_invalid", f"{FILE_NAME}: keys must be a table of binding id = keys", field="keys")
    known = {b.id for bindings in scopes.values() for b in bindings if b.id}
    for binding_id, value in keys.items():
        where = f"keys.{binding_id}"
        if binding_id not in known:
            raise BenchError("config_invalid", f"{FILE_NAME}: {where}: unknown binding id", field=where)
        if not isinstance(value, str) or not [k for k in value.split(",") if k.strip()]:
            message = f"{FILE_NAME}: {where}: keys must be a string such as 'K' or 'a,enter'"
            raise BenchError("config_invalid", message, field=where)
    for scope, bindings in scopes.items():
        taken: dict[str, str] = {}
        for binding in bindings:
            chosen = keys.get(binding.id, binding.key) if binding.id else binding.key
            for key in (k.strip() for k in str(chosen).split(",")):
                mine = binding.id or binding.action
                other = taken.setdefault(key, mine)
                if other != mine:
                    culprit, owner = (mine, other) if mine in keys else (other, mine)
                    raise BenchError(
                        "config_invalid",
                        f"{FILE_NAME}: keys.{culprit}: {key!r} is already {owner} in {scope}",
                        field=f"keys.{culprit}",
                    )
    return {str(k): str(v) for k, v in keys.items()}


def _invalid(path: Path, name: str, why: str) -> BenchError:
    return BenchError("config_invalid", f"{FILE_NAME}: {name}: {why}", field=name, details={"path": str(path)})
