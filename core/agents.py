"""Agents: tmux panes adopted under a name and role, plus the pane inventory they are adopted from."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from core.context import Context
from core.errors import BenchError
from core.lists import ListParams, ListResult, ListSpec, run_list
from core.prompts import SCREEN_LINES as PROMPT_LINES
from core.prompts import AgentPrompt, recognise
from core.registry import Call
from core.terminal_text import plain
from core.tmux import PaneScanner, ScanStatus
from core.validation import SQLITE_INT_MAX, AgentName, Label, NonEmptyLabel, Params, parse
from storage import agents as repo
from storage import routes as routes_repo
from storage.models import ROLES, Agent, AgentKind, Model, Pane, Role


def _role_alias(value: Any) -> Any:
    return "worker" if value == "slave" else value


InputRole = Annotated[Role, BeforeValidator(_role_alias)]
_ROLE_ORDER = "CASE role " + " ".join(f"WHEN '{r}' THEN {i}" for i, r in enumerate(ROLES, 1)) + " END"
AGENT_LIST_SPEC = ListSpec(
    table="agents",
    orders={
        "name": "name",
        "role": _ROLE_ORDER,
        "state": "state",
        "created_at": "created_at",
        "last_activity_at": "last_activity_at",
    },
    default_order="role:asc",
    filters=frozenset({"role", "state", "kind", "name", "managed", "session_name"}),
    tiebreak=("name",),
)
PANE_LIST_SPEC = ListSpec(
    table="pane_rows",
    orders={"alive": "alive", "session_name": "session_name", "last_seen": "last_seen"},
    default_order="alive:desc",
    filters=frozenset({"alive", "session_name", "agent_id", "current_command"}),
    tiebreak=("session_name:asc", "window_index:asc", "pane_index:asc", "pane_id:asc"),
)
PANE_SEEN_SECONDS = 30.0
MAX_CAPTURE_LINES = 10_000  # the focus view's scrollback (tmux keeps 2,000 by default: history-limit)
WATCHED_LINES = 40  # lines of each pane the watcher captures; previews of up to this many lines reuse them
PREVIEW_PANE_AGE = 5.0  # a preview may use a scan this old to find its pane
KIND_BY_COMMAND = {
    "claude": "claude",
    "codex": "codex",
    "bash": "shell",
    "zsh": "shell",
    "sh": "shell",
    "fish": "shell",
    "dash": "shell",
}


def pane_of(agent: Agent, live: dict[str, Pane]) -> Pane | None:
    """The agent's pane in a scan, if it is still the same pane: pane ids restart at %0 with every tmux server, so
    an id alone could point at somebody else's pane after a restart. The session must match too."""
    pane = live.get(agent.pane_id or "")
    if pane is None or (agent.session_name is not None and pane.session_name != agent.session_name):
        return None
    return pane


def agent_in_pane(pane: Pane, now: str, **fields: Any) -> Agent:
    """A new agent sitting in `pane`: adopted, or launched (then `fields` also holds managed, command, …)."""
    return Agent(
        agent_id=uuid.uuid4().hex[:12],
        socket=pane.socket,
        pane_id=pane.pane_id,
        session_name=pane.session_name,
        window_index=pane.window_index,
        pane_index=pane.pane_index,
        created_at=now,
        updated_at=now,
        **fields,
    )


def guess_kind(command: str) -> AgentKind:
    base = command.rsplit("/", 1)[-1].lower()
    if base in KIND_BY_COMMAND:
        return KIND_BY_COMMAND[base]  # type: ignore[return-value]
    if "claude" in base:
        return "claude"
    if "codex" in base:
        return "codex"
    return "other"


class IdParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)


PANE_ID = r"^%[0-9]{1,20}$"  # ASCII digits only (\d would take any script's digits)


class RegisterParams(Params):
    pane_id: str = Field(pattern=PANE_ID)
    session_name: str = Field(min_length=1, max_length=256)
    window_index: int = Field(ge=0, le=SQLITE_INT_MAX)
    pane_index: int = Field(ge=0, le=SQLITE_INT_MAX)
    socket: str | None = Field(default=None, max_length=128)
    name: AgentName
    role: InputRole = "worker"
    capability: Label = ""
    kind: AgentKind | None = None
    label: Label = ""
    project_path: Label = ""


class UpdateParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)
    expected_version: int | None = Field(default=None, ge=1, le=SQLITE_INT_MAX)
    name: AgentName | None = None
    role: InputRole | None = None
    # Not clearable (CONTRACTS.md): when given, capability must be non-empty; label and project_path clear on "".
    capability: NonEmptyLabel | None = None
    kind: AgentKind | None = None
    label: Label | None = None
    project_path: Label | None = None


