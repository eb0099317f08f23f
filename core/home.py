"""Where a Relayboard home is. Kept free of pydantic so the TUI can find its home before loading the core."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "RELAYBOARD_HOME"


def resolve_home(cli_value: str | os.PathLike[str] | None) -> Path:
    """`--home`, else `$RELAYBOARD_HOME`, else the platform data dir."""
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("relayboard", appauthor=False))
