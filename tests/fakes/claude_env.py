"""Temp HOMEs and environments that start the real agent CLIs offline, straight to their prompt.

Claude Code (2.1.330) against `tests.fakes.anthropic_server.FakeAnthropic`::

    home = prepare_claude_home(tmp_path / "home", project=tmp_path / "proj")
    env = claude_env(home, base_url=fake.base_url)
    # tmux new-session -e KEY=VALUE ... claude_bin() --permission-mode default

Codex (0.169.0) with an empty CODEX_HOME starts to its real sign-in menu (for Codex offline on a fake model, see
`tests.fakes.codex_offline`)::

    env = codex_env(prepare_codex_home(tmp_path / "codex-home"))

The binaries come from the project-local npm prefix that `tools/agents.sh` fills (`.agents/`, or
``$RELAYBOARD_AGENTS_DIR``); `claude_bin()`/`codex_bin()` raise `AgentsMissing` (with the fix in the message) when it
has not been run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CLAUDE_VERSION = "2.1.330"
CODEX_VERSION = "0.169.0"
# Looks like a real key (Claude Code shows the last 20 characters in its "use this API key?" dialog, which
# `customApiKeyResponses.approved` pre-answers); it is never sent anywhere but the fake.
DUMMY_API_KEY = "sk-ant-api03-relayboard-fake-key-" + "0" * 40 + "-AAAAAA"

# Variables from the caller's environment that must not leak into an offline agent (real keys, proxies, the
# operator's own Claude/Codex configuration, the tmux client we may be running under).
_SCRUB = re.compile(
    r"^(ANTHROPIC_|CLAUDE_|CLAUDECODE$|OPENAI_|CODEX_|AWS_|GOOGLE_|VERTEX|HTTPS?_PROXY$|https?_proxy$|ALL_PROXY$|"
    r"all_proxy$|NO_PROXY$|no_proxy$|TMUX$|TMUX_PANE$|XDG_|NODE_OPTIONS$|DISABLE_|MCP_)"
)


class AgentsMissing(RuntimeError):
    """The agent CLIs are not installed in the project-local prefix."""


def agents_dir() -> Path:
    return Path(os.environ.get("RELAYBOARD_AGENTS_DIR") or REPO_ROOT / ".agents")


def agents_bin_dir() -> Path:
    return agents_dir() / "node_modules" / ".bin"


def _installed(package: str, version: str, binary: str) -> Path:
    manifest = agents_dir() / "node_modules" / package / "package.json"
    path = agents_bin_dir() / binary
    found = None
    if manifest.is_file():
        found = json.loads(manifest.read_text()).get("version")
    if found != version or not os.access(path, os.X_OK):
        what = f"found version {found}" if found else "not installed"
        raise AgentsMissing(
            f"{package}@{version} is required in {agents_dir()} ({what}). Run `tools/agents.sh` first "
            "(the Makefile's test target does); it installs Claude Code and Codex with npm (~770 MB, ~15 s)."
        )
    return path


def claude_bin() -> Path:
    return _installed("@anthropic-ai/claude-code", CLAUDE_VERSION, "claude")


def codex_bin() -> Path:
    return _installed("@openai/codex", CODEX_VERSION, "codex")


def base_env(home: Path) -> dict[str, str]:
    """A clean environment for an agent: the caller's, minus credentials/proxies/agent config, with HOME set."""
    env = {k: v for k, v in os.environ.items() if not _SCRUB.match(k)}
    path = [str(agents_bin_dir())] + [p for p in env.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":") if p]
    env.update(
        HOME=str(home),
        PATH=":".join(dict.fromkeys(path)),
        TERM="xterm-256color",
        COLORTERM="truecolor",
        LANG=env.get("LANG") if "UTF-8" in env.get("LANG", "").upper() else "C.UTF-8",
        # Nothing may reach a real host: no proxy is set, and these tell the CLIs not to try.
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    for name in ("LC_ALL", "PWD", "OLDPWD", "_"):
        env.pop(name, None)
    return env


# ---------------------------------------------------------------------------------------------------- Claude Code


def prepare_claude_home(
    home: Path,
    project: Path,
    *,
    api_key: str = DUMMY_API_KEY,
    extra_config: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> Path:
    """Write `home/.claude.json` (onboarding done, dummy key approved, `project` trusted) and
    `home/.claude/settings.json`. `project` is created; returns `home`."""
    home = Path(home)
    project = Path(project)
    home.mkdir(parents=True, exist_ok=True)
    project.mkdir(parents=True, exist_ok=True)
    project_key = str(project.resolve())
    project_state = {
        "allowedTools": [],
        "mcpContextUris": [],
        "mcpServers": {},
        "enabledMcpjsonServers": [],
        "disabledMcpjsonServers": [],
        "hasTrustDialogAccepted": True,
        "hasCompletedProjectOnboarding": True,
        "projectOnboardingSeenCount": 1,
        "hasClaudeMdExternalIncludesApproved": False,
        "hasClaudeMdExternalIncludesWarningShown": False,
    }
    config: dict[str, Any] = {
        "numStartups": 1,
        "installMethod": "local",
        "autoUpdates": False,
        "theme": "dark",
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": CLAUDE_VERSION,
        "lastReleaseNotesSeen": CLAUDE_VERSION,
        "customApiKeyResponses": {"approved": [api_key[-20:]], "rejected": []},
        "projects": {project_key: project_state},
    }
    if extra_config:
        config.update(extra_config)
    (home / ".claude.json").write_text(json.dumps(config, indent=2))
    claude_dir = home / ".claude"
    claude_dir.mkdir(exist_ok=True)
    (claude_dir / "settings.json").write_text(json.dumps(settings or {}, indent=2))
    return home


def claude_env(home: Path, base_url: str, *, api_key: str = DUMMY_API_KEY) -> dict[str, str]:
    """The environment for `claude` against the fake at `base_url` (see module doc)."""
    env = base_env(home)
    env.update(
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY=api_key,
        DISABLE_TELEMETRY="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_ERROR_REPORTING="1",
        # Otherwise it tries downloads.claude.ai and then `git clone github.com/anthropics/claude-plugins-official`
        # at every start (both fail offline, silently, but it is traffic we do not want).
        CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL="1",
    )
    return env


def claude_projects_dir(home: Path, project: Path) -> Path:
    """Where Claude Code writes the transcripts of sessions started in `project`."""
    return Path(home) / ".claude" / "projects" / encode_project_path(project)


def encode_project_path(project: Path) -> str:
    """Claude Code's directory name for a cwd: every character outside [A-Za-z0-9] becomes '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(Path(project).resolve()))


# ---------------------------------------------------------------------------------------------------- Codex


CODEX_CONFIG = """\
# Written by tests/fakes/claude_env.py. No auth.json: Codex starts to its sign-in menu.
[features]
# Without this, Codex 0.169 starts a managed `codex app-server` daemon (plus a pid-update-loop) that outlives
# the TUI, its tmux pane and the tmux server.
daemon_auto_start = false
in_app_updates = false
"""


def prepare_codex_home(codex_home: Path) -> Path:
    """A CODEX_HOME with no credentials and no daemon auto-start. Returns `codex_home`."""
    codex_home = Path(codex_home)
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(CODEX_CONFIG)
    return codex_home


def codex_env(codex_home: Path, home: Path | None = None) -> dict[str, str]:
    env = base_env(Path(home) if home is not None else Path(codex_home).parent)
    env["CODEX_HOME"] = str(codex_home)
    return env


def which(binary: str, env: dict[str, str]) -> str | None:
    return shutil.which(binary, path=env.get("PATH"))


def leftover_processes(root: Path, grace: float = 0.0) -> list[int]:
    """Pids of live processes whose executable or command line mentions `root` (e.g. a temp HOME): what an agent
    left behind after its tmux server was killed. Linux /proc only; the caller's own pid is excluded. With
    `grace`, keep looking for up to that many seconds until none are left (processes take a moment to exit)."""
    deadline = time.monotonic() + grace
    while True:
        found = _processes_mentioning(root)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _processes_mentioning(root: Path) -> list[int]:
    needle = str(Path(root)).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state in ("Z", "X"):  # already exited, waiting to be reaped
            continue
        try:
            exe = os.readlink(entry / "exe").encode()
        except OSError:
            exe = b""
        if needle in cmdline or needle in exe:
            found.append(int(entry.name))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    """Prepare a home and print `export` lines, for the demo or by hand::

    python -m tests.fakes.anthropic_server --port 8765 &
    eval "$(python -m tests.fakes.claude_env claude --home /tmp/cc-home --project /tmp/cc-home/project \\
        --base-url http://127.0.0.1:8765)"
    cd /tmp/cc-home/project && claude --permission-mode default
    """
    import argparse
    import shlex

    parser = argparse.ArgumentParser(prog="python -m tests.fakes.claude_env", description=main.__doc__)
    parser.add_argument("agent", choices=["claude", "codex"])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--project", type=Path, help="claude: the project to trust (default: <home>/project)")
    parser.add_argument("--base-url", default="http://127.0.0.1:8765", help="claude: the fake Anthropic API")
    args = parser.parse_args(argv)
    if args.agent == "claude":
        home = prepare_claude_home(args.home, args.project or args.home / "project")
        env = claude_env(home, args.base_url)
        keys = [k for k in env if k.startswith(("ANTHROPIC_", "CLAUDE_", "DISABLE_"))]
    else:
        codex_home = prepare_codex_home(args.home / ".codex")
        env = codex_env(codex_home, home=args.home)
        keys = ["CODEX_HOME"]
    for key in ["HOME", "PATH", *keys]:
        print(f"export {key}={shlex.quote(env[key])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
