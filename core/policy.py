"""The command policy: which custom commands, working directories and environments Relayboard will run.

One question, `Policy.check(command, cwd, env) -> Verdict`, asked by every caller that starts something (the
launcher today; dev servers and schedules later) and by `app.policy.check` (the launch form, as you type);
`Policy.enforce` is the same question raising `policy_denied`. The rules are data: core/command_policy.toml,
loaded once, extended by config.toml (`Policy.from_settings`). A refusal names the field (`command`, `cwd`, `env`),
a short machine-readable reason and, in the message, the offending program or part.

A custom command is judged as argv (shlex, no shell): control characters and shell metacharacters are refused,
leading NAME=VALUE assignments and wrapper programs (env, nice, timeout, sudo, busybox, npx, uv run, ...) are
peeled until the real program is left, then the deny layer (always) and the allowlist (allowlist-first) judge it.
What runs is argv quoted again (`Verdict.command`), so the shell tmux hands it to expands nothing the policy did
not see. With `allow_shell_commands` a command may be a shell line: every simple command in it is judged the same
way, and command substitution is still refused.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import tempfile
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from core.errors import BenchError
from core.registry import Call
from core.validation import MAX_TEXT, Params
from storage.models import Model

if TYPE_CHECKING:
    from core.config import Settings

POLICY_FILE = Path(__file__).with_name("command_policy.toml")
PolicyField = Literal["command", "cwd", "env"]

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
VERSION_SUFFIX = re.compile(r"(.*?[A-Za-z])[-.]?[0-9]+(?:\.[0-9]+)*")
NUMERIC_OPTION = re.compile(r"-[0-9]+")
# Multi-call binaries pick their behaviour from the name they were run as: a link to one is judged by its own name.
MULTICALL = frozenset({"busybox", "toybox", "coreutils"})
MAX_DEPTH = 3  # sh -c "sh -c '...'" nests; deeper is refused

# Shell mode: the operators of a command line, longest first.
OPERATORS = ("&>>", "<<<", "&&", "||", ";;", "|&", ">>", "<<", ">&", "<&", "&>", ">|", "<>", "|", "&", ";", "<", ">")
OPERATORS += ("(", ")")
SEPARATORS = frozenset({"&&", "||", ";;", "|&", "|", "&", ";", "(", ")"})
KEYWORD_PREFIXES = frozenset({"!", "{", "if", "then", "else", "elif", "do", "while", "until"})
CLOSERS = frozenset({"}", "fi", "done", "esac"})
CD_OPTIONS = frozenset({"-L", "-P", "-e", "-@"})


# -- the answer ---------------------------------------------------------------------------------------------------


class PolicyCheckParams(Params):
    command: str = Field(max_length=MAX_TEXT, description="the custom command, as typed")
    cwd: str | None = Field(default=None, max_length=4096, description="the working directory, if known yet")
    env: dict[str, str] = Field(default_factory=dict, max_length=64)


class PolicyVerdict(Model):
    allowed: bool
    field: PolicyField | None = Field(description="what was refused: command, cwd or env (null when allowed)")
    reason: str | None = Field(description="a short machine-readable reason such as denied_program (null: allowed)")
    message: str
    program: str | None = Field(description="the program judged: the real one after wrappers are peeled")


APP_POLICY_CHECK = Call(
    "app.policy.check",
    PolicyCheckParams,
    PolicyVerdict,
    "Would this command be allowed? (the launch form asks as you type)",
)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    field: PolicyField | None = None
    reason: str | None = None
    message: str = ""
    program: str | None = None
    command: str | None = None  # what to run: argv quoted again (or the shell line as given, in shell mode)
    argv: tuple[str, ...] = ()
    cwd: Path | None = None  # resolved

    def public(self) -> PolicyVerdict:
        return PolicyVerdict(
            allowed=self.allowed, field=self.field, reason=self.reason, message=self.message, program=self.program
        )

    def error(self) -> BenchError:
        details: dict[str, Any] = {"reason": self.reason}
        if self.program is not None:
            details["program"] = self.program
        return BenchError("policy_denied", self.message, field=self.field, details=details)

    def enforce(self) -> Verdict:
        """This verdict, or `policy_denied` {field, reason, program} when it refuses."""
        if not self.allowed:
            raise self.error()
        return self


class Refusal(Exception):
    def __init__(self, field: PolicyField, reason: str, message: str, program: str | None = None) -> None:
        super().__init__(message)
        self.verdict = Verdict(False, field, reason, message, program)


# -- the data -----------------------------------------------------------------------------------------------------


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _known(table: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = set(table) - keys
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")


def _fold(patterns: Iterable[str]) -> tuple[str, ...]:
    return tuple(p.casefold() for p in patterns)


@dataclass(frozen=True)
class DenyFamily:
    family: str
    reason: str
    why: str
    programs: tuple[str, ...]
    shell: bool = False


@dataclass(frozen=True)
class Interpreter:
    name: str
    programs: tuple[str, ...]
    inline: frozenset[str] = frozenset()
    interactive: frozenset[str] = frozenset()
    refused: frozenset[str] = frozenset()
    module: frozenset[str] = frozenset()
    script_options: frozenset[str] = frozenset()
    value_options: frozenset[str] = frozenset()
    inline_subcommands: frozenset[str] = frozenset()
    interactive_subcommands: frozenset[str] = frozenset()
    cluster: bool = False
    script_required: bool = False
    code_first: bool = False


@dataclass(frozen=True)
class Wrapper:
    name: str
    flags: frozenset[str] = frozenset()
    value_options: frozenset[str] = frozenset()
    refused: frozenset[str] = frozenset()
    positionals: tuple[re.Pattern[str], ...] = ()
    assignments: bool = False
    numeric_options: bool = False
    package: bool = False
    script_suffixes: tuple[tuple[str, str], ...] = ()
    shell_string: bool = False


@dataclass(frozen=True)
class PolicyData:
    max_length: int
    metacharacters: tuple[str, ...]
    substitutions: tuple[str, ...]
    glob_characters: tuple[str, ...]
    allow: tuple[str, ...]
    shell_builtins: tuple[str, ...]
    needs_argument: tuple[str, ...]
    deny: tuple[DenyFamily, ...]
    interpreters: tuple[Interpreter, ...]
    options: Mapping[str, tuple[str, ...]]
    wrappers: Mapping[str, Wrapper]  # program -> wrapper
    subcommand_wrappers: Mapping[str, tuple[tuple[tuple[str, ...], Wrapper], ...]]  # program -> (subcommand, wrapper)
    system_dirs: tuple[str, ...]
    credential_dirs: tuple[str, ...]
    env_max_value_bytes: int
    env_max_name_length: int
    env_denied: tuple[str, ...]

    def family(self, name: str) -> DenyFamily:
        return next(f for f in self.deny if f.family == name)


def _interpreter(name: str, table: Mapping[str, Any]) -> Interpreter:
    where = f"interpreters.{name}"
    sets = ("inline", "interactive", "refused", "module", "script_options", "value_options")
    sets += ("inline_subcommands", "interactive_subcommands")
    flags = ("cluster", "script_required", "code_first")
    _known(table, {"programs", *sets, *flags}, where)
    return Interpreter(
        name,
        _fold(_strings(table, "programs", where)),
        **{key: frozenset(_strings(table, key, where)) for key in sets},
        **{key: bool(table.get(key, False)) for key in flags},
    )


def _wrapper(name: str, table: Mapping[str, Any]) -> Wrapper:
    where = f"wrappers.{name}"
    keys = {"flags", "value_options", "refused", "positionals", "assignments", "numeric_options", "package"}
    _known(table, keys | {"script_suffixes", "shell_string"}, where)
    suffixes = table.get("script_suffixes", {})
    if not isinstance(suffixes, dict):
        raise ValueError(f"{where}.script_suffixes must be a table")
    return Wrapper(
        name,
        flags=frozenset(_strings(table, "flags", where)),
        value_options=frozenset(_strings(table, "value_options", where)),
        refused=frozenset(_strings(table, "refused", where)),
        positionals=tuple(re.compile(p) for p in _strings(table, "positionals", where)),
        assignments=bool(table.get("assignments", False)),
        numeric_options=bool(table.get("numeric_options", False)),
        package=bool(table.get("package", False)),
        script_suffixes=tuple((str(k), str(v)) for k, v in suffixes.items()),
        shell_string=bool(table.get("shell_string", False)),
    )


def parse_policy(data: Mapping[str, Any]) -> PolicyData:
    """The policy from its TOML tables; unknown keys are an error (a typo must not silently drop a rule)."""
    _known(data, {"command", "allow", "deny", "interpreters", "options", "wrappers", "cwd", "env"}, "policy")
    command, allow, cwd, env = (data.get(k, {}) for k in ("command", "allow", "cwd", "env"))
    _known(command, {"max_length", "metacharacters", "substitutions", "glob_characters"}, "command")
    _known(allow, {"programs", "shell_builtins", "needs_argument"}, "allow")
    _known(cwd, {"system_dirs", "credential_dirs"}, "cwd")
    _known(env, {"max_value_bytes", "max_name_length", "denied_names"}, "env")
    deny = []
    for table in data.get("deny", []):
        _known(table, {"family", "reason", "why", "programs", "shell"}, "deny")
        deny.append(
            DenyFamily(
                str(table["family"]),
                str(table["reason"]),
                str(table["why"]),
                _fold(_strings(table, "programs", f"deny.{table['family']}")),
                bool(table.get("shell", False)),
            )
        )
    wrappers: dict[str, Wrapper] = {}
    subcommands: dict[str, list[tuple[tuple[str, ...], Wrapper]]] = {}
    for key, table in data.get("wrappers", {}).items():
        program, *sub = key.split()
        wrapper = _wrapper(key, table)
        if sub:
            subcommands.setdefault(program.casefold(), []).append((tuple(sub), wrapper))
        else:
            wrappers[program.casefold()] = wrapper
    options = {}
    for program, table in data.get("options", {}).items():
        _known(table, {"refused"}, f"options.{program}")
        options[program.casefold()] = _strings(table, "refused", f"options.{program}")
    return PolicyData(
        max_length=int(command.get("max_length", 4096)),
        metacharacters=_strings(command, "metacharacters", "command"),
        substitutions=_strings(command, "substitutions", "command"),
        glob_characters=_strings(command, "glob_characters", "command"),
        allow=_fold(_strings(allow, "programs", "allow")),
        shell_builtins=_fold(_strings(allow, "shell_builtins", "allow")),
        needs_argument=_fold(_strings(allow, "needs_argument", "allow")),
        deny=tuple(deny),
        interpreters=tuple(_interpreter(k, v) for k, v in data.get("interpreters", {}).items()),
        options=options,
        wrappers=wrappers,
        subcommand_wrappers={k: tuple(v) for k, v in subcommands.items()},
        system_dirs=_strings(cwd, "system_dirs", "cwd"),
        credential_dirs=_strings(cwd, "credential_dirs", "cwd"),
        env_max_value_bytes=int(env.get("max_value_bytes", 4096)),
        env_max_name_length=int(env.get("max_name_length", 128)),
        env_denied=_fold(_strings(env, "denied_names", "env")),
    )


@functools.cache
def shipped() -> PolicyData:
    """core/command_policy.toml, read once."""
    return parse_policy(tomllib.loads(POLICY_FILE.read_text(encoding="utf-8")))


# -- helpers ------------------------------------------------------------------------------------------------------


def control_character(text: str) -> str | None:
    """The first character that moves the cursor, ends a C string or hides text: C0/C1 controls (\\t \\r \\n NUL),
    DEL, Unicode format characters (zero-width, bidi overrides), line/paragraph separators, and lone surrogates
    (not text at all: no file name or argv can hold one)."""
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            name = "surrogate" if category == "Cs" else unicodedata.name(ch, "control")
            return f"U+{ord(ch):04X} {name}"
    return None


def forms(name: str) -> set[str]:
    """A program name as matched: case-folded, and without a trailing version (python3.12 -> python)."""
    folded = name.casefold()
    found = {folded}
    if (m := VERSION_SUFFIX.fullmatch(folded)) is not None:
        found.add(m[1])
    return found


def matches(name: str, patterns: Iterable[str]) -> bool:
    names = forms(name)
    return any(fnmatchcase(n, p) for p in patterns for n in names)


def basename(word: str) -> str:
    """The program name of a word: /bin/rm, ./rm and ~/bin/rm are rm; `.` stays `.` (the shell's source)."""
    return word.rsplit("/", 1)[-1]


def package_name(spec: str) -> str:
    """`@scope/tool@1.2`, `tool@latest`, `tool==1.0`, `tool[extra]` -> tool (what npx, uvx and pipx run)."""
    name = spec
    if name.startswith("@"):  # @scope/name[@version]
        name = name.split("/", 1)[1] if "/" in name else ""
    return basename(re.split(r"@|==|>=|<=|~=|!=|\[", name, maxsplit=1)[0])


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _contains_parts(path: Path, parts: tuple[str, ...]) -> bool:
    have = path.parts
    return any(have[i : i + len(parts)] == parts for i in range(len(have) - len(parts) + 1))


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


# -- the policy ---------------------------------------------------------------------------------------------------


@dataclass
class _Line:
    """What one command line was found to run."""

    programs: list[str] = dc_field(default_factory=list)


class Policy:
    """The shipped data plus what config.toml adds. Build it once per settings (`from_settings`)."""

    def __init__(
        self,
        data: PolicyData | None = None,
        *,
        command_allowlist: Iterable[str] = (),
        allowed_programs: Iterable[str] = (),
        denied_programs: Iterable[str] = (),
        allowed_env_names: Iterable[str] = (),
        project_roots: Iterable[Path] | None = None,
        allow_shell_commands: bool = False,
        search_path: Iterable[Path] = (),
        home: Path | None = None,
    ) -> None:
        self.data = data or shipped()
        configured = _fold(command_allowlist)
        self.configured_allowlist = bool(configured)
        self.allowlist = (configured or self.data.allow) + _fold(allowed_programs)
        denied = _fold(denied_programs)
        configured_family = DenyFamily("configured", "denied_program", "is denied by denied_programs", denied)
        self.deny = (*self.data.deny, configured_family) if denied else self.data.deny
        self.allowed_env = _fold(allowed_env_names)
        self.shell_mode = allow_shell_commands
        self.home = _resolve(home or Path.home())
        temp = {_resolve(Path(tempfile.gettempdir())), _resolve(Path("/tmp"))}
        self.broad = {Path("/"), self.home, *temp}
        if project_roots is None:
            project_roots = [self.home, Path(tempfile.gettempdir())]
        self.roots = tuple(dict.fromkeys(_resolve(Path(r).expanduser()) for r in project_roots))
        system = [Path(d) for d in self.data.system_dirs]
        self.system_dirs = tuple(dict.fromkeys([*system, *(_resolve(d) for d in system)]))
        self.credential_parts = tuple(tuple(PurePosixPath(d).parts) for d in self.data.credential_dirs)
        extra = [str(p) for p in search_path]
        self.search_path = os.pathsep.join([*extra, os.environ.get("PATH", os.defpath)])
        self.interpreters = {p: i for i in self.data.interpreters for p in i.programs}

    @classmethod
    def from_settings(cls, settings: Settings, data: PolicyData | None = None) -> Policy:
        return cls(
            data,
            command_allowlist=settings.command_allowlist,
            allowed_programs=settings.allowed_programs,
            denied_programs=settings.denied_programs,
            allowed_env_names=settings.allowed_env_names,
            project_roots=settings.project_roots,
            allow_shell_commands=settings.allow_shell_commands,
            search_path=settings.agent_path,
        )

    # -- the one question ---------------------------------------------------------------------------------------

    def check(self, command: str | None, cwd: str | None = None, env: Mapping[str, str] | None = None) -> Verdict:
        """Would this run? `command` None means a trusted preset (only cwd and env are judged); `cwd` None skips the
        directory (the form has not got one yet). Never raises for what it judges: the verdict says."""
        cwd_verdict = self.check_cwd(cwd) if cwd is not None else None
        resolved = cwd_verdict.cwd if cwd_verdict is not None else None
        if command is not None:
            verdict = self.check_command(command, resolved)
            if not verdict.allowed:
                return verdict
        else:
            verdict = Verdict(True, message="a preset: its command is trusted")
        if cwd_verdict is not None and not cwd_verdict.allowed:
            return cwd_verdict
        env_verdict = self.check_env(env or {})
        if not env_verdict.allowed:
            return env_verdict
        return Verdict(
            True,
            message=verdict.message,
            program=verdict.program,
            command=verdict.command,
            argv=verdict.argv,
            cwd=resolved,
        )

    def enforce(self, command: str | None, cwd: str | None = None, env: Mapping[str, str] | None = None) -> Verdict:
        """`check`, raising `policy_denied` {field, reason, program} when it refuses."""
        return self.check(command, cwd, env).enforce()

    # -- command ------------------------------------------------------------------------------------------------

    def check_command(self, command: str, cwd: Path | None = None) -> Verdict:
        try:
            line = _Line()
            run, argv = self._line(command, cwd, 0, line)
        except Refusal as refusal:
            return refusal.verdict
        programs = [p for p in line.programs if p.casefold() not in self.data.shell_builtins] or line.programs
        program = programs[0] if programs else None
        return Verdict(True, message=f"{program} is allowed", program=program, command=run, argv=argv)

    def _line(self, command: str, cwd: Path | None, depth: int, line: _Line) -> tuple[str, tuple[str, ...]]:
        if depth > MAX_DEPTH:
            raise Refusal("command", "unparsable", "the command nests shells too deeply to be judged")
        if not command.strip():
            raise Refusal("command", "empty", "the command is empty")
        if len(command) > self.data.max_length:
            raise Refusal("command", "too_long", f"the command is longer than {self.data.max_length} characters")
        if (bad := control_character(command)) is not None:
            raise Refusal("command", "control_character", f"the command contains a control character ({bad})")
        if self.shell_mode:
            for sub in self.data.substitutions:
                if sub in command:
                    raise Refusal(
                        "command",
                        "substitution",
                        f"{sub} makes words or runs commands that cannot be judged before they run",
                    )
            state = {"cwd": cwd}
            for words in _simple_commands(command):
                line.programs.append(self._words(words, depth, line, state))
            if not line.programs:
                raise Refusal("command", "empty", "the command runs no program")
            return command, ()
        found = [ch for ch in self.data.metacharacters if ch in command]
        if found:
            raise Refusal(
                "command",
                "metacharacter",
                f"shell metacharacters are not allowed: {' '.join(found)} (allow_shell_commands permits shell lines)",
            )
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise Refusal("command", "unparsable", f"the command does not parse: {exc}") from None
        line.programs.append(self._words(argv, depth, line, {"cwd": cwd}))
        return requote(argv), tuple(argv)

    def _words(self, words: list[str], depth: int, line: _Line, state: dict[str, Path | None]) -> str:
        """Judge one simple command (argv); returns the real program's name."""
        i = 0
        while i < len(words) and (m := ASSIGNMENT.fullmatch(words[i])) is not None:
            self._env_pair(m[1], m[2], "command")
            i += 1
        chain: list[str] = []  # the wrappers peeled so far, as named
        package = False  # the last wrapper runs a package (npx): its program word is a package spec
        while True:
            if i >= len(words):
                if chain:
                    raise Refusal(
                        "command", "wrapper_unresolved", f"{chain[-1]} names no program to run", program=chain[-1]
                    )
                raise Refusal("command", "program_unresolved", "the command sets variables but runs no program")
            word = words[i]
            name = self._program_word(word, chain)
            if package:
                name = package_name(word)
                if not name:
                    raise Refusal("command", "wrapper_unresolved", f"{chain[-1]} runs {word!r}, not a package name")
            as_name = name if package else self._as(word, name, state.get("cwd"))
            self._deny(name, name, chain)
            if as_name != name:
                self._deny(as_name, name, chain)
            args = words[i + 1 :]
            folded = as_name.casefold()
            if self.shell_mode and matches(as_name, self.data.family("shells").programs):
                return self._shell(name, args, depth, line)
            if (spec := self.data.wrappers.get(folded)) is not None:
                chain.append(name)
                package = spec.package
                i = self._peel(spec, name, words, i + 1)
                if spec.shell_string and i < len(words):
                    joined = " ".join(words[i:])
                    sub_line = _Line()
                    self._line(joined, state.get("cwd"), depth + 1, sub_line)
                    return sub_line.programs[0]
                continue
            sub = self._subcommand_wrapper(folded, name, args)
            if sub is not None:
                consumed, spec = sub
                chain.append(f"{name} {' '.join(spec.name.split()[1:])}")
                package = spec.package
                i = self._peel(spec, chain[-1], words, i + 1 + consumed)
                for suffix, interpreter in spec.script_suffixes:
                    if i < len(words) and words[i].endswith(suffix):
                        words = [*words[:i], interpreter, *words[i:]]
                        break
                continue
            return self._final(name, as_name, args, state)

    def _program_word(self, word: str, chain: list[str]) -> str:
        after = f"{chain[-1]} is followed by" if chain else "the program is"
        reason = "wrapper_unresolved" if chain else "program_unresolved"
        program = chain[-1] if chain else None
        if word.startswith("-"):
            raise Refusal("command", reason, f"{after} {word!r}, an option Relayboard cannot follow", program)
        if "$" in word or any(ch in word for ch in self.data.glob_characters):
            raise Refusal(
                "command", reason, f"{after} {word!r}, which the shell would expand into another name", program
            )
        name = basename(word)
        if not name:
            raise Refusal("command", reason, f"{after} {word!r}, which names no program", program)
        return name

    def _as(self, word: str, name: str, cwd: Path | None) -> str:
        """The name to judge `word` by: its own, or what it links to when that is a program the policy knows
        (a `claude` that is a link to rm is rm; a busybox applet keeps its name)."""
        try:
            return self._link_target(word, name, cwd)
        except (OSError, ValueError):  # unreadable, too long: judged by its own name
            return name

    def _link_target(self, word: str, name: str, cwd: Path | None) -> str:
        if "/" in word:
            path = Path(os.path.expanduser(word))
            if not path.is_absolute():
                if cwd is None:
                    return name
                path = cwd / path
            found: str | None = str(path)
        else:
            found = shutil.which(word, path=self.search_path)
        if not found:
            return name
        target = basename(os.path.realpath(found))
        if not target or forms(target) & forms(name) or target.casefold() in MULTICALL:
            return name
        folded = target.casefold()
        known = (
            any(matches(target, f.programs) for f in self.deny)
            or folded in self.data.wrappers
            or any(matches(target, [p]) for p in self.interpreters)
        )
        return target if known else name

    def _deny(self, as_name: str, name: str, chain: list[str]) -> None:
        link = f"{name} (a link to {as_name})" if as_name != name else name
        through = f" (run through {', '.join(chain)})" if chain else ""
        for family in self.deny:
            if family.shell and self.shell_mode:
                continue
            if matches(as_name, family.programs):
                raise Refusal("command", family.reason, f"{link} {family.why}{through}", program=name)

    def _subcommand_wrapper(self, folded: str, name: str, args: list[str]) -> tuple[int, Wrapper] | None:
        """`npm exec ...`, `uv run ...`: the subcommand is the first word that is not an option; with options
        before it (which may take values) a wrapper subcommand anywhere later cannot be told apart: refused."""
        table = self.data.subcommand_wrappers.get(folded)
        if not table:
            return None
        first = next((k for k, w in enumerate(args) if not w.startswith("-")), len(args))
        for words, spec in table:
            if tuple(args[first : first + len(words)]) == words:
                return first + len(words), spec
        if first > 0:
            for k in range(len(args)):
                for words, _ in table:
                    if tuple(args[k : k + len(words)]) == words:
                        raise Refusal(
                            "command",
                            "wrapper_unresolved",
                            f"options before `{name} {' '.join(words)}` make its program impossible to tell",
                            program=name,
                        )
        return None

    def _peel(self, spec: Wrapper, name: str, words: list[str], i: int) -> int:
        """Skip a wrapper's options (and NAME=VALUE words, and positionals); returns the index of its program."""

        def unresolved(message: str) -> Refusal:
            return Refusal("command", "wrapper_unresolved", message, program=name)

        n = len(words)
        while i < n:
            w = words[i]
            if w == "--":
                i += 1
                break
            if spec.assignments and (m := ASSIGNMENT.fullmatch(w)) is not None:
                self._env_pair(m[1], m[2], "command")
                i += 1
                continue
            if not w.startswith("-") or (w == "-" and w not in spec.flags):
                break
            long = w.startswith("--")
            key = w.split("=", 1)[0] if long else w
            short_attached = not long and len(w) > 2
            if key in spec.refused or (short_attached and w[:2] in spec.refused):
                raise unresolved(f"{name} {key} hides the program, directory or environment it runs with")
            if key in spec.flags:
                i += 1
            elif key in spec.value_options:
                if long and "=" in w:
                    i += 1
                elif i + 1 >= n:
                    raise unresolved(f"{name} {w} needs a value")
                else:
                    i += 2
            elif short_attached and w[:2] in spec.value_options:
                i += 1  # -n5, -oL
            elif spec.numeric_options and NUMERIC_OPTION.fullmatch(w):
                i += 1  # nice -5
            elif not long and len(w) > 1 and all(f"-{ch}" in spec.flags for ch in w[1:]):
                i += 1  # a cluster of flags: -iv
            else:
                raise unresolved(f"{name} option {w!r} is not one Relayboard can follow")
        for pattern in spec.positionals:
            if i >= n or not pattern.fullmatch(words[i]):
                shown = repr(words[i]) if i < n else "nothing"
                raise unresolved(f"{name} expects an argument before its program, got {shown}")
            i += 1
        return i

    def _shell(self, name: str, args: list[str], depth: int, line: _Line) -> str:
        """allow_shell_commands: a shell may run, and a `-c` string is judged as a command line of its own."""
        inline = False
        k = 0
        while k < len(args):
            w = args[k]
            if w in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
                k += 2
                continue
            if w == "--":
                k += 1
                break
            if w.startswith(("-", "+")) and len(w) > 1:
                if w[0] == "-" and not w.startswith("--") and "c" in w[1:]:
                    inline = True
                k += 1
                continue
            break
        if inline:
            if k >= len(args):
                raise Refusal("command", "unparsable", f"{name} -c has no command", program=name)
            sub_line = _Line()
            self._line(args[k], None, depth + 1, sub_line)
            line.programs.extend(sub_line.programs)
        return name

    def _final(self, name: str, as_name: str, args: list[str], state: dict[str, Path | None]) -> str:
        """The real program (by its name, and by what it links to): interpreters, dangerous options, a needed
        argument, then the allowlist."""
        names = [name] if as_name == name else [name, as_name]
        for program, interpreter in self.interpreters.items():
            if any(matches(n, [program]) for n in names):
                self._interpreter(interpreter, name, args)
                break
        for program, refused in self.data.options.items():
            if any(matches(n, [program]) for n in names):
                for word in args:
                    if self.shell_mode and "$" in word:
                        raise Refusal(
                            "command",
                            "program_unresolved",
                            f"{name} argument {word!r} expands to words the policy cannot see",
                            program=name,
                        )
                    for option in refused:
                        if _uses_option(word, option):
                            raise Refusal(
                                "command",
                                "dangerous_option",
                                f"{name} {option} deletes files or runs other programs",
                                program=name,
                            )
        if self.shell_mode and matches(name, self.data.shell_builtins):
            self._builtin(name.casefold(), args, state)
            return name
        if not args and any(matches(n, self.data.needs_argument) for n in names):
            raise Refusal(
                "command", "subcommand_required", f"{name} needs a subcommand or a script to run", program=name
            )
        if not any(matches(n, self.allowlist) for n in names):
            where = "the configured command_allowlist" if self.configured_allowlist else "the command allowlist"
            raise Refusal(
                "command",
                "not_allowlisted",
                f"{name} is not in {where} (allowed_programs in config.toml adds programs)",
                program=name,
            )
        return name

    def _interpreter(self, interp: Interpreter, name: str, args: list[str]) -> None:
        def refuse(reason: str, what: str) -> Refusal:
            return Refusal("command", reason, f"{name} {what}", program=name)

        def refuse_option(option: str, where: str) -> None:
            """An option (alone, or `where` inside a cluster) that loads code, runs it inline or opens a prompt."""
            if option in interp.refused:
                raise refuse("dangerous_option", f"{option} changes what it loads before the script")
            if option in interp.inline:
                raise refuse("inline_code", f"{option}{where} runs code given on the command line")
            if option in interp.interactive:
                raise refuse("interactive", f"{option}{where} opens an interactive prompt")

        has_script = False
        k = 0
        while k < len(args):
            w = args[k]
            if self.shell_mode and "$" in w:
                raise refuse("program_unresolved", f"argument {w!r} expands to words the policy cannot see")
            if w == "--":
                has_script = k + 1 < len(args)
                break
            if w == "-" and "-" in interp.interactive:
                raise refuse("interactive", "- reads its code from the input")
            if not w.startswith("-") or w == "-":
                if w in interp.inline_subcommands:
                    raise refuse("inline_code", f"{w} runs code given on the command line")
                if w in interp.interactive_subcommands:
                    raise refuse("interactive", f"{w} opens an interactive prompt")
                if interp.code_first and not has_script:
                    raise refuse("inline_code", "takes its program text as the first argument (use -f FILE)")
                has_script = True
                break
            long = w.startswith("--")
            key = w.split("=", 1)[0] if long else w
            refuse_option(key, "")
            if key in interp.module:
                has_script = True
                break
            if key in interp.script_options or key in interp.value_options:
                has_script = has_script or key in interp.script_options
                k += 1 if long and "=" in w else 2
                continue
            if interp.cluster and not long and len(w) > 2:
                done = False
                for pos, ch in enumerate(w[1:], start=1):
                    option = f"-{ch}"
                    refuse_option(option, f" (in {w})")
                    if option in interp.module:
                        has_script = done = True
                        break
                    if option in interp.value_options or option in interp.script_options:
                        has_script = has_script or option in interp.script_options
                        if pos == len(w) - 1:
                            k += 1  # the value is the next word
                        break
                if done:
                    break
            k += 1
        if interp.script_required and not has_script:
            raise refuse("interactive", "without a script opens an interactive prompt")

    def _builtin(self, folded: str, args: list[str], state: dict[str, Path | None]) -> None:
        """Shell mode: `cd DIR` is judged as a working directory, `export NAME=VALUE` as environment."""
        if folded == "export":
            for word in args:
                if (m := ASSIGNMENT.fullmatch(word)) is not None:
                    self._env_pair(m[1], m[2], "command")
            return
        if folded != "cd":
            return
        rest = [w for w in args if w not in CD_OPTIONS]
        target = rest[0] if rest else "~"
        if target == "-" or "$" in target or any(ch in target for ch in self.data.glob_characters):
            raise Refusal("command", "cwd_unresolved", f"cd {target} goes to a directory that cannot be judged")
        path = Path(os.path.expanduser(target))
        base = state.get("cwd")
        if not path.is_absolute():
            if base is None:
                return  # judged again at launch, when the cwd is known
            path = base / path
        verdict = self.check_cwd(str(path))
        if not verdict.allowed:
            raise Refusal("command", verdict.reason or "cwd_sensitive", f"cd: {verdict.message}")
        state["cwd"] = verdict.cwd

    # -- cwd ----------------------------------------------------------------------------------------------------

    def check_cwd(self, raw: str) -> Verdict:
        def refuse(reason: str, message: str) -> Verdict:
            return Verdict(False, "cwd", reason, message)

        if not raw:
            return refuse("cwd_missing", "no working directory given")
        if (bad := control_character(raw)) is not None:
            return refuse("control_character", f"the directory contains a control character ({bad})")
        if raw.startswith(("//", "\\\\", "\\")):
            return refuse("cwd_network", "network (UNC) paths are not allowed")
        try:
            path = Path(raw).expanduser()
        except RuntimeError:
            return refuse("cwd_not_absolute", f"{raw} names a home directory that does not exist")
        if not path.is_absolute():
            return refuse("cwd_not_absolute", "the directory must be an absolute path")
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError, ValueError):
            return refuse("cwd_missing", f"{raw} cannot be resolved (a symlink loop, or a name too long)")
        if resolved in self.broad:
            what = "your home directory" if resolved == self.home else "the root" if resolved == Path("/") else None
            return refuse(
                "cwd_too_broad",
                f"{resolved} is {what or 'the temp directory'} itself: launch in a project directory inside it",
            )
        for parts in self.credential_parts:
            if _contains_parts(resolved, parts):
                return refuse("cwd_sensitive", f"{resolved} is in {'/'.join(parts)}, a credential directory")
        own = resolved != self.home and _inside(resolved, self.home)  # inside the operator's home (root's: /root)
        for system in self.system_dirs:
            if (
                _inside(resolved, system)
                and not own
                and not any(system in root.parents and _inside(resolved, root) for root in self.roots)
            ):
                where = "is" if resolved == system else f"is inside {system},"
                return refuse("cwd_sensitive", f"{resolved} {where} a system directory")
        if not any(_inside(resolved, root) for root in self.roots):
            roots = ", ".join(str(r) for r in self.roots)
            return refuse(
                "cwd_outside_roots",
                f"{resolved} is outside the project roots ({roots}); project_roots in config.toml sets them",
            )
        try:
            is_dir = resolved.is_dir()
        except (OSError, ValueError):
            is_dir = False
        if not is_dir:
            return refuse("cwd_missing", f"{resolved} does not exist or is not a directory")
        return Verdict(True, message=f"{resolved} is allowed", cwd=resolved)

    # -- env ----------------------------------------------------------------------------------------------------

    def check_env(self, env: Mapping[str, str]) -> Verdict:
        try:
            for name, value in env.items():
                self._env_pair(name, value, "env")
        except Refusal as refusal:
            return refusal.verdict
        return Verdict(True, message="the environment is allowed")

    def _env_pair(self, name: str, value: str, where: PolicyField) -> None:
        if len(name) > self.data.env_max_name_length or not ENV_NAME.fullmatch(name):
            raise Refusal(
                where,
                "env_name_invalid",
                f"environment variable name {name!r} is invalid: letters, digits and _, not starting with a digit",
            )
        folded = name.casefold()
        denied = any(fnmatchcase(folded, p) for p in self.data.env_denied)
        if denied and not any(fnmatchcase(folded, p) for p in self.allowed_env):
            raise Refusal(
                where,
                "env_name_denied",
                f"{name} changes what runs (a library, startup file, search path or option string); "
                "allowed_env_names in config.toml permits it",
            )
        # The value is never echoed: it may be a secret. A lone surrogate cannot be passed to a process at all.
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
            raise Refusal(
                where, "env_value_invalid", f"{name}'s value contains a control character (newline, tab, NUL, ...)"
            )
        if len(value.encode("utf-8", "surrogatepass")) > self.data.env_max_value_bytes:
            raise Refusal(
                where, "env_value_invalid", f"{name}'s value is longer than {self.data.env_max_value_bytes} bytes"
            )


