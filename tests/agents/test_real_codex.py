"""The real Codex CLI (0.169.0, from `tools/agents.sh`) starts offline, in tmux, to its sign-in menu, and leaves
nothing running once its tmux server is gone (the `tmux` fixture checks; without `daemon_auto_start = false` in
CODEX_HOME/config.toml it would leave a `codex app-server` daemon behind)."""

from __future__ import annotations

import pytest

from tests.fakes.claude_env import codex_env, prepare_codex_home

pytestmark = pytest.mark.slow


def test_codex_starts_to_signin_menu(tmux, codex_path, tmp_path) -> None:
    home = tmp_path / "user"
    project = home / "project"
    project.mkdir(parents=True)
    env = codex_env(prepare_codex_home(home / ".codex"), home=home)
    target = tmux.start("codex", [str(codex_path)], env=env, cwd=project)
    screen = tmux.wait_for(target, "Press enter to continue", timeout=30)
    assert "Welcome to Codex" in screen
    assert "> 1. Sign in with ChatGPT" in screen
    # The npm package's bin is a node launcher that spawns the native binary: tmux reports "node".
    assert tmux.current_command(target) == "node"
    assert not (home / ".codex" / "app-server-daemon" / "daemon.pid").exists()
