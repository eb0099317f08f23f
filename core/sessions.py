"""What a socket client has with the core: `app.preflight` (before anything), `app.hello` (a session), and
`app.notice.subscribe` (notices from a spine position).

Sessions live in memory and end with their connection or with the server. Tokens are uuid4s that never reach the
spine, the audit file or the log: only the session id (a counter) is ever written down.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

from pydantic import Field, field_validator

from core.clock import stamp
from core.context import Context
from core.errors import BenchError
from core.notices import TOPICS
from core.registry import Call
from core.validation import SQLITE_INT_MAX, Label, Params, parse
from storage import events as events_repo
from storage import migrations
from storage.models import Event, Model

APP_CONTRACT_MAJOR = 1
APP_CONTRACT_MINOR = 2
APP_CONTRACT_VERSION = f"{APP_CONTRACT_MAJOR}.{APP_CONTRACT_MINOR}"
MAX_SESSIONS = 8
REPLAY_LIMIT = 500  # more missed events than this and the client is told to resync instead
ClientSurface = Literal["tui", "cli", "agent", "scheduler"]


def daemon_version() -> str:
    try:
        return metadata.version("relayboard")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class PreflightParams(Params):
    pass


class Preflight(Model):
    socket_reachable: bool
    daemon_reachable: bool
    code: Literal["ok", "daemon_unavailable", "socket_missing", "socket_permission_denied"]
    # Relayboard additions (a client may show them; `relayboard doctor` does): who serves, and how busy it is.
    pid: int | None = None
    sessions: int | None = None
    max_sessions: int | None = None


class HelloParams(Params):
    client_id: str = Field(min_length=1, max_length=128)
    client_version: str = Field(default="", max_length=64)
    client_app_contract_major: int = Field(default=APP_CONTRACT_MAJOR, ge=1)
    # Relayboard addition: which surface the client is, stamped on every event its calls record.
    surface: ClientSurface = "cli"
    project_id: Label = ""

    @field_validator("client_id", "client_version")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must be printable text")
        return value


class MinorRange(Model):
    min: int
    max: int


class Hello(Model):
    app_session_token: str
    app_session_id: int
    daemon_version: str
    schema_version: int
    app_contract_version: str
    supported_minor_range: MinorRange
    host_user_id: str
    capability_flags: dict[str, bool]
    state: Literal["ok"]


class SubscribeParams(Params):
    topics: list[str] | None = Field(default=None, max_length=len(TOPICS))
    since_seq: int | None = Field(default=None, ge=0, le=SQLITE_INT_MAX)

    @field_validator("topics")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        for topic in value or []:
            if topic not in TOPICS:
                raise ValueError(f"unknown topic {topic!r}; topics: {', '.join(TOPICS)}")
        return value


class Subscribed(Model):
    seq: int  # the spine position notices continue from
    resync: bool  # since_seq was too far behind to replay: reload everything
    replay: int  # how many missed events follow as notices


PREFLIGHT = Call(
    "app.preflight", PreflightParams, Preflight, "Is the core reachable, and who serves it?", session=False
)
HELLO = Call("app.hello", HelloParams, Hello, "Open a session: returns its token.", session=False)
SUBSCRIBE = Call(
    "app.notice.subscribe", SubscribeParams, Subscribed, "Notices by topic, from a spine position (socket clients)."
)


@dataclass(frozen=True)
class Session:
    token: str
    session_id: int
    client_id: str
    surface: ClientSurface
    project_id: str
    opened_at: str


class Sessions:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._active: dict[str, Session] = {}
        self._next_id = 1

    @property
    def count(self) -> int:
        return len(self._active)

    @PREFLIGHT.implementation
    async def preflight(self, params: PreflightParams | dict[str, Any] | None = None) -> Preflight:
        parse(PreflightParams, params)
        return Preflight(
            socket_reachable=True,
            daemon_reachable=True,
            code="ok",
            pid=os.getpid(),
            sessions=self.count,
            max_sessions=MAX_SESSIONS,
        )

    @HELLO.implementation
    async def hello(self, params: HelloParams | dict[str, Any]) -> Hello:
        p = parse(HelloParams, params)
        if p.client_app_contract_major != APP_CONTRACT_MAJOR:
            raise BenchError(
                "app_contract_major_unsupported",
                f"this core speaks app contract {APP_CONTRACT_VERSION}, not major {p.client_app_contract_major}",
                details={
                    "daemon_app_contract_version": APP_CONTRACT_VERSION,
                    "client_app_contract_major": p.client_app_contract_major,
                },
            )
        if self.count >= MAX_SESSIONS:
            raise BenchError(
                "validation_failed",
                f"this core already serves {MAX_SESSIONS} sessions; close one first",
                field="app.hello",
                details={"reason": "too_many_sessions", "max_sessions": MAX_SESSIONS},
            )
        session = Session(
            token=str(uuid.uuid4()),
            session_id=self._next_id,
            client_id=p.client_id,
            surface=p.surface,
            project_id=p.project_id,
            opened_at=stamp(self.ctx.clock.now()),
        )
        self._next_id += 1
        self._active[session.token] = session
        return Hello(
            app_session_token=session.token,
            app_session_id=session.session_id,
            daemon_version=daemon_version(),
            schema_version=migrations.latest_version(),
            app_contract_version=APP_CONTRACT_VERSION,
            supported_minor_range=MinorRange(min=0, max=APP_CONTRACT_MINOR),
            host_user_id=self.ctx.settings.user_id,
            capability_flags={"notices": True, "describe": True},
            state="ok",
        )

    def check(self, token: object) -> Session:
        """The session of `token`, in the contract's gate order: none given → required, not live → expired."""
        if not isinstance(token, str) or not token:
            raise BenchError("app_session_required", "this call needs a session: send app.hello first")
        session = self._active.get(token)
        if session is None:
            # Tokens are uuid4s: a well-formed one we do not hold ended (its connection closed, or this core
            # restarted and forgot it); anything else never was a token.
            if _is_uuid(token):
                raise BenchError("app_session_expired", "the session ended; send app.hello again")
            raise BenchError("app_session_required", "app_session_token is not a session token; send app.hello")
        return session

    def end(self, token: str) -> None:
        self._active.pop(token, None)

    @SUBSCRIBE.implementation
    async def subscribe(self, params: SubscribeParams | dict[str, Any] | None = None) -> Subscribed:
        """Where notices continue from; a socket connection then streams them (core/server.py)."""
        p = parse(SubscribeParams, params)
        missed, resync = await self.missed(p.since_seq, p.topics)
        return Subscribed(seq=self.ctx.hub.last_seq, resync=resync, replay=len(missed))

    async def missed(self, since_seq: int | None, topics: list[str] | None) -> tuple[list[Event], bool]:
        """The events after `since_seq` a reconnecting client missed, or (nothing, True) when too many to replay."""
        if since_seq is None:
            return [], False
        events = await events_repo.after(self.ctx.db, since_seq, REPLAY_LIMIT + 1)
        if len(events) > REPLAY_LIMIT:
            return [], True
        return events, False


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
