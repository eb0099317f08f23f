"""Secrets never reach the event spine, the audit file, notices, relayboard.log or a call's output raw.

First the shapes (each redacted with its kind's prefix kept, ordinary text untouched, idempotent), the recorder
(every string of an event at any depth, dict keys too, whoever built it) and the log filter; then a sweep of every
mutating call of the registry with each secret shape in each of its string fields, searching everything the bench
writes for the secret parts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import random
import string
import time
import types
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from core import calls
from core.audit import Recorder, Scope, calling_as
from core.bench import AUDIT_NAME, DB_NAME, Bench
from core.lists import ListParams
from core.notices import NoticeHub
from core.redaction import REDACTED, SHAPE_NAMES, RedactingFilter, redact, redact_text, sensitive_name
from core.registry import REGISTRY
from core.tokens import UsageGroup
from storage import agents as agents_repo
from storage import events as events_repo
from storage.models import (
    Agent,
    BlackboardEntry,
    Event,
    LogAttachment,
    MemoryEntry,
    Note,
    Pane,
    QueueMessage,
    Route,
)

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
UPPER_DIGITS = string.ascii_uppercase + string.digits
R = REDACTED


# -- secret shapes -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One secret as an agent would print it: `expected` is its redacted form, `needles` its secret parts."""

    shape: str
    text: str
    expected: str
    needles: tuple[str, ...]

    @property
    def multiline(self) -> bool:
        return "\n" in self.text


