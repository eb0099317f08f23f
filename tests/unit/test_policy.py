"""The command policy as a function (core/policy.py over core/command_policy.toml): what it refuses, with which
reason, what it lets through as which real program, the cwd and env rules, and what config.toml adds.

Every row of the tables names its exact `reason`, so a deny-list entry, a wrapper or an allowlist entry deleted
from the data is noticed: the row then meets a different reason (usually `not_allowlisted`)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core import policy as policy_module
from core.config import Settings, default_project_roots, load_settings
from core.errors import BenchError
from core.policy import Policy, parse_policy, requote, shipped

# -- commands the policy refuses ------------------------------------------------------------------------------------
# (command, reason, program named in the verdict and its message; None when the refusal is not about a program)
REFUSED: list[tuple[str, str, str | None]] = [
    # the black-box campaign's bypasses: assignments and wrappers in front of rm
    ("X=1 rm -rf DIR", "denied_program", "rm"),
    ("env rm -rf DIR", "denied_program", "rm"),
    ("nice rm -rf DIR", "denied_program", "rm"),
    ("nice -n 5 rm -rf DIR", "denied_program", "rm"),
    ("timeout 5 rm -rf DIR", "denied_program", "rm"),
    ("command rm -rf DIR", "denied_program", "rm"),
    ("exec rm -rf DIR", "denied_program", "rm"),
    ("eval rm -rf DIR", "inline_code", "eval"),
    ("find DIR -delete", "dangerous_option", "find"),
    ("find . -execdir rm -rf +", "dangerous_option", "find"),
    ("find . -ok rm +", "dangerous_option", "find"),
    ("env bash", "shell", "bash"),
    ("FOO=1 bash", "shell", "bash"),
    ("rbash", "shell", "rbash"),
    ("tmux new-window", "terminal", "tmux"),
    ("mkfs.ext4 /dev/x", "denied_program", "mkfs.ext4"),
    ("claude\r", "control_character", None),
    ("claude\t--help", "control_character", None),
    ("claude\x00", "control_character", None),
    ("claude\x7f", "control_character", None),
    ("claude\x85", "control_character", None),  # C1 next line
    ("claude\u200b --help", "control_character", None),  # zero-width space
    ("claude \u202erm", "control_character", None),  # right-to-left override
    ("claude\u2028rm", "control_character", None),  # line separator
    ("rm\t-rf DIR", "control_character", None),
    # quoting and path tricks
    ("'r''m' -rf DIR", "denied_program", "rm"),
    ('"rm" -rf DIR', "denied_program", "rm"),
    ("r\\m -rf DIR", "denied_program", "rm"),
    ("\\rm -rf DIR", "denied_program", "rm"),
    ("/bin/rm -rf DIR", "denied_program", "rm"),
    ("./rm -rf DIR", "denied_program", "rm"),
    ("../../usr/bin/rm -rf DIR", "denied_program", "rm"),
    ("~/bin/rm -rf DIR", "denied_program", "rm"),
    ("RM -rf DIR", "denied_program", "RM"),  # case-insensitive filesystems run rm
    ("rm2 -rf DIR", "denied_program", "rm2"),  # a version suffix is not a new program
    ("\uff52\uff4d -rf DIR", "not_allowlisted", "\uff52\uff4d"),  # fullwidth lookalike
    ("r\u043c -rf DIR", "not_allowlisted", "r\u043c"),  # Cyrillic em
    # wrappers, stacked and with their options
    ("env -i bash", "shell", "bash"),
    ("nice -n 5 timeout 5 env X=1 rm -rf DIR", "denied_program", "rm"),
    ("timeout --signal=KILL -k 1 5s env -u HOME nice -5 rm x", "denied_program", "rm"),
    ("ionice -c 3 -n 7 rm x", "denied_program", "rm"),
    ("stdbuf -oL -e 0 rm x", "denied_program", "rm"),
    ("nohup rm x", "denied_program", "rm"),
    ("setsid -w rm x", "denied_program", "rm"),
    ("chrt -o 0 rm x", "denied_program", "rm"),
    ("taskset -c 0 rm x", "denied_program", "rm"),
    ("time -p rm x", "denied_program", "rm"),
    ("strace -f -o trace.log rm x", "denied_program", "rm"),
    ("unbuffer rm x", "denied_program", "rm"),
    ("flock /tmp/x.lock rm x", "denied_program", "rm"),
    ("busybox rm -rf DIR", "denied_program", "rm"),
    ("busybox sh", "shell", "sh"),
    ("builtin eval x", "inline_code", "eval"),
    ("watch 'rm -rf DIR'", "denied_program", "rm"),
    ("watch -n 1 rm x", "denied_program", "rm"),
    ("npm exec -- rm -rf DIR", "denied_program", "rm"),
    ("npm --yes exec rm x", "denied_program", "rm"),
    ("uv run rm -rf DIR", "denied_program", "rm"),
    ("uvx --from rm rm", "denied_program", "rm"),
    ("uv run python -c pass", "inline_code", "python"),
    ("npx rimraf DIR", "not_allowlisted", "rimraf"),
    ("pnpm dlx rimraf DIR", "not_allowlisted", "rimraf"),
    ("sudo -u x rm -rf DIR", "denied_program", "sudo"),
    ("doas rm x", "denied_program", "doas"),
    ("su -c id root", "denied_program", "su"),
    ("pkexec rm x", "denied_program", "pkexec"),
    ("chroot / sh", "denied_program", "chroot"),
    ("xargs rm", "denied_program", "xargs"),
    ("parallel rm ::: a", "denied_program", "parallel"),
    # wrappers whose real program cannot be determined
    ("env -S 'rm -rf DIR'", "wrapper_unresolved", "env"),
    ("env -C /etc claude", "wrapper_unresolved", "env"),
    ("env", "wrapper_unresolved", "env"),
    ("timeout 5", "wrapper_unresolved", "timeout"),
    ("timeout rm -rf DIR", "wrapper_unresolved", "timeout"),  # rm is no duration
    ("flock x.lock -c 'rm x'", "wrapper_unresolved", "flock"),
    ("nice --frobnicate rm", "wrapper_unresolved", "nice"),
    ("strace -p 1", "wrapper_unresolved", "strace"),
    ("npx -c 'rm -rf DIR'", "wrapper_unresolved", "npx"),
    ("npm --prefix /x exec rm", "wrapper_unresolved", "npm"),
    ("uv run --directory /etc claude", "wrapper_unresolved", "uv run"),
    # shells, only through the shell preset
    ("sh", "shell", "sh"),
    ("bash -lc 'echo hi'", "shell", "bash"),
    ("/usr/bin/zsh", "shell", "zsh"),
    ("dash -c x", "shell", "dash"),
    ("fish", "shell", "fish"),
    ("ksh", "shell", "ksh"),
    ("csh", "shell", "csh"),
    ("tcsh", "shell", "tcsh"),
    ("ash", "shell", "ash"),
    ("mksh", "shell", "mksh"),
    ("pwsh", "shell", "pwsh"),
    ("bash5.2", "shell", "bash5.2"),
    # terminals and multiplexers that open shells
    ("script -qc sh", "terminal", "script"),
    ("screen -dmS x", "terminal", "screen"),
    ("expect x.exp", "terminal", "expect"),
    ("zellij", "terminal", "zellij"),
    ("ssh host", "terminal", "ssh"),
    ("socat - exec:sh", "terminal", "socat"),
    # interpreters running code given on the command line, or a prompt
    ("python3 -c 'import os'", "inline_code", "python3"),
    ("python -Ic pass", "inline_code", "python"),
    ("python3", "interactive", "python3"),
    ("python3 -", "interactive", "python3"),
    ("python3 -i agent.py", "interactive", "python3"),
    ("node -e 1", "inline_code", "node"),
    ("node --eval=1", "inline_code", "node"),
    ("node -pe 1", "inline_code", "node"),
    ("node", "interactive", "node"),
    ("node --env-file=.env app.js", "dangerous_option", "node"),
    ("perl -e 1", "inline_code", "perl"),
    ("perl -lne 1 notes.txt", "inline_code", "perl"),
    ("ruby -e 1", "inline_code", "ruby"),
    ("php -r 1", "inline_code", "php"),
    ("awk BEGIN notes.txt", "inline_code", "awk"),
    ("deno eval 1", "inline_code", "deno"),
    ("lua -e x", "inline_code", "lua"),
    ("bun -e 1", "inline_code", "bun"),
    ("ipython", "interactive", "ipython"),
    # destructive programs
    ("dd if=/dev/zero of=x", "denied_program", "dd"),
    ("shred x", "denied_program", "shred"),
    ("unlink x", "denied_program", "unlink"),
    ("truncate -s 0 x", "denied_program", "truncate"),
    ("wipefs -a /dev/x", "denied_program", "wipefs"),
    ("fdisk /dev/x", "denied_program", "fdisk"),
    ("sfdisk /dev/x", "denied_program", "sfdisk"),
    ("parted /dev/x", "denied_program", "parted"),
    ("fsck.ext4 /dev/x", "denied_program", "fsck.ext4"),
    ("mke2fs /dev/x", "denied_program", "mke2fs"),
    ("mkswap /dev/x", "denied_program", "mkswap"),
    ("blkdiscard /dev/x", "denied_program", "blkdiscard"),
    ("shutdown now", "denied_program", "shutdown"),
    ("reboot", "denied_program", "reboot"),
    ("halt", "denied_program", "halt"),
    ("poweroff", "denied_program", "poweroff"),
    ("init 0", "denied_program", "init"),
    ("systemctl poweroff", "denied_program", "systemctl"),
    ("kill -9 -1", "denied_program", "kill"),
    ("pkill claude", "denied_program", "pkill"),
    ("killall claude", "denied_program", "killall"),
    ("chmod -R 000 x", "denied_program", "chmod"),
    ("chown me x", "denied_program", "chown"),
    ("crontab -r", "denied_program", "crontab"),
    # the text itself
    ("", "empty", None),
    ("   ", "empty", None),
    ("claude " + "x" * 5000, "too_long", None),
    ("claude; rm -rf DIR", "metacharacter", None),
    ("claude | sh", "metacharacter", None),
    ("claude && rm x", "metacharacter", None),
    ("claude > f", "metacharacter", None),
    ("claude &", "metacharacter", None),
    ("echo $(rm -rf DIR)", "metacharacter", None),
    ("echo `rm`", "metacharacter", None),
    ("{rm,-rf,DIR}", "metacharacter", None),
    ("(rm x)", "metacharacter", None),
    ("claude 'unclosed", "unparsable", None),
    # program words the shell would turn into another program
    ("/bin/r? -rf DIR", "program_unresolved", None),
    ("r* DIR", "program_unresolved", None),
    ("'' DIR", "program_unresolved", None),
    ("-rf DIR", "program_unresolved", None),
    ("X=1", "program_unresolved", None),
    # environment set on the command line
    ("LD_PRELOAD=/x.so claude", "env_name_denied", None),
    ("env PATH=/tmp/evil claude", "env_name_denied", None),
    ("env BASH_ENV=/tmp/x claude", "env_name_denied", None),
    ("1X=1 claude", "not_allowlisted", "1X=1"),
    # allowlist-first
    ("vim notes.txt", "not_allowlisted", "vim"),
    ("curl http://example.com", "not_allowlisted", "curl"),
    ("cd /etc", "not_allowlisted", "cd"),
    ("npm", "subcommand_required", "npm"),
]

# (command, the real program after peeling)
ALLOWED: list[tuple[str, str]] = [
    ("claude", "claude"),
    ("claude --permission-mode default", "claude"),
    ("codex --full-auto", "codex"),
    ("aider --model sonnet", "aider"),
    ("sleep 300", "sleep"),
    ("tail -f log.txt", "tail"),
    ("/usr/local/bin/claude", "claude"),
    ("python3 agent.py --flag", "python3"),
    ("python3 -m pytest -q", "python3"),
    ("python3 -u -W ignore script.py", "python3"),
    ("python3.12 agent.py", "python3.12"),
    ("node --require ./hook.js app.js", "node"),
    ("deno run main.ts", "deno"),
    ("npm run dev", "npm"),
    ("npm test", "npm"),
    ("pnpm install", "pnpm"),
    ("yarn build", "yarn"),
    ("npx prettier --check .", "prettier"),
    ("npx -y @scope/vitest@1.2 run", "vitest"),
    ("pytest -q tests", "pytest"),
    ("cargo test", "cargo"),
    ("go test ./...", "go"),
    ("make -j4 test", "make"),
    ("uv run pytest -q", "pytest"),
    ("uv run script.py", "python"),
    ("uv sync", "uv"),
    ("uvx ruff check", "ruff"),
    ("env FOO=1 claude", "claude"),
    ("FOO=bar claude", "claude"),
    ("env -i HOME=/tmp/h claude", "claude"),
    ("nice -n 5 timeout 5m env -u X claude", "claude"),
    ("nice -5 claude", "claude"),
    ("timeout --signal=TERM 1h codex", "codex"),
    ("nohup sleep 10", "sleep"),
    ("stdbuf -oL pytest", "pytest"),
    ("ionice -c 3 make", "make"),
    ("setsid -w claude", "claude"),
    ("time -p make", "make"),
    ("command claude", "claude"),
    ("exec claude", "claude"),
    ("flock /tmp/x.lock make", "make"),
    ("taskset -c 0-3 make", "make"),
    ("chrt -b 0 make", "make"),
    ("watch -n 5 make test", "make"),
    ("busybox sleep 5", "sleep"),
]


@pytest.fixture
def policy() -> Policy:
    return Policy()


@pytest.mark.parametrize(("command", "reason", "program"), REFUSED, ids=[repr(c[0])[:60] for c in REFUSED])
def test_refused(policy: Policy, command: str, reason: str, program: str | None) -> None:
    verdict = policy.check_command(command)
    assert (verdict.allowed, verdict.field, verdict.reason) == (False, "command", reason), verdict.message
    assert verdict.program == program
    assert verdict.message
    if program is not None:
        assert program in verdict.message


def test_the_refusal_table_is_large_and_covers_every_reason() -> None:
    assert len(REFUSED) >= 60 and len(ALLOWED) >= 15
    reasons = {reason for _, reason, _ in REFUSED}
    assert reasons >= {
        "denied_program",
        "shell",
        "terminal",
        "inline_code",
        "interactive",
        "dangerous_option",
        "wrapper_unresolved",
        "control_character",
        "metacharacter",
        "unparsable",
        "program_unresolved",
        "env_name_denied",
        "not_allowlisted",
        "subcommand_required",
        "empty",
        "too_long",
    }


@pytest.mark.parametrize(("command", "program"), ALLOWED, ids=[c[0] for c in ALLOWED])
def test_allowed(policy: Policy, command: str, program: str) -> None:
    verdict = policy.check_command(command)
    assert (verdict.allowed, verdict.field, verdict.reason, verdict.program) == (True, None, None, program), (
        verdict.message
    )
    assert verdict.command is not None


def test_wrapped_refusals_name_the_wrappers(policy: Policy) -> None:
    verdict = policy.check_command("nice -n 5 timeout 5 env X=1 rm -rf DIR")
    assert verdict.message == "rm destroys files, disks or the running system (run through nice, timeout, env)"
    sudo = policy.check_command("sudo -u x rm -rf DIR")
    assert sudo.message == "sudo runs a program as another user or in another root or namespace"
    env = policy.check_command("env LD_PRELOAD=/x.so claude")
    assert env.message.startswith("LD_PRELOAD changes what runs")


# -- what runs ------------------------------------------------------------------------------------------------------


def test_what_runs_is_argv_quoted_again(policy: Policy) -> None:
    """tmux hands the command to `sh -c`: quoted again, the shell expands nothing the policy did not see."""
    home = str(Path.home())
    cases = {
        "sleep 300": "sleep 300",
        "claude 'fix the bug'": "claude 'fix the bug'",
        "FOO='a b' claude": "FOO='a b' claude",
        "claude --add-dir ~/notes": f"claude --add-dir {home}/notes",
        "python3 x.py '*.txt' ~": f"python3 x.py '*.txt' {home}",
        "env X='a b' claude #x": "env 'X=a b' claude '#x'",
    }
    for command, run in cases.items():
        verdict = policy.check_command(command)
        assert verdict.allowed, verdict.message
        assert verdict.command == run, command
    assert requote(["X=~/a", "claude", "X=1"]) == f"X={home}/a claude X=1"


# -- programs that are links to others ------------------------------------------------------------------------------


def test_a_link_is_judged_by_what_it_runs(tmp_path: Path) -> None:
    rm, env = shutil.which("rm"), shutil.which("env")
    assert rm and env
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "claude").symlink_to(rm)
    (bin_dir / "codex").symlink_to(env)
    fake_busybox = bin_dir / "busybox"
    fake_busybox.write_text("#!/bin/sh\n")
    fake_busybox.chmod(0o755)
    (bin_dir / "sleep").symlink_to(fake_busybox)
    policy = Policy(search_path=[bin_dir])

    by_path = policy.check_command(f"{bin_dir}/claude -rf DIR")
    assert (by_path.reason, by_path.program) == ("denied_program", "claude")
    assert "claude (a link to rm)" in by_path.message
    on_path = policy.check_command("claude -rf DIR")
    assert on_path.reason == "denied_program"
    relative = policy.check_command("bin/claude -rf DIR", cwd=tmp_path)
    assert relative.reason == "denied_program"
    # A link to a wrapper is peeled like the wrapper.
    wrapped = policy.check_command("codex rm -rf DIR")
    assert (wrapped.reason, wrapped.program) == ("denied_program", "rm")
    # A multi-call binary runs the applet it was called as.
    assert policy.check_command(f"{bin_dir}/sleep 5").allowed


# -- shell mode -----------------------------------------------------------------------------------------------------

SHELL_ALLOWED = [
    ("cd sub && make test", "make"),
    ("claude > out.txt 2>&1", "claude"),
    ("bash", "bash"),
    ("bash scripts/run.sh", "bash"),
    ("bash -c 'make test'", "make"),  # the real program
    ("export FOO=1 && claude", "claude"),
    ("if true; then claude; fi", "claude"),
    ("make test || echo failed", "make"),
    ('claude "fix; then test"', "claude"),
]
SHELL_REFUSED = [
    ("make; rm -rf DIR", "denied_program"),
    ("bash -c 'rm -rf DIR'", "denied_program"),
    ("sh -c \"sh -c 'rm -rf DIR'\"", "denied_program"),
    ("echo $(rm -rf DIR)", "substitution"),
    ("echo `id`", "substitution"),
    ("claude <(cat x)", "substitution"),
    ("$'\\x72\\x6d' -rf DIR", "substitution"),
    ("sudo -s; ls", "denied_program"),
    ("cd /etc && claude", "cwd_sensitive"),
    ("cd && claude", "cwd_too_broad"),
    ("cd - && claude", "cwd_unresolved"),
    ("export LD_PRELOAD=/x.so; claude", "env_name_denied"),
    ("{rm,-rf,DIR}", "metacharacter"),
    ("python3 $FLAGS x.py", "program_unresolved"),
    ("$CMD -rf DIR", "program_unresolved"),
    ("claude 'unclosed", "unparsable"),
    ("claude >", "unparsable"),
    ("eval rm", "inline_code"),
    ("claude\nrm -rf DIR", "control_character"),
    ("for f in a; do rm $f; done", "not_allowlisted"),
    ("tmux new-window", "terminal"),
    ('sh -c "sh -c \\"sh -c \'sh -c claude\'\\""', "unparsable"),
]


@pytest.fixture
def shell_policy(tmp_path: Path) -> Policy:
    (tmp_path / "project" / "sub").mkdir(parents=True)
    return Policy(allow_shell_commands=True, project_roots=[tmp_path])


@pytest.mark.parametrize(("command", "program"), SHELL_ALLOWED)
def test_shell_mode_allows_shell_lines(shell_policy: Policy, tmp_path: Path, command: str, program: str) -> None:
    verdict = shell_policy.check(command, str(tmp_path / "project"))
    assert (verdict.allowed, verdict.program) == (True, program), verdict.message
    assert verdict.command == command  # a shell line runs as given


@pytest.mark.parametrize(("command", "reason"), SHELL_REFUSED)
def test_shell_mode_still_judges_every_program(shell_policy: Policy, tmp_path: Path, command: str, reason: str) -> None:
    verdict = shell_policy.check(command, str(tmp_path / "project"))
    assert (verdict.allowed, verdict.field, verdict.reason) == (False, "command", reason), verdict.message


def test_without_shell_mode_shell_lines_are_refused(policy: Policy) -> None:
    for command, _ in SHELL_ALLOWED:
        assert not policy.check_command(command).allowed, command


# -- cwd ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    projects = tmp_path / "projects"
    (projects / "app").mkdir(parents=True)
    return projects


@pytest.fixture
def cwd_policy(roots: Path) -> Policy:
    return Policy(project_roots=[roots, Path.home()])


def _cwd_cases(roots: Path) -> list[tuple[str, str]]:
    home = Path.home()
    (home / ".ssh" / "keys").mkdir(parents=True)
    (home / ".config" / "gcloud").mkdir(parents=True)
    (roots / "app" / ".aws").mkdir()
    (roots / "link-to-etc").symlink_to("/etc")
    (roots / "loop").symlink_to(roots / "loop")
    (roots / "notes.txt").write_text("")
    outside = roots.parent / "elsewhere"
    outside.mkdir()
    return [
        ("/", "cwd_too_broad"),
        (str(home), "cwd_too_broad"),
        ("~", "cwd_too_broad"),
        ("/tmp", "cwd_too_broad"),
        (tempfile.gettempdir(), "cwd_too_broad"),
        ("/root", "cwd_sensitive"),
        ("/var/run", "cwd_sensitive"),
        ("/run", "cwd_sensitive"),
        ("/var", "cwd_sensitive"),
        ("/var/lib", "cwd_sensitive"),
        ("/etc", "cwd_sensitive"),
        ("/etc/ssh", "cwd_sensitive"),
        ("/usr/lib", "cwd_sensitive"),
        ("/bin", "cwd_sensitive"),
        ("/sbin", "cwd_sensitive"),
        ("/lib", "cwd_sensitive"),
        ("/opt", "cwd_sensitive"),
        ("/proc/self", "cwd_sensitive"),
        ("/sys", "cwd_sensitive"),
        ("/dev/shm", "cwd_sensitive"),
        ("/boot", "cwd_sensitive"),
        (str(home / ".ssh" / "keys"), "cwd_sensitive"),
        (str(home / ".config" / "gcloud"), "cwd_sensitive"),
        (str(roots / "app" / ".aws"), "cwd_sensitive"),
        (str(roots / "link-to-etc"), "cwd_sensitive"),
        ("relative/dir", "cwd_not_absolute"),
        ("//fileserver/share", "cwd_network"),
        ("\\\\fileserver\\share", "cwd_network"),
        (str(roots / "missing"), "cwd_missing"),
        (str(roots / "notes.txt"), "cwd_missing"),
        (str(roots / "loop"), "cwd_missing"),
        (str(outside), "cwd_outside_roots"),
        (f"{roots}/app\n", "control_character"),
        ("", "cwd_missing"),
    ]


def test_cwd_refusals(cwd_policy: Policy, roots: Path) -> None:
    for cwd, reason in _cwd_cases(roots):
        verdict = cwd_policy.check_cwd(cwd)
        assert (verdict.allowed, verdict.field, verdict.reason) == (False, "cwd", reason), (cwd, verdict.message)
        assert verdict.message


def test_cwd_messages_name_the_directory(cwd_policy: Policy, roots: Path) -> None:
    assert cwd_policy.check_cwd("/etc").message == "/etc is a system directory"
    assert cwd_policy.check_cwd("/etc/ssh").message == "/etc/ssh is inside /etc, a system directory"
    (Path.home() / ".ssh").mkdir()
    ssh = Path.home().resolve() / ".ssh"
    assert cwd_policy.check_cwd(str(ssh)).message == f"{ssh} is in .ssh, a credential directory"
    outside = cwd_policy.check_cwd(str(roots.parent))
    assert outside.message.startswith(f"{roots.parent.resolve()} is outside the project roots (")


def test_cwd_allowed_inside_the_roots_resolved(cwd_policy: Policy, roots: Path) -> None:
    code = Path.home() / "code" / "app"
    code.mkdir(parents=True)
    (roots / "link-to-app").symlink_to(roots / "app")
    for cwd, resolved in (
        (str(roots / "app"), roots / "app"),
        (str(roots), roots),  # a configured root itself
        (str(code), code),
        ("~/code/app", code),
        (str(roots / "link-to-app"), roots / "app"),
        (f"{roots}/app/../app", roots / "app"),
    ):
        verdict = cwd_policy.check_cwd(cwd)
        assert (verdict.allowed, verdict.cwd) == (True, resolved.resolve()), (cwd, verdict.message)


def test_default_roots_are_the_home_and_the_temp_dir(tmp_path: Path) -> None:
    policy = Policy()
    inside_home = Path.home() / "project"
    inside_home.mkdir()
    assert policy.check_cwd(str(inside_home)).allowed
    assert policy.check_cwd(str(tmp_path)).allowed  # pytest's tmp_path is in the temp dir
    assert Settings().project_roots == [Path.home(), Path(tempfile.gettempdir())] == default_project_roots()
    assert Policy.from_settings(Settings()).check_cwd(str(tmp_path)).allowed


def test_a_root_deeper_inside_a_system_dir_opens_only_that_root() -> None:
    policy = Policy(project_roots=[Path("/var/relayboard-test-www")])
    # Not refused as a system directory (the root is deeper than /var): it just does not exist.
    assert policy.check_cwd("/var/relayboard-test-www/site").reason == "cwd_missing"
    assert policy.check_cwd("/var/lib").reason == "cwd_sensitive"
    assert Policy(project_roots=[Path("/var")]).check_cwd("/var/lib").reason == "cwd_sensitive"


# -- env ------------------------------------------------------------------------------------------------------------

DENIED_ENV = [
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "ld_preload",
    "DYLD_INSERT_LIBRARIES",
    "BASH_ENV",
    "ENV",
    "PROMPT_COMMAND",
    "PS4",
    "PYTHONSTARTUP",
    "PYTHONPATH",
    "PYTHONHOME",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PERL5OPT",
    "PERL5LIB",
    "RUBYOPT",
    "GIT_SSH_COMMAND",
    "GIT_CONFIG_COUNT",
    "PATH",
    "IFS",
    "SHELLOPTS",
    "BASHOPTS",
    "GCONV_PATH",
    "JAVA_TOOL_OPTIONS",
    "ZDOTDIR",
]


@pytest.mark.parametrize("name", DENIED_ENV)
def test_env_names_that_change_what_runs_are_refused(policy: Policy, name: str) -> None:
    verdict = policy.check_env({"OK": "1", name: "x"})
    assert (verdict.allowed, verdict.field, verdict.reason) == (False, "env", "env_name_denied")
    assert verdict.message.startswith(f"{name} changes what runs")


@pytest.mark.parametrize("name", ["1BAD", "BAD-NAME", "", "A B", "\u00c9T\u00c9", "A\n", "X" * 129, "A=B"])
def test_env_names_must_be_identifiers(policy: Policy, name: str) -> None:
    verdict = policy.check_env({name: "x"})
    assert (verdict.allowed, verdict.reason) == (False, "env_name_invalid")


@pytest.mark.parametrize(
    "value", ["a\nb", "a\rb", "a\x00b", "a\tb", "\x1b[31m", "a\x85b", "a\x7f", "x" * 4097, "\u00e9" * 2049]
)
def test_env_values_refuse_controls_and_size(policy: Policy, value: str) -> None:
    verdict = policy.check_env({"TOKEN": value})
    assert (verdict.allowed, verdict.field, verdict.reason) == (False, "env", "env_value_invalid")
    assert value not in verdict.message  # a value may be a secret: never echoed


def test_env_allowed(policy: Policy) -> None:
    env = {"API_TOKEN": "tok", "HOME": "/tmp/h", "BIG": "x" * 4096, "TEXT": "h\u00e9llo w\u00f6rld", "_X1": ""}
    assert policy.check_env(env).allowed


def test_allowed_env_names_lift_the_deny_list() -> None:
    policy = Policy(allowed_env_names=["PATH", "LD_*"])
    assert policy.check_env({"PATH": "/x", "LD_PRELOAD": "/y", "ld_library_path": "/z"}).allowed
    assert policy.check_command("PATH=/x claude").allowed
    assert policy.check_env({"PYTHONPATH": "/x"}).reason == "env_name_denied"
    assert policy.check_env({"PATH": "a\nb"}).reason == "env_value_invalid"  # values are still judged


# -- the whole question ---------------------------------------------------------------------------------------------


def test_check_judges_command_then_cwd_then_env(tmp_path: Path) -> None:
    policy = Policy(project_roots=[tmp_path])
    work = tmp_path / "work"
    work.mkdir()
    ok = policy.check("claude --help", str(work), {"API_TOKEN": "x"})
    assert (ok.allowed, ok.program, ok.cwd, ok.command) == (True, "claude", work.resolve(), "claude --help")
    assert policy.check("rm x", "/etc", {"PATH": "x"}).field == "command"
    assert policy.check("claude", "/etc", {"PATH": "x"}).field == "cwd"
    assert policy.check("claude", str(work), {"PATH": "x"}).field == "env"
    preset = policy.check(None, str(work), {})
    assert (preset.allowed, preset.program, preset.cwd) == (True, None, work.resolve())
    assert policy.check(None, "/", {}).reason == "cwd_too_broad"  # presets are trusted, their cwd is not
    assert policy.check("claude").allowed  # no cwd yet: the form asks as you type


def test_enforce_raises_policy_denied_with_the_details(tmp_path: Path) -> None:
    policy = Policy(project_roots=[tmp_path])
    with pytest.raises(BenchError) as caught:
        policy.enforce("X=1 rm -rf DIR", str(tmp_path))
    error = caught.value
    assert error.code == "policy_denied"
    assert error.details == {"reason": "denied_program", "program": "rm", "field": "command"}
    assert error.message == "rm destroys files, disks or the running system"
    with pytest.raises(BenchError) as cwd_error:
        policy.enforce(None, "/")
    assert cwd_error.value.details == {"reason": "cwd_too_broad", "field": "cwd"}
    assert policy.enforce("claude", str(tmp_path)).cwd == tmp_path.resolve()  # a configured root is a project


def test_verdicts_as_the_call_answers_them() -> None:
    refused = Policy().check_command("env rm -rf DIR").public()
    assert refused.model_dump() == {
        "allowed": False,
        "field": "command",
        "reason": "denied_program",
        "message": "rm destroys files, disks or the running system (run through env)",
        "program": "rm",
    }
    allowed = Policy().check_command("timeout 5 claude").public()
    assert allowed.model_dump() == {
        "allowed": True,
        "field": None,
        "reason": None,
        "message": "claude is allowed",
        "program": "claude",
    }


def test_module_functions_take_settings(tmp_path: Path) -> None:
    settings = Settings(project_roots=[tmp_path / "w"])
    assert policy_module.check("claude", str(tmp_path), settings=settings).reason == "cwd_outside_roots"
    work = tmp_path / "w"
    work.mkdir()
    assert policy_module.enforce("claude", str(work), settings=settings).program == "claude"
    with pytest.raises(BenchError):
        policy_module.enforce("rm x", str(work), settings=settings)


# -- what config.toml adds ------------------------------------------------------------------------------------------


def test_command_allowlist_replaces_the_shipped_one_and_the_deny_layer_stays() -> None:
    policy = Policy.from_settings(Settings(command_allowlist=["sleep", "mytool-*"]))
    assert policy.check_command("sleep 1").allowed
    assert policy.check_command("timeout 5 sleep 1").program == "sleep"
    assert policy.check_command("mytool-dev --x").allowed
    claude = policy.check_command("claude")
    assert (claude.reason, claude.message) == (
        "not_allowlisted",
        "claude is not in the configured command_allowlist (allowed_programs in config.toml adds programs)",
    )
    assert policy.check_command("rm x").reason == "denied_program"


def test_allowed_programs_extend_and_the_deny_layer_stays() -> None:
    policy = Policy.from_settings(Settings(allowed_programs=["terraform", "find", "perl", "bash"]))
    assert policy.check_command("terraform plan").allowed
    assert policy.check_command("claude").allowed
    assert policy.check_command("find . -name '*.py'").allowed
    assert policy.check_command("find . -delete").reason == "dangerous_option"
    assert policy.check_command("perl script.pl").allowed
    assert policy.check_command("perl -e 1").reason == "inline_code"
    assert policy.check_command("bash").reason == "shell"  # allowlisting a shell does not make it one


def test_denied_programs_extend_the_deny_list() -> None:
    policy = Policy.from_settings(Settings(denied_programs=["claude", "ollama*"]))
    claude = policy.check_command("env claude")
    assert claude.reason == "denied_program"
    assert claude.message == "claude is denied by denied_programs (run through env)"
    assert policy.check_command("ollama-serve").reason == "denied_program"
    assert policy.check_command("codex").allowed


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ('project_roots = ["relative/dir"]', "project_roots.0"),
        ('project_roots = ["/"]', "project_roots.0"),
        ('project_roots = ["~/code", "x"]', "project_roots.1"),
        ('allowed_env_names = ["1BAD"]', "allowed_env_names.0"),
        ('allowed_env_names = ["A-B"]', "allowed_env_names.0"),
        ('denied_programs = ["rm -rf"]', "denied_programs.0"),
        ('allowed_programs = ["/usr/bin/x"]', "allowed_programs.0"),
        ('command_allowlist = [""]', "command_allowlist.0"),
        ("allowed_programs = 3", "allowed_programs"),
    ],
)
def test_bad_policy_settings_are_config_invalid_with_the_field(tmp_path: Path, toml: str, field: str) -> None:
    (tmp_path / "config.toml").write_text(toml + "\n")
    with pytest.raises(BenchError) as caught:
        load_settings(tmp_path)
    assert (caught.value.code, caught.value.details["field"]) == ("config_invalid", field)


def test_policy_settings_from_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        'project_roots = ["~/code", "/srv/projects"]\nallowed_env_names = ["PATH", "LD_*"]\n'
        'allowed_programs = ["terraform"]\ndenied_programs = ["codex"]\nallow_shell_commands = true\n'
    )
    settings = load_settings(tmp_path)
    assert settings.project_roots == [Path.home() / "code", Path("/srv/projects")]
    policy = Policy.from_settings(settings)
    assert policy.roots == ((Path.home() / "code").resolve(), Path("/srv/projects"))
    assert policy.check_command("terraform plan && claude").allowed
    assert policy.check_command("codex").reason == "denied_program"


# -- the data -------------------------------------------------------------------------------------------------------

# What each family must hold (a deleted entry fails here and in the tables above).
MUST_DENY = {
    "destructive": {"rm", "dd", "mkfs", "mkfs.*", "fsck.*", "shred", "wipefs", "fdisk", "sfdisk", "parted"},
    "privilege": {"sudo", "su", "doas", "pkexec"},
    "input_runners": {"xargs"},
    "shell_code": {"eval", "source", "."},
    "shells": {"sh", "bash", "rbash", "zsh", "dash", "fish", "ksh", "csh", "tcsh"},
    "terminals": {"tmux", "screen", "script", "expect"},
}
MUST_WRAP = {"env", "nice", "ionice", "timeout", "nohup", "stdbuf", "setsid", "chrt", "taskset", "command", "exec"}
MUST_WRAP |= {"builtin", "time", "strace", "unbuffer", "flock", "busybox", "npx", "watch"}
MUST_DENY_ENV = {"ld_*", "dyld_*", "bash_env", "env", "prompt_command", "ps4", "pythonstartup", "pythonpath"}
MUST_DENY_ENV |= {"pythonhome", "node_options", "node_path", "perl5opt", "perl5lib", "rubyopt", "git_ssh_command"}
MUST_DENY_ENV |= {"path", "ifs", "shellopts", "bashopts", "gconv_path"}


def test_the_shipped_data_holds_every_family() -> None:
    data = shipped()
    assert shipped() is data  # loaded once
    for family, names in MUST_DENY.items():
        assert names <= set(data.family(family).programs), family
    assert MUST_WRAP <= set(data.wrappers)
    assert {"exec", "x"} <= {sub[0] for sub, _ in data.subcommand_wrappers["npm"]}
    assert MUST_DENY_ENV <= set(data.env_denied)
    assert {"claude", "codex", "aider", "python", "node", "npm", "pytest", "cargo", "go", "make", "uv"} <= set(
        data.allow
    )
    assert {"/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var", "/usr", "/run"} <= set(data.system_dirs)
    assert {".ssh", ".gnupg", ".aws", ".config/gcloud", ".kube", ".docker"} <= set(data.credential_dirs)


def _example(pattern: str) -> str:
    return pattern.replace("*", "x")


def test_every_shipped_deny_entry_is_refused_with_its_family_reason(policy: Policy) -> None:
    data = shipped()
    for family in data.deny:
        for pattern in family.programs:
            verdict = policy.check_command(f"{_example(pattern)} x")
            assert (verdict.allowed, verdict.reason) == (False, family.reason), (family.family, pattern)


def test_every_shipped_allowlist_entry_runs_with_an_argument(policy: Policy) -> None:
    for program in shipped().allow:
        verdict = policy.check_command(f"{program} x.py")
        assert verdict.allowed, (program, verdict.message)


def test_every_wrapper_is_peeled(policy: Policy) -> None:
    data = shipped()
    needs = {"timeout": "5 ", "chrt": "0 ", "taskset": "1 ", "flock": "x.lock "}
    for name in data.wrappers:
        verdict = policy.check_command(f"{name} {needs.get(name, '')}rm -rf DIR")
        assert (verdict.reason, verdict.program) == ("denied_program", "rm"), (name, verdict.message)
    for program, table in data.subcommand_wrappers.items():
        for words, _ in table:
            verdict = policy.check_command(f"{program} {' '.join(words)} rm -rf DIR")
            assert (verdict.reason, verdict.program) == ("denied_program", "rm"), (program, words, verdict.message)


def test_a_typo_in_the_policy_data_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        parse_policy({"wrappers": {"env": {"flag": ["-i"]}}})
    with pytest.raises(ValueError, match="unknown keys"):
        parse_policy({"deny": [{"family": "x", "reason": "r", "why": "w", "program": ["rm"]}]})
    with pytest.raises(ValueError, match="list of strings"):
        parse_policy({"allow": {"programs": "claude"}})


def test_the_policy_file_is_package_data() -> None:
    assert policy_module.POLICY_FILE.name == "command_policy.toml"
    assert policy_module.POLICY_FILE.parent == Path(policy_module.__file__).parent


# -- it answers whatever it is asked --------------------------------------------------------------------------------

WORDS = ["rm", "-rf", "env", "X=1", "nice", "-n", "5", "timeout", "bash", "-c", "python3", "claude", "npx", "uv"]
WORDS += ["run", "exec", "--", "'", '"', "\\", ";", "&&", "$(", "`", "{", "}", "~", "/", ".", "..", "*", "\x00"]
WORDS += ["\ud800", "\u202e", "\n", "busybox", "find", "-delete", "cd", "sh", "watch", "export", "LD_PRELOAD=x"]
LINES = st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=10).map(" ".join)
PATHS = st.none() | st.sampled_from(["/", "/tmp", "~", "/etc", "//x", "rel"]) | st.text(max_size=300)
ENVS = st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3)


@pytest.mark.parametrize("shell_mode", [False, True], ids=["argv", "shell"])
@given(command=LINES | st.text(), cwd=PATHS, env=ENVS)
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_policy_always_answers(shell_mode: bool, command: str, cwd: str | None, env: dict[str, str]) -> None:
    verdict = Policy(allow_shell_commands=shell_mode).check(command, cwd, env)
    assert verdict.allowed in (True, False)
    if verdict.allowed:
        assert verdict.reason is None and verdict.field is None
        if cwd is not None:
            assert verdict.cwd is not None and verdict.cwd.is_dir()
    else:
        assert verdict.reason and verdict.field in ("command", "cwd", "env") and verdict.message
    verdict.public()  # always a valid call result


def test_the_operators_own_home_is_never_a_system_directory(tmp_path: Path) -> None:
    """root's home is /root: its projects are launchable, /root itself and its credentials are not, and another
    user's /root still is a system directory."""
    import os

    if not Path("/root").is_dir() or not os.access("/root", os.W_OK):
        pytest.skip("needs a writable /root (the suite runs as root in CI)")
    project = Path("/root") / f"rb-policy-test-{os.getpid()}"
    project.mkdir(exist_ok=True)
    try:
        as_root = Policy(home=Path("/root"), project_roots=[Path("/root")])
        assert as_root.check_cwd(str(project)).allowed
        assert as_root.check_cwd("/root").reason == "cwd_too_broad"
        other = Policy(home=tmp_path, project_roots=[tmp_path])
        assert other.check_cwd(str(project)).reason == "cwd_sensitive"
    finally:
        project.rmdir()
