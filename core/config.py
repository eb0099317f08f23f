"""Settings: one typed model, read from `<home>/config.toml` (or `$RELAYBOARD_CONFIG`), defaults from the
platform. Holds no secrets, only names and paths."""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from core.errors import BenchError
from core.home import HOME_ENV as HOME_ENV
from core.home import resolve_home as resolve_home

CONFIG_ENV = "RELAYBOARD_CONFIG"
_PROGRAM = re.compile(r"[^\s/\\]{1,128}")  # a basename or a glob of one: no spaces, no directory
_ENV_PATTERN = re.compile(r"[A-Za-z_*][A-Za-z0-9_*]{0,127}")  # an environment variable name or a glob of names


def _program(value: str) -> str:
    if not _PROGRAM.fullmatch(value) or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("a program is a basename or a glob of one (no spaces, no '/')")
    return value


def _env_pattern(value: str) -> str:
    if not _ENV_PATTERN.fullmatch(value):
        raise ValueError("an environment variable name (letters, digits, _) or a glob of names such as LD_*")
    return value


def _project_root(value: Path) -> Path:
    root = value.expanduser()
    if not root.is_absolute():
        raise ValueError("a project root must be an absolute path (or start with ~)")
    if root == Path(root.anchor):
        raise ValueError("/ cannot be a project root: it would hold every directory")
    return root


def default_project_roots() -> list[Path]:
    """Your home directory and the temp directory: a launch may run in any directory inside them (never in either
    itself)."""
    return [Path.home(), Path(tempfile.gettempdir())]


Program = Annotated[str, AfterValidator(_program)]
EnvPattern = Annotated[str, AfterValidator(_env_pattern)]
ProjectRoot = Annotated[Path, AfterValidator(_project_root)]


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
    # The command policy (core/policy.py; the shipped data is core/command_policy.toml). It judges custom commands;
    # the cwd and env rules apply to every launch.
    command_allowlist: list[Program] = Field(
        default_factory=list,
        description="if set, custom commands may run only these programs (basenames or globs, judged after wrappers "
        "such as env or timeout are peeled), instead of the shipped allowlist",
    )
    allowed_programs: list[Program] = Field(
        default_factory=list, description="programs added to the allowlist (the shipped one or command_allowlist)"
    )
    denied_programs: list[Program] = Field(
        default_factory=list, description="programs added to the deny list, which always applies"
    )
    allowed_env_names: list[EnvPattern] = Field(
        default_factory=list,
        description="environment names the policy refuses (PATH, LD_*, PYTHONPATH, ...) that launches may set",
    )
    project_roots: list[ProjectRoot] = Field(
        default_factory=default_project_roots,
        description="a launch cwd must be inside one of these (default: your home and the temp directory, never "
        "either itself); setting it replaces the default",
    )
    allow_shell_commands: bool = Field(
        default=False,
        description="custom commands may be shell command lines (; | && > ...) and shells; every program in them is "
        "still judged",
    )
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