class PaneParams(Params):
    pane_id: str = Field(pattern=PANE_ID)
    socket: str | None = Field(default=None, max_length=128)


class CaptureParams(Params):
    agent_id: str = Field(min_length=1, max_length=64)
    lines: int = Field(default=40, ge=1, le=MAX_CAPTURE_LINES, description="the last N lines, scrollback included")
    escapes: bool = Field(default=False, description="keep colours and attributes (SGR escape sequences)")
    prompt: bool = Field(default=False, description="also recognise the prompt the agent waits on (app.agent.prompt)")


class AgentScreen(Model):
    agent_id: str
    pane_id: str
    screen: str
    prompt: AgentPrompt | None = Field(default=None, description="with `prompt`: the prompt it waits on, or null")
    captured_at: str


class ScanParams(Params):
    wait: bool = True


class ScanStatusParams(Params):
    scan_id: str = Field(min_length=1, max_length=64)


PANE_LIST = Call("app.pane.list", ListParams, ListResult[Pane], "tmux panes on the bench's socket, adopted or not.")
PANE_DETAIL = Call("app.pane.detail", PaneParams, Pane, "One pane as the last scan saw it.")
SCAN_PANES = Call(
    "app.scan.panes", ScanParams, ScanStatus, "Scan tmux for panes now (joins a scan in flight).", mutates=True
)
SCAN_STATUS = Call("app.scan.status", ScanStatusParams, ScanStatus, "The state of a scan started with app.scan.panes.")
AGENT_LIST = Call("app.agent.list", ListParams, ListResult[Agent], "Agents with role, kind, state and why.")
AGENT_DETAIL = Call("app.agent.detail", IdParams, Agent, "One agent.")
AGENT_REGISTER = Call(
    "app.agent.register_from_pane", RegisterParams, Agent, "Adopt a tmux pane as an agent.", mutates=True
)
AGENT_UPDATE = Call(
    "app.agent.update",
    UpdateParams,
    Agent,
    "Change an agent's name, role, capability, kind, label or project.",
    mutates=True,
)
AGENT_REMOVE = Call(
    "app.agent.remove",
    IdParams,
    Agent,
    "Unadopt an agent (its pane keeps running; routes naming it are disabled).",
    mutates=True,
)
AGENT_CAPTURE = Call("app.agent.capture", CaptureParams, AgentScreen, "The agent's screen as text (last N lines).")