def token(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    """Random like a real key: a digit and a capital somewhere when the alphabet has them."""
    while True:
        text = "".join(rng.choice(alphabet) for _ in range(n))
        digit_ok = any(c.isdigit() for c in text) or not any(c.isdigit() for c in alphabet)
        upper_ok = any(c.isupper() for c in text) or not any(c.isupper() for c in alphabet)
        if digit_ok and upper_ok and text[0] not in "-_" and text[-1] not in "-_":
            return text


def samples(rng: random.Random) -> list[Sample]:
    """Every shape the sweep places, with fresh random secret parts (so a leak names its run)."""
    t = lambda n, alphabet=ALNUM: token(rng, n, alphabet)  # noqa: E731
    out: list[Sample] = []

    def add(shape: str, text: str, expected: str, *needles: str) -> None:
        out.append(Sample(shape, text, expected, needles))

    s = t(60, URLSAFE)
    add("anthropic", f"sk-ant-api03-{s}AA", f"sk-ant-api03-{R}", s)
    s = t(48, URLSAFE)
    add("openai_project", f"sk-proj-{s}", f"sk-proj-{R}", s)
    a, b = t(20), t(20)
    add("openai_legacy", f"sk-{a}T3BlbkFJ{b}", f"sk-{R}", a, b)
    s = t(36)
    add("github_classic", f"ghp_{s}", f"ghp_{R}", s)
    s = t(36)
    add(
        "github_app_url",
        f"https://x-access-token:ghs_{s}@github.com/acme/app.git",
        f"https://x-access-token:ghs_{R}@github.com/acme/app.git",
        s,
    )
    a, b = t(22), t(59)
    add("github_pat", f"github_pat_{a}_{b}", f"github_pat_{R}", a, b)
    s = t(20, URLSAFE)
    add("gitlab", f"glpat-{s}", f"glpat-{R}", s)
    a, b = "".join(rng.choice(string.digits) for _ in range(13)), t(24)
    add("slack_bot", f"xoxb-{rng.randrange(10**11, 10**12)}-{a}-{b}", f"xoxb-{R}", a, b)
    s = t(24)
    add(
        "slack_webhook",
        f"https://hooks.slack.com/services/T{t(8, UPPER_DIGITS)}/B{t(10, UPPER_DIGITS)}/{s}",
        f"https://hooks.slack.com/services/{R}",
        s,
    )
    s = t(16, UPPER_DIGITS)
    add("aws_access_key", f"AKIA{s}", f"AKIA{R}", s)
    s = t(40, B64)
    add("aws_secret_key", f"aws_secret_access_key = {s}", f"aws_secret_access_key = {R}", s)
    s = t(40, URLSAFE)
    add("bearer", f"Authorization: Bearer {s}", f"Authorization: Bearer {R}", s)
    s = base64.b64encode(rng.randbytes(24)).decode()
    add("basic_auth", f"Authorization: Basic {s}", f"Authorization: Basic {R}", s)
    a, b = t(40, URLSAFE), t(43, URLSAFE)
    add("jwt", f"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{a}.{b}", f"eyJ{R}", a, b)
    a, b = t(60, B64), t(60, B64)
    add(
        "pem_rsa",
        f"-----BEGIN RSA PRIVATE KEY-----\nMIIE{a}\n{b}\n-----END RSA PRIVATE KEY-----",
        f"-----BEGIN RSA PRIVATE KEY-----{R}-----END RSA PRIVATE KEY-----",
        a,
        b,
    )
    s = t(50, B64)
    add(
        "openssh_key",
        f"-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA{s} -----END OPENSSH PRIVATE KEY-----",
        f"-----BEGIN OPENSSH PRIVATE KEY-----{R}-----END OPENSSH PRIVATE KEY-----",
        s,
    )
    s = t(20)
    add("url_password", f"postgres://app:{s}@db.internal:5432/prod", f"postgres://app:{R}@db.internal:5432/prod", s)
    s = t(35, URLSAFE)
    add("google_api_key", f"AIza{s}", f"AIza{R}", s)
    s = t(24)
    add("stripe_live", f"sk_live_{s}", f"sk_live_{R}", s)
    s = t(24)
    add("stripe_restricted", f"rk_live_{s}", f"rk_live_{R}", s)
    s = t(36)
    add("npm", f"npm_{s}", f"npm_{R}", s)
    s = t(60, URLSAFE)
    add("pypi", f"pypi-AgEIcHlwaS5vcmc{s}", f"pypi-{R}", s)
    s = t(86, B64)
    conn = "DefaultEndpointsProtocol=https;AccountName=relaystore;AccountKey={};EndpointSuffix=core.windows.net"
    add("azure_connection", conn.format(f"{s}=="), conn.format(R), s)
    s = t(16)
    add("env_password", f"DB_PASSWORD={s}", f"DB_PASSWORD={R}", s)
    s = t(32)
    add("json_api_key", f'{{"api_key": "{s}"}}', f'{{"api_key": "{R}"}}', s)
    s = t(48, URLSAFE)
    add("json_openai", f'{{"apiKey": "sk-proj-{s}"}}', f'{{"apiKey": "sk-proj-{R}"}}', s)
    s = t(32, HEX)
    add("twilio", f"SK{s}", f"SK{R}", s)
    a, b = t(22, URLSAFE), t(43, URLSAFE)
    add("sendgrid", f"SG.{a}.{b}", f"SG.{R}", a, b)
    s = t(34)
    add("huggingface", f"hf_{s}", f"hf_{R}", s)
    s = t(64, HEX)
    add("digitalocean", f"dop_v1_{s}", f"dop_v1_{R}", s)
    s = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    add("heroku", f"HEROKU_API_KEY={s}", f"HEROKU_API_KEY={R}", s)
    s = t(32, HEX)
    add("mailgun", f"key-{s}", f"key-{R}", s)
    s = t(24)
    add("cli_flag", f"--token {s}", f"--token {R}", s)
    return out


SHAPES = [s.shape for s in samples(random.Random(0))]
ORDINARY = """\
I updated src/core/redaction.py and ran the suite: 42 passed in 3.1s. Total tokens: 12,345 (input 9,000).
Commit 9c695d3e1f2a4b5c6d7e8f90123456789abcdef0 is on main; request 123e4567-e89b-12d3-a456-426614174000 failed.
The token: expired. Enter your password: when prompted. Set the API key: see the docs. Authorization: required.
password = request.form["password"]; token = get_token(); api_key = settings.api_key; self.token = token
def login(password: str, token: Optional[str] = None) -> bool: return check(password=password, token=token)
headers["Authorization"] = f"Bearer {token}"; const token = await getToken(); if token == expected: pass
TOKEN=$GITHUB_TOKEN GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }} password: ******** api_key=<your key here>
base64 aGVsbG8gd29ybGQ= dGVzdA== in /home/dev/.ssh/config and ~/projects/relayboard/tests/unit/test_redaction.py
https://github.com/acme/app.git git@github.com:acme/app.git http://localhost:8080/health ssh://git@host:22/x
max_tokens=4096 token_count=5 --max-tokens 100 --token-budget 9 secret_santa_list=done PWD=/home/dev
sk-learn task-management-system-v2 desk-setup-2024 npm_config_cache=/tmp hf_hub_download key-value store
2026-11-23T12:00:00.000000Z sha256:3b4c... e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""


# -- the shapes --------------------------------------------------------------------------------------------------------
def test_at_least_twenty_shapes_are_known() -> None:
    assert len(SHAPES) >= 30 and len(set(SHAPES)) == len(SHAPES)
    assert len(SHAPE_NAMES) >= 25


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_is_redacted_keeping_its_prefix(shape: str) -> None:
    for seed in range(5):
        (sample,) = [s for s in samples(random.Random(seed)) if s.shape == shape]
        out = redact_text(sample.text)
        assert out == sample.expected
        assert redact_text(f"before {sample.text} after") == f"before {sample.expected} after"
        assert redact_text(f"{sample.text}\n") == f"{sample.expected}\n"
        for needle in sample.needles:
            assert needle not in out
        assert redact_text(out) == out


def test_all_shapes_together_and_twice() -> None:
    everything = samples(random.Random(7))
    text = "\n".join(s.text for s in everything)
    once = redact_text(text)
    assert once == "\n".join(s.expected for s in everything)
    assert redact_text(once) == once
    assert redact_text(" ".join(s.text for s in everything)) == " ".join(s.expected for s in everything)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("xoxp-123456789012-123456789012-abcdef0123456789", f"xoxp-{R}"),
        ("gho_16C7e42F292c6912E7710c838347Ae178B4a ghu_16C7e42F292c6912E7710c838347Ae178B4a", f"gho_{R} ghu_{R}"),
        ("ghr_16C7e42F292c6912E7710c838347Ae178B4a", f"ghr_{R}"),
        ("ASIAY34FZKBOKMUTVV7A", f"ASIA{R}"),
        ("sk_test_4eC39HqLyjWDarjtT1zdp7dc whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", f"sk_test_{R} whsec_{R}"),
        ("https://discord.com/api/webhooks/123456/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-", None),
        ("ya29.a0AfH6SMBx1234567890abcdefghij GOCSPX-1234567890abcdefghijKLMN", f"ya29.{R} GOCSPX-{R}"),
        ("HRKU-AA0123456789abcdefghijABCDEFGHIJ_-xyz", f"HRKU-{R}"),
        ("gldt-0123456789abcdefghij glrt-0123456789ABCDEFGHIJ", f"gldt-{R} glrt-{R}"),
        ("sk-ant-admin01-AbCdEfGhIjKlMnOpQrStUvWx", f"sk-ant-admin01-{R}"),
        ("sk-svcacct-AbCdEfGhIjKlMnOpQrStUvWx0123", f"sk-svcacct-{R}"),
        ("Authorization: token ghp_16C7e42F292c6912E7710c838347Ae178B4a", f"Authorization: token ghp_{R}"),
        ('"Authorization": "Basic dXNlcjpwYXNzd29yZA=="', f'"Authorization": "Basic {R}"'),
        ("Proxy-Authorization: Bearer abc.def.ghi-0123456789", f"Proxy-Authorization: Bearer {R}"),
        ("curl -u admin:hunter2 https://api.example.com", f"curl -u admin:{R} https://api.example.com"),
        ("X-Api-Key: 0a1b2c3d4e5f X-Auth-Token: abc123def", f"X-Api-Key: {R} X-Auth-Token: {R}"),
        ("password: hunter2", f"password: {R}"),
        ("PGPASSWORD=letmein psql", f"PGPASSWORD={R} psql"),
        ("SECRET_KEY_BASE=abcdef", f"SECRET_KEY_BASE={R}"),
        ("export OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUvWx", f"export OPENAI_API_KEY=sk-proj-{R}"),
        ('{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}', f'{{"SecretAccessKey": "{R}"}}'),
        (
            '{"SessionToken": "FwoGZXIvYXdzEBYaDH", "AccessKeyId": "x"}',
            f'{{"SessionToken": "{R}", "AccessKeyId": "x"}}',
        ),
        ("client_secret: 'AbC123xyz'", f"client_secret: '{R}'"),
        ("--password=hunter2 --api-key 'a b c' --secret=\"x y\"", f"--password={R} --api-key '{R}' --secret=\"{R}\""),
        ("token = 'ghp_'", f"token = '{R}'"),
        ("https://acct.blob.core.windows.net/c?sv=2022&sig=AbCdEf0123456789%2Bxyz%3D", None),
        ("Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey=AbCdEf0123456789+/==", None),
        ("redis://:s3cr3t@cache:6379/0", f"redis://:{R}@cache:6379/0"),
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----", None),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----", None),
        ('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----\\n"}', None),
        ("cut off: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIO", f"cut off: -----BEGIN EC PRIVATE KEY-----{R}"),
        ("the title was cut at ghp_16C7e42F", f"the title was cut at ghp_{R}"),
        ("and so was sk-ant-api03-AbC1", f"and so was sk-ant-api03-{R}"),
    ],
)
def test_more_shapes(text: str, expected: str | None) -> None:
    out = redact_text(text)
    if expected is not None:
        assert out == expected
    assert REDACTED in out
    assert redact_text(out) == out


def test_secret_parts_are_gone_from_the_more_shapes() -> None:
    assert "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-" not in redact_text(
        "https://discord.com/api/webhooks/123456/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-"
    )
    assert "AbCdEf0123456789" not in redact_text("https://x.blob.core.windows.net/c?sv=1&sig=AbCdEf0123456789%2B")
    pem = redact_text('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n"}')
    assert "MIIEvQIBADANBg" not in pem and "-----END PRIVATE KEY-----" in pem


def test_ordinary_text_is_untouched() -> None:
    assert redact_text(ORDINARY) == ORDINARY
    for line in ORDINARY.splitlines():
        assert redact_text(line) == line
    # Things that merely look random: hashes, ids, short base64, paths.
    for text in [
        "9c695d3e1f2a4b5c6d7e8f90123456789abcdef0",
        str(uuid.uuid4()),
        uuid.uuid4().hex,
        base64.b64encode(b"ordinary data").decode(),
        "/work/main/.venv/bin/python -m pytest -q tests/unit -p no:cacheprovider",
        "C:\\Users\\dev\\AppData\\Local\\relayboard\\relayboard.db",
        "relayboard-test-4f5e6d7c8b9a %12 rb-worker-3",
        "",
    ]:
        assert redact_text(text) == text


@pytest.mark.parametrize(
    "unit",
    ["a.", "a-", "eyJ-", "eyJa-", "SG.a-", "sk-", "ghp_a-", "key-", "a:b:", 'a:"', "x://a:", "x-api-key: ", " -a"],
)
def test_hostile_text_is_redacted_in_linear_time(unit: str) -> None:
    """Every event and log line goes through the patterns: a 64 KiB value built to make a pattern backtrack over
    the rest of the text at every position must not take seconds (it took 20-50 s before the starts were fixed)."""
    text = (unit * (64 * 1024 // len(unit) + 1))[: 64 * 1024] + " tail"
    started = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("DB_PASSWORD", True),
        ("PGPASSWORD", True),
        ("apiToken", True),
        ("x-api-key", True),
        ("SecretAccessKey", True),
        ("client_secret", True),
        ("GITHUB_PAT", True),
        ("max_tokens", False),
        ("token_count", False),
        ("AccessKeyId", False),
        ("PWD", False),
        ("primary_key", False),
        ("secret_santa_list", False),
    ],
)
def test_sensitive_names(name: str, sensitive: bool) -> None:
    assert sensitive_name(name) is sensitive


def test_redact_walks_lists_and_dicts_keys_included() -> None:
    ghp = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    value = {
        "plain": [1, 2.5, True, None, "text"],
        ghp: {"nested": [("t", f"DB_PASSWORD=x1y2 {ghp}")]},
        "ghp_26C7e42F292c6912E7710c838347Ae178B4a": "second key with a secret",
        f"ghp_{R}": "a key that already looks redacted",
    }
    out = redact(value)
    assert out == {
        "plain": [1, 2.5, True, None, "text"],
        f"ghp_{R}": {"nested": [["t", f"DB_PASSWORD={R} ghp_{R}"]]},
        f"ghp_{R}#2": "second key with a secret",
        f"ghp_{R}#3": "a key that already looks redacted",
    }
    assert redact(out) == out


# -- the recorder ------------------------------------------------------------------------------------------------------
GHP = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
PAT = "github_pat_11ABCDEFG0123456789abc_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvW"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
SECRET_PARTS = ("16C7e42F292c6912E7710c838347Ae178B4a", "AbCdEfGhIjKlMnOpQrStUvWxYz", "dozjgNryP4J3jVmNHl0w5N")


def _assert_clean(text: str, where: str) -> None:
    for part in SECRET_PARTS:
        assert part not in text, f"{part} in {where}"


async def test_recorder_redacts_every_string_of_the_event(bench: Bench, tmp_path: Path, fixed_clock) -> None:
    hub = NoticeHub()
    seen = hub.subscribe()
    audit = tmp_path / "audit.jsonl"
    recorder = Recorder(audit, fixed_clock, Scope("tester", "cli"), hub)
    payload = {"changes": {"label": PAT, GHP: [{"deep": {"k": JWT}}]}, "count": 3}
    with calling_as(Scope(f"user {GHP}", "agent", f"project {PAT}")):
        async with bench.ctx.db.write() as w:
            event = await recorder.stage(
                w,
                "agent_updated",
                f"updated with {PAT} and {JWT}",
                payload,
                agent_id=f"a-{GHP}",
                run_id=f"run {JWT}",
                step_id=f"step {PAT}",
            )
    recorder.committed(event)
    stored = await events_repo.get(bench.ctx.db, event.event_id)
    assert stored is not None
    assert stored.payload == {
        "changes": {"label": f"github_pat_{R}", f"ghp_{R}": [{"deep": {"k": f"eyJ{R}"}}]},
        "count": 3,
    }
    assert stored.summary == f"updated with github_pat_{R} and eyJ{R}"
    assert (stored.user_id, stored.project_id) == (f"user ghp_{R}", f"project github_pat_{R}")
    assert (stored.agent_id, stored.run_id, stored.step_id) == (f"a-ghp_{R}", f"run eyJ{R}", f"step github_pat_{R}")
    row = await bench.ctx.db.fetchone("SELECT * FROM events WHERE event_id = ?", (event.event_id,))
    _assert_clean(json.dumps(list(row)), "the events row")
    _assert_clean(audit.read_text(), "audit.jsonl")
    _assert_clean(seen.get_nowait().event.model_dump_json(), "the notice")


async def test_summary_is_cut_after_redaction(bench: Bench, tmp_path: Path, fixed_clock) -> None:
    recorder = Recorder(tmp_path / "audit.jsonl", fixed_clock, Scope("tester", "cli"), NoticeHub())
    event = recorder.build("note_added", "x" * 500 + f" {GHP} tail")  # the key straddles the 512-character cut
    assert event.summary == ("x" * 500 + f" ghp_{R} tail")[:512]
    _assert_clean(event.summary, "the summary")


async def test_committed_redacts_an_event_built_elsewhere(tmp_path: Path, fixed_clock) -> None:
    """`committed` is the way out to the audit file and the notices: an event not made by `build` is redacted too."""
    hub = NoticeHub()
    seen = hub.subscribe()
    audit = tmp_path / "audit.jsonl"
    recorder = Recorder(audit, fixed_clock, Scope("tester", "cli"), hub)
    raw = Event(
        event_id=str(uuid.uuid4()),
        timestamp="2026-11-23T12:00:00.000000Z",
        event_type="note_added",
        origin="cli",
        surface_id="cli",
        trace_id=uuid.uuid4().hex,
        span_id=uuid.uuid4().hex[:16],
        summary=f"pasted {GHP}",
        payload={PAT: JWT},
    )
    recorder.committed(raw)
    _assert_clean(audit.read_text(), "audit.jsonl")
    published = seen.get_nowait().event
    assert published is not None and published.summary == f"pasted ghp_{R}"
    assert published.payload == {f"github_pat_{R}": f"eyJ{R}"}
    clean = recorder.build("note_added", "nothing secret", {"a": 1})
    recorder.committed(clean)
    assert seen.get_nowait().event is clean  # an event from `build` goes out as it is


# -- the log filter ----------------------------------------------------------------------------------------------------
def test_log_filter_redacts_message_args_exception_and_stack(tmp_path: Path) -> None:
    path = tmp_path / "relayboard.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("relayboard.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    child = logging.getLogger("relayboard.test.redaction.child")  # propagates to the handler: filtered there
    try:
        logger.info("request params %s", {"label": PAT, "token": GHP})
        logger.warning("failed for %s with %r", GHP, JWT)
        logger.info(f"preformatted DB_PASSWORD=hunter2x {JWT}")
        child.info("child %s", PAT)
        logger.info("bad format %s %s", GHP)  # a record whose args do not fit: still written, still redacted
        try:
            raise ValueError(f"cannot parse {JWT} for {GHP}")
        except ValueError:
            logger.exception("internal error in %s", "app.agent.update")
        logger.info("with stack %s", "x", stack_info=True)
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = path.read_text()
    _assert_clean(text, "relayboard.log")
    assert "hunter2x" not in text
    assert f"'token': 'ghp_{R}'" in text and f"child github_pat_{R}" in text
    assert "ValueError: cannot parse eyJ" in text and "internal error in app.agent.update" in text
    assert "Traceback" in text and "Stack (most recent call last)" in text


# -- what the operator stores is kept as typed, never copied into events -----------------------------------------------
STORED_VALUE = "plain stored value 7f3a9c1e, kept in its own table only"
StoredCase = Callable[[Bench, pytest.FixtureRequest], Awaitable[tuple[str, dict[str, Any]]]]


async def _target(bench: Bench) -> str:
    """An agent row to aim routes at (no pane needed: nothing is delivered here)."""
    agent = Agent(agent_id="target0001", name="target", role="worker", kind="other", created_at="x", updated_at="x")
    async with bench.ctx.db.write() as w:
        await agents_repo.insert(w, agent)
    return agent.agent_id


async def _memory_value(bench: Bench, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return "app.memory.set", {"key": "k", "value": STORED_VALUE}


async def _blackboard_value(bench: Bench, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return "app.blackboard.write", {"key": "k", "value": STORED_VALUE, "expected_version": 0}


async def _note_body(bench: Bench, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return "app.note.add", {"title": "t", "body": STORED_VALUE}


async def _route_template_add(bench: Bench, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    target = await _target(bench)
    route = {"name": "r1", "event_type": "agent_state_changed", "template": STORED_VALUE, "target_agent_id": target}
    return "app.route.add", route


async def _route_template_update(bench: Bench, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    target = await _target(bench)
    route = await bench.routes.add(
        {"name": "r1", "event_type": "agent_state_changed", "template": "before", "target_agent_id": target}
    )
    return "app.route.update", {"route_id": route.route_id, "template": STORED_VALUE}


async def _queue_payload(bench: Bench, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    crew = await request.getfixturevalue("adopt")(bench, {"worker": "worker"})
    return "app.send_input", {"target_agent_id": crew["worker"].agent_id, "payload": f"echo '{STORED_VALUE}'"}


STORED_CASES: dict[str, StoredCase] = {
    "memory value": _memory_value,
    "blackboard value": _blackboard_value,
    "note body": _note_body,
    "queue payload": _queue_payload,
    "route template (add)": _route_template_add,
    "route template (update)": _route_template_update,
}


@pytest.mark.parametrize(
    "case",
    [
        *(c for c in STORED_CASES if c != "queue payload"),
        pytest.param("queue payload", marks=pytest.mark.slow),  # typed into a real pane
    ],
)
async def test_stored_values_are_kept_as_typed_and_never_copied_into_events(
    bench: Bench, request: pytest.FixtureRequest, case: str
) -> None:
    method, params = await STORED_CASES[case](bench, request)
    envelope = await calls.envelope(bench, method, params)
    assert envelope["ok"], envelope
    assert any(STORED_VALUE in text for text in (await table_text(bench)).values())  # kept as typed
    events = await bench.ctx.db.fetchall("SELECT summary, payload FROM events")
    assert events
    assert "7f3a9c1e" not in json.dumps([list(row) for row in events])
    assert "7f3a9c1e" not in (bench.home / AUDIT_NAME).read_text()


# -- the sweep: every mutating call, every string field, every shape ---------------------------------------------------

# Where a value is stored as typed, by design: the operator reads it back from its own call (and an agent's name
# is its session's and its log's name too). Anything else holding a secret is a leak.
STORED_COLUMNS = frozenset(
    {
        *(f"agents.{c}" for c in ("name", "label", "project_path", "capability", "command", "launch_cwd")),
        *(f"agents.{c}" for c in ("launch_env", "session_name")),
        *(f"panes.{c}" for c in ("session_name", "cwd", "current_command")),
        *(f"routes.{c}" for c in ("name", "template", "filter")),
        *(f"queue_messages.{c}" for c in ("payload", "cancel_reason", "idempotency_key")),
        "idempotency_keys.key",
        "key_sends.keys",  # what the operator typed into the pane, as a queue payload is
        *(f"memory_kv.{c}" for c in ("scope", "key", "value")),
        *(f"blackboard.{c}" for c in ("key", "value", "updated_by")),
        *(f"notes.{c}" for c in ("title", "body", "tags", "source")),
        *(f"token_usage.{c}" for c in ("model", "session_id", "dedup_key")),
        "log_attachments.path",
    }
)
STORED_FIELDS: dict[type, frozenset[str]] = {
    # launch_env_names: the variable names as the operator typed them (the values never leave the core).
    Agent: frozenset(
        {"name", "label", "project_path", "capability", "command", "launch_cwd", "session_name", "launch_env_names"}
    ),
    Pane: frozenset({"session_name", "cwd", "current_command"}),
    Route: frozenset({"name", "template", "filter"}),
    QueueMessage: frozenset({"payload", "cancel_reason", "idempotency_key"}),
    MemoryEntry: frozenset({"scope", "key", "value"}),
    BlackboardEntry: frozenset({"key", "value", "updated_by"}),
    Note: frozenset({"title", "body", "tags", "source"}),
    LogAttachment: frozenset({"path"}),
    UsageGroup: frozenset({"key"}),  # the model a usage was recorded for
}
REFUSALS = frozenset({"validation_failed", "policy_denied", "payload_too_large", "malformed_request"})
SKIP_READS = frozenset({"app.agent.capture", "app.notice.subscribe"})  # a live screen; a stream
SINK_COMMAND = "cat > /dev/null"  # a pane that swallows whatever is typed into it
METACHARACTERS = set(";|&`$<>(){}")
# The fields the defect was reported for: every shape that can be typed there must be accepted (and redacted).
DEFECT_FIELDS = {
    ("app.agent.update", "label"),
    ("app.agent.update", "project_path"),
    ("app.route.update", "template"),
    ("app.queue.cancel", "reason"),
    ("app.agent.launch", "command"),
}


async def table_text(bench: Bench) -> dict[str, str]:
    """Every column of every table as text, `table.column` -> its values."""
    sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
    names = await bench.ctx.db.fetchall(sql)
    out: dict[str, str] = {}
    for (table,) in names:
        rows = await bench.ctx.db.fetchall(f'SELECT * FROM "{table}"')
        for i, column in enumerate(rows[0].keys() if rows else ()):
            out[f"{table}.{column}"] = "\n".join(str(row[i]) for row in rows if row[i] is not None)
    return out


def visible(value: Any) -> Any:
    """A result as JSON-like data without the fields that hold stored values as typed."""
    if isinstance(value, BaseModel):
        hidden = frozenset().union(*(f for cls, f in STORED_FIELDS.items() if isinstance(value, cls)))
        return {k: visible(getattr(value, k)) for k in type(value).model_fields if k not in hidden}
    if isinstance(value, dict):
        return {str(k): visible(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [visible(v) for v in value]
    return value


def forms(annotation: Any) -> list[str]:
    """How a string can be put into a field of this type: itself, as a list item, as a dict key or value."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return forms(args[0])
    if origin in (typing.Union, types.UnionType):
        return sorted({f for a in args if a is not type(None) for f in forms(a)})
    if annotation is str or (origin is typing.Literal and any(isinstance(a, str) for a in args)):
        return ["str"]
    if origin in (list, tuple, set, frozenset) and args and "str" in forms(args[0]):
        return ["list"]
    if origin is dict and len(args) == 2:
        return [f for f, arg in (("key", args[0]), ("value", args[1])) if "str" in forms(arg)]
    return []


def capacity(info: Any) -> int:
    """How much text to put into one value of the field (a label takes 256 characters)."""
    for meta in info.metadata:
        if getattr(meta, "max_length", None):
            return min(meta.max_length, 2000)
    return 240


def bundles(group: list[Sample], cap: int) -> list[list[Sample]]:
    """Several shapes per value (one line, space separated, within `cap`); a multi-line one alone."""
    out: list[list[Sample]] = []
    current: list[Sample] = []
    for sample in group:
        if sample.multiline:
            out.append([sample])
            continue
        if current and len(" ".join(s.text for s in [*current, sample])) > cap:
            out.append(current)
            current = []
        current.append(sample)
    if current:
        out.append(current)
    return out


def fragments(needle: str) -> tuple[str, ...]:
    """The needle, then its ends: a secret cut short by a caller must not leave a usable piece either."""
    return (needle, needle[:12], needle[-12:]) if len(needle) >= 24 else (needle,)


@dataclass
class Sweep:
    bench: Bench
    workdir: Path
    log_path: Path
    rng: random.Random = field(default_factory=lambda: random.Random(20261123))
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    leaks: list[str] = field(default_factory=list)
    echoes: list[str] = field(default_factory=list)
    outcomes: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    placed: list[tuple[str, Sample]] = field(default_factory=list)
    attempts: int = 0
    sink: Agent | None = None
    adoptee: Pane | None = None
    _victim: Agent | None = None
    seq: int = 0
    audit_offset: int = 0
    log_offset: int = 0
    db_stat: Any = None

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    @property
    def sink_id(self) -> str:
        assert self.sink is not None
        return self.sink.agent_id

    async def setup(self) -> None:
        tmux = self.bench.ctx.tmux
        await tmux.new_session("sink", SINK_COMMAND, str(self.workdir))
        await tmux.new_session("adoptee", SINK_COMMAND, str(self.workdir))
        panes = {p.session_name: p for p in (await self.bench.agents.refresh()).values()}
        self.adoptee = panes["adoptee"]
        self.sink = await self.bench.agents.register_from_pane(
            {**panes["sink"].identity(), "name": "sink", "role": "worker", "kind": "other"}
        )
        self.subscription = self.bench.hub.subscribe(size=100_000)
        await self.check_sinks("setup", [])

    async def victim(self) -> Agent:
        """A managed agent to kill, restart or remove (launched again once a base run used it up)."""
        if self._victim is None:
            self._victim = await self.bench.launcher.launch(
                {"name": self.fresh("victim"), "preset": "shell", "cwd": str(self.workdir)}
            )
        return self._victim

    async def message(self, state: str) -> str:
        queue = self.bench.queue
        block = "awaiting_approval" if state == "blocked" else None
        message, _ = await queue.enqueue(
            target_agent_id=self.sink_id, payload="hello", sender="operator", sender_role="master", block_reason=block
        )
        if state == "failed":
            message = await queue._settle(message, "failed", "queue_message_failed", "test", "test", "tmux_error")
        return message.message_id

    # -- one attempt ------------------------------------------------------------------------------------------------
    async def attempt(self, method: str, name: str, form: str, group: list[Sample]) -> None:
        call = REGISTRY[method]
        params = place(method, await BASES[method](self), name, form, " ".join(s.text for s in group))
        label = f"{method} {name}" + ("" if form == "str" else f" ({form})")
        self.attempts += 1
        envelope = await calls.envelope(self.bench, method, params)
        await self.check_database(label, group)  # before any clean-up deletes a row and leaves its bytes behind
        if envelope["ok"]:
            await CLEANUPS.get(method, _nothing)(self, envelope["result"])
        await self.check_sinks(label, group)
        self.check_output(label, call, envelope, group)
        code = "stored" if envelope["ok"] else envelope["error"]["code"]
        assert code != "internal_error", f"{label}: internal error for {[s.shape for s in group]}"
        if code in REFUSALS and len(group) > 1:
            for sample in group:  # one shape in the bundle is refused by the field: find which
                await self.attempt(method, name, form, [sample])
            return
        for sample in group:
            self.outcomes.setdefault((method, name, form), {})[sample.shape] = code
            self.placed.append((label, sample))

    async def base(self, method: str) -> None:
        """The call with its base params alone: the table must hold valid params for it."""
        envelope = await calls.envelope(self.bench, method, await BASES[method](self))
        assert envelope["ok"], f"{method}: its base params are not valid: {envelope['error']}"
        await CLEANUPS.get(method, _nothing)(self, envelope["result"])
        if method in CONSUMES:
            self._victim = None
        await self.check_sinks(f"{method} (base)", [])

    # -- the checks --------------------------------------------------------------------------------------------------
    def search(self, label: str, group: list[Sample], sink: str, text: str, out: list[str] | None = None) -> None:
        for sample in group:
            for needle in sample.needles:
                for piece in fragments(needle):
                    if piece in text:
                        what = "the secret" if piece == needle else "part of the secret"
                        (self.leaks if out is None else out).append(f"{label} [{sample.shape}]: {what} in {sink}")
                        break

    async def check_sinks(self, label: str, group: list[Sample]) -> None:
        rows = await self.bench.ctx.db.fetchall("SELECT * FROM events WHERE seq > ? ORDER BY seq", (self.seq,))
        if rows:
            self.seq = rows[-1]["seq"]
        self.search(label, group, "the events table", "\n".join(str(v) for row in rows for v in row))
        audit = self.bench.home / AUDIT_NAME
        with audit.open("rb") as handle:
            handle.seek(self.audit_offset)
            data = handle.read()
        self.audit_offset += len(data)
        self.search(label, group, AUDIT_NAME, data.decode())
        notices = []
        while not self.subscription.empty():
            notice = self.subscription.get_nowait()
            notices.append(notice.event.model_dump_json() if notice.event else notice.topic)
        self.search(label, group, "a notice", "\n".join(notices))
        for handler in logging.getLogger().handlers:
            handler.flush()
        text = self.log_path.read_text() if self.log_path.exists() else ""
        self.search(label, group, "relayboard.log", text[self.log_offset :])
        self.log_offset = len(text)

    async def check_database(self, label: str, group: list[Sample]) -> None:
        paths = [self.bench.home / DB_NAME, self.bench.home / f"{DB_NAME}-wal"]
        stat = [(p.stat().st_size, p.stat().st_mtime_ns) if p.exists() else None for p in paths]
        if stat == self.db_stat:
            return
        self.db_stat = stat
        data = b"".join(p.read_bytes() for p in paths if p.exists())
        hits = [(s, n) for s in group for n in s.needles if n.encode() in data]
        if not hits:
            return
        columns = await table_text(self.bench)
        for sample, needle in hits:
            where = sorted(c for c, text in columns.items() if needle in text)
            unexpected = [c for c in where if c not in STORED_COLUMNS]
            if unexpected:
                self.leaks.append(f"{label} [{sample.shape}]: the secret stored raw in {', '.join(unexpected)}")
            elif not where:
                self.leaks.append(f"{label} [{sample.shape}]: the secret in the database file, in no stored value")

    def check_output(self, label: str, call: Any, envelope: dict[str, Any], group: list[Sample]) -> None:
        if envelope["ok"]:
            shown = json.dumps(visible(call.result.model_validate(envelope["result"])), default=str)
            self.search(label, group, "its result (outside the stored fields)", shown, self.echoes)
        else:
            self.search(label, group, f"its {envelope['error']['code']} error", json.dumps(envelope), self.echoes)

    async def read_back(self) -> None:
        """Every read call's output, once everything is stored, for every secret placed (stored fields aside)."""
        index: dict[str, list[tuple[str, Sample, str]]] = {}
        for label, sample in self.placed:
            for needle in sample.needles:
                index.setdefault(needle[:12], []).append((label, sample, needle))
        for method, call in sorted(REGISTRY.items()):
            if call.mutates or method in SKIP_READS:
                continue
            async for envelope in self.read_outputs(method, call):
                shown = json.dumps(visible(call.result.model_validate(envelope["result"])), default=str)
                for i in range(len(shown) - 11):
                    for label, sample, needle in index.get(shown[i : i + 12], ()):
                        if shown.startswith(needle, i):
                            self.echoes.append(f"{label} [{sample.shape}]: the secret in the output of {method}")

    async def read_outputs(self, method: str, call: Any) -> typing.AsyncIterator[dict[str, Any]]:
        db = self.bench.ctx.db
        if issubclass(call.params, ListParams):
            params: dict[str, Any] = {"limit": 200}
            for _ in range(100):
                envelope = await calls.envelope(self.bench, method, params)
                if not envelope["ok"]:
                    return
                yield envelope
                if not envelope["result"].get("cursor_next"):
                    return
                params = {"limit": 200, "cursor_next": envelope["result"]["cursor_next"]}
            return
        details = {
            "app.agent.detail": ("SELECT agent_id FROM agents", ("agent_id",)),
            "app.log.detail": ("SELECT agent_id FROM log_attachments", ("agent_id",)),
            "app.route.detail": ("SELECT route_id FROM routes", ("route_id",)),
            "app.queue.detail": ("SELECT message_id FROM queue_messages", ("message_id",)),
            "app.memory.get": ("SELECT scope, key FROM memory_kv", ("scope", "key")),
            "app.blackboard.read": ("SELECT key FROM blackboard", ("key",)),
            "app.event.detail": ("SELECT event_id FROM events ORDER BY seq DESC LIMIT 100", ("event_id",)),
        }
        if method in details:
            sql, names = details[method]
            every = [dict(zip(names, row, strict=True)) for row in await db.fetchall(sql)]
        else:
            every = [{}]
        for params in every:
            envelope = await calls.envelope(self.bench, method, params)
            if envelope["ok"]:
                yield envelope


def place(method: str, params: dict[str, Any], name: str, form: str, value: str) -> dict[str, Any]:
    special = SPECIAL.get((method, name))
    if special is not None:
        return special(dict(params), value)
    if form == "list":
        return {**params, name: [value]}
    if form == "key":
        return {**params, name: {value: "1"}}
    if form == "value":
        return {**params, name: {"RB_PROBE": value}}
    return {**params, name: value}


Base = Callable[[Sweep], Awaitable[dict[str, Any]]]


async def _victim_id(s: Sweep) -> dict[str, Any]:
    return {"agent_id": (await s.victim()).agent_id}


async def _sink(s: Sweep) -> dict[str, Any]:
    return {"agent_id": s.sink_id}


async def _launch(s: Sweep) -> dict[str, Any]:
    return {"name": s.fresh("launched"), "preset": "shell", "cwd": str(s.workdir)}


async def _register(s: Sweep) -> dict[str, Any]:
    assert s.adoptee is not None
    return {**s.adoptee.identity(), "name": s.fresh("adopted"), "kind": "other"}


async def _attached(s: Sweep) -> dict[str, Any]:
    await s.bench.logs.attach({"agent_id": s.sink_id})
    return {"agent_id": s.sink_id}


async def _memory_key(s: Sweep) -> dict[str, Any]:
    key = s.fresh("k")
    await s.bench.memory.kv_set({"key": key, "value": "v"})
    return {"key": key}


async def _note(s: Sweep) -> dict[str, Any]:
    return {"note_id": (await s.bench.memory.note_add({"title": "to delete"})).note_id}


async def _route_params(s: Sweep) -> dict[str, Any]:
    return {"name": s.fresh("route"), "event_type": "agent_state_changed", "template": "look at {agent}"} | {
        "target_agent_id": s.sink_id
    }


async def _route(s: Sweep) -> dict[str, Any]:
    return {"route_id": (await s.bench.routes.add(await _route_params(s))).route_id}


def _constant(params: dict[str, Any]) -> Base:
    async def base(s: Sweep) -> dict[str, Any]:
        return dict(params)

    return base


def _message(state: str, **extra: Any) -> Base:
    async def base(s: Sweep) -> dict[str, Any]:
        return {"message_id": await s.message(state), **extra}

    return base


async def _memory_set(s: Sweep) -> dict[str, Any]:
    return {"key": s.fresh("k"), "value": "v"}


async def _blackboard(s: Sweep) -> dict[str, Any]:
    return {"key": s.fresh("b"), "value": "v", "expected_version": 0}


async def _send(s: Sweep) -> dict[str, Any]:
    return {"target_agent_id": s.sink_id, "payload": "hello"}


async def _keys(s: Sweep) -> dict[str, Any]:
    return {"agent_id": s.sink_id, "keys": [{"text": "hello"}, {"key": "Enter"}], "idempotency_key": s.fresh("press")}


async def _answer(s: Sweep) -> dict[str, Any]:
    """A question on the sink's last line (its tty echoes what is typed, without Enter), then its fingerprint."""
    question = s.fresh("Proceed") + "? [y/N] "
    # Enter first: an earlier attempt may have left its question unanswered on the line.
    await s.bench.keystrokes.send_keys({"agent_id": s.sink_id, "keys": [{"key": "Enter"}, {"text": question}]})
    for _ in range(100):
        prompt = (await s.bench.prompts.prompt({"agent_id": s.sink_id})).prompt
        if prompt is not None and prompt.question == question.strip():
            return {"agent_id": s.sink_id, "fingerprint": prompt.fingerprint, "key": "n"}
        await asyncio.sleep(0.02)
    raise AssertionError("the sink never showed the question")


# Valid params for every mutating call, fresh for each attempt (a message to cancel, a route to update, ...).
BASES: dict[str, Base] = {
    "app.agent.answer": _answer,
    "app.agent.kill": _victim_id,
    "app.agent.launch": _launch,
    "app.agent.send_keys": _keys,
    "app.agent.refresh_states": _constant({}),
    "app.agent.register_from_pane": _register,
    "app.agent.remove": _victim_id,
    "app.agent.restart": _victim_id,
    "app.agent.update": _sink,
    "app.blackboard.write": _blackboard,
    "app.log.attach": _sink,
    "app.log.detach": _attached,
    "app.memory.delete": _memory_key,
    "app.memory.set": _memory_set,
    "app.note.add": _constant({"title": "a note", "body": "b", "tags": ["t"]}),
    "app.note.delete": _note,
    "app.queue.approve": _message("blocked"),
    "app.queue.cancel": _message("queued"),
    "app.queue.delay": _message("queued", delay_ms=60_000),
    "app.queue.retry": _message("failed"),
    "app.route.add": _route_params,
    "app.route.remove": _route,
    "app.route.update": _route,
    "app.routing.set_enabled": _constant({"enabled": True}),
    "app.scan.panes": _constant({"wait": True}),
    "app.send_input": _send,
    "app.tokens.record": _constant({"model": "claude-sonnet-4-5", "input_tokens": 10, "output_tokens": 5}),
}
CONSUMES = frozenset({"app.agent.kill", "app.agent.remove"})
SPECIAL: dict[tuple[str, str], Callable[[dict[str, Any], str], dict[str, Any]]] = {
    # A command's arguments are where a secret goes (tail keeps running whatever files it is given after `--`).
    ("app.agent.launch", "command"): lambda p, v: {**p, "preset": "custom", "command": f"tail -f /dev/null -- {v}"},
    ("app.queue.delay", "until"): lambda p, v: {**{k: x for k, x in p.items() if k != "delay_ms"}, "until": v},
}


async def _nothing(s: Sweep, result: dict[str, Any]) -> None:
    return None


async def _unadopt(s: Sweep, result: dict[str, Any]) -> None:
    await s.bench.agents.remove({"agent_id": result["agent_id"]})  # the pane is free for the next attempt


async def _stop(s: Sweep, result: dict[str, Any]) -> None:
    await s.bench.launcher.kill({"agent_id": result["agent_id"]})


async def _rename_sink(s: Sweep, result: dict[str, Any]) -> None:
    if result["name"] != "sink":
        await s.bench.agents.update({"agent_id": s.sink_id, "name": "sink"})


CLEANUPS: dict[str, Callable[[Sweep, dict[str, Any]], Awaitable[None]]] = {
    "app.agent.register_from_pane": _unadopt,
    "app.agent.launch": _stop,
    "app.agent.update": _rename_sink,
}


@contextlib.contextmanager
def relayboard_log(path: Path) -> Iterator[None]:
    """What tui/cli.py `_setup_logging` does: relayboard.log at INFO, through the redacting filter."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


@pytest.mark.slow
@pytest.mark.usefixtures("tmux_bin")
async def test_no_secret_shape_in_any_field_of_any_mutating_call_leaks(bench: Bench, workdir: Path) -> None:
    mutating = sorted(name for name, call in REGISTRY.items() if call.mutates)
    assert not set(mutating) - set(BASES), f"give BASES valid params for {sorted(set(mutating) - set(BASES))}"
    log_path = bench.home / "relayboard.log"
    with relayboard_log(log_path):
        sweep = Sweep(bench, workdir, log_path)
        await sweep.setup()
        for method in mutating:
            for name, info in REGISTRY[method].params.model_fields.items():
                for form in forms(info.annotation):
                    for group in bundles(samples(sweep.rng), capacity(info)):
                        await sweep.attempt(method, name, form, group)
            await sweep.base(method)
        await sweep.read_back()

    assert not sweep.leaks, f"{len(sweep.leaks)} leaks:\n" + "\n".join(dict.fromkeys(sweep.leaks))
    # The sweep did reach storage: every shape was stored (and redacted on the way) through several fields, and
    # each field the defect was reported for accepted every shape that can be typed there.
    stored: dict[str, int] = {}
    for outcome in sweep.outcomes.values():
        for shape, code in outcome.items():
            stored[shape] = stored.get(shape, 0) + (code == "stored")
    assert all(stored.get(shape, 0) >= 5 for shape in SHAPES), stored
    every = samples(random.Random(0))
    for method, name in DEFECT_FIELDS:
        # What can be typed there: one line (a label is one line); in a command, no shell metacharacters either.
        typable = {
            s.shape for s in every if not s.multiline and (name != "command" or not METACHARACTERS & set(s.text))
        }
        outcome = sweep.outcomes[(method, name, "str")]
        refused = {shape: code for shape, code in outcome.items() if shape in typable and code != "stored"}
        assert not refused and typable <= set(outcome), f"{method} {name}: refused {refused}"
    # An error repeats the caller's own value (an unknown id, a refused env name): BenchError redacts both its
    # message and its details, so no answer echoes a secret either.
    assert not sweep.echoes, f"{len(sweep.echoes)} outputs repeat a secret:\n" + "\n".join(dict.fromkeys(sweep.echoes))
