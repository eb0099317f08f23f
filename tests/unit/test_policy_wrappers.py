"""How the policy follows each wrapper's options to the real program: asked for by mutmut's survivors in
Policy._peel (attached short values, long `--opt=value`, flag clusters, a value missing at the end, a positional
missing, refused options attached to their value) and in check_cwd (network paths, a `~user` that does not exist).
Each command is judged twice: wrapping `rm -rf d` (always denied: the judged program must be rm) and wrapping `cat`
(allowlisted here: a wrapper followed correctly must let it through)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from core.policy import Policy

POLICY = Policy(allowed_programs=["cat"], project_roots=[tempfile.gettempdir()])

FOLLOWED = [
    "env -- {}",
    "env - {}",
    "env -i {}",
    "env -iv {}",
    "env -0i {}",
    "env -u FOO {}",
    "env -uFOO {}",
    "env --unset FOO {}",
    "env --unset=FOO {}",
    "env FOO=1 {}",
    "nice {}",
    "nice -5 {}",
    "nice -n 5 {}",
    "nice -n5 {}",
    "nice --adjustment=5 {}",
    "timeout 5 {}",
    "timeout 1.5s {}",
    "timeout -k 5 10 {}",
    "timeout -k5 10 {}",
    "timeout --kill-after=5 10 {}",
    "timeout --preserve-status -s KILL 10 {}",
    "stdbuf -oL {}",
    "stdbuf -o L -e 0 {}",
    "nohup {}",
    "setsid -f {}",
    "command {}",
    "command -p {}",
    "exec -a name {}",
    "builtin {}",
    "env nice timeout 5 nohup {}",
]

UNRESOLVED = [
    ("env -S 'rm x'", "env"),
    ("env -Sfoo", "env"),
    ("env --split-string=rm", "env"),
    ("env -C /tmp cat", "env"),
    ("env --chdir=/tmp cat", "env"),
    ("env -Cx cat", "env"),
    ("env -ix cat", "env"),  # a cluster with a flag env does not have
    ("env -u", "env"),  # a value option with no value
    ("timeout -k", "timeout"),
    ("timeout cat", "timeout"),  # the duration is missing
    ("timeout", "timeout"),
    ("ionice -p 1 cat", "ionice"),
    ("ionice -p1 cat", "ionice"),
    ("nice --frobnicate cat", "nice"),
]


@pytest.mark.parametrize("shape", FOLLOWED)
def test_a_wrapped_rm_is_judged_as_rm(shape: str) -> None:
    verdict = POLICY.check(shape.format("rm -rf d"))
    assert (verdict.allowed, verdict.reason, verdict.program) == (False, "denied_program", "rm")


@pytest.mark.parametrize("shape", FOLLOWED)
def test_a_wrapped_allowed_program_is_allowed(shape: str) -> None:
    verdict = POLICY.check(shape.format("cat notes.txt"))
    assert verdict.allowed, verdict
    assert verdict.program == "cat"


@pytest.mark.parametrize(("command", "wrapper"), UNRESOLVED)
def test_options_the_policy_cannot_follow_are_refused_naming_the_wrapper(command: str, wrapper: str) -> None:
    verdict = POLICY.check(command)
    assert (verdict.allowed, verdict.field, verdict.reason, verdict.program) == (
        False,
        "command",
        "wrapper_unresolved",
        wrapper,
    )


@pytest.mark.parametrize("cwd", ["//server/share", "\\\\server\\share", "\\share"])
def test_network_paths_are_refused(cwd: str) -> None:
    verdict = POLICY.check(None, cwd)
    assert (verdict.allowed, verdict.field, verdict.reason) == (False, "cwd", "cwd_network")


def test_a_home_of_a_user_that_does_not_exist_is_refused() -> None:
    verdict = POLICY.check(None, "~no-such-user-relayboard/project")
    assert (verdict.allowed, verdict.field, verdict.reason) == (False, "cwd", "cwd_not_absolute")
    assert "home directory that does not exist" in verdict.message


def test_home_root_and_temp_themselves_are_refused_by_name(tmp_path: Path) -> None:
    home = Policy(project_roots=[tmp_path], home=tmp_path)
    assert "your home directory itself" in home.check(None, str(tmp_path)).message
    root = Policy(project_roots=[Path("/")])
    assert "the root itself" in root.check(None, "/").message
    temp = Policy(project_roots=[Path(tempfile.gettempdir())])
    assert "the temp directory itself" in temp.check(None, tempfile.gettempdir()).message


def test_a_relative_link_to_rm_in_the_working_directory_is_judged_as_rm(tmp_path: Path) -> None:
    """check() must hand the resolved cwd to the command check: `./build` there links to rm (a mutant that dropped
    the cwd let it through under its own, allowlisted, name)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "build").symlink_to("/bin/rm")
    policy = Policy(allowed_programs=["build"], project_roots=[tmp_path])
    verdict = policy.check("./build -rf src", str(project))
    assert (verdict.allowed, verdict.reason, verdict.program) == (False, "denied_program", "build")
    assert "rm" in verdict.message


INTERPRETERS = Policy(
    allowed_programs=["python3", "node", "perl", "awk", "deno", "php", "ruby", "lua"],
    project_roots=[tempfile.gettempdir()],
)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("python3 script.py", None),
        ("python3 -- script.py", None),
        ("python3 --", "interactive"),  # `--` and nothing after it: the prompt
        ("python3", "interactive"),
        ("python3 -", "interactive"),
        ("python3 -c 'x'", "inline_code"),
        ("python3 -ic x", "interactive"),  # a cluster: -i first
        ("python3 -uc x", "inline_code"),  # a cluster: -c inside
        ("python3 -Wignore script.py", None),
        ("python3 -W ignore script.py", None),
        ("python3 -m http.server", None),
        ("node --env-file=.env app.js", "dangerous_option"),  # long option with its value attached
        ("node --require=x app.js", None),
        ("node -r x app.js", None),
        ("node --eval=x", "inline_code"),
        ("node -pe 1", "inline_code"),
        ("deno run x.ts", None),
        ("deno eval x", "inline_code"),
        ("deno repl", "interactive"),
        ("awk -f prog.awk f", None),
        ("awk --file=prog.awk f", None),
        ("awk -F: -f p.awk f", None),
        ("perl -e 1", "inline_code"),
        ("perl -d x.pl", "interactive"),
        ("perl -Ilib x.pl", None),
        ("php -d x=1 a.php", "dangerous_option"),
        ("php -f a.php", None),
        ("ruby -e 1", "inline_code"),
        ("lua -", "interactive"),
        ("lua x.lua", None),
    ],
)
def test_interpreters_run_scripts_never_code_from_the_command_line(command: str, reason: str | None) -> None:
    verdict = INTERPRETERS.check(command)
    assert (verdict.allowed, verdict.reason) == (reason is None, reason), verdict
