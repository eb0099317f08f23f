"""A CODEX_HOME and environment that run the real Codex CLI (0.169.0) offline, against
`tests.fakes.openai_server.FakeOpenAI`, straight to its prompt.

Codex talks to a custom model provider (``model_provider`` + ``[model_providers.<id>]`` in ``config.toml``) over
the Responses API: ``POST <base_url>/responses``, ``Authorization: Bearer $<env_key>``. With such a provider there
is no ChatGPT sign-in (no ``auth.json`` is written, and nothing is sent to OpenAI); the project is marked trusted
so the "Do you trust this folder?" screen is not shown::

    with FakeOpenAI(script=[...]) as fake:
        offline = prepare_codex_offline(tmp_path / "user", base_url=fake.base_url)
        # tmux new-session -c offline.project -e KEY=VALUE ... codex_bin()
        env = offline.env

``approval_policy = "on-request"`` + ``sandbox_mode = "workspace-write"`` is what Codex picks for a trusted
project by itself: commands run in the sandbox unasked, and a command the model asks to run outside it
(``exec_command`` with ``"sandbox_permissions": "require_escalated"``, see `Reply.exec_command`) makes Codex ask
the operator. ``approval_policy = "untrusted"`` asks for every command not on Codex's read-only list.

Everything lives under one temp root (HOME, CODEX_HOME = HOME/.codex, the project = HOME/project), so the
operator's own ``~/.codex`` is never read and the screens show the project as ``~/project``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.claude_env import CODEX_CONFIG, codex_env, prepare_codex_home

PROVIDER_ID = "relayboard-fake"
# The provider's env_key: a name of our own, because claude_env's scrubbing drops every inherited OPENAI_*/CODEX_*
# variable and a real OPENAI_API_KEY must never be what Codex sends.
KEY_ENV = "RELAYBOARD_FAKE_OPENAI_KEY"
DUMMY_KEY = "sk-relayboard-fake-" + "0" * 32
# The one model in Codex 0.169's bundled catalog (`codex debug models`) that still gets the classic function tools
# (`exec_command` & co. in the request's `tools`); every gpt-6*/gpt-5.6* model is `code_mode_only`, whose only tool
# is a JavaScript `exec` sandbox. An unknown slug would work too but warns "Model metadata … not found" each turn.
DEFAULT_MODEL = "gpt-5.5"
# gpt-5.5 has `upgrade: gpt-6-sol`, so Codex opens "Meet GPT-6 Sol / 1. Try new model / 2. Use existing model" at
# start unless `[notice.model_migrations]` records the answer: what Codex itself writes after "2".
MIGRATION_SEEN = {"gpt-5.5": "gpt-6-sol"}


@dataclass(frozen=True)
class CodexOffline:
    home: Path
    codex_home: Path
    project: Path
    env: dict[str, str]


def _toml_string(value: str) -> str:
    # JSON string escapes are a subset of TOML basic-string escapes.
    return json.dumps(value)


def offline_config(
    base_url: str,
    project: Path,
    *,
    model: str = DEFAULT_MODEL,
    approval_policy: str = "on-request",
    sandbox_mode: str = "workspace-write",
    first_run_notices: bool = False,
    trusted: bool = True,
) -> str:
    """The config.toml text (appended to claude_env's CODEX_CONFIG, which keeps the daemon from starting).
    `first_run_notices` leaves out the "already seen" answers, so Codex shows its model-migration screen;
    `trusted=False` leaves the project's trust undecided (Codex 0.169 still does not ask about it when
    approval_policy and sandbox_mode are set: it starts to its "To get started" tips instead of the logo)."""
    project_key = _toml_string(str(Path(project).resolve()))
    trust = f'[projects.{project_key}]\ntrust_level = "trusted"\n' if trusted else ""
    migrations = ""
    if not first_run_notices:
        pairs = "".join(f"{_toml_string(old)} = {_toml_string(new)}\n" for old, new in MIGRATION_SEEN.items())
        migrations = f"\n[notice.model_migrations]\n{pairs}"
    # Top-level keys must come before the first [table] of CODEX_CONFIG, so they go first.
    return f"""\
# Written by tests/fakes/codex_offline.py: Codex against the local fake OpenAI Responses API, no sign-in.
model = {_toml_string(model)}
model_provider = "{PROVIDER_ID}"
approval_policy = {_toml_string(approval_policy)}
sandbox_mode = {_toml_string(sandbox_mode)}
check_for_update_on_startup = false
# The commands Codex runs get only the basic variables (HOME, PATH, ...), not the dummy key or anything else.
[shell_environment_policy]
inherit = "core"

[model_providers.{PROVIDER_ID}]
name = "Relayboard fake OpenAI"
base_url = {_toml_string(base_url)}
wire_api = "responses"
env_key = "{KEY_ENV}"
# A failed request is a test failure to see at once, not five silent retries with back-off.
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 60000

{trust}
[analytics]
enabled = false

[feedback]
enabled = false

[history]
persistence = "none"

# What Codex itself writes to config.toml once it has shown its first-run notices: not shown again.
[tui]
screen_reader_detection_done = true

[tui.model_availability_nux]
"gpt-6.1-sol" = 1
{migrations}
{CODEX_CONFIG}"""


def prepare_codex_offline(
    root: Path,
    *,
    base_url: str,
    project: Path | None = None,
    model: str = DEFAULT_MODEL,
    approval_policy: str = "on-request",
    sandbox_mode: str = "workspace-write",
    first_run_notices: bool = False,
    trusted: bool = True,
) -> CodexOffline:
    """Create HOME=`root`, CODEX_HOME=`root/.codex` (config.toml pointing at `base_url`) and the project
    (`root/project` unless given); return them with the environment to start `codex` in."""
    home = Path(root)
    project = Path(project) if project is not None else home / "project"
    project.mkdir(parents=True, exist_ok=True)
    codex_home = prepare_codex_home(home / ".codex")
    config = offline_config(
        base_url,
        project,
        model=model,
        approval_policy=approval_policy,
        sandbox_mode=sandbox_mode,
        first_run_notices=first_run_notices,
        trusted=trusted,
    )
    (codex_home / "config.toml").write_text(config)
    env = codex_offline_env(codex_home, home=home)
    return CodexOffline(home=home, codex_home=codex_home, project=project, env=env)


def codex_offline_env(codex_home: Path, *, home: Path) -> dict[str, str]:
    env = codex_env(codex_home, home=home)
    env[KEY_ENV] = DUMMY_KEY
    return env


def main(argv: list[str] | None = None) -> int:
    """Prepare a home and print `export` lines, for the demo or by hand::

    python -m tests.fakes.openai_server --port 8766 &
    eval "$(python -m tests.fakes.codex_offline --home /tmp/cx-home --base-url http://127.0.0.1:8766/v1)"
    cd /tmp/cx-home/project && codex
    """
    import argparse
    import shlex

    parser = argparse.ArgumentParser(prog="python -m tests.fakes.codex_offline", description=main.__doc__)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--base-url", default="http://127.0.0.1:8766/v1", help="the fake OpenAI API (with /v1)")
    parser.add_argument("--approval-policy", default="on-request")
    args = parser.parse_args(argv)
    offline = prepare_codex_offline(args.home, base_url=args.base_url, approval_policy=args.approval_policy)
    for key in ["HOME", "PATH", "CODEX_HOME", KEY_ENV]:
        print(f"export {key}={shlex.quote(offline.env[key])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
