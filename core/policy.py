"""The command policy: which custom commands, working directories and environments Relayboard will run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "fish", "ksh", "csh", "tcsh"})
BLOCKED_COMMANDS = frozenset({"sudo", "su", "doas", "rm", "dd", "mkfs", "shutdown", "reboot", "halt", "poweroff"})
SHELL_METACHARACTERS = frozenset(";|&`$<>(){}\n")
SENSITIVE_DIRS = ("/etc", "/proc", "/sys", "/dev", "/boot", "/root/.ssh")
SENSITIVE_HOME_DIRS = (".ssh", ".gnupg", ".aws", ".config/gcloud", ".kube")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class PolicyViolation(ValueError):
    """A command or path the policy refuses; the message says which rule and is safe to show."""


def check_command(command: str, *, allow_shells: bool = False, allowlist: frozenset[str] = frozenset()) -> list[str]:
    """Split a custom command and refuse what the policy forbids; returns argv."""
    if not command.strip():
        raise PolicyViolation("command is empty")
    bad = sorted(SHELL_METACHARACTERS & set(command))
    if bad and not allow_shells:
        raise PolicyViolation(f"shell metacharacters are not allowed: {' '.join(bad)!r}")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise PolicyViolation(f"command does not parse: {exc}") from None
    program = Path(argv[0]).name
    if program in BLOCKED_COMMANDS:
        raise PolicyViolation(f"{program} is blocked by the command policy")
    if program in SHELLS and not allow_shells:
        raise PolicyViolation(f"{program} is a shell; shells run only through the shell preset")
    if allowlist and program not in allowlist:
        raise PolicyViolation(f"{program} is not in the configured command allowlist")
    return argv


def check_directory(path: str, home: Path | None = None) -> Path:
    """An existing absolute directory outside the sensitive system and credential directories."""
    if path.startswith(("//", "\\\\")):
        raise PolicyViolation("network (UNC) paths are not allowed")
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        raise PolicyViolation("the directory must be an absolute path")
    resolved = candidate.resolve()
    home = (home or Path.home()).resolve()
    sensitive = [Path(d) for d in SENSITIVE_DIRS] + [home / d for d in SENSITIVE_HOME_DIRS]
    for root in sensitive:
        if resolved == root or root in resolved.parents:
            raise PolicyViolation(f"{root} is a sensitive directory")
    if not resolved.is_dir():
        raise PolicyViolation("the directory does not exist")
    return resolved


def check_env(env: dict[str, str]) -> dict[str, str]:
    for name, value in env.items():
        if not ENV_NAME.match(name):
            raise PolicyViolation(f"environment variable name {name!r} is invalid")
        if len(value) > 4096 or "\x00" in value:
            raise PolicyViolation(f"environment variable {name} has an invalid value")
    return env