def _uses_option(word: str, option: str) -> bool:
    """`find . -delete`, `-delete` inside `{-delete,}`, `--delete=x`, `rsync -ave` (a short option in a cluster)."""
    if word == option or word.startswith(option + "="):
        return True
    if len(option) > 2:
        return option in word
    return not word.startswith("--") and word.startswith("-") and option[1] in word[1:]


def requote(argv: Iterable[str]) -> str:
    """argv as the one command line tmux hands to `sh -c`: every word quoted, so the shell expands nothing the
    policy did not see (a leading NAME=VALUE stays an assignment; a leading ~ is expanded here, as sh would)."""
    out = []
    leading = True
    for word in argv:
        m = ASSIGNMENT.fullmatch(word) if leading else None
        if m is not None:
            out.append(f"{m[1]}={shlex.quote(os.path.expanduser(m[2]))}")
            continue
        leading = False
        out.append(shlex.quote(os.path.expanduser(word) if word.startswith("~") else word))
    return " ".join(out)


# -- shell mode: a command line as simple commands ----------------------------------------------------------------


def _lex(line: str) -> list[tuple[str, bool]]:
    """Words and operators of a POSIX shell line (quotes removed, operators only when unquoted). Brace expansion
    ({a,b}) is refused: bash would turn one word into several the policy did not see."""
    tokens: list[tuple[str, bool]] = []
    word: list[str] = []
    started = False
    i, n = 0, len(line)
    param = 0  # inside ${...}

    def flush() -> None:
        nonlocal started
        if started:
            tokens.append(("".join(word), False))
        word.clear()
        started = False

    while i < n:
        ch = line[i]
        if ch in " \t":
            flush()
            i += 1
        elif ch == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise Refusal("command", "unparsable", "the command does not parse: no closing quotation")
            word.append(line[i + 1 : end])
            started = True
            i = end + 1
        elif ch == '"':
            i += 1
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n and line[i + 1] in '$`"\\':
                    word.append(line[i + 1])
                    i += 2
                else:
                    word.append(line[i])
                    i += 1
            if i >= n:
                raise Refusal("command", "unparsable", "the command does not parse: no closing quotation")
            started = True
            i += 1
        elif ch == "\\":
            if i + 1 >= n:
                raise Refusal("command", "unparsable", "the command does not parse: a trailing backslash")
            word.append(line[i + 1])
            started = True
            i += 2
        elif ch == "$" and line.startswith("${", i):
            param += 1
            word.append("${")
            started = True
            i += 2
        elif ch == "}" and param:
            param -= 1
            word.append(ch)
            i += 1
        elif ch in "{}":
            alone = not started and (i + 1 >= n or line[i + 1] in " \t;&|()<>")
            if not alone:
                raise Refusal("command", "metacharacter", "brace expansion ({...}) cannot be judged")
            word.append(ch)
            started = True
            i += 1
        elif ch in "|&;<>()":
            flush()
            op = next(o for o in OPERATORS if line.startswith(o, i))
            tokens.append((op, True))
            i += len(op)
        else:
            word.append(ch)
            started = True
            i += 1
    flush()
    return tokens


