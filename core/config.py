"""Settings: one typed model, read from `<home>/config.toml` (or `$RELAYBOARD_CONFIG`), defaults from the
platform. Holds no secrets, only names and paths."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import BenchError
from core.home import HOME_ENV as HOME_ENV
from core.home import resolve_home as resolve_home

CONFIG_ENV = "RELAYBOARD_CONFIG"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tmux_socket: str | None = Field(
        default=None, description="tmux -L socket name; None means the operator's default server"
    )
    tmux_binary: str = "tmux"
    journal_mode: Literal["auto", "wal", "delete"] = "auto"
    user_id: str = Field(default_factory=lambda: os.environ.get("USER", "operator"))
    project_id: str = ""
    claude_home: Path = Field(default_factory=lambda: Path.home() / ".claude")
    codex_home: Path = Field(default_factory=lambda: Path.home() / ".codex")
    refresh_seconds: float = Field(default=3.0, ge=0.5, le=60)
    watch_seconds: float = Field(default=2.0, ge=0.5, le=60, description="how often agent states are detected")
    presets: dict[str, str] = Field(
        default_factory=lambda: {"claude": "claude", "codex": "codex", "shell": "bash"},
        description="launch presets: name -> command (trusted: not subject to the command policy)",
    )
    agent_path: list[Path] = Field(default_factory=list, description="extra PATH entries for launched agents")
    command_allowlist: list[str] = Field(default_factory=list, description="if set, custom commands must be one of")
    allow_shell_commands: bool = False
    rules_file: Path | None = Field(default=None, description="agent state rules (default: the shipped ones)")


def load_settings(home: Path) -> Settings:
    path = Path(os.environ.get(CONFIG_ENV) or home / "config.toml")
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text())
        return Settings.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError("config_invalid", f"config.toml is not valid TOML ({exc})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise BenchError("config_invalid", f"config.toml: {field}: {first['msg']}", field=field) from exc