class Agents:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.scanner = PaneScanner(self._scan_once, ctx.clock)
        self.live: dict[str, Pane] = {}  # pane id -> pane, as the last scan saw it (with live-only fields)
        self._live_at = 0.0  # monotonic time of that scan
        self.live_wall = 0.0  # wall-clock time of that scan
        # The watcher's last capture of each pane it watches, and the scan they are all current for.
        self.screens: dict[str, tuple[int, str]] = {}  # pane id -> (wall-clock second of the capture, screen)
        self.screens_as_of = 0.0
        self._written: tuple[frozenset[tuple[object, ...]], float] = (frozenset(), 0.0)

    # -- panes -------------------------------------------------------------------------------------------
    async def _scan_once(self) -> int:
        now = self.ctx.now()
        started = time.time()
        panes = await self.ctx.tmux.list_panes(now)
        before = {(p.pane_id, p.alive, p.current_command) for p in self.live.values()}
        # Write only what changed (or, at least every PANE_SEEN_SECONDS, to move last_seen): an idle bench
        # scanned every two seconds should not be a stream of identical write transactions.
        shape = frozenset(tuple(p.model_dump(exclude={"first_seen", "last_seen", "activity"}).values()) for p in panes)
        written, written_at = self._written
        if shape != written or time.monotonic() - written_at > PANE_SEEN_SECONDS:
            async with self.ctx.db.write() as w:
                await repo.upsert_panes(w, self.ctx.tmux.socket_label, panes, now)
                live_pairs = [(p.pane_id, p.session_name) for p in panes]
                await repo.release_gone_panes(w, self.ctx.tmux.socket_label, live_pairs)
            self._written = (shape, time.monotonic())
        self.live = {p.pane_id: p for p in panes}
        self._live_at = time.monotonic()
        self.live_wall = started
        if {(p.pane_id, p.alive, p.current_command) for p in panes} != before:
            self.ctx.hub.publish_topic("panes")
        return len(panes)

    async def refresh(self) -> dict[str, Pane]:
        """Scan now (joining a scan in flight) and return the live panes; tmux_unavailable when it is down."""
        status = await self.scanner.request(wait=True)
        if status.state == "failed":
            self.live = {}
            raise BenchError("tmux_unavailable", status.error or "tmux is not reachable")
        return self.live

    async def live_pane(self, agent: Agent, max_age: float | None = None) -> Pane | None:
        """The agent's pane now; with `max_age`, the last scan's view when it is at most that many seconds old
        (previews), otherwise a fresh scan (typing, killing: decisions that need the truth)."""
        if agent.socket not in (None, self.ctx.tmux.socket_label):
            return None
        fresh = max_age is not None and self.live and time.monotonic() - self._live_at <= max_age
        live = self.live if fresh else await self.refresh()
        return pane_of(agent, live)

    @SCAN_PANES.implementation
    async def scan(self, params: ScanParams | dict[str, Any] | None = None) -> ScanStatus:
        p = parse(ScanParams, params)
        return await self.scanner.request(wait=p.wait)

    @SCAN_STATUS.implementation
    async def scan_status(self, params: ScanStatusParams | dict[str, Any]) -> ScanStatus:
        return self.scanner.status(parse(ScanStatusParams, params).scan_id)

    @PANE_LIST.implementation
    async def pane_list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Pane]:
        spec = replace(PANE_LIST_SPEC, fixed={"socket": self.ctx.tmux.socket_label})
        return await run_list(self.ctx.db, spec, parse(ListParams, params), Pane.from_row)

    async def panes(self) -> list[Pane]:
        """Every known pane of this socket (the demo and tests; clients page through app.pane.list)."""
        return await repo.list_panes(self.ctx.db, self.ctx.tmux.socket_label)

    @PANE_DETAIL.implementation
    async def pane_detail(self, params: PaneParams | dict[str, Any]) -> Pane:
        p = parse(PaneParams, params)
        pane = await repo.get_pane(self.ctx.db, p.socket or self.ctx.tmux.socket_label, p.pane_id)
        if pane is None:
            raise BenchError("pane_not_found", f"pane {p.pane_id} is not known", details={"pane_id": p.pane_id})
        return pane

    @AGENT_CAPTURE.implementation
    async def capture(self, params: CaptureParams | dict[str, Any]) -> AgentScreen:
        """The agent's screen as text (last `lines` lines), for previews and scripts."""
        p = parse(CaptureParams, params)
        agent = await self.get(p.agent_id)
        pane = await self.live_pane(agent, max_age=PREVIEW_PANE_AGE)
        if pane is None:
            raise BenchError("pane_not_found", f"{agent.name}'s pane is gone", details={"pane_id": agent.pane_id})
        # While the watcher runs, it has just captured every pane that moved: a preview polling each second reads
        # that instead of starting a tmux client of its own (the screen is at most one watcher tick old).
        # A prompt is looked for on at least the lines app.agent.prompt reads, so both see (and fingerprint) the same.
        lines = max(p.lines, PROMPT_LINES) if p.prompt else p.lines
        watched = self.screens.get(pane.pane_id)
        fresh = self.screens_as_of >= self.live_wall > 0
        if watched is not None and fresh and lines <= WATCHED_LINES and not p.escapes:
            screen = "\n".join(watched[1].splitlines()[-lines:])
        else:
            screen = await self.ctx.tmux.capture(pane.pane_id, lines, escapes=p.escapes)
        prompt = None
        if p.prompt:
            text = plain(screen) if p.escapes else screen
            found = recognise(agent.kind, "\n".join(text.splitlines()[-PROMPT_LINES:]))
            prompt = found.public(pane.pane_id) if found else None
        if lines != p.lines:  # more were read for the prompt than were asked for
            screen = "\n".join(screen.splitlines()[-p.lines :])
        return AgentScreen(
            agent_id=agent.agent_id, pane_id=pane.pane_id, screen=screen, prompt=prompt, captured_at=self.ctx.now()
        )

    # -- agents ------------------------------------------------------------------------------------------
    @AGENT_LIST.implementation
    async def list(self, params: ListParams | dict[str, Any] | None = None) -> ListResult[Agent]:
        return await run_list(self.ctx.db, AGENT_LIST_SPEC, parse(ListParams, params), Agent.from_row)

    async def get(self, agent_id: str) -> Agent:
        agent = await repo.get(self.ctx.db, agent_id)
        if agent is None:
            raise BenchError("agent_not_found", f"no agent {agent_id}", details={"agent_id": agent_id})
        return agent

    @AGENT_DETAIL.implementation
    async def detail(self, params: IdParams | dict[str, Any]) -> Agent:
        return await self.get(parse(IdParams, params).agent_id)

    @AGENT_REGISTER.implementation
    async def register_from_pane(self, params: RegisterParams | dict[str, Any]) -> Agent:
        p = parse(RegisterParams, params)
        socket = p.socket or self.ctx.tmux.socket_label
        pane = await repo.get_pane(self.ctx.db, socket, p.pane_id)
        identity = (p.session_name, p.window_index, p.pane_index)
        if pane is None or not pane.alive or identity != (pane.session_name, pane.window_index, pane.pane_index):
            raise BenchError(
                "pane_not_found",
                f"pane {p.pane_id} not found in {p.session_name}:{p.window_index}.{p.pane_index}; scan again",
                details={"pane_id": p.pane_id},
            )
        agent = agent_in_pane(
            pane,
            self.ctx.now(),
            name=p.name,
            role=p.role,
            capability=p.capability,
            kind=p.kind or guess_kind(pane.current_command),
            label=p.label,
            project_path=p.project_path,
        )
        async with self.ctx.db.write() as w:
            existing = await repo.get_by_pane(w, socket, pane.pane_id)
            if existing is not None:
                raise BenchError(
                    "pane_already_registered",
                    f"pane {pane.pane_id} is already agent {existing.name}",
                    details={"agent_id": existing.agent_id},
                )
            if await w.fetchone("SELECT 1 FROM agents WHERE name = ?", (p.name,)):
                raise BenchError("validation_failed", f"an agent named {p.name!r} exists", field="name")
            await repo.insert(w, agent)
            event = await self.ctx.recorder.stage(
                w,
                "agent_registered",
                f"registered {agent.name} ({agent.role}) from {pane.pane_id}",
                {"name": agent.name, "role": agent.role, "kind": agent.kind, "pane_id": pane.pane_id},
                agent_id=agent.agent_id,
            )
        self.ctx.recorder.committed(event)
        return agent

    @AGENT_UPDATE.implementation
    async def update(self, params: UpdateParams | dict[str, Any]) -> Agent:
        p = parse(UpdateParams, params)
        changes = p.model_dump(exclude={"agent_id", "expected_version"}, exclude_none=True)
        async with self.ctx.db.write() as w:
            row = await w.fetchone("SELECT * FROM agents WHERE agent_id = ?", (p.agent_id,))
            if row is None:
                raise BenchError("agent_not_found", f"no agent {p.agent_id}", details={"agent_id": p.agent_id})
            current = Agent.from_row(row)
            if p.expected_version is not None and p.expected_version != current.version:
                raise BenchError(
                    "stale_object",
                    f"agent {current.name} is at version {current.version}, not {p.expected_version}",
                    details={"version": current.version},
                )
            if (
                "name" in changes
                and changes["name"] != current.name
                and await w.fetchone("SELECT 1 FROM agents WHERE name = ?", (changes["name"],))
            ):
                raise BenchError("validation_failed", f"an agent named {changes['name']!r} exists", field="name")
            if changes:
                await repo.update(w, p.agent_id, changes, self.ctx.now())
            event = await self.ctx.recorder.stage(
                w,
                "agent_updated",
                f"updated {current.name}: {', '.join(sorted(changes)) or 'no change'}",
                {"changes": changes},
                agent_id=p.agent_id,
            )
        self.ctx.recorder.committed(event)
        return await self.get(p.agent_id)

    @AGENT_REMOVE.implementation
    async def remove(self, params: IdParams | dict[str, Any]) -> Agent:
        """Unadopt: the agent row goes, the tmux pane is left running. Routes that name the agent (as source or
        target) are disabled, each with an event, and keep their matcher: a route never widens to "any source"
        or loses its target as a side effect."""
        p = parse(IdParams, params)
        agent = await self.get(p.agent_id)
        async with self.ctx.db.write() as w:
            events = []
            for route in await routes_repo.naming_agent(w, agent.agent_id):
                role = "source" if route.source_agent_id == agent.agent_id else "target"
                if route.enabled:
                    await routes_repo.update(w, route.route_id, {"enabled": False}, self.ctx.now())
                events.append(
                    await self.ctx.recorder.stage(
                        w,
                        "route_updated",
                        f"disabled route {route.name}: its {role} agent {agent.name} was removed",
                        {"route_id": route.route_id, "changes": {"enabled": False}, "reason": f"{role}_removed"},
                    )
                )
            await repo.delete(w, agent.agent_id)
            events.append(
                await self.ctx.recorder.stage(
                    w, "agent_removed", f"removed {agent.name}", {"name": agent.name}, agent_id=agent.agent_id
                )
            )
        self.ctx.recorder.committed(*events)
        return agent