def _simple_commands(line: str) -> list[list[str]]:
    """The argv of every simple command in a shell line: separators split, redirections and their targets (and a
    file descriptor number before them) dropped, leading keywords (if, while, !, {) skipped."""
    commands: list[list[str]] = []
    current: list[str] = []
    tokens = _lex(line)
    k = 0
    while k < len(tokens):
        text, is_op = tokens[k]
        if is_op and text in SEPARATORS:
            commands.append(current)
            current = []
        elif is_op:  # a redirection: its target is a file name, not a program
            if current and current[-1].isdigit():
                current.pop()
            if k + 1 >= len(tokens) or tokens[k + 1][1]:
                raise Refusal("command", "unparsable", f"the redirection {text} has no target")
            k += 1
        else:
            current.append(text)
        k += 1
    commands.append(current)
    simple = []
    for words in commands:
        while words and words[0] in KEYWORD_PREFIXES:
            words = words[1:]
        if words and not all(w in CLOSERS for w in words):
            simple.append(words)
    return simple


# -- for callers that hold settings, not a Policy -----------------------------------------------------------------


def check(
    command: str | None, cwd: str | None = None, env: Mapping[str, str] | None = None, *, settings: Settings
) -> Verdict:
    return Policy.from_settings(settings).check(command, cwd, env)


def enforce(
    command: str | None, cwd: str | None = None, env: Mapping[str, str] | None = None, *, settings: Settings
) -> Verdict:
    return Policy.from_settings(settings).enforce(command, cwd, env)
